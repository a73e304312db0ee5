//! The `dump --json` model of `contract.md`: the whole intake state. Keys may be added,
//! never renamed or dropped. Exports and the web page read this same model so every view
//! agrees with the contract.

use crate::model::Fields;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dump {
    pub messages: Vec<DumpMessage>,
    pub applications: Vec<DumpApplication>,
    /// Every write by the office, oldest first (issue 18).
    #[serde(default)]
    pub audit: Vec<DumpAudit>,
    /// The call the intake runs (name, effective deadline, forms).
    #[serde(default)]
    pub call: DumpCall,
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
        DumpCall {
            name: call.name.clone(),
            deadline: crate::time::fmt(&call.deadline),
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
    pub category: Option<String>,
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
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpDocument {
    pub id: i64,
    pub name: String,
    pub container: Option<i64>,
    pub sha256: String,
    pub format: String,
    pub kind: String,
    pub form: Option<String>,
    pub fields: Fields,
    pub stamped: Option<bool>,
    pub scan_of: Option<i64>,
    pub superseded_by: Option<i64>,
    pub problems: Vec<String>,
    // additions
    pub size: i64,
    pub seal_score: Option<f64>,
    pub match_score: Option<f64>,
    /// Where the bytes are, relative to the data dir.
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DumpApplication {
    pub id: i64,
    pub form: String,
    pub applicant: String,
    pub status: String,
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
    /// `match | review | late | import | reprocess | remind | receipt_retry | user | remove`.
    pub action: String,
    /// `a4 | m12 | d31 | u:NAME`.
    pub target: String,
    pub detail: String,
}

/// An application's review: `pending | accepted | returned`, with who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpReview {
    pub state: String,
    pub note: String,
    pub by: String,
    pub at: Option<String>,
}

impl Default for DumpReview {
    fn default() -> Self {
        DumpReview {
            state: "pending".into(),
            note: String::new(),
            by: String::new(),
            at: None,
        }
    }
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
