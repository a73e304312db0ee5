//! Reads forms re-typed in Excel (.xlsx / .xls, via calamine) into a [`Grid`]: each
//! sheet is one table; a merged region is one cell spanning its columns (only its
//! top-left holds the value), the cells it covers are dropped.

use super::grid::{Block, Cell, Grid, Row, Table};
use super::FormError;
use calamine::{Data, Dimensions, Range, Reader};
use std::io::Cursor;

/// Reads a workbook; `format` is `xlsx` or `xls`.
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

fn read_unguarded(format: &str, bytes: &[u8]) -> Result<Grid, FormError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        FormError::Corrupt(format!(
            "{format} 工作簿无法读取 (unreadable workbook): {e}"
        ))
    };
    let mut sheets: Vec<(Range<Data>, Vec<Dimensions>)> = Vec::new();
    match format {
        "xlsx" => {
            let mut wb: calamine::Xlsx<_> =
                calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in wb.sheet_names() {
                let range = wb.worksheet_range(&name).map_err(|e| corrupt(&e))?;
                let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
                sheets.push((range, merges));
            }
        }
        "xls" => {
            let mut wb: calamine::Xls<_> =
                calamine::Xls::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
            for name in wb.sheet_names() {
                let range = wb.worksheet_range(&name).map_err(|e| corrupt(&e))?;
                let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
                sheets.push((range, merges));
            }
        }
        other => return Err(FormError::Unsupported(other.to_string())),
    }
    let blocks = sheets
        .into_iter()
        .map(|(range, merges)| Block::Table(table(&range, &merges)))
        .collect();
    Ok(Grid { blocks })
}

fn table(range: &Range<Data>, merges: &[Dimensions]) -> Table {
    let Some((r0, c0)) = range.start() else {
        return Table::default();
    };
    let covered = |r: u32, c: u32| {
        merges.iter().any(|m| {
            m.start.0 <= r && r <= m.end.0 && m.start.1 <= c && c <= m.end.1 && (r, c) != m.start
        })
    };
    let mut rows = Vec::new();
    for (ri, row) in range.rows().enumerate() {
        let r = r0 + ri as u32;
        let mut out = Row::default();
        for (ci, value) in row.iter().enumerate() {
            let c = c0 + ci as u32;
            if covered(r, c) {
                continue;
            }
            let span = merges
                .iter()
                .find(|m| m.start == (r, c))
                .map_or(1, |m| (m.end.1 - m.start.1 + 1) as usize);
            let text = cell_text(value);
            out.cells.push(Cell {
                col: c as usize,
                span,
                paras: text
                    .split('\n')
                    .map(|s| s.trim_end_matches('\r').to_string())
                    .collect(),
            });
        }
        rows.push(out);
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
