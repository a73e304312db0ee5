//! Opinion dates: the date a signer wrote at the end of an opinion (`同意申报。\n2022年7月10日`)
//! moves to the opinion's `…日期` key.

use super::fold;
use crate::call::FormDef;
use crate::model::{FieldValue, Fields};

/// Moves the date a signer wrote at the end of an opinion (`同意申报。\n2022年7月10日`)
/// to the opinion's `…日期` key, as written; the opinion keeps its text only.
/// Which fields are opinions with a date is the call's (`date_key` on the opinion).
pub fn split_opinion_dates(form: &FormDef, fields: &mut Fields) {
    for s in &form.fields {
        let Some(date_key) = s.date_key.as_deref() else {
            continue;
        };
        let Some(FieldValue::Text(text)) = fields.get(&s.key) else {
            continue;
        };
        let (rest, date) = split_trailing_date(text);
        let rest = rest.to_string();
        if !date.is_empty() {
            fields.insert(s.key.clone(), FieldValue::Text(rest));
        }
        let keep = fields.get(date_key).is_some_and(|v| !v.is_empty());
        if !keep {
            fields.insert(date_key.to_string(), FieldValue::Text(date));
        }
    }
}

/// `(text before, date)` when `text` ends with a date (`2022年7月4日`, `2022.7.4`,
/// `2022-07-04`, `2022/7/4`, spaces allowed inside); `(text, "")` otherwise. The date
/// is returned with its inner spaces removed, as the signer wrote it.
pub(super) fn split_trailing_date(text: &str) -> (&str, String) {
    let allowed =
        |c: char| c.is_ascii_digit() || "年月日.-/ \t\n　".contains(c) || fold(c).is_ascii_digit();
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| allowed(*c))
        .last()
        .map_or(text.len(), |(i, _)| i);
    let tail: String = text[start..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fold)
        .collect();
    // The run may have swallowed digits of the opinion ("第3条 2022年…"): the date
    // starts at its first four-digit year.
    let Some(year_at) = tail
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| is_date(&tail[i..]))
    else {
        return (text, String::new());
    };
    let date = tail[year_at..].to_string();
    // Cut the original text where the date's first character is.
    let mut seen = 0;
    let mut cut = start;
    for (i, c) in text[start..].char_indices() {
        if c.is_whitespace() {
            continue;
        }
        if seen == year_at {
            cut = start + i;
            break;
        }
        seen += fold(c).len_utf8();
    }
    (text[..cut].trim_end(), date)
}

/// `YYYY年M月D日` or `YYYY.M.D` / `YYYY-M-D` / `YYYY/M/D` (ASCII digits).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let rest = &s[4..];
    let parts: Vec<&str> = if let Some(r) = rest.strip_prefix('年') {
        let Some(r) = r.strip_suffix('日') else {
            return false;
        };
        r.split('月').collect()
    } else {
        let sep = rest.chars().next().unwrap_or(' ');
        if !matches!(sep, '.' | '-' | '/') {
            return false;
        }
        rest[1..].split(sep).collect()
    };
    parts.len() == 2
        && parts
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
}
