//! Files taken in by hand for a message (`import --into mID PATH...`): a 超大附件
//! downloaded from its link, a form brought on a USB stick. Their bytes are kept in the
//! raw store like mail (never rebuilt, never removed); this table says which message
//! they belong to, so every run of the pipeline on that message, `reprocess`
//! included, reads them beside its attachments.

use super::Db;
use crate::error::Result;
use rusqlite::params;

/// One file added to a message by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandFile {
    pub message: i64,
    /// The file's name on disk, as the operator had it (metadata only).
    pub name: String,
    /// sha256 of the bytes in the raw store.
    pub sha256: String,
    pub size: i64,
    /// Where it was read from (the path given to `import --into`).
    pub source: String,
    pub added_at: String,
}

impl Db {
    /// Records `files` for their message and sets the message back to waiting for the
    /// pipeline, in one transaction. Returns, per file, whether it was new (the same
    /// bytes added to the same message again are not recorded twice).
    pub fn add_hand_files(&mut self, message: i64, files: &[HandFile]) -> Result<Vec<bool>> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut added = Vec::with_capacity(files.len());
        for f in files {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO hand_files (message, name, sha256, size, source, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![message, f.name, f.sha256, f.size, f.source, f.added_at],
                )
                .map_err(err)?;
            added.push(n == 1);
        }
        tx.execute(
            "UPDATE messages SET processed_at = NULL WHERE id = ?1",
            params![message],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(added)
    }

    /// The files added by hand to `message`, in the order they were added.
    pub fn hand_files(&self, message: i64) -> Result<Vec<HandFile>> {
        self.rows(
            "SELECT message, name, sha256, size, source, added_at FROM hand_files
             WHERE message = ?1 ORDER BY id",
            params![message],
            |r| {
                Ok(HandFile {
                    message: r.get(0)?,
                    name: r.get(1)?,
                    sha256: r.get(2)?,
                    size: r.get(3)?,
                    source: r.get(4)?,
                    added_at: r.get(5)?,
                })
            },
        )
    }
}
