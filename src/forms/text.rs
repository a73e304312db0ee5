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
