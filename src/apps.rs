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
    let view: Vec<crate::scan::group::ScanFile<'_>> = files
        .iter()
        .map(|d| crate::scan::group::ScanFile {
            message: d.doc.message,
            name: &d.doc.name,
            titled: d.doc.form.is_some()
                || d.doc
                    .ocr_text
                    .as_deref()
                    .is_some_and(|t| crate::scan::ocr::identify_form(call, t).is_some()),
            read: d.doc.ocr_text.is_some(),
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
mod tests {
    use super::*;

    /// A deterministic stand-in for the scan stage's scoring, so these tests check the
    /// application logic alone: same form and same message, or same form and same sender,
    /// each electronic taken once, oldest first.
    fn simple_matcher(scans: &[&DocInMail], elecs: &[&DocInMail]) -> Vec<Option<(usize, f64)>> {
        let mut taken = vec![false; elecs.len()];
        scans
            .iter()
            .map(|s| {
                let best = elecs
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| !taken[*i] && s.doc.form.is_some() && s.doc.form == e.doc.form)
                    .map(|(i, e)| {
                        let score: f64 = if s.doc.message == e.doc.message {
                            0.9
                        } else if s.from_addr.is_some() && s.from_addr == e.from_addr {
                            0.6
                        } else {
                            0.0
                        };
                        (i, score)
                    })
                    .filter(|(_, sc)| *sc >= 0.5)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((i, _)) = best {
                    taken[i] = true;
                }
                best
            })
            .collect()
    }

    fn doc(id: i64, msg: i64, kind: &str, form: &str, applicant: &str, sha: &str) -> DocInMail {
        let scan = kind == "scan";
        DocInMail {
            doc: crate::domain::document::Document {
                id,
                name: format!("d{id}"),
                container: None,
                sha256: sha.into(),
                format: if scan {
                    crate::domain::DocFormat::Jpg
                } else {
                    crate::domain::DocFormat::Docx
                },
                kind: kind.parse().unwrap(),
                form: Some(form.into()),
                fields: Default::default(),
                stamped: if scan { Some(true) } else { None },
                scan_of: None,
                superseded_by: None,
                problems: vec![],
                size: 1000,
                seal_score: None,
                match_score: None,
                path: format!("docs/{sha}"),
                message: msg,
                applicant: Some(applicant.into()).filter(|a: &String| !a.is_empty()),
                ocr_text: None,
                seal_text: None,
            },
            from_addr: Some("a@school.example".into()),
            received_at: "2022-07-18T10:00:00+08:00".into(),
            late: false,
        }
    }

    #[test]
    fn resubmission_supersedes_and_scan_completes() {
        let docs = vec![
            doc(1, 1, "electronic", "resource", "唐山市第一中学", "aaa"),
            doc(2, 2, "electronic", "resource", "唐山市第一中学 ", "bbb"),
            doc(3, 2, "scan", "resource", "", "ccc"),
        ];
        let (apps, links) = build(&docs, &HashMap::new(), &simple_matcher);
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].status, "complete");
        assert_eq!(apps[0].electronic, Some(2));
        assert_eq!(apps[0].scan, Some(3));
        assert_eq!(links.superseded_by, vec![(1, 2)]);
        assert_eq!(links.scan_of, vec![(3, 2, 0.9)]);
    }

    #[test]
    fn a_seal_ring_naming_another_applicant_is_a_foreign_seal_and_only_then() {
        let scan = |ring: &str| {
            let mut s = doc(3, 2, "scan", "resource", "", "ccc");
            s.doc.seal_text = Some(ring.into());
            s
        };
        let apps_with = |ring: &str| {
            let docs = vec![
                doc(1, 1, "electronic", "resource", "迁安市实验小学", "aaa"),
                doc(2, 2, "electronic", "resource", "唐山市第一中学", "bbb"),
                scan(ring),
            ];
            let mut manual = HashMap::new();
            manual.insert("ccc".to_string(), Some("bbb".to_string()));
            let (apps, _) = build(&docs, &manual, &simple_matcher);
            apps.into_iter()
                .find(|a| a.applicant == "唐山市第一中学")
                .unwrap()
        };
        let foreign = "foreign_seal".to_string();
        // The ring reads the other school (one character apart would be too close to say): a clerk is asked to compare.
        let a = apps_with("迁安市实验小学");
        assert!(a.problems.contains(&foreign), "{a:?}");
        // Its own name, or too little read to say: nothing is said.
        for ring in ["唐山市第一中学", "唐山市", "", "★"] {
            let a = apps_with(ring);
            assert!(!a.problems.contains(&foreign), "{ring}: {a:?}");
        }
    }

    #[test]
    fn uncertain_seal_and_mislabelled_name_are_noted_not_unstamped() {
        let mut s = doc(3, 2, "scan", "resource", "", "ccc");
        s.doc.stamped = None;
        s.doc.problems = vec![crate::scan::SEAL_UNCERTAIN.into()];
        s.doc.name = "附件2_唐山市第十中学_盖章.jpg".into();
        let docs = vec![
            doc(1, 1, "electronic", "resource", "唐山市第十中学", "aaa"),
            doc(2, 2, "electronic", "resource", "唐山市第一中学", "bbb"),
            s,
        ];
        let mut manual = HashMap::new();
        manual.insert("ccc".to_string(), Some("bbb".to_string()));
        let (apps, _) = build(&docs, &manual, &simple_matcher);
        let a = apps
            .iter()
            .find(|a| a.applicant == "唐山市第一中学")
            .unwrap();
        assert_eq!(a.status, "complete", "{a:?}");
        assert!(a.problems.contains(&"seal_uncertain".to_string()), "{a:?}");
        assert!(
            a.problems.contains(&"mislabelled_scan".to_string()),
            "{a:?}"
        );
        assert!(!a.problems.contains(&"seal_unknown".to_string()), "{a:?}");
    }

    #[test]
    fn statuses_for_missing_and_unstamped() {
        let mut s = doc(3, 3, "scan", "expert", "", "ccc");
        s.doc.stamped = Some(false);
        s.from_addr = Some("other@x.example".into());
        let docs = vec![
            doc(1, 1, "electronic", "resource", "A校", "aaa"),
            doc(2, 2, "electronic", "expert", "张三", "bbb"),
            s,
        ];
        let mut manual = HashMap::new();
        manual.insert("ccc".to_string(), Some("bbb".to_string()));
        let (apps, _) = build(&docs, &manual, &simple_matcher);
        let st: Vec<(&str, &str)> = apps
            .iter()
            .map(|a| (a.applicant.as_str(), a.status.as_str()))
            .collect();
        assert!(st.contains(&("A校", "missing_scan")), "{st:?}");
        assert!(st.contains(&("张三", "unstamped_scan")), "{st:?}");
    }

    #[test]
    fn lone_scan_is_missing_electronic_and_manual_unmatch_wins() {
        let docs = vec![
            doc(1, 1, "electronic", "pilot_school", "B校", "aaa"),
            doc(2, 1, "scan", "pilot_school", "", "bbb"),
        ];
        let mut manual = HashMap::new();
        manual.insert("bbb".to_string(), None);
        let (apps, links) = build(&docs, &manual, &simple_matcher);
        assert!(links.scan_of.is_empty());
        let statuses: Vec<&str> = apps.iter().map(|a| a.status.as_str()).collect();
        assert_eq!(statuses, vec!["missing_scan", "missing_electronic"]);
    }

    /// A form scanned as two JPGs: page 1 has the title, page 2 the seal. One scan,
    /// stamped, both pages linked; the application is complete.
    #[test]
    fn pages_of_one_form_are_one_stamped_scan() {
        let mut p1 = doc(2, 1, "scan", "resource", "", "p1");
        p1.doc.name = "扫描件_1.jpg".into();
        p1.doc.stamped = Some(false);
        p1.doc.ocr_text = Some("科普资源申报推荐表".into());
        let mut p2 = doc(3, 1, "scan", "resource", "", "p2");
        p2.doc.name = "扫描件_2.jpg".into();
        p2.doc.form = None;
        p2.doc.ocr_text = Some("申报单位（盖章）".into());
        let docs = vec![
            doc(1, 1, "electronic", "resource", "唐山市第一中学", "aaa"),
            p1,
            p2,
        ];
        let (apps, links) = build(&docs, &HashMap::new(), &simple_matcher);
        assert_eq!(apps.len(), 1, "{apps:?}");
        assert_eq!(apps[0].status, "complete", "{apps:?}");
        assert_eq!(apps[0].scan, Some(2));
        assert_eq!(links.scan_of, vec![(2, 1, 0.9), (3, 1, 0.9)]);
        // The same pages without OCR: nothing tells page 2 from a form of its own.
        let mut unread = docs.clone();
        unread.iter_mut().for_each(|d| d.doc.ocr_text = None);
        let (apps, _) = build(&unread, &HashMap::new(), &simple_matcher);
        assert_eq!(apps[0].status, "unstamped_scan", "{apps:?}");
    }

    #[test]
    fn keys_ignore_spaces_and_width() {
        assert_eq!(
            applicant_key("唐山市 第一中学\u{3000}"),
            applicant_key("唐山市第一中学")
        );
        assert_eq!(
            applicant_key("路北区（试点）"),
            applicant_key("路北区(试点)")
        );
    }
}
