//! `status`: the counts an operator looks at first — messages by category, applications
//! by form × status, late ones, problems to act on, and the daemon's health.

use crate::domain::kinds::{category_label_zh, PENDING_CODE, PENDING_LABEL_ZH};
use crate::domain::problem::{self, ProblemKind};
use crate::domain::AppStatus;
use crate::model::{Category, FormKey};
use crate::report::dump::Dump;
use serde::Serialize;
use std::collections::BTreeMap;

/// The application statuses' codes, in display order (from [`AppStatus::ALL`]).
pub const APP_STATUSES: [&str; AppStatus::ALL.len()] = {
    let mut out = [""; AppStatus::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = AppStatus::ALL[i].as_str();
        i += 1;
    }
    out
};

#[derive(Debug, Clone, Serialize, Default)]
pub struct StatusReport {
    pub messages: usize,
    /// category → count ("pending" for messages not yet processed)
    pub by_category: BTreeMap<String, usize>,
    pub duplicates: usize,
    pub late_messages: usize,
    pub applications: usize,
    /// form → status → count
    pub by_form_status: BTreeMap<String, BTreeMap<String, usize>>,
    pub late_applications: usize,
    /// problem code (before the first ':') → count, over messages and documents
    pub problems: BTreeMap<String, usize>,
    /// receipt status → count
    pub receipts: BTreeMap<String, usize>,
    /// Pending receipts waiting for a cap, by cap (`daily_cap`, `domain_cap`,
    /// `sender_window`): they are sent when it frees, never dropped.
    pub receipts_waiting: BTreeMap<String, usize>,
    /// Cloud attachments with their expiry, to download before they vanish.
    pub cloud_attachments: Vec<String>,
    pub last_poll: Option<String>,
    /// Minutes since the last successful poll, when it is older than [`STALE_AFTER_MIN`]:
    /// the daemon is probably not running or cannot reach the server.
    pub poll_stale_minutes: Option<i64>,
    pub ocr_available: bool,
}

/// A daemon polls at least every IDLE renewal (25 min) or poll interval; silence for
/// longer than this means it is not running or cannot reach the server.
pub const STALE_AFTER_MIN: i64 = 30;

/// A report with every category and form × status present at zero (so tables and
/// JSON always have the same rows) and the poll staleness worked out.
fn empty(last_poll: Option<String>, ocr_available: bool) -> StatusReport {
    let poll_stale_minutes = last_poll
        .as_deref()
        .and_then(crate::time::parse_rfc3339)
        .map(|t| (crate::time::now() - t).num_minutes())
        .filter(|m| *m > STALE_AFTER_MIN);
    let mut r = StatusReport {
        poll_stale_minutes,
        last_poll,
        ocr_available,
        ..Default::default()
    };
    for c in Category::ALL {
        r.by_category.insert(c.as_str().into(), 0);
    }
    for f in FormKey::all() {
        let e = r.by_form_status.entry(f.as_str().into()).or_default();
        for s in APP_STATUSES {
            e.insert(s.into(), 0);
        }
    }
    r
}

pub fn compute(dump: &Dump, last_poll: Option<String>, ocr_available: bool) -> StatusReport {
    let mut r = empty(last_poll, ocr_available);
    r.messages = dump.messages.len();
    for m in &dump.messages {
        let cat = m.category.map_or(PENDING_CODE, Category::as_str);
        *r.by_category.entry(cat.into()).or_default() += 1;
        if m.duplicate_of.is_some() {
            r.duplicates += 1;
        }
        if m.late {
            r.late_messages += 1;
        }
        *r.receipts.entry(m.receipt.status.to_string()).or_default() += 1;
        if m.receipt.status == crate::receipts::ReceiptStatus::Pending {
            let reason = m.receipt.reason.as_deref().unwrap_or_default();
            if let Some(code) = crate::receipts::kinds::waiting_code(reason) {
                *r.receipts_waiting.entry(code.to_string()).or_default() += 1;
            }
        }
        let doc_problems = m.documents.iter().flat_map(|d| d.problems.iter());
        for p in m.problems.iter().chain(doc_problems) {
            let code = p.split(':').next().unwrap_or(p).to_string();
            *r.problems.entry(code).or_default() += 1;
            if is_cloud_with_detail(p) {
                r.cloud_attachments.push(format!("#{} {}", m.id, p));
            }
        }
    }
    for a in &dump.applications {
        r.applications += 1;
        *r.by_form_status
            .entry(a.form.clone())
            .or_default()
            .entry(a.status.to_string())
            .or_default() += 1;
        if a.late {
            r.late_applications += 1;
        }
    }
    r
}

/// The same report from counts SQLite computed ([`crate::db::Db::status_counts`]), for
/// `status`, which must stay quick however large the intake grows.
pub fn from_counts(
    c: &crate::db::status::StatusCounts,
    last_poll: Option<String>,
    ocr_available: bool,
) -> StatusReport {
    let mut r = empty(last_poll, ocr_available);
    for (cat, n, dup, late) in &c.by_category {
        let cat = cat.clone().unwrap_or_else(|| PENDING_CODE.into());
        *r.by_category.entry(cat).or_default() += n;
        r.messages += n;
        r.duplicates += dup;
        r.late_messages += late;
    }
    for (form, status, n, late) in &c.by_form_status {
        *r.by_form_status
            .entry(form.clone())
            .or_default()
            .entry(status.clone())
            .or_default() += n;
        r.applications += n;
        r.late_applications += late;
    }
    for (status, n) in &c.receipts {
        *r.receipts.entry(status.clone()).or_default() += n;
    }
    for (message, list) in &c.problems {
        for p in list {
            let code = p.split(':').next().unwrap_or(p).to_string();
            *r.problems.entry(code).or_default() += 1;
            if is_cloud_with_detail(p) {
                r.cloud_attachments.push(format!("#{message} {p}"));
            }
        }
    }
    r
}

/// Plain text for the terminal, in Chinese.
pub fn render(r: &StatusReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "邮件 {} 封（重复 {}，逾期 {}）",
        r.messages, r.duplicates, r.late_messages
    );
    for (cat, n) in &r.by_category {
        let _ = writeln!(s, "  {} {n}", category_label(cat));
    }
    let _ = writeln!(
        s,
        "申报 {} 份（逾期 {}）",
        r.applications, r.late_applications
    );
    let rows: Vec<Vec<String>> = FormKey::all()
        .iter()
        .map(|f| {
            let row = r
                .by_form_status
                .get(f.as_str())
                .cloned()
                .unwrap_or_default();
            let mut v = vec![f.title_zh().to_string()];
            v.extend(
                APP_STATUSES
                    .iter()
                    .map(|k| row.get(*k).copied().unwrap_or(0).to_string()),
            );
            v
        })
        .collect();
    let mut header = vec!["表格"];
    header.extend(AppStatus::ALL.iter().map(|s| s.label_zh()));
    for line in crate::report::table::render(&header, &rows).lines() {
        let _ = writeln!(s, "  {line}");
    }
    if !r.receipts.is_empty() {
        let list: Vec<String> = r
            .receipts
            .iter()
            .map(|(k, v)| match crate::domain::ReceiptStatus::parse(k) {
                Some(st) => format!("{}({k}) {v}", st.label_zh()),
                None => format!("{k} {v}"),
            })
            .collect();
        let _ = writeln!(s, "回执：{}", list.join("，"));
    }
    s.push_str(&receipt_caps_lines(r));
    if !r.problems.is_empty() {
        let list: Vec<String> = r
            .problems
            .iter()
            .map(|(k, v)| match ProblemKind::parse(k) {
                Some(p) => format!("{}({k}) {v}", p.label_zh()),
                None => format!("{k} {v}"),
            })
            .collect();
        let _ = writeln!(s, "问题：{}", list.join("，"));
    }
    for c in &r.cloud_attachments {
        // `#ID code:detail`: the message, then the problem in the office's words.
        let (id, code) = c.split_once(' ').unwrap_or(("", c));
        let _ = writeln!(s, "超大附件：邮件{id} {}", problem::label_zh(code));
    }
    match &r.last_poll {
        Some(t) => {
            let _ = writeln!(s, "最近一次收信：{t}");
            if let Some(m) = r.poll_stale_minutes {
                let _ = writeln!(
                    s,
                    "警告：已有 {m} 分钟没有成功收信，守护进程可能已停止或无法连接邮箱；请运行 kepu-intake check 并查看 journalctl -u kepu-intake"
                );
            }
        }
        None => {
            let _ = writeln!(s, "尚未从邮箱收信（只导入过文件）");
        }
    }
    if !r.ocr_available {
        let _ = writeln!(
            s,
            "提示：未安装 Tesseract，扫描件不做文字识别；安装：apt-get install tesseract-ocr tesseract-ocr-chi-sim，然后运行 kepu-intake reprocess --all"
        );
    }
    s
}

/// A cloud attachment that names its file (and expiry): worth listing on its own.
fn is_cloud_with_detail(code: &str) -> bool {
    problem::Problem::parse(code)
        .is_some_and(|p| p.kind == ProblemKind::CloudAttachment && p.detail.is_some())
}

fn category_label(c: &str) -> String {
    let zh = match Category::parse(c) {
        Some(cat) => category_label_zh(Some(cat)),
        None if c == PENDING_CODE => PENDING_LABEL_ZH,
        None => c,
    };
    format!("{zh}({c})")
}

/// Held receipts and receipts waiting for a cap, each with what to do.
fn receipt_caps_lines(r: &StatusReport) -> String {
    use crate::receipts::{ReceiptReason, ReceiptStatus};
    let mut s = String::new();
    if let Some(n) = r
        .receipts
        .get(ReceiptStatus::Held.as_str())
        .filter(|n| **n > 0)
    {
        s.push_str(&format!(
            "回执待批准 {n} 封（发件人未通过认证）：运行 kepu-intake receipts 查看，核对后 kepu-intake receipts --approve ID 放行\n"
        ));
    }
    let total: usize = r.receipts_waiting.values().sum();
    if total > 0 {
        let parts: Vec<String> = r
            .receipts_waiting
            .iter()
            .map(|(code, n)| {
                let label = ReceiptReason::of(code).map_or(code.as_str(), |x| x.label_zh());
                format!("{label} {n}")
            })
            .collect();
        s.push_str(&format!(
            "回执等待中 {total} 封（已达发送上限，不会丢弃，上限解除后自动发送）：{}\n",
            parts.join("，")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_poll_is_warned_and_fresh_is_not() {
        let old = crate::time::fmt(&(crate::time::now() - chrono::Duration::minutes(90)));
        let r = compute(&Dump::default(), Some(old), true);
        assert!(matches!(r.poll_stale_minutes, Some(m) if (89..=91).contains(&m)));
        assert!(render(&r).contains("分钟没有成功收信"));
        let fresh = crate::time::fmt(&crate::time::now());
        let r = compute(&Dump::default(), Some(fresh), true);
        assert_eq!(r.poll_stale_minutes, None);
        assert!(!render(&r).contains("没有成功收信"));
    }
}
