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
