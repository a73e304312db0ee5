//! The web page's view of the database: one connection kept open across requests, and
//! the last [`Dump`] reused until another connection commits. Loading the whole intake
//! took 263–334 ms at 10,000 applications, once per page view; now a page view costs
//! one `PRAGMA data_version` while nothing changed (the daemon commits once per mail
//! and once per poll, the page is read far more often than that).

use crate::db::Db;
use crate::error::Result;
use crate::report::dump::Dump;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The open connection and what was loaded through it.
struct Open {
    db: Db,
    /// `data_version` of the snapshot `dump` was read in.
    loaded: Option<(i64, Arc<Dump>)>,
}

/// Shared by every request of one `serve`.
pub struct DumpCache {
    path: PathBuf,
    open: Mutex<Option<Open>>,
}

impl DumpCache {
    pub fn new(path: PathBuf) -> DumpCache {
        DumpCache {
            path,
            open: Mutex::new(None),
        }
    }

    /// The current state (blocking). After an error the connection is dropped and the
    /// next request opens a new one, so a replaced or repaired file is picked up.
    pub fn load(&self) -> Result<Arc<Dump>> {
        self.with_db(|open| {
            let db = &open.db;
            let cached = open.loaded.clone();
            let (version, dump) = db.snapshot(|| {
                let version = db.data_version()?;
                match cached {
                    Some((v, dump)) if v == version => Ok((version, dump)),
                    _ => Ok((version, Arc::new(db.load_dump()?))),
                }
            })?;
            open.loaded = Some((version, dump.clone()));
            Ok(dump)
        })
    }

    /// When the mailbox was last polled, as an RFC 3339 string (blocking).
    pub fn last_poll(&self) -> Result<Option<String>> {
        self.with_db(|open| open.db.last_poll())
    }

    fn with_db<T>(&self, f: impl FnOnce(&mut Open) -> Result<T>) -> Result<T> {
        // A panic while the lock was held cannot leave `Open` half-updated in a way
        // that matters: at worst the dump is reloaded.
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut open = match guard.take() {
            Some(open) => open,
            None => Open {
                db: Db::open(&self.path)?,
                loaded: None,
            },
        };
        let out = f(&mut open);
        if out.is_ok() {
            *guard = Some(open);
        }
        out
    }
}
