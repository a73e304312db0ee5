//! Refreshing the drafts and sending the approved reminders (approval, with who and
//! its audit row, is [`crate::office::approve_reminders`]). The send
//! ([`send_approved`], run by the outbox, [`super::outbox`]) goes through the receipts' SMTP session and message builder
//! with the same exactly-once marks as the receipts outbox (`sending` committed before
//! DATA, `sent` the moment the `250` arrives, a row left in `sending` by a stopped
//! process becomes `failed` and is never sent again blindly), the same `[receipts]
//! mode` (off: nothing leaves; dry-run: `.eml` files) and the same caps: per minute,
//! per day and per recipient domain (a reminder over a cap stays approved and waits for
//! the outbox's next round).
//! Reminders live in their own table because a receipt row belongs to one received
//! message, and a unit that sent nothing has none. Before each send the reason is
//! checked again: an application that became complete gets no reminder.

use super::{due, Reminder, ReminderStatus};
use crate::call::Call;
use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::receipts::caps::{Caps, Slot};
use crate::receipts::compose::Receipt;
use crate::receipts::message::{build_message, Threading};
use crate::receipts::smtp::{Outcome, Session};
use crate::report::dump::Dump;
use crate::roster::Roster;
use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// What one send did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendStats {
    pub sent: usize,
    pub dry_run: usize,
    pub failed: usize,
    /// No longer needed (the application became complete) — not sent.
    pub cancelled: usize,
    /// Left queued: receipts (and so reminders) are off, or a transient failure.
    pub waiting: usize,
}

/// The reminders of the intake now: drafts recomputed and stored, then every row.
pub fn refresh(
    cfg: &Config,
    call: &Call,
    db: &mut Db,
    dump: &Dump,
    roster: &Roster,
    now: &DateTime<FixedOffset>,
) -> Result<Vec<Reminder>> {
    sync_drafts(cfg, call, db, dump, roster, now)?;
    db.reminders()
}

/// The drafts (`due` reminders) recomputed from `dump` and stored; nothing else changes.
pub fn sync_drafts(
    cfg: &Config,
    call: &Call,
    db: &mut Db,
    dump: &Dump,
    roster: &Roster,
    now: &DateTime<FixedOffset>,
) -> Result<()> {
    let cands = due::candidates(
        call,
        dump,
        roster,
        &cfg.receipts.contact,
        &cfg.intake.own_addresses,
    );
    let history = db.reminders()?;
    let drafts = due::due(cands, &cfg.remind, &call.deadline, now, &history);
    db.reminders_sync_due(&drafts, &crate::time::fmt(now))
}

fn our_message_id(r: &Reminder) -> String {
    let digest = Sha256::digest(format!("{}|{}|{}", r.id, r.to, r.created_at).as_bytes());
    format!(
        "<reminder-{}-{}@kepu-intake.local>",
        r.id,
        hex::encode(&digest[..4])
    )
}

/// Sends the approved reminders whose reason still holds.
pub async fn send_approved(
    cfg: &Config,
    call: &Call,
    db: &mut Db,
    dump: &Dump,
    roster: &Roster,
    shutdown: &CancellationToken,
) -> Result<SendStats> {
    let mut stats = SendStats::default();
    let now = || crate::time::fmt(&crate::time::now());
    for r in db
        .reminders()?
        .iter()
        .filter(|r| r.status == ReminderStatus::Sending)
    {
        db.reminder_mark(
            r.id,
            ReminderStatus::Failed,
            Some("uncertain: process stopped during SMTP; check the Sent folder"),
            None,
            None,
        )?;
        stats.failed += 1;
    }
    let still = due::candidates(
        call,
        dump,
        roster,
        &cfg.receipts.contact,
        &cfg.intake.own_addresses,
    );
    let queued: Vec<Reminder> = db
        .reminders()?
        .into_iter()
        .filter(|r| r.status == ReminderStatus::Queued)
        .collect();
    let mut session: Option<Session> = None;
    // The receipts' daily and per-domain caps: one mailbox, one allowance.
    let mut caps = Caps::load(db, &cfg.receipts, &crate::time::now())?;
    // The receipts' per-minute cap counts the receipts sent in the last minute too.
    let mut last_sends: std::collections::VecDeque<std::time::Instant> = Default::default();
    if cfg.receipts.max_per_minute > 0 {
        let now_t = crate::time::now();
        let since = crate::time::fmt(&(now_t - chrono::Duration::seconds(60)));
        for t in db.receipt_sent_times_since(&since)? {
            if let Some(t) = crate::time::parse_rfc3339(&t) {
                let ago = (now_t - t).to_std().unwrap_or_default();
                let at = std::time::Instant::now().checked_sub(ago);
                last_sends.extend(at);
            }
        }
    }
    for r in queued {
        if shutdown.is_cancelled() {
            break;
        }
        if !still
            .iter()
            .any(|d| d.same(&r.to, r.reason, r.app_key.as_deref(), r.unit.as_deref()))
        {
            db.reminder_mark(
                r.id,
                ReminderStatus::Cancelled,
                Some("no longer needed: 材料已齐全"),
                None,
                None,
            )?;
            stats.cancelled += 1;
            continue;
        }
        if cfg.receipts.mode == ReceiptMode::Off {
            stats.waiting += 1;
            continue;
        }
        let id = our_message_id(&r);
        let th = Threading {
            answers: &[],
            our_message_id: &id,
            date: std::time::SystemTime::now(),
        };
        let text = Receipt {
            subject: r.subject.clone(),
            body: r.body.clone(),
        };
        let msg = match build_message(&text, &cfg.smtp.from, &r.to, &th) {
            Ok(m) => m,
            Err(e) => {
                db.reminder_mark(
                    r.id,
                    ReminderStatus::Failed,
                    Some(&format!("compose: {e}")),
                    None,
                    None,
                )?;
                stats.failed += 1;
                continue;
            }
        };
        let bytes = msg.formatted();
        if cfg.receipts.mode == ReceiptMode::DryRun {
            let dir = cfg
                .receipts
                .dry_run_dir
                .clone()
                .unwrap_or_else(|| cfg.storage.data_dir.join("receipts-dry-run"));
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let path = dir.join(format!("reminder-{}.eml", r.id));
            std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
            db.reminder_mark(
                r.id,
                ReminderStatus::Sent,
                Some("dry-run"),
                Some(&now()),
                Some(&id),
            )?;
            stats.dry_run += 1;
            continue;
        }
        let domain = crate::receipts::policy::domain_of(&r.to);
        if let Slot::Wait { reason, .. } = caps.check(db, &domain, &crate::time::now())? {
            // Stays approved; the outbox's next round after the cap frees sends it.
            db.reminder_mark(r.id, ReminderStatus::Queued, Some(&reason), None, None)?;
            stats.waiting += 1;
            continue;
        }
        // The receipts' per-minute cap, applied to this run's reminders.
        let cap = cfg.receipts.max_per_minute as usize;
        if cap > 0 {
            while last_sends
                .front()
                .is_some_and(|t| t.elapsed().as_secs() >= 60)
            {
                last_sends.pop_front();
            }
            if last_sends.len() >= cap {
                if let Some(first) = last_sends.front() {
                    let wait = std::time::Duration::from_secs(60).saturating_sub(first.elapsed());
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
        }
        if session.as_ref().is_none_or(|s| !s.is_usable()) {
            match Session::connect(&cfg.smtp).await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP connection failed; reminders stay queued");
                    // The reply marks it tried: the daemon retries at its next round
                    // instead of every time it looks for new work.
                    db.reminder_mark(
                        r.id,
                        ReminderStatus::Queued,
                        Some(&format!("SMTP: {e}")),
                        None,
                        None,
                    )?;
                    stats.waiting += 1;
                    break;
                }
            }
        }
        let Some(s) = session.as_mut() else { break };
        let dbm = &*db;
        let rid = r.id;
        let idref = &id;
        let outcome = s
            .send(msg.envelope(), &bytes, move || {
                dbm.reminder_mark(rid, ReminderStatus::Sending, None, None, Some(idref))
            })
            .await?;
        last_sends.push_back(std::time::Instant::now());
        match outcome {
            Outcome::Accepted(reply) => {
                caps.used(&domain, &crate::time::now());
                db.reminder_mark(
                    r.id,
                    ReminderStatus::Sent,
                    Some(&reply),
                    Some(&now()),
                    Some(&id),
                )?;
                tracing::info!(reminder = r.id, to = %r.to, "reminder sent");
                stats.sent += 1;
            }
            Outcome::Transient(reply) => {
                db.reminder_mark(r.id, ReminderStatus::Queued, Some(&reply), None, None)?;
                stats.waiting += 1;
            }
            Outcome::Permanent(reply) => {
                db.reminder_mark(
                    r.id,
                    ReminderStatus::Failed,
                    Some(&format!("rejected: {reply}")),
                    None,
                    None,
                )?;
                stats.failed += 1;
            }
            Outcome::Uncertain(err) => {
                let why =
                    format!("uncertain: connection lost after DATA ({err}); check the Sent folder");
                db.reminder_mark(r.id, ReminderStatus::Failed, Some(&why), None, None)?;
                stats.failed += 1;
            }
        }
    }
    if let Some(s) = session.take() {
        s.quit().await;
    }
    Ok(stats)
}
