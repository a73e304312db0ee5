//! A batch of messages between two commits: the messages staged, the scans they wait
//! for (one job per distinct content) and one guarded analysis.

use super::panic_text;
use crate::domain::document::{NewDocument, Processed};
use crate::extract::Extracted;
use crate::scan::{ScanInfo, ScanOptions};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tracing::error;

/// A scan to analyse, shared by every document of the batch with the same content.
pub(super) struct ScanJob {
    /// `ocr_cache` key: sha256 and OCR setting.
    pub(super) key: String,
    pub(super) format: String,
    pub(super) bytes: Vec<u8>,
    /// Documents waiting for it (for the progress count).
    pub(super) docs: usize,
}

/// A message read and classified whose scans wait for analysis.
pub(super) struct Staged {
    pub(super) message: i64,
    /// The message facts (documents' bytes dropped).
    pub(super) ex: Extracted,
    pub(super) documents: Vec<NewDocument>,
    /// (document index, job index) of each scan still to fill in.
    pub(super) pending: Vec<(usize, usize)>,
}

// One per message of a batch, held only until the batch commits: boxing the larger
// variant would add an allocation per message for no saving worth having.
#[allow(clippy::large_enum_variant)]
pub(super) enum Stage {
    Done(Processed),
    Waiting(Staged),
}

/// Messages staged since the last commit and the scans they wait for.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) items: Vec<Stage>,
    pub(super) jobs: Vec<ScanJob>,
    pub(super) by_key: HashMap<String, usize>,
    pub(super) bytes: usize,
}

impl Batch {
    /// The job analysing `bytes`, new or shared with an identical scan already waiting.
    pub(super) fn job(&mut self, key: String, format: &str, bytes: &[u8]) -> usize {
        if let Some(&j) = self.by_key.get(&key) {
            if let Some(job) = self.jobs.get_mut(j) {
                job.docs += 1;
            }
            return j;
        }
        self.bytes += bytes.len();
        self.jobs.push(ScanJob {
            key: key.clone(),
            format: format.to_string(),
            bytes: bytes.to_vec(),
            docs: 1,
        });
        self.by_key.insert(key, self.jobs.len() - 1);
        self.jobs.len() - 1
    }
}

/// One analysis; a panic (decoders are caught inside already) costs this scan only:
/// `(info, false)` with the problem named, not to be cached.
pub(super) fn analyze_guarded(job: &ScanJob, opts: &ScanOptions) -> (ScanInfo, bool) {
    match catch_unwind(AssertUnwindSafe(|| {
        crate::scan::analyze(&job.format, &job.bytes, opts)
    })) {
        Ok(info) => (info, true),
        Err(panic) => {
            let msg = panic_text(&panic);
            error!(panic = %msg, "scan analysis panicked");
            let info = ScanInfo {
                problems: vec![format!("{}:panic:{msg}", crate::scan::SCAN_UNREADABLE)],
                ..ScanInfo::default()
            };
            (info, false)
        }
    }
}
