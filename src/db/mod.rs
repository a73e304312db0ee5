//! The SQLite database: the only module that contains SQL. WAL mode with
//! `synchronous = NORMAL` (durable across a process kill; see ARCHITECTURE.md for the
//! power-loss window), foreign keys on, versioned migrations in [`schema`].

pub mod accounts;
pub mod applications;
mod codes;
pub mod documents;
pub mod dump;
pub mod hand_files;
pub mod messages;
pub mod office;
mod receipt_view;
pub mod receipts;
pub mod roster;
pub mod schema;
pub mod status;

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Page cache per connection, KiB.
pub const CACHE_KIB: u32 = 1024;

/// SQLite's heap in the daemon, all connections together, KiB: past it SQLite reuses
/// its page caches' pages instead of taking more (a soft limit: nothing fails).
pub const DAEMON_HEAP_KIB: i64 = 2048;

/// Sets the process-wide soft limit on SQLite's heap to `kib`.
pub fn limit_sqlite_heap(kib: i64) {
    // SAFETY: sets SQLite's global soft limit; no connection or pointer involved.
    unsafe {
        rusqlite::ffi::sqlite3_soft_heap_limit64(kib * 1024);
    }
}

/// Heap memory SQLite holds in this process, all connections together (page caches,
/// schema, statements), KiB: for the daemon's memory figures.
pub fn sqlite_memory_kib() -> i64 {
    // SAFETY: a read of SQLite's global counter; no connection or pointer involved.
    unsafe { rusqlite::ffi::sqlite3_memory_used() / 1024 }
}

/// An open database plus its path (for error messages).
pub struct Db {
    pub conn: Connection,
    pub path: PathBuf,
}

impl Db {
    /// Opens (creating when missing) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
        }
        let conn = Connection::open(path).map_err(|e| Error::db(path, e))?;
        let mut db = Db {
            conn,
            path: path.to_path_buf(),
        };
        db.configure()?;
        db.migrate()?;
        Ok(db)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| self.err(e))?;
        self.wal()?;
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.err(e))?;
        // Each connection's page cache, bounded (negative = KiB): SQLite's default of
        // 2000 KiB grows with the database on every long-lived connection the daemon
        // holds; hot pages past this come from the OS file cache at little cost.
        self.conn
            .execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB};"))
            .map_err(|e| self.err(e))
    }

    /// Switches a fresh database to WAL. The switch needs an exclusive lock and SQLite
    /// answers "locked" at once, without the busy timeout, when another process is
    /// opening the same fresh file (four `status` at once did, 1 in 360 here): retry
    /// for as long as the busy timeout would have waited.
    fn wal(&self) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            {
                Ok(_) => return Ok(()),
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// Applies missing migrations. The version is read inside an IMMEDIATE transaction:
    /// two processes opening a fresh database at once (the daemon starting while an
    /// operator runs `status`) must not both create the tables.
    fn migrate(&mut self) -> Result<()> {
        let latest = schema::latest();
        // The common case, a database already at this version, needs no write lock:
        // `status` and `list` must not queue behind the daemon's write transaction.
        // A fresh database being created by another process can answer this read with
        // "locked" (no busy wait there): then take the locked path below, which waits.
        if self.schema_version().is_ok_and(|v| v == latest) {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if found > latest {
            return Err(Error::DbTooNew {
                path: self.path.clone(),
                found,
                supported: latest,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Runs several SELECTs as one read transaction, so they all see the same committed
    /// state. Outside a transaction each statement takes its own WAL snapshot: a
    /// `dump` read the documents, the daemon committed a batch, then the messages were
    /// read — and a processed message showed no documents (seen under load by the
    /// hostile-input test).
    /// Inside a snapshot (or any transaction) it just runs `read`.
    pub fn snapshot<T>(&self, read: impl FnOnce() -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return read();
        }
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let out = read()?;
        // A read transaction: commit only ends it, nothing was written.
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// SQLite's `data_version`: changes whenever *another* connection has committed
    /// since this one last looked. Read inside a [`Db::snapshot`] it belongs to that
    /// snapshot (the pragma opens the read transaction), so a reader can tell that
    /// what it loaded earlier is still current without loading it again.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Every row `sql` returns for `params`, each turned into a `T` by `map`.
    pub fn rows<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        st.query_map(params, map)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Wraps a rusqlite error with this database's path.
    pub fn err(&self, e: rusqlite::Error) -> Error {
        Error::db(&self.path, e)
    }

    pub fn kv_get(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn kv_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

/// JSON list of strings stored in a TEXT column.
pub(crate) fn to_json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl Db {
    /// A consistent copy of the database at `dest` (works while the daemon writes).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        let d = dest.to_string_lossy().into_owned();
        self.conn
            .execute("VACUUM INTO ?1", [d])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit by another connection between two reads of one snapshot is not seen;
    /// the same two reads outside a snapshot do see it (so the test can fail).
    #[test]
    fn snapshot_reads_see_one_committed_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        let reader = Db::open(&p).unwrap();
        let writer = Db::open(&p).unwrap();
        writer.kv_set("k", "before").unwrap();
        let (first, second) = reader
            .snapshot(|| {
                let first = reader.kv_get("k")?;
                writer.kv_set("k", "after")?;
                Ok((first, reader.kv_get("k")?))
            })
            .unwrap();
        assert_eq!(first.as_deref(), Some("before"));
        assert_eq!(second.as_deref(), Some("before"));
        assert_eq!(reader.kv_get("k").unwrap().as_deref(), Some("after"));
        writer.kv_set("k", "again").unwrap();
        assert_eq!(reader.kv_get("k").unwrap().as_deref(), Some("again"));
    }

    #[test]
    fn page_cache_is_bounded_and_sqlite_memory_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("x.db")).unwrap();
        let size: i64 = db
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(size, -i64::from(CACHE_KIB));
        assert!(sqlite_memory_kib() > 0);
        limit_sqlite_heap(DAEMON_HEAP_KIB);
        // SAFETY: a negative argument only reads the limit.
        let limit = unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64(-1) };
        assert_eq!(limit, DAEMON_HEAP_KIB * 1024);
    }

    #[test]
    fn migrates_fresh_and_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        let db = Db::open(&p).unwrap();
        assert_eq!(db.schema_version().unwrap(), schema::latest());
        db.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        let e = Db::open(&p).err().unwrap();
        assert!(matches!(e, Error::DbTooNew { found: 99, .. }), "{e}");
        assert!(e.to_string().contains("升级"), "{e}");
    }
}
