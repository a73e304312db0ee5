//! The audit log on the page: every write by the office (who, when, what, before →
//! after), newest first, paged and sortable; and the entries about one record, shown
//! on its own page.

use super::*;
use crate::report::dump::DumpAudit;

/// A link to what an audit row is about (`a4`, `m12`, `d31`), else the target as text.
fn target_link(dump: &Dump, target: &str) -> String {
    let num = |p: &str| target.strip_prefix(p).and_then(|n| n.parse::<i64>().ok());
    if let Some(id) = num("a") {
        return format!("<a href=\"/apps/{id}\">申报 #{id}</a>");
    }
    if let Some(id) = num("m") {
        return format!("<a href=\"/messages/{id}\">邮件 #{id}</a>");
    }
    if let Some(id) = num("d") {
        let scan = dump
            .messages
            .iter()
            .flat_map(|m| m.documents.iter())
            .any(|d| d.id == id && d.kind == DocKind::Scan);
        return if scan {
            format!("<a href=\"/scans/{id}\">扫描件 #{id}</a>")
        } else {
            format!("文件 #{id}")
        };
    }
    if let Some(id) = num("r") {
        return format!("回执 #{id}");
    }
    if let Some(u) = target.strip_prefix("u:") {
        return format!("账号 {}", esc(u));
    }
    if target == "m*" {
        return "全部邮件".into();
    }
    esc(target)
}

fn rows(dump: &Dump, entries: &[&DumpAudit]) -> Vec<Vec<String>> {
    entries
        .iter()
        .map(|e| {
            vec![
                esc(&fmt_minute(&e.at)),
                esc(&e.user),
                esc(&zh(Code::Action(e.action))),
                target_link(dump, &e.target),
                esc(&e.detail),
            ]
        })
        .collect()
}

const COLS: [(&str, Option<&str>); 5] = [
    ("时间", Some("at")),
    ("操作人", Some("user")),
    ("操作", Some("action")),
    ("对象", Some("target")),
    ("内容（之前 → 之后）", None),
];

type Cmp = fn(&&DumpAudit, &&DumpAudit) -> Ordering;

const SORTS: [(&str, Cmp); 4] = [
    ("at", |a, b| a.at.cmp(&b.at)),
    ("user", |a, b| a.user.cmp(&b.user)),
    ("action", |a, b| a.action.cmp(&b.action)),
    ("target", |a, b| a.target.cmp(&b.target)),
];

/// `/audit`: the whole log, newest first unless sorted otherwise; `user` filters.
pub fn audit(dump: &Dump, user: Option<&str>, q: &ListQuery) -> String {
    let mut entries: Vec<&DumpAudit> = dump
        .audit
        .iter()
        .rev()
        .filter(|e| user.is_none_or(|u| e.user == u))
        .collect();
    q.sort(&mut entries, &SORTS);
    let mut b = String::from("<p>页面和命令行的每一次修改都记录在这里，不能删除。</p>\n");
    b.push_str(&q.pager(entries.len(), "条"));
    b.push_str(&table_html(
        &q.header(&COLS),
        &rows(dump, q.slice(&entries)),
    ));
    page("操作记录", &b)
}

/// The log's entries about any of `targets`, for a record's own page (empty if none).
pub(super) fn entries_about(dump: &Dump, targets: &[&str]) -> String {
    let entries: Vec<&DumpAudit> = dump
        .audit
        .iter()
        .rev()
        .filter(|e| targets.contains(&e.target.as_str()))
        .collect();
    if entries.is_empty() {
        return String::new();
    }
    let mut b = String::from("<h2>操作记录</h2>\n");
    b.push_str(&table(&COLS.map(|(l, _)| l), &rows(dump, &entries)));
    b
}
