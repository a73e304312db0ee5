//! Roster attributions decided by operators and the reminders outbox (issue 19). An
//! attribution is keyed by content (form + applicant key) so it survives `reprocess`;
//! a reminder row goes due → queued (approved, with who) → sending → sent | failed, or
//! cancelled when it is no longer needed, each change committed on its own. An
//! operator's attribution and approval commit with their audit rows.

use super::office::{write_audit, NewAudit};
use super::Db;
use crate::domain::application::Assignment;
use crate::domain::reminder::{Draft, Reminder};
use crate::domain::ReminderStatus;
use crate::error::{Error, Result};
use rusqlite::{params, Row, TransactionBehavior};

const COLUMNS: &str = "id, to_addr, application, app_key, unit, reason, status, subject, body, \
     approved_by, approved_at, sent_at, smtp_reply, our_message_id, created_at";

fn reminder(r: &Row<'_>) -> rusqlite::Result<Reminder> {
    Ok(Reminder {
        id: r.get(0)?,
        to: r.get(1)?,
        application: r.get(2)?,
        app_key: r.get(3)?,
        unit: r.get(4)?,
        reason: r.get(5)?,
        status: r.get(6)?,
        subject: r.get(7)?,
        body: r.get(8)?,
        approved_by: r.get(9)?,
        approved_at: r.get(10)?,
        sent_at: r.get(11)?,
        smtp_reply: r.get(12)?,
        our_message_id: r.get(13)?,
        created_at: r.get(14)?,
    })
}

impl Db {
    /// Operators' attributions.
    pub fn roster_assignments(&self) -> Result<Vec<Assignment>> {
        self.rows(
            "SELECT form, applicant_key, unit, by_user, at FROM roster_assignments ORDER BY at",
            [],
            |r| {
                Ok(Assignment {
                    form: r.get(0)?,
                    applicant_key: r.get(1)?,
                    unit: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                })
            },
        )
    }

    /// Records (or replaces) an operator's attribution, with its audit row in the same
    /// transaction.
    pub fn roster_assign(&mut self, a: &Assignment, audit: NewAudit) -> Result<()> {
        self.audited(|tx, _| {
            tx.execute(
                "INSERT INTO roster_assignments(form, applicant_key, unit, by_user, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(form, applicant_key) DO UPDATE SET unit = ?3, by_user = ?4, at = ?5",
                params![a.form, a.applicant_key, a.unit, a.by, a.at],
            )?;
            Ok(Some(((), audit)))
        })
        .map(|_| ())
    }

    /// Whether an approved reminder waits for its first send attempt (a reminder a cap
    /// or a transient SMTP answer sent back to `queued` carries that reply and waits for
    /// the next round instead).
    pub fn reminders_newly_queued(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM reminders WHERE status = ?1 AND smtp_reply IS NULL)",
                [ReminderStatus::Queued],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Whether any reminder is approved and not yet sent (or left `sending`).
    pub fn reminders_waiting(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM reminders WHERE status IN (?1, ?2))",
                [ReminderStatus::Queued, ReminderStatus::Sending],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Every reminder, oldest first.
    pub fn reminders(&self) -> Result<Vec<Reminder>> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM reminders ORDER BY id"),
            [],
            reminder,
        )
    }

    /// Makes the stored drafts (`due` rows) equal to `drafts`: new ones inserted, ones
    /// no longer due deleted, the text of the others refreshed. One transaction.
    pub fn reminders_sync_due(&mut self, drafts: &[Draft], now: &str) -> Result<()> {
        let path = self.path.clone();
        let e = |e| Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let stored: Vec<Reminder> = {
            let mut st = tx
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM reminders WHERE status = ?1"
                ))
                .map_err(e)?;
            let rows = st.query_map([ReminderStatus::Due], reminder).map_err(e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(e)?
        };
        for s in &stored {
            let keep = drafts
                .iter()
                .find(|d| d.same(&s.to, s.reason, s.app_key.as_deref(), s.unit.as_deref()));
            match keep {
                Some(d) => tx.execute(
                    "UPDATE reminders SET subject = ?2, body = ?3, application = ?4 WHERE id = ?1",
                    params![s.id, d.subject, d.body, d.application],
                ),
                None => tx.execute("DELETE FROM reminders WHERE id = ?1", [s.id]),
            }
            .map_err(e)?;
        }
        for d in drafts {
            let known = stored
                .iter()
                .any(|s| d.same(&s.to, s.reason, s.app_key.as_deref(), s.unit.as_deref()));
            if !known {
                tx.execute(
                    "INSERT INTO reminders(to_addr, application, app_key, unit, reason, status,
                       subject, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?9, ?6, ?7, ?8)",
                    params![
                        d.to,
                        d.application,
                        d.app_key,
                        d.unit,
                        d.reason,
                        d.subject,
                        d.body,
                        now,
                        ReminderStatus::Due
                    ],
                )
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Approves due reminders (all when `ids` is empty): `queued`, with who and when,
    /// each with the audit row `audit(id)` in the same transaction. Returns the ids
    /// approved.
    pub fn reminders_approve(
        &mut self,
        ids: &[i64],
        by: &str,
        now: &str,
        audit: impl Fn(i64) -> NewAudit,
    ) -> Result<Vec<i64>> {
        let path = self.path.clone();
        let e = |e| Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let due: Vec<i64> = {
            let mut st = tx
                .prepare("SELECT id FROM reminders WHERE status = ?1 ORDER BY id")
                .map_err(e)?;
            let rows = st
                .query_map([ReminderStatus::Due], |r| r.get(0))
                .map_err(e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(e)?
        };
        let chosen: Vec<i64> = if ids.is_empty() {
            due
        } else {
            due.into_iter().filter(|i| ids.contains(i)).collect()
        };
        for id in &chosen {
            tx.execute(
                "UPDATE reminders SET status = ?4, approved_by = ?2, approved_at = ?3 WHERE id = ?1",
                params![id, by, now, ReminderStatus::Queued],
            )
            .map_err(e)?;
            write_audit(&tx, &audit(*id), now).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(chosen)
    }

    /// Sets a reminder's state; `reply`, `sent_at` and our Message-ID are kept when None.
    pub fn reminder_mark(
        &self,
        id: i64,
        state: ReminderStatus,
        reply: Option<&str>,
        sent_at: Option<&str>,
        our_message_id: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE reminders SET status = ?2, smtp_reply = coalesce(?3, smtp_reply),
                   sent_at = coalesce(?4, sent_at), our_message_id = coalesce(?5, our_message_id)
                 WHERE id = ?1",
                params![id, state, reply, sent_at, our_message_id],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
