//! `kepu-intake import`: offline intake of `.eml` files, directories of them, Maildir
//! folders and mbox files, through the same store and pipeline as the daemon.
//! Received time = the topmost `Received:` header (the receiving server's clock); when
//! a file has none, its modification time, flagged `received_time_estimated`.

use crate::db::messages::{NewMessage, Origin, Recorded};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ingest::{self, Receipt};
use crate::store::Store;
use chrono::{DateTime, FixedOffset};
use std::path::{Path, PathBuf};
use tracing::{info, warn};

#[derive(Debug, Default, Clone)]
pub struct ImportStats {
    pub files: usize,
    pub new: usize,
    pub duplicates: usize,
    pub already_known: usize,
    /// Rows this import recorded (new ones and duplicates), to be processed.
    pub recorded: Vec<i64>,
}

/// One message found on disk.
struct Found {
    label: String,
    bytes: Vec<u8>,
    mtime: Option<DateTime<FixedOffset>>,
}

/// Imports every message under `paths`.
pub fn import(
    paths: &[PathBuf],
    db: &mut Db,
    store: &Store,
    deadline: &DateTime<FixedOffset>,
) -> Result<ImportStats> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    files.sort();
    let mut stats = ImportStats::default();
    let mut batch: Vec<NewMessage> = Vec::new();
    for f in files {
        for found in read_messages(&f)? {
            stats.files += 1;
            let sha = store.put_raw(&found.bytes)?;
            let h = ingest::header_facts(&found.bytes);
            let received = match (h.top_received, found.mtime) {
                (Some(at), _) => Receipt {
                    at,
                    estimated: false,
                },
                (None, Some(at)) => Receipt {
                    at,
                    estimated: true,
                },
                (None, None) => Receipt {
                    at: crate::time::now(),
                    estimated: true,
                },
            };
            batch.push(ingest::new_message(
                &found.bytes,
                sha,
                Origin::Import { path: found.label },
                received,
                deadline,
            ));
            if batch.len() >= 200 {
                flush(&mut batch, db, store, &mut stats)?;
            }
        }
    }
    flush(&mut batch, db, store, &mut stats)?;
    info!(
        files = stats.files,
        new = stats.new,
        duplicates = stats.duplicates,
        known = stats.already_known,
        "import done"
    );
    Ok(stats)
}

fn flush(
    batch: &mut Vec<NewMessage>,
    db: &mut Db,
    store: &Store,
    stats: &mut ImportStats,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    store.sync()?;
    for r in db.record_batch(batch, None)? {
        match r {
            Recorded::New(id) | Recorded::Rekeyed(id) => {
                stats.new += 1;
                stats.recorded.push(id);
            }
            Recorded::Duplicate { id, .. } => {
                stats.duplicates += 1;
                stats.recorded.push(id);
            }
            Recorded::AlreadyKnown(_) => stats.already_known += 1,
        }
    }
    batch.clear();
    Ok(())
}

/// Files to read under `p`: itself, or every regular file below a directory (Maildir's
/// `tmp/` skipped: those are deliveries in progress).
fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    if meta.is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| Error::io(p, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "tmp" && e.is_dir() {
            continue;
        }
        if e.is_dir() {
            collect(&e, out)?;
        } else if is_mail_file(&e) {
            out.push(e);
        }
    }
    Ok(())
}

/// Within directories, take `.eml`/`.mbox` files and Maildir entries (no extension,
/// inside `cur/` or `new/`); skip the expected.json files and the like beside them.
fn is_mail_file(p: &Path) -> bool {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("eml") | Some("mbox") | Some("msg") => true,
        _ => {
            let parent = p
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str());
            matches!(parent, Some("cur") | Some("new"))
        }
    }
}

fn read_messages(p: &Path) -> Result<Vec<Found>> {
    let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
    let mtime = std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| crate::time::to_shanghai(&DateTime::<chrono::Utc>::from(t)));
    let label = p.to_string_lossy().into_owned();
    if bytes.starts_with(b"From ") {
        let msgs = split_mbox(&bytes);
        if msgs.is_empty() {
            warn!(file = %label, "mbox file without messages");
        }
        return Ok(msgs
            .into_iter()
            .enumerate()
            .map(|(i, b)| Found {
                label: format!("{label}#{}", i + 1),
                bytes: b,
                mtime,
            })
            .collect());
    }
    Ok(vec![Found {
        label,
        bytes,
        mtime,
    }])
}

/// Splits an mbox (mboxrd or mboxo) into messages, undoing `>From ` quoting.
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(m) = cur.take() {
                out.push(finish(m));
            }
            cur = Some(Vec::new());
            continue;
        }
        let Some(m) = cur.as_mut() else { continue };
        let stripped = line.iter().take_while(|b| **b == b'>').count();
        if stripped > 0 && line[stripped..].starts_with(b"From ") {
            m.extend_from_slice(&line[1..]);
        } else {
            m.extend_from_slice(line);
        }
    }
    if let Some(m) = cur.take() {
        out.push(finish(m));
    }
    out
}

/// The blank line before the next `From ` separator belongs to the mbox, not the mail.
fn finish(mut m: Vec<u8>) -> Vec<u8> {
    if m.ends_with(b"\n\n") {
        m.pop();
    } else if m.ends_with(b"\r\n\r\n") {
        m.truncate(m.len() - 2);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unquote() {
        let mbox = b"From a@x Mon Jul 18 10:00:00 2022\nSubject: 1\n\n>From here\nbody\n\nFrom b@x Mon Jul 18 11:00:00 2022\nSubject: 2\n\nx\n";
        let v = split_mbox(mbox);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], b"Subject: 1\n\nFrom here\nbody\n".to_vec());
        assert_eq!(v[1], b"Subject: 2\n\nx\n".to_vec());
    }
}
