//! Chinese wording shared by every operator view that the domain's labels do not give:
//! sizes, form names and columns (from the call file). Statuses, categories, receipts
//! and problems are labelled by their enums in `crate::domain`.

use crate::model::FormKey;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_clerk_reads_them() {
        assert_eq!(size_zh(812), "812 字节");
        assert_eq!(size_zh(36_045), "35.2 KB");
        assert_eq!(size_zh(4_300_000), "4.1 MB");
    }
}
