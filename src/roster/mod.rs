//! The roster: the units a call expects (`[[roster]]` of the call file), which
//! applications belong to each ([`attribute`]), and what each still owes against the
//! notice's rules ("试点学校 1/2"). Pure: the call, the dump and the operators' stored
//! decisions in, typed rows out — `roster`, `dump --json`, the exports, reminders and
//! the web page all read [`Roster`].

pub mod attribute;

use crate::call::{Call, FormDef, Role, RosterEntry};
pub use crate::domain::application::Assignment;
use crate::domain::AppStatus;
use crate::report::dump::{Dump, DumpApplication};
use attribute::{AskReason, Attribution, Confidence};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Whether nothing is missing from an application: the one place the roster, the
/// reminders and the zip compare the status.
pub fn is_complete(a: &DumpApplication) -> bool {
    a.status == AppStatus::Complete
}

/// One expectation of a unit and how far it is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectRow {
    /// `pilot_school:2`, as in the call file.
    pub expect: String,
    pub form: String,
    pub min: u32,
    /// Applications on the form attributed to the unit, in any state.
    pub arrived: u32,
    pub complete: u32,
    /// `试点学校 1/2` (arrived / required).
    pub text: String,
}

/// One roster unit: the `roster` key of `dump --json` (`unit`, `applications`,
/// `missing` per the contract) and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRow {
    pub unit: String,
    pub applications: Vec<i64>,
    /// Expectations not met by what arrived (`pilot_school:2`).
    pub missing: Vec<String>,
    pub expects: Vec<ExpectRow>,
    /// Attributed applications that are complete.
    pub complete: Vec<i64>,
    /// Attributed applications still missing something.
    pub incomplete: Vec<i64>,
    /// Everything arrived and complete.
    pub done: bool,
    /// Latest receipt time of the unit's mail (its applications, its known addresses).
    pub last_contact: Option<String>,
    /// The roster's address for the unit, if given.
    pub email: Option<String>,
    /// Addresses the unit's applications came from, most recent first.
    pub senders: Vec<String>,
}

/// An application waiting for an operator's attribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsureRow {
    pub application: i64,
    pub form: String,
    pub applicant: String,
    pub email: Option<String>,
    pub candidates: Vec<String>,
    pub reason: AskReason,
    pub reason_zh: String,
}

/// How one application was attributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppUnit {
    pub application: i64,
    pub unit: String,
    pub confidence: Confidence,
}

/// The whole roster view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roster {
    pub units: Vec<UnitRow>,
    pub unsure: Vec<UnsureRow>,
    pub attributed: Vec<AppUnit>,
}

impl Roster {
    /// The unit an application is attributed to, if any.
    pub fn unit_of(&self, app: i64) -> Option<&str> {
        self.attributed
            .iter()
            .find(|a| a.application == app)
            .map(|a| a.unit.as_str())
    }
}

/// Fields other than the applicant's name that may name the unit: short values of the
/// fields the call file gives `role = "unit"` or `"locality"` (units and addresses;
/// long narratives mention partners and would make every application ambiguous).
fn unit_texts(dump_fields: &crate::model::Fields, form: Option<&FormDef>) -> Vec<String> {
    let Some(form) = form else {
        return Vec::new();
    };
    dump_fields
        .iter()
        .filter(|(k, _)| {
            form.field(k)
                .is_some_and(|f| !f.applicant && matches!(f.role, Role::Unit | Role::Locality))
        })
        .map(|(_, v)| v.display())
        .filter(|v| v.chars().count() <= 60)
        .collect()
}

/// Attributes every application and checks each unit against its expectations.
pub fn build(call: &Call, dump: &Dump, decisions: &[Assignment]) -> Roster {
    build_with_scans(call, dump, decisions, &BTreeMap::new())
}

/// [`build`], with the OCR text of scans by document id: an application that has only
/// its scan (no electronic form to read) is attributed by the unit names in the scan's
/// text — the form's words and the seal's — at the strength of a field, never a name.
pub fn build_with_scans(
    call: &Call,
    dump: &Dump,
    decisions: &[Assignment],
    scan_text: &BTreeMap<i64, String>,
) -> Roster {
    let roster = &call.roster;
    let expected_forms: BTreeSet<&str> = roster
        .iter()
        .flat_map(|e| e.expect.iter().map(|x| x.form.as_str()))
        .collect();
    let docs: BTreeMap<i64, &crate::report::dump::DumpDocument> = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .map(|d| (d.id, d))
        .collect();
    let decided = |a: &DumpApplication| {
        let key = attribute::norm(&a.applicant);
        decisions
            .iter()
            .find(|d| d.form == a.form && d.applicant_key == key)
    };

    // First pass: the form's own words and operators' decisions.
    let mut result: Vec<(&DumpApplication, Attribution)> = Vec::new();
    for a in &dump.applications {
        let att = if let Some(d) = decided(a) {
            match d
                .unit
                .as_deref()
                .and_then(|u| roster.iter().position(|e| e.unit == u))
            {
                Some(i) => Attribution::Unit(i, Confidence::Operator),
                None => Attribution::NoUnit,
            }
        } else {
            let fields = a.electronic.and_then(|id| docs.get(&id)).map(|d| &d.fields);
            let mut others = fields
                .map(|f| unit_texts(f, call.form(&a.form)))
                .unwrap_or_default();
            if a.electronic.is_none() {
                others.extend(a.scan.and_then(|id| scan_text.get(&id)).cloned());
            }
            let refs: Vec<&str> = others.iter().map(String::as_str).collect();
            let mut att = attribute::from_form(roster, &a.applicant, &refs);
            if att == Attribution::None {
                if let Some(i) = by_roster_email(roster, a.email.as_deref()) {
                    att = Attribution::Unit(i, Confidence::RosterEmail);
                }
            }
            att
        };
        result.push((a, att));
    }
    // Second pass: the sender's history for forms the roster expects that named none.
    let mut history: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (a, att) in &result {
        if let (Some(mail), Attribution::Unit(i, _)) = (&a.email, att) {
            history.entry(mail.to_lowercase()).or_default().insert(*i);
        }
    }
    for (a, att) in result.iter_mut() {
        if *att != Attribution::None || !expected_forms.contains(a.form.as_str()) {
            continue;
        }
        let known = a
            .email
            .as_ref()
            .and_then(|m| history.get(&m.to_lowercase()));
        *att = match known {
            Some(units) => {
                Attribution::Ask(units.iter().copied().collect(), AskReason::AddressOnly)
            }
            None => Attribution::Ask(Vec::new(), AskReason::Unnamed),
        };
    }

    let mut out = Roster::default();
    let mut per_unit: Vec<Vec<&DumpApplication>> = vec![Vec::new(); roster.len()];
    for (a, att) in &result {
        match att {
            Attribution::Unit(i, c) => {
                per_unit[*i].push(a);
                out.attributed.push(AppUnit {
                    application: a.id,
                    unit: roster[*i].unit.clone(),
                    confidence: *c,
                });
            }
            Attribution::Ask(cands, reason) => out.unsure.push(UnsureRow {
                application: a.id,
                form: a.form.clone(),
                applicant: a.applicant.clone(),
                email: a.email.clone(),
                candidates: cands.iter().map(|i| roster[*i].unit.clone()).collect(),
                reason: *reason,
                reason_zh: reason.label_zh().to_string(),
            }),
            Attribution::NoUnit | Attribution::None => {}
        }
    }
    for (entry, apps) in roster.iter().zip(per_unit) {
        out.units.push(unit_row(call, dump, entry, &apps));
    }
    out
}

fn by_roster_email(roster: &[RosterEntry], email: Option<&str>) -> Option<usize> {
    let email = email?;
    let hits: Vec<usize> = roster
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.email
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(email))
        })
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

fn unit_row(call: &Call, dump: &Dump, entry: &RosterEntry, apps: &[&DumpApplication]) -> UnitRow {
    let mut expects = Vec::new();
    let mut missing = Vec::new();
    for x in &entry.expect {
        let on_form: Vec<&&DumpApplication> =
            apps.iter().filter(|a| a.form == x.form.as_str()).collect();
        let arrived = on_form.len() as u32;
        let complete = on_form.iter().filter(|a| is_complete(a)).count() as u32;
        let label = call
            .form(x.form.as_str())
            .map(|f| f.short.clone())
            .unwrap_or_else(|| x.form.as_str().to_string());
        if arrived < x.min {
            missing.push(x.to_string());
        }
        expects.push(ExpectRow {
            expect: x.to_string(),
            form: x.form.as_str().to_string(),
            min: x.min,
            arrived,
            complete,
            text: format!("{label} {arrived}/{}", x.min),
        });
    }
    let complete: Vec<i64> = apps
        .iter()
        .filter(|a| is_complete(a))
        .map(|a| a.id)
        .collect();
    let incomplete: Vec<i64> = apps
        .iter()
        .filter(|a| !is_complete(a))
        .map(|a| a.id)
        .collect();
    let mut by_time: Vec<(&str, &str)> = apps
        .iter()
        .filter_map(|a| Some((a.received_at.as_deref()?, a.email.as_deref()?)))
        .collect();
    by_time.sort_by(|a, b| b.0.cmp(a.0));
    let mut senders: Vec<String> = Vec::new();
    for (_, m) in &by_time {
        if !senders.iter().any(|s| s.eq_ignore_ascii_case(m)) {
            senders.push(m.to_string());
        }
    }
    let known: Vec<String> = senders
        .iter()
        .cloned()
        .chain(entry.email.clone())
        .map(|s| s.to_lowercase())
        .collect();
    let last_contact = dump
        .messages
        .iter()
        .filter(|m| {
            m.from
                .as_ref()
                .is_some_and(|f| known.contains(&f.to_lowercase()))
        })
        .map(|m| m.received_at.as_str())
        .chain(apps.iter().filter_map(|a| a.received_at.as_deref()))
        .max()
        .map(str::to_string);
    UnitRow {
        unit: entry.unit.clone(),
        applications: apps.iter().map(|a| a.id).collect(),
        done: missing.is_empty() && incomplete.is_empty() && !apps.is_empty(),
        missing,
        expects,
        complete,
        incomplete,
        last_contact,
        email: entry.email.clone(),
        senders,
    }
}

/// What a unit still owes, in words: `试点学校 缺1份` (empty when only the state of
/// what arrived is incomplete).
pub fn missing_zh(u: &UnitRow) -> String {
    u.expects
        .iter()
        .filter(|e| e.arrived < e.min)
        .map(|e| {
            let label = e.text.split(' ').next().unwrap_or(&e.form);
            format!("{label} 缺{}份", e.min - e.arrived)
        })
        .collect::<Vec<_>>()
        .join("，")
}

/// `roster` as a text table for the terminal.
pub fn render(r: &Roster) -> String {
    let mut out = String::from("单位\t已收到\t完整\t对照要求\t缺少\t最近联系\n");
    for u in &r.units {
        let progress: Vec<&str> = u.expects.iter().map(|e| e.text.as_str()).collect();
        let state = if u.done {
            "齐全".to_string()
        } else if u.applications.is_empty() {
            "尚未报送".to_string()
        } else {
            missing_zh(u)
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            u.unit,
            u.applications.len(),
            u.complete.len(),
            progress.join("，"),
            if state.is_empty() {
                "材料不全".into()
            } else {
                state
            },
            u.last_contact
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .map(|t| crate::time::fmt_human(&t))
                .unwrap_or_else(|| "-".into()),
        ));
    }
    if !r.unsure.is_empty() {
        out.push_str("\n待人工确认归属（kepu-intake roster --assign 申报编号 单位）:\n");
        for u in &r.unsure {
            out.push_str(&format!(
                "a{}\t{}\t{}\t{}\t候选: {}\n",
                u.application,
                u.form,
                u.applicant,
                u.reason_zh,
                if u.candidates.is_empty() {
                    "-".into()
                } else {
                    u.candidates.join("、")
                }
            ));
        }
    }
    out
}
