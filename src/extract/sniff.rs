//! Real file format by magic bytes. The declared name only breaks ties between formats
//! the bytes cannot tell apart (an OLE file without a telling stream, an unreadable zip
//! named .docx); the declared Content-Type is never consulted.

use super::{cfb, names};
use std::io::{Cursor, Read};

/// Formats that hold other documents.
pub fn is_container_format(format: &str) -> bool {
    matches!(
        format,
        "zip" | "rar" | "7z" | "gz" | "eml" | "tnef" | "cloud_link"
    )
}

/// Archives we cannot open (no decoder in the build): recorded, flagged, not expanded.
/// (7z and RAR are opened by the parser worker, see [`super::sevenz`] and
/// `isolate::rar`.)
pub fn is_unsupported_archive(format: &str) -> bool {
    matches!(format, "gz" | "tnef")
}

/// The format a file name's extension promises, None for extensions we do not judge.
pub fn expected_format(name: &str) -> Option<&'static str> {
    Some(match names::extension(name).as_str() {
        "docx" | "docm" => "docx",
        "doc" => "doc",
        "wps" => "wps",
        "xlsx" | "xlsm" => "xlsx",
        "xlsb" => "xlsb",
        "xls" | "et" => "xls",
        "pptx" => "pptx",
        "ppt" | "dps" => "ppt",
        "pdf" => "pdf",
        "jpg" | "jpeg" | "jpe" => "jpg",
        "png" => "png",
        "gif" => "gif",
        "tif" | "tiff" => "tiff",
        "bmp" => "bmp",
        "webp" => "webp",
        "heic" | "heif" => "heic",
        "zip" => "zip",
        "rar" => "rar",
        "7z" => "7z",
        "gz" | "tgz" => "gz",
        "eml" => "eml",
        "msg" => "msg",
        "rtf" => "rtf",
        "odt" => "odt",
        "ods" => "ods",
        "ofd" => "ofd",
        "txt" | "csv" => "txt",
        "htm" | "html" => "html",
        _ => return None,
    })
}

/// True when the sniffed format breaks the name's promise (`.doc` that is a docx …).
pub fn mismatch(format: &str, name: &str) -> bool {
    match expected_format(name) {
        None => false,
        Some(exp) => {
            exp != format
                // A .wps may be a plain Word 97 file and vice versa; WPS writes both.
                && !(matches!(exp, "wps" | "doc") && matches!(format, "wps" | "doc"))
        }
    }
}

/// See [`super::sniff`].
pub fn sniff(bytes: &[u8], name: &str) -> String {
    let ext = names::extension(name);
    let head = bytes.get(..16).unwrap_or(bytes);
    let s = |f: &str| f.to_string();
    if bytes
        .get(..1024)
        .unwrap_or(bytes)
        .windows(5)
        .any(|w| w == b"%PDF-")
    {
        return s("pdf");
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return s("png");
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return s("jpg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return s("gif");
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return s("tiff");
    }
    if head.starts_with(b"BM") && bytes.len() >= 26 && bytes.get(6..10) == Some(&[0, 0, 0, 0]) {
        return s("bmp");
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return s("webp");
    }
    if head.get(4..8) == Some(b"ftyp")
        && matches!(head.get(8..12), Some(b"heic" | b"heix" | b"mif1" | b"msf1"))
    {
        return s("heic");
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return zip_family(bytes, &ext);
    }
    if head.starts_with(cfb::MAGIC) {
        return ole_family(bytes, &ext);
    }
    if head.starts_with(b"{\\rtf") {
        return s("rtf");
    }
    if head.starts_with(b"Rar!\x1a\x07") {
        return s("rar");
    }
    if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        return s("7z");
    }
    if head.starts_with(&[0x1F, 0x8B]) {
        return s("gz");
    }
    if head.starts_with(&[0x78, 0x9F, 0x3E, 0x22]) {
        return s("tnef"); // Outlook's winmail.dat
    }
    text_family(bytes)
}

fn zip_family(bytes: &[u8], ext: &str) -> String {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        // Cannot list members: only the name can tell a broken docx from a zip.
        return match ext {
            "docx" | "xlsx" | "xlsb" | "pptx" | "odt" | "ods" | "ofd" => ext.to_string(),
            "docm" => "docx".to_string(),
            "xlsm" => "xlsx".to_string(),
            _ => "zip".to_string(),
        };
    };
    // Office packages by their relationships and content types, whatever the parts
    // are called (Word Online's `document2.xml`, backslash entry names).
    if let Some(main) = super::ooxml::main_part_of(&mut zip) {
        match main.format {
            Some("docx" | "docm") => return "docx".into(),
            Some("xlsx" | "xlsm") => return "xlsx".into(),
            Some(f) => return f.into(),
            None => {}
        }
    }
    let has = |n: &str| zip.index_for_name(n).is_some();
    if has("word/document.xml") {
        return "docx".into();
    }
    if has("xl/workbook.xml") {
        return "xlsx".into();
    }
    if has("ppt/presentation.xml") {
        return "pptx".into();
    }
    if has("OFD.xml") {
        return "ofd".into();
    }
    if let Ok(f) = zip.by_name("mimetype") {
        let mut m = String::new();
        if f.take(100).read_to_string(&mut m).is_ok() {
            if m.contains("opendocument.text") {
                return "odt".into();
            }
            if m.contains("opendocument.spreadsheet") {
                return "ods".into();
            }
        }
    }
    "zip".into()
}

fn ole_family(bytes: &[u8], ext: &str) -> String {
    let entries = cfb::entries(bytes).unwrap_or_default();
    // The file's own streams first: a workbook with an embedded Word object carries a
    // `WordDocument` stream too, one storage down.
    let top = cfb::top_level(&entries);
    let has_top = |n: &str| top.contains(&n);
    if has_top("Workbook") || has_top("Book") {
        return "xls".into();
    }
    if has_top("WordDocument") {
        return if ext == "wps" { "wps" } else { "doc" }.into();
    }
    if has_top("PowerPoint Document") {
        return "ppt".into();
    }
    let has = |n: &str| entries.iter().any(|e| e.name == n);
    if has("EncryptedPackage") {
        // An encrypted OOXML file: the package inside is unreadable, trust the name.
        return match ext {
            "docx" | "xlsx" | "pptx" => ext.to_string(),
            _ => "ole".to_string(),
        };
    }
    if has("WordDocument") {
        return if ext == "wps" { "wps" } else { "doc" }.into();
    }
    if has("Workbook") || has("Book") {
        return "xls".into();
    }
    if has("PowerPoint Document") {
        return "ppt".into();
    }
    if entries.iter().any(|e| e.name.starts_with("__substg1.0_")) {
        return "msg".into();
    }
    match ext {
        "doc" | "wps" | "xls" | "ppt" | "msg" => ext.to_string(),
        "et" => "xls".into(),
        "dps" => "ppt".into(),
        _ => "ole".into(),
    }
}

fn text_family(bytes: &[u8]) -> String {
    let sample = bytes.get(..8192).unwrap_or(bytes);
    if sample.is_empty() {
        return "unknown".into();
    }
    let binary = sample
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    if binary > sample.len() / 100 || sample.contains(&0) {
        return "unknown".into();
    }
    let text = String::from_utf8_lossy(sample);
    let lower = text
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .to_lowercase();
    if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.get(..512).unwrap_or(&lower).contains("<html")
    {
        return "html".into();
    }
    if looks_like_message(&text) {
        return "eml".into();
    }
    "txt".into()
}

/// A message starts with header lines; at least two well-known ones before the blank
/// line and no non-header line among the first ones.
fn looks_like_message(text: &str) -> bool {
    const KNOWN: [&str; 10] = [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "x-mailer",
    ];
    let mut known = 0;
    for (i, line) in text.lines().take(60).enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if i == 0 {
                return false;
            }
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return false;
        }
        if KNOWN.contains(&name.to_ascii_lowercase().as_str()) {
            known += 1;
        }
    }
    known >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_beats_name() {
        assert_eq!(sniff(b"%PDF-1.7\n...", "scan.jpg"), "pdf");
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], "a.pdf"), "jpg");
        assert!(mismatch("pdf", "scan.jpg"));
        assert!(!mismatch("doc", "申报表.wps"));
        assert!(!mismatch("pdf", "noext"));
    }

    #[test]
    fn text_html_eml() {
        assert_eq!(sniff("你好，附件已发送".as_bytes(), "a.txt"), "txt");
        assert_eq!(sniff(b"<!DOCTYPE html><html></html>", "x"), "html");
        assert_eq!(
            sniff(b"From: a@b\r\nSubject: x\r\nDate: Mon\r\n\r\nhi", "fw.eml"),
            "eml"
        );
        assert_eq!(sniff(b"\x00\x01\x02\x03", "x.bin"), "unknown");
    }

    #[test]
    fn broken_zip_named_docx_stays_docx() {
        assert_eq!(sniff(b"PK\x03\x04garbage", "表.docx"), "docx");
        assert_eq!(sniff(b"PK\x03\x04garbage", "a.zip"), "zip");
    }
}
