//! Runs untrusted document parsers in a child process with a timeout and a memory cap,
//! so a parser that panics, loops or balloons costs one `corrupt_attachment` problem,
//! never the daemon. Two ways, same parse code ([`parse_untrusted`]):
//!
//! - [`worker::Worker`], what the pipeline uses: one warm child (`__parse-worker`)
//!   serving document after document over framed pipes ([`frame`], [`serve`]);
//! - [`read_electronic`] / [`parse_in_child`]: one child per document (`__parse-doc`),
//!   kept as the simplest reference the worker is benchmarked and tested against.
//!
//! Conversion (.doc/.wps/.rtf/.odt through LibreOffice, PDF text through poppler) is
//! done first by [`crate::convert`], itself in separate processes with timeouts.
//!
//! Every child, parser or tool, starts in the box of [`sandbox`] (cleared environment,
//! limits, own process group, no network); tools run through [`tool::run`].

pub mod frame;
pub mod rar;
pub mod sandbox;
pub mod serve;
pub mod tool;
pub mod worker;

pub use worker::Worker;

use crate::config::ToolsConfig;
use crate::convert;
use crate::forms::{self, FormError, ParsedForm};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Largest document handed to a parser child.
pub const MAX_INPUT: usize = 100 << 20;
/// Largest JSON answer read back from a child.
const MAX_OUTPUT: u64 = 32 << 20;

#[derive(Debug, Clone)]
pub struct IsolateOptions {
    /// Binary that understands `__parse-doc --format F` (kepu-intake or kepu-parse-doc).
    pub exe: PathBuf,
    /// Wall-clock limit of one parse; the child is killed after it.
    pub timeout: Duration,
    /// Address-space cap of the child (RLIMIT_AS).
    pub memory_mb: u64,
    pub tools: ToolsConfig,
}

impl IsolateOptions {
    /// 20 s and 1 GiB per document, tools from PATH.
    pub fn new(exe: PathBuf) -> IsolateOptions {
        IsolateOptions {
            exe,
            timeout: Duration::from_secs(20),
            memory_mb: 1024,
            tools: ToolsConfig::default(),
        }
    }
}

/// Reads one electronic document safely: converts it when needed, checks that it is
/// well formed, then parses it in a child process started for it alone. A crash,
/// timeout or garbage answer is `FormError::Corrupt`. The pipeline uses the same steps
/// through a warm [`Worker`] ([`Worker::read_electronic`]).
pub fn read_electronic(
    opts: &IsolateOptions,
    format: &str,
    bytes: &[u8],
) -> Result<ParsedForm, FormError> {
    read_electronic_via(opts, format, bytes, Precheck::Here, &|f, b| {
        parse_in_child(opts, f, b)
    })
}

/// A parse of already-converted bytes in some child process.
type ChildParse<'a> = dyn Fn(&str, &[u8]) -> Result<ParsedForm, FormError> + 'a;

/// Where the well-formedness check runs before a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precheck {
    /// In this process too: a broken file then costs no process spawn.
    Here,
    /// Only in the child (which always runs it, see [`parse_untrusted`]); here just
    /// the size cap. For the warm worker: a request costs less than the check, and
    /// sender's XML is then never parsed in the parent at all.
    ChildOnly,
}

/// Conversion (and maybe the precheck) in this process, the parse through `parse`.
fn read_electronic_via(
    opts: &IsolateOptions,
    format: &str,
    bytes: &[u8],
    check: Precheck,
    parse: &ChildParse<'_>,
) -> Result<ParsedForm, FormError> {
    let precheck = |format: &str, bytes: &[u8]| match check {
        Precheck::Here => precheck(format, bytes),
        Precheck::ChildOnly => size_check(bytes),
    };
    // A Word 97 file sent with a .docx name: convert it like a .doc.
    let ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    let format = match format {
        "docx" if ole && forms::docx::document_xml(bytes) != Err(FormError::Encrypted) => "doc",
        f => f,
    };
    match format {
        "doc" | "wps" | "rtf" | "odt" => {
            let docx = convert::to_docx(&opts.tools, bytes, format, convert::SOFFICE_TIMEOUT)?;
            precheck("docx", &docx)?;
            parse("docx", &docx)
        }
        // The text poppler extracted is still the sender's: parsed in the child too.
        "pdf" => match convert::pdf_text_with(&opts.tools, bytes, convert::PDFTOTEXT_TIMEOUT)? {
            Some(text) => parse("pdf-text", text.as_bytes()),
            None => Err(FormError::Unsupported(
                "pdf 无文字层，应按扫描件处理 (image-only PDF: a scan)".into(),
            )),
        },
        "xls" => {
            precheck(format, bytes)?;
            match parse(format, bytes) {
                // calamine's .xls reader builds each sheet as one dense box: a valid
                // workbook with far-corner cells runs the child out of memory (an
                // abort at the cap). Calc writes it as .xlsx, whose used cells alone
                // are read; a file Calc cannot load either stays corrupt.
                Err(FormError::Corrupt(why)) if why.contains("SIGABRT") => {
                    match convert::to_xlsx(&opts.tools, bytes, "xls", convert::SOFFICE_TIMEOUT) {
                        Ok(xlsx) => parse("xlsx", &xlsx),
                        Err(_) => Err(FormError::Corrupt(why)),
                    }
                }
                r => r,
            }
        }
        _ => {
            precheck(format, bytes)?;
            parse(format, bytes)
        }
    }
}

/// The cheap check before spawning: the zip opens, `word/document.xml` is there,
/// within the size cap and well-formed XML. Guarded, so even a bug here is a
/// `Corrupt`, not a crash of the caller.
pub fn precheck(format: &str, bytes: &[u8]) -> Result<(), FormError> {
    size_check(bytes)?;
    if !matches!(format, "docx" | "docm" | "dotx") {
        return Ok(());
    }
    let checked = std::panic::catch_unwind(|| {
        let xml = forms::docx::document_xml(bytes)?;
        well_formed(&xml)
    });
    checked.unwrap_or_else(|_| {
        Err(FormError::Corrupt(
            "docx 预检崩溃 (precheck panicked)".into(),
        ))
    })
}

/// Documents over [`MAX_INPUT`] are refused before they reach any parser.
fn size_check(bytes: &[u8]) -> Result<(), FormError> {
    if bytes.len() > MAX_INPUT {
        return Err(FormError::Corrupt(format!(
            "文件过大 (larger than {} MB)",
            MAX_INPUT >> 20
        )));
    }
    Ok(())
}

fn well_formed(xml: &[u8]) -> Result<(), FormError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(FormError::Corrupt(format!(
                    "word/document.xml 格式错误 (malformed XML) at byte {}: {e}",
                    reader.error_position()
                )))
            }
        }
    }
    if depth != 0 {
        return Err(FormError::Corrupt(
            "word/document.xml 不完整 (unclosed elements)".into(),
        ));
    }
    Ok(())
}

/// Runs `<exe> __parse-doc --format <fmt>` with the bytes on stdin and reads the JSON
/// `Result<ParsedForm, FormError>` from stdout.
pub fn parse_in_child(
    opts: &IsolateOptions,
    format: &str,
    bytes: &[u8],
) -> Result<ParsedForm, FormError> {
    let mut cmd = sandbox::command(&opts.exe, None);
    pass_call(&mut cmd);
    cmd.arg("__parse-doc")
        .arg("--format")
        .arg(format)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    sandbox::confine(
        &mut cmd,
        sandbox::Limits {
            memory_mb: opts.memory_mb,
            cpu_s: Some(opts.timeout.as_secs().saturating_add(2)),
        },
    );
    let corrupt = |why: String| FormError::Corrupt(format!("文档解析进程{why} ({format})"));
    let mut child = cmd.spawn().map_err(|e| {
        corrupt(format!(
            "无法启动 (parser could not start: {}: {e})",
            opts.exe.display()
        ))
    })?;
    let stdin = child.stdin.take();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            // The child may die before reading everything: a broken pipe is expected.
            let _ = s.write_all(&input);
        }
    });
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let _ = s.take(MAX_OUTPUT).read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + opts.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                sandbox::kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(corrupt(format!("无法等待 (wait failed: {e})")));
            }
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(corrupt(format!(
            "超时被终止 (parser timed out after {} ms)",
            opts.timeout.as_millis()
        )));
    };
    match serde_json::from_slice::<Result<ParsedForm, FormError>>(&out) {
        Ok(r) => r,
        Err(_) => Err(corrupt(format!(
            "崩溃 (parser crashed: {status}, {} bytes of output)",
            out.len()
        ))),
    }
}

/// Parser children read forms by their parent's call: the parent names its call file
/// (none for the built-in call) in [`crate::call::CALL_ENV`].
pub fn pass_call(cmd: &mut Command) {
    match &crate::call::current().source {
        Some(p) => cmd.env(crate::call::CALL_ENV, p),
        None => cmd.env_remove(crate::call::CALL_ENV),
    };
}

/// The child side of [`pass_call`]: installs the call file the parent named.
pub fn adopt_parent_call() -> Result<(), String> {
    if let Some(p) = std::env::var_os(crate::call::CALL_ENV) {
        let call =
            crate::config::load_call_file(std::path::Path::new(&p)).map_err(|e| e.to_string())?;
        crate::call::install(call);
    }
    Ok(())
}

/// What a parser child does with one document: the precheck again (the child must
/// not trust its parent's), then the parse, a panic in either becoming `Corrupt`.
pub fn parse_untrusted(format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
    let parsed = std::panic::catch_unwind(|| {
        precheck(format, bytes)?;
        forms::parse_electronic(crate::call::current(), format, bytes)
    });
    parsed.unwrap_or_else(|_| {
        Err(FormError::Corrupt(format!(
            "解析器崩溃 (parser panicked on {format})"
        )))
    })
}

/// The child side: reads the document from stdin, parses it, prints the JSON result.
/// Called by the binary's hidden `__parse-doc --format F` subcommand; returns the exit
/// code (0 whenever a JSON answer was written).
pub fn child_main(format: &str) -> i32 {
    let adopted = adopt_parent_call();
    let mut bytes = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut bytes);
    let result: Result<ParsedForm, FormError> = match read {
        Err(e) => Err(FormError::Corrupt(format!("读取输入失败 (stdin): {e}"))),
        Ok(_) if bytes.len() > MAX_INPUT => Err(FormError::Corrupt(format!(
            "文件过大 (larger than {} MB)",
            MAX_INPUT >> 20
        ))),
        Ok(_) => match adopted {
            Ok(()) => parse_untrusted(format, &bytes),
            Err(e) => Err(FormError::Corrupt(format!(
                "调用定义文件无法读取 (call file): {e}"
            ))),
        },
    };
    match serde_json::to_string(&result) {
        Ok(json) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(json.as_bytes())
                .and_then(|_| out.flush())
                .is_ok()
            {
                0
            } else {
                2
            }
        }
        Err(_) => 3,
    }
}

/// Entry for a binary: parses `__parse-doc --format F` (the subcommand word optional)
/// from `args` (without the program name) and runs [`child_main`], or runs the
/// persistent worker for `__parse-worker [--alarm-s N]`.
pub fn child_main_from_args(args: &[String]) -> i32 {
    if args.first().is_some_and(|a| a == "__parse-worker") {
        return serve::worker_main_from_args(args);
    }
    let mut it = args.iter().skip_while(|a| *a == "__parse-doc");
    match (it.next().map(String::as_str), it.next()) {
        (Some("--format"), Some(f)) => child_main(f),
        _ => {
            eprintln!("usage: __parse-doc --format <docx|xlsx|xls|pdf-text>");
            64
        }
    }
}
