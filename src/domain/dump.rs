//! The `dump --json` model of `contract.md`: the whole intake state. Keys may be added,
//! never renamed or dropped. Exports and the web page read this same model so every view
//! agrees with the contract. A message's documents are the recorded
//! [`crate::domain::document::Document`] itself ([`DumpDocument`] names it here).

use crate::domain::{AppStatus, AuditAction, Category, ReceiptStatus, ReviewState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dump {
    pub messages: Vec<DumpMessage>,
    pub applications: Vec<DumpApplication>,
    /// The call the intake runs (name, effective deadline, forms).
    #[serde(default)]
    pub call: DumpCall,
    /// Every write by the office, oldest first (issue 18).
    #[serde(default)]
    pub audit: Vec<DumpAudit>,
}

/// `call` of `dump --json`: `{"name","deadline","forms":[{"key","number","title"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DumpCall {
    pub name: String,
    pub deadline: String,
    pub forms: Vec<DumpForm>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DumpForm {
    pub key: String,
    pub number: u32,
    pub title: String,
}

impl DumpCall {
    pub fn of(call: &crate::call::Call) -> DumpCall {
        // The deadline as every other time in the dump: RFC 3339 in Beijing time.
        let deadline = chrono::FixedOffset::east_opt(8 * 3600).map_or(call.deadline, |beijing| {
            call.deadline.with_timezone(&beijing)
        });
        DumpCall {
            name: call.name.clone(),
            deadline: deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            forms: call
                .forms
                .iter()
                .map(|f| DumpForm {
                    key: f.key.as_str().to_string(),
                    number: f.number,
                    title: f.title.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpMessage {
    pub id: i64,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub received_at: String,
    pub date_header: Option<String>,
    pub late: bool,
    /// null while the message waits for processing.
    pub category: Option<Category>,
    pub duplicate_of: Option<i64>,
    pub receipt: DumpReceipt,
    pub problems: Vec<String>,
    pub documents: Vec<DumpDocument>,
    // additions beyond the contract
    pub sha256: String,
    pub size: i64,
    pub mailbox: Option<String>,
    pub uidvalidity: Option<i64>,
    pub uid: Option<i64>,
    pub source: String,
    /// Soft-removed by the office: kept on disk, left out of counts and applications.
    #[serde(default)]
    pub removed: Option<DumpRemoved>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpReceipt {
    pub status: ReceiptStatus,
    pub reason: Option<String>,
}

/// A document of `dump --json`: the one recorded document type.
pub type DumpDocument = crate::domain::document::Document;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpApplication {
    pub id: i64,
    pub form: String,
    pub applicant: String,
    pub status: AppStatus,
    pub late: bool,
    pub electronic: Option<i64>,
    pub scan: Option<i64>,
    pub problems: Vec<String>,
    // additions
    /// Sender address of the electronic (else the scan) document's message.
    pub email: Option<String>,
    pub received_at: Option<String>,
    /// The office's decision (待审核 until one is made).
    #[serde(default)]
    pub review: DumpReview,
    /// Why a late application is accepted anyway; the `late` flag stays.
    #[serde(default)]
    pub late_excused: Option<DumpLateExcuse>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpAudit {
    /// RFC 3339, +08:00.
    pub at: String,
    pub user: String,
    pub action: AuditAction,
    /// `a4 | m12 | d31 | r7 | u:NAME`.
    pub target: String,
    pub detail: String,
}

/// An application's review (`pending | accepted | returned`), with who and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DumpReview {
    pub state: ReviewState,
    pub note: String,
    pub by: String,
    pub at: Option<String>,
}

/// The office's excuse for a late application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpLateExcuse {
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// Who removed a message, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpRemoved {
    pub by: String,
    pub at: String,
    pub reason: String,
}
