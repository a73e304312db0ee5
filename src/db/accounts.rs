//! Operator accounts, their login sessions and failed logins. Sessions live in the
//! database, so several `serve` processes (and the CLI's `user remove`) agree on who is
//! logged in; a session is stored by the sha256 of its id, never the id itself.

use super::Db;
use crate::db::office::NewAudit;
use crate::error::Result;
use rusqlite::{params, OptionalExtension};

/// A logged-in session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub user: String,
    pub csrf: String,
    pub expires_at: String,
}

impl Db {
    /// Adds (`create`) or replaces the password hash of an account, with its audit row.
    /// Answers false when the account exists (`create`) or is missing (not `create`).
    pub fn user_put(
        &mut self,
        name: &str,
        hash: &str,
        create: bool,
        audit: NewAudit,
    ) -> Result<bool> {
        self.audited(|tx, now| {
            let n = if create {
                tx.execute(
                    "INSERT INTO users(name, hash, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO NOTHING",
                    params![name, hash, now],
                )?
            } else {
                // A new password ends the account's sessions.
                tx.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
                tx.execute(
                    "UPDATE users SET hash = ?2 WHERE name = ?1",
                    params![name, hash],
                )?
            };
            Ok((n > 0).then_some((true, audit)))
        })
        .map(|o| o.unwrap_or(false))
    }

    /// Removes an account and its sessions; false when there was none.
    pub fn user_remove(&mut self, name: &str, audit: NewAudit) -> Result<bool> {
        self.audited(|tx, _| {
            tx.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
            let n = tx.execute("DELETE FROM users WHERE name = ?1", [name])?;
            Ok((n > 0).then_some((true, audit)))
        })
        .map(|o| o.unwrap_or(false))
    }

    /// The password hash of an account.
    pub fn user_hash(&self, name: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT hash FROM users WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// (name, created_at) of every account.
    pub fn users(&self) -> Result<Vec<(String, String)>> {
        self.rows(
            "SELECT name, created_at FROM users ORDER BY name",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Stores a new session (and forgets the expired ones).
    pub fn session_insert(&self, id_sha: &str, row: &SessionRow, now: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "INSERT INTO sessions(id_sha256, user, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id_sha, row.user, row.csrf, now, row.expires_at],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The session stored under `id_sha`, unless it expired before `now`.
    pub fn session_get(&self, id_sha: &str, now: &str) -> Result<Option<SessionRow>> {
        self.conn
            .query_row(
                "SELECT user, csrf, expires_at FROM sessions WHERE id_sha256 = ?1 AND expires_at > ?2",
                [id_sha, now],
                |r| {
                    Ok(SessionRow {
                        user: r.get(0)?,
                        csrf: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Ends a session, and every expired one while at it.
    pub fn session_delete(&self, id_sha: &str, now: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM sessions WHERE id_sha256 = ?1 OR expires_at <= ?2",
                [id_sha, now],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Notes a failed login under each key (`u:NAME`, `ip:ADDR`); forgets failures
    /// older than `forget_before`.
    pub fn login_failed(&self, keys: &[&str], now: &str, forget_before: &str) -> Result<()> {
        let e = |x| self.err(x);
        self.conn
            .execute("DELETE FROM login_failures WHERE at < ?1", [forget_before])
            .map_err(e)?;
        for k in keys {
            self.conn
                .execute(
                    "INSERT INTO login_failures(key, at) VALUES (?1, ?2)",
                    [k, &now],
                )
                .map_err(e)?;
        }
        Ok(())
    }

    /// Failed logins under `key` since `since`.
    pub fn login_failures_since(&self, key: &str, since: &str) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT count(*) FROM login_failures WHERE key = ?1 AND at >= ?2",
                [key, since],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Forgets the failures under `key` (after a successful login).
    pub fn login_failures_clear(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM login_failures WHERE key = ?1", [key])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
