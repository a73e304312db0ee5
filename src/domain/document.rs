//! The records that travel between the stages: a document as the pipeline leaves it
//! ([`NewDocument`]), one message's processing result ([`Processed`]) and a recorded
//! document with what matching needs ([`DocForMatching`]). `db/` stores and loads them,
//! `pipeline` builds them, `apps` reads them; none of those depends on another for them.

use crate::domain::{Category, DocFormat, DocKind, ReceiptStatus};
use crate::model::Fields;

/// A document ready to be recorded (its bytes already in the store).
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
    pub problems: Vec<String>,
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
            problems: vec![],
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

/// A recorded electronic or scan document with what matching needs.
#[derive(Debug, Clone)]
pub struct DocForMatching {
    pub id: i64,
    pub message: i64,
    pub sha256: String,
    pub name: String,
    pub kind: DocKind,
    pub form: Option<String>,
    pub applicant: Option<String>,
    pub fields: Fields,
    pub stamped: Option<bool>,
    pub ocr_text: Option<String>,
    pub problems: Vec<String>,
    pub from_addr: Option<String>,
    pub received_at: String,
    pub late: bool,
}
