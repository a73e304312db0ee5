//! The one label→value engine: finds each form's labels in a [`Grid`] and takes the
//! value the applicant wrote — after a colon in the label cell (`联系人：张伟`), in the
//! next cell of the row (or the cells after a merge), or in the row below a row of
//! labels — without the form's pre-printed words and instructions.

use super::checkbox;
use super::grid::{Block, Cell, Grid};
use super::spec::{self, FieldSpec, Kind};
use crate::call::FormDef;
use crate::model::{FieldValue, Fields};

mod dates;

pub use dates::split_opinion_dates;
#[cfg(test)]
use dates::split_trailing_date;

/// Character folding for label comparison: full-width ASCII to ASCII, ASCII lower
/// case, and the dash / quote / bracket / colon variants typed for one another.
pub fn fold(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '—' | '–' | '‐' | '―' => '-',
        '“' | '”' | '「' | '」' => '"',
        '【' | '〔' => '(',
        '】' | '〕' => ')',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// Byte offset in `text` just after `label`, if `text` starts with it (whitespace in
/// `text` ignored, characters folded).
fn match_prefix(text: &str, label: &str) -> Option<usize> {
    let mut want = label
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fold)
        .peekable();
    for (i, c) in text.char_indices() {
        if want.peek().is_none() {
            return Some(i);
        }
        if c.is_whitespace() {
            continue;
        }
        if Some(&fold(c)) != want.peek() {
            return None;
        }
        want.next();
    }
    want.peek().is_none().then_some(text.len())
}

/// The labels of one form, longest first so `申报单位意见` wins over `申报单位`.
struct Labels<'a> {
    list: Vec<(&'a str, &'a FieldSpec)>,
    /// PDF text: a label after whitespace also starts a new field without a colon
    /// (`性别 男 出生年月 1978.05` on one line).
    loose: bool,
}

impl<'a> Labels<'a> {
    fn new(form: &'a FormDef) -> Labels<'a> {
        let mut list: Vec<(&'a str, &'a FieldSpec)> = form
            .fields
            .iter()
            .flat_map(|s| s.labels.iter().map(move |l| (l.as_str(), s)))
            .collect();
        list.sort_by_key(|(l, _)| std::cmp::Reverse(l.chars().count()));
        Labels { list, loose: false }
    }

    /// A label at the start of `text`, and the rest after it (colon and instruction
    /// parentheses skipped). With `need_colon`, only `label：` counts (used inside a
    /// value, where a bare word may be ordinary text).
    fn at_start<'t>(&self, text: &'t str, need_colon: bool) -> Option<(&'a FieldSpec, &'t str)> {
        // Cheap filter first: most cells and paragraphs start with no label's first char.
        let first = fold(text.chars().find(|c| !c.is_whitespace())?);
        for (label, spec) in &self.list {
            if label.chars().next().map(fold) != Some(first) {
                continue;
            }
            let Some(end) = match_prefix(text, label) else {
                continue;
            };
            let rest = &text[end..];
            let (rest, had_paren) = skip_instruction_parens(rest);
            let trimmed = rest.trim_start();
            let colon = trimmed.starts_with(':') || trimmed.starts_with('：');
            let ok = if need_colon {
                colon
            } else {
                colon
                    || had_paren
                    || trimmed.is_empty()
                    || rest.starts_with(char::is_whitespace)
                    || trimmed.starts_with(['(', '（'])
            };
            if ok {
                let rest = if colon {
                    &trimmed[colon_len(trimmed)..]
                } else {
                    rest
                };
                return Some((spec, rest));
            }
        }
        None
    }

    /// Splits an inline value at the next `label：` inside it.
    fn split_inline<'t>(&self, text: &'t str) -> (&'t str, Option<(&'a FieldSpec, &'t str)>) {
        let mut prev_space = false;
        for (i, ch) in text.char_indices() {
            if i > 0 {
                let loose = self.loose && prev_space;
                if let Some(hit) = self.at_start(&text[i..], !loose) {
                    return (&text[..i], Some(hit));
                }
            }
            prev_space = ch.is_whitespace();
        }
        (text, None)
    }
}

fn colon_len(s: &str) -> usize {
    s.chars().next().map_or(0, char::len_utf8)
}

/// Skips parenthesised instructions right after a label (`（可另附页）`, `(盖章)`).
fn skip_instruction_parens(mut s: &str) -> (&str, bool) {
    let mut any = false;
    loop {
        let t = s.trim_start();
        match paren_span(t) {
            Some(end) if is_instruction(&t[..end]) => {
                s = &t[end..];
                any = true;
            }
            None if is_wrapped_instruction(t) => {
                let end = t.find(char::is_whitespace).unwrap_or(t.len());
                s = &t[end..];
                any = true;
            }
            _ => return (s, any),
        }
    }
}

/// Byte length of a parenthesised group at the start of `s`.
fn paren_span(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if first != '(' && first != '（' {
        return None;
    }
    let close = s.find([')', '）'])?;
    Some(close + s[close..].chars().next().map_or(0, char::len_utf8))
}

/// `（可另附` with the rest of the instruction wrapped onto the next line of a PDF.
fn is_wrapped_instruction(t: &str) -> bool {
    let Some(rest) = t.strip_prefix(['(', '（']) else {
        return false;
    };
    let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    word.chars().count() >= 2 && spec::INSTRUCTION_WORDS.iter().any(|w| w.starts_with(&word))
}

fn is_instruction(group: &str) -> bool {
    let g: String = group.chars().filter(|c| !c.is_whitespace()).collect();
    spec::INSTRUCTION_WORDS.iter().any(|w| g.contains(w))
}

/// Removes the form's pre-printed words from a value; paragraphs joined with `\n`.
pub fn clean_value(form: &FormDef, text: &str) -> String {
    let text = checkbox::normalize_pua(text);
    let text = remove_instruction_parens(&text);
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let mut l = line.trim().to_string();
        loop {
            let before = l.len();
            for w in spec::SUFFIX_PLACEHOLDERS {
                if let Some(i) = suffix_at(&l, w) {
                    l.truncate(i);
                    l = l.trim_end().to_string();
                }
            }
            if l.len() == before {
                break;
            }
        }
        let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        let squeezed = squeezed.trim_end_matches([':', '：']);
        let tail = matches!(squeezed, "页）" | "页)" | "附页）" | "附页)");
        if squeezed.is_empty() || tail || form.placeholders.iter().any(|p| p == squeezed) {
            continue;
        }
        lines.push(l);
    }
    lines.join("\n").trim().to_string()
}

/// Byte index where `word` (whitespace ignored) ends `line`, if it does.
fn suffix_at(line: &str, word: &str) -> Option<usize> {
    let mut want = word.chars().rev().peekable();
    for (i, c) in line.char_indices().rev() {
        if c.is_whitespace() {
            continue;
        }
        if Some(&c) != want.peek() {
            return None;
        }
        want.next();
        if want.peek().is_none() {
            return Some(i);
        }
    }
    None
}

fn remove_instruction_parens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['(', '（']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match paren_span(tail) {
            Some(end) if is_instruction(&tail[..end]) => rest = &tail[end..],
            _ => {
                let w = tail.chars().next().map_or(1, char::len_utf8);
                out.push_str(&tail[..w]);
                rest = &tail[w..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collects values; the first non-empty value of a key wins.
struct Collector<'a> {
    form: &'a FormDef,
    fields: Fields,
}

impl Collector<'_> {
    fn set(&mut self, spec: &FieldSpec, raw: &str) {
        let value = match &spec.kind {
            Kind::Choices(opts) => FieldValue::Choices(checkbox::read_choices(raw, opts)),
            Kind::Text => FieldValue::Text(clean_value(self.form, raw)),
        };
        let keep = self.fields.get(&spec.key).is_some_and(|v| !v.is_empty());
        if !keep {
            self.fields.insert(spec.key.to_string(), value);
        }
    }
    fn set_key(&mut self, key: &str, raw: &str) {
        if let Some(s) = self.form.field(key) {
            self.set(s, raw);
        }
    }
}

/// Reads all fields of `form` from `grid`; every key of the form is present (empty
/// text or an empty list when the applicant left it blank).
pub fn extract(form: &FormDef, grid: &Grid) -> Fields {
    extract_with(form, grid, false)
}

/// [`extract`] for a grid made from PDF text, where cells are only guessed from spacing.
pub fn extract_text(form: &FormDef, grid: &Grid) -> Fields {
    extract_with(form, grid, true)
}

/// Whether `text` starts with one of `form`'s labels.
pub fn is_label(form: &FormDef, text: &str) -> bool {
    Labels::new(form).at_start(text, false).is_some()
}

/// Whether `text` is exactly one of `form`'s labels (instruction parentheses and a
/// colon after it allowed, nothing else).
pub fn is_exact_label(form: &FormDef, text: &str) -> bool {
    Labels::new(form)
        .at_start(text, false)
        .is_some_and(|(_, rest)| rest.trim().is_empty())
}

fn extract_with(form: &FormDef, grid: &Grid, loose: bool) -> Fields {
    let mut labels = Labels::new(form);
    labels.loose = loose;
    let mut c = Collector {
        form,
        fields: Fields::new(),
    };
    for block in &grid.blocks {
        match block {
            Block::Para(p) => {
                if let Some((spec, rest)) = labels.at_start(p, false) {
                    inline(&labels, &mut c, spec, rest);
                }
            }
            Block::Table(t) => {
                let rows = &t.rows;
                let mut used: Vec<Vec<bool>> =
                    rows.iter().map(|r| vec![false; r.cells.len()]).collect();
                for ri in 0..rows.len() {
                    for ci in 0..rows[ri].cells.len() {
                        if used[ri][ci] {
                            continue;
                        }
                        let text = rows[ri].cells[ci].text();
                        let Some((spec, rest)) = labels.at_start(&text, false) else {
                            continue;
                        };
                        used[ri][ci] = true;
                        if let Some(open) = inline(&labels, &mut c, spec, rest) {
                            take_neighbour(&labels, &mut c, open, rows, ri, ci, &mut used);
                        }
                    }
                }
            }
        }
    }
    split_opinion_dates(form, &mut c.fields);
    for s in &form.fields {
        c.fields
            .entry(s.key.to_string())
            .or_insert_with(|| match s.kind {
                Kind::Choices(_) => FieldValue::Choices(Vec::new()),
                _ => FieldValue::Text(String::new()),
            });
    }
    c.fields
}

/// Handles `label：value  label2：value2` in one cell or paragraph. Returns the last
/// label when nothing follows it in the cell (its value is in another cell).
fn inline<'a>(
    labels: &Labels<'a>,
    c: &mut Collector,
    spec: &'a FieldSpec,
    rest: &str,
) -> Option<&'a FieldSpec> {
    let mut cur = Some((spec, rest));
    while let Some((s, r)) = cur {
        let (v, next) = labels.split_inline(r);
        let empty =
            clean_value(c.form, v).is_empty() && !matches!(s.kind, Kind::Choices(_) if has_mark(v));
        if next.is_none() && empty {
            return Some(s);
        }
        if !empty {
            c.set(s, v);
        }
        cur = next;
    }
    None
}

fn has_mark(s: &str) -> bool {
    checkbox::normalize_pua(s)
        .chars()
        .any(|ch| checkbox::is_checked_mark(ch) || checkbox::is_unchecked_mark(ch))
}

/// The value of a label whose cell holds nothing after the label: the next cell of the
/// row (plus `then` cells), or, when the row has no value cell, the overlapping cells
/// of the row below if that row holds no labels.
fn take_neighbour(
    labels: &Labels,
    c: &mut Collector,
    spec: &FieldSpec,
    rows: &[super::grid::Row],
    ri: usize,
    ci: usize,
    used: &mut [Vec<bool>],
) {
    let row = &rows[ri].cells;
    let is_label = |cell: &Cell| labels.at_start(&cell.text(), false).is_some();
    if let Some(next) = row.get(ci + 1) {
        if !is_label(next) {
            used[ri][ci + 1] = true;
            c.set(spec, &next.text());
            for (k, key) in spec.then.iter().enumerate() {
                let j = ci + 2 + k;
                if let Some(cell) = row.get(j) {
                    if !is_label(cell) {
                        used[ri][j] = true;
                        c.set_key(key, &cell.text());
                    }
                }
            }
            return;
        }
    }
    let me = &row[ci];
    if let Some(below) = rows.get(ri + 1) {
        if below.cells.iter().any(is_label) {
            c.set(spec, "");
            return;
        }
        let alone = row.len() == 1;
        let mut parts = Vec::new();
        for (j, cell) in below.cells.iter().enumerate() {
            if (alone || cell.overlaps(me)) && !used[ri + 1][j] {
                used[ri + 1][j] = true;
                parts.push(cell.text());
            }
        }
        c.set(spec, &parts.join("\n"));
    } else {
        c.set(spec, "");
    }
}

/// Number of cells or paragraphs that start with one of `form`'s labels (used to
/// recognise a form whose title was deleted).
pub fn label_hits(form: &FormDef, grid: &Grid) -> usize {
    let labels = Labels::new(form);
    let mut keys = std::collections::BTreeSet::new();
    let mut see = |t: &str| {
        if let Some((s, _)) = labels.at_start(t, false) {
            keys.insert(s.key.as_str());
        }
    };
    for b in &grid.blocks {
        match b {
            Block::Para(p) => see(p),
            Block::Table(t) => t
                .rows
                .iter()
                .flat_map(|r| &r.cells)
                .for_each(|c| see(&c.text())),
        }
    }
    keys.len()
}

#[cfg(test)]
mod tests;
