//! The processing stages after the raw store: extract → classify/parse forms → scans →
//! record → applications → receipts queued. Runs on stored raw mail only, so
//! `reprocess` can re-run it after a parser fix without touching the raw bytes.
//!
//! Each message is processed under `catch_unwind`: a panic in one message becomes a
//! `processing_failed` problem on that message and the next one goes on.

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
use std::time::Instant;
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
        })
    }

    /// Processes every message still waiting, then rebuilds the applications.
    pub fn process_pending(&self, db: &mut Db, cancel: &CancellationToken) -> Result<Stats> {
        let pending = db.pending_messages()?;
        self.process_list(db, pending, cancel)
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
        self.process_list(db, list, cancel)
    }

    fn process_list(
        &self,
        db: &mut Db,
        list: Vec<crate::db::messages::PendingMessage>,
        cancel: &CancellationToken,
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
        'parts: for part in [originals, dups] {
            let mut out: Vec<Processed> = Vec::new();
            let mut started = Instant::now();
            for m in &part {
                // Shutdown: finish the message in hand, commit what is done, stop.
                if cancel.is_cancelled() {
                    info!("shutdown requested: committing the messages done so far");
                    self.commit(db, &mut out, &mut stats, &mut progress)?;
                    break 'parts;
                }
                if out.is_empty() {
                    started = Instant::now();
                }
                out.push(self.guarded(db, m, &mut stats));
                if out.len() >= BATCH || started.elapsed() >= BATCH_TIME {
                    self.commit(db, &mut out, &mut stats, &mut progress)?;
                }
            }
            self.commit(db, &mut out, &mut stats, &mut progress)?;
        }
        if stats.processed > 0 {
            self.rebuild_applications(db)?;
        }
        Ok(stats)
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

    /// One message under `catch_unwind`: errors and panics become a recorded problem.
    fn guarded(
        &self,
        db: &Db,
        m: &crate::db::messages::PendingMessage,
        stats: &mut Stats,
    ) -> Processed {
        let span = info_span!("process", message = m.id);
        let _g = span.enter();
        match catch_unwind(AssertUnwindSafe(|| self.process_one(db, m))) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                error!(message = m.id, error = %e, "processing failed");
                stats.failed += 1;
                failed(m.id, format!("processing_failed:{e}"))
            }
            Err(panic) => {
                let msg = panic_text(&panic);
                error!(message = m.id, panic = %msg, "processing panicked");
                stats.failed += 1;
                failed(m.id, format!("processing_failed:panic:{msg}"))
            }
        }
    }

    /// Recomputes applications and scan matches over the whole intake.
    pub fn rebuild_applications(&self, db: &mut Db) -> Result<()> {
        let docs = db.docs_for_matching()?;
        let manual: HashMap<String, Option<String>> = db.manual_matches()?.into_iter().collect();
        let threshold = self.cfg.intake.match_threshold;
        let matcher = |s: &[&crate::db::documents::DocForMatching],
                       e: &[&crate::db::documents::DocForMatching]| {
            crate::scan_glue::assign(s, e, threshold)
        };
        let (rows, links) = apps::build(&docs, &manual, &matcher);
        db.save_applications(&rows, &links)
    }

    fn process_one(&self, db: &Db, m: &crate::db::messages::PendingMessage) -> Result<Processed> {
        let raw = self.store.read_raw(&m.sha256)?;
        if let Some(orig) = m.duplicate_of {
            let category = db.message_category(orig)?.unwrap_or_else(|| "other".into());
            return Ok(Processed {
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
                    "suppressed".into(),
                    Some(format!("duplicate of message {orig}")),
                )),
            });
        }
        let ex = extract::extract(&raw, &self.limits);
        let mut documents = Vec::with_capacity(ex.documents.len());
        for d in &ex.documents {
            documents.push(self.document(db, d)?);
        }
        let category = categorize(&ex, &documents);
        let receipt = self.receipt_decision(&ex, category);
        Ok(Processed {
            message: m.id,
            category: category.as_str().into(),
            from_addr: ex.meta.from.clone(),
            from_name: ex.meta.from_name.clone(),
            subject: ex.meta.subject.clone(),
            message_id: ex.meta.message_id.clone(),
            problems: ex.problems.clone(),
            documents,
            receipt: Some(receipt),
        })
    }

    /// Stores one document's bytes and works out what it is.
    fn document(&self, db: &Db, d: &ExtractedDoc) -> Result<NewDocument> {
        let sha = sha256_hex(&d.bytes);
        if !d.bytes.is_empty() {
            self.store.put_doc(&sha, &d.bytes)?;
        }
        let mut doc = NewDocument {
            container: d.container,
            name: d.name.clone(),
            sha256: sha,
            size: d.bytes.len() as i64,
            format: d.format.clone(),
            kind: DocKind::Other.as_str().into(),
            form: None,
            applicant: None,
            fields: Default::default(),
            stamped: None,
            seal_score: None,
            ocr_text: None,
            problems: d.problems.clone(),
        };
        let broken = d.problems.iter().any(|p| {
            p.starts_with("encrypted_attachment")
                || p.starts_with("corrupt_attachment")
                || p.starts_with("over_size")
        });
        if d.format == "cloud_link" {
            doc.kind = DocKind::CloudLink.as_str().into();
            return Ok(doc);
        }
        if d.is_container {
            if matches!(d.format.as_str(), "zip" | "rar" | "7z") {
                doc.kind = DocKind::Archive.as_str().into();
            }
            return Ok(doc);
        }
        if broken {
            return Ok(doc);
        }
        let fmt = d.format.as_str();
        if ELECTRONIC.contains(&fmt) || fmt == "pdf" {
            match self.read_electronic(fmt, &d.bytes) {
                Ok(p) if p.form.is_some() => {
                    apply_form(&mut doc, p);
                    return Ok(doc);
                }
                Ok(_) => {
                    if fmt != "pdf" {
                        return Ok(doc);
                    }
                }
                Err(e) => {
                    if fmt != "pdf" {
                        doc.problems.push(form_problem(&e));
                        return Ok(doc);
                    }
                }
            }
        }
        if IMAGES.contains(&fmt) || fmt == "pdf" {
            let info = self.analyze_scan(db, &doc.sha256, fmt, &d.bytes)?;
            let is_scan = info.form.is_some()
                || info.stamped == Some(true)
                || fmt == "pdf"
                || d.bytes.len() > 50_000;
            if is_scan {
                doc.kind = DocKind::Scan.as_str().into();
                doc.form = info.form.map(|f| f.as_str().to_string());
                doc.stamped = info.stamped;
                doc.seal_score = Some(info.seal_score);
                doc.ocr_text = info.ocr_text;
                doc.problems.extend(info.problems);
            }
        }
        Ok(doc)
    }

    /// Parses in the warm worker process (timeout, memory cap): a parser bug on a
    /// hostile file may cost that document, never the daemon; a spawn per document
    /// would cost more than the parse itself.
    fn read_electronic(&self, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
        self.parser.read_electronic(format, bytes)
    }

    /// Seal and OCR of one scan, cached by content: OCR costs seconds a page.
    fn analyze_scan(&self, db: &Db, sha: &str, format: &str, bytes: &[u8]) -> Result<ScanInfo> {
        let ocr_key = format!("{sha}:ocr={}", self.scan_opts.ocr);
        if let Some(hit) = db
            .scan_cache_get(&ocr_key)?
            .and_then(|j| crate::scan_glue::from_cache(&j))
        {
            return Ok(hit);
        }
        let info = crate::scan::analyze(format, bytes, &self.scan_opts);
        db.scan_cache_put(&ocr_key, &crate::scan_glue::to_cache(&info))?;
        Ok(info)
    }

    /// Who gets a receipt (RFC 3834 robots never do) and the outbox row to create.
    fn receipt_decision(
        &self,
        ex: &Extracted,
        category: Category,
    ) -> (String, String, Option<String>) {
        let decision = crate::receipts::decide(&ex.meta, category, false, &self.own);
        let to = match &decision {
            crate::receipts::Decision::Reply { to } => to.clone(),
            crate::receipts::Decision::Suppress { .. } => ex.meta.from.clone().unwrap_or_default(),
        };
        let (status, reason) = crate::receipts::initial_status(self.cfg.receipts.mode, &decision);
        (to, status.to_string(), reason)
    }
}

/// The binary that runs `__parse-worker`: this one, unless `KEPU_PARSER_EXE` names another
/// (tests that drive the library from a test binary point it at kepu-intake).
fn parser_exe() -> std::path::PathBuf {
    std::env::var_os("KEPU_PARSER_EXE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| std::path::PathBuf::from("kepu-intake"))
}

fn apply_form(doc: &mut NewDocument, p: ParsedForm) {
    doc.kind = DocKind::Electronic.as_str().into();
    if let Some(form) = p.form {
        doc.form = Some(form.as_str().into());
        doc.applicant = crate::forms::applicant(form, &p.fields);
    }
    doc.fields = p.fields;
    doc.problems.extend(p.problems);
}

fn form_problem(e: &FormError) -> String {
    match e {
        FormError::Corrupt(m) => format!("corrupt_attachment:{m}"),
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
        // Office files that are not one of the four forms: a person sent something.
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
