//! The scan stage over recorded documents: the views matching borrows from a recorded
//! [`crate::domain::document::Document`] and its mail ([`ScanSide`], [`ElectronicSide`]:
//! no text or field is copied) and the assignment of scans to electronic forms in the
//! indices of the caller's lists.

use crate::domain::document::DocInMail;
use crate::model::FormKey;
use crate::scan::matching::{assign as assign_sides, ElectronicSide, ScanSide};

fn when(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    crate::time::parse_rfc3339(s).unwrap_or_else(crate::time::now)
}

/// The unit noted on a scan ([`crate::scan::unit`]) when its mail's sender name or
/// subject names it and OCR read the page but no value beside its applicant label: a
/// page that names a unit speaks for itself, and a unit only the scan's own file name
/// gives is a hint the file name already is.
fn noted_unit(d: &DocInMail) -> Option<&str> {
    let unit = d.doc.applicant.as_deref()?;
    let text = d.doc.ocr_text.as_deref()?;
    let form = d.doc.form.as_deref().and_then(FormKey::parse);
    if form.is_some_and(|f| {
        crate::scan::unit::value_on_page(crate::call::current(), f, text).is_some()
    }) {
        return None;
    }
    let key = crate::scan::fuzzy::compact(unit);
    let in_mail = !key.is_empty()
        && [&d.from_name, &d.subject]
            .into_iter()
            .flatten()
            .any(|t| crate::scan::fuzzy::approx_find(&key, &crate::scan::fuzzy::compact(t)) == 0);
    in_mail.then_some(unit)
}

/// Assigns scans to electronic forms with the scan stage's scoring.
pub fn assign(
    scans: &[&DocInMail],
    elecs: &[&DocInMail],
    threshold: f64,
) -> Vec<Option<(usize, f64)>> {
    let s: Vec<ScanSide> = scans
        .iter()
        .map(|d| ScanSide {
            doc: d.doc.id,
            message: d.doc.message,
            ocr_text: d.doc.ocr_text.as_deref(),
            form: d.doc.form.as_deref().and_then(FormKey::parse),
            from: d.from_addr.as_deref(),
            received_at: when(&d.received_at),
            name: &d.doc.name,
            noted: noted_unit(d),
        })
        .collect();
    // Electronic documents always carry a form; one without is not a candidate.
    let mut idx = Vec::new();
    let e: Vec<ElectronicSide> = elecs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let form = d.doc.form.as_deref().and_then(FormKey::parse)?;
            idx.push(i);
            Some(ElectronicSide {
                doc: d.doc.id,
                message: d.doc.message,
                form,
                fields: &d.doc.fields,
                applicant: d.doc.applicant.as_deref(),
                from: d.from_addr.as_deref(),
                received_at: when(&d.received_at),
                name: &d.doc.name,
            })
        })
        .collect();
    assign_sides(&s, &e, threshold)
        .into_iter()
        .map(|m| m.and_then(|(j, v)| idx.get(j).map(|&i| (i, v))))
        .collect()
}
