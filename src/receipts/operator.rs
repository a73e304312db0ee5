//! What operators do with the outbox: list what waits for them (`kepu-intake
//! receipts`), send a failed one again (`--retry`), release a held one (`--approve`,
//! also the page's button, through [`approve_receipt`]).

use super::kinds::ReceiptStatus;
use crate::db::Db;
use crate::error::{Error, Result};

/// Held receipts first (they wait for an operator), then pending, sending, failed
/// and previewed ones, as a table for `kepu-intake receipts`.
pub fn list_text(db: &Db) -> Result<String> {
    let order = [
        ReceiptStatus::Held,
        ReceiptStatus::Pending,
        ReceiptStatus::Sending,
        ReceiptStatus::Failed,
        ReceiptStatus::Previewed,
    ];
    let mut rows = db.receipts_with_status(&order.map(ReceiptStatus::as_str))?;
    rows.sort_by_key(|r| {
        let st = ReceiptStatus::parse(&r.status);
        (order.iter().position(|o| Some(*o) == st), r.id)
    });
    if rows.is_empty() {
        return Ok("没有待审核、待发送或失败的回执 / no held, pending or failed receipts\n".into());
    }
    let mut out = String::from("ID\t状态\t收件人\t尝试\t下次尝试\t邮件主题\t原因 / 服务器回复\n");
    for r in &rows {
        let subject = db
            .receipt_message_summary(r.message)?
            .map(|(s, _)| s)
            .unwrap_or_default();
        let why = match (&r.reason, &r.smtp_reply) {
            (Some(a), Some(b)) if !a.contains(b.as_str()) => format!("{a} / {b}"),
            (Some(a), _) => a.clone(),
            (None, Some(b)) => b.clone(),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.id,
            status_zh(&r.status),
            r.to_addr,
            r.attempts,
            r.next_attempt_at
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .map(|t| crate::time::fmt_human(&t))
                .unwrap_or_else(|| "-".into()),
            subject.replace(['\t', '\n'], " "),
            why.replace(['\t', '\n'], " "),
        ));
    }
    let held = rows
        .iter()
        .filter(|r| r.status == ReceiptStatus::Held.as_str())
        .count();
    if held > 0 {
        out.push_str(&format!(
            "\n{held} 封回执待审核（发件人未通过认证）：核对后运行 kepu-intake receipts --approve ID 放行\n"
        ));
    }
    Ok(out)
}

/// `待审核 held`: the Chinese label and the stored value.
fn status_zh(s: &str) -> String {
    match ReceiptStatus::parse(s) {
        Some(st) => format!("{} {}", st.label_zh(), st.as_str()),
        None => format!("未知 {s}"),
    }
}

/// Queues a failed (or deliberately suppressed, or previewed) receipt again, due at
/// once, with the same Message-ID as before.
pub fn retry(db: &Db, id: i64) -> Result<()> {
    let r = db
        .receipt(id)?
        .ok_or_else(|| Error::Other(format!("回执 {id} 不存在 / receipt {id} not found")))?;
    match ReceiptStatus::parse(&r.status) {
        Some(ReceiptStatus::Pending) => Ok(()),
        Some(ReceiptStatus::Failed | ReceiptStatus::Suppressed | ReceiptStatus::Previewed) => {
            let was = r.reason.unwrap_or_default();
            db.receipt_requeue(id, &format!("retry requested by operator (was: {was})"))
        }
        Some(ReceiptStatus::Held) => Err(Error::Other(format!(
            "回执 {id} 待审核，请核对发件人后用 kepu-intake receipts --approve {id} 放行 / receipt {id} is held: use --approve"
        ))),
        Some(ReceiptStatus::Sent) => Err(Error::Other(format!(
            "回执 {id} 已于 {} 发送，不再重发 / receipt {id} was already sent",
            r.sent_at.unwrap_or_default()
        ))),
        _ => Err(Error::Other(format!(
            "回执 {id} 状态为 {}，不能重发 / receipt {id} is {}, cannot retry",
            r.status, r.status
        ))),
    }
}

/// Releases held receipt `id`: it becomes due now, and the row records `by` and the
/// time. The one entry point for the CLI (`receipts --approve ID --by NAME`) and the
/// operators' page.
pub fn approve_receipt(db: &Db, id: i64, by: &str) -> Result<()> {
    let by = by.trim();
    if by.is_empty() {
        return Err(Error::Other(
            "审核人不能为空 / --by NAME: who approves must be named".into(),
        ));
    }
    let r = db
        .receipt(id)?
        .ok_or_else(|| Error::Other(format!("回执 {id} 不存在 / receipt {id} not found")))?;
    if r.status != ReceiptStatus::Held.as_str() {
        return Err(Error::Other(format!(
            "回执 {id} 状态为 {}，不是待审核 held / receipt {id} is {}, not held",
            status_zh(&r.status),
            r.status
        )));
    }
    if !db.receipt_approve(id, by, &crate::time::fmt(&crate::time::now()))? {
        return Err(Error::Other(format!(
            "回执 {id} 已被他人处理 / receipt {id} changed meanwhile, run `receipts` again"
        )));
    }
    Ok(())
}
