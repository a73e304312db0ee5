//! The processing stages after the raw store: extract → classify/parse forms → scans →
//! record → applications → receipts queued. Runs on stored raw mail only, so
//! `reprocess` can re-run it after a parser fix without touching the raw bytes.
//!
//! Each message is processed under `catch_unwind`: a panic in one message becomes a
//! `processing_failed` problem on that message and the next one goes on.

use crate::apps;
use crate::config::{Config, ReceiptMode};
use crate::db::documents::{NewDocument, Processed};
use crate::db::Db;
use crate::error::Result;
use crate::extract::{self, Extracted, ExtractedDoc, Limits};
use crate::forms::{self, FormError, ParsedForm};
use crate::model::{Category, DocKind};
use crate::scan::ScanInfo;
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
/// Messages per commit (and per store sync).
const BATCH: usize = 32;

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
        mut list: Vec<crate::db::messages::PendingMessage>,
        cancel: &CancellationToken,
    ) -> Result<Stats> {
        // Originals before their duplicates, so a duplicate can take the category.
        list.sort_by_key(|m| (m.duplicate_of.is_some(), m.id));
        let total = list.len();
        let mut stats = Stats::default();
        let started = Instant::now();
        let mut last_report = Instant::now();
        for chunk in list.chunks(BATCH) {
            if cancel.is_cancelled() {
                info!("shutdown requested: stopping after the current batch");
                break;
            }
            let mut out = Vec::with_capacity(chunk.len());
            for m in chunk {
                let span = info_span!("process", message = m.id);
                let _g = span.enter();
                let p = match catch_unwind(AssertUnwindSafe(|| self.process_one(db, m))) {
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
                };
                out.push(p);
            }
            self.store.sync()?;
            db.save_processed(&out)?;
            stats.processed += out.len();
            if total > BATCH && last_report.elapsed().as_secs() >= 2 {
                last_report = Instant::now();
                info!(
                    done = stats.processed,
                    total,
                    secs = started.elapsed().as_secs(),
                    "已处理 {}/{} 封邮件",
                    stats.processed,
                    total
                );
            }
        }
        if stats.processed > 0 {
            self.rebuild_applications(db)?;
        }
        Ok(stats)
    }

    /// Recomputes applications and scan matches over the whole intake.
    pub fn rebuild_applications(&self, db: &mut Db) -> Result<()> {
        let docs = db.docs_for_matching()?;
        let manual: HashMap<String, Option<String>> = db.manual_matches()?.into_iter().collect();
        let (rows, links) = apps::build(&docs, &manual, &apps::simple_matcher);
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

    fn read_electronic(&self, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
        match catch_unwind(AssertUnwindSafe(|| forms::parse_electronic(format, bytes))) {
            Ok(r) => r,
            Err(p) => Err(FormError::Corrupt(format!(
                "parser panicked: {}",
                panic_text(&p)
            ))),
        }
    }

    fn analyze_scan(&self, _db: &Db, _sha: &str, _format: &str, _bytes: &[u8]) -> Result<ScanInfo> {
        Ok(ScanInfo::default())
    }

    fn receipt_decision(
        &self,
        ex: &Extracted,
        category: Category,
    ) -> (String, String, Option<String>) {
        let to = ex
            .meta
            .reply_to
            .clone()
            .or_else(|| ex.meta.from.clone())
            .unwrap_or_default();
        if self.cfg.receipts.mode == ReceiptMode::Off {
            return (to, "suppressed".into(), Some("receipts off".into()));
        }
        if !matches!(category, Category::Submission | Category::Question) {
            return (
                to,
                "suppressed".into(),
                Some(format!("category {}", category.as_str())),
            );
        }
        if self.own.iter().any(|o| Some(o) == ex.meta.from.as_ref()) {
            return (to, "suppressed".into(), Some("own address".into()));
        }
        (to, "pending".into(), None)
    }
}

fn apply_form(doc: &mut NewDocument, p: ParsedForm) {
    doc.kind = DocKind::Electronic.as_str().into();
    if let Some(form) = p.form {
        doc.form = Some(form.as_str().into());
        doc.applicant = p
            .fields
            .get(form.applicant_key())
            .map(|v| v.display().trim().to_string())
            .filter(|s| !s.is_empty());
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
