//! Adapters between the recorded documents and the scan stage: the matcher over
//! database rows, and the scan-analysis cache format.

use crate::db::documents::DocForMatching;
use crate::model::FormKey;
use crate::scan::matching::{assign as assign_sides, ElectronicSide, ScanSide};
use crate::scan::ScanInfo;
use serde::{Deserialize, Serialize};

fn when(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    crate::time::parse_rfc3339(s).unwrap_or_else(crate::time::now)
}

/// Assigns scans to electronic forms with the scan stage's scoring.
pub fn assign(
    scans: &[&DocForMatching],
    elecs: &[&DocForMatching],
    threshold: f64,
) -> Vec<Option<(usize, f64)>> {
    let s: Vec<ScanSide> = scans
        .iter()
        .map(|d| ScanSide {
            doc: d.id,
            message: d.message,
            ocr_text: d.ocr_text.clone(),
            form: d.form.as_deref().and_then(FormKey::parse),
            from: d.from_addr.clone(),
            received_at: when(&d.received_at),
            name: d.name.clone(),
        })
        .collect();
    // Electronic documents always carry a form; one without is not a candidate.
    let mut idx = Vec::new();
    let e: Vec<ElectronicSide> = elecs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let form = d.form.as_deref().and_then(FormKey::parse)?;
            idx.push(i);
            Some(ElectronicSide {
                doc: d.id,
                message: d.message,
                form,
                fields: d.fields.clone(),
                applicant: d.applicant.clone(),
                from: d.from_addr.clone(),
                received_at: when(&d.received_at),
                name: d.name.clone(),
            })
        })
        .collect();
    assign_sides(&s, &e, threshold)
        .into_iter()
        .map(|m| m.and_then(|(j, v)| idx.get(j).map(|&i| (i, v))))
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Cached {
    stamped: Option<bool>,
    seal_score: f64,
    pages: usize,
    ocr_text: Option<String>,
    /// The form as identified when cached (kept for older readers; see `from_cache`).
    form: Option<String>,
    problems: Vec<String>,
}

pub fn to_cache(i: &ScanInfo) -> String {
    serde_json::to_string(&Cached {
        stamped: i.stamped,
        seal_score: i.seal_score,
        pages: i.pages,
        ocr_text: i.ocr_text.clone(),
        form: i.form.map(|f| f.as_str().to_string()),
        problems: i.problems.clone(),
    })
    .unwrap_or_default()
}

pub fn from_cache(s: &str) -> Option<ScanInfo> {
    let c: Cached = serde_json::from_str(s).ok()?;
    // Identified again from the cached OCR text: the call may have changed since.
    let form = c
        .ocr_text
        .as_deref()
        .and_then(|t| crate::scan::ocr::identify_form(crate::call::current(), t));
    Some(ScanInfo {
        stamped: c.stamped,
        seal_score: c.seal_score,
        pages: c.pages,
        ocr_text: c.ocr_text,
        form,
        problems: c.problems,
        ..Default::default()
    })
}
