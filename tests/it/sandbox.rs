//! Issue 17, proved with the real tools: every external program (LibreOffice, poppler,
//! Tesseract) and the parser worker run in the box — no network (a loopback listener
//! sees no connection from a document's remote image, where a bare `soffice` does
//! connect), no secret in their environment, bounded memory (the 535-byte page bomb is
//! a named problem within seconds); files are not world-readable; the inbox is opened
//! with EXAMINE; `check` names the box; the systemd units score "OK".

use crate::hostile::base64;
use crate::support::{Dovecot, ImapTarget, Intake};
use kepu_intake::isolate::sandbox::{self, Limits};
use kepu_intake::isolate::tool::{self, Tool};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn soffice() -> PathBuf {
    ["/usr/bin/soffice", "/usr/bin/libreoffice"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("LibreOffice is installed by scripts/setup")
}

/// A TCP listener on 127.0.0.1 that counts the connections it accepts and answers
/// each with a 404, until dropped.
struct Listener {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (Arc::clone(&hits), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                        let _ = c.read(&mut [0u8; 1024]);
                        let _ = c.write_all(b"HTTP/1.0 404 Not Found\r\n\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Listener { port, hits, stop }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An OpenDocument text whose only picture is linked from `url`, to be loaded on open.
fn odt_with_remote_image(url: &str) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2">
 <office:body><office:text>
  <text:p>科普申报表<draw:frame draw:name="seal" svg:width="2cm" svg:height="2cm" text:anchor-type="as-char"><draw:image xlink:href="{url}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>
 </office:text></office:body>
</office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.text")
        .unwrap();
    z.start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    z.write_all(content.as_bytes()).unwrap();
    z.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .unwrap();
    z.write_all(manifest.as_bytes()).unwrap();
    z.finish().unwrap().into_inner()
}

/// A mail from `tag`@school.example carrying `parts` (file name, content type, bytes).
fn mail_with(tag: &str, parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "From: {tag}@school.example\r\nTo: tsqsnkj@126.com\r\nSubject: 申报 {tag}\r\n\
         Date: Mon, 18 Jul 2022 10:31:40 +0800\r\nMessage-ID: <{tag}@school.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{tag}\r\n"
    );
    for (name, ctype, bytes) in parts {
        m.push_str(&format!(
            "--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(bytes)
        ));
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

/// Appends `extra` to the test config.
fn configure(it: &Intake, extra: &str) {
    let text = std::fs::read_to_string(&it.config).unwrap();
    std::fs::write(&it.config, format!("{text}\n{extra}\n")).unwrap();
}

fn documents(d: &Value) -> Vec<Value> {
    d["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["documents"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn executable(path: &Path, script: &str) {
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn assert_box_here() {
    let st = sandbox::status();
    assert!(
        st.mechanism.isolates(),
        "no network namespace can be made on this machine: {st:?}"
    );
}

/// The mechanism itself: `bash`'s /dev/tcp reaches the listener from here, and does
/// not from inside the box, where the host's 127.0.0.1 is another namespace's.
#[test]
fn a_boxed_tool_cannot_reach_a_loopback_listener() {
    assert_box_here();
    let l = Listener::start();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{}", l.port);
    let control = Command::new("bash").args(["-c", &script]).status().unwrap();
    assert!(control.success(), "the listener is not reachable at all");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(l.hits(), 1, "positive control");

    let home = tool::workdir().unwrap();
    let limits = Limits {
        memory_mb: 256,
        cpu_s: Some(10),
    };
    let t = Tool::new(Path::new("/bin/bash"), limits, Duration::from_secs(10))
        .arg("-c")
        .arg(&script);
    let out = tool::run(&t, home.path(), b"").unwrap();
    assert!(!out.status.success(), "connected from inside the box");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(l.hits(), 1, "a connection from inside the box");
}

/// The issue's finding: an `.odt` whose picture is linked from a remote URL. Converted
/// by a bare `soffice`, LibreOffice fetches it (the positive control); imported as a
/// mail attachment, it is converted in the box and nobody connects.
#[test]
fn a_remote_image_in_an_odt_is_fetched_by_bare_soffice_but_not_during_import() {
    assert_box_here();
    let l = Listener::start();
    let odt = odt_with_remote_image(&format!("http://127.0.0.1:{}/seal.png", l.port));
    let it = Intake::new(None);

    // Positive control: LibreOffice as the old code ran it.
    let bare = it.dir().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::write(bare.join("remote.odt"), &odt).unwrap();
    let st = Command::new(soffice())
        .arg("--headless")
        .arg("--norestore")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            bare.join("profile").display()
        ))
        .args(["--convert-to", "docx:MS Word 2007 XML", "--outdir"])
        .arg(&bare)
        .arg(bare.join("remote.odt"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(200));
    let fetched = l.hits();
    assert!(
        fetched >= 1,
        "bare soffice did not fetch the image: the test proves nothing"
    );

    // The same file through the intake, soffice counted by a wrapper.
    let calls = it.dir().join("soffice-calls.log");
    let wrapper = it.dir().join("soffice");
    executable(
        &wrapper,
        &format!(
            "#!/bin/sh\necho run >> '{}'\nexec '{}' \"$@\"\n",
            calls.display(),
            soffice().display()
        ),
    );
    configure(
        &it,
        &format!("[tools]\nocr = false\nsoffice = \"{}\"", wrapper.display()),
    );
    let eml = it.dir().join("odt.eml");
    let odt_type = "application/vnd.oasis.opendocument.text";
    std::fs::write(&eml, mail_with("odt", &[("申报表.odt", odt_type, &odt)])).unwrap();
    it.run_ok(&["import", eml.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(200));
    let ran = std::fs::read_to_string(&calls).unwrap_or_default();
    assert_eq!(
        ran.lines().count(),
        1,
        "LibreOffice did not run during import"
    );
    let docs = documents(&it.dump());
    let doc = docs.iter().find(|d| d["name"] == "申报表.odt").unwrap();
    assert_eq!(doc["format"], "odt", "{doc}");
    let problems = doc["problems"].to_string();
    assert!(
        !problems.contains("needs_conversion") && !problems.contains("corrupt"),
        "the conversion itself failed in the box: {problems}"
    );
    assert_eq!(l.hits(), fetched, "LibreOffice connected out during import");
}

/// Every child sees only the explicit environment: wrappers standing in for soffice,
/// pdftotext, pdftoppm, tesseract and the parser worker record theirs (and their
/// network namespace) and run the real program; the intake runs with both secrets set.
#[test]
fn no_tool_or_parser_sees_a_secret_or_our_network() {
    assert_box_here();
    let it = Intake::new(None);
    let rec = it.dir().join("env");
    let bin = it.dir().join("bin");
    std::fs::create_dir_all(&rec).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let wrap = |name: &str, real: &Path| {
        let path = bin.join(name);
        executable(
            &path,
            &format!(
                "#!/bin/sh\nenv > '{r}/{name}.'$$\nreadlink /proc/self/ns/net > '{r}/{name}.'$$.net\n\
                 exec '{real}' \"$@\"\n",
                r = rec.display(),
                real = real.display()
            ),
        );
        path
    };
    let soffice = wrap("soffice", &soffice());
    wrap("pdftotext", Path::new("/usr/bin/pdftotext"));
    wrap("pdftoppm", Path::new("/usr/bin/pdftoppm"));
    let tesseract = wrap("tesseract", Path::new("/usr/bin/tesseract"));
    let parser = wrap("parser", Path::new(env!("CARGO_BIN_EXE_kepu-intake")));
    configure(
        &it,
        &format!(
            "[tools]\nsoffice = \"{}\"\ntesseract = \"{}\"\npoppler_dir = \"{}\"",
            soffice.display(),
            tesseract.display(),
            bin.display()
        ),
    );
    let fixture = |p: &str| std::fs::read(root().join("fixtures").join(p)).unwrap();
    let (doc, docx) = (
        fixture("forms/district_word97.doc"),
        fixture("forms/expert_pydocx.docx"),
    );
    let (printed, fax, png) = (
        fixture("forms/expert_printed.pdf"),
        fixture("scans/fax_ccitt.pdf"),
        fixture("scans/stamped_scan.png"),
    );
    let eml = it.dir().join("all.eml");
    std::fs::write(
        &eml,
        mail_with(
            "tools",
            &[
                ("附件2.doc", "application/msword", &doc),
                ("附件1.docx", "application/octet-stream", &docx),
                ("附件1.pdf", "application/pdf", &printed),
                ("传真.pdf", "application/pdf", &fax),
                ("盖章.png", "image/png", &png),
            ],
        ),
    )
    .unwrap();
    let out = it
        .command(&["import", eml.to_str().unwrap()])
        .env("KEPU_IMAP_PASSWORD", "sekrit-imap-code")
        .env("KEPU_WEB_TOKEN", "sekrit-web-token")
        .env("KEPU_PARSER_EXE", &parser)
        .env("KEPU_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for e in std::fs::read_dir(&rec).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let name = file.split('.').next().unwrap().to_string();
        if file.ends_with(".net") {
            assert_ne!(
                Path::new(text.trim()),
                ours,
                "{name} ran in our network namespace"
            );
            continue;
        }
        *seen.entry(name.clone()).or_default() += 1;
        assert!(
            !text.contains("sekrit") && !text.contains("KEPU_"),
            "{name} saw a secret:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l == format!("PATH={}", sandbox::SAFE_PATH)),
            "{name}: {text}"
        );
    }
    for tool in ["soffice", "pdftotext", "pdftoppm", "tesseract", "parser"] {
        assert!(seen.contains_key(tool), "{tool} never ran: {seen:?}");
    }
}

/// The page bomb: 535 bytes, one 12,000-point page (25,000 pixels a side at 150 dpi).
/// Imported as a scan it is a named problem, quickly, with the whole import's peak
/// memory (the intake and every child) in the tens of MB, not the 2.4 GB of before.
#[test]
fn a_page_bomb_scan_is_a_named_problem_in_seconds_with_bounded_memory() {
    let it = Intake::new(None);
    configure(&it, "[tools]\nocr = false");
    let bomb = std::fs::read(root().join("fixtures/hostile/page_bomb.pdf")).unwrap();
    assert_eq!(bomb.len(), 535);
    let eml = it.dir().join("bomb.eml");
    std::fs::write(
        &eml,
        mail_with("bomb", &[("附件1_盖章扫描.pdf", "application/pdf", &bomb)]),
    )
    .unwrap();
    let started = Instant::now();
    // Reaped by wait4 below (for its rusage), not through the std handle.
    let pid = it
        .command(&["import", eml.to_str().unwrap()])
        .env("KEPU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
        .id();
    let (status, max_rss_kb) = wait_with_rusage(pid);
    let took = started.elapsed();
    eprintln!(
        "page bomb import: {:.2} s, peak RSS {} MB (intake and children)",
        took.as_secs_f64(),
        max_rss_kb / 1024
    );
    assert_eq!(status, 0, "import failed");
    let docs = documents(&it.dump());
    let doc = docs
        .iter()
        .find(|d| d["name"] == "附件1_盖章扫描.pdf")
        .unwrap();
    assert!(
        doc["problems"]
            .to_string()
            .contains("page_too_large:1:12000x12000pt"),
        "{doc}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert!(max_rss_kb < 400 * 1024, "{max_rss_kb} kB");
}

/// Waits for `pid` and returns its exit code and peak RSS in kB, the largest of the
/// process and all of its waited-for descendants (wait4's rusage).
fn wait_with_rusage(pid: u32) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter for wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; the std Child handle is not waited on after.
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}

/// Data dir, raw mail and the database are not world-readable, whatever the umask of
/// whoever started the program.
#[test]
fn files_are_created_for_owner_and_group_only() {
    let it = Intake::new(None);
    let eml = it.dir().join("m.eml");
    std::fs::write(&eml, mail_with("modes", &[("a.txt", "text/plain", b"x")])).unwrap();
    // The test harness's own umask is usually 022: the program must not inherit it.
    it.run_ok(&["import", eml.to_str().unwrap()]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = &it.data_dir;
    assert_eq!(mode(data), 0o750);
    assert_eq!(mode(&data.join("raw")), 0o750);
    assert_eq!(mode(&data.join("intake.db")), 0o640);
    let raw: Vec<PathBuf> = walk(&data.join("raw"));
    assert!(!raw.is_empty());
    for f in raw {
        assert_eq!(mode(&f), 0o640, "{}", f.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The inbox is opened read-only: Dovecot's rawlog of the intake's session shows
/// EXAMINE and no SELECT.
#[test]
fn the_inbox_is_opened_read_only_with_examine() {
    let d = Dovecot::start();
    d.append(
        "INBOX",
        &crate::support::mail("<ex@test>", "s", "Mon, 18 Jul 2022 10:00:00 +0800", "x"),
        "18-Jul-2022 10:00:00 +0800",
    );
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["run", "--once"]);
    assert_eq!(it.messages().len(), 1);
    let sessions = d.client_sessions();
    let ours: Vec<String> = sessions
        .iter()
        .map(|t| t.to_ascii_uppercase())
        .filter(|t| t.contains(" EXAMINE ") || t.contains(" SELECT "))
        .collect();
    assert!(
        !ours.is_empty(),
        "no session opened a mailbox: {sessions:#?}"
    );
    for s in &ours {
        assert!(s.contains(" EXAMINE "), "{s}");
        assert!(!s.contains(" SELECT "), "read-write SELECT sent:\n{s}");
    }
}

/// `check` names the mechanism. Where no namespace can be made — here: the intake
/// started inside a user namespace that does not map its uid, so it may create neither
/// a nested user namespace nor, without capabilities, a network one — `check` warns
/// without failing and the tools still run (a Word 97 form still converts). The same
/// for the box switched off by `KEPU_SANDBOX=off`.
#[test]
fn check_names_the_box_and_tools_still_run_without_it() {
    assert_box_here();
    let it = Intake::new(None);
    configure(&it, "[tools]\nocr = false");
    let line = |out: &str| {
        out.lines()
            .find(|l| l.contains("sandbox"))
            .unwrap_or("")
            .to_string()
    };
    let (status, out, err) = it.run(&["check"]);
    assert!(status.success(), "{out}\n{err}");
    let l = line(&out);
    assert!(l.starts_with('✓') && l.contains("命名空间"), "{out}");

    let out = it
        .command(&["check"])
        .env("KEPU_SANDBOX", "off")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let l = line(&text);
    assert!(l.starts_with('!') && l.contains("已关闭"), "{text}");

    // No box to be had: an unmapped user namespace around the whole intake.
    let unboxed = |args: &[&str]| {
        let out = Command::new("unshare")
            .arg("--user")
            .arg(env!("CARGO_BIN_EXE_kepu-intake"))
            .arg("--config")
            .arg(&it.config)
            .args(args)
            .current_dir(it.dir())
            .env("KEPU_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = unboxed(&["check"]);
    assert!(ok, "{out}\n{err}");
    let l = line(&out);
    assert!(l.starts_with('!') && l.contains("不可用"), "{out}");

    let doc = std::fs::read(root().join("fixtures/forms/district_word97.doc")).unwrap();
    let eml = it.dir().join("doc.eml");
    std::fs::write(
        &eml,
        mail_with("nobox", &[("附件2.doc", "application/msword", &doc)]),
    )
    .unwrap();
    let (ok, _, err) = unboxed(&["import", eml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("WITH the daemon's network"), "{err}");
    let docs = documents(&it.dump());
    let d = docs.iter().find(|d| d["name"] == "附件2.doc").unwrap();
    assert_eq!(d["form"], "pilot_district", "{d}");
}

/// Every unit in deploy/ scores "OK" (≤ 2.5) in systemd's own exposure analysis.
#[test]
fn every_unit_in_deploy_scores_ok() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.is_file() {
        eprintln!("systemd-analyze not installed: skipped");
        return;
    }
    let units: Vec<PathBuf> = std::fs::read_dir(root().join("deploy"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "service"))
        .collect();
    assert!(units.len() >= 2, "{units:?}");
    for unit in units {
        let out = Command::new(analyze)
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&unit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let score: f64 = text
            .lines()
            .find_map(|l| {
                l.split_once("Overall exposure level for ")?
                    .1
                    .split_once(": ")
            })
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no score for {}:\n{text}\n{}",
                    unit.display(),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        eprintln!("{}: {score}", unit.display());
        assert!(score <= 2.5, "{}: {score}\n{text}", unit.display());
    }
}
