//! What calamine misses in an Excel binary workbook (.xlsb), read from the BIFF12
//! record streams: the workbook part's sheet records (name and relationship id), the
//! relationships (id → part), then each sheet part's
//! - merged regions: without them a form's value cell merged across three columns
//!   reads as a value followed by two empty cells, and the value is lost;
//! - "short" cell records (a cell right after the previous one, its column left out,
//!   as Excel and SheetJS write them), which calamine skips: they are rewritten as
//!   the ordinary cell records with the column put in, and calamine reads the
//!   re-laid package.
//!
//! Pure (bytes in); anything unreadable leaves the workbook as it was, never an error.

use crate::extract::ooxml;
use calamine::Dimensions;
use std::collections::HashMap;
use std::io::Cursor;

/// BrtBundleSh: one sheet of the workbook (state, tab id, relationship id, name).
const BUNDLE_SHEET: u32 = 0x9C;
/// BrtMergeCell: one merged region (first row, last row, first column, last column).
const MERGE_CELL: u32 = 0xB0;
/// Most merged regions taken from one sheet (a form has a few dozen).
const MAX_MERGES: usize = 10_000;

/// The workbook as calamine should read it (None: as it is) and the merged regions
/// by sheet name.
pub struct Prepared {
    pub relaid: Option<Vec<u8>>,
    pub merges: HashMap<String, Vec<Dimensions>>,
}

/// Reads the merged regions and re-lays sheets holding short cell records; each part
/// is read up to `cap` bytes, the re-laid package holds up to twice that.
pub fn prepare(bytes: &[u8], cap: u64) -> Prepared {
    let mut out = Prepared {
        relaid: None,
        merges: HashMap::new(),
    };
    let Some(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)).ok() else {
        return out;
    };
    let mut replace = Vec::new();
    for (name, part) in sheet_parts(&mut zip) {
        let Some(i) = ooxml::find_entry(&zip, &part) else {
            continue;
        };
        let Some(sheet) = ooxml::read_entry(&mut zip, i, cap) else {
            continue;
        };
        out.merges.insert(name, merge_records(&sheet));
        if let Some(long) = long_cells(&sheet) {
            replace.push((part, long));
        }
    }
    if !replace.is_empty() {
        out.relaid = ooxml::relay(bytes, cap.saturating_mul(2), &replace);
    }
    out
}

/// (sheet name, normalised part name) of each sheet of the workbook.
fn sheet_parts(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Vec<(String, String)> {
    let Some(main) = ooxml::main_part_of(zip).map(|m| ooxml::normalize(&m.entry)) else {
        return Vec::new();
    };
    let (dir, file) = main.rsplit_once('/').unwrap_or(("", main.as_str()));
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let read = |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, part: &str| {
        let i = ooxml::find_entry(zip, part)?;
        ooxml::read_entry(zip, i, 16 << 20)
    };
    let (Some(rels), Some(wb)) = (read(zip, &rels_name), read(zip, &main)) else {
        return Vec::new();
    };
    let targets: HashMap<String, String> = ooxml::relationship_targets(&rels).into_iter().collect();
    sheets(&wb)
        .into_iter()
        .filter_map(|(name, rel)| {
            let target = targets.get(&rel)?;
            let part = match target.strip_prefix('/') {
                Some(abs) => ooxml::normalize(abs),
                None if dir.is_empty() => ooxml::normalize(target),
                None => ooxml::normalize(&format!("{dir}/{target}")),
            };
            Some((name, part))
        })
        .collect()
}

/// BrtRowHdr: a row starts (its cells' columns count afresh).
const ROW_HEADER: u32 = 0x00;
/// Ordinary cell records (blank, RK, error, bool, real, string, shared string): the
/// column is their first field.
const CELLS: std::ops::RangeInclusive<u32> = 0x01..=0x07;
/// The short forms of the same records, in the same order, without the column.
const SHORT_CELLS: std::ops::RangeInclusive<u32> = 0x0C..=0x12;

/// The sheet stream with every short cell record written as its ordinary record, the
/// column put in (the previous cell's plus one); None when there is none.
fn long_cells(sheet: &[u8]) -> Option<Vec<u8>> {
    if !records(sheet).any(|(ty, _)| SHORT_CELLS.contains(&ty)) {
        return None;
    }
    let mut out = Vec::with_capacity(sheet.len() + sheet.len() / 4);
    let mut col: Option<u32> = None;
    for (ty, body) in records(sheet) {
        if ty == ROW_HEADER {
            col = None;
        } else if CELLS.contains(&ty) {
            col = u32_at(body, 0);
        } else if SHORT_CELLS.contains(&ty) {
            let c = col.map_or(0, |c| c.saturating_add(1));
            col = Some(c);
            let mut long = c.to_le_bytes().to_vec();
            long.extend_from_slice(body);
            write_record(&mut out, ty - (SHORT_CELLS.start() - CELLS.start()), &long);
            continue;
        }
        write_record(&mut out, ty, body);
    }
    Some(out)
}

/// Appends one record: its type and size as 7-bit groups, then its body.
fn write_record(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
    let mut put = |mut v: usize, max: usize| {
        for _ in 0..max {
            let b = (v & 0x7F) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    };
    put(ty as usize, 2);
    put(body.len(), 4);
    out.extend_from_slice(body);
}

/// The records of a BIFF12 stream as (type, body); stops at the first malformed one.
fn records(b: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        // Type: up to two bytes of 7 bits; size: up to four bytes of 7 bits.
        let mut ty = 0u32;
        for i in 0..2 {
            let x = *b.get(at)?;
            at += 1;
            ty |= u32::from(x & 0x7F) << (7 * i);
            if x & 0x80 == 0 {
                break;
            }
        }
        let mut size = 0usize;
        for i in 0..4 {
            let x = *b.get(at)?;
            at += 1;
            size |= usize::from(x & 0x7F) << (7 * i);
            if x & 0x80 == 0 {
                break;
            }
        }
        let body = b.get(at..at.checked_add(size)?)?;
        at += size;
        Some((ty, body))
    })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A wide string (u32 character count, UTF-16LE) at `at`, and where it ends.
fn wide_at(b: &[u8], at: usize) -> Option<(String, usize)> {
    let n = u32_at(b, at)?;
    if n == u32::MAX {
        return Some((String::new(), at + 4)); // the nullable string's null
    }
    let end = (at + 4).checked_add(usize::try_from(n).ok()?.checked_mul(2)?)?;
    let units: Vec<u16> = b
        .get(at + 4..end)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Some((String::from_utf16_lossy(&units), end))
}

/// (sheet name, relationship id) of each sheet record of the workbook part.
fn sheets(wb: &[u8]) -> Vec<(String, String)> {
    records(wb)
        .filter(|(ty, _)| *ty == BUNDLE_SHEET)
        .filter_map(|(_, body)| {
            let (rel, end) = wide_at(body, 8)?;
            let (name, _) = wide_at(body, end)?;
            Some((name, rel))
        })
        .collect()
}

/// The merged regions of a sheet part.
fn merge_records(sheet: &[u8]) -> Vec<Dimensions> {
    records(sheet)
        .filter(|(ty, _)| *ty == MERGE_CELL)
        .filter_map(|(_, body)| {
            let (r0, r1) = (u32_at(body, 0)?, u32_at(body, 4)?);
            let (c0, c1) = (u32_at(body, 8)?, u32_at(body, 12)?);
            (r0 <= r1 && c0 <= c1).then(|| Dimensions::new((r0, c0), (r1, c1)))
        })
        .take(MAX_MERGES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ty: u32, body: &[u8]) -> Vec<u8> {
        let mut v = if ty < 0x80 {
            vec![ty as u8]
        } else {
            vec![(ty & 0x7F) as u8 | 0x80, (ty >> 7) as u8]
        };
        assert!(body.len() < 0x80);
        v.push(body.len() as u8);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn merge_records_are_read_and_bad_ones_skipped() {
        let mut body = Vec::new();
        for x in [1u32, 1, 1, 3] {
            body.extend_from_slice(&x.to_le_bytes());
        }
        let mut s = rec(0x94, &[0; 16]); // a dimension record, ignored
        s.extend(rec(MERGE_CELL, &body));
        s.extend(rec(MERGE_CELL, &[1, 2, 3])); // too short: skipped
        s.extend([0x80]); // truncated record: the stream ends
        let m = merge_records(&s);
        assert_eq!(m, vec![Dimensions::new((1, 1), (1, 3))]);
    }

    #[test]
    fn short_cells_get_their_column() {
        let mut row = vec![0u8; 4]; // row 0
        row.extend_from_slice(&[0; 8]);
        let mut s = rec(ROW_HEADER, &row);
        let mut first = 0u32.to_le_bytes().to_vec(); // column 0
        first.extend_from_slice(&[0; 4]); // style
        first.extend_from_slice(&1u32.to_le_bytes());
        first.extend_from_slice(&[0x41, 0]); // "A"
        s.extend(rec(0x06, &first));
        let mut short = vec![0u8; 4]; // style
        short.extend_from_slice(&1u32.to_le_bytes());
        short.extend_from_slice(&[0x42, 0]); // "B"
        s.extend(rec(0x11, &short));
        let long = long_cells(&s).unwrap();
        let recs: Vec<(u32, Vec<u8>)> = records(&long).map(|(t, b)| (t, b.to_vec())).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].0, 0x06);
        assert_eq!(u32_at(&recs[2].1, 0), Some(1));
        assert_eq!(&recs[2].1[4..], &short[..]);
        assert!(long_cells(&long).is_none());
        // A record of 200 bytes: its size takes two bytes and reads back.
        let mut out = Vec::new();
        write_record(&mut out, 0xB0, &[7; 200]);
        assert_eq!(
            records(&out).next().map(|(t, b)| (t, b.len())),
            Some((0xB0, 200))
        );
    }

    #[test]
    fn sheet_records_give_name_and_relationship() {
        let mut body = vec![0u8; 8];
        for s in ["rId1", "表"] {
            let u: Vec<u16> = s.encode_utf16().collect();
            body.extend_from_slice(&(u.len() as u32).to_le_bytes());
            for x in u {
                body.extend_from_slice(&x.to_le_bytes());
            }
        }
        let wb = rec(BUNDLE_SHEET, &body);
        assert_eq!(sheets(&wb), vec![("表".to_string(), "rId1".to_string())]);
    }

    /// The fixture written by SheetJS: its sheet has merges and short cells; byte
    /// mutations of its record streams never panic our reading.
    #[test]
    fn sheetjs_fixture_and_its_mutations() {
        let b = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/forms/resource_sheetjs.xlsb"
        ))
        .unwrap();
        let p = prepare(&b, 1 << 26);
        assert!(p.relaid.is_some(), "short cells re-laid");
        let m = &p.merges["科普资源申报推荐表"];
        assert_eq!(m.len(), 7);
        assert!(m.contains(&Dimensions::new((1, 1), (1, 3))));
        let mut zip = zip::ZipArchive::new(Cursor::new(&b[..])).unwrap();
        let mut part = |n: &str| {
            let i = ooxml::find_entry(&zip, n).unwrap();
            ooxml::read_entry(&mut zip, i, 1 << 20).unwrap()
        };
        let (sheet, wb) = (part("xl/worksheets/sheet1.bin"), part("xl/workbook.bin"));
        let mut seed = 7u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            for src in [&sheet, &wb] {
                let mut x = src.clone();
                for _ in 0..(1 + rnd() % 6) {
                    let i = (rnd() as usize) % x.len();
                    x[i] = rnd() as u8;
                }
                let _ = merge_records(&x);
                let _ = sheets(&x);
                if let Some(long) = long_cells(&x) {
                    // At most 4 bytes (the column) and 2 of size more per 2-byte record.
                    assert!(long.len() <= x.len() * 3 + 16);
                }
            }
        }
    }
}
