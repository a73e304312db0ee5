//! Chinese labels shared by every operator view: statuses, categories, receipts, form
//! names and columns (from the call file), and the wording of problem codes.

use crate::model::FormKey;

/// Application statuses in the order the office reads them.
pub const STATUSES: [&str; 5] = [
    "complete",
    "missing_scan",
    "missing_electronic",
    "unstamped_scan",
    "invalid",
];

/// Receipt statuses of the contract, in display order.
pub const RECEIPT_STATUSES: [&str; 7] = [
    "sent",
    "pending",
    "failed",
    "suppressed",
    "none",
    "held",
    "previewed",
];

/// Chinese label of an application status; an unknown code is shown as it is.
pub fn status_zh(status: &str) -> &str {
    match status {
        "complete" => "齐全",
        "missing_scan" => "缺盖章扫描件",
        "missing_electronic" => "缺电子版",
        "unstamped_scan" => "扫描件未见公章",
        "invalid" => "内容有误",
        other => other,
    }
}

/// Chinese label of a mail category; `None` is mail still waiting to be processed.
pub fn category_zh(category: Option<&str>) -> &str {
    match category {
        None => "待处理",
        Some("submission") => "申报材料",
        Some("question") => "咨询",
        Some("autoreply") => "自动回复",
        Some("bounce") => "退信",
        Some("bulk") => "群发邮件",
        Some("spam") => "垃圾邮件",
        Some("other") => "其他",
        Some(other) => other,
    }
}

/// Chinese label of a receipt status.
pub fn receipt_zh(status: &str) -> &str {
    match status {
        "none" => "无",
        other => crate::receipts::ReceiptStatus::parse(other).map_or(other, |s| s.label_zh()),
    }
}

/// Chinese label of a document kind.
pub fn kind_zh(kind: &str) -> &str {
    match kind {
        "electronic" => "电子版",
        "scan" => "扫描件",
        "archive" => "压缩包",
        "cloud_link" => "超大附件链接",
        _ => "其他",
    }
}

/// A size as a clerk reads it: `812 字节`, `35.2 KB`, `4.1 MB` (1 KB = 1024 bytes).
pub fn size_zh(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} 字节")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}

/// Sheet (and CSV file) name of a form: its `short` name in the call file.
pub fn form_short_zh(form: FormKey) -> &'static str {
    form.def().map_or(form.as_str(), |f| f.short.as_str())
}

/// Short Chinese name of a form given by its machine name (unknown names as they are).
pub fn form_name_zh(form: &str) -> &str {
    FormKey::parse(form).map(form_short_zh).unwrap_or(form)
}

/// The canonical field keys of a form, in the order of the call file (`forms.md`).
pub fn form_keys(form: FormKey) -> Vec<&'static str> {
    form.def().map(|f| f.keys().collect()).unwrap_or_default()
}

/// The `max_chars` of a field key in the call's forms.
fn max_chars(key: &str) -> Option<usize> {
    crate::call::current()
        .forms
        .iter()
        .flat_map(|f| &f.fields)
        .find(|s| s.key == key)
        .and_then(|s| s.max_chars)
}

/// Chinese wording of a problem code (`kind` or `kind:detail…`). Unknown codes are
/// returned unchanged so nothing recorded is ever hidden from the office.
pub fn problem_zh(code: &str) -> String {
    let (kind, detail) = match code.split_once(':') {
        Some((k, d)) => (k, Some(d)),
        None => (code, None),
    };
    match (kind, detail) {
        ("missing_field", Some(k)) => format!("必填项为空：{k}"),
        ("over_limit", Some(k)) => match max_chars(k) {
            Some(n) => format!("超过{n}字：{k}"),
            None => format!("超过字数上限：{k}"),
        },
        ("bad_format", Some(k)) => format!("格式有误：{k}"),
        ("cloud_attachment", Some(d)) => match split_cloud(d) {
            (name, Some(date)) => format!("超大附件需在{date}前下载：{name}"),
            (name, None) => format!("超大附件需在网页邮箱中下载：{name}"),
        },
        ("cloud_attachment", None) => "含超大附件，需在网页邮箱中下载".into(),
        ("missing_scan", _) => "缺盖章扫描件".into(),
        ("unstamped_scan", _) => "扫描件未见公章".into(),
        ("missing_electronic", _) => "缺电子版".into(),
        ("late", _) => "逾期（截止时间后收到）".into(),
        ("corrupt_attachment", _) => "附件已损坏，无法打开".into(),
        ("encrypted_attachment", _) => "附件有密码，无法打开".into(),
        ("needs_conversion", _) => "需转换格式后才能读取".into(),
        ("unsupported_archive", _) => "不支持的压缩包格式".into(),
        ("zip_bomb", _) => "压缩包解压后过大，已拒绝".into(),
        ("unsafe_name", _) => "附件文件名不安全，已改名".into(),
        ("over_size", _) => "附件超过大小上限".into(),
        ("received_time_estimated", _) => "收到时间为估计值".into(),
        ("processing_failed", _) => "自动处理失败，需人工查看".into(),
        ("unknown_form", _) => "未识别为申报表".into(),
        ("seal_unknown", _) => "无法判断是否盖章（黑白或传真扫描）".into(),
        ("duplicate", _) => "重复提交".into(),
        ("superseded", _) => "已被新版本替代".into(),
        ("no_attachment", _) => "邮件无附件".into(),
        _ => crate::domain::problem::label_zh(code),
    }
}

/// A problem as the office reads it in sheets: Chinese words with the code kept in
/// parentheses, so a question about a row can be traced to the record.
pub fn problem_cell(code: &str) -> String {
    let zh = problem_zh(code);
    if zh == code {
        zh
    } else {
        format!("{zh}（{code}）")
    }
}

/// Splits the detail of `cloud_attachment:<name>:<date>` into name and date. The date
/// may itself contain `:` (a time), so it is found as the last `:` followed by a year.
pub fn split_cloud(detail: &str) -> (&str, Option<&str>) {
    let bytes = detail.as_bytes();
    let mut found = None;
    for (i, _) in detail.match_indices(':') {
        let rest = &bytes[i + 1..];
        if rest.len() >= 5 && rest[..4].iter().all(u8::is_ascii_digit) && rest[4] == b'-' {
            found = Some(i);
        }
    }
    match found.or_else(|| detail.rfind(':')) {
        Some(i) => (&detail[..i], Some(&detail[i + 1..])),
        None => (detail, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_codes_read_in_chinese() {
        assert_eq!(problem_zh("missing_field:姓名"), "必填项为空：姓名");
        assert_eq!(
            problem_zh("cloud_attachment:申报表.zip:2022-08-01T10:00:00+08:00"),
            "超大附件需在2022-08-01T10:00:00+08:00前下载：申报表.zip"
        );
        assert_eq!(problem_cell("late"), "逾期（截止时间后收到）（late）");
        assert_eq!(problem_cell("something_new"), "something_new");
        assert_eq!(size_zh(812), "812 字节");
        assert_eq!(size_zh(36_045), "35.2 KB");
        assert_eq!(size_zh(4_300_000), "4.1 MB");
    }
}
