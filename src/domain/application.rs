//! An application as `apps` computes it and `db` stores it, with the document links
//! decided alongside (which scan belongs to which electronic form, which version
//! replaced which), and an operator's roster attribution of one (`Assignment`).

use crate::domain::AppStatus;

/// An application as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    pub form: String,
    pub applicant: String,
    pub applicant_key: String,
    pub status: AppStatus,
    pub late: bool,
    pub electronic: Option<i64>,
    pub scan: Option<i64>,
    pub problems: Vec<String>,
}

/// Links between documents decided here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocLinks {
    /// scan doc id → (electronic doc id, score)
    pub scan_of: Vec<(i64, i64, f64)>,
    /// old electronic doc id → the version that replaced it
    pub superseded_by: Vec<(i64, i64)>,
}

/// An operator's decision on one application, kept by content (form + applicant key)
/// so it survives `reprocess`, which renumbers applications.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    pub form: String,
    pub applicant_key: String,
    /// None: belongs to no roster unit (市直, another city).
    pub unit: Option<String>,
    pub by: String,
    pub at: String,
}
