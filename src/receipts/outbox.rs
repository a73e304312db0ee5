//! The outbox drain: sends due receipts at most once each, within the per-sender window
//! and the global rate, and records every outcome in SQLite as it happens.
//!
//! Exactly-once, as far as SMTP allows:
//! * a row goes `pending → sending` in its own committed transaction after the server
//!   accepted MAIL and RCPT and before `DATA`; it goes `sending → sent` (with the
//!   server's reply) the moment the `250` after the body arrives;
//! * a row found in `sending` when a drain starts was left by a process that stopped
//!   mid-conversation. It is never sent again blindly: when its Message-ID is in
//!   `smtp.sent_folder` (servers such as NetEase can file SMTP mail there) it is `sent`;
//!   otherwise it becomes `failed` with an `uncertain:` reason and waits for an
//!   operator (`receipts --retry ID`, which reuses the same Message-ID so a copy that
//!   did go out can be recognised);
//! * the one window in which a duplicate is still possible: the process dies (or the
//!   connection drops) after the server has the final `.` of DATA and before the `250`
//!   is committed, and the operator then retries although the first copy arrived.
//!   A rejected `DATA` (4xx/5xx) is definite and handled like any refusal.
//!
//! Per-mailbox window (`per_sender_window_s`, 0 = off): receipts to one mailbox (case
//! and `+tag` ignored) that were queued within one window of the oldest still-unsent
//! one are folded into it (`suppressed`, `folded_into:<id>`) and that one receipt
//! covers all their messages. A receipt whose mailbox already got one less than a
//! window ago waits (stays `pending`, due when the window closes, no attempt counted)
//! and then goes out on its own. The daily and per-domain caps ([`super::caps`]) make
//! a receipt wait the same way. Only one drain may run at a time
//! ([`super::send_due`] holds the outbox lock, `.outbox.lock`).
//!
//! Dry run: the receipt is written to `<dry_run_dir>/<id>.eml` and the row becomes
//! `previewed`, never `sent`; once the mode is `send`, previewed receipts are sent like
//! pending ones, once. `held` receipts wait for [`super::approve_receipt`].
//!
//! After the sends, receipts that went out are copied to `smtp.sent_folder` over the
//! `[imap]` account ([`super::sent_folder`]), best effort.

use super::caps::{Caps, Slot};
use super::compose::{build_message, compose, our_message_id, ComposeContext, Threading};
use super::kinds::{ReceiptReason, ReceiptStatus, WAITING};
use super::policy::domain_of;
use super::smtp::{Outcome, Session};
use super::template::Template;
use crate::config::{Config, ReceiptMode};
use crate::db::receipts::ReceiptRow;
use crate::db::Db;
use crate::error::Result;
use crate::report::dump::{Dump, DumpMessage};
use chrono::{DateTime, FixedOffset};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

mod dry_run;
mod rate;
mod retry;

use dry_run::{dry_run_dir, write_eml};
use rate::RateLimiter;
#[cfg(test)]
use retry::backoff;
use retry::defer;

static DRAINING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Transient failures of one message before it is given up as `failed`.
pub const MAX_ATTEMPTS: i64 = 8;
/// Retry delays double from `[receipts] retry_after_s` up to this.
pub const MAX_BACKOFF_S: i64 = 3600;

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainStats {
    /// Accepted by the SMTP server.
    pub sent: usize,
    /// Written as `.eml` in dry-run mode (`previewed`).
    pub dry_run: usize,
    /// Waiting for the daily or per-domain cap.
    pub capped: usize,
    /// Put back with a later due time after a transient failure.
    pub deferred: usize,
    /// Refused for good, or given up.
    pub failed: usize,
    /// Folded into an earlier receipt to the same sender.
    pub folded: usize,
    /// Waiting for the per-sender window to close.
    pub waiting: usize,
    /// Found in `sending` (a process stopped mid-conversation) or lost after DATA.
    pub uncertain: usize,
    /// Due but absent from the dump (left pending).
    pub skipped: usize,
    /// The last connection-level error, if any.
    pub last_error: Option<String>,
    /// Copies stored in `smtp.sent_folder`.
    pub copied: usize,
    /// Why the Sent-folder copy failed, if it did (receipts stay `sent`).
    pub copy_error: Option<String>,
}

/// Drains the outbox now. See [`drain_at`].
pub async fn drain(
    cfg: &Config,
    db: &mut Db,
    dump: &Dump,
    shutdown: &CancellationToken,
) -> Result<DrainStats> {
    drain_at(cfg, db, dump, shutdown, crate::time::now()).await
}

/// Drains the outbox now, reading the intake state only when a receipt is due, and
/// then only the rows the due receipts speak of ([`Db::receipt_view`]): the daemon
/// drains after every processing round, and most rounds have nothing to send, so they
/// cost a query of the pending rows instead of a load of every message.
pub async fn drain_due(
    cfg: &Config,
    db: &mut Db,
    shutdown: &CancellationToken,
) -> Result<DrainStats> {
    drain_from(cfg, db, DumpSource::Load, shutdown, crate::time::now()).await
}

/// Where a drain gets the intake state its receipts are composed from.
enum DumpSource<'a> {
    /// Given by the caller, current.
    Given(&'a Dump),
    /// Loaded from the database once, when a receipt is due: the due receipts' slice.
    Load,
}

/// Drains the outbox as if the clock read `start` when it began (tests move time).
/// `dump` must be current: receipts are composed from it. Returns when nothing more
/// is due, or when `shutdown` fires (between messages, never mid-conversation).
pub async fn drain_at(
    cfg: &Config,
    db: &mut Db,
    dump: &Dump,
    shutdown: &CancellationToken,
    start: DateTime<FixedOffset>,
) -> Result<DrainStats> {
    drain_from(cfg, db, DumpSource::Given(dump), shutdown, start).await
}

async fn drain_from(
    cfg: &Config,
    db: &mut Db,
    source: DumpSource<'_>,
    shutdown: &CancellationToken,
    start: DateTime<FixedOffset>,
) -> Result<DrainStats> {
    let mut stats = DrainStats::default();
    if cfg.receipts.mode == ReceiptMode::Off {
        return Ok(stats);
    }
    // A second drain in this process would take the first one's live `sending` rows
    // for leftovers of a crash; other processes are kept out by the outbox lock.
    let _one_at_a_time = DRAINING.lock().await;
    let began = Instant::now();
    let clock = move || start + chrono::Duration::from_std(began.elapsed()).unwrap_or_default();

    recover_sending(cfg, db, &clock(), &mut stats).await?;
    let template = Template::load(cfg.receipts.template_file.as_deref())?;
    let deadline = cfg.intake.deadline().ok();
    let ctx = ComposeContext {
        template: &template,
        contact: &cfg.receipts.contact,
        deadline,
        ocr: crate::scan::ScanOptions::detect(&cfg.tools).ocr,
    };
    let window = i64::try_from(cfg.receipts.per_sender_window_s).unwrap_or(i64::MAX);
    let dry = cfg.receipts.mode == ReceiptMode::DryRun;

    // A dry run previews what is pending; sending takes the previews too, once.
    let mut wanted = vec![ReceiptStatus::Pending];
    if !dry {
        wanted.push(ReceiptStatus::Previewed);
    }
    let mut pending = db.receipts_with_status(&wanted)?;
    pending.sort_by_key(|r| r.id);
    let pending = fold_same_sender(db, pending, window, &mut stats)?;
    let now = crate::time::fmt(&clock());
    let due: Vec<ReceiptRow> = pending
        .into_iter()
        .filter(|r| {
            r.next_attempt_at
                .as_deref()
                .is_none_or(|t| t <= now.as_str())
        })
        .collect();
    if due.is_empty() {
        return Ok(stats);
    }
    let loaded;
    let dump = match source {
        DumpSource::Given(d) => d,
        DumpSource::Load => {
            let mut answered = Vec::with_capacity(due.len());
            for r in &due {
                answered.push(r.message);
                answered.extend(db.receipts_folded_into(r.id)?.iter().map(|f| f.message));
            }
            loaded = db.receipt_view(&answered)?;
            &loaded
        }
    };

    let dry_dir = dry_run_dir(cfg);
    let mut limiter = RateLimiter::new(db, cfg.receipts.max_per_minute, &clock())?;
    let mut caps = Caps::load(db, &cfg.receipts, &clock())?;
    let mut session: Option<Session> = None;
    let mut copies: Vec<Vec<u8>> = Vec::new();
    for (i, r) in due.iter().enumerate() {
        if shutdown.is_cancelled() {
            break;
        }
        if let Some(until) = window_open_until(db, r, window, dry)? {
            if until > clock() {
                let reason = format!(
                    "{WAITING}{}",
                    ReceiptReason::SenderWindow.with(format!(
                        "同一邮箱 {window} 秒内只发一封回执，{} 后发送",
                        crate::time::fmt_human(&until)
                    ))
                );
                db.receipt_defer(r.id, &crate::time::fmt(&until), &reason, None, false)?;
                stats.waiting += 1;
                continue;
            }
        }
        // A dry run sends nothing, so only sending counts against the caps.
        let domain = domain_of(&r.to_key);
        if !dry {
            if let Slot::Wait { until, reason } = caps.check(db, &domain, &clock())? {
                db.receipt_defer(r.id, &crate::time::fmt(&until), &reason, None, false)?;
                stats.capped += 1;
                continue;
            }
        }
        let Some(messages) = messages_of(db, dump, r)? else {
            tracing::warn!(
                receipt = r.id,
                message = r.message,
                "receipt skipped: message not in the dump"
            );
            stats.skipped += 1;
            continue;
        };
        let receipt = compose(&ctx, dump, &messages);
        let our_id = r
            .our_message_id
            .clone()
            .unwrap_or_else(|| our_message_id(r.id, r.message, &r.created_at));
        let answers: Vec<String> = messages
            .iter()
            .filter_map(|m| m.message_id.clone())
            .collect();
        let th = Threading {
            answers: &answers,
            our_message_id: &our_id,
            date: std::time::SystemTime::now(),
        };
        let msg = match build_message(&receipt, &cfg.smtp.from, &r.to_addr, &th) {
            Ok(m) => m,
            Err(e) => {
                db.receipt_mark_failed(r.id, &format!("compose: {e}"), None)?;
                stats.failed += 1;
                continue;
            }
        };
        let bytes = msg.formatted();

        if dry {
            write_eml(&dry_dir, r.id, &bytes)?;
            db.receipt_mark_previewed(r.id, &our_id, &crate::time::fmt(&clock()))?;
            stats.dry_run += 1;
            continue;
        }

        if !limiter.wait_for_slot(shutdown).await {
            break;
        }
        if session.as_ref().is_none_or(|s| !s.is_usable()) {
            if let Some(old) = session.take() {
                old.quit().await;
            }
            match Session::connect(&cfg.smtp).await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    // Nothing was sent: every due row backs off together, so the next
                    // drain does not hammer a server that is down.
                    let text = e.to_string();
                    tracing::warn!(error = %text, "SMTP connection failed; receipts deferred");
                    for rest in &due[i..] {
                        defer(
                            cfg,
                            db,
                            rest,
                            &format!("connect: {text}"),
                            None,
                            true,
                            &clock(),
                        )?;
                        stats.deferred += 1;
                    }
                    stats.last_error = Some(text);
                    break;
                }
            }
        }
        let Some(s) = session.as_mut() else { break };
        // Captured by value (`&mut Db`, an atomic) so the drain future stays `Send`.
        let reached_data = AtomicBool::new(false);
        let (flag, dbm, id) = (&reached_data, &mut *db, &our_id);
        let outcome = s
            .send(msg.envelope(), &bytes, move || {
                dbm.receipt_mark_sending(r.id, id)?;
                flag.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await?;
        limiter.used();
        match outcome {
            Outcome::Accepted(reply) => {
                caps.used(&domain, &clock());
                db.receipt_mark_sent(r.id, &our_id, &reply, &crate::time::fmt(&clock()))?;
                tracing::info!(receipt = r.id, to = %r.to_addr, %reply, "receipt sent");
                stats.sent += 1;
                copies.push(bytes);
            }
            Outcome::Transient(reply) => {
                if r.attempts + 1 >= MAX_ATTEMPTS {
                    let reason = format!("gave_up: {} 次尝试均失败: {reply}", r.attempts + 1);
                    db.receipt_mark_failed(r.id, &reason, Some(&reply))?;
                    stats.failed += 1;
                } else {
                    let reason = format!("deferred: {reply}");
                    let counted = !reached_data.load(Ordering::SeqCst);
                    defer(cfg, db, r, &reason, Some(&reply), counted, &clock())?;
                    stats.deferred += 1;
                }
            }
            Outcome::Permanent(reply) => {
                db.receipt_mark_failed(r.id, &format!("rejected: {reply}"), Some(&reply))?;
                tracing::warn!(receipt = r.id, to = %r.to_addr, %reply, "receipt refused");
                stats.failed += 1;
            }
            Outcome::Uncertain(err) => {
                let reason = format!(
                    "uncertain: connection lost after the message was sent, before the server's reply ({err}); check the Sent folder then run receipts --retry {}",
                    r.id
                );
                db.receipt_mark_failed(r.id, &reason, None)?;
                stats.uncertain += 1;
            }
        }
    }
    if let Some(s) = session.take() {
        s.quit().await;
    }
    if !cfg.smtp.sent_folder.is_empty() && cfg.imap.is_configured() {
        match super::sent_folder::append_copies(cfg, &copies).await {
            Ok(n) => stats.copied = n,
            Err(e) => {
                tracing::warn!(error = %e, folder = %cfg.smtp.sent_folder, "receipts not copied to the Sent folder");
                stats.copy_error = Some(e.to_string());
            }
        }
    }
    Ok(stats)
}

/// Rows a stopped process left in `sending` are never sent again blindly: one whose
/// Message-ID is in the Sent folder (filed there by the SMTP server) is `sent`; any
/// other becomes `failed` as `uncertain` for an operator to check.
async fn recover_sending(
    cfg: &Config,
    db: &mut Db,
    now: &DateTime<FixedOffset>,
    stats: &mut DrainStats,
) -> Result<()> {
    let stale = db.receipts_with_status(&[ReceiptStatus::Sending])?;
    if stale.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = stale
        .iter()
        .map(|r| r.our_message_id.clone().unwrap_or_default())
        .collect();
    let lookup = !cfg.smtp.sent_folder.is_empty() && cfg.imap.is_configured();
    let found = if lookup {
        match super::sent_folder::find_message_ids(cfg, &ids).await {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for interrupted receipts in the Sent folder");
                stats.copy_error = Some(e.to_string());
                None
            }
        }
    } else {
        None
    };
    for (i, r) in stale.iter().enumerate() {
        let in_folder = found.as_ref().is_some_and(|f| f.get(i) == Some(&true));
        if in_folder {
            let reply = format!(
                "found in Sent folder {} after restart",
                cfg.smtp.sent_folder
            );
            db.receipt_mark_sent(r.id, &ids[i], &reply, &crate::time::fmt(now))?;
            stats.sent += 1;
            continue;
        }
        let checked = if found.is_some() {
            "not found in the Sent folder; "
        } else {
            ""
        };
        let reason = format!(
            "uncertain: process stopped during SMTP; {checked}check the Sent folder then run receipts --retry {}",
            r.id
        );
        db.receipt_mark_failed(r.id, &reason, None)?;
        tracing::warn!(
            receipt = r.id,
            "receipt left in 'sending' by a stopped process marked failed (uncertain)"
        );
        stats.uncertain += 1;
    }
    Ok(())
}

/// Folds pending receipts into the oldest unsent one to the same address queued less
/// than a window before them; returns the rows that remain pending.
fn fold_same_sender(
    db: &Db,
    pending: Vec<ReceiptRow>,
    window: i64,
    stats: &mut DrainStats,
) -> Result<Vec<ReceiptRow>> {
    if window <= 0 {
        return Ok(pending);
    }
    let mut kept: Vec<ReceiptRow> = Vec::with_capacity(pending.len());
    for r in pending {
        let created = crate::time::parse_rfc3339(&r.created_at);
        let into = kept.iter().find(|e| {
            e.to_key == r.to_key
                && match (crate::time::parse_rfc3339(&e.created_at), created) {
                    (Some(a), Some(b)) => (b - a).num_seconds() <= window,
                    _ => false,
                }
        });
        match into {
            Some(e) => {
                db.receipt_fold(r.id, e.id)?;
                stats.folded += 1;
            }
            None => kept.push(r),
        }
    }
    Ok(kept)
}

/// When the mailbox's previous receipt went out (or, in a dry run, was previewed) less
/// than a window ago: the instant the window closes.
fn window_open_until(
    db: &Db,
    r: &ReceiptRow,
    window: i64,
    dry: bool,
) -> Result<Option<DateTime<FixedOffset>>> {
    if window <= 0 {
        return Ok(None);
    }
    Ok(db
        .receipt_last_sent_to(&r.to_key, dry)?
        .and_then(|t| crate::time::parse_rfc3339(&t))
        .map(|t| t + chrono::Duration::seconds(window)))
}

/// The receipt's own message, then those folded into it, from the dump.
fn messages_of<'a>(
    db: &Db,
    dump: &'a Dump,
    r: &ReceiptRow,
) -> Result<Option<Vec<&'a DumpMessage>>> {
    let find = |id: i64| dump.messages.iter().find(|m| m.id == id);
    let Some(first) = find(r.message) else {
        return Ok(None);
    };
    let mut out = vec![first];
    for f in db.receipts_folded_into(r.id)? {
        if let Some(m) = find(f.message) {
            out.push(m);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests;
