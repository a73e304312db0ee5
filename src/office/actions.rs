//! The office's decisions: review, late excuse, scan match, soft removal. Each is one
//! audited write followed, where the applications depend on it, by their rebuild.

use super::{AuditAction, ReviewState, Target};
use crate::db::office::NewAudit;
use crate::db::Db;
use crate::domain::DocKind;
use crate::error::{Error, Result};

fn no_app(id: i64) -> Error {
    Error::Other(format!(
        "没有编号为 a{id} 的申报 / no application {id}: 用 `kepu-intake list` 查看编号"
    ))
}

/// Sets the office's decision on application `id`: `note` is kept with it (a 退回
/// without one says nothing to the applicant, so the page asks for one).
pub fn review(db: &mut Db, id: i64, state: ReviewState, note: &str, by: &str) -> Result<()> {
    let note = note.trim();
    db.set_review(id, state, note, by, |_, before| {
        let was = before.map_or(ReviewState::Pending, |b| b.state).label_zh();
        let mut d = format!("{was} → {}", state.label_zh());
        if !note.is_empty() {
            d.push_str(&format!("（备注：{note}）"));
        }
        d
    })?
    .ok_or_else(|| no_app(id))?;
    Ok(())
}

/// Excuses the lateness of application `id` with `reason` (Some), or withdraws the
/// excuse (None). The `late` flag stays; the excuse is shown beside it.
pub fn late_excuse(db: &mut Db, id: i64, reason: Option<&str>, by: &str) -> Result<()> {
    let reason = reason.map(str::trim);
    if reason.is_some_and(str::is_empty) {
        return Err(Error::Other(
            "late --excuse: 请写明理由 / give a reason (e.g. \"23:58 发出，服务器 00:00:01 收到\")"
                .into(),
        ));
    }
    let key = db
        .set_late_excuse(id, reason, by, |_, before| {
            let was =
                before.map_or_else(|| "逾期".to_string(), |b| format!("已准许（{}）", b.reason));
            match reason {
                Some(r) => format!("{was} → 已准许（{r}）"),
                None => format!("{was} → 逾期（撤销准许）"),
            }
        })?
        .ok_or_else(|| no_app(id))?;
    if !key.late && reason.is_some() {
        tracing::info!(
            app = id,
            "late excuse recorded for an application that is not late"
        );
    }
    Ok(())
}

/// What [`set_match`] does to a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchChange {
    /// The scan belongs to this electronic document.
    To(i64),
    /// The scan matches nothing (keeps automatic matching off it).
    Nothing,
    /// Forget the operator's decision: automatic matching decides again.
    Automatic,
}

fn doc_of_kind(db: &Db, id: i64, want: DocKind) -> Result<String> {
    let (sha, kind) = db.document_sha_kind(id)?.ok_or_else(|| {
        Error::Other(format!(
            "没有编号为 d{id} 的文件 / no document {id}: 用 `kepu-intake show m…` 查看文件编号"
        ))
    })?;
    if kind != want {
        let what = if want == DocKind::Scan {
            "扫描件 scan"
        } else {
            "电子版申报表 electronic form"
        };
        return Err(Error::Other(format!(
            "文件 d{id} 不是{what}（它是 {kind}）/ document {id} is not a {}",
            want.as_str()
        )));
    }
    Ok(sha)
}

/// Matches scan `scan` to an electronic version (or to nothing, or back to automatic),
/// kept by content so it survives `reprocess --all`; then rebuilds the applications.
pub fn set_match(
    db: &mut Db,
    threshold: f64,
    scan: i64,
    change: MatchChange,
    by: &str,
) -> Result<()> {
    let scan_sha = doc_of_kind(db, scan, DocKind::Scan)?;
    let (e_sha, after) = match change {
        MatchChange::To(e) => (
            Some(doc_of_kind(db, e, DocKind::Electronic)?),
            format!("d{e}"),
        ),
        MatchChange::Nothing => (None, "不匹配任何电子版".to_string()),
        MatchChange::Automatic => (None, "自动匹配".to_string()),
    };
    let before = db
        .scan_of(scan)?
        .map_or_else(|| "未匹配".to_string(), |e| format!("d{e}"));
    db.set_manual_match_audited(
        &scan_sha,
        e_sha.as_deref(),
        change == MatchChange::Automatic,
        NewAudit {
            user: by.to_string(),
            action: AuditAction::Match,
            target: format!("d{scan}"),
            detail: format!("{before} → {after}"),
        },
    )?;
    crate::pipeline::rebuild_applications(db, threshold)
}

/// Hides message `id` (junk, a test mail) from counts and applications; its raw mail
/// and documents stay on disk and [`restore`] brings it back. Kept by content, so it
/// survives `reprocess --all`.
pub fn soft_remove(db: &mut Db, threshold: f64, id: i64, reason: &str, by: &str) -> Result<bool> {
    set_removed(db, threshold, id, true, reason, by)
}

/// Undoes [`soft_remove`].
pub fn restore(db: &mut Db, threshold: f64, id: i64, by: &str) -> Result<bool> {
    set_removed(db, threshold, id, false, "", by)
}

fn set_removed(
    db: &mut Db,
    threshold: f64,
    id: i64,
    remove: bool,
    reason: &str,
    by: &str,
) -> Result<bool> {
    let changed = db
        .set_removed(id, remove, reason.trim(), by)?
        .ok_or_else(|| {
            Error::Other(format!(
                "没有编号为 m{id} 的邮件 / no message {id}: 用 `kepu-intake dump --json` 查看编号"
            ))
        })?;
    if changed {
        crate::pipeline::rebuild_applications(db, threshold)?;
    }
    Ok(changed)
}

/// Queues a failed, suppressed or previewed receipt again (`receipts --retry`, the
/// page's button) through the receipts module's one [`crate::receipts::retry`], with its
/// audit row; the running daemon sends it within seconds.
pub fn retry_receipt(db: &mut Db, id: i64, by: &str) -> Result<()> {
    let before = receipt_status(db, id)?;
    crate::receipts::retry(db, id)?;
    let after = receipt_status(db, id)?;
    super::audit(
        db,
        by,
        AuditAction::ReceiptRetry,
        Target::Receipt(id),
        &format!("{before} → {after}（重新排队）"),
    )
}

/// Releases held receipt `id` (`receipts --approve`, the page) through the receipts
/// module's one [`crate::receipts::approve_receipt`], with its audit row.
pub fn approve_receipt(db: &mut Db, id: i64, by: &str) -> Result<()> {
    crate::receipts::approve_receipt(db, id, by)?;
    let after = receipt_status(db, id)?;
    super::audit(
        db,
        by.trim(),
        AuditAction::ReceiptApprove,
        Target::Receipt(id),
        &format!(
            "{} → {after}（放行）",
            crate::domain::ReceiptStatus::Held.label_zh()
        ),
    )
}

/// A receipt's status as clerks read it, for the audit's before and after.
fn receipt_status(db: &Db, id: i64) -> Result<&'static str> {
    Ok(db
        .receipt(id)?
        .map_or(crate::domain::ReceiptStatus::None, |r| r.status)
        .label_zh())
}

/// The receipt row answering message `message` (the page names receipts by message).
pub fn receipt_of_message(db: &Db, message: i64) -> Result<i64> {
    db.receipt_for_message(message)?
        .map(|r| r.id)
        .ok_or_else(|| {
            Error::Other(format!(
                "邮件 m{message} 没有回执 / message {message} has no receipt: 用 `kepu-intake receipts` 查看回执"
            ))
        })
}

/// `import --into` and the page's upload: files for message `message` taken in by
/// [`crate::import::import_into`] (the one implementation), with the audit row
/// (action `import`, target the message) under `by`. The message is processed again by
/// the caller, or by the running daemon, which wakes for unprocessed mail.
pub fn import_into(
    db: &mut Db,
    store: &crate::store::Store,
    message: i64,
    paths: &[std::path::PathBuf],
    by: &str,
) -> Result<crate::import::IntoReport> {
    let report = crate::import::import_into(message, paths, db, store)?;
    super::audit(
        db,
        by,
        AuditAction::Import,
        Target::Message(report.message),
        &report.audit_detail(),
    )?;
    Ok(report)
}
