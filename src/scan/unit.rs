//! Who a scan is from when no electronic form says it: the applicant the page names
//! (the value OCR read beside the form's applicant label), checked against what the
//! mail names — the sender's display name, the subject, the body and the file names —
//! whose spelling wins (typed, not recognised). A scan whose electronic version could
//! not be read (encrypted, corrupt) is then still the application of that unit.

use super::fuzzy::{approx_find, compact};
use crate::call::Call;
use crate::model::FormKey;

/// Endings of unit names in a mail's words (a school, a bureau, an association).
const UNIT_ENDINGS: &[&str] = &[
    "中学",
    "小学",
    "学校",
    "学院",
    "大学",
    "幼儿园",
    "教育局",
    "科学技术协会",
    "科协",
    "科技馆",
    "科学技术馆",
    "活动中心",
    "中心",
    "协会",
];

/// Words of subjects and file names that are not part of a name.
const NOT_NAME: &[&str] = &[
    "扫描件",
    "扫描",
    "盖章件",
    "盖章",
    "电子版",
    "申报材料",
    "材料",
    "申报表",
    "推荐表",
    "申报",
    "推荐",
    "附件",
    "的",
    "请查收",
    "试点学校",
    "试点县区",
];

/// The applicant a scan of `form` names: the page's value confirmed by the mail (in
/// the mail's spelling), else a unit name the mail gives, else the page's value alone.
pub fn named_applicant(
    call: &Call,
    form: Option<FormKey>,
    ocr_text: Option<&str>,
    mail: &[&str],
) -> Option<String> {
    let page = form
        .zip(ocr_text)
        .and_then(|(f, t)| value_on_page(call, f, t));
    if let Some(v) = &page {
        if let Some(m) = mail.iter().find_map(|t| spelled_in(v, t)) {
            return Some(m);
        }
    }
    // A name shaped like a unit's first (the roster's units are districts; a school
    // in one contains the district's name), then the roster's longest name.
    let shaped = || mail.iter().find_map(|t| unit_in(call, t));
    let listed = || {
        mail.iter().find_map(|t| {
            call.roster
                .iter()
                .flat_map(|r| std::iter::once(&r.unit).chain(&r.aliases))
                .filter(|n| n.chars().count() >= 3 && t.contains(n.as_str()))
                .max_by_key(|n| n.chars().count())
                .cloned()
        })
    };
    shaped().or_else(listed).or(page)
}

/// The value beside the applicant field's label on an OCR'd page (`申报学校唐山市第
/// 一中学` → `唐山市第一中学`), cut at the next label.
pub fn value_on_page(call: &Call, form: FormKey, text: &str) -> Option<String> {
    let def = call.forms.iter().find(|f| f.key == form)?;
    let field = def.fields.iter().find(|f| f.applicant)?;
    let labels: Vec<String> = def
        .fields
        .iter()
        .flat_map(|f| f.labels.iter())
        .map(|l| compact(l).into_iter().collect())
        .collect();
    for line in text.lines() {
        let line: String = compact(line).into_iter().collect();
        for label in &field.labels {
            let label: String = compact(label).into_iter().collect();
            let Some(at) = line.find(&label) else {
                continue;
            };
            let mut rest = &line[at + label.len()..];
            for other in &labels {
                if let Some(cut) = rest.find(other.as_str()).filter(|&c| c > 0) {
                    rest = &rest[..cut];
                }
            }
            let value: String = rest
                .chars()
                .skip_while(|c| !is_han(*c))
                .take_while(|c| is_han(*c) || matches!(c, '（' | '）' | '(' | ')'))
                .collect();
            if value.chars().filter(|c| is_han(*c)).count() >= 2 {
                return Some(value);
            }
        }
    }
    None
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// `value` as `text` spells it: the window of `text` closest to it, at most one wrong
/// character in five (OCR's), None when it is not there.
fn spelled_in(value: &str, text: &str) -> Option<String> {
    let v = compact(value);
    let t = compact(text);
    let allowed = v.len() / 5;
    if v.len() < 2 || approx_find(&v, &t) > allowed {
        return None;
    }
    let mut best: Option<(usize, &[char])> = None;
    for len in v.len().saturating_sub(1).max(2)..=v.len() + 1 {
        for w in t.windows(len) {
            let d = approx_find(w, &v).max(approx_find(&v, w));
            // Equally close: the window as long as the value wins (a misread
            // character, not a dropped one).
            let off = |x: &[char]| x.len().abs_diff(v.len());
            if best.is_none_or(|(b, bw)| d < b || (d == b && off(w) < off(bw))) {
                best = Some((d, w));
            }
        }
    }
    best.filter(|(d, _)| *d <= allowed)
        .map(|(_, w)| w.iter().collect())
}

/// A unit name in a mail's words: the longest run of Chinese characters ending like a
/// unit (`唐山市第十一中学`), without the form titles and the words every mail uses.
fn unit_in(call: &Call, text: &str) -> Option<String> {
    let mut t = text.to_string();
    let mut titles: Vec<&str> = call
        .forms
        .iter()
        .flat_map(|f| f.titles.iter().map(String::as_str))
        .collect();
    titles.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
    for w in titles.into_iter().chain(NOT_NAME.iter().copied()) {
        t = t.replace(w, " ");
    }
    t.split(|c: char| !is_han(c))
        .filter_map(|run| {
            UNIT_ENDINGS
                .iter()
                .filter_map(|e| run.rfind(e).map(|i| &run[..i + e.len()]))
                .max_by_key(|s| s.len())
        })
        .filter(|s| s.chars().count() >= 4)
        .max_by_key(|s| s.chars().count())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school() -> FormKey {
        FormKey::parse("pilot_school").unwrap()
    }

    #[test]
    fn page_value_in_the_mails_spelling() {
        let c = Call::builtin();
        let ocr = "附件4\n唐山市科技教育试点学校申报表\n申报学校|唐山市第十一中芋\n通讯地址唐山市";
        let mail = ["唐山市第十一中学", "试点学校申报材料"];
        assert_eq!(
            named_applicant(c, Some(school()), Some(ocr), &mail).as_deref(),
            Some("唐山市第十一中学")
        );
        // No mail words: the page's own value.
        assert_eq!(
            named_applicant(c, Some(school()), Some(ocr), &[]).as_deref(),
            Some("唐山市第十一中芋")
        );
    }

    #[test]
    fn unit_from_the_mail_alone() {
        let c = Call::builtin();
        let mail = [
            "",
            "迁安市第二中学试点学校申报材料（电子版有密码）",
            "附件4_迁安市第二中学_盖章.jpg",
        ];
        assert_eq!(
            named_applicant(c, Some(school()), None, &mail).as_deref(),
            Some("迁安市第二中学")
        );
        assert_eq!(
            named_applicant(c, None, None, &["申报材料", "扫描件.jpg"]),
            None
        );
    }
}
