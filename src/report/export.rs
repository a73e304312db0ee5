//! The office's summary sheets: an .xlsx workbook (one sheet per form, a summary and
//! the mail log) and the same rows as UTF-8 CSV files. The Chinese labels ([`labels`])
//! and the rows ([`rows`]) live in submodules and are re-exported here.

pub mod labels;
pub mod rows;

pub use labels::*;
pub use rows::*;

use crate::error::Error;
use crate::model::FormKey;
use crate::report::dump::Dump;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthStr;

/// Display width of a cell as a spreadsheet column needs it: the widest line, CJK
/// characters counting two.
pub fn text_width(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// Excel's cell limit, in UTF-16 units.
const EXCEL_MAX_CELL: usize = 32_767;
const CUT_MARK: &str = "…（超长，已截断）";

/// `s` cut to fit one Excel cell; an applicant's oversized text must not make the
/// whole export fail.
pub fn excel_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.encode_utf16().count() <= EXCEL_MAX_CELL {
        return std::borrow::Cow::Borrowed(s);
    }
    let budget = EXCEL_MAX_CELL - CUT_MARK.encode_utf16().count();
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push_str(CUT_MARK);
    std::borrow::Cow::Owned(out)
}

fn xlsx_err(path: &Path, e: XlsxError) -> Error {
    Error::Other(format!("写入 Excel 文件失败 {}: {e}", path.display()))
}

/// Writes a header plus rows as a filtered table with a frozen, bold header and column
/// widths that fit the text (capped so long narratives wrap instead).
fn write_sheet(
    ws: &mut Worksheet,
    header: &[String],
    rows: &[Vec<String>],
    numeric_first: bool,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v.parse::<i64>() {
                Ok(n) if c == 0 && numeric_first => {
                    ws.write_number(r, c, n as f64)?;
                }
                _ if v.contains('\n') => {
                    ws.write_string_with_format(r, c, excel_text(v), &wrap)?;
                }
                _ => {
                    ws.write_string(r, c, excel_text(v))?;
                }
            }
        }
    }
    set_widths(ws, header, rows)?;
    if !header.is_empty() {
        ws.set_freeze_panes(1, 0)?;
        ws.autofilter(0, 0, rows.len() as u32, (header.len() - 1) as u16)?;
    }
    Ok(())
}

fn set_widths(
    ws: &mut Worksheet,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(), XlsxError> {
    let ncols = rows
        .iter()
        .map(Vec::len)
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    for c in 0..ncols {
        let widest = header
            .get(c)
            .into_iter()
            .chain(rows.iter().filter_map(|r| r.get(c)))
            .map(|s| text_width(s))
            .max()
            .unwrap_or(0);
        // +2 leaves room for the autofilter arrow in the header.
        let width = (widest + 2).clamp(6, 60);
        ws.set_column_width(c as u16, width as f64)?;
    }
    Ok(())
}

/// The office workbook: 汇总, one sheet per form, 邮件.
fn build_workbook(dump: &Dump) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("汇总")?;
        let rows = summary_table(dump);
        let (head, body) = rows
            .split_first()
            .map(|(h, b)| (h.clone(), b.to_vec()))
            .unwrap_or_default();
        let bold = Format::new().set_bold();
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in body.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = ((r + 1) as u32, c as u16);
                match v.parse::<f64>() {
                    Ok(n) if c > 0 => ws.write_number(r, c, n)?,
                    _ => ws.write_string(r, c, excel_text(v))?,
                };
            }
        }
        set_widths(ws, &head, &body)?;
        ws.set_freeze_panes(1, 0)?;
    }
    for form in FormKey::all() {
        let (header, rows) = form_table(dump, form);
        let ws = wb.add_worksheet();
        ws.set_name(form_short_zh(form))?;
        write_sheet(ws, &header, &rows, true)?;
    }
    {
        let (header, rows) = messages_table(dump);
        let ws = wb.add_worksheet();
        ws.set_name("邮件")?;
        write_sheet(ws, &header, &rows, true)?;
    }
    Ok(wb)
}

/// Writes the office workbook to `path`.
pub fn write_xlsx(dump: &Dump, path: &Path) -> Result<(), Error> {
    build_workbook(dump)
        .and_then(|mut wb| wb.save(path))
        .map_err(|e| xlsx_err(path, e))
}

/// The office workbook as bytes (the web page's download).
pub fn xlsx_bytes(dump: &Dump) -> Result<Vec<u8>, Error> {
    build_workbook(dump)
        .and_then(|mut wb| wb.save_to_buffer())
        .map_err(|e| {
            Error::Other(format!(
                "生成 Excel 文件失败 / building the workbook failed: {e}"
            ))
        })
}

/// One CSV field, quoted per RFC 4180 when it holds a separator, quote or line break.
/// A leading `= + - @` (a formula to Excel), tab or carriage return (which spreadsheets
/// skip before reading a formula) is defused with an apostrophe, since the text comes
/// from applicants. A lone `-` stays: it is the sheets' "nothing".
pub fn csv_field(v: &str) -> String {
    let mut v = std::borrow::Cow::Borrowed(v);
    let formula = v.len() > 1 && v.starts_with(['=', '+', '-', '@']);
    if formula || v.starts_with(['\t', '\r']) {
        v = std::borrow::Cow::Owned(format!("'{v}"));
    }
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.into_owned()
    }
}

/// A whole CSV document: UTF-8 with a byte-order mark (so Excel reads Chinese), CRLF
/// line ends.
pub fn csv_text(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("\u{feff}");
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let line: Vec<String> = row.iter().map(|v| csv_field(v)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Writes `<表名>.csv` for each form and `邮件.csv` into `dir` (created when missing);
/// returns the files written.
pub fn write_csv(dump: &Dump, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tables: Vec<(String, Table)> = FormKey::all()
        .iter()
        .map(|f| (form_short_zh(*f).to_string(), form_table(dump, *f)))
        .collect();
    tables.push(("邮件".into(), messages_table(dump)));
    let mut written = Vec::new();
    for (name, (header, rows)) in tables {
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, csv_text(&header, &rows)).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_follows_rfc4180() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("他说\"好\""), "\"他说\"\"好\"\"\"");
        assert_eq!(csv_field("一\n二"), "\"一\n二\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-"), "-");
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=cmd"), "\"'\r=cmd\"");
        assert_eq!(csv_field("\t"), "'\t");
        assert_eq!(csv_field("唐山"), "唐山");
    }

    #[test]
    fn oversized_cells_are_cut_to_excels_limit() {
        let long = "𠀀字".repeat(20_000); // astral characters take two UTF-16 units
        let cut = excel_text(&long);
        assert!(cut.ends_with(CUT_MARK));
        assert!(cut.encode_utf16().count() <= EXCEL_MAX_CELL);
        assert!(cut.encode_utf16().count() > EXCEL_MAX_CELL - 20);
        assert_eq!(excel_text("短"), "短");
    }

    #[test]
    fn cjk_counts_double() {
        assert_eq!(text_width("唐山ab"), 6);
        assert_eq!(text_width("短\n长一些"), 6);
    }
}
