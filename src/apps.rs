//! Applications: one per (form, applicant) across the whole intake, built from the
//! recorded electronic forms and scans. Pure logic: documents in, applications and
//! document links (scan_of, superseded_by) out; [`crate::db`] stores the result.

use crate::domain::document::DocInMail;
use crate::domain::{problem, AppStatus, DocKind, ProblemKind};
use crate::model::FormKey;
use crate::scan::seal::ring_text::{self, SealUnit};
use std::collections::{BTreeMap, HashMap};

pub use crate::domain::application::{AppRow, DocLinks};

/// Normalises an applicant name so "唐山市第一中学" and "唐山市第一中学 " (or a
/// full-width space inside) are one applicant.
pub fn applicant_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Match score recorded for a scan linked to an unreadable attachment of its own mail:
/// nothing could be compared, only the mail puts them together.
const UNREADABLE_PAIR_SCORE: f64 = 0.5;

/// Field-level problems make an electronic form `invalid`.
fn is_field_problem(p: &str) -> bool {
    problem::Problem::parse(p).is_some_and(|p| p.kind.is_field_problem())
}

/// Scores every scan against the current electronic versions and assigns them.
pub type Matcher<'a> = dyn Fn(&[&DocInMail], &[&DocInMail]) -> Vec<Option<(usize, f64)>> + 'a;

/// Builds all applications. `manual` maps scan sha256 → electronic sha256 (None: no
/// match), and always wins over the matcher.
pub fn build(
    docs: &[DocInMail],
    manual: &HashMap<String, Option<String>>,
    matcher: &Matcher<'_>,
) -> (Vec<AppRow>, DocLinks) {
    let mut links = DocLinks::default();
    // 1. Electronic versions grouped by (form, applicant); the newest different version
    //    is current, earlier ones are superseded by it; exact copies change nothing.
    let mut groups: BTreeMap<(String, String), Vec<&DocInMail>> = BTreeMap::new();
    for d in docs.iter().filter(|d| d.doc.kind == DocKind::Electronic) {
        let Some(form) = d.doc.form.clone() else {
            continue;
        };
        let name = d
            .doc
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("（未填写）{}", d.from_addr.clone().unwrap_or_default()));
        groups
            .entry((form, applicant_key(&name)))
            .or_default()
            .push(d);
    }
    let mut current: Vec<&DocInMail> = Vec::new();
    for versions in groups.values() {
        // docs arrive oldest first; the last distinct content is the current version.
        let Some(latest) = versions.last() else {
            continue;
        };
        let latest_sha = &latest.doc.sha256;
        // The first document carrying the latest content is the one we keep.
        let keep = versions
            .iter()
            .find(|d| &d.doc.sha256 == latest_sha)
            .copied()
            .unwrap_or(latest);
        for d in versions {
            if d.doc.sha256 != *latest_sha {
                links.superseded_by.push((d.doc.id, keep.doc.id));
            }
        }
        current.push(keep);
    }
    // Attachments that could not be opened (only read for the scans beside them).
    let unreadable: Vec<&DocInMail> = docs
        .iter()
        .filter(|d| d.doc.kind == DocKind::Other)
        .collect();
    // Scans of one form sent page by page are one scan: matched as one, stamped when
    // any page is; every page is linked to the form it belongs to.
    let files: Vec<&DocInMail> = docs
        .iter()
        .filter(|d| d.doc.kind == DocKind::Scan)
        .collect();
    let pages = scan_groups(&files);
    let merged: Vec<DocInMail> = pages
        .iter()
        .map(|g| merge_pages(&g.iter().map(|&i| files[i]).collect::<Vec<_>>()))
        .collect();
    let scans: Vec<&DocInMail> = merged.iter().collect();
    let members = |si: usize| pages[si].iter().map(|&i| files[i]);

    // 2. Scans ↔ electronic: operator decisions first, then the matcher on the rest.
    let by_sha: HashMap<&str, usize> = current
        .iter()
        .enumerate()
        .map(|(i, d)| (d.doc.sha256.as_str(), i))
        .collect();
    let mut assigned: Vec<Option<(usize, f64)>> = vec![None; scans.len()];
    let mut free_scans: Vec<usize> = Vec::new();
    let mut taken = vec![false; current.len()];
    for (si, slot) in assigned.iter_mut().enumerate() {
        // An operator's decision on any page of a group decides the group.
        match members(si).find_map(|p| manual.get(&p.doc.sha256)) {
            Some(Some(e_sha)) => {
                if let Some(&ei) = by_sha.get(e_sha.as_str()) {
                    *slot = Some((ei, 1.0));
                    taken[ei] = true;
                }
            }
            Some(None) => {}
            None => free_scans.push(si),
        }
    }
    let free_e: Vec<usize> = (0..current.len()).filter(|i| !taken[*i]).collect();
    let fs: Vec<&DocInMail> = free_scans.iter().map(|&i| scans[i]).collect();
    let fe: Vec<&DocInMail> = free_e.iter().map(|&i| current[i]).collect();
    for (k, m) in matcher(&fs, &fe).into_iter().enumerate() {
        if let (Some((j, score)), Some(&si)) = (m, free_scans.get(k)) {
            if let Some(&ei) = free_e.get(j) {
                assigned[si] = Some((ei, score));
            }
        }
    }

    // 3. Applications.
    let mut scan_for: HashMap<usize, (usize, f64)> = HashMap::new();
    for (si, a) in assigned.iter().enumerate() {
        if let Some((ei, score)) = a {
            // Several scans of one form: the newest wins (scans are oldest first).
            scan_for.insert(*ei, (si, *score));
        }
    }
    let mut apps = Vec::new();
    for (ei, e) in current.iter().enumerate() {
        let scan = scan_for.get(&ei).map(|(si, score)| (scans[*si], *score));
        if let Some((si, score)) = scan_for.get(&ei) {
            for p in members(*si) {
                links.scan_of.push((p.doc.id, e.doc.id, *score));
            }
        }
        let applicant = e
            .doc
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("（未填写）{}", e.from_addr.clone().unwrap_or_default()));
        let mut problems: Vec<String> = e
            .doc
            .problems
            .iter()
            .filter(|p| is_field_problem(p))
            .cloned()
            .collect();
        let status = match scan {
            None => {
                problems.push(ProblemKind::MissingScan.to_string());
                AppStatus::MissingScan
            }
            Some((s, _)) if s.doc.stamped == Some(false) => {
                problems.push(ProblemKind::UnstampedScan.to_string());
                AppStatus::UnstampedScan
            }
            Some((s, _)) => {
                if s.doc
                    .problems
                    .iter()
                    .any(|p| p == crate::scan::SEAL_UNCERTAIN)
                {
                    // Faint or partial red: a clerk looks; the applicant hears nothing yet.
                    problems.push(crate::scan::SEAL_UNCERTAIN.into());
                } else if s.doc.stamped.is_none() {
                    // A grayscale or fax scan carries no colour: the seal cannot be checked.
                    problems.push(ProblemKind::SealUnknown.to_string());
                }
                if problems.iter().any(|p| is_field_problem(p)) {
                    AppStatus::Invalid
                } else {
                    AppStatus::Complete
                }
            }
        };
        // The page decided the match; a file name naming another applicant is noted.
        if let Some((s, _)) = scan {
            let others = current.iter().filter_map(|d| d.doc.applicant.as_deref());
            if crate::scan::matching::names_another(&s.doc.name, &applicant, others) {
                problems.push(crate::scan::MISLABELLED_SCAN.into());
            }
            // The seal's ring names another applicant of this intake, clearly: a clerk
            // compares (OCR of a curved line is poor, so only a clear reading speaks).
            if let Some(ring) = s.doc.seal_text.as_deref() {
                let others = current.iter().filter_map(|d| d.doc.applicant.as_deref());
                if let SealUnit::Other(_) = ring_text::compare(ring, &applicant, others) {
                    problems.push(ProblemKind::ForeignSeal.to_string());
                }
            }
        }
        let late = e.late || scan.map(|(s, _)| s.late).unwrap_or(false);
        if late {
            problems.push(ProblemKind::Late.to_string());
        }
        apps.push(AppRow {
            form: e.doc.form.clone().unwrap_or_default(),
            applicant_key: applicant_key(&applicant),
            applicant,
            status,
            late,
            electronic: Some(e.doc.id),
            scan: scan.map(|(s, _)| s.doc.id),
            problems,
        });
    }
    // Scans of a known form with no electronic version.
    let used: std::collections::HashSet<usize> = scan_for.values().map(|(si, _)| *si).collect();
    for (si, s) in scans.iter().enumerate() {
        if used.contains(&si) || assigned[si].is_some() {
            continue;
        }
        let Some(form) = s.doc.form.as_deref().and_then(FormKey::parse) else {
            continue;
        };
        let applicant = s
            .doc
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "（扫描件）{}",
                    s.from_addr.clone().unwrap_or_else(|| s.doc.name.clone())
                )
            });
        let mut problems = vec![ProblemKind::MissingElectronic.to_string()];
        // The electronic version came with the scan but could not be opened: the scan
        // is linked to it and the application says why it is missing.
        let beside: Vec<&&DocInMail> = unreadable
            .iter()
            .filter(|u| u.doc.message == s.doc.message)
            .collect();
        if let Some(u) = beside.first() {
            for p in members(si) {
                links
                    .scan_of
                    .push((p.doc.id, u.doc.id, UNREADABLE_PAIR_SCORE));
            }
        }
        for u in &beside {
            for c in u.doc.problems.iter().filter(|c| {
                problem::Problem::parse(c).is_some_and(|p| p.kind.is_unreadable_attachment())
            }) {
                if !problems.contains(c) {
                    problems.push(c.clone());
                }
            }
        }
        if s.doc.stamped == Some(false) {
            problems.push(ProblemKind::UnstampedScan.to_string());
        }
        if s.late {
            problems.push(ProblemKind::Late.to_string());
        }
        apps.push(AppRow {
            form: form.as_str().into(),
            applicant_key: format!(
                "{}#scan:{}",
                applicant_key(&applicant),
                &s.doc.sha256[..s.doc.sha256.len().min(12)]
            ),
            applicant,
            status: AppStatus::MissingElectronic,
            late: s.late,
            electronic: None,
            scan: Some(s.doc.id),
            problems,
        });
    }
    (apps, links)
}

/// Groups of recorded scans that are one scan of one form ([`crate::scan::group`]).
fn scan_groups(files: &[&DocInMail]) -> Vec<Vec<usize>> {
    let call = crate::call::current();
    let words = crate::scan::group::FormWords::of(call);
    let view: Vec<crate::scan::group::ScanFile<'_>> = files
        .iter()
        .map(|d| {
            let text = d.doc.ocr_text.as_deref();
            let titled = d
                .doc
                .form
                .as_deref()
                .and_then(FormKey::parse)
                .or_else(|| text.and_then(|t| crate::scan::ocr::identify_form(call, t)));
            crate::scan::group::ScanFile {
                message: d.doc.message,
                seq: d.doc.id,
                name: &d.doc.name,
                titled: titled.is_some(),
                form: titled.or_else(|| text.and_then(|t| words.speaks_of(t))),
                read: text.is_some(),
                look: d.doc.look,
            }
        })
        .collect();
    crate::scan::group::groups(&view)
}

/// One scan made of `pages` (page order, the titled first page first): its id, form,
/// sender and time are the first page's, its OCR text and file names all pages', and it
/// is stamped when any page is, else doubtful when any page is, else unstamped when any
/// page is a colour page without a seal.
fn merge_pages(pages: &[&DocInMail]) -> DocInMail {
    let mut one = pages[0].clone();
    if pages.len() == 1 {
        return one;
    }
    let texts: Vec<&str> = pages
        .iter()
        .filter_map(|p| p.doc.ocr_text.as_deref())
        .collect();
    one.doc.ocr_text = (!texts.is_empty()).then(|| texts.join("\u{c}\n"));
    one.doc.name = pages
        .iter()
        .map(|p| p.doc.name.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let uncertain = |p: &&DocInMail| {
        p.doc
            .problems
            .iter()
            .any(|c| problem::is(c, ProblemKind::SealUncertain))
    };
    one.doc.stamped = if pages.iter().any(|p| p.doc.stamped == Some(true)) {
        Some(true)
    } else if pages.iter().any(uncertain) || pages.iter().all(|p| p.doc.stamped.is_none()) {
        None
    } else {
        Some(false)
    };
    for p in &pages[1..] {
        for c in &p.doc.problems {
            if !one.doc.problems.contains(c) {
                one.doc.problems.push(c.clone());
            }
        }
    }
    if one.doc.stamped == Some(true) {
        one.doc
            .problems
            .retain(|c| !problem::is(c, ProblemKind::SealUncertain));
    }
    one.late = pages.iter().any(|p| p.late);
    one
}

#[cfg(test)]
mod tests;
