//! `/receipts`: what was sent to whom and when, what waits, what failed (with the SMTP
//! server's answer); failed ones can be sent again, held ones approved.

use super::*;
use crate::db::receipts::ReceiptRow;

/// The outbox rows the page shows (read by the handler from the database).
pub type ReceiptView = Vec<ReceiptRow>;

const COLS: [(&str, Option<&str>); 8] = [
    ("编号", Some("id")),
    ("邮件", Some("message")),
    ("收件人", Some("to")),
    ("状态", Some("status")),
    ("生成时间", Some("created")),
    ("发送时间", Some("sent")),
    ("原因 / 服务器答复", None),
    ("操作", None),
];

type Cmp = fn(&&ReceiptRow, &&ReceiptRow) -> Ordering;

const SORTS: [(&str, Cmp); 6] = [
    ("id", |a, b| a.id.cmp(&b.id)),
    ("message", |a, b| a.message.cmp(&b.message)),
    ("to", |a, b| a.to_addr.cmp(&b.to_addr)),
    ("status", |a, b| a.status.cmp(&b.status)),
    ("created", |a, b| a.created_at.cmp(&b.created_at)),
    ("sent", |a, b| a.sent_at.cmp(&b.sent_at)),
];

/// The outbox, filtered by `status` when given, newest first unless sorted otherwise.
pub fn receipts(rows: &ReceiptView, status: Option<&str>, csrf: &str, q: &ListQuery) -> String {
    let status = status.map(ReceiptStatus::parse);
    let mut list: Vec<&ReceiptRow> = rows
        .iter()
        .rev()
        .filter(|r| status.is_none_or(|s| s == Some(r.status)))
        .collect();
    q.sort(&mut list, &SORTS);
    let mut b = String::from("<p>");
    let mut statuses: Vec<ReceiptStatus> = rows.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    b.push_str("<a href=\"/receipts\">全部</a>");
    for s in statuses {
        let n = rows.iter().filter(|r| r.status == s).count();
        let _ = write!(
            b,
            " · <a href=\"/receipts?status={}\">{}（{n}）</a>",
            esc(&url_encode(s.as_str())),
            esc(&zh(Code::Receipt(s)))
        );
    }
    b.push_str("</p>\n");
    b.push_str(&q.pager(list.len(), "份"));
    let cells: Vec<Vec<String>> = q
        .slice(&list)
        .iter()
        .map(|r| {
            let mut why = esc(&zh(Code::ReceiptReason(r.reason.as_deref().unwrap_or(""))));
            if let Some(reply) = r.smtp_reply.as_deref().filter(|s| !s.is_empty()) {
                let _ = write!(why, "<br><span class=\"muted\">{}</span>", esc(reply));
            }
            let action = match r.status {
                ReceiptStatus::Failed | ReceiptStatus::Suppressed => button(
                    &format!("/messages/{}/receipt/retry", r.message),
                    csrf,
                    "重发回执",
                    "retry",
                ),
                ReceiptStatus::Held => button(
                    &format!("/messages/{}/receipt/approve", r.message),
                    csrf,
                    "批准发送",
                    "approve",
                ),
                _ => String::new(),
            };
            vec![
                r.id.to_string(),
                format!("<a href=\"/messages/{0}\">#{0}</a>", r.message),
                esc(&r.to_addr),
                esc(&zh(Code::Receipt(r.status))),
                esc(&fmt_minute(&r.created_at)),
                esc(&fmt_minute(r.sent_at.as_deref().unwrap_or(""))),
                why,
                action,
            ]
        })
        .collect();
    b.push_str(&table_html(&q.header(&COLS), &cells));
    page("回执", &b)
}
