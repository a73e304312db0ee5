//! Plain-text tables and detail views for the terminal (`list`, `show`), aligned by
//! display width so columns of Chinese text line up in a monospace terminal.

use crate::domain::kinds::category_label_zh;
use crate::domain::problem;
use crate::model::FormKey;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use crate::report::export::{form_keys, form_name_zh, size_zh, DocIndex};
use crate::time::fmt_minute;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Widest a cell may be before it is cut with `…` (applicant names can be long).
const MAX_CELL: usize = 40;

/// `s` cut to at most `max` columns, ending in `…` when cut; line breaks become spaces.
pub fn truncate(s: &str, max: usize) -> String {
    fit(s, max).0.into_owned()
}

/// [`truncate`] and the display width of the result, borrowing `s` when it fits as it
/// is (nearly every cell: `list --all` renders tens of thousands of them).
fn fit(s: &str, max: usize) -> (Cow<'_, str>, usize) {
    let clean = !s.chars().any(char::is_control);
    if clean {
        let w = s.width();
        if w <= max {
            return (Cow::Borrowed(s), w);
        }
    }
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let w = flat.width();
    if w <= max {
        return (Cow::Owned(flat), w);
    }
    let mut out = String::new();
    let mut w = 0;
    for c in flat.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    (Cow::Owned(out), w + 1)
}

/// `s` padded with spaces to `width` display columns.
pub fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// Renders rows under a header, columns separated by two spaces; the last column is
/// not padded (so no trailing blanks). Each cell is cut and measured once.
pub fn render<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let ncols = header.len();
    render_cells(
        header,
        rows.iter().flat_map(|r| {
            (0..ncols).map(move |c| Cow::Borrowed(r.get(c).map_or("", |s| s.as_ref())))
        }),
    )
}

/// [`render`] over the cells row after row, `header.len()` to a row: one flat vector
/// instead of one per row (`list --all` lays out 70,000 cells).
fn render_cells<'a>(header: &[&'a str], cells: impl Iterator<Item = Cow<'a, str>>) -> String {
    let ncols = header.len().max(1);
    let cells: Vec<(Cow<'a, str>, usize)> = header
        .iter()
        .map(|h| (Cow::Borrowed(*h), h.width()))
        .chain(cells.map(fit_cow))
        .collect();
    let mut widths = vec![0; ncols];
    for (k, (_, w)) in cells.iter().enumerate() {
        widths[k % ncols] = widths[k % ncols].max(*w);
    }
    let line_guess: usize = widths.iter().sum::<usize>() + 2 * ncols + 1;
    let mut out = String::with_capacity(cells.len() / ncols * line_guess);
    for row in cells.chunks(ncols) {
        let start = out.len();
        for (c, (cell, w)) in row.iter().enumerate() {
            out.push_str(cell);
            if c + 1 < ncols {
                spaces(&mut out, widths[c] - w + 2);
            }
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    }
    out
}

/// [`fit`] for a cell that may own its text: an owned cell that fits is kept, not copied.
fn fit_cow(c: Cow<'_, str>) -> (Cow<'_, str>, usize) {
    match c {
        Cow::Borrowed(s) => fit(s, MAX_CELL),
        Cow::Owned(s) => {
            let (cut, w) = fit(&s, MAX_CELL);
            let cut = match cut {
                Cow::Borrowed(_) => None,
                Cow::Owned(o) => Some(o),
            };
            (Cow::Owned(cut.unwrap_or(s)), w)
        }
    }
}

fn spaces(out: &mut String, mut n: usize) {
    const BLANK: &str = "                                ";
    while n > 0 {
        let k = n.min(BLANK.len());
        out.push_str(&BLANK[..k]);
        n -= k;
    }
}

/// The `list` view: one line per application; `total` is how many matched (more
/// than `apps.len()` when the list was cut, which the last line says).
pub fn applications_table(apps: &[&DumpApplication], total: usize) -> String {
    let header = [
        "编号",
        "申报表",
        "申报单位/姓名",
        "状态",
        "逾期",
        "收到时间",
        "问题",
    ];
    let cells = apps.iter().flat_map(|a| {
        [
            Cow::Owned(a.id.to_string()),
            Cow::Borrowed(form_name_zh(&a.form)),
            Cow::Borrowed(a.applicant.as_str()),
            Cow::Borrowed(a.status.label_zh()),
            Cow::Borrowed(if a.late { "是" } else { "否" }),
            Cow::Owned(fmt_minute(a.received_at.as_deref().unwrap_or_default())),
            Cow::Owned(a.problems.len().to_string()),
        ]
    });
    let mut out = render_cells(&header, cells);
    if total > apps.len() {
        let _ = writeln!(
            out,
            "共 {total} 项，显示前 {} 项（全部: list --all，或 export --xlsx 导出 Excel）",
            apps.len()
        );
    } else {
        let _ = writeln!(out, "共 {total} 项");
    }
    out
}

fn kv(out: &mut String, key: &str, value: &str) {
    let mut lines = value.lines();
    let first = lines.next().unwrap_or("");
    let _ = writeln!(out, "  {}  {}", pad(key, 14), first);
    for more in lines {
        let _ = writeln!(out, "  {}  {}", pad("", 14), more);
    }
}

fn problems_block(out: &mut String, problems: &[String]) {
    if problems.is_empty() {
        let _ = writeln!(out, "问题：无");
    } else {
        let _ = writeln!(out, "问题：");
        for p in problems {
            let _ = writeln!(out, "  - {}", problem::cell(p));
        }
    }
}

fn document_block(out: &mut String, doc: &DumpDocument, data_dir: &Path) {
    let _ = writeln!(out, "  [{}] {}", doc.id, doc.name);
    let kind = doc.kind.label_zh();
    let mut facts = vec![format!("{kind}，{}，{}", doc.format, size_zh(doc.size))];
    if let Some(f) = &doc.form {
        facts.push(form_name_zh(f).to_string());
    }
    match doc.stamped {
        Some(true) => facts.push("已盖章".into()),
        Some(false) => facts.push("未见公章".into()),
        None => {}
    }
    if let Some(s) = doc.scan_of {
        facts.push(format!("对应电子版 #{s}"));
    }
    if let Some(c) = doc.container {
        facts.push(format!("取自 #{c}"));
    }
    if let Some(s) = doc.superseded_by {
        facts.push(format!("已被 #{s} 替代"));
    }
    let _ = writeln!(out, "      {}", facts.join("，"));
    if !doc.path.is_empty() {
        let _ = writeln!(out, "      文件：{}", data_dir.join(&doc.path).display());
    }
    for p in &doc.problems {
        let _ = writeln!(out, "      问题：{}", problem::cell(p));
    }
}

/// The `show ID` view of an application: fields of its electronic form, its documents
/// with their stored files, and every problem.
pub fn show_application(dump: &Dump, id: i64, data_dir: &Path) -> Option<String> {
    let app = dump.applications.iter().find(|a| a.id == id)?;
    let idx = DocIndex::new(dump);
    let mut out = String::new();
    let _ = writeln!(out, "申报 #{}  {}", app.id, app.applicant);
    let (received, sender) = idx.received_and_sender(app);
    let form_title = FormKey::parse(&app.form)
        .map(|f| f.title_zh())
        .unwrap_or(app.form.as_str());
    kv(&mut out, "申报表", form_title);
    kv(&mut out, "状态", app.status.label_zh());
    kv(&mut out, "逾期", if app.late { "是" } else { "否" });
    if let Some(x) = &app.late_excused {
        let at =
            crate::time::parse_rfc3339(&x.at).map_or(x.at.clone(), |t| crate::time::fmt_human(&t));
        kv(
            &mut out,
            "逾期准许",
            &format!("{}（{}，{at}）", x.reason, x.by),
        );
    }
    let r = &app.review;
    let mut review = r.state.label_zh().to_string();
    if let Some(at) = &r.at {
        let at = crate::time::parse_rfc3339(at).map_or(at.clone(), |t| crate::time::fmt_human(&t));
        review.push_str(&format!("（{}，{at}）", r.by));
    }
    if !r.note.is_empty() {
        review.push_str(&format!(" 备注：{}", r.note));
    }
    kv(&mut out, "审核", &review);
    kv(&mut out, "收到时间", &fmt_minute(&received));
    kv(&mut out, "发件人", &sender);
    let electronic = app.electronic.and_then(|i| idx.get(i));
    if let Some((_, doc)) = electronic {
        let _ = writeln!(out, "填报内容：");
        let keys: Vec<&str> = FormKey::parse(&app.form).map(form_keys).unwrap_or_default();
        for k in &keys {
            let v = doc.fields.get(*k).map(|v| v.display()).unwrap_or_default();
            kv(&mut out, k, &v);
        }
        // Keys outside the form's list still show, so nothing parsed is hidden.
        for (k, v) in doc
            .fields
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
        {
            kv(&mut out, k, &v.display());
        }
    }
    let _ = writeln!(out, "文件：");
    for id in [app.electronic, app.scan].into_iter().flatten() {
        match idx.get(id) {
            Some((_, doc)) => document_block(&mut out, doc, data_dir),
            None => {
                let _ = writeln!(out, "  [{id}] （记录缺失）");
            }
        }
    }
    problems_block(&mut out, &idx.all_problems(app));
    Some(out)
}

/// The `show ID` view of a message: headers, category, receipt, documents, problems.
pub fn show_message(dump: &Dump, id: i64, data_dir: &Path) -> Option<String> {
    let m: &DumpMessage = dump.messages.iter().find(|m| m.id == id)?;
    let mut out = String::new();
    let _ = writeln!(out, "邮件 #{}", m.id);
    kv(&mut out, "发件人", m.from.as_deref().unwrap_or(""));
    kv(&mut out, "主题", m.subject.as_deref().unwrap_or(""));
    kv(&mut out, "收到时间", &fmt_minute(&m.received_at));
    kv(
        &mut out,
        "信头日期",
        &fmt_minute(m.date_header.as_deref().unwrap_or("")),
    );
    kv(&mut out, "逾期", if m.late { "是" } else { "否" });
    kv(&mut out, "类别", category_label_zh(m.category));
    let mut receipt = m.receipt.status.label_zh().to_string();
    if let Some(r) = m.receipt.reason.as_deref().filter(|r| !r.is_empty()) {
        receipt.push_str(&format!("（{r}）"));
    }
    kv(&mut out, "回执", &receipt);
    if let Some(d) = m.duplicate_of {
        kv(&mut out, "重复", &format!("与邮件 #{d} 相同"));
    }
    kv(
        &mut out,
        "Message-ID",
        m.message_id.as_deref().unwrap_or(""),
    );
    kv(
        &mut out,
        "原始邮件",
        &format!("{}，sha256 {}", size_zh(m.size), m.sha256),
    );
    if m.category == Some(crate::domain::Category::Question) {
        if let Some(text) = crate::report::text::message_text(data_dir, m) {
            let _ = writeln!(out, "咨询内容：");
            for line in text.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let _ = writeln!(out, "附件：");
    if m.documents.is_empty() {
        let _ = writeln!(out, "  （无）");
    }
    for doc in &m.documents {
        document_block(&mut out, doc, data_dir);
    }
    problems_block(&mut out, &m.problems);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_columns_line_up() {
        let t = render(
            &["编号", "名称", "状态"],
            &[vec!["1", "唐山一中", "齐全"], vec!["22", "ab", "缺电子版"]],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "编号  名称      状态");
        assert_eq!(lines[1], "1     唐山一中  齐全");
        assert_eq!(lines[2], "22    ab        缺电子版");
    }

    #[test]
    fn long_cells_are_cut_by_width() {
        assert_eq!(truncate("唐山市第一中学", 7), "唐山市…");
        assert_eq!(truncate("a\nb", 7), "a b");
        assert_eq!(
            fit("唐山市第一中学", 14),
            (Cow::Borrowed("唐山市第一中学"), 14)
        );
        assert_eq!(fit("唐山市第一中学", 13).1, 13);
        assert_eq!(fit("唐山\t一中", 10), (Cow::Owned("唐山 一中".into()), 9));
    }

    #[test]
    fn rows_end_without_blanks_even_when_the_last_cell_is_empty() {
        let t = render(
            &["编号", "名称", "备注"],
            &[vec!["1", "唐山一中", ""], vec!["22", "", ""]],
        );
        assert_eq!(t, "编号  名称      备注\n1     唐山一中\n22\n");
    }
}
