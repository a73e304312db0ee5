//! Scan ↔ electronic matching: a 0–1 score from independent pieces of evidence, and a
//! best-first one-to-one assignment. Applicants send the stamped scan days later, from
//! another address, under a file name that may name the wrong form; the OCR text of the
//! scan (unit and person names, phone numbers) is the strongest evidence.

use super::fuzzy::{self, compact};
use crate::call::Format;
use crate::model::{FieldValue, Fields, FormKey};
use chrono::{DateTime, Duration, FixedOffset};

/// A scan document to place: a view borrowed from the recorded document (its text and
/// names are not copied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanSide<'a> {
    pub doc: i64,
    pub message: i64,
    pub ocr_text: Option<&'a str>,
    pub form: Option<FormKey>,
    /// Sender address of the message the scan came in.
    pub from: Option<&'a str>,
    pub received_at: DateTime<FixedOffset>,
    /// File name as the sender gave it.
    pub name: &'a str,
    /// The applicant the scan's own mail names (sender's display name, subject, file
    /// names: [`super::unit`]), typed by a person; stands in for the page when OCR did
    /// not read the applicant. The caller leaves it out when the page names a unit.
    pub noted: Option<&'a str>,
}

/// An electronic form a scan may belong to: a view borrowed from the recorded document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElectronicSide<'a> {
    pub doc: i64,
    pub message: i64,
    pub form: FormKey,
    pub fields: &'a Fields,
    pub applicant: Option<&'a str>,
    pub from: Option<&'a str>,
    pub received_at: DateTime<FixedOffset>,
    pub name: &'a str,
}

// Evidence weights. They add up past 1 on purpose: a scan with every piece of
// evidence saturates at 1, and any two strong pieces clear the usual 0.4 threshold.
/// Scan and electronic form in the same e-mail: the usual case, nearly conclusive.
const W_SAME_MESSAGE: f64 = 0.35;
/// Same sender address.
const W_SAME_SENDER: f64 = 0.20;
/// Different addresses in the same organisation domain (not a free mail provider).
const W_SAME_DOMAIN: f64 = 0.12;
/// OCR (or the scan's file name) says the same form.
const W_FORM: f64 = 0.15;
/// Factor on the whole score when both forms are known and differ.
const FORM_CONFLICT: f64 = 0.3;
/// The applicant (unit, school or expert's name) found in the OCR text.
const W_OCR_APPLICANT: f64 = 0.30;
/// A phone number of the form (≥ 7 digits) found in the OCR text.
const W_OCR_PHONE: f64 = 0.15;
/// Other names of the form (contact person, work unit, e-mail) in the OCR text.
const W_OCR_OTHER: f64 = 0.10;
/// The scan's file name names the applicant or shares a distinctive part with the
/// electronic file's name.
const W_FILE_NAME: f64 = 0.10;
/// The scan arrived after the electronic form, or at most a day before it.
const W_TIME_ORDER: f64 = 0.05;

/// The applicant read on the page below this (0–1 after the ramp) is weak: the unit
/// the scan's mail names counts instead, as strongly as a clear reading would.
const OCR_WEAK: f64 = 0.5;

/// OCR similarity below this is noise (two Tangshan school names share most
/// characters); it rises linearly to full weight at an exact match.
const OCR_FLOOR: f64 = 0.6;

/// Free mail providers: sharing one of these domains says nothing.
const FREE_DOMAINS: &[&str] = &[
    "126.com",
    "163.com",
    "yeah.net",
    "188.com",
    "vip.163.com",
    "vip.126.com",
    "qq.com",
    "vip.qq.com",
    "foxmail.com",
    "sina.com",
    "sina.cn",
    "vip.sina.com",
    "sohu.com",
    "139.com",
    "189.cn",
    "wo.cn",
    "21cn.com",
    "tom.com",
    "aliyun.com",
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
];

/// Words every applicant's file name may contain besides the call's form titles: they
/// say nothing about who sent it.
const GENERIC_NAME_PARTS: &[&str] = &[
    "扫描件",
    "扫描",
    "盖章",
    "电子版",
    "申报表",
    "推荐表",
    "附件",
    ".pdf",
    ".jpg",
    ".jpeg",
    ".png",
    ".docx",
    ".doc",
    ".wps",
    ".xlsx",
    ".xls",
];

fn ramp(sim: f64) -> f64 {
    ((sim - OCR_FLOOR) / (1.0 - OCR_FLOOR)).clamp(0.0, 1.0)
}

fn text_of(fields: &Fields, key: &str) -> Option<String> {
    match fields.get(key)? {
        FieldValue::Text(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn domain(addr: &str) -> Option<String> {
    let d = addr.rsplit_once('@')?.1.trim().trim_end_matches('>');
    (!d.is_empty()).then(|| d.to_ascii_lowercase())
}

/// The applicant's name: given, or read from the form's applicant field.
fn applicant(e: &ElectronicSide<'_>) -> Option<String> {
    e.applicant
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .or_else(|| text_of(e.fields, e.form.applicant_key()))
}

/// A file name without its extension and the words every applicant uses.
fn distinctive_name(name: &str) -> Vec<char> {
    let mut s = name.to_lowercase();
    let mut titles: Vec<&str> = crate::call::current()
        .forms
        .iter()
        .flat_map(|f| f.titles.iter().map(String::as_str))
        .collect();
    // Longest first: `唐山市科技教育试点学校申报表` goes whole, not leaving `唐山市`.
    titles.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    for g in titles.into_iter().chain(GENERIC_NAME_PARTS.iter().copied()) {
        s = s.replace(g, " ");
    }
    // Digits and punctuation (附件2, dates, "-") are not distinctive either.
    compact(&s)
        .into_iter()
        .filter(|c| !c.is_ascii_digit() && !c.is_ascii_punctuation())
        .collect()
}

/// 0–1: how likely `scan` is the stamped copy of `e` (weights above).
pub fn score(scan: &ScanSide<'_>, e: &ElectronicSide<'_>) -> f64 {
    let mut s = 0.0;

    if scan.message == e.message {
        s += W_SAME_MESSAGE;
    }

    if let (Some(a), Some(b)) = (scan.from, e.from) {
        if a.trim().eq_ignore_ascii_case(b.trim()) {
            s += W_SAME_SENDER;
        } else if let (Some(da), Some(db)) = (domain(a), domain(b)) {
            if da == db && !FREE_DOMAINS.contains(&da.as_str()) {
                s += W_SAME_DOMAIN;
            }
        }
    }

    let conflict = match scan.form {
        Some(f) if f == e.form => {
            s += W_FORM;
            false
        }
        Some(_) => true,
        None => false,
    };

    let who = applicant(e);
    let on_page = match (&who, scan.ocr_text) {
        (Some(name), Some(text)) => ramp(fuzzy::occurs(name, &compact(text))),
        _ => 0.0,
    };
    let in_mail = match (&who, scan.noted) {
        (Some(name), Some(noted)) if on_page < OCR_WEAK => {
            let (a, b) = (compact(name), compact(noted));
            if a.len() >= 4 && a == b {
                1.0
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    s += W_OCR_APPLICANT * on_page.max(in_mail);
    if let Some(text) = scan.ocr_text {
        let hay = compact(text);
        let digits = fuzzy::digit_stream(text);
        let def = e.form.def();
        let fields = def.map(|d| d.fields.as_slice()).unwrap_or_default();
        let phone = fields
            .iter()
            .filter(|f| matches!(f.format, Format::Phone | Format::Mobile | Format::Landline))
            .filter_map(|f| text_of(e.fields, &f.key))
            .any(|p| fuzzy::phone_in(&fuzzy::phone_digits(&p), &digits));
        if phone {
            s += W_OCR_PHONE;
        }
        // Other names on the form (contact person, work unit, e-mail): the fields the
        // call marks `identifies`.
        let other = fields
            .iter()
            .filter(|f| f.identifies && !f.applicant)
            .filter_map(|f| text_of(e.fields, &f.key))
            .map(|v| ramp(fuzzy::occurs(&v, &hay)))
            .fold(0.0, f64::max);
        s += W_OCR_OTHER * other;
    }

    let scan_name = distinctive_name(scan.name);
    let by_applicant = who
        .as_deref()
        .map(|n| fuzzy::occurs(n, &compact(scan.name)) >= 0.8)
        .unwrap_or(false);
    if by_applicant {
        s += W_FILE_NAME;
    } else if fuzzy::longest_common(&scan_name, &distinctive_name(e.name)) >= 4 {
        s += W_FILE_NAME / 2.0;
    }

    if scan.received_at >= e.received_at - Duration::days(1) {
        s += W_TIME_ORDER;
    }

    if conflict {
        s *= FORM_CONFLICT;
    }
    s.clamp(0.0, 1.0)
}

/// Whether the scan's file name names another applicant than `e`, the form its page
/// was matched to: some other candidate's applicant is in the name, `e`'s is not.
pub fn mislabelled(
    scan: &ScanSide<'_>,
    e: &ElectronicSide<'_>,
    all: &[ElectronicSide<'_>],
) -> bool {
    let others: Vec<String> = all.iter().filter_map(applicant).collect();
    applicant(e)
        .is_some_and(|own| names_another(scan.name, &own, others.iter().map(String::as_str)))
}

/// Whether `file_name` names one of `applicants` other than `own` and not `own`
/// itself. Only names of 4 or more characters count (a file name "一中.jpg" is too
/// short to say which school).
pub fn names_another<'a>(
    file_name: &str,
    own: &str,
    applicants: impl IntoIterator<Item = &'a str>,
) -> bool {
    let name = compact(file_name);
    let named = |a: &str| compact(a).len() >= 4 && fuzzy::approx_find(&compact(a), &name) == 0;
    if named(own) {
        return false;
    }
    let own = compact(own);
    applicants
        .into_iter()
        .any(|a| compact(a) != own && named(a))
}

/// Places each scan on at most one electronic form and each form gets at most one scan:
/// all pairs scored, taken best-first; pairs below `threshold` stay unmatched.
/// Returns, per scan, the index into `elecs` and the score.
pub fn assign(
    scans: &[ScanSide<'_>],
    elecs: &[ElectronicSide<'_>],
    threshold: f64,
) -> Vec<Option<(usize, f64)>> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, s) in scans.iter().enumerate() {
        for (j, e) in elecs.iter().enumerate() {
            let v = score(s, e);
            if v >= threshold {
                pairs.push((v, i, j));
            }
        }
    }
    // Best first; ties go to the earlier scan and form so the result is stable.
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![None; scans.len()];
    let mut taken = vec![false; elecs.len()];
    for (v, i, j) in pairs {
        if out[i].is_none() && !taken[j] {
            out[i] = Some((j, v));
            taken[j] = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldValue, Fields};

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn school() -> FormKey {
        FormKey::parse("pilot_school").unwrap()
    }

    fn fields(unit: &str) -> Fields {
        let mut f = Fields::default();
        f.insert(
            school().applicant_key().into(),
            FieldValue::Text(unit.into()),
        );
        f
    }

    fn elec<'a>(doc: i64, f: &'a Fields, from: &'a str) -> ElectronicSide<'a> {
        ElectronicSide {
            doc,
            message: doc,
            form: school(),
            fields: f,
            applicant: None,
            from: Some(from),
            received_at: at("2022-07-16T09:00:00+08:00"),
            name: "附件4试点学校申报表.docx",
        }
    }

    /// A scan sent alone (its page's unit row unreadable), its electronic form a day
    /// later from another address: the unit its mail named places it.
    #[test]
    fn unit_noted_from_the_mail_places_a_scan_ocr_could_not() {
        let (ln, ts) = (fields("滦南县第一中学"), fields("唐山市第一中学"));
        let elecs = [
            elec(10, &ts, "ts1z@126.com"),
            elec(11, &ln, "ln1z_zhang@163.com"),
        ];
        let scan = ScanSide {
            doc: 20,
            message: 2,
            ocr_text: Some("附件4\n唐山市科技教育试点学校申报表\n申报学校\n通讯地址"),
            form: Some(school()),
            from: Some("lnyz@126.com"),
            received_at: at("2022-07-15T10:00:00+08:00"),
            name: "盖章扫描件.jpg",
            noted: Some("滦南县第一中学"),
        };
        // form 0.15 + the mail's unit 0.30 + time 0.05
        assert!((score(&scan, &elecs[1]) - 0.50).abs() < 1e-9);
        assert!((score(&scan, &elecs[0]) - 0.20).abs() < 1e-9);
        let placed = assign(&[scan], &elecs, 0.4);
        assert!(matches!(placed[..], [Some((1, v))] if (v - 0.5).abs() < 1e-9));
        // Without it the scan is nobody's.
        let unnoted = ScanSide {
            noted: None,
            ..scan
        };
        assert_eq!(assign(&[unnoted], &elecs, 0.4), vec![None]);
    }

    /// A page that clearly reads another unit than the mail names: the page decides
    /// (a print shop's mail names the school in the file name it was given).
    #[test]
    fn a_clear_page_outweighs_the_unit_the_mail_names() {
        let ts = fields("唐山市第一中学");
        let e = elec(10, &ts, "ts1z@126.com");
        let scan = ScanSide {
            doc: 20,
            message: 2,
            ocr_text: Some("唐山市科技教育试点学校申报表\n申报学校唐山市第十中学"),
            form: Some(school()),
            from: Some("dayinpu@126.com"),
            received_at: at("2022-07-16T10:00:00+08:00"),
            name: "扫描件.jpg",
            noted: Some("唐山市第一中学"),
        };
        let unnoted = ScanSide {
            noted: None,
            ..scan
        };
        assert_eq!(score(&scan, &e), score(&unnoted, &e));
        assert!(score(&scan, &e) < 0.4);
    }
}
