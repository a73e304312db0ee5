//! Content-addressed file store under the data dir: raw messages in `raw/`, documents
//! in `docs/`, each named by the sha256 of its bytes. Files are written to a temporary
//! name and renamed into place, so a reader never sees half a file; [`Store::sync`]
//! makes a whole batch durable with one `syncfs`, so durability does not cost one sync
//! per message. Names given by senders never become paths here.
//!
//! Mail and documents are applicants' personal data: folders are created 0750 and
//! files 0640 (owner and the service group only), whatever the umask, and
//! [`restrict_umask`] makes the same true of everything else the program creates
//! (the database, exports).

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Mode of every folder the program creates.
pub const DIR_MODE: u32 = 0o750;
/// Mode of every file the store writes.
pub const FILE_MODE: u32 = 0o640;
/// The process umask set at start: no permission for others, no write for the group.
pub const UMASK: u32 = 0o027;

/// Sets the process umask to [`UMASK`], so files created by SQLite, exports and
/// anything else are not world-readable either. Called first thing by the binary.
pub fn restrict_umask() {
    // SAFETY: umask(2) only changes this process's file-creation mask.
    unsafe {
        libc::umask(UMASK as libc::mode_t);
    }
}

/// `dir` and its missing parents, created with [`DIR_MODE`].
pub fn create_dirs(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| Error::io(dir, e))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens the store in `data_dir`, creating its folders.
    pub fn open(data_dir: &Path) -> Result<Store> {
        for sub in ["raw", "docs", "tmp"] {
            create_dirs(&data_dir.join(sub))?;
        }
        Ok(Store {
            root: data_dir.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a raw message relative to the data dir.
    pub fn raw_rel(sha: &str) -> PathBuf {
        PathBuf::from("raw")
            .join(shard(sha))
            .join(format!("{sha}.eml"))
    }

    /// Path of a document relative to the data dir.
    pub fn doc_rel(sha: &str) -> PathBuf {
        PathBuf::from("docs").join(shard(sha)).join(sha)
    }

    /// Writes a raw message (if not already there) and returns its sha256. Not yet
    /// durable: call [`Store::sync`] before recording it in the database.
    pub fn put_raw(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        self.put_at(&Self::raw_rel(&sha), bytes)?;
        Ok(sha)
    }

    /// Writes a document's bytes under their sha256 (which the caller computed).
    ///
    /// Straight to its name, without a temp file and a rename (renames were a sixth of
    /// a catch-up's CPU here): documents are derived from the raw mail, the store is
    /// synced before the rows naming them commit, and a file torn by a crash is
    /// shorter than its content and is written again when the message is processed
    /// again. Raw mail keeps the temp file and rename.
    pub fn put_doc(&self, sha: &str, bytes: &[u8]) -> Result<()> {
        if let Some(dest) = self.missing(&Self::doc_rel(sha), bytes)? {
            write_new(&dest, bytes)?;
        }
        Ok(())
    }

    pub fn read_raw(&self, sha: &str) -> Result<Vec<u8>> {
        let p = self.root.join(Self::raw_rel(sha));
        fs::read(&p).map_err(|e| Error::io(&p, e))
    }

    pub fn read_doc(&self, sha: &str) -> Result<Vec<u8>> {
        let p = self.root.join(Self::doc_rel(sha));
        fs::read(&p).map_err(|e| Error::io(&p, e))
    }

    fn put_at(&self, rel: &Path, bytes: &[u8]) -> Result<()> {
        let Some(dest) = self.missing(rel, bytes)? else {
            return Ok(());
        };
        let tmp = self.root.join("tmp").join(format!(
            "{}.{}.tmp",
            rel.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
            std::process::id()
        ));
        write_new(&tmp, bytes)?;
        fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        Ok(())
    }

    /// Where `bytes` go under `rel`, its folder created, or None when they are there
    /// already. Content-addressed: same name, same bytes. A shorter file is a torn
    /// write (a crash mid-write of a document, or raw mail from before rename-into-place
    /// existed); it is written again.
    fn missing(&self, rel: &Path, bytes: &[u8]) -> Result<Option<PathBuf>> {
        let dest = self.root.join(rel);
        if fs::metadata(&dest).is_ok_and(|m| m.len() == bytes.len() as u64) {
            return Ok(None);
        }
        if let Some(dir) = dest.parent() {
            create_dirs(dir)?;
        }
        Ok(Some(dest))
    }

    /// Makes everything written so far durable: one `syncfs` of the data dir's file
    /// system (file data, directory entries and renames alike).
    pub fn sync(&self) -> Result<()> {
        let f = File::open(&self.root).map_err(|e| Error::io(&self.root, e))?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: syncfs only reads the descriptor, which `f` keeps open.
            let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
            if rc != 0 {
                return Err(Error::io(&self.root, std::io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        f.sync_all().map_err(|e| Error::io(&self.root, e))?;
        Ok(())
    }
}

/// Creates (or truncates) `path` with `bytes`; on failure removes it again, since a
/// half-written file (disk full) would keep the space it took.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written {
        let _ = fs::remove_file(path);
        return Err(Error::io(path, e));
    }
    Ok(())
}

fn shard(sha: &str) -> &str {
    sha.get(..2).unwrap_or("00")
}

/// Holds the data dir's fetch lock: one daemon (`run`) fetches from IMAP at a time, so
/// two runs can never interleave their fetches. Everything else (import, reprocess,
/// the office's decisions, the page) writes the database in short transactions
/// alongside it and takes no such lock; see ARCHITECTURE.md.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// The lock file of the fetcher.
const FETCH_LOCK: &str = ".lock";
/// The lock file of whoever drains the receipts outbox (one sender at a time, so a
/// receipt in `sending` is a crash's leftover, never another process's send).
const OUTBOX_LOCK: &str = ".outbox.lock";

impl DataLock {
    /// The fetch lock, or [`Error::Locked`] when a daemon holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataLock> {
        Self::try_named(data_dir, FETCH_LOCK)?.ok_or_else(|| Error::Locked(data_dir.to_path_buf()))
    }

    /// Whether a daemon is running on this data dir now.
    pub fn daemon_running(data_dir: &Path) -> Result<bool> {
        Ok(Self::try_named(data_dir, FETCH_LOCK)?.is_none())
    }

    /// The outbox lock, or None while another process drains the outbox.
    pub fn try_outbox(data_dir: &Path) -> Result<Option<DataLock>> {
        Self::try_named(data_dir, OUTBOX_LOCK)
    }

    fn try_named(data_dir: &Path, name: &str) -> Result<Option<DataLock>> {
        create_dirs(data_dir)?;
        let p = data_dir.join(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DataLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(Error::io(&p, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_addressed_and_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let a = s.put_raw(b"hello").unwrap();
        let b = s.put_raw(b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        s.sync().unwrap();
        assert_eq!(s.read_raw(&a).unwrap(), b"hello");
        assert!(d
            .path()
            .join(Store::raw_rel(&a))
            .starts_with(d.path().join("raw/2c")));
    }

    #[test]
    fn folders_and_files_are_not_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        let _l = DataLock::acquire(&data).unwrap();
        let s = Store::open(&data).unwrap();
        let sha = s.put_raw(b"mail").unwrap();
        s.put_doc(&sha256_hex(b"doc"), b"doc").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o750);
        assert_eq!(mode(&data.join("raw").join(shard(&sha))), 0o750);
        assert_eq!(mode(&data.join(Store::raw_rel(&sha))), 0o640);
        assert_eq!(mode(&data.join(Store::doc_rel(&sha256_hex(b"doc")))), 0o640);
    }

    #[test]
    fn second_lock_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let _l = DataLock::acquire(d.path()).unwrap();
        let e = DataLock::acquire(d.path()).unwrap_err();
        assert!(matches!(e, Error::Locked(_)));
    }
}
