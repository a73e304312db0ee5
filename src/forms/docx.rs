//! Reads a .docx (Word, WPS, LibreOffice, python-docx) into a [`Grid`] with one
//! streaming pass of quick-xml over `word/document.xml`: tables with gridSpan/vMerge,
//! paragraphs outside tables, and every checkbox style turned into ☑/□ — typed glyphs
//! stay text, `w:sym` Wingdings and PUA characters are mapped, Word content controls
//! (`w14:checkbox`) and legacy form fields (`w:checkBox`) are read from their state,
//! not their glyph. Tracked deletions, field codes and `mc:Fallback` copies are skipped.
//!
//! Our own reader rather than docx-rs: docx-rs drops the content-control state, and on
//! malformed files it panics or loops; this pass is linear, bounded and never panics.

use super::checkbox;
use super::grid::{build_table, Block, Grid, RawCell, VMerge, CHECKED, UNCHECKED};
use super::FormError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::{Cursor, Read};

/// Largest `word/document.xml` we inflate (a real form is < 1 MB).
pub const MAX_XML: u64 = 64 << 20;
/// Deepest table nesting accepted.
const MAX_NESTING: usize = 32;

/// The XML of the main document part, inflated with a size cap.
pub fn document_xml(bytes: &[u8]) -> Result<Vec<u8>, FormError> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ole_error(bytes));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FormError::Corrupt(format!("docx 不是有效的 zip 文件 (not a zip): {e}")))?;
    // The main part as the package relationships name it (Word Online writes
    // `word/document2.xml`; some exporters write backslashes), else the usual name.
    let main = crate::extract::ooxml::main_part_of(&mut zip)
        .filter(|m| matches!(m.format, Some("docx" | "docm")))
        .map(|m| m.entry)
        .unwrap_or_else(|| "word/document.xml".to_string());
    let file = zip.by_name(&main).map_err(|e| {
        FormError::Corrupt(format!(
            "docx 缺少 word/document.xml (missing main part): {e}"
        ))
    })?;
    let mut xml = Vec::new();
    file.take(MAX_XML + 1).read_to_end(&mut xml).map_err(|e| {
        FormError::Corrupt(format!("word/document.xml 解压失败 (inflate failed): {e}"))
    })?;
    if xml.len() as u64 > MAX_XML {
        return Err(FormError::Corrupt(format!(
            "word/document.xml 超过 {} MB (too large)",
            MAX_XML >> 20
        )));
    }
    Ok(xml)
}

/// An OLE compound file under a .docx name: an encrypted Office file, or a Word 97 .doc.
fn ole_error(bytes: &[u8]) -> FormError {
    let marker: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
        FormError::Encrypted
    } else {
        FormError::NeedsConversion("文件实为旧版 Word 97 .doc 格式 (OLE file named .docx)".into())
    }
}

/// Reads a .docx into the grid model.
pub fn read(bytes: &[u8]) -> Result<Grid, FormError> {
    let xml = document_xml(bytes)?;
    read_xml(&xml)
}

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    tables: Vec<Vec<Vec<RawCell>>>,
    paras: Vec<String>,
    in_run: usize,
    in_text: bool,
    in_tcpr: bool,
    skip: usize,
    /// Per open `w:sdt`: Some(state) once a `w14:checkbox` was seen in its properties.
    sdt: Vec<Option<bool>>,
    /// Depth inside checkbox content controls' content (their glyph is not text).
    in_cb_content: usize,
    /// Inside `w14:checkbox` (w14) or `w:checkBox` (legacy form field).
    checkbox: Option<bool>,
    legacy: bool,
    pending: Option<char>,
    /// The current run's symbol font (Wingdings, Wingdings 2, Symbol), if it has one:
    /// its letters are glyphs (`R` in Wingdings 2 is ☒), read as Word shows them.
    run_font: Option<String>,
}

fn attr(e: &BytesStart, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn truthy(v: Option<String>) -> bool {
    match v {
        None => true,
        Some(v) => matches!(v.as_str(), "1" | "true" | "on"),
    }
}

impl Walker {
    fn push_text(&mut self, s: &str) {
        let suppress = self.in_cb_content > 0;
        let Some(p) = self.paras.last_mut() else {
            return;
        };
        for c in s.chars() {
            if let Some(m) = self
                .run_font
                .as_deref()
                .and_then(|f| checkbox::symbol(f, c as u32))
            {
                if !suppress {
                    p.push(m);
                }
                continue;
            }
            let is_pua = ('\u{E000}'..='\u{F8FF}').contains(&c);
            if suppress
                && (is_pua
                    || checkbox::is_checked_mark(c)
                    || checkbox::is_unchecked_mark(c)
                    || c == '☐')
            {
                continue;
            }
            if is_pua {
                if let Some(m) = checkbox::symbol("Wingdings", c as u32) {
                    p.push(m);
                }
            } else {
                p.push(c);
            }
        }
    }

    fn mark(&mut self, checked: bool) {
        let m = if checked { CHECKED } else { UNCHECKED };
        match self.paras.last_mut() {
            Some(p) => p.push(m),
            None => self.pending = Some(m),
        }
    }

    fn start(&mut self, e: &BytesStart, empty: bool) -> Result<(), FormError> {
        let name = e.local_name();
        let name = name.as_ref();
        if name == b"Fallback" {
            if !empty {
                self.skip += 1;
            }
            return Ok(());
        }
        if self.skip > 0 {
            return Ok(());
        }
        match name {
            b"tbl" => {
                if self.tables.len() >= MAX_NESTING {
                    return Err(FormError::Corrupt(
                        "表格嵌套过深 (tables nested too deep)".into(),
                    ));
                }
                self.tables.push(Vec::new());
                if empty {
                    self.end(name);
                }
            }
            b"tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.push(Vec::new());
                }
            }
            b"tc" => {
                if let Some(r) = self.tables.last_mut().and_then(|t| t.last_mut()) {
                    r.push(RawCell {
                        span: 1,
                        ..Default::default()
                    });
                }
            }
            b"tcPr" => self.in_tcpr = !empty,
            b"gridSpan" if self.in_tcpr => {
                let span = attr(e, b"val")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(1);
                if let Some(c) = self.cell() {
                    c.span = span.clamp(1, 512);
                }
            }
            b"vMerge" if self.in_tcpr => {
                let v = if attr(e, b"val").as_deref() == Some("restart") {
                    VMerge::Restart
                } else {
                    VMerge::Continue
                };
                if let Some(c) = self.cell() {
                    c.vmerge = v;
                }
            }
            b"p" => {
                let mut p = String::new();
                if let Some(m) = self.pending.take() {
                    p.push(m);
                }
                self.paras.push(p);
                if empty {
                    self.end(name);
                }
            }
            b"r" if !empty => {
                self.in_run += 1;
                self.run_font = None;
            }
            b"rFonts" if self.in_run > 0 => {
                self.run_font = ["ascii", "hAnsi", "cs"]
                    .iter()
                    .find_map(|k| attr(e, k.as_bytes()))
                    .filter(|f| checkbox::is_symbol_font(f));
            }
            b"t" => self.in_text = !empty,
            b"tab" | b"ptab" if self.in_run > 0 => self.push_text("\t"),
            b"br" | b"cr" if self.in_run > 0 => {
                if let Some(p) = self.paras.last_mut() {
                    p.push('\n');
                }
            }
            b"sym" => {
                let font = attr(e, b"font").unwrap_or_default();
                let code = attr(e, b"char").and_then(|c| u32::from_str_radix(&c, 16).ok());
                if let Some(m) = code.and_then(|c| checkbox::symbol(&font, c)) {
                    if let Some(p) = self.paras.last_mut() {
                        p.push(m);
                    }
                }
            }
            b"sdt" if !empty => self.sdt.push(None),
            b"checkbox" | b"checkBox" => {
                self.legacy = name == b"checkBox";
                self.checkbox = Some(false);
                if empty {
                    self.end(name);
                }
            }
            b"default" if self.checkbox.is_some() => self.checkbox = Some(truthy(attr(e, b"val"))),
            b"checked" if self.checkbox.is_some() => self.checkbox = Some(truthy(attr(e, b"val"))),
            b"sdtContent" => {
                if let Some(Some(state)) = self.sdt.last().copied() {
                    self.mark(state);
                    if !empty {
                        self.in_cb_content += 1;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) {
        if name == b"Fallback" {
            self.skip = self.skip.saturating_sub(1);
            return;
        }
        if self.skip > 0 {
            return;
        }
        match name {
            b"tbl" => {
                if let Some(raw) = self.tables.pop() {
                    let table = build_table(raw);
                    if let Some(cell) = self.cell() {
                        // A table inside a cell: its text becomes the cell's paragraphs.
                        for c in table.rows.into_iter().flat_map(|r| r.cells) {
                            cell.paras.extend(c.paras);
                        }
                    } else {
                        self.blocks.push(Block::Table(table));
                    }
                }
            }
            b"tcPr" => self.in_tcpr = false,
            b"p" => {
                if let Some(p) = self.paras.pop() {
                    let top_level = self.tables.is_empty();
                    match self.cell() {
                        Some(c) => c.paras.push(p),
                        None if top_level => self.blocks.push(Block::Para(p)),
                        None => {}
                    }
                }
            }
            b"r" => {
                self.in_run = self.in_run.saturating_sub(1);
                self.run_font = None;
            }
            b"t" => self.in_text = false,
            b"sdt" => {
                self.sdt.pop();
            }
            b"sdtContent" => {
                if let Some(Some(_)) = self.sdt.last() {
                    self.in_cb_content = self.in_cb_content.saturating_sub(1);
                }
            }
            b"checkbox" | b"checkBox" => {
                let state = self.checkbox.take().unwrap_or(false);
                if self.legacy {
                    self.mark(state);
                } else if let Some(top) = self.sdt.last_mut() {
                    *top = Some(state);
                }
            }
            _ => {}
        }
    }

    fn cell(&mut self) -> Option<&mut RawCell> {
        self.tables.last_mut()?.last_mut()?.last_mut()
    }
}

/// Walks `word/document.xml`; malformed XML is an error, never a panic or a loop.
pub fn read_xml(xml: &[u8]) -> Result<Grid, FormError> {
    let mut reader = Reader::from_reader(xml);
    let mut w = Walker::default();
    let bad = |pos: u64, e: &dyn std::fmt::Display| {
        FormError::Corrupt(format!(
            "word/document.xml 格式错误 (malformed XML) at byte {pos}: {e}"
        ))
    };
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| bad(reader.error_position(), &e))?;
        match ev {
            Event::Start(e) => w.start(&e, false)?,
            Event::Empty(e) => w.start(&e, true)?,
            Event::End(e) => w.end(e.local_name().as_ref()),
            Event::Text(t) if w.in_text && w.skip == 0 => {
                let s = t.decode().map_err(|e| bad(reader.buffer_position(), &e))?;
                w.push_text(&s);
            }
            Event::CData(t) if w.in_text && w.skip == 0 => {
                let s = t.decode().map_err(|e| bad(reader.buffer_position(), &e))?;
                w.push_text(&s);
            }
            Event::GeneralRef(r) if w.in_text && w.skip == 0 => {
                let ch = r
                    .resolve_char_ref()
                    .map_err(|e| bad(reader.buffer_position(), &e))?;
                let name = r.decode().map_err(|e| bad(reader.buffer_position(), &e))?;
                match ch {
                    Some(c) => w.push_text(c.encode_utf8(&mut [0; 4])),
                    None => match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => w.push_text(s),
                        None => {
                            return Err(bad(
                                reader.buffer_position(),
                                &format!("unknown entity &{name};"),
                            ))
                        }
                    },
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !w.tables.is_empty() || !w.paras.is_empty() {
        return Err(FormError::Corrupt(
            "word/document.xml 不完整 (truncated document)".into(),
        ));
    }
    Ok(Grid { blocks: w.blocks })
}
