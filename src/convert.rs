//! External converters for documents our own readers cannot take directly:
//! LibreOffice headless for Word 97 / WPS / RTF / ODT → .docx, and poppler's
//! `pdftotext -layout` for the text of a PDF printed from Word. Each call runs in the
//! box ([`crate::isolate::tool`]: no network, no inherited environment, memory and CPU
//! caps) with its own private temporary directory (and LibreOffice profile, so
//! concurrent calls never share one), a timeout that kills the whole process group, no
//! shell, and is judged by its output file — soffice exits 0 even when it could not
//! load the input.

use crate::config::ToolsConfig;
use crate::forms::{FormError, NEEDS_SOFFICE};
use crate::isolate::sandbox::Limits;
use crate::isolate::tool::{self, Tool, ToolError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default time one LibreOffice conversion may take (first start with a fresh profile
/// takes a few seconds).
pub const SOFFICE_TIMEOUT: Duration = Duration::from_secs(120);
/// Default time `pdftotext` may take.
pub const PDFTOTEXT_TIMEOUT: Duration = Duration::from_secs(60);
/// LibreOffice's box: it maps ~400 MB of address space just to start; 2 GiB leaves
/// room for documents with images and stops one that balloons. CPU time as the timeout.
pub const SOFFICE_LIMITS: Limits = Limits {
    memory_mb: 2048,
    cpu_s: Some(SOFFICE_TIMEOUT.as_secs()),
};
/// pdftotext's and pdftoppm's box (rendering is capped in pixels, see `scan::pdf`).
pub const POPPLER_LIMITS: Limits = Limits {
    memory_mb: 1024,
    cpu_s: Some(PDFTOTEXT_TIMEOUT.as_secs()),
};
/// A PDF whose text layer has fewer non-whitespace characters than this is a scan.
pub const MIN_TEXT_CHARS: usize = 20;

/// What to tell the operator when poppler is missing.
pub const NEEDS_POPPLER: &str =
    "安装 poppler-utils 与 poppler-data (apt-get install poppler-utils poppler-data) 后运行 kepu-intake reprocess";

/// Finds a program: the configured path if set, else the first match on PATH.
fn find_tool(configured: &str, dir: &str, name: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        let p = PathBuf::from(configured);
        return p.is_file().then_some(p);
    }
    if !dir.is_empty() {
        let p = Path::new(dir).join(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// LibreOffice, if installed (config `tools.soffice`, else `soffice` on PATH).
pub fn soffice(tools: &ToolsConfig) -> Option<PathBuf> {
    find_tool(&tools.soffice, "", "soffice").or_else(|| {
        tools
            .soffice
            .is_empty()
            .then(|| find_tool("", "", "libreoffice"))
            .flatten()
    })
}

/// `pdftotext`, if installed (config `tools.poppler_dir`, else PATH).
pub fn pdftotext(tools: &ToolsConfig) -> Option<PathBuf> {
    find_tool("", &tools.poppler_dir, "pdftotext")
}

/// Converts a .doc / .wps / .rtf / .odt (given as `ext`) to .docx with LibreOffice.
pub fn to_docx(
    tools: &ToolsConfig,
    bytes: &[u8],
    ext: &str,
    timeout: Duration,
) -> Result<Vec<u8>, FormError> {
    let Some(soffice) = soffice(tools) else {
        return Err(FormError::NeedsConversion(NEEDS_SOFFICE.into()));
    };
    let ext: String = ext.chars().filter(char::is_ascii_alphanumeric).collect();
    let io = |what: &str, e: std::io::Error| {
        FormError::NeedsConversion(format!("LibreOffice 转换失败 ({what}): {e}"))
    };
    let work = tool::workdir().map_err(|e| io("临时目录 temp dir", e))?;
    let input = work.path().join(format!("in.{ext}"));
    let outdir = work.path().join("out");
    std::fs::write(&input, bytes).map_err(|e| io("写入 write input", e))?;
    // A fresh profile per call, thrown away with the directory: nothing one document
    // sets (macros' security level, recent files, a planted config) reaches the next.
    let profile = format!("file://{}", work.path().join("profile").display());
    let call = Tool::new(&soffice, SOFFICE_LIMITS, timeout)
        .arg("--headless")
        .arg("--norestore")
        .arg("--nolockcheck")
        .arg(format!("-env:UserInstallation={profile}"))
        .arg("--convert-to")
        .arg("docx:MS Word 2007 XML")
        .arg("--outdir")
        .arg(&outdir)
        .arg(&input);
    match tool::run(&call, work.path(), b"") {
        Err(ToolError::Timeout { .. }) => {
            return Err(FormError::Corrupt(format!(
                "LibreOffice 转换 .{ext} 超时 (timed out after {} s)",
                timeout.as_secs()
            )))
        }
        Err(ToolError::Spawn { source, .. }) => return Err(io("启动 soffice", source)),
        // A non-zero exit (the memory cap, a crash) is judged like any other: by the file.
        Err(ToolError::Failed { .. }) | Ok(_) => {}
    }
    // soffice exits 0 on "source file could not be loaded": only the file tells.
    match std::fs::read(outdir.join("in.docx")) {
        Ok(docx) if !docx.is_empty() => Ok(docx),
        _ => Err(FormError::Unreadable(format!(
            "LibreOffice 无法打开该 .{ext} 文件 (source file could not be loaded)"
        ))),
    }
}

/// The text layer of a PDF by `pdftotext -layout`: `Ok(None)` when the PDF has no
/// text worth the name (an image-only scan); `Err(NeedsConversion)` without poppler;
/// `Err(Corrupt)` when pdftotext fails or times out.
pub fn pdf_text_with(
    tools: &ToolsConfig,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Option<String>, FormError> {
    let Some(tool) = pdftotext(tools) else {
        return Err(FormError::NeedsConversion(NEEDS_POPPLER.into()));
    };
    let io = |e: std::io::Error| FormError::Corrupt(format!("pdftotext 运行失败 (failed): {e}"));
    let work = tool::workdir().map_err(io)?;
    let input = work.path().join("in.pdf");
    let output = work.path().join("out.txt");
    std::fs::write(&input, bytes).map_err(io)?;
    let call = Tool::new(&tool, POPPLER_LIMITS, timeout)
        .arg("-layout")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&input)
        .arg(&output);
    match tool::run(&call, work.path(), b"") {
        Err(ToolError::Timeout { .. }) => Err(FormError::Corrupt(format!(
            "pdftotext 超时 (timed out after {} s)",
            timeout.as_secs()
        ))),
        Err(ToolError::Spawn { source, .. }) => Err(io(source)),
        Err(e @ ToolError::Failed { .. }) => Err(FormError::Corrupt(format!(
            "PDF 无法读取 (unreadable PDF): {e}"
        ))),
        Ok(out) if !out.status.success() => Err(FormError::Corrupt(format!(
            "PDF 无法读取 (pdftotext {})",
            tool::describe(out.status)
        ))),
        Ok(_) => {
            let text = std::fs::read(&output).map_err(io)?;
            let text = String::from_utf8_lossy(&text).into_owned();
            let chars = text.chars().filter(|c| !c.is_whitespace()).count();
            Ok((chars >= MIN_TEXT_CHARS).then_some(text))
        }
    }
}

/// The text of a text PDF (printed from Word), None for an image-only PDF (a scan),
/// an unreadable PDF, or when poppler is not installed (see [`pdf_text_with`] to tell
/// those apart).
pub fn pdf_text(bytes: &[u8]) -> Option<String> {
    pdf_text_with(&ToolsConfig::default(), bytes, PDFTOTEXT_TIMEOUT)
        .ok()
        .flatten()
}
