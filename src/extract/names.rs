//! Attachment and archive-member names: they are metadata only (never used as paths),
//! so the sender's text is kept; control characters are made visible and hostile
//! shapes (path traversal, absolute paths, over-long names) are flagged `unsafe_name`.

/// Longest name a file system takes; longer names are flagged, not cut.
const MAX_NAME_BYTES: usize = 255;
/// Hard cap so a hostile header cannot make a megabyte "name".
const KEEP_BYTES: usize = 1024;

/// A display name and whether its original shape was unsafe.
pub struct CleanName {
    pub name: String,
    pub unsafe_name: bool,
}

fn is_hidden_control(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides disguise extensions (`申报表\u{202E}xcod.exe`).
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Cleans a decoded name for display: control characters become U+FFFD, surrounding
/// blanks go; the text is otherwise the sender's.
pub fn clean(decoded: &str) -> CleanName {
    let mut unsafe_name = false;
    let mut name = String::with_capacity(decoded.len().min(KEEP_BYTES));
    for c in decoded.trim().chars() {
        if name.len() + c.len_utf8() > KEEP_BYTES {
            unsafe_name = true;
            break;
        }
        if is_hidden_control(c) {
            unsafe_name = true;
            name.push('\u{FFFD}');
        } else {
            name.push(c);
        }
    }
    if decoded.trim().len() > MAX_NAME_BYTES || is_path_like(&name) {
        unsafe_name = true;
    }
    CleanName { name, unsafe_name }
}

/// Absolute paths, drive letters, UNC paths and `..` components.
fn is_path_like(name: &str) -> bool {
    if name.starts_with('/') || name.starts_with('\\') {
        return true;
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b.get(1) == Some(&b':') && b.first().is_some_and(u8::is_ascii_alphabetic) {
        return true;
    }
    name.split(['/', '\\']).any(|part| part.trim() == "..")
}

/// Lower-cased extension of a name, without the dot.
pub fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 8 => {
            ext.trim().to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_kept_but_flagged() {
        let c = clean("../../etc/passwd");
        assert_eq!(c.name, "../../etc/passwd");
        assert!(c.unsafe_name);
        assert!(clean("C:\\Users\\a\\申报表.doc").unsafe_name);
        assert!(!clean("材料/附件2.docx").unsafe_name);
        assert!(!clean("a..b.docx").unsafe_name);
    }

    #[test]
    fn control_characters_become_visible() {
        let c = clean("申报\u{7}表.docx");
        assert_eq!(c.name, "申报\u{FFFD}表.docx");
        assert!(c.unsafe_name);
    }

    #[test]
    fn long_names_are_flagged_not_cut() {
        let long = "长".repeat(100); // 300 bytes
        let c = clean(&long);
        assert_eq!(c.name, long);
        assert!(c.unsafe_name);
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("附件1.DOCX"), "docx");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("dir.v2/readme"), "");
    }
}
