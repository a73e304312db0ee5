//! The neutral document model every reader (docx, xlsx/xls, PDF text) produces and the
//! one label→value engine reads: paragraphs outside tables, and tables of rows of cells
//! with merges already resolved. Checkbox states of every style are already turned into
//! [`CHECKED`] / [`UNCHECKED`] by the readers.

/// A ticked box, whatever the document used (glyph, Wingdings symbol, content control).
pub const CHECKED: char = '☑';
/// An empty box.
pub const UNCHECKED: char = '□';

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph outside any table (e.g. `推荐单位：…  填报时间：…`).
    Para(String),
    Table(Table),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
}

/// One visible cell: a horizontal merge is one cell with `span` > 1; a vertical merge
/// is one cell in its first row (its continuation cells are dropped).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// First grid column it covers.
    pub col: usize,
    /// Number of grid columns it covers.
    pub span: usize,
    /// Text per paragraph.
    pub paras: Vec<String>,
}

impl Cell {
    pub fn text(&self) -> String {
        self.paras.join("\n")
    }
    /// Whether the column ranges of two cells overlap.
    pub fn overlaps(&self, other: &Cell) -> bool {
        self.col < other.col + other.span.max(1) && other.col < self.col + self.span.max(1)
    }
}

/// How a raw cell takes part in a vertical merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VMerge {
    #[default]
    None,
    Restart,
    Continue,
}

/// A cell as a reader found it, before merges are resolved.
#[derive(Debug, Clone, Default)]
pub struct RawCell {
    pub span: usize,
    pub vmerge: VMerge,
    pub paras: Vec<String>,
}

/// Resolves gridSpan / vMerge: columns are assigned from the spans, and a continuation
/// cell's text (normally none) is appended to the cell that starts the merge above it.
pub fn build_table(raw: Vec<Vec<RawCell>>) -> Table {
    let mut rows: Vec<Row> = Vec::with_capacity(raw.len());
    for raw_row in raw {
        let mut row = Row::default();
        let mut col = 0usize;
        for rc in raw_row {
            let span = rc.span.max(1);
            if rc.vmerge == VMerge::Continue {
                let paras: Vec<String> = rc
                    .paras
                    .into_iter()
                    .filter(|p| !p.trim().is_empty())
                    .collect();
                if let Some(origin) = find_above(&mut rows, col) {
                    origin.paras.extend(paras);
                } else if !paras.is_empty() {
                    // A continuation with nothing above: keep it as an ordinary cell.
                    row.cells.push(Cell { col, span, paras });
                }
            } else {
                row.cells.push(Cell {
                    col,
                    span,
                    paras: rc.paras,
                });
            }
            col += span;
        }
        rows.push(row);
    }
    Table { rows }
}

/// The nearest cell above starting at `col` (continuations were dropped, so the first
/// hit going up is the merge's origin).
fn find_above(rows: &mut [Row], col: usize) -> Option<&mut Cell> {
    for row in rows.iter_mut().rev() {
        if let Some(i) = row.cells.iter().position(|c| c.col == col) {
            return row.cells.get_mut(i);
        }
    }
    None
}

impl Grid {
    /// All text, paragraphs and cells in reading order (for title detection).
    pub fn all_text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            match b {
                Block::Para(p) => {
                    out.push_str(p);
                    out.push('\n');
                }
                Block::Table(t) => {
                    for r in &t.rows {
                        for c in &r.cells {
                            out.push_str(&c.text());
                            out.push('\n');
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(span: usize, vmerge: VMerge, text: &str) -> RawCell {
        RawCell {
            span,
            vmerge,
            paras: vec![text.to_string()],
        }
    }

    #[test]
    fn spans_and_vertical_merges_resolve() {
        let t = build_table(vec![
            vec![
                rc(1, VMerge::Restart, "推荐单位意见"),
                rc(3, VMerge::None, "同意"),
            ],
            vec![
                rc(1, VMerge::Continue, ""),
                rc(2, VMerge::None, "a"),
                rc(1, VMerge::None, "b"),
            ],
        ]);
        assert_eq!(t.rows[0].cells.len(), 2);
        assert_eq!((t.rows[0].cells[1].col, t.rows[0].cells[1].span), (1, 3));
        assert_eq!(t.rows[1].cells.len(), 2);
        assert_eq!(t.rows[1].cells[0].col, 1);
        assert_eq!(t.rows[1].cells[1].col, 3);
        assert_eq!(t.rows[0].cells[0].paras, vec!["推荐单位意见".to_string()]);
    }
}
