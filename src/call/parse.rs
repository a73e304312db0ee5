//! A call file's text → [`Call`], checked: every error names the file, the line and
//! what is wrong (`calls/2023.toml: 14: form "expert": no field has applicant = true`).

use super::{Call, Expect, FieldSpec, FormDef, FormKey, Format, Kind, Role, RosterEntry};
use serde::Deserialize;
use std::collections::BTreeSet;
use toml::Spanned;

/// A call file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {line}: {what}")]
pub struct CallError {
    pub path: String,
    pub line: usize,
    pub what: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
    name: Spanned<String>,
    deadline: Spanned<String>,
    #[serde(default)]
    ocr_vocabulary: Vec<String>,
    #[serde(default)]
    notice: Vec<String>,
    forms: Spanned<Vec<RawForm>>,
    #[serde(default)]
    roster: Vec<RawRoster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    key: Spanned<String>,
    number: Spanned<u32>,
    title: Spanned<String>,
    #[serde(default)]
    titles: Vec<String>,
    ocr_keyword: Option<String>,
    short: Option<String>,
    #[serde(default)]
    placeholders: Vec<String>,
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    key: Spanned<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    required: bool,
    max_chars: Option<usize>,
    format: Option<Format>,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    applicant: bool,
    #[serde(default)]
    identifies: bool,
    #[serde(default)]
    role: Role,
    #[serde(default)]
    then: Vec<Spanned<String>>,
    date_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoster {
    unit: Spanned<String>,
    #[serde(default)]
    expect: Vec<Spanned<String>>,
    email: Option<Spanned<String>>,
    #[serde(default)]
    aliases: Vec<String>,
}

struct Ctx<'a> {
    path: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        what: impl Into<String>,
    ) -> Result<T, CallError> {
        let at = span.start.min(self.text.len());
        Err(CallError {
            path: self.path.to_string(),
            line: self.text[..at].matches('\n').count() + 1,
            what: what.into(),
        })
    }
}

pub(super) fn parse(path: &str, text: &str) -> Result<Call, CallError> {
    let cx = Ctx { path, text };
    let raw: RawCall = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.message().replace('\n', " ");
            return cx.err(e.span().unwrap_or(0..0), msg);
        }
    };
    if raw.name.get_ref().trim().is_empty() {
        return cx.err(raw.name.span(), "name is empty: write the call's name");
    }
    let Ok(deadline) = chrono::DateTime::parse_from_rfc3339(raw.deadline.get_ref().trim()) else {
        return cx.err(
            raw.deadline.span(),
            format!(
                "deadline {:?} is not an RFC 3339 time such as 2022-07-20T23:59:59+08:00",
                raw.deadline.get_ref()
            ),
        );
    };
    if raw.forms.get_ref().is_empty() {
        return cx.err(
            raw.forms.span(),
            "no [[forms]]: a call needs at least one form",
        );
    }
    let mut forms: Vec<FormDef> = Vec::new();
    for f in raw.forms.into_inner() {
        let span = f.key.span();
        let form = form(&cx, f)?;
        if forms.iter().any(|g| g.key.as_str() == form.key.as_str()) {
            return cx.err(
                span,
                format!("form key {:?} appears twice", form.key.as_str()),
            );
        }
        if forms.iter().any(|g| g.number == form.number) {
            return cx.err(
                span,
                format!(
                    "form {:?}: 附件 number {} is taken by another form",
                    form.key.as_str(),
                    form.number
                ),
            );
        }
        forms.push(form);
    }
    let mut roster = Vec::new();
    for r in raw.roster {
        roster.push(roster_entry(&cx, &forms, r)?);
    }
    Ok(Call {
        name: raw.name.into_inner().trim().to_string(),
        deadline,
        forms,
        ocr_vocabulary: raw.ocr_vocabulary,
        notice: raw
            .notice
            .iter()
            .map(|t| squeeze(t))
            .filter(|t| !t.is_empty())
            .collect(),
        roster,
        source: None,
        fingerprint: fnv1a(text.as_bytes()),
    })
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn form(cx: &Ctx, f: RawForm) -> Result<FormDef, CallError> {
    let key = f.key.get_ref();
    let valid_key = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_key {
        return cx.err(
            f.key.span(),
            format!(
                "form key {key:?}: use lower-case letters, digits and _ (e.g. \"pilot_school\")"
            ),
        );
    }
    if f.title.get_ref().trim().is_empty() {
        return cx.err(f.title.span(), format!("form {key:?}: title is empty"));
    }
    if f.fields.is_empty() {
        return cx.err(f.key.span(), format!("form {key:?}: no [[forms.fields]]"));
    }
    let mut seen = BTreeSet::new();
    let mut fields = Vec::new();
    for s in &f.fields {
        let k = s.key.get_ref().trim();
        if k.is_empty() {
            return cx.err(s.key.span(), format!("form {key:?}: a field key is empty"));
        }
        if !seen.insert(k.to_string()) {
            return cx.err(
                s.key.span(),
                format!("form {key:?}: field {k:?} appears twice"),
            );
        }
    }
    for s in &f.fields {
        let Some(d) = &s.date_key else { continue };
        let dk = d.get_ref().trim();
        if dk.is_empty() || !seen.insert(dk.to_string()) {
            return cx.err(
                d.span(),
                format!(
                    "form {key:?}: field {:?}: date_key {:?} is empty or already a field of this form (name a new key, e.g. \"{}日期\")",
                    s.key.get_ref().trim(),
                    d.get_ref(),
                    s.key.get_ref().trim()
                ),
            );
        }
    }
    for s in f.fields {
        let k = s.key.get_ref().trim().to_string();
        for t in &s.then {
            if !seen.contains(t.get_ref().as_str()) {
                return cx.err(
                    t.span(),
                    format!(
                        "form {key:?}: field {k:?}: then names {:?}, not a field of this form",
                        t.get_ref()
                    ),
                );
            }
        }
        if s.max_chars == Some(0) {
            return cx.err(
                s.key.span(),
                format!("form {key:?}: field {k:?}: max_chars must be at least 1"),
            );
        }
        let mut labels = vec![k.clone()];
        for l in s.labels {
            if !l.trim().is_empty() && !labels.contains(&l) {
                labels.push(l);
            }
        }
        let date_key = s.date_key.map(|d| d.get_ref().trim().to_string());
        fields.push(FieldSpec {
            key: k,
            labels,
            required: s.required,
            kind: if s.options.is_empty() {
                Kind::Text
            } else {
                Kind::Choices(s.options)
            },
            format: s.format.unwrap_or(Format::None),
            max_chars: s.max_chars,
            applicant: s.applicant,
            identifies: s.identifies,
            role: s.role,
            then: s.then.into_iter().map(Spanned::into_inner).collect(),
            date_key: date_key.clone(),
        });
        // The signer's date has no label: it is taken out of the opinion's cell.
        if let Some(d) = date_key {
            fields.push(FieldSpec {
                key: d,
                labels: Vec::new(),
                required: false,
                kind: Kind::Text,
                format: Format::None,
                max_chars: None,
                applicant: false,
                identifies: false,
                role: Role::None,
                then: Vec::new(),
                date_key: None,
            });
        }
    }
    match fields.iter().filter(|s| s.applicant).count() {
        1 => {}
        0 => {
            return cx.err(
                f.key.span(),
                format!(
                "form {key:?}: no field has applicant = true (say which field names the applicant)"
            ),
            )
        }
        _ => {
            return cx.err(
                f.key.span(),
                format!("form {key:?}: more than one field has applicant = true"),
            )
        }
    }
    let title = f.title.get_ref().trim().to_string();
    let mut titles: Vec<String> = f
        .titles
        .iter()
        .map(|t| squeeze(t))
        .filter(|t| !t.is_empty())
        .collect();
    if titles.is_empty() {
        titles.push(squeeze(&title));
    }
    let number = *f.number.get_ref();
    Ok(FormDef {
        key: FormKey::new(number, key),
        number,
        heading: format!("附件{number} {title}"),
        short: f.short.unwrap_or_else(|| title.clone()),
        title,
        titles,
        ocr_keyword: f.ocr_keyword.map(|k| squeeze(&k)).filter(|k| !k.is_empty()),
        placeholders: f.placeholders.iter().map(|p| squeeze(p)).collect(),
        fields,
    })
}

fn roster_entry(cx: &Ctx, forms: &[FormDef], r: RawRoster) -> Result<RosterEntry, CallError> {
    let unit = r.unit.get_ref().trim().to_string();
    if unit.is_empty() {
        return cx.err(r.unit.span(), "roster: unit is empty");
    }
    let mut expect = Vec::new();
    for e in &r.expect {
        let (k, n) = match e.get_ref().split_once(':') {
            Some((k, n)) => (k.trim(), Some(n.trim())),
            None => (e.get_ref().trim(), None),
        };
        let Some(form) = forms.iter().find(|f| f.key.as_str() == k) else {
            let keys: Vec<&str> = forms.iter().map(|f| f.key.as_str()).collect();
            return cx.err(
                e.span(),
                format!(
                    "roster {unit:?}: expect {:?}: no form {k:?} in this call (forms: {})",
                    e.get_ref(),
                    keys.join(", ")
                ),
            );
        };
        let min = match n {
            None => 1,
            Some(n) => match n.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return cx.err(
                        e.span(),
                        format!("roster {unit:?}: expect {:?}: the count after ':' must be a whole number ≥ 1", e.get_ref()),
                    )
                }
            },
        };
        expect.push(Expect {
            form: form.key,
            min,
        });
    }
    let email = match r.email {
        Some(m) if !m.get_ref().contains('@') => {
            return cx.err(
                m.span(),
                format!("roster {unit:?}: email {:?} is not an address", m.get_ref()),
            )
        }
        m => m.map(|m| m.into_inner().trim().to_string()),
    };
    Ok(RosterEntry {
        unit,
        expect,
        email,
        aliases: r.aliases,
    })
}

/// FNV-1a, 64 bits: stable across builds, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"name = "测试"
deadline = "2023-05-01T12:00:00+08:00"
[[forms]]
key = "volunteer"
number = 5
title = "志愿者登记表"
[[forms.fields]]
key = "姓名"
required = true
applicant = true
[[forms.fields]]
key = "手机"
format = "mobile"
[[roster]]
unit = "路北区"
expect = ["volunteer:2"]
"#;

    fn err(text: &str) -> String {
        Call::parse("calls/x.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn builtin_call_has_the_four_forms_in_order() {
        let c = Call::builtin();
        let keys: Vec<&str> = c.keys().map(FormKey::as_str).collect();
        assert_eq!(
            keys,
            ["expert", "resource", "pilot_district", "pilot_school"]
        );
        assert_eq!(c.deadline.to_rfc3339(), "2022-07-20T23:59:59+08:00");
        assert_eq!(c.forms[0].applicant_key(), "姓名");
        assert_eq!(c.forms[3].heading, "附件4 科技教育试点学校申报表");
        assert_eq!(c.forms[1].field("联系电话").unwrap().format, Format::Phone);
        assert_eq!(
            c.forms[3].field("申报单位意见").unwrap().then,
            ["教育局意见"]
        );
        let date = c.forms[3].field("教育局意见日期").unwrap();
        assert!(date.labels.is_empty() && !date.required);
        assert_eq!(
            c.forms[0]
                .field("推荐单位意见")
                .unwrap()
                .date_key
                .as_deref(),
            Some("推荐单位意见日期")
        );
        let keys: Vec<&str> = c.forms[2].keys().collect();
        assert_eq!(keys[6..8], ["申报单位意见", "申报单位意见日期"]);
    }

    #[test]
    fn a_small_call_parses_with_its_roster() {
        let c = Call::parse("x", MINI).unwrap();
        assert_eq!(c.forms[0].key.as_str(), "volunteer");
        assert_eq!(c.forms[0].heading, "附件5 志愿者登记表");
        assert_eq!(c.roster[0].expect[0].min, 2);
        assert_eq!(c.roster[0].expect[0].to_string(), "volunteer:2");
    }

    #[test]
    fn malformed_files_name_path_line_and_fault() {
        assert_eq!(
            err(&MINI.replace("2023-05-01T12:00:00+08:00", "May 1")),
            "calls/x.toml: 2: deadline \"May 1\" is not an RFC 3339 time such as 2022-07-20T23:59:59+08:00"
        );
        let e = err(&MINI.replace("applicant = true\n", ""));
        assert!(
            e.starts_with("calls/x.toml: 4: form \"volunteer\": no field has applicant"),
            "{e}"
        );
        let e = err(&MINI.replace("\"mobile\"", "\"fax\""));
        assert!(
            e.starts_with("calls/x.toml: 13: unknown variant `fax`"),
            "{e}"
        );
        let e = err(&MINI.replace("volunteer:2", "expert"));
        assert!(
            e.starts_with("calls/x.toml: 16: roster \"路北区\": expect \"expert\": no form"),
            "{e}"
        );
        let e = err(&MINI.replace("volunteer:2", "volunteer:0"));
        assert!(e.contains("16: roster"), "{e}");
        let e = err(&format!("{MINI}colour = 1\n"));
        assert!(
            e.starts_with("calls/x.toml: 17: unknown field `colour`"),
            "{e}"
        );
        let e = err(&MINI.replace("key = \"手机\"", "key = \"姓名\""));
        assert!(
            e.starts_with("calls/x.toml: 12: form \"volunteer\": field \"姓名\" appears twice"),
            "{e}"
        );
        let e = err(&MINI.replace("format = \"mobile\"", "date_key = \"姓名\""));
        assert!(
            e.starts_with("calls/x.toml: 13: form \"volunteer\": field \"手机\": date_key \"姓名\" is empty or already"),
            "{e}"
        );
        let e = err("name = \"x\"\ndeadline = \"2023-05-01T12:00:00+08:00\"\nforms = []\n");
        assert!(e.starts_with("calls/x.toml: 3: no [[forms]]"), "{e}");
    }
}
