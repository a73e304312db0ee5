//! Reads forms re-typed in a spreadsheet (.xlsx/.xlsm, .xlsb, .ods, .xls, via
//! calamine) into a [`Grid`]: each worksheet is one table (macro sheets and VBA are
//! skipped, never run); a merged region is one cell spanning its columns (only its
//! top-left holds the value), the cells it covers are dropped. A sheet is laid out
//! from the cells it uses, never from the dimensions it declares.

use super::grid::{Block, Cell, Grid, Row, Table};
use super::FormError;
use calamine::{Data, Dimensions, Range, Reader};
use std::io::Cursor;

/// Reads a workbook; `format` is `xlsx` (also `xlsm`), `xlsb`, `ods` or `xls`.
///
/// calamine 0.38 panics on some truncated compound files (a slice index in `cfb.rs`,
/// and an `assert_eq!` in `utils.rs`, found by the `sheet` fuzz target;
/// `fixtures/forms/corrupt/`): the panic becomes
/// `Corrupt` here, so the parser worker answers it and keeps serving. What a panic
/// cannot cover — a workbook that makes calamine allocate without bound — is the
/// worker's memory cap's job.
pub fn read(format: &str, bytes: &[u8]) -> Result<Grid, FormError> {
    std::panic::catch_unwind(|| read_unguarded(format, bytes)).unwrap_or_else(|_| {
        Err(FormError::Corrupt(format!(
            "{format} 工作簿无法读取 (unreadable workbook): the spreadsheet reader failed on it"
        )))
    })
}

/// Most cells a sheet's used box may hold before empty cells are left out (only the
/// cells that carry something are then laid out): a valid workbook may have a cell at
/// each far corner, and a box of 17 billion empty cells must not be built.
const MAX_BOX_CELLS: u64 = 1 << 20;

/// One sheet as read: the cells that hold something, and the merged regions.
#[derive(Default)]
struct Sparse {
    cells: Vec<((u32, u32), Data)>,
    merges: Vec<Dimensions>,
}

/// Sheets that hold cells a person typed: macro, dialog and chart sheets and VBA
/// modules are skipped (never run, never read).
fn worksheets(meta: &[calamine::Sheet]) -> Vec<String> {
    meta.iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect()
}

fn read_unguarded(format: &str, bytes: &[u8]) -> Result<Grid, FormError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        FormError::Corrupt(format!(
            "{format} 工作簿无法读取 (unreadable workbook): {e}"
        ))
    };
    let mut sheets: Vec<Sparse> = Vec::new();
    match format {
        "xlsx" | "xlsm" => {
            // calamine finds parts by their usual names: a package written with
            // backslash entry names is re-laid with clean names first.
            // A macro-enabled workbook's Excel 4 macro sheets are taken out first
            // (calamine refuses the whole workbook because of them).
            use crate::extract::ooxml;
            let cap = super::docx::MAX_XML * 4;
            let relaid = match ooxml::without_macro_sheets(bytes, cap) {
                Some(b) => Some(b),
                None if ooxml::has_odd_names(bytes) => Some(
                    ooxml::relay_names(bytes, cap)
                        .ok_or_else(|| corrupt(&"zip entries unreadable"))?,
                ),
                None => None,
            };
            let bytes = relaid.as_deref().unwrap_or(bytes);
            let mut wb: calamine::Xlsx<_> =
                calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in worksheets(wb.sheets_metadata()) {
                let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
                let mut cells = Vec::new();
                let mut rd = wb.worksheet_cells_reader(&name).map_err(|e| corrupt(&e))?;
                while let Some(c) = rd.next_cell().map_err(|e| corrupt(&e))? {
                    // Empty (styled) cells kept: they are the blank value cells.
                    cells.push((c.get_position(), Data::from(c.get_value().clone())));
                }
                sheets.push(Sparse { cells, merges });
            }
        }
        "xlsb" => {
            // calamine gives no merged regions for .xlsb and skips short cell
            // records: both from the records first.
            let super::xlsb::Prepared {
                relaid,
                merges: mut merged,
            } = super::xlsb::prepare(bytes, super::docx::MAX_XML * 4);
            let bytes = relaid.as_deref().unwrap_or(bytes);
            let mut wb: calamine::Xlsb<_> =
                calamine::Xlsb::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in worksheets(wb.sheets_metadata()) {
                let mut cells = Vec::new();
                let mut rd = wb.worksheet_cells_reader(&name).map_err(|e| corrupt(&e))?;
                while let Some(c) = rd.next_cell().map_err(|e| corrupt(&e))? {
                    // Empty (styled) cells kept: they are the blank value cells.
                    cells.push((c.get_position(), Data::from(c.get_value().clone())));
                }
                let merges = merged.remove(&name).unwrap_or_default();
                sheets.push(Sparse { cells, merges });
            }
        }
        "ods" => {
            let mut wb: calamine::Ods<_> =
                calamine::Ods::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in worksheets(wb.sheets_metadata()) {
                let range = wb.worksheet_range(&name).map_err(|e| corrupt(&e))?;
                sheets.push(from_range(&range, Vec::new()));
            }
        }
        "xls" => {
            let mut wb: calamine::Xls<_> =
                calamine::Xls::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in worksheets(wb.sheets_metadata()) {
                let range = wb.worksheet_range(&name).map_err(|e| corrupt(&e))?;
                let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
                sheets.push(from_range(&range, merges));
            }
        }
        other => return Err(FormError::Unsupported(other.to_string())),
    }
    let blocks = sheets.into_iter().map(|s| Block::Table(table(s))).collect();
    Ok(Grid { blocks })
}

fn from_range(range: &Range<Data>, merges: Vec<Dimensions>) -> Sparse {
    Sparse {
        cells: range
            .used_cells()
            .filter(|(_, _, v)| **v != Data::Empty)
            .map(|(r, c, v)| {
                let (r0, c0) = range.start().unwrap_or((0, 0));
                ((r0 + r as u32, c0 + c as u32), v.clone())
            })
            .collect(),
        merges,
    }
}

/// Lays out the used box of a sheet: every cell from the first to the last used row
/// and column (empty value cells matter: a label beside an empty cell is a field left
/// blank), or, when that box is too large, only the used cells row by row.
fn table(sheet: Sparse) -> Table {
    let Sparse { mut cells, merges } = sheet;
    if cells.is_empty() {
        return Table::default();
    }
    cells.sort_by_key(|(p, _)| *p);
    let (rmin, rmax) = (cells[0].0 .0, cells[cells.len() - 1].0 .0);
    let cmin = cells.iter().map(|(p, _)| p.1).min().unwrap_or(0);
    let cmax = cells.iter().map(|(p, _)| p.1).max().unwrap_or(0);
    let area = u64::from(rmax - rmin + 1) * u64::from(cmax - cmin + 1);
    let dense = area <= MAX_BOX_CELLS;
    let covered = |r: u32, c: u32| {
        merges.iter().any(|m| {
            m.start.0 <= r && r <= m.end.0 && m.start.1 <= c && c <= m.end.1 && (r, c) != m.start
        })
    };
    let cell = |r: u32, c: u32, text: String| Cell {
        col: c as usize,
        span: merges
            .iter()
            .find(|m| m.start == (r, c))
            .map_or(1, |m| (m.end.1 - m.start.1 + 1) as usize),
        paras: text
            .split('\n')
            .map(|s| s.trim_end_matches('\r').to_string())
            .collect(),
    };
    let mut rows = Vec::new();
    let mut it = cells.into_iter().peekable();
    if dense {
        for r in rmin..=rmax {
            let mut out = Row::default();
            for c in cmin..=cmax {
                let text = match it.peek() {
                    Some((p, _)) if *p == (r, c) => it.next().map(|(_, v)| cell_text(&v)),
                    _ => None,
                };
                if covered(r, c) {
                    continue;
                }
                out.cells.push(cell(r, c, text.unwrap_or_default()));
            }
            rows.push(out);
        }
    } else {
        while let Some(((r, c), v)) = it.next() {
            let mut out = Row::default();
            out.cells.push(cell(r, c, cell_text(&v)));
            while let Some(((r2, c2), v2)) = it.next_if(|(p, _)| p.0 == r) {
                if !covered(r2, c2) {
                    out.cells.push(cell(r2, c2, cell_text(&v2)));
                }
            }
            rows.push(out);
        }
    }
    Table { rows }
}

fn cell_text(v: &Data) -> String {
    match v {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        // Phone numbers and postcodes typed as numbers: no `.0`, no exponent.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}
