//! The receipts outbox: one row per message that is answered (or deliberately not),
//! created in the same transaction that records the message's processing. The state
//! changes of the outbox (sending, sent, deferred, failed, folded) each commit on their
//! own so a process kill leaves the row in the state it really reached.

use super::Db;
use crate::domain::ReceiptStatus;
use crate::error::{Error, Result};
use rusqlite::TransactionBehavior;
use rusqlite::{params, OptionalExtension, Row, Transaction};

/// Creates the outbox row for `message` unless one exists (reprocessing never queues a
/// second receipt). `status` is `pending`, `held` or `suppressed`. The mailbox key
/// (lower case, no `+tag`) is what the per-mailbox window counts by.
pub fn insert_receipt(
    tx: &Transaction<'_>,
    message: i64,
    to_addr: &str,
    status: ReceiptStatus,
    reason: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    let key = crate::domain::address::mailbox_key(to_addr);
    tx.prepare_cached("INSERT INTO receipts(message, to_addr, status, reason, created_at, to_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(message) DO NOTHING")?.execute(
        params![message, to_addr, status, reason, now, key],
    )?;
    Ok(())
}

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptRow {
    pub id: i64,
    pub message: i64,
    pub to_addr: String,
    pub status: ReceiptStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub our_message_id: Option<String>,
    pub smtp_reply: Option<String>,
    pub folded_into: Option<i64>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The mailbox counted by the per-mailbox window (lower case, no `+tag`).
    pub to_key: String,
    /// Who released a held receipt, and when.
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// When a dry run wrote it as a file.
    pub previewed_at: Option<String>,
}

const COLUMNS: &str = "id, message, to_addr, status, reason, attempts, next_attempt_at, \
     our_message_id, smtp_reply, folded_into, created_at, sent_at, \
     coalesce(to_key, lower(to_addr)), approved_by, approved_at, previewed_at";

fn row(r: &Row<'_>) -> rusqlite::Result<ReceiptRow> {
    Ok(ReceiptRow {
        id: r.get(0)?,
        message: r.get(1)?,
        to_addr: r.get(2)?,
        status: r.get(3)?,
        reason: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        our_message_id: r.get(7)?,
        smtp_reply: r.get(8)?,
        folded_into: r.get(9)?,
        created_at: r.get(10)?,
        sent_at: r.get(11)?,
        to_key: r.get(12)?,
        approved_by: r.get(13)?,
        approved_at: r.get(14)?,
        previewed_at: r.get(15)?,
    })
}

impl Db {
    /// Queues a receipt outside the pipeline (operator tools, tests): the same insert
    /// as [`insert_receipt`] in its own transaction.
    pub fn receipt_insert(
        &mut self,
        message: i64,
        to_addr: &str,
        status: ReceiptStatus,
        reason: Option<&str>,
        now: &str,
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::db(&path, e))?;
        insert_receipt(&tx, message, to_addr, status, reason, now)
            .map_err(|e| Error::db(&path, e))?;
        tx.commit().map_err(|e| Error::db(&path, e))
    }

    pub fn receipt(&self, id: i64) -> Result<Option<ReceiptRow>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM receipts WHERE id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn receipt_for_message(&self, message: i64) -> Result<Option<ReceiptRow>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM receipts WHERE message = ?1"),
                [message],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Rows in one of `statuses`, oldest first.
    pub fn receipts_with_status(&self, statuses: &[ReceiptStatus]) -> Result<Vec<ReceiptRow>> {
        let list = serde_json::to_string(statuses).unwrap_or_else(|_| "[]".into());
        self.rows(
            &format!(
                "SELECT {COLUMNS} FROM receipts
                 WHERE status IN (SELECT value FROM json_each(?1)) ORDER BY id"
            ),
            [list],
            row,
        )
    }

    /// Rows folded into receipt `id` (their messages are answered by it).
    pub fn receipts_folded_into(&self, id: i64) -> Result<Vec<ReceiptRow>> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM receipts WHERE folded_into = ?1 ORDER BY id"),
            [id],
            row,
        )
    }

    /// When the earliest deferred receipt falls due (pending rows with a retry time), so
    /// the daemon can wake for it instead of waiting for new mail.
    pub fn receipt_next_due(&self) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT min(next_attempt_at) FROM receipts WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// When the last receipt to mailbox `key` (see [`crate::receipts::policy::mailbox_key`])
    /// went out, if one did; with `previewed`, a dry run's file counts as sent.
    pub fn receipt_last_sent_to(&self, key: &str, previewed: bool) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT max(CASE WHEN status = 'sent' THEN sent_at
                                 WHEN ?2 AND status = 'previewed' THEN previewed_at END)
                 FROM receipts WHERE coalesce(to_key, lower(to_addr)) = ?1",
                params![key, previewed],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// How many receipts and reminders really went out since `since` (for `[receipts]
    /// max_per_day`: one mailbox, one allowance).
    pub fn receipt_sent_count_since(&self, since: &str) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM receipts WHERE status = 'sent' AND sent_at >= ?1
                           AND coalesce(smtp_reply, '') <> 'dry-run')
                      + (SELECT count(*) FROM reminders WHERE status = 'sent' AND sent_at >= ?1
                           AND coalesce(smtp_reply, '') <> 'dry-run')",
                [since],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Times of receipts and reminders sent to addresses at `domain` after `since`, oldest
    /// first (for `[receipts] max_per_domain_per_hour`).
    pub fn receipt_sent_times_to_domain_since(
        &self,
        domain: &str,
        since: &str,
    ) -> Result<Vec<String>> {
        self.rows(
            "SELECT sent_at FROM receipts WHERE status = 'sent' AND sent_at > ?2
               AND coalesce(smtp_reply, '') <> 'dry-run'
               AND substr(coalesce(to_key, lower(to_addr)),
                          instr(coalesce(to_key, lower(to_addr)), '@') + 1) = ?1
             UNION ALL
             SELECT sent_at FROM reminders WHERE status = 'sent' AND sent_at > ?2
               AND coalesce(smtp_reply, '') <> 'dry-run'
               AND substr(lower(to_addr), instr(lower(to_addr), '@') + 1) = ?1
             ORDER BY sent_at",
            params![domain, since],
            |r| r.get(0),
        )
    }

    /// A dry run wrote the receipt to a file: `previewed`, never `sent`, so a later
    /// `send` mode still sends it (once).
    pub fn receipt_mark_previewed(&self, id: i64, our_message_id: &str, now: &str) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'previewed', our_message_id = ?2, previewed_at = ?3,
               next_attempt_at = NULL WHERE id = ?1",
            params![id, our_message_id, now],
        )
    }

    /// An operator released held receipt `id`: due now, with who and when recorded.
    /// False when the row is not held (nothing changed).
    pub fn receipt_approve(&self, id: i64, by: &str, now: &str) -> Result<bool> {
        self.conn
            .execute(
                "UPDATE receipts SET status = 'pending', approved_by = ?2, approved_at = ?3,
                   reason = 'approved by ' || ?2 || ' (was: ' || coalesce(reason, '') || ')',
                   next_attempt_at = NULL WHERE id = ?1 AND status = 'held'",
                params![id, by, now],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Pending receipts waiting for a cap, by reason code (`waiting:<code>: …`).
    pub fn receipts_waiting(&self) -> Result<Vec<(String, usize)>> {
        self.rows(
            "SELECT substr(reason, 9, instr(substr(reason, 9), ':') - 1) AS code, count(*)
             FROM receipts WHERE status = 'pending' AND reason LIKE 'waiting:%:%'
             GROUP BY code ORDER BY code",
            [],
            |r| Ok((r.get(0)?, usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0))),
        )
    }

    /// Times of receipts and reminders really handed to SMTP after `since` (dry runs
    /// excluded).
    pub fn receipt_sent_times_since(&self, since: &str) -> Result<Vec<String>> {
        self.rows(
            "SELECT sent_at FROM receipts WHERE status = 'sent' AND sent_at > ?1
               AND coalesce(smtp_reply, '') <> 'dry-run'
             UNION ALL
             SELECT sent_at FROM reminders WHERE status = 'sent' AND sent_at > ?1
               AND coalesce(smtp_reply, '') <> 'dry-run'
             ORDER BY sent_at",
            [since],
            |r| r.get(0),
        )
    }

    /// Durably notes that the SMTP conversation for `id` is about to send DATA. Counts
    /// the attempt and fixes our Message-ID so a retry reuses it.
    pub fn receipt_mark_sending(&self, id: i64, our_message_id: &str) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'sending', attempts = attempts + 1, our_message_id = ?2
             WHERE id = ?1",
            params![id, our_message_id],
        )
    }

    /// The server accepted the message (or a dry run wrote it).
    pub fn receipt_mark_sent(
        &self,
        id: i64,
        our_message_id: &str,
        reply: &str,
        now: &str,
    ) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'sent', our_message_id = ?2, smtp_reply = ?3, sent_at = ?4,
               next_attempt_at = NULL WHERE id = ?1",
            params![id, our_message_id, reply, now],
        )
    }

    /// Back to `pending`, due again at `next`. `count_attempt` is false when nothing was
    /// tried (the sender's window is still open).
    pub fn receipt_defer(
        &self,
        id: i64,
        next: &str,
        reason: &str,
        reply: Option<&str>,
        count_attempt: bool,
    ) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'pending', next_attempt_at = ?2, reason = ?3,
               smtp_reply = coalesce(?4, smtp_reply), attempts = attempts + ?5 WHERE id = ?1",
            params![id, next, reason, reply, i64::from(count_attempt)],
        )
    }

    /// Final failure: the operator decides (see `receipts --retry`).
    pub fn receipt_mark_failed(&self, id: i64, reason: &str, reply: Option<&str>) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'failed', reason = ?2, smtp_reply = coalesce(?3, smtp_reply),
               next_attempt_at = NULL WHERE id = ?1",
            params![id, reason, reply],
        )
    }

    /// Receipt `id` is answered by receipt `into` (same sender, same window).
    pub fn receipt_fold(&self, id: i64, into: i64) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'suppressed', folded_into = ?2,
               reason = 'folded_into:' || ?2, next_attempt_at = NULL WHERE id = ?1",
            params![id, into],
        )
    }

    /// Puts a failed or suppressed receipt back in the queue, due now. Keeps its
    /// Message-ID, so a copy that did go out earlier has the same id as the new one.
    pub fn receipt_requeue(&self, id: i64, reason: &str) -> Result<()> {
        self.update(
            "UPDATE receipts SET status = 'pending', reason = ?2, attempts = 0,
               next_attempt_at = NULL, folded_into = NULL WHERE id = ?1",
            params![id, reason],
        )
    }

    /// Sender, subject and received time of a message, for operator tables.
    pub fn receipt_message_summary(&self, message: i64) -> Result<Option<(String, String)>> {
        self.conn
            .query_row(
                "SELECT coalesce(subject, ''), received_at FROM messages WHERE id = ?1",
                [message],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn update(&self, sql: &str, p: impl rusqlite::Params) -> Result<()> {
        self.conn
            .execute(sql, p)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
