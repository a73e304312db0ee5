//! Problem codes raised by the box and by bounded rendering, each with the Chinese label
//! and hint the office reads. Kept in this one place so they can be folded into the
//! typed problem list without hunting for string literals.

/// A scan PDF page larger than [`crate::scan::MAX_PAGE_POINTS`] on a side: not
/// rendered (a page like that is no scanned form, and rendering it would take
/// gigabytes). Detail after the colon: the page number and its size in points.
pub const PAGE_TOO_LARGE: &str = "page_too_large";

/// Every problem code of this area: (code, label, hint).
pub const PROBLEMS: &[(&str, &str, &str)] = &[(
    PAGE_TOO_LARGE,
    "扫描件页面尺寸异常（大于 A0），未处理",
    "请申报单位按 A4 纸重新扫描后发送；如确需查看，可下载原文件人工核对",
)];

/// The Chinese label of one of [`PROBLEMS`] (`kind` or `kind:detail`).
pub fn label_zh(code: &str) -> Option<&'static str> {
    let kind = code.split(':').next().unwrap_or(code);
    PROBLEMS.iter().find(|p| p.0 == kind).map(|p| p.1)
}

/// What to do about one of [`PROBLEMS`].
pub fn hint_zh(code: &str) -> Option<&'static str> {
    let kind = code.split(':').next().unwrap_or(code);
    PROBLEMS.iter().find(|p| p.0 == kind).map(|p| p.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_chinese_label_and_hint() {
        for (code, label, hint) in PROBLEMS {
            assert!(!code.contains(':') && code.is_ascii(), "{code}");
            assert!(!label.is_ascii() && !hint.is_ascii(), "{code}");
        }
        assert!(label_zh("page_too_large:1:12000x12000pt").is_some());
    }
}
