//! The office's writes and their audit log: decisions on applications (review, late
//! excuse), scan matches, soft removal of a message. Each write and its audit row commit
//! in one short IMMEDIATE transaction, so the log never misses a change nor records one
//! that did not happen, and a write waits its turn behind the daemon instead of failing.
//!
//! Decisions are keyed by what `reprocess --all` keeps: an application by (form,
//! applicant key), a message by the sha256 of its raw bytes, a scan by its content.

use super::Db;
use crate::domain::dump::{DumpAudit, DumpLateExcuse, DumpReview};
use crate::domain::{AuditAction, ReviewState};
use crate::error::Result;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

/// An audit row to write with the change it describes.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub user: String,
    pub action: AuditAction,
    /// `a4`, `m12`, `d31`, `u:wang`.
    pub target: String,
    /// What changed, `before → after`.
    pub detail: String,
}

/// The stable key of an application and what the office sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppKey {
    pub id: i64,
    pub form: String,
    pub applicant_key: String,
    pub applicant: String,
    pub late: bool,
}

pub(super) fn write_audit(tx: &Transaction<'_>, a: &NewAudit, at: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit(at, user, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, a.user, a.action, a.target, a.detail],
    )
    .map(|_| ())
}

fn app_key(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Option<AppKey>> {
    tx.query_row(
        "SELECT id, form, applicant_key, applicant, late FROM applications WHERE id = ?1",
        [id],
        |r| {
            Ok(AppKey {
                id: r.get(0)?,
                form: r.get(1)?,
                applicant_key: r.get(2)?,
                applicant: r.get(3)?,
                late: r.get(4)?,
            })
        },
    )
    .optional()
}

impl Db {
    /// Runs `f` and writes the audit row it returns in one IMMEDIATE transaction.
    /// `f` answers None when its target does not exist: nothing is written then.
    pub(super) fn audited<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &str) -> rusqlite::Result<Option<(T, NewAudit)>>,
    ) -> Result<Option<T>> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let now = crate::time::fmt(&crate::time::now());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let Some((out, audit)) = f(&tx, &now).map_err(err)? else {
            return Ok(None);
        };
        write_audit(&tx, &audit, &now).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Some(out))
    }

    /// Writes one audit row on its own (a write recorded elsewhere: import, reprocess).
    pub fn audit(&mut self, a: NewAudit) -> Result<()> {
        self.audited(|_, _| Ok(Some(((), a)))).map(|_| ())
    }

    /// The whole audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<DumpAudit>> {
        self.rows(
            "SELECT at, user, action, target, detail FROM audit ORDER BY id",
            [],
            |r| {
                Ok(DumpAudit {
                    at: r.get(0)?,
                    user: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            },
        )
    }

    /// Sets an application's review; `detail(app, before)` words the audit row.
    /// None when there is no application `id`.
    pub fn set_review(
        &mut self,
        id: i64,
        state: ReviewState,
        note: &str,
        by: &str,
        detail: impl FnOnce(&AppKey, Option<&DumpReview>) -> String,
    ) -> Result<Option<AppKey>> {
        self.audited(|tx, now| {
            let Some(k) = app_key(tx, id)? else {
                return Ok(None);
            };
            let before = review_of(tx, &k.form, &k.applicant_key)?;
            tx.execute(
                "INSERT INTO reviews(form, applicant_key, state, note, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(form, applicant_key) DO UPDATE SET state = excluded.state,
                    note = excluded.note, by_user = excluded.by_user, at = excluded.at",
                params![k.form, k.applicant_key, state, note, by, now],
            )?;
            let audit = NewAudit {
                user: by.into(),
                action: AuditAction::Review,
                target: format!("a{id}"),
                detail: detail(&k, before.as_ref()),
            };
            Ok(Some((k, audit)))
        })
    }

    /// Excuses an application's lateness (`reason` Some) or withdraws the excuse (None).
    pub fn set_late_excuse(
        &mut self,
        id: i64,
        reason: Option<&str>,
        by: &str,
        detail: impl FnOnce(&AppKey, Option<&DumpLateExcuse>) -> String,
    ) -> Result<Option<AppKey>> {
        self.audited(|tx, now| {
            let Some(k) = app_key(tx, id)? else {
                return Ok(None);
            };
            let before = excuse_of(tx, &k.form, &k.applicant_key)?;
            match reason {
                Some(r) => tx.execute(
                    "INSERT INTO late_excuses(form, applicant_key, reason, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(form, applicant_key) DO UPDATE SET reason = excluded.reason,
                        by_user = excluded.by_user, at = excluded.at",
                    params![k.form, k.applicant_key, r, by, now],
                )?,
                None => tx.execute(
                    "DELETE FROM late_excuses WHERE form = ?1 AND applicant_key = ?2",
                    params![k.form, k.applicant_key],
                )?,
            };
            let audit = NewAudit {
                user: by.into(),
                action: AuditAction::Late,
                target: format!("a{id}"),
                detail: detail(&k, before.as_ref()),
            };
            Ok(Some((k, audit)))
        })
    }

    /// Records an operator's match of a scan (by content) to an electronic version
    /// (None: "matches nothing"), or forgets the decision (`forget`), with its audit row.
    pub fn set_manual_match_audited(
        &mut self,
        scan_sha: &str,
        electronic_sha: Option<&str>,
        forget: bool,
        audit: NewAudit,
    ) -> Result<()> {
        self.audited(|tx, now| {
            if forget {
                tx.execute(
                    "DELETE FROM manual_matches WHERE scan_sha256 = ?1",
                    [scan_sha],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO manual_matches(scan_sha256, electronic_sha256, decided_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(scan_sha256) DO UPDATE SET electronic_sha256 = excluded.electronic_sha256,
                        decided_at = excluded.decided_at",
                    params![scan_sha, electronic_sha, now],
                )?;
            }
            Ok(Some(((), audit)))
        })
        .map(|_| ())
    }

    /// The document a scan is matched to now (`scan_of`), for the audit's "before".
    pub fn scan_of(&self, scan: i64) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT scan_of FROM documents WHERE id = ?1", [scan], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Soft-removes (`remove`) or restores a message by its content. None when there is
    /// no message `id`; Some(false) when it already was in that state.
    pub fn set_removed(
        &mut self,
        id: i64,
        remove: bool,
        reason: &str,
        by: &str,
    ) -> Result<Option<bool>> {
        self.audited(|tx, now| {
            let Some(sha): Option<String> = tx
                .query_row("SELECT sha256 FROM messages WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?
            else {
                return Ok(None);
            };
            let changed = if remove {
                tx.execute(
                    "INSERT INTO removed_messages(sha256, by_user, at, reason) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(sha256) DO NOTHING",
                    params![sha, by, now, reason],
                )?
            } else {
                tx.execute("DELETE FROM removed_messages WHERE sha256 = ?1", [&sha])?
            };
            let detail = match (remove, changed > 0) {
                (true, true) => format!("正常 → 已移除（{reason}）"),
                (false, true) => "已移除 → 恢复".to_string(),
                (true, false) => "已是移除状态".to_string(),
                (false, false) => "未被移除，无变化".to_string(),
            };
            let audit = NewAudit {
                user: by.into(),
                action: AuditAction::Remove,
                target: format!("m{id}"),
                detail,
            };
            Ok(Some((changed > 0, audit)))
        })
    }

    /// Messages the office removed: id → (by, at, reason).
    pub fn removed_messages(&self) -> Result<Vec<(i64, String, String, String)>> {
        self.rows(
            "SELECT m.id, r.by_user, r.at, r.reason FROM removed_messages r
             JOIN messages m ON m.sha256 = r.sha256 ORDER BY m.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
    }
}

fn review_of(tx: &Transaction<'_>, form: &str, key: &str) -> rusqlite::Result<Option<DumpReview>> {
    tx.query_row(
        "SELECT state, note, by_user, at FROM reviews WHERE form = ?1 AND applicant_key = ?2",
        [form, key],
        |r| {
            Ok(DumpReview {
                state: r.get(0)?,
                note: r.get(1)?,
                by: r.get(2)?,
                at: r.get(3)?,
            })
        },
    )
    .optional()
}

fn excuse_of(
    tx: &Transaction<'_>,
    form: &str,
    key: &str,
) -> rusqlite::Result<Option<DumpLateExcuse>> {
    tx.query_row(
        "SELECT reason, by_user, at FROM late_excuses WHERE form = ?1 AND applicant_key = ?2",
        [form, key],
        |r| {
            Ok(DumpLateExcuse {
                reason: r.get(0)?,
                by: r.get(1)?,
                at: r.get(2)?,
            })
        },
    )
    .optional()
}
