//! `kepu-intake import`: offline intake of `.eml` files, directories of them, Maildir
//! folders (Maildir++ subfolders included) and mbox files, through the same store and
//! pipeline as the daemon. Received time = the topmost `Received:` header (the
//! receiving server's clock); when a file has none, its modification time, flagged
//! `received_time_estimated`.
//!
//! Only mail is taken this way: a file named on the command line that is not a message
//! or an mbox is refused before anything is recorded (a downloaded .zip must not become
//! a fake mail). Files that belong to a message already received — a 超大附件 downloaded
//! from its link, a form brought on a USB stick — are taken with `import --into mID`
//! ([`import_into`]): kept like raw mail and read with that message's attachments.

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
    /// Maildir++ subfolders (`.Name`) read, as named on disk.
    pub subfolders: Vec<String>,
    /// Maildir++ subfolders left out on purpose (sent, drafts, trash, junk).
    pub skipped_folders: Vec<String>,
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
    let mut stats = ImportStats::default();
    let mut files = Vec::new();
    for p in paths {
        refuse_non_mail(p)?;
        collect(p, &mut files, &mut stats)?;
    }
    files.sort();
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

/// A file named on the command line must be mail: a message (headers first) or an
/// mbox (`From ` first). Anything else is refused with what to do instead.
fn refuse_non_mail(p: &Path) -> Result<()> {
    if !p.is_file() {
        return Ok(());
    }
    let mut head = Vec::with_capacity(8192);
    std::fs::File::open(p)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 8192), &mut head))
        .map_err(|e| Error::io(p, e))?;
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if head.starts_with(b"From ") || crate::extract::sniff(&head, name) == "eml" {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{} 不是邮件，未导入；附件请用 import --into 邮件编号 (not mail (.eml, Maildir, mbox): nothing imported; to add it to a message use `import --into MESSAGE_ID`)",
        p.display()
    )))
}

/// Maildir++ folders not read: what we sent, drafts, deleted and junk mail.
fn skipped_maildir_folder(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    matches!(
        last.as_str(),
        "sent"
            | "sent messages"
            | "sent items"
            | "drafts"
            | "trash"
            | "deleted messages"
            | "junk"
            | "spam"
    )
}

/// A directory that is a Maildir folder (has `cur/` or `new/`).
fn is_maildir(p: &Path) -> bool {
    p.join("cur").is_dir() || p.join("new").is_dir()
}

/// Files to read under `p`: itself, or every regular file below a directory (Maildir's
/// `tmp/` skipped: those are deliveries in progress; Maildir++ subfolders `.Name` read
/// unless they hold sent, draft, deleted or junk mail; other dot directories skipped).
fn collect(p: &Path, out: &mut Vec<PathBuf>, stats: &mut ImportStats) -> Result<()> {
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
        if name.starts_with('.') && e.is_dir() && name.len() > 1 && is_maildir(&e) {
            if skipped_maildir_folder(name) {
                stats.skipped_folders.push(name.to_string());
                continue;
            }
            stats.subfolders.push(name.to_string());
            collect(&e, out, stats)?;
            continue;
        }
        if name.starts_with('.') || name == "tmp" && e.is_dir() {
            continue;
        }
        if e.is_dir() {
            collect(&e, out, stats)?;
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

/// What `import --into` did, for the summary line and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntoReport {
    pub message: i64,
    /// (file name, sha256, newly added) per file read.
    pub files: Vec<(String, String, bool)>,
}

impl IntoReport {
    /// What the audit row of this import says (action `import`, target `m<ID>`): the
    /// files taken in.
    pub fn audit_detail(&self) -> String {
        let names: Vec<&str> = self.files.iter().map(|(n, _, _)| n.as_str()).collect();
        format!("import --into: {}", names.join(", "))
    }
}

/// `import --into MESSAGE PATH...`: files downloaded or handed over for a message,
/// taken in as if they had been attached to it. Each file (directories: the files
/// below them) goes to the raw store; the message is set to be processed again, and
/// from then on every run of the pipeline on it, `reprocess` included, reads them with
/// its attachments. Returns what should go to the audit log
/// ([`record_import_into`]).
pub fn import_into(
    message: i64,
    paths: &[PathBuf],
    db: &mut Db,
    store: &Store,
) -> Result<IntoReport> {
    match db.message_by_id(message)? {
        None => {
            return Err(Error::Other(format!(
                "没有编号为 {message} 的邮件 / no message with id {message} (see `kepu-intake dump --json`)"
            )))
        }
        // A duplicate is never parsed (it takes its original's category): files for
        // it belong to the original.
        Some(m) if m.duplicate_of.is_some() => {
            let orig = m.duplicate_of.unwrap_or_default();
            return Err(Error::Other(format!(
                "m{message} 是 m{orig} 的重复邮件，请用 --into m{orig} / m{message} duplicates m{orig}: use --into m{orig}"
            )));
        }
        Some(_) => {}
    }
    let mut paths_found = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let mut v: Vec<PathBuf> = walk_files(p)?;
            v.sort();
            paths_found.extend(v);
        } else {
            paths_found.push(p.clone());
        }
    }
    let mut files = Vec::new();
    for p in &paths_found {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        let sha = store.put_raw(&bytes)?;
        files.push(crate::db::hand_files::HandFile {
            message,
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256: sha,
            size: bytes.len() as i64,
            source: p.to_string_lossy().into_owned(),
            added_at: crate::time::fmt(&crate::time::now()),
        });
    }
    store.sync()?;
    let added = db.add_hand_files(message, &files)?;
    Ok(record_import_into(message, &files, &added))
}

/// What an `import --into` recorded: one line per file, whether it was new to the
/// message. Its [`IntoReport::audit`] is the audit log's entry.
pub fn record_import_into(
    message: i64,
    files: &[crate::db::hand_files::HandFile],
    added: &[bool],
) -> IntoReport {
    IntoReport {
        message,
        files: files
            .iter()
            .zip(added)
            .map(|(f, a)| (f.name.clone(), f.sha256.clone(), *a))
            .collect(),
    }
}

/// Every regular file below `p` (hidden files skipped).
fn walk_files(p: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).map_err(|e| Error::io(p, e))? {
        let e = e.map_err(|e| Error::io(p, e))?.path();
        if e.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if e.is_dir() {
            out.extend(walk_files(&e)?);
        } else if e.is_file() {
            out.push(e);
        }
    }
    Ok(out)
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
