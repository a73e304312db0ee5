//! Office Open XML packages recognised the way Office itself finds its way in: the
//! package relationships (`_rels/.rels`) name the main part, `[Content_Types].xml` says
//! what that part is. Part names are never trusted to be the usual ones: Word Online
//! saves `word/document2.xml`, some .NET exporters write zip entry names with
//! backslashes (`xl\workbook.xml`) or a leading slash. Bounded reads only.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::io::{Cursor, Read};

/// Largest `[Content_Types].xml` / `.rels` inflated (real ones are a few kilobytes).
const MAX_META_XML: u64 = 1 << 20;

/// The relationship type of a package's main part (transitional and strict).
const OFFICE_DOCUMENT: [&str; 2] = [
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
];

/// A part name as Office compares them: forward slashes, no leading slash, ASCII case
/// folded (part names are case-insensitive, ECMA-376 part 2 §9.1.1.1).
pub fn normalize(name: &str) -> String {
    name.replace('\\', "/")
        .trim_start_matches('/')
        .to_ascii_lowercase()
}

/// What an OOXML package's main part is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainPart {
    /// Zip entry name as stored (maybe with backslashes).
    pub entry: String,
    /// The sniffed format: docx, docm, xlsx, xlsm, xlsb, pptx; None for a package whose
    /// main part is of no kind we know.
    pub format: Option<&'static str>,
}

/// Index of the entry whose normalised name is `part` (already normalised).
pub fn find_entry<R: Read + std::io::Seek>(zip: &zip::ZipArchive<R>, part: &str) -> Option<usize> {
    (0..zip.len()).find(|&i| entry_name(zip, i).is_some_and(|n| normalize(&n) == part))
}

/// The stored name of entry `i`, None when unreadable.
pub fn entry_name<R: Read + std::io::Seek>(zip: &zip::ZipArchive<R>, i: usize) -> Option<String> {
    zip.name_for_index(i)?.ok().map(|n| n.into_owned())
}

/// Reads entry `i` inflated up to `cap` bytes; None when unreadable or over the cap.
pub fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    i: usize,
    cap: u64,
) -> Option<Vec<u8>> {
    let f = zip.by_index(i).ok()?;
    let mut buf = Vec::new();
    f.take(cap + 1).read_to_end(&mut buf).ok()?;
    (buf.len() as u64 <= cap).then_some(buf)
}

/// The main part of an OOXML package; None when the bytes are not a zip with package
/// relationships naming one.
pub fn main_part(bytes: &[u8]) -> Option<MainPart> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    main_part_of(&mut zip)
}

/// [`main_part`] on an opened archive.
pub fn main_part_of<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>) -> Option<MainPart> {
    let rels_i = find_entry(zip, "_rels/.rels")?;
    let rels = read_entry(zip, rels_i, MAX_META_XML)?;
    let target = office_document_target(&rels)?;
    let part = normalize(&target);
    let entry_i = find_entry(zip, &part)?;
    let entry = entry_name(zip, entry_i)?;
    let ct = find_entry(zip, "[content_types].xml")
        .and_then(|i| read_entry(zip, i, MAX_META_XML))
        .and_then(|xml| content_type_of(&xml, &part))
        .unwrap_or_default();
    Some(MainPart {
        entry,
        format: format_of_content_type(&ct, &part),
    })
}

/// The format a main part's content type names. Without a content type (a broken
/// `[Content_Types].xml`), the main part's extension still tells a binary workbook.
fn format_of_content_type(ct: &str, part: &str) -> Option<&'static str> {
    let ct = ct.to_ascii_lowercase();
    let base = ct.split(';').next().unwrap_or("").trim();
    Some(match base {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml" => {
            "docx"
        }
        "application/vnd.ms-word.document.macroenabled.main+xml"
        | "application/vnd.ms-word.template.macroenabledtemplate.main+xml" => "docm",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml" => "xlsx",
        "application/vnd.ms-excel.sheet.macroenabled.main+xml"
        | "application/vnd.ms-excel.template.macroenabled.main+xml" => "xlsm",
        "application/vnd.ms-excel.sheet.binary.macroenabled.main" => "xlsb",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
        | "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml" => "pptx",
        _ if part.ends_with(".bin") && part.starts_with("xl/") => "xlsb",
        _ if part.starts_with("word/") && part.ends_with(".xml") => "docx",
        _ if part.starts_with("xl/") && part.ends_with(".xml") => "xlsx",
        _ if part.starts_with("ppt/") && part.ends_with(".xml") => "pptx",
        _ => return None,
    })
}

/// Local name of an XML element or attribute (prefix dropped).
fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| local(a.key.as_ref()).eq_ignore_ascii_case(key))
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// The `Target` of the package's officeDocument relationship.
fn office_document_target(rels: &[u8]) -> Option<String> {
    let mut r = Reader::from_reader(rels);
    loop {
        match r.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if local(e.name().as_ref()) == b"Relationship" =>
            {
                let ty = attr(&e, b"Type").unwrap_or_default();
                if OFFICE_DOCUMENT.iter().any(|t| ty.eq_ignore_ascii_case(t)) {
                    return attr(&e, b"Target");
                }
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The content type `[Content_Types].xml` gives `part` (normalised): its Override,
/// else the Default for its extension.
fn content_type_of(xml: &[u8], part: &str) -> Option<String> {
    let ext = part.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let mut default = None;
    let mut r = Reader::from_reader(xml);
    loop {
        match r.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if local(e.name().as_ref()) == b"Override"
                    && attr(&e, b"PartName").is_some_and(|p| normalize(&p) == part) =>
            {
                return attr(&e, b"ContentType");
            }
            Ok(Event::Start(e) | Event::Empty(e))
                if local(e.name().as_ref()) == b"Default"
                    && attr(&e, b"Extension").is_some_and(|x| x.eq_ignore_ascii_case(ext)) =>
            {
                default = attr(&e, b"ContentType");
            }
            Ok(Event::Eof) | Err(_) => return default,
            _ => {}
        }
    }
}

/// True when some entry name uses a backslash or a leading slash: readers that look
/// parts up by their usual names (calamine) need the package re-laid with clean names.
pub fn has_odd_names(bytes: &[u8]) -> bool {
    let Ok(zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let names: Vec<String> = (0..zip.len()).filter_map(|i| entry_name(&zip, i)).collect();
    names.iter().any(|n| n.contains('\\') || n.starts_with('/'))
}

/// The package again with every entry name normalised (slashes, no leading slash;
/// case kept), members inflated up to `cap` bytes in all. None when unreadable or
/// over the cap.
pub fn relay_names(bytes: &[u8], cap: u64) -> Option<Vec<u8>> {
    relay(bytes, cap, &[])
}

/// [`relay_names`], with the parts named in `replace` (normalised names) given new
/// contents.
pub fn relay(bytes: &[u8], cap: u64, replace: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut used = 0u64;
    for i in 0..zip.len() {
        let name = entry_name(&zip, i)?.replace('\\', "/");
        let name = name.trim_start_matches('/').to_string();
        if name.ends_with('/') {
            continue;
        }
        let data = match replace.iter().find(|(n, _)| *n == normalize(&name)) {
            Some((_, d)) => d.clone(),
            None => read_entry(&mut zip, i, cap.saturating_sub(used))?,
        };
        used += data.len() as u64;
        out.start_file(name, opts).ok()?;
        std::io::Write::write_all(&mut out, &data).ok()?;
    }
    out.finish().ok().map(Cursor::into_inner)
}

/// Every relationship of a `.rels` part as (Id, Target).
pub fn relationship_targets(rels: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut r = Reader::from_reader(rels);
    loop {
        match r.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if local(e.name().as_ref()) == b"Relationship" =>
            {
                if let (Some(id), Some(target)) = (attr(&e, b"Id"), attr(&e, b"Target")) {
                    out.push((id, target));
                }
            }
            Ok(Event::Eof) | Err(_) => return out,
            _ => {}
        }
    }
}

/// Relationship ids (of the workbook's `.rels`) that point at Excel 4 macro sheets.
fn macro_sheet_ids(rels: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = Reader::from_reader(rels);
    loop {
        match r.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if local(e.name().as_ref()) == b"Relationship" =>
            {
                let ty = attr(&e, b"Type").unwrap_or_default().to_ascii_lowercase();
                if ty.ends_with("/xlmacrosheet") || ty.ends_with("/xlintlmacrosheet") {
                    out.extend(attr(&e, b"Id"));
                }
            }
            Ok(Event::Eof) | Err(_) => return out,
            _ => {}
        }
    }
}

/// A workbook package without its Excel 4 macro sheets: their `<sheet>` entries are
/// taken out of the workbook part, so readers that refuse macro sheets (calamine)
/// read the worksheets and the macros are never looked at. None when the workbook has
/// none (or cannot be read).
pub fn without_macro_sheets(bytes: &[u8], cap: u64) -> Option<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let main = normalize(&main_part_of(&mut zip)?.entry);
    let (dir, file) = main.rsplit_once('/').unwrap_or(("", main.as_str()));
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let rels_i = find_entry(&zip, &rels_name)?;
    let rels = read_entry(&mut zip, rels_i, MAX_META_XML)?;
    let ids = macro_sheet_ids(&rels);
    if ids.is_empty() {
        return None;
    }
    let wb_i = find_entry(&zip, &main)?;
    let wb = read_entry(&mut zip, wb_i, cap)?;
    let mut reader = Reader::from_reader(&wb[..]);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(wb.len()));
    let is_macro = |e: &quick_xml::events::BytesStart<'_>| {
        local(e.name().as_ref()) == b"sheet" && attr(e, b"id").is_some_and(|id| ids.contains(&id))
    };
    let mut skip = 0usize;
    loop {
        let ev = reader.read_event().ok()?;
        match &ev {
            Event::Eof => break,
            Event::Empty(e) if skip == 0 && is_macro(e) => continue,
            Event::Start(e) if skip > 0 || is_macro(e) => {
                skip += 1;
                continue;
            }
            Event::End(_) if skip > 0 => {
                skip -= 1;
                continue;
            }
            _ if skip > 0 => continue,
            _ => {}
        }
        writer.write_event(ev).ok()?;
    }
    relay(bytes, cap, &[(main, writer.into_inner())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn package(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, d) in entries {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(d.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/word/document2.xml"/></Relationships>"#;
    const CT: &str = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document2.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

    #[test]
    fn main_part_by_relationship_and_content_type() {
        let b = package(&[
            ("[Content_Types].xml", CT),
            ("_rels/.rels", RELS),
            ("word/document2.xml", "<w:document/>"),
        ]);
        let m = main_part(&b).unwrap();
        assert_eq!(m.entry, "word/document2.xml");
        assert_eq!(m.format, Some("docx"));
    }

    #[test]
    fn backslash_names_are_found_and_relaid() {
        let b = package(&[
            ("[Content_Types].xml", CT),
            ("_rels\\.rels", RELS),
            ("word\\document2.xml", "<w:document/>"),
        ]);
        assert_eq!(main_part(&b).unwrap().format, Some("docx"));
        assert!(has_odd_names(&b));
        let clean = relay_names(&b, 1 << 20).unwrap();
        assert!(!has_odd_names(&clean));
        assert_eq!(main_part(&clean).unwrap().entry, "word/document2.xml");
    }

    #[test]
    fn a_binary_workbook_is_told_by_its_content_type() {
        let rels = RELS.replace("/word/document2.xml", "xl/workbook.bin");
        let ct = r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>"#;
        let b = package(&[
            ("[Content_Types].xml", ct),
            ("_rels/.rels", &rels),
            ("xl/workbook.bin", "\u{83}\u{1}"),
        ]);
        assert_eq!(main_part(&b).unwrap().format, Some("xlsb"));
        assert_eq!(super::super::sniff(&b, "a.zip"), "xlsb");
    }

    #[test]
    fn a_plain_zip_has_no_main_part() {
        assert!(main_part(&package(&[("a.txt", "x")])).is_none());
    }
}
