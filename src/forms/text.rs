//! Plain text of a form (a Word-printed PDF through `pdftotext -layout`) turned into a
//! [`Grid`]: each line is a row, cells are separated by runs of two or more spaces or
//! a tab, a cell's column is its character offset. Checkbox marks anywhere in the text
//! are read separately by [`choice_lines`] because a PDF line of options rarely sits
//! in the same "cell" as its label.

use super::grid::{Block, Cell, Grid, Row, Table};

pub fn grid(text: &str) -> Grid {
    let mut rows = Vec::new();
    for line in text.lines() {
        let line = line.replace('\u{c}', "");
        let cells = split_cells(&line);
        if cells.is_empty() {
            continue;
        }
        rows.push(Row { cells });
    }
    Grid {
        blocks: vec![Block::Table(Table { rows })],
    }
}

fn split_cells(line: &str) -> Vec<Cell> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        let mut end = i;
        while i < chars.len() {
            if chars[i] == '\t' {
                break;
            }
            if chars[i].is_whitespace() {
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if j - i >= 2 || j >= chars.len() {
                    break;
                }
            }
            i += 1;
            end = i;
        }
        let s: String = chars[start..end].iter().collect();
        cells.push(Cell {
            col: start,
            span: (end - start).max(1),
            paras: vec![s],
        });
    }
    cells
}

/// Undoes `pdftotext`'s spacing between CJK and Latin/digits (`2022 年 7 月` →
/// `2022年7月`): one space between a CJK character and an ASCII letter or digit is an
/// artefact of the PDF's autospacing, not something the applicant typed.
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' && i > 0 && i + 1 < chars.len() {
            let (a, b) = (chars[i - 1], chars[i + 1]);
            let latin = |x: char| x.is_ascii_alphanumeric() || x == '%' || x == '.';
            if (is_cjk(a) && latin(b)) || (latin(a) && is_cjk(b)) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || ('\u{3000}'..='\u{303F}').contains(&c)
        || ('\u{FF00}'..='\u{FFEF}').contains(&c)
}

const SENTENCE_END: [char; 9] = ['。', '！', '？', '；', '：', '.', '!', '?', ';'];

/// Lines that continue the cell above (a wrapped value: indented, no label in it) are
/// folded into the last cell of the row before as further paragraphs.
pub fn merge_continuations(g: Grid, is_label: impl Fn(&str) -> bool) -> Grid {
    let mut rows: Vec<Row> = Vec::new();
    for block in g.blocks {
        let Block::Table(t) = block else { continue };
        for mut row in t.rows {
            // The wrapped tail of a label or of its instruction (`页）`, `方式`) at the
            // left edge: not a cell of its own.
            let fragment = row.cells.first().is_some_and(|c| {
                let t: String = c.text().chars().filter(|c| !c.is_whitespace()).collect();
                c.col < 4 && !is_label(&t) && t.chars().count() <= 6 && row.cells.len() > 1
            });
            if fragment {
                row.cells.remove(0);
            }
            let indented = fragment || row.cells.first().is_some_and(|c| c.col >= 4);
            let labelled = row.cells.iter().any(|c| is_label(&c.text()));
            match rows.last_mut().and_then(|r| r.cells.last_mut()) {
                Some(prev) if indented && !labelled => {
                    for p in row.cells.into_iter().flat_map(|c| c.paras) {
                        // A line ending without 。！？；： was wrapped by the layout,
                        // not ended by the applicant.
                        match prev.paras.last_mut() {
                            Some(last) if !last.trim_end().ends_with(SENTENCE_END) => {
                                last.push_str(p.trim())
                            }
                            _ => prev.paras.push(p),
                        }
                    }
                }
                _ => rows.push(row),
            }
        }
    }
    Grid {
        blocks: vec![Block::Table(Table { rows })],
    }
}

/// Rejoins labels that Word centred vertically in a taller cell and pdftotext printed
/// in page order: `推荐单位` / `意见` come out as separate lines at the left edge, with
/// the value's lines above, between and below them. A run of such fragments that
/// together make exactly one label (`exact_label`) becomes one row: the label, then
/// one cell with the value lines between the fragments, those below up to the next
/// left-edge line, and as many of those just above as there are below (a centred
/// label has as much of its cell above it as below), unless the next such label
/// claims them as its own lines above.
pub fn join_split_labels(g: Grid, exact_label: impl Fn(&str) -> bool) -> Grid {
    let rows: Vec<Row> = g
        .blocks
        .into_iter()
        .flat_map(|b| match b {
            Block::Table(t) => t.rows,
            Block::Para(_) => Vec::new(),
        })
        .collect();
    let left = |r: &Row| -> Option<String> {
        let c = r.cells.first().filter(|c| c.col < 4)?;
        Some(c.text().chars().filter(|c| !c.is_whitespace()).collect())
    };
    // (first row, last row) of each split label and the label itself.
    let mut groups: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let Some(first) = left(&rows[i]) else {
            i += 1;
            continue;
        };
        let (mut concat, mut best, mut gap) = (first, None, 0);
        let mut j = i + 1;
        while j < rows.len() && gap <= 3 {
            match left(&rows[j]) {
                None => gap += 1,
                // Only a line holding nothing but a short fragment continues a label.
                Some(t) if rows[j].cells.len() == 1 && t.chars().count() <= 6 => {
                    concat.push_str(&t);
                    gap = 0;
                    if exact_label(&concat) {
                        best = Some((j, concat.clone()));
                    }
                }
                Some(_) => break,
            }
            j += 1;
        }
        match best {
            Some((end, label)) => {
                groups.push((i, end, label));
                i = end + 1;
            }
            None => i += 1,
        }
    }
    if groups.is_empty() {
        return Grid {
            blocks: vec![Block::Table(Table { rows })],
        };
    }
    let value_only = |r: usize| left(&rows[r]).is_none();
    // Value lines just below and just above each group.
    let below: Vec<Vec<usize>> = groups
        .iter()
        .map(|&(_, end, _)| {
            ((end + 1)..rows.len())
                .take_while(|&r| value_only(r))
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; rows.len()];
    for (k, &(start, end, _)) in groups.iter().enumerate() {
        let above: Vec<usize> = (0..start).rev().take_while(|&r| value_only(r)).collect();
        for &r in above.iter().take(below[k].len()) {
            owner[r] = Some(k);
        }
        for o in &mut owner[start..=end] {
            *o = Some(k);
        }
    }
    for (k, b) in below.iter().enumerate() {
        for &r in b {
            owner[r].get_or_insert(k);
        }
    }
    let mut out: Vec<Row> = Vec::new();
    let mut emitted = vec![false; groups.len()];
    for (r, row) in rows.iter().enumerate() {
        let Some(k) = owner[r] else {
            out.push(row.clone());
            continue;
        };
        if std::mem::replace(&mut emitted[k], true) {
            continue;
        }
        let (start, end, label) = &groups[k];
        let mut lines: Vec<String> = Vec::new();
        let mut col = None;
        for (rr, row) in rows
            .iter()
            .enumerate()
            .filter(|(rr, _)| owner[*rr] == Some(k))
        {
            let skip = usize::from((*start..=*end).contains(&rr) && left(row).is_some());
            let cells = &row.cells[skip.min(row.cells.len())..];
            let Some(c) = cells.first() else { continue };
            col.get_or_insert(c.col);
            let line = cells.iter().map(Cell::text).collect::<Vec<_>>().join(" ");
            match lines.last_mut() {
                // A long line without a sentence end was wrapped by the layout.
                Some(last)
                    if last.chars().count() >= 10 && !last.trim_end().ends_with(SENTENCE_END) =>
                {
                    last.push_str(line.trim())
                }
                _ => lines.push(line),
            }
        }
        let mut cells = vec![Cell {
            col: 0,
            span: label.chars().count().max(1),
            paras: vec![label.clone()],
        }];
        if let Some(col) = col {
            cells.push(Cell {
                col,
                span: 1,
                paras: lines,
            });
        }
        out.push(Row { cells });
    }
    Grid {
        blocks: vec![Block::Table(Table { rows: out })],
    }
}

/// The lines that hold checkbox marks (for reading a checkbox field from a PDF).
pub fn choice_lines(text: &str) -> String {
    text.lines()
        .filter(|l| {
            super::checkbox::normalize_pua(l).chars().any(|c| {
                super::checkbox::is_checked_mark(c) || super::checkbox::is_unchecked_mark(c)
            })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(g: &Grid) -> Vec<Vec<String>> {
        let Block::Table(t) = &g.blocks[0] else {
            panic!("not a table")
        };
        t.rows
            .iter()
            .map(|r| r.cells.iter().map(Cell::text).collect())
            .collect()
    }

    #[test]
    fn centred_split_labels_get_their_lines_back_in_order() {
        // As pdftotext prints two tall cells whose labels Word centred vertically; the
        // line 同意推荐。 sits between them and belongs to the lower one (one line
        // above its label, one below).
        let text = "姓名    张伟\n\
                    简历说明     第一行很长很长很长很长很长很长的\n\
                    内容\n\
                    \u{20}            接着写完。\n\
                    \u{20}            同意推荐。\n\
                    推荐单位\n\
                    \u{20}            盖   章\n\
                    意见\n\
                    \u{20}            年   月   日\n\
                    邮编    063210\n";
        let exact = |t: &str| matches!(t, "姓名" | "简历说明内容" | "推荐单位意见" | "邮编");
        let g = join_split_labels(grid(text), exact);
        assert_eq!(
            rows(&g),
            vec![
                vec!["姓名".to_string(), "张伟".into()],
                vec![
                    "简历说明内容".into(),
                    "第一行很长很长很长很长很长很长的接着写完。".into()
                ],
                vec!["推荐单位意见".into(), "同意推荐。\n盖 章\n年 月 日".into()],
                vec!["邮编".into(), "063210".into()],
            ]
        );
    }

    #[test]
    fn rows_without_split_labels_are_left_alone() {
        let text = "姓名    张伟\n    附注一行\n方式\n邮编    063210\n";
        let before = rows(&grid(text));
        let g = join_split_labels(grid(text), |t| t == "姓名" || t == "邮编");
        assert_eq!(rows(&g), before);
    }
}
