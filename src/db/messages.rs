//! Message rows and the per-mailbox cursor. A batch of fetched messages and the cursor
//! advance commit in one transaction, so a message counts as received exactly when its
//! row exists, and a (mailbox, UIDVALIDITY, UID) is never recorded twice.

use super::{from_json_list, to_json_list, Db};
use crate::error::Result;
use rusqlite::TransactionBehavior;
use rusqlite::{params, OptionalExtension, Transaction};

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Imap {
        mailbox: String,
        uidvalidity: u32,
        uid: u32,
    },
    Import {
        path: String,
    },
}

/// A message ready to be recorded (its raw bytes already durable in the store).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub origin: Origin,
    pub sha256: String,
    pub body_sha256: String,
    pub size: i64,
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    pub received_at: String,
    pub received_estimated: bool,
    pub date_header: Option<String>,
    pub late: bool,
    pub problems: Vec<String>,
    pub recorded_at: String,
}

/// What recording one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new row.
    New(i64),
    /// A new row for the same mail as an earlier one (`duplicate_of`).
    Duplicate { id: i64, of: i64 },
    /// The (mailbox, UIDVALIDITY, UID) or import was already recorded: nothing written.
    AlreadyKnown(i64),
    /// Same bytes seen under an earlier UIDVALIDITY: the old row now carries the new UID.
    Rekeyed(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// Per-message data the pipeline needs to process it.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub id: i64,
    pub sha256: String,
    pub duplicate_of: Option<i64>,
    pub late: bool,
}

impl Db {
    pub fn cursor(&self, mailbox: &str) -> Result<Option<Cursor>> {
        self.conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1",
                [mailbox],
                |r| {
                    Ok(Cursor {
                        uidvalidity: r.get(0)?,
                        last_uid: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records a batch and advances the cursor in one transaction.
    pub fn record_batch(
        &mut self,
        batch: &[NewMessage],
        cursor: Option<(&str, Cursor)>,
    ) -> Result<Vec<Recorded>> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut out = Vec::with_capacity(batch.len());
        for m in batch {
            out.push(record_one(&tx, m).map_err(err)?);
        }
        if let Some((mailbox, c)) = cursor {
            tx.execute(
                "INSERT INTO mailbox_state(mailbox, uidvalidity, last_uid, last_poll_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                   last_uid = excluded.last_uid, last_poll_at = excluded.last_poll_at",
                params![mailbox, c.uidvalidity, c.last_uid, crate::time::fmt(&crate::time::now())],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Notes a successful poll (health: `status` warns when it grows stale).
    pub fn touch_poll(&self, mailbox: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE mailbox_state SET last_poll_at = ?2 WHERE mailbox = ?1",
                params![mailbox, crate::time::fmt(&crate::time::now())],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn last_poll(&self) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT max(last_poll_at) FROM mailbox_state", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Messages not yet through the pipeline, oldest first.
    pub fn pending_messages(&self) -> Result<Vec<PendingMessage>> {
        self.select_messages("WHERE processed_at IS NULL")
    }

    /// Every message (for `reprocess --all`).
    /// Whether work waits for the daemon: a message not yet processed, or (when
    /// `receipts`) a pending receipt due by `now`. Both use small indexes.
    pub fn work_waiting(&self, receipts: bool, now: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM messages WHERE processed_at IS NULL)
                     OR (?1 AND EXISTS (SELECT 1 FROM receipts WHERE status = 'pending'
                          AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)))",
                params![receipts, now],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    pub fn all_messages(&self) -> Result<Vec<PendingMessage>> {
        self.select_messages("")
    }

    pub fn message_by_id(&self, id: i64) -> Result<Option<PendingMessage>> {
        Ok(self
            .select_messages(&format!("WHERE id = {id}"))?
            .into_iter()
            .next())
    }

    fn select_messages(&self, filter: &str) -> Result<Vec<PendingMessage>> {
        let sql = format!(
            "SELECT id, sha256, duplicate_of, late FROM messages {filter} ORDER BY received_at, id"
        );
        self.rows(&sql, [], |r| {
            Ok(PendingMessage {
                id: r.get(0)?,
                sha256: r.get(1)?,
                duplicate_of: r.get(2)?,
                late: r.get(3)?,
            })
        })
    }

    pub fn message_count(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Problems recorded on a message so far (ingest problems survive reprocessing).
    pub fn message_problems(&self, id: i64) -> Result<Vec<String>> {
        let s: String = self
            .conn
            .query_row("SELECT problems FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        Ok(from_json_list(&s))
    }
}

fn record_one(tx: &Transaction<'_>, m: &NewMessage) -> rusqlite::Result<Recorded> {
    // 1. Same origin already recorded: nothing to do (a re-run, overlapping fetch).
    let (mailbox, uidvalidity, uid, import_path) = match &m.origin {
        Origin::Imap {
            mailbox,
            uidvalidity,
            uid,
        } => (Some(mailbox.as_str()), Some(*uidvalidity), Some(*uid), None),
        Origin::Import { path } => (None, None, None, Some(path.as_str())),
    };
    if let (Some(mb), Some(v), Some(u)) = (mailbox, uidvalidity, uid) {
        let known: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM messages WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
            )?
            .query_row(params![mb, v, u], |r| r.get(0))
            .optional()?;
        if let Some(id) = known {
            return Ok(Recorded::AlreadyKnown(id));
        }
        // 2. Same bytes from this mailbox under another UIDVALIDITY (the server renumbered):
        //    move the old row to its new key instead of recording the mail again.
        let stale: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM messages WHERE mailbox = ?1 AND uidvalidity <> ?2 AND sha256 = ?3
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![mb, v, m.sha256], |r| r.get(0))
            .optional()?;
        if let Some(id) = stale {
            tx.prepare_cached("UPDATE messages SET uidvalidity = ?2, uid = ?3 WHERE id = ?1")?
                .execute(params![id, v, u])?;
            return Ok(Recorded::Rekeyed(id));
        }
    } else {
        // An imported file with the same bytes as any message already recorded is the
        // same message: importing a folder twice records nothing new.
        let known: Option<i64> = tx.prepare_cached("SELECT id FROM messages WHERE sha256 = ?1 AND source = 'import' ORDER BY id LIMIT 1")?.query_row(
                [&m.sha256],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = known {
            return Ok(Recorded::AlreadyKnown(id));
        }
    }
    // 3. The same mail under another key: identical bytes, or the same Message-ID with
    //    the same body (delivered twice, different trace headers).
    let dup_of: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM messages WHERE duplicate_of IS NULL AND
               (sha256 = ?1 OR (?2 IS NOT NULL AND message_id = ?2 AND body_sha256 = ?3))
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![m.sha256, m.message_id, m.body_sha256], |r| r.get(0))
        .optional()?;
    tx.prepare_cached("INSERT INTO messages(source, mailbox, uidvalidity, uid, import_path, sha256, body_sha256,
            size, message_id, from_addr, from_name, subject, received_at, received_estimated,
            date_header, late, duplicate_of, problems, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)")?.execute(
        params![
            if mailbox.is_some() { "imap" } else { "import" },
            mailbox,
            uidvalidity,
            uid,
            import_path,
            m.sha256,
            m.body_sha256,
            m.size,
            m.message_id,
            m.from_addr,
            m.from_name,
            m.subject,
            m.received_at,
            m.received_estimated,
            m.date_header,
            m.late,
            dup_of,
            to_json_list(&m.problems),
            m.recorded_at,
        ],
    )?;
    let id = tx.last_insert_rowid();
    Ok(match dup_of {
        Some(of) => Recorded::Duplicate { id, of },
        None => Recorded::New(id),
    })
}
