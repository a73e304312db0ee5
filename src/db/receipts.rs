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
/// second receipt). `status` is `pending` or `suppressed`.
pub fn insert_receipt(
    tx: &Transaction<'_>,
    message: i64,
    to_addr: &str,
    status: ReceiptStatus,
    reason: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO receipts(message, to_addr, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(message) DO NOTHING")?.execute(
        params![message, to_addr, status, reason, now],
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
}

const COLUMNS: &str = "id, message, to_addr, status, reason, attempts, next_attempt_at, \
     our_message_id, smtp_reply, folded_into, created_at, sent_at";

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

    /// When the last receipt to `addr` (any case) went out, if one did.
    pub fn receipt_last_sent_to(&self, addr: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT max(sent_at) FROM receipts WHERE status = 'sent' AND lower(to_addr) = lower(?1)",
                [addr],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Times of receipts really handed to SMTP after `since` (dry runs excluded).
    pub fn receipt_sent_times_since(&self, since: &str) -> Result<Vec<String>> {
        self.rows(
            "SELECT sent_at FROM receipts WHERE status = 'sent' AND sent_at > ?1
               AND coalesce(smtp_reply, '') <> 'dry-run' ORDER BY sent_at",
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
