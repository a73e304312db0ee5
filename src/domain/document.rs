//! A document's shapes. There is one recorded document, [`Document`]: a row of
//! `documents` as `db/` loads it, which is also what `dump --json` shows of it (the
//! fields the contract does not carry are skipped in the JSON), and what the web pages,
//! receipts, exports and the roster read. Matching reads the same value inside
//! [`DocInMail`], which adds the three facts of the mail it came in, and borrows its
//! views (`scan::matching::ScanSide`/`ElectronicSide`) from it.
//!
//! Two stage inputs stay separate on purpose, because they are not yet a recorded
//! document: the extract stage's `extract::ExtractedDoc` holds the bytes in memory and
//! knows nothing of forms, and [`NewDocument`] is what the pipeline hands `db/` to
//! record, with no id, no links and its container as an index into the same message.
//! [`Processed`] is one message's result around them.

use crate::domain::{Category, DocFormat, DocKind, ReceiptStatus};
use crate::model::Fields;
use serde::{Deserialize, Serialize};

/// A recorded document: one row of `documents`, loaded by `db/` in one place. Serialised
/// it is a document of `dump --json` (contract.md): the keys in this order, never renamed
/// or dropped; the fields marked `serde(skip)` are not in the contract and read back as
/// empty from a dump's JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub id: i64,
    pub name: String,
    /// Id of the archive or forwarded mail it came out of.
    pub container: Option<i64>,
    pub sha256: String,
    pub format: DocFormat,
    pub kind: DocKind,
    pub form: Option<String>,
    pub fields: Fields,
    pub stamped: Option<bool>,
    /// The electronic form this scan is the stamped copy of.
    pub scan_of: Option<i64>,
    /// The newer version of this electronic form.
    pub superseded_by: Option<i64>,
    pub problems: Vec<String>,
    // additions beyond the contract's first list
    pub size: i64,
    pub seal_score: Option<f64>,
    pub match_score: Option<f64>,
    /// Where the bytes are, relative to the data dir.
    pub path: String,
    // not in `dump --json`
    /// The message it came in (`dump --json` nests documents in their message).
    #[serde(skip)]
    pub message: i64,
    /// The applicant the form names.
    #[serde(skip)]
    pub applicant: Option<String>,
    /// A scan's OCR text. Loaded for matching only: the dump leaves it `None` (it can be
    /// large; one document's text is read by id when a page shows it).
    #[serde(skip)]
    pub ocr_text: Option<String>,
    /// The text read along a scan's seal ring, when one was read.
    #[serde(skip)]
    pub seal_text: Option<String>,
    /// What a scan's first page looks like (grouping pages sent as separate files).
    #[serde(skip)]
    pub look: Option<crate::domain::look::PageLook>,
}

/// A recorded document with the facts of the mail it came in that matching and the
/// applications need (the sender, when, and whether that was late).
#[derive(Debug, Clone)]
pub struct DocInMail {
    pub doc: Document,
    pub from_addr: Option<String>,
    pub received_at: String,
    pub late: bool,
    /// The sender's display name and the subject: where a mail names the sender's unit
    /// in words a person typed (matching uses it for a scan whose page names nobody).
    pub from_name: Option<String>,
    pub subject: Option<String>,
}

/// A document ready to be recorded (its bytes already in the store), as the pipeline
/// leaves it: not a [`Document`] yet, for it has no id and no links, and its container
/// is an index into its own message's list until `db/` gives every document an id.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Index of the document it came out of, within the same message.
    pub container: Option<usize>,
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub format: DocFormat,
    pub kind: DocKind,
    pub form: Option<String>,
    pub applicant: Option<String>,
    pub fields: Fields,
    pub stamped: Option<bool>,
    pub seal_score: Option<f64>,
    pub ocr_text: Option<String>,
    /// The text read along a scan's seal ring.
    pub seal_text: Option<String>,
    pub problems: Vec<String>,
    /// What a scan's first page looks like.
    pub look: Option<crate::domain::look::PageLook>,
}

impl NewDocument {
    /// A document as the extract stage leaves it: named, sized, its format sniffed,
    /// not yet classified (kind `other`, no form, no seal). Classification fills in the
    /// rest.
    pub fn unclassified(name: String, sha256: String, size: i64, format: DocFormat) -> NewDocument {
        NewDocument {
            container: None,
            name,
            sha256,
            size,
            format,
            kind: DocKind::Other,
            form: None,
            applicant: None,
            fields: Default::default(),
            stamped: None,
            seal_score: None,
            ocr_text: None,
            seal_text: None,
            problems: vec![],
            look: None,
        }
    }
}

/// The receipt a processed message queues: recipient, status and why.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReceipt {
    pub to: String,
    pub status: ReceiptStatus,
    pub reason: Option<String>,
}

/// The outcome of running the pipeline on one message.
#[derive(Debug, Clone)]
pub struct Processed {
    pub message: i64,
    pub category: Category,
    /// Better-decoded header values from the extract stage (None = keep the stored one).
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub problems: Vec<String>,
    pub documents: Vec<NewDocument>,
    /// The row for the receipts outbox, if the message gets one.
    pub receipt: Option<NewReceipt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dump --json` shows a document with the contract's keys in the contract's order,
    /// and nothing of what only the intake's own stages read.
    #[test]
    fn a_document_serialises_as_the_dump_shows_it() {
        let d = Document {
            id: 7,
            name: "附件2.jpg".into(),
            container: None,
            sha256: "ab".repeat(32),
            format: DocFormat::Jpg,
            kind: DocKind::Scan,
            form: Some("resource".into()),
            fields: Fields::new(),
            stamped: Some(true),
            scan_of: Some(3),
            superseded_by: None,
            problems: vec![],
            size: 1000,
            seal_score: Some(0.9),
            match_score: Some(0.8),
            path: "docs/ab/ab".into(),
            message: 2,
            applicant: Some("唐山市第一中学".into()),
            ocr_text: Some("科普资源申报推荐表".into()),
            seal_text: None,
            look: None,
        };
        let text = serde_json::to_string(&d).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let order = [
            "id",
            "name",
            "container",
            "sha256",
            "format",
            "kind",
            "form",
            "fields",
            "stamped",
            "scan_of",
            "superseded_by",
            "problems",
            "size",
            "seal_score",
            "match_score",
            "path",
        ];
        assert_eq!(json.as_object().unwrap().len(), order.len(), "{text}");
        let at: Vec<usize> = order
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        // Read back from a dump, the skipped fields are empty.
        let back: Document = serde_json::from_value(json).unwrap();
        assert_eq!((back.id, back.message, back.applicant), (7, 0, None));
        assert_eq!(back.ocr_text, None);
    }
}
