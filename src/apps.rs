//! Applications: one per (form, applicant) across the whole intake, built from the
//! recorded electronic forms and scans. Pure logic: documents in, applications and
//! document links (scan_of, superseded_by) out; [`crate::db`] stores the result.

use crate::db::documents::DocForMatching;
use crate::model::FormKey;
use std::collections::{BTreeMap, HashMap};

/// An application as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    pub form: String,
    pub applicant: String,
    pub applicant_key: String,
    pub status: String,
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

/// Field-level problems make an electronic form `invalid`.
fn is_field_problem(p: &str) -> bool {
    p.starts_with("missing_field:") || p.starts_with("bad_format:") || p.starts_with("over_limit:")
}

/// Scores every scan against the current electronic versions and assigns them.
pub type Matcher<'a> =
    dyn Fn(&[&DocForMatching], &[&DocForMatching]) -> Vec<Option<(usize, f64)>> + 'a;

/// Builds all applications. `manual` maps scan sha256 → electronic sha256 (None: no
/// match), and always wins over the matcher.
pub fn build(
    docs: &[DocForMatching],
    manual: &HashMap<String, Option<String>>,
    matcher: &Matcher<'_>,
) -> (Vec<AppRow>, DocLinks) {
    let mut links = DocLinks::default();
    // 1. Electronic versions grouped by (form, applicant); the newest different version
    //    is current, earlier ones are superseded by it; exact copies change nothing.
    let mut groups: BTreeMap<(String, String), Vec<&DocForMatching>> = BTreeMap::new();
    for d in docs.iter().filter(|d| d.kind == "electronic") {
        let Some(form) = d.form.clone() else { continue };
        let name = d
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("（未填写）{}", d.from_addr.clone().unwrap_or_default()));
        groups
            .entry((form, applicant_key(&name)))
            .or_default()
            .push(d);
    }
    let mut current: Vec<&DocForMatching> = Vec::new();
    for versions in groups.values() {
        // docs arrive oldest first; the last distinct content is the current version.
        let Some(latest) = versions.last() else {
            continue;
        };
        let latest_sha = &latest.sha256;
        // The first document carrying the latest content is the one we keep.
        let keep = versions
            .iter()
            .find(|d| &d.sha256 == latest_sha)
            .copied()
            .unwrap_or(latest);
        for d in versions {
            if d.sha256 != *latest_sha {
                links.superseded_by.push((d.id, keep.id));
            }
        }
        current.push(keep);
    }
    let scans: Vec<&DocForMatching> = docs.iter().filter(|d| d.kind == "scan").collect();

    // 2. Scans ↔ electronic: operator decisions first, then the matcher on the rest.
    let by_sha: HashMap<&str, usize> = current
        .iter()
        .enumerate()
        .map(|(i, d)| (d.sha256.as_str(), i))
        .collect();
    let mut assigned: Vec<Option<(usize, f64)>> = vec![None; scans.len()];
    let mut free_scans: Vec<usize> = Vec::new();
    let mut taken = vec![false; current.len()];
    for (si, s) in scans.iter().enumerate() {
        match manual.get(&s.sha256) {
            Some(Some(e_sha)) => {
                if let Some(&ei) = by_sha.get(e_sha.as_str()) {
                    assigned[si] = Some((ei, 1.0));
                    taken[ei] = true;
                }
            }
            Some(None) => {}
            None => free_scans.push(si),
        }
    }
    let free_e: Vec<usize> = (0..current.len()).filter(|i| !taken[*i]).collect();
    let fs: Vec<&DocForMatching> = free_scans.iter().map(|&i| scans[i]).collect();
    let fe: Vec<&DocForMatching> = free_e.iter().map(|&i| current[i]).collect();
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
        if let Some((s, score)) = scan {
            links.scan_of.push((s.id, e.id, score));
        }
        let applicant = e
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("（未填写）{}", e.from_addr.clone().unwrap_or_default()));
        let mut problems: Vec<String> = e
            .problems
            .iter()
            .filter(|p| is_field_problem(p))
            .cloned()
            .collect();
        let status = match scan {
            None => {
                problems.push("missing_scan".into());
                "missing_scan"
            }
            Some((s, _)) if s.stamped == Some(false) => {
                problems.push("unstamped_scan".into());
                "unstamped_scan"
            }
            Some((s, _)) => {
                if s.stamped.is_none() {
                    // A grayscale or fax scan carries no colour: the seal cannot be checked.
                    problems.push("seal_unknown".into());
                }
                if problems.iter().any(|p| is_field_problem(p)) {
                    "invalid"
                } else {
                    "complete"
                }
            }
        };
        let late = e.late || scan.map(|(s, _)| s.late).unwrap_or(false);
        if late {
            problems.push("late".into());
        }
        apps.push(AppRow {
            form: e.form.clone().unwrap_or_default(),
            applicant_key: applicant_key(&applicant),
            applicant,
            status: status.into(),
            late,
            electronic: Some(e.id),
            scan: scan.map(|(s, _)| s.id),
            problems,
        });
    }
    // Scans of a known form with no electronic version.
    let used: std::collections::HashSet<usize> = scan_for.values().map(|(si, _)| *si).collect();
    for (si, s) in scans.iter().enumerate() {
        if used.contains(&si) || assigned[si].is_some() {
            continue;
        }
        let Some(form) = s.form.as_deref().and_then(FormKey::parse) else {
            continue;
        };
        let applicant = s
            .applicant
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "（扫描件）{}",
                    s.from_addr.clone().unwrap_or_else(|| s.name.clone())
                )
            });
        let mut problems = vec!["missing_electronic".to_string()];
        if s.stamped == Some(false) {
            problems.push("unstamped_scan".into());
        }
        if s.late {
            problems.push("late".into());
        }
        apps.push(AppRow {
            form: form.as_str().into(),
            applicant_key: format!(
                "{}#scan:{}",
                applicant_key(&applicant),
                &s.sha256[..s.sha256.len().min(12)]
            ),
            applicant,
            status: "missing_electronic".into(),
            late: s.late,
            electronic: None,
            scan: Some(s.id),
            problems,
        });
    }
    (apps, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for the scan stage's scoring, so these tests check the
    /// application logic alone: same form and same message, or same form and same sender,
    /// each electronic taken once, oldest first.
    fn simple_matcher(
        scans: &[&DocForMatching],
        elecs: &[&DocForMatching],
    ) -> Vec<Option<(usize, f64)>> {
        let mut taken = vec![false; elecs.len()];
        scans
            .iter()
            .map(|s| {
                let best = elecs
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| !taken[*i] && s.form.is_some() && s.form == e.form)
                    .map(|(i, e)| {
                        let score: f64 = if s.message == e.message {
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

    fn doc(
        id: i64,
        msg: i64,
        kind: &str,
        form: &str,
        applicant: &str,
        sha: &str,
    ) -> DocForMatching {
        DocForMatching {
            id,
            message: msg,
            sha256: sha.into(),
            name: format!("d{id}"),
            kind: kind.into(),
            form: Some(form.into()),
            applicant: Some(applicant.into()).filter(|a: &String| !a.is_empty()),
            fields: Default::default(),
            stamped: if kind == "scan" { Some(true) } else { None },
            ocr_text: None,
            problems: vec![],
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
    fn statuses_for_missing_and_unstamped() {
        let mut s = doc(3, 3, "scan", "expert", "", "ccc");
        s.stamped = Some(false);
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
