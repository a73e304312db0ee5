//! The named problems of `forms.md`: `missing_field:<key>` for an empty required
//! field, `over_limit:<key>` for a field over its `max_chars` (附件2's narrative fields:
//! 1000 non-whitespace characters), `bad_format:<key>` for a malformed e-mail, mobile, landline or
//! postcode. Checks only; values are never changed.

use super::fields::fold;
use super::spec::Format;
use crate::call::FormDef;
use crate::model::{FieldValue, Fields};

/// Problems of one parsed form, in form order.
pub fn problems(form: &FormDef, fields: &Fields) -> Vec<String> {
    let mut out = Vec::new();
    for s in &form.fields {
        let value = fields.get(&s.key);
        let empty = value.is_none_or(FieldValue::is_empty);
        if empty {
            if s.required {
                out.push(format!("missing_field:{}", s.key));
            }
            continue;
        }
        let Some(FieldValue::Text(text)) = value else {
            continue;
        };
        if s.max_chars
            .is_some_and(|max| text.chars().filter(|c| !c.is_whitespace()).count() > max)
        {
            out.push(format!("over_limit:{}", s.key));
        }
        let ok = match s.format {
            Format::None => true,
            Format::Email => is_email(text),
            Format::Mobile => is_mobile(&digits_only(text)),
            Format::Landline => is_landline(&compact(text)),
            Format::Phone => is_phone_list(text),
            Format::Postcode => {
                let t = compact(text);
                t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit())
            }
        };
        if !ok {
            out.push(format!("bad_format:{}", s.key));
        }
    }
    out
}

/// Full-width digits and signs folded to ASCII, whitespace removed.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).map(fold).collect()
}

/// A mobile number as typed (`138 1234 5678`, `138-1234-5678`) reduced to its digits.
fn digits_only(s: &str) -> String {
    compact(s).chars().filter(|c| *c != '-').collect()
}

/// `1[3-9]` + 9 digits.
pub fn is_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// `0` + area code (2–3 more digits), optional `-`, 7–8 digits.
pub fn is_landline(s: &str) -> bool {
    if !s.is_ascii() {
        return false;
    }
    let (area, local) = match s.split_once('-') {
        Some((a, l)) => (a, l),
        None => {
            // Without a dash the split is ambiguous: accept any split that fits.
            return (3..=4)
                .any(|n| s.len() > n && is_landline(&format!("{}-{}", &s[..n], &s[n..])));
        }
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(area)
        && digits(local)
        && area.starts_with('0')
        && (3..=4).contains(&area.len())
        && (7..=8).contains(&local.len())
}

/// One or more numbers (separated by `/ , ， 、 ;`), each a mobile or a landline.
fn is_phone_list(s: &str) -> bool {
    let parts: Vec<&str> = s
        .split(['/', ',', '，', '、', ';', '；', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    !parts.is_empty()
        && parts
            .iter()
            .all(|p| is_mobile(&digits_only(p)) || is_landline(&compact(p)))
}

/// `local@domain.tld` in ASCII, no spaces.
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_mobile("13812345678"));
        assert!(!is_mobile("12812345678"));
        assert!(!is_mobile("1381234567"));
        assert!(is_landline("0315-2830734"));
        assert!(is_landline("031528307341"));
        assert!(is_landline("010-12345678"));
        assert!(!is_landline("2830734"));
        assert!(!is_landline("0315-28307"));
        assert!(is_email("tsqsnkj@126.com"));
        assert!(!is_email("tsqsnkj126.com"));
        assert!(!is_email("张三@126.com"));
        assert!(!is_email("a@b"));
        assert!(is_phone_list("0315-2830734 / 13812345678"));
        assert!(!is_phone_list("2830734"));
    }

    #[test]
    fn problems_are_named_in_form_order() {
        let mut f = Fields::new();
        f.insert(
            "申报单位名称".into(),
            FieldValue::Text("唐山市科技馆".into()),
        );
        f.insert("联系电话".into(), FieldValue::Text("2830734".into()));
        f.insert("电子邮箱".into(), FieldValue::Text("kjg@126".into()));
        f.insert(
            "2019-2021年青少年科技教育工作情况".into(),
            FieldValue::Text("字 ".repeat(1001)),
        );
        f.insert(
            "落实“科普赋能”助推“双减”专项行动活动策划".into(),
            FieldValue::Text("字 ".repeat(1000)),
        );
        assert_eq!(
            problems(crate::call::Call::builtin().form("resource").unwrap(), &f),
            vec![
                "missing_field:申报联系人",
                "bad_format:联系电话",
                "bad_format:电子邮箱",
                "over_limit:2019-2021年青少年科技教育工作情况",
            ]
        );
    }
}
