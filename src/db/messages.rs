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
        /// The `[imap]` account (`user@host`) the mailbox belongs to.
        account: String,
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

/// Which mailbox a cursor belongs to: a folder of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxKey<'a> {
    pub account: &'a str,
    pub mailbox: &'a str,
}

impl Db {
    pub fn cursor(&self, key: MailboxKey<'_>) -> Result<Option<Cursor>> {
        self.conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox_state WHERE account = ?1 AND mailbox = ?2",
                [key.account, key.mailbox],
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
        cursor: Option<(MailboxKey<'_>, Cursor)>,
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
        if let Some((key, c)) = cursor {
            tx.execute(
                "INSERT INTO mailbox_state(account, mailbox, uidvalidity, last_uid, last_poll_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(account, mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                   last_uid = excluded.last_uid, last_poll_at = excluded.last_poll_at",
                params![
                    key.account,
                    key.mailbox,
                    c.uidvalidity,
                    c.last_uid,
                    crate::time::fmt(&crate::time::now())
                ],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Notes a successful poll (health: `status` warns when it grows stale).
    pub fn touch_poll(&self, key: MailboxKey<'_>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE mailbox_state SET last_poll_at = ?3 WHERE account = ?1 AND mailbox = ?2",
                params![
                    key.account,
                    key.mailbox,
                    crate::time::fmt(&crate::time::now())
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Gives the mailbox state and the IMAP messages recorded before accounts existed
    /// (account '') to `account`, the first account that runs; returns how many rows
    /// changed. Idempotent: afterwards nothing has account ''.
    pub fn adopt_legacy_mailboxes(&mut self, account: &str) -> Result<usize> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut n = tx
            .execute(
                "UPDATE mailbox_state SET account = ?1 WHERE account = ''",
                [account],
            )
            .map_err(err)?;
        n += tx
            .execute(
                "UPDATE messages SET account = ?1 WHERE account = '' AND source = 'imap'",
                [account],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
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

    /// Sets the late flag of the given messages (all when `ids` is None) from their
    /// receipt time and `deadline`, in one transaction; returns how many changed. The
    /// receipt time never changes, the deadline may (a corrected `[intake] deadline`),
    /// so `reprocess` calls this before rebuilding the applications.
    pub fn refresh_lateness(
        &mut self,
        ids: Option<&[i64]>,
        deadline: &chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<usize> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let list = ids.map(|v| serde_json::to_string(v).unwrap_or_else(|_| "[]".into()));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let rows: Vec<(i64, String, bool)> = {
            let mut st = tx
                .prepare(
                    "SELECT id, received_at, late FROM messages
                     WHERE ?1 IS NULL OR id IN (SELECT value FROM json_each(?1))",
                )
                .map_err(err)?;
            let it = st
                .query_map([&list], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err)?;
            it.collect::<rusqlite::Result<_>>().map_err(err)?
        };
        let mut changed = 0;
        for (id, received, was) in rows {
            let Some(at) = crate::time::parse_rfc3339(&received) else {
                continue;
            };
            let late = crate::time::is_late(&at, deadline);
            if late != was {
                tx.prepare_cached("UPDATE messages SET late = ?2 WHERE id = ?1")
                    .and_then(|mut st| st.execute(rusqlite::params![id, late]))
                    .map_err(err)?;
                changed += 1;
            }
        }
        tx.commit().map_err(err)?;
        Ok(changed)
    }

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

    /// Every message (for `reprocess --all`).
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
    let (account, mailbox, uidvalidity, uid, import_path) = match &m.origin {
        Origin::Imap {
            account,
            mailbox,
            uidvalidity,
            uid,
        } => (
            account.as_str(),
            Some(mailbox.as_str()),
            Some(*uidvalidity),
            Some(*uid),
            None,
        ),
        Origin::Import { path } => ("", None, None, None, Some(path.as_str())),
    };
    if let (Some(mb), Some(v), Some(u)) = (mailbox, uidvalidity, uid) {
        let known: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM messages
                 WHERE account = ?4 AND mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
            )?
            .query_row(params![mb, v, u, account], |r| r.get(0))
            .optional()?;
        if let Some(id) = known {
            return Ok(Recorded::AlreadyKnown(id));
        }
        // 2. Same bytes from this mailbox under another UIDVALIDITY (the server renumbered):
        //    move the old row to its new key instead of recording the mail again.
        let stale: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM messages
                 WHERE account = ?4 AND mailbox = ?1 AND uidvalidity <> ?2 AND sha256 = ?3
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![mb, v, m.sha256, account], |r| r.get(0))
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
            date_header, late, duplicate_of, problems, recorded_at, account)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")?.execute(
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
            account,
        ],
    )?;
    let id = tx.last_insert_rowid();
    Ok(match dup_of {
        Some(of) => Recorded::Duplicate { id, of },
        None => Recorded::New(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(account: &'a str, mailbox: &'a str) -> MailboxKey<'a> {
        MailboxKey { account, mailbox }
    }

    fn imap_message(account: &str, uid: u32, sha: &str) -> NewMessage {
        NewMessage {
            origin: Origin::Imap {
                account: account.into(),
                mailbox: "INBOX".into(),
                uidvalidity: 7,
                uid,
            },
            sha256: sha.into(),
            body_sha256: sha.into(),
            size: 1,
            message_id: None,
            from_addr: None,
            from_name: None,
            subject: None,
            received_at: "2022-07-18T10:00:00+08:00".into(),
            received_estimated: false,
            date_header: None,
            late: false,
            problems: vec![],
            recorded_at: "2022-07-18T10:00:00+08:00".into(),
        }
    }

    /// Two accounts' INBOX keep a cursor each, and a message is known by its account.
    #[test]
    fn each_account_has_its_own_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("x.db")).unwrap();
        let a = key("tsqsnkj@imap.126.com", "INBOX");
        let b = key("second@imap.126.com", "INBOX");
        let cur = |uidvalidity, last_uid| Cursor {
            uidvalidity,
            last_uid,
        };
        db.record_batch(&[imap_message(a.account, 3, "aa")], Some((a, cur(7, 3))))
            .unwrap();
        db.record_batch(&[], Some((b, cur(9, 0)))).unwrap();
        assert_eq!(db.cursor(a).unwrap(), Some(cur(7, 3)));
        assert_eq!(db.cursor(b).unwrap(), Some(cur(9, 0)));
        // The same (mailbox, UIDVALIDITY, UID) again from account a is known …
        let again = db
            .record_batch(&[imap_message(a.account, 3, "aa")], None)
            .unwrap();
        assert!(matches!(again[0], Recorded::AlreadyKnown(_)), "{again:?}");
        // … while a's cursor stays where it was after b's moved, and an account that
        // never ran has none.
        db.record_batch(&[], Some((b, cur(7, 0)))).unwrap();
        assert_eq!(db.cursor(a).unwrap(), Some(cur(7, 3)));
        assert_eq!(db.cursor(key("third@imap.126.com", "INBOX")).unwrap(), None);
    }

    /// A database from before accounts: its cursor survives the migration under
    /// account '' and is adopted by the first account that runs.
    #[test]
    fn cursor_from_before_accounts_is_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        {
            let c = rusqlite::Connection::open(&p).unwrap();
            for sql in &super::super::schema::MIGRATIONS[..3] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            c.execute(
                "INSERT INTO mailbox_state(mailbox, uidvalidity, last_uid) VALUES ('INBOX', 7, 42)",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO messages(source, mailbox, uidvalidity, uid, sha256, body_sha256,
                    size, received_at, late, recorded_at)
                 VALUES ('imap', 'INBOX', 7, 42, 'aa', 'aa', 1, '2022-07-18T10:00:00+08:00', 0, 'x')",
                [],
            )
            .unwrap();
        }
        let mut db = Db::open(&p).unwrap();
        let mine = key("tsqsnkj@imap.126.com", "INBOX");
        assert_eq!(db.cursor(mine).unwrap(), None);
        assert_eq!(db.adopt_legacy_mailboxes(mine.account).unwrap(), 2);
        assert_eq!(
            db.cursor(mine).unwrap(),
            Some(Cursor {
                uidvalidity: 7,
                last_uid: 42
            })
        );
        let known = db
            .record_batch(&[imap_message(mine.account, 42, "aa")], None)
            .unwrap();
        assert!(matches!(known[0], Recorded::AlreadyKnown(_)), "{known:?}");
        assert_eq!(db.adopt_legacy_mailboxes(mine.account).unwrap(), 0);
    }
}
