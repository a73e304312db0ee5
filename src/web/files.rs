//! Serving stored documents. A document is found by its id in the intake state and its
//! stored relative path; nothing from the URL ever becomes part of a file path.

use std::path::{Component, Path, PathBuf};

/// The stored path under `data_dir`, or None when the stored value is absolute, climbs
/// with `..`, or resolves (through links) outside the data dir.
pub fn resolve_stored(data_dir: &Path, stored: &str) -> Option<PathBuf> {
    let rel = Path::new(stored);
    if stored.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = data_dir.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    full.starts_with(&root).then_some(full)
}

/// The file name to offer: the last component of the sender's name without control
/// characters; `fallback` when nothing usable is left.
pub fn sanitise_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    if clean.is_empty() {
        fallback.to_string()
    } else {
        clean
    }
}

/// `Content-Disposition` value with an ASCII fallback and the UTF-8 name (RFC 6266 /
/// RFC 5987 `filename*`).
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// How a stored document is offered for download: the type of its sniffed bytes, never
/// the sender's claim, and a name whose extension says the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub content_type: &'static str,
    /// Shown in the page (`?inline=1`) only for plain images.
    pub can_inline: bool,
    pub file_name: String,
}

/// Passive formats we name and type as what they are; anything else (HTML, scripts,
/// executables, unknown bytes) is `application/octet-stream` named `.bin`, so neither
/// the browser nor the desktop that opens the download runs it.
const KNOWN: &[(&str, &str, &str, bool)] = &[
    ("jpg", "jpg", "image/jpeg", true),
    ("png", "png", "image/png", true),
    ("gif", "gif", "image/gif", true),
    ("bmp", "bmp", "image/bmp", false),
    ("tiff", "tif", "image/tiff", false),
    ("webp", "webp", "image/webp", false),
    ("pdf", "pdf", "application/pdf", false),
    (
        "docx",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        false,
    ),
    ("doc", "doc", "application/msword", false),
    ("wps", "wps", "application/msword", false),
    ("rtf", "rtf", "application/rtf", false),
    (
        "odt",
        "odt",
        "application/vnd.oasis.opendocument.text",
        false,
    ),
    (
        "xlsx",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        false,
    ),
    ("xls", "xls", "application/vnd.ms-excel", false),
    (
        "ods",
        "ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        false,
    ),
    (
        "pptx",
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        false,
    ),
    ("ppt", "ppt", "application/vnd.ms-powerpoint", false),
    ("ofd", "ofd", "application/ofd", false),
    ("zip", "zip", "application/zip", false),
    ("rar", "rar", "application/vnd.rar", false),
    ("7z", "7z", "application/x-7z-compressed", false),
    ("gz", "gz", "application/gzip", false),
    ("eml", "eml", "message/rfc822", false),
    ("txt", "txt", "text/plain; charset=utf-8", false),
];

/// The offer for a document of sniffed `format` that the sender called `name`.
pub fn offer(format: &str, name: &str, fallback: &str) -> Offer {
    let base = sanitise_name(name, fallback);
    let known = KNOWN.iter().find(|k| k.0 == format);
    let (ext, content_type, can_inline) = match known {
        Some(&(_, ext, ctype, inline)) => (ext, ctype, inline),
        None => ("bin", "application/octet-stream", false),
    };
    Offer {
        content_type,
        can_inline,
        file_name: with_extension(&base, format, ext),
    }
}

/// `base` ending in `.ext`: kept when its own extension already names `format`
/// (`.jpeg` for jpg), else replaced (`x.html` holding a docx → `x.docx`, `x.exe` → `x.bin`).
fn with_extension(base: &str, format: &str, ext: &str) -> String {
    let (stem, own) = match base.rsplit_once('.') {
        Some((stem, own)) if !stem.is_empty() => (stem, Some(own)),
        _ => (base, None),
    };
    // Other spellings of the same passive format that are kept as sent.
    const ALIASES: &[(&str, &str)] = &[("jpg", "jpeg"), ("jpg", "jpe"), ("tiff", "tiff")];
    if let Some(own) = own.map(str::to_ascii_lowercase) {
        let same = own == ext || ALIASES.contains(&(format, own.as_str()));
        if ext != "bin" && same {
            return base.to_string();
        }
    }
    format!("{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_has_ascii_fallback_and_utf8_name() {
        assert_eq!(
            content_disposition("attachment", "申报表 1.docx"),
            "attachment; filename=\"___ 1.docx\"; filename*=UTF-8''%E7%94%B3%E6%8A%A5%E8%A1%A8%201.docx"
        );
    }

    #[test]
    fn downloads_are_typed_and_named_by_their_bytes() {
        let o = offer("html", "通知.html", "d");
        assert_eq!(o.content_type, "application/octet-stream");
        assert_eq!(o.file_name, "通知.bin");
        assert!(!o.can_inline);
        assert_eq!(offer("unknown", "setup.exe", "d").file_name, "setup.bin");
        assert_eq!(offer("unknown", "run.HTA", "d").file_name, "run.bin");
        // A Word file sent as .html: typed and named as the docx it is.
        let o = offer("docx", "申报表.html", "d");
        assert_eq!(o.file_name, "申报表.docx");
        assert!(o.content_type.contains("wordprocessingml"));
        assert_eq!(offer("jpg", "盖章.JPEG", "d").file_name, "盖章.JPEG");
        assert_eq!(offer("pdf", "scan", "d").file_name, "scan.pdf");
        assert_eq!(offer("pdf", "..", "doc-3").file_name, "doc-3.pdf");
        assert!(offer("png", "a.png", "d").can_inline);
    }

    #[test]
    fn names_lose_directories_and_controls() {
        assert_eq!(sanitise_name("../../etc/pa\rsswd", "x"), "passwd");
        assert_eq!(sanitise_name("C:\\a\\申报.doc", "x"), "申报.doc");
        assert_eq!(sanitise_name("..", "doc-3"), "doc-3");
    }

    #[test]
    fn stored_paths_must_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/docs")).unwrap();
        std::fs::write(dir.path().join("data/docs/a.pdf"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        let data = dir.path().join("data");
        assert!(resolve_stored(&data, "docs/a.pdf").is_some());
        assert!(resolve_stored(&data, "../secret").is_none());
        assert!(resolve_stored(&data, dir.path().join("secret").to_str().unwrap()).is_none());
        assert!(resolve_stored(&data, "docs/missing").is_none());
    }
}
