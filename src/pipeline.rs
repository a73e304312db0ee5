//! The processing stages after the raw store: extract → classify/parse forms → scans →
//! record → applications → receipts queued. Runs on stored raw mail only, so
//! `reprocess` can re-run it after a parser fix without touching the raw bytes.
//!
//! Each message is processed under `catch_unwind`: a panic in one message becomes a
//! `processing_failed` problem on that message and the next one goes on.
//!
//! Scans are the slow part (Tesseract takes seconds a page), so a batch runs in two
//! steps: every message is read and classified first, its scans looked up in the
//! `ocr_cache` by content; the scans not found there are then analysed together by a
//! pool of at most `[tools] workers` threads (default: one per core), each running one
//! Tesseract at a time; then the batch's messages are finished and committed in order.
//! With one worker the same code runs serially and gives the same records.
//!
//! Electronic documents go to the parser worker unless `form_cache` already holds the
//! answer for the same bytes (LibreOffice conversions take seconds).

mod batch;
mod message;
mod progress;
mod protected;

pub use message::categorize;

use crate::apps;
use crate::config::Config;
use crate::db::Db;
use crate::domain::document::{DocInMail, Processed};
use crate::error::Result;
use crate::extract::Limits;
use crate::isolate::{IsolateOptions, Worker};
use crate::model::Category;
use crate::scan::{ScanInfo, ScanOptions};
use crate::store::Store;
use batch::{analyze_guarded, Batch, ScanJob, Stage, Staged};
use message::apply_scan;
use progress::{OcrProgress, Progress};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn};

/// At most this many messages per commit (and per store sync) …
const BATCH: usize = 256;
/// … and at most this long a batch: a sync costs tens of milliseconds on a VM disk, so
/// it is shared by many messages, while a slow batch (OCR) still commits often.
const BATCH_TIME: std::time::Duration = std::time::Duration::from_secs(2);
/// Scans a batch collects per worker before they are analysed: a few rounds keep
/// every worker busy while the batch still commits every ten seconds or so.
const JOBS_PER_WORKER: usize = 4;
/// Bytes of scan files a batch may hold while they wait for analysis.
const MAX_JOB_BYTES: usize = 256 << 20;
/// The version of what the form parsers (`forms/`, `isolate`, `convert`) answer for a
/// file: part of every `form_cache` key. Bump it with any change to what they return
/// (fields, problems, form identification), so no cached answer outlives its code.
pub const FORM_ANALYSIS_VERSION: u32 = 2;
/// `reprocess` shows OCR progress on stderr from this many scans up.
const PROGRESS_MIN_SCANS: usize = 8;

#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub processed: usize,
    pub failed: usize,
}

pub struct Pipeline {
    cfg: Config,
    store: Store,
    limits: Limits,
    own: Vec<String>,
    scan_opts: ScanOptions,
    /// The warm parser child; started by the first document, ended with the pipeline.
    parser: Worker,
    /// Scan analyses (each one Tesseract at a time) run at once.
    workers: usize,
    /// Print `OCR n/N` lines on stderr (the `reprocess` command).
    show_progress: bool,
    /// Take parse results from `form_cache` (off for `reprocess`, which is run to
    /// parse again; its results still refresh the cache).
    reuse_forms: bool,
    /// The call's deadline as configured now (`reprocess` re-judges lateness by it).
    deadline: chrono::DateTime<chrono::FixedOffset>,
}

impl Pipeline {
    pub fn new(cfg: &Config) -> Result<Pipeline> {
        let store = Store::open(&cfg.storage.data_dir)?;
        let limits = Limits {
            max_attachment_bytes: cfg.intake.max_attachment_bytes,
            ..Limits::default()
        };
        Ok(Pipeline {
            deadline: cfg.intake.deadline()?,
            own: cfg.own_addresses(),
            cfg: cfg.clone(),
            store,
            limits,
            scan_opts: ScanOptions::detect(&cfg.tools),
            parser: Worker::new(IsolateOptions {
                exe: parser_exe(),
                timeout: std::time::Duration::from_secs(cfg.intake.parse_timeout_s.max(1)),
                memory_mb: cfg.intake.parse_memory_mb,
                tools: cfg.tools.clone(),
            }),
            workers: workers(cfg.tools.workers),
            show_progress: false,
            reuse_forms: true,
        })
    }

    /// Parses every form again instead of taking it from `form_cache`.
    pub fn reparse(mut self) -> Pipeline {
        self.reuse_forms = false;
        self
    }

    /// Turns the operator's `OCR n/N` progress lines on stderr on or off.
    pub fn show_progress(mut self, on: bool) -> Pipeline {
        self.show_progress = on;
        self
    }

    /// How many scans are analysed at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Processes every message still waiting, then rebuilds the applications.
    pub fn process_pending(&self, db: &mut Db, cancel: &CancellationToken) -> Result<Stats> {
        let pending = db.pending_messages()?;
        self.process_list(db, pending, cancel, None)
    }

    /// Re-runs the stages on the given messages (all when `ids` is None).
    pub fn reprocess(
        &self,
        db: &mut Db,
        ids: Option<&[i64]>,
        cancel: &CancellationToken,
    ) -> Result<Stats> {
        let list = match ids {
            None => db.all_messages()?,
            Some(ids) => {
                let mut v = Vec::new();
                for id in ids {
                    match db.message_by_id(*id)? {
                        Some(m) => v.push(m),
                        None => {
                            return Err(crate::Error::Other(format!(
                                "没有编号为 {id} 的邮件 / no message with id {id} (see `kepu-intake dump --json`)"
                            )))
                        }
                    }
                }
                v
            }
        };
        // The scans to look at again, counted from the documents recorded last time:
        // an estimate for the progress lines only.
        let scans = if self.show_progress {
            db.count_scan_candidates(ids)?
        } else {
            0
        };
        let ocr = (scans >= PROGRESS_MIN_SCANS).then(|| OcrProgress::new(scans));
        let relabelled = db.refresh_lateness(ids, &self.deadline)?;
        if relabelled > 0 {
            info!(
                messages = relabelled,
                "late flag changed by the current deadline"
            );
        }
        let stats = self.process_list(db, list, cancel, ocr.as_ref())?;
        if let Some(p) = &ocr {
            p.finish();
        }
        Ok(stats)
    }

    fn process_list(
        &self,
        db: &mut Db,
        list: Vec<crate::db::messages::PendingMessage>,
        cancel: &CancellationToken,
        ocr: Option<&OcrProgress>,
    ) -> Result<Stats> {
        // Originals are committed before their duplicates run, so a duplicate can take
        // the original's category.
        let (dups, originals): (Vec<_>, Vec<_>) =
            list.into_iter().partition(|m| m.duplicate_of.is_some());
        let total = originals.len() + dups.len();
        if total > 0 {
            info!(pending = total, "processing stored messages");
        }
        let mut stats = Stats::default();
        let mut progress = Progress::new(total);
        let max_jobs = self.workers * JOBS_PER_WORKER;
        'parts: for part in [originals, dups] {
            let mut batch = Batch::default();
            let mut started = Instant::now();
            for m in &part {
                // Shutdown: finish the message in hand, commit what is done, stop.
                if cancel.is_cancelled() {
                    info!("shutdown requested: committing the messages done so far");
                    self.flush(db, &mut batch, &mut stats, &mut progress, ocr, cancel)?;
                    break 'parts;
                }
                if batch.items.is_empty() {
                    started = Instant::now();
                }
                let item = self.guarded_stage(db, m, &mut batch, &mut stats, ocr);
                batch.items.push(item);
                if batch.items.len() >= BATCH
                    || started.elapsed() >= BATCH_TIME
                    || batch.jobs.len() >= max_jobs
                    || batch.bytes >= MAX_JOB_BYTES
                {
                    self.flush(db, &mut batch, &mut stats, &mut progress, ocr, cancel)?;
                }
            }
            self.flush(db, &mut batch, &mut stats, &mut progress, ocr, cancel)?;
        }
        if stats.processed > 0 {
            self.rebuild_applications(db)?;
        }
        Ok(stats)
    }

    /// Analyses the batch's waiting scans on the worker pool, caches the results,
    /// finishes the batch's messages in order and commits them. Messages whose scans
    /// were skipped because of a shutdown are left out: they stay to be processed.
    fn flush(
        &self,
        db: &mut Db,
        batch: &mut Batch,
        stats: &mut Stats,
        progress: &mut Progress,
        ocr: Option<&OcrProgress>,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let jobs = std::mem::take(&mut batch.jobs);
        batch.by_key.clear();
        batch.bytes = 0;
        let results = self.analyze_jobs(&jobs, ocr, cancel);
        for (job, r) in jobs.iter().zip(&results) {
            // A panicked analysis is not cached: a fixed version may read the file.
            if let Some((info, true)) = r {
                db.scan_cache_put(&job.key, &info.to_cache())?;
            }
        }
        let mut out: Vec<Processed> = Vec::with_capacity(batch.items.len());
        for item in batch.items.drain(..) {
            match item {
                Stage::Done(p) => out.push(p),
                Stage::Waiting(s) => {
                    if s.pending
                        .iter()
                        .any(|&(_, j)| results.get(j).is_none_or(Option::is_none))
                    {
                        continue;
                    }
                    out.push(self.guarded_finish(s, &results, stats));
                }
            }
        }
        self.commit(db, &mut out, stats, progress)
    }

    /// Runs [`crate::scan::analyze`] on every job with at most `workers` at once (a
    /// scoped pool pulling the next job from a shared counter). None where a shutdown
    /// stopped the pool before the job; `(info, false)` where the analysis panicked.
    fn analyze_jobs(
        &self,
        jobs: &[ScanJob],
        ocr: Option<&OcrProgress>,
        cancel: &CancellationToken,
    ) -> Vec<Option<(ScanInfo, bool)>> {
        let slots: Vec<Mutex<Option<(ScanInfo, bool)>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let opts = &self.scan_opts;
        let work = || loop {
            if cancel.is_cancelled() {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(job), Some(slot)) = (jobs.get(i), slots.get(i)) else {
                break;
            };
            // The worker's log lines name the scan (the message span is on another thread).
            let span = info_span!("scan", sha = %job.key.get(..12).unwrap_or(&job.key));
            let r = span.in_scope(|| analyze_guarded(job, opts));
            if let Some(p) = ocr {
                p.tick(job.docs);
            }
            // Nothing panics while the lock is held, so it cannot be poisoned.
            if let Ok(mut s) = slot.lock() {
                *s = Some(r);
            }
        };
        let n = self.workers.min(jobs.len());
        if n <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(work);
                }
            });
        }
        slots
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }

    /// Makes the batch's documents durable, then records the batch in one transaction.
    fn commit(
        &self,
        db: &mut Db,
        out: &mut Vec<Processed>,
        stats: &mut Stats,
        progress: &mut Progress,
    ) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.store.sync()?;
        db.save_processed(out)?;
        stats.processed += out.len();
        out.clear();
        progress.tick(stats.processed);
        Ok(())
    }

    /// One message read and classified under `catch_unwind`: errors and panics become
    /// a recorded problem. Its scans not in the cache join the batch's jobs.
    fn guarded_stage(
        &self,
        db: &Db,
        m: &crate::db::messages::PendingMessage,
        batch: &mut Batch,
        stats: &mut Stats,
        ocr: Option<&OcrProgress>,
    ) -> Stage {
        let span = info_span!("process", message = m.id);
        let _g = span.enter();
        match catch_unwind(AssertUnwindSafe(|| self.stage_one(db, m, batch, ocr))) {
            Ok(Ok(st)) => st,
            Ok(Err(e)) => {
                error!(message = m.id, error = %e, "processing failed");
                stats.failed += 1;
                Stage::Done(failed(m.id, format!("processing_failed:{e}")))
            }
            Err(panic) => {
                let msg = panic_text(&panic);
                error!(message = m.id, panic = %msg, "processing panicked");
                stats.failed += 1;
                Stage::Done(failed(m.id, format!("processing_failed:panic:{msg}")))
            }
        }
    }

    /// A staged message with its scans' results filled in, under `catch_unwind`.
    fn guarded_finish(
        &self,
        s: Staged,
        results: &[Option<(ScanInfo, bool)>],
        stats: &mut Stats,
    ) -> Processed {
        let id = s.message;
        let span = info_span!("process", message = id);
        let _g = span.enter();
        let run = AssertUnwindSafe(move || {
            let mut documents = s.documents;
            for (di, ji) in s.pending {
                if let (Some(doc), Some(Some((info, _)))) = (documents.get_mut(di), results.get(ji))
                {
                    apply_scan(doc, info.clone());
                }
            }
            self.finish_message(id, &s.ex, documents)
        });
        match catch_unwind(run) {
            Ok(p) => p,
            Err(panic) => {
                let msg = panic_text(&panic);
                error!(message = id, panic = %msg, "processing panicked");
                stats.failed += 1;
                failed(id, format!("processing_failed:panic:{msg}"))
            }
        }
    }

    /// Recomputes applications and scan matches over the whole intake.
    pub fn rebuild_applications(&self, db: &mut Db) -> Result<()> {
        rebuild_applications(db, self.cfg.intake.match_threshold)
    }
}

/// Recomputes applications and scan matches over the whole intake, reading and writing
/// in one transaction (see [`Db::rebuild_applications`]). Operators' actions call this
/// too: it needs no parser or scan tools.
pub fn rebuild_applications(db: &mut Db, threshold: f64) -> Result<()> {
    db.rebuild_applications(Box::new(move |docs, manual| {
        let matcher =
            |s: &[&DocInMail], e: &[&DocInMail]| crate::scan::recorded::assign(s, e, threshold);
        apps::build(docs, manual, &matcher)
    }))
}

/// The binary that runs `__parse-worker`: this one, unless `KEPU_PARSER_EXE` names another
/// (tests that drive the library from a test binary point it at kepu-intake).
fn parser_exe() -> std::path::PathBuf {
    std::env::var_os("KEPU_PARSER_EXE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| std::path::PathBuf::from("kepu-intake"))
}

/// Worker count: the configured number, or one per core when 0.
fn workers(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

fn failed(message: i64, problem: String) -> Processed {
    warn!(message, %problem, "recorded as a problem; the message stays stored and can be reprocessed");
    Processed {
        message,
        category: Category::Other,
        from_addr: None,
        from_name: None,
        subject: None,
        message_id: None,
        problems: vec![problem],
        documents: vec![],
        receipt: None,
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

#[cfg(test)]
mod tests;
