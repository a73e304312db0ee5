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

/// MIME type for a stored format; only images may be shown inline.
pub fn content_type(format: &str) -> (&'static str, bool) {
    match format {
        "jpg" | "jpeg" => ("image/jpeg", true),
        "png" => ("image/png", true),
        "pdf" => ("application/pdf", false),
        "docx" => (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            false,
        ),
        "doc" | "wps" => ("application/msword", false),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            false,
        ),
        "xls" => ("application/vnd.ms-excel", false),
        "zip" => ("application/zip", false),
        "eml" => ("message/rfc822", false),
        _ => ("application/octet-stream", false),
    }
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
