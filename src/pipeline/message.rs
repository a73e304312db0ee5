//! One message through the stages: read and classify each document (forms through
//! `form_cache` and the warm parser worker, scans through `ocr_cache` or the batch's
//! jobs), then its category and receipt row.

use super::batch::{Batch, Stage, Staged};
use super::progress::OcrProgress;
use super::{Pipeline, FORM_ANALYSIS_VERSION};
use crate::db::Db;
use crate::domain::document::{NewDocument, NewReceipt, Processed};
use crate::domain::{DocFormat, ProblemKind, ReceiptStatus};
use crate::error::Result;
use crate::extract::{self, Extracted, ExtractedDoc};
use crate::forms::{FormError, ParsedForm};
use crate::model::{Category, DocKind};
use crate::scan::ScanInfo;
use crate::store::sha256_hex;

impl Pipeline {
    pub(super) fn stage_one(
        &self,
        db: &Db,
        m: &crate::db::messages::PendingMessage,
        batch: &mut Batch,
        ocr: Option<&OcrProgress>,
    ) -> Result<Stage> {
        let raw = self.store.read_raw(&m.sha256)?;
        if let Some(orig) = m.duplicate_of {
            let category = db.message_category(orig)?.unwrap_or(Category::Other);
            return Ok(Stage::Done(Processed {
                message: m.id,
                category,
                from_addr: None,
                from_name: None,
                subject: None,
                message_id: None,
                problems: vec![ProblemKind::DuplicateOf.with(orig)],
                documents: vec![],
                receipt: Some(NewReceipt {
                    to: String::new(),
                    status: ReceiptStatus::Suppressed,
                    reason: Some(
                        crate::receipts::ReceiptReason::Duplicate
                            .with(format!("重复收到的邮件，原邮件 m{orig} 已处理")),
                    ),
                }),
            }));
        }
        let mut ex = extract::extract(&raw, &self.limits);
        // Files taken in by hand for this message (`import --into`) are read with its
        // attachments, every time it is processed.
        for f in db.hand_files(m.id)? {
            let bytes = self.store.read_raw(&f.sha256)?;
            extract::add_file(&mut ex, &f.name, bytes, &self.limits);
        }
        let passwords = extract::password_candidates(
            ex.meta.subject.as_deref().unwrap_or_default(),
            &ex.meta.body_text,
        );
        self.expand_in_worker(&mut ex, &passwords);
        let mut documents = Vec::with_capacity(ex.documents.len());
        let mut pending = Vec::new();
        for d in &ex.documents {
            let (doc, job) = self.document(db, d, batch, ocr, &passwords)?;
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
    pub(super) fn finish_message(
        &self,
        id: i64,
        ex: &Extracted,
        mut documents: Vec<NewDocument>,
    ) -> Processed {
        name_scans(ex, &mut documents);
        let category = categorize(ex, &documents);
        let receipt = self.receipt_decision(ex, category, &documents);
        Processed {
            message: id,
            category,
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
    pub(super) fn document(
        &self,
        db: &Db,
        d: &ExtractedDoc,
        batch: &mut Batch,
        ocr: Option<&OcrProgress>,
        passwords: &[String],
    ) -> Result<(NewDocument, Option<usize>)> {
        let sha = sha256_hex(&d.bytes);
        if !d.bytes.is_empty() {
            self.store.put_doc(&sha, &d.bytes)?;
        }
        let format = DocFormat::from_sniffed(&d.format);
        let mut doc = NewDocument {
            container: d.container,
            problems: d.problems.clone(),
            ..NewDocument::unclassified(d.name.clone(), sha, d.bytes.len() as i64, format)
        };
        let broken = d.problems.iter().any(|p| {
            crate::domain::Problem::parse(p).is_some_and(|p| p.kind.is_unreadable_attachment())
        });
        if format == DocFormat::CloudLink {
            doc.kind = DocKind::CloudLink;
            return Ok((doc, None));
        }
        if d.is_container {
            if format.is_openable_archive() {
                doc.kind = DocKind::Archive;
            }
            return Ok((doc, None));
        }
        if broken {
            let encrypted = d
                .problems
                .iter()
                .any(|p| p == ProblemKind::EncryptedAttachment.as_str());
            if let Some(p) = encrypted
                .then(|| self.open_encrypted(d, passwords))
                .flatten()
            {
                doc.problems
                    .retain(|p| p != ProblemKind::EncryptedAttachment.as_str());
                doc.problems
                    .push(ProblemKind::DecryptedWithPassword.as_str().into());
                apply_form(&mut doc, p);
            }
            return Ok((doc, None));
        }
        let fmt = format.as_str();
        let pdf = format == DocFormat::Pdf;
        if format.is_office_form() || pdf {
            match self.read_form_cached(db, &doc.sha256, fmt, &d.bytes)? {
                Ok(p) if p.form.is_some() => {
                    apply_form(&mut doc, p);
                    return Ok((doc, None));
                }
                Ok(p) if p.notice => {
                    doc.kind = DocKind::Notice;
                    doc.problems
                        .push(ProblemKind::NoticeTemplate.as_str().into());
                    return Ok((doc, None));
                }
                Ok(_) => {
                    if !pdf {
                        return Ok((doc, None));
                    }
                }
                Err(e) => {
                    if !pdf {
                        doc.problems.push(form_problem(&e));
                        return Ok((doc, None));
                    }
                }
            }
        }
        if format.is_image() || pdf {
            // Seal and OCR cost seconds a page: cached by content, OCR setting and the
            // version of the analysis.
            let key = crate::scan::cache_key(&doc.sha256, self.scan_opts.ocr);
            if let Some(hit) = db
                .scan_cache_get(&key)?
                .and_then(|j| ScanInfo::from_cache(&j))
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
    /// The key carries the program version, [`FORM_ANALYSIS_VERSION`] and the call file's
    /// fingerprint, so an upgrade, a change to the parsers or another call parses again.
    pub(super) fn read_form_cached(
        &self,
        db: &Db,
        sha: &str,
        format: &str,
        bytes: &[u8],
    ) -> Result<Result<ParsedForm, FormError>> {
        let key = format!(
            "{sha}:{format}:{}:f{FORM_ANALYSIS_VERSION}:{:016x}",
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
    pub(super) fn read_electronic(
        &self,
        format: &str,
        bytes: &[u8],
    ) -> Result<ParsedForm, FormError> {
        self.parser.read_electronic(format, bytes)
    }

    /// Who gets a receipt (RFC 3834 robots never do) and the outbox row to create.
    pub(super) fn receipt_decision(
        &self,
        ex: &Extracted,
        category: Category,
        documents: &[NewDocument],
    ) -> NewReceipt {
        let facts = crate::receipts::Facts {
            authserv_id: &self.cfg.receipts.authserv_id,
            blank_forms_only: crate::receipts::blank_forms_only(documents),
        };
        let decision = crate::receipts::decide_with(&ex.meta, category, false, &self.own, &facts);
        let to = match &decision {
            crate::receipts::Decision::Reply { to }
            | crate::receipts::Decision::Hold { to, .. } => to.clone(),
            crate::receipts::Decision::Suppress { .. } => ex.meta.from.clone().unwrap_or_default(),
        };
        let (status, reason) = crate::receipts::initial_status(self.cfg.receipts.mode, &decision);
        NewReceipt { to, status, reason }
    }
}

/// Records a scan analysis on its document. A picture counts as a scan when it shows
/// a form or a seal, or is big enough to be a page (a PDF always is); a small picture
/// without either is some other image (a logo in a signature).
pub(super) fn apply_scan(doc: &mut NewDocument, info: ScanInfo) {
    let is_scan = info.form.is_some()
        || info.stamped == Some(true)
        || doc.format == DocFormat::Pdf
        || doc.size > 50_000;
    if is_scan {
        doc.kind = DocKind::Scan;
        doc.form = info.form.map(|f| f.as_str().to_string());
        doc.stamped = info.stamped;
        doc.seal_score = Some(info.seal_score);
        doc.ocr_text = info.ocr_text;
        doc.seal_text = info.seal_text;
        doc.look = info.look;
        doc.problems.extend(info.problems);
    }
}

/// Notes on each scan the applicant it names ([`crate::scan::unit`]): the page's value
/// as the mail spells it — its own file name, the sender's display name, the subject,
/// the other file names, the body. A scan no electronic form claims (its electronic
/// version unreadable, or not sent) is still that unit's application.
fn name_scans(ex: &Extracted, documents: &mut [NewDocument]) {
    let names: Vec<String> = documents.iter().map(|d| d.name.clone()).collect();
    let body: String = ex.meta.body_text.chars().take(2000).collect();
    for (i, doc) in documents.iter_mut().enumerate() {
        if doc.kind != DocKind::Scan || doc.applicant.is_some() {
            continue;
        }
        let mut mail: Vec<&str> = vec![&names[i]];
        mail.extend(ex.meta.from_name.as_deref());
        mail.extend(ex.meta.subject.as_deref());
        mail.extend(
            names
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, n)| n.as_str()),
        );
        mail.push(&body);
        let form = doc.form.as_deref().and_then(crate::model::FormKey::parse);
        doc.applicant = crate::scan::unit::named_applicant(
            crate::call::current(),
            form,
            doc.ocr_text.as_deref(),
            &mail,
        );
    }
}

pub(super) fn apply_form(doc: &mut NewDocument, p: ParsedForm) {
    doc.kind = DocKind::Electronic;
    if let Some(form) = p.form {
        doc.form = Some(form.as_str().into());
        doc.applicant = form
            .def()
            .and_then(|def| crate::forms::applicant(def, &p.fields));
    }
    doc.fields = p.fields;
    doc.problems.extend(p.problems);
}

pub(super) fn form_problem(e: &FormError) -> String {
    match e {
        FormError::Corrupt(m) | FormError::Unreadable(m) => ProblemKind::CorruptAttachment.with(m),
        FormError::Encrypted => ProblemKind::EncryptedAttachment.as_str().into(),
        FormError::NeedsConversion(m) => ProblemKind::NeedsConversion.with(m),
        FormError::Unsupported(f) => ProblemKind::UnsupportedFormat.with(f),
    }
}

/// Message category: robots by headers first, then by what the mail carries.
pub fn categorize(ex: &Extracted, docs: &[NewDocument]) -> Category {
    if let Some(robot) = ex.meta.robot {
        return robot;
    }
    let carries_form = docs
        .iter()
        .any(|d| d.kind.is_form_side() || d.kind == DocKind::CloudLink);
    if carries_form {
        return Category::Submission;
    }
    if extract::looks_like_question(ex.meta.subject.as_deref().unwrap_or(""), &ex.meta.body_text) {
        return Category::Question;
    }
    if docs.iter().any(|d| {
        (d.format.is_office_form() || d.format == DocFormat::Pdf) && d.kind != DocKind::Notice
    }) {
        // Office files that are not one of the call's forms: a person sent something.
        return Category::Submission;
    }
    Category::Other
}
