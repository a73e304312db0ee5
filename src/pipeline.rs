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

use crate::apps;
use crate::config::Config;
use crate::db::documents::{NewDocument, Processed};
use crate::db::Db;
use crate::error::Result;
use crate::extract::{self, Extracted, ExtractedDoc, Limits};
use crate::forms::{FormError, ParsedForm};
use crate::isolate::{IsolateOptions, Worker};
use crate::model::{Category, DocKind};
use crate::scan::{ScanInfo, ScanOptions};
use crate::store::{sha256_hex, Store};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn};

/// Formats read as electronic forms.
const ELECTRONIC: &[&str] = &["docx", "doc", "wps", "rtf", "odt", "xlsx", "xls", "ods"];
/// Formats examined as scans.
const IMAGES: &[&str] = &["jpg", "png", "tiff", "bmp", "gif", "webp", "heic"];
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
}

impl Pipeline {
    pub fn new(cfg: &Config) -> Result<Pipeline> {
        let store = Store::open(&cfg.storage.data_dir)?;
        let limits = Limits {
            max_attachment_bytes: cfg.intake.max_attachment_bytes,
            ..Limits::default()
        };
        Ok(Pipeline {
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
                db.scan_cache_put(&job.key, &crate::scan_glue::to_cache(info))?;
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

    fn stage_one(
        &self,
        db: &Db,
        m: &crate::db::messages::PendingMessage,
        batch: &mut Batch,
        ocr: Option<&OcrProgress>,
    ) -> Result<Stage> {
        let raw = self.store.read_raw(&m.sha256)?;
        if let Some(orig) = m.duplicate_of {
            let category = db.message_category(orig)?.unwrap_or_else(|| "other".into());
            return Ok(Stage::Done(Processed {
                message: m.id,
                category,
                from_addr: None,
                from_name: None,
                subject: None,
                message_id: None,
                problems: vec![format!("duplicate_of:{orig}")],
                documents: vec![],
                receipt: Some((
                    String::new(),
                    crate::receipts::ReceiptStatus::Suppressed.as_str().into(),
                    Some(
                        crate::receipts::ReceiptReason::Duplicate
                            .with(format!("重复收到的邮件，原邮件 m{orig} 已处理")),
                    ),
                )),
            }));
        }
        let mut ex = extract::extract(&raw, &self.limits);
        let mut documents = Vec::with_capacity(ex.documents.len());
        let mut pending = Vec::new();
        for d in &ex.documents {
            let (doc, job) = self.document(db, d, batch, ocr)?;
            if let Some(j) = job {
                pending.push((documents.len(), j));
            }
            documents.push(doc);
        }
        if pending.is_empty() {
            return Ok(Stage::Done(self.finish_message(m.id, &ex, documents)));
        }
        // The bytes are stored and the scans' copies are in the jobs: keep only the
        // message facts while waiting.
        ex.documents = Vec::new();
        Ok(Stage::Waiting(Staged {
            message: m.id,
            ex,
            documents,
            pending,
        }))
    }

    /// Category and receipt of a message whose documents are all known.
    fn finish_message(&self, id: i64, ex: &Extracted, documents: Vec<NewDocument>) -> Processed {
        let category = categorize(ex, &documents);
        let receipt = self.receipt_decision(ex, category, &documents);
        Processed {
            message: id,
            category: category.as_str().into(),
            from_addr: ex.meta.from.clone(),
            from_name: ex.meta.from_name.clone(),
            subject: ex.meta.subject.clone(),
            message_id: ex.meta.message_id.clone(),
            problems: ex.problems.clone(),
            documents,
            receipt: Some(receipt),
        }
    }

    /// Stores one document's bytes and works out what it is. A scan not in the
    /// `ocr_cache` comes back unfinished with the index of its job in `batch`.
    fn document(
        &self,
        db: &Db,
        d: &ExtractedDoc,
        batch: &mut Batch,
        ocr: Option<&OcrProgress>,
    ) -> Result<(NewDocument, Option<usize>)> {
        let sha = sha256_hex(&d.bytes);
        if !d.bytes.is_empty() {
            self.store.put_doc(&sha, &d.bytes)?;
        }
        let mut doc = NewDocument {
            container: d.container,
            problems: d.problems.clone(),
            ..NewDocument::unclassified(d.name.clone(), sha, d.bytes.len() as i64, d.format.clone())
        };
        let broken = d.problems.iter().any(|p| {
            p.starts_with("encrypted_attachment")
                || p.starts_with("corrupt_attachment")
                || p.starts_with("over_size")
        });
        if d.format == "cloud_link" {
            doc.kind = DocKind::CloudLink.as_str().into();
            return Ok((doc, None));
        }
        if d.is_container {
            if matches!(d.format.as_str(), "zip" | "rar" | "7z") {
                doc.kind = DocKind::Archive.as_str().into();
            }
            return Ok((doc, None));
        }
        if broken {
            return Ok((doc, None));
        }
        let fmt = d.format.as_str();
        if ELECTRONIC.contains(&fmt) || fmt == "pdf" {
            match self.read_form_cached(db, &doc.sha256, fmt, &d.bytes)? {
                Ok(p) if p.form.is_some() => {
                    apply_form(&mut doc, p);
                    return Ok((doc, None));
                }
                Ok(_) => {
                    if fmt != "pdf" {
                        return Ok((doc, None));
                    }
                }
                Err(e) => {
                    if fmt != "pdf" {
                        doc.problems.push(form_problem(&e));
                        return Ok((doc, None));
                    }
                }
            }
        }
        if IMAGES.contains(&fmt) || fmt == "pdf" {
            // Seal and OCR cost seconds a page: cached by content and OCR setting.
            let key = format!("{}:ocr={}", doc.sha256, self.scan_opts.ocr);
            if let Some(hit) = db
                .scan_cache_get(&key)?
                .and_then(|j| crate::scan_glue::from_cache(&j))
            {
                if let Some(p) = ocr {
                    p.tick(1);
                }
                apply_scan(&mut doc, hit);
            } else {
                let job = batch.job(key, fmt, &d.bytes);
                return Ok((doc, Some(job)));
            }
        }
        Ok((doc, None))
    }

    /// [`Self::read_electronic`] through `form_cache`, so a Word 97 / WPS file sent
    /// again is not converted by LibreOffice again (seconds each). Kept: answers the
    /// same bytes always get — a form, "no form in this document", or a file the
    /// converter ran on and could not read (`Unreadable`). Not kept: a missing tool,
    /// a timeout under load, a killed worker, which may answer differently next time.
    /// The key carries the program version and the call file's fingerprint, so an
    /// upgrade or another call parses again.
    fn read_form_cached(
        &self,
        db: &Db,
        sha: &str,
        format: &str,
        bytes: &[u8],
    ) -> Result<Result<ParsedForm, FormError>> {
        let key = format!(
            "{sha}:{format}:{}:{:016x}",
            env!("CARGO_PKG_VERSION"),
            crate::call::current().fingerprint
        );
        if self.reuse_forms {
            if let Some(hit) = db
                .form_cache_get(&key)?
                .and_then(|j| serde_json::from_str::<Result<ParsedForm, FormError>>(&j).ok())
            {
                return Ok(hit);
            }
        }
        let parsed = self.read_electronic(format, bytes);
        if matches!(parsed, Ok(_) | Err(FormError::Unreadable(_))) {
            if let Ok(json) = serde_json::to_string(&parsed) {
                db.form_cache_put(&key, &json)?;
            }
        }
        Ok(parsed)
    }

    /// Parses in the warm worker process (timeout, memory cap): a parser bug on a
    /// hostile file may cost that document, never the daemon; a spawn per document
    /// would cost more than the parse itself.
    fn read_electronic(&self, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
        self.parser.read_electronic(format, bytes)
    }

    /// Who gets a receipt (RFC 3834 robots never do) and the outbox row to create.
    fn receipt_decision(
        &self,
        ex: &Extracted,
        category: Category,
        documents: &[NewDocument],
    ) -> (String, String, Option<String>) {
        let facts = crate::receipts::Facts {
            authserv_id: &self.cfg.receipts.authserv_id,
            blank_forms_only: crate::receipts_glue::blank_forms_only(documents),
        };
        let decision = crate::receipts::decide_with(&ex.meta, category, false, &self.own, &facts);
        let to = match &decision {
            crate::receipts::Decision::Reply { to }
            | crate::receipts::Decision::Hold { to, .. } => to.clone(),
            crate::receipts::Decision::Suppress { .. } => ex.meta.from.clone().unwrap_or_default(),
        };
        let (status, reason) = crate::receipts::initial_status(self.cfg.receipts.mode, &decision);
        (to, status.to_string(), reason)
    }
}

/// Recomputes applications and scan matches over the whole intake, reading and writing
/// in one transaction (see [`Db::rebuild_applications`]). Operators' actions call this
/// too: it needs no parser or scan tools.
pub fn rebuild_applications(db: &mut Db, threshold: f64) -> Result<()> {
    db.rebuild_applications(Box::new(move |docs, manual| {
        let matcher = |s: &[&crate::db::documents::DocForMatching],
                       e: &[&crate::db::documents::DocForMatching]| {
            crate::scan_glue::assign(s, e, threshold)
        };
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

/// A scan to analyse, shared by every document of the batch with the same content.
struct ScanJob {
    /// `ocr_cache` key: sha256 and OCR setting.
    key: String,
    format: String,
    bytes: Vec<u8>,
    /// Documents waiting for it (for the progress count).
    docs: usize,
}

/// A message read and classified whose scans wait for analysis.
struct Staged {
    message: i64,
    /// The message facts (documents' bytes dropped).
    ex: Extracted,
    documents: Vec<NewDocument>,
    /// (document index, job index) of each scan still to fill in.
    pending: Vec<(usize, usize)>,
}

enum Stage {
    Done(Processed),
    Waiting(Staged),
}

/// Messages staged since the last commit and the scans they wait for.
#[derive(Default)]
struct Batch {
    items: Vec<Stage>,
    jobs: Vec<ScanJob>,
    by_key: HashMap<String, usize>,
    bytes: usize,
}

impl Batch {
    /// The job analysing `bytes`, new or shared with an identical scan already waiting.
    fn job(&mut self, key: String, format: &str, bytes: &[u8]) -> usize {
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
fn analyze_guarded(job: &ScanJob, opts: &ScanOptions) -> (ScanInfo, bool) {
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

/// Records a scan analysis on its document. A picture counts as a scan when it shows
/// a form or a seal, or is big enough to be a page (a PDF always is); a small picture
/// without either is some other image (a logo in a signature).
fn apply_scan(doc: &mut NewDocument, info: ScanInfo) {
    let is_scan = info.form.is_some()
        || info.stamped == Some(true)
        || doc.format == "pdf"
        || doc.size > 50_000;
    if is_scan {
        doc.kind = DocKind::Scan.as_str().into();
        doc.form = info.form.map(|f| f.as_str().to_string());
        doc.stamped = info.stamped;
        doc.seal_score = Some(info.seal_score);
        doc.ocr_text = info.ocr_text;
        doc.problems.extend(info.problems);
    }
}

fn apply_form(doc: &mut NewDocument, p: ParsedForm) {
    doc.kind = DocKind::Electronic.as_str().into();
    if let Some(form) = p.form {
        doc.form = Some(form.as_str().into());
        doc.applicant = form
            .def()
            .and_then(|def| crate::forms::applicant(def, &p.fields));
    }
    doc.fields = p.fields;
    doc.problems.extend(p.problems);
}

fn form_problem(e: &FormError) -> String {
    match e {
        FormError::Corrupt(m) | FormError::Unreadable(m) => format!("corrupt_attachment:{m}"),
        FormError::Encrypted => "encrypted_attachment".into(),
        FormError::NeedsConversion(m) => format!("needs_conversion:{m}"),
        FormError::Unsupported(f) => format!("unsupported_format:{f}"),
    }
}

/// Message category: robots by headers first, then by what the mail carries.
pub fn categorize(ex: &Extracted, docs: &[NewDocument]) -> Category {
    if let Some(robot) = ex.meta.robot {
        return robot;
    }
    let carries_form = docs.iter().any(|d| {
        d.kind == DocKind::Electronic.as_str()
            || d.kind == DocKind::Scan.as_str()
            || d.kind == DocKind::CloudLink.as_str()
    });
    if carries_form {
        return Category::Submission;
    }
    if extract::looks_like_question(ex.meta.subject.as_deref().unwrap_or(""), &ex.meta.body_text) {
        return Category::Question;
    }
    if docs
        .iter()
        .any(|d| ELECTRONIC.contains(&d.format.as_str()) || d.format == "pdf")
    {
        // Office files that are not one of the call's forms: a person sent something.
        return Category::Submission;
    }
    Category::Other
}

/// Progress of long runs (reprocess, a big first catch-up) for the operator's log.
struct Progress {
    total: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    fn tick(&mut self, done: usize) {
        if self.total > 32 && (self.last.elapsed().as_secs() >= 2 || done == self.total) {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            let rate = done as f64 / secs.max(0.001);
            let left = (self.total - done) as f64 / rate.max(0.001);
            info!(
                done,
                total = self.total,
                "已处理 {done}/{} 封邮件，约 {left:.0} 秒后完成",
                self.total
            );
        }
    }
}

/// `OCR n/N` lines on stderr for the operator while `reprocess` goes through many
/// scans: cache hits count at once, analyses as each finishes; at most one line a
/// second, and the last one always.
pub(crate) struct OcrProgress {
    total: usize,
    done: AtomicUsize,
    started: Instant,
    /// When the last line was printed and the count it showed.
    last: Mutex<(Option<Instant>, usize)>,
}

impl OcrProgress {
    fn new(total: usize) -> OcrProgress {
        OcrProgress {
            total,
            done: AtomicUsize::new(0),
            started: Instant::now(),
            last: Mutex::new((None, 0)),
        }
    }

    fn tick(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::SeqCst) + n;
        self.print(done, false);
    }

    /// The final count, unless it was the last line printed.
    fn finish(&self) {
        self.print(self.done.load(Ordering::SeqCst), true);
    }

    fn print(&self, done: usize, last_call: bool) {
        // The total is counted from last time's documents; a mail may carry more now.
        let total = self.total.max(done);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.0.is_some() && last.1 == done {
            return; // this count is on screen already
        }
        let due = last.0.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !(due || done == total || last_call) {
            return;
        }
        *last = (Some(Instant::now()), done);
        let secs = self.started.elapsed().as_secs_f64();
        let left = if done == 0 {
            0.0
        } else {
            secs / done as f64 * (total - done) as f64
        };
        eprintln!("OCR {done}/{total} 份扫描件，已用 {secs:.0} 秒，约剩 {left:.0} 秒");
    }
}

fn failed(message: i64, problem: String) -> Processed {
    warn!(message, %problem, "recorded as a problem; the message stays stored and can be reprocessed");
    Processed {
        message,
        category: Category::Other.as_str().into(),
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
mod tests {
    use super::*;

    #[test]
    fn identical_scans_in_a_batch_share_one_analysis() {
        let mut b = Batch::default();
        let a = b.job("aaa:ocr=true".into(), "jpg", &[1, 2, 3]);
        let other = b.job("bbb:ocr=true".into(), "png", &[4, 5]);
        let again = b.job("aaa:ocr=true".into(), "jpg", &[1, 2, 3]);
        assert_eq!((a, other, again), (0, 1, 0));
        assert_eq!(b.jobs.len(), 2);
        assert_eq!(b.jobs[0].docs, 2);
        assert_eq!(b.bytes, 5, "the shared scan's bytes are held once");
    }

    #[test]
    fn zero_workers_means_one_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workers(0), cores);
        assert_eq!(workers(3), 3);
    }

    #[test]
    fn small_picture_without_form_or_seal_is_not_a_scan() {
        let doc = |format: &str, size: i64| {
            NewDocument::unclassified("x".into(), "s".into(), size, format.into())
        };
        let mut logo = doc("png", 4_000);
        apply_scan(&mut logo, ScanInfo::default());
        assert_eq!(logo.kind, "other");
        let mut page = doc("png", 4_000);
        apply_scan(
            &mut page,
            ScanInfo {
                stamped: Some(true),
                seal_score: 0.9,
                ..ScanInfo::default()
            },
        );
        assert_eq!((page.kind.as_str(), page.stamped), ("scan", Some(true)));
        let mut pdf = doc("pdf", 4_000);
        apply_scan(&mut pdf, ScanInfo::default());
        assert_eq!(pdf.kind, "scan");
    }
}
