//! Text that came from a sender, made safe to put into a receipt: control and
//! direction-override characters and anything a mail client could turn into a link are
//! removed, and the rest shortened. Receipts never carry a sender's subject or body;
//! the few things they do repeat (an attachment's name, the unit named in the form)
//! pass through here first, so our mailbox cannot be made to deliver someone's link.

/// File extensions kept on a shortened attachment name (never taken for a domain).
const EXTENSIONS: &[&str] = &[
    "doc", "docx", "docm", "dotx", "wps", "wpt", "rtf", "odt", "xls", "xlsx", "et", "pdf", "ofd",
    "jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "heic", "webp", "zip", "rar", "7z", "txt",
    "eml",
];

/// The placeholder for a removed link.
const REMOVED: &str = "…";

/// `s` without control characters and links, at most `max_chars` characters.
pub fn clean(s: &str, max_chars: usize) -> String {
    let no_ctl: String = s
        .chars()
        .map(|c| if is_invisible(c) { ' ' } else { c })
        .collect();
    let mut out = strip_links(&no_ctl);
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&out, max_chars)
}

/// An attachment name for a receipt: cleaned, the stem shortened, the extension kept.
pub fn file_name(name: &str, max_chars: usize) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()) => (s, Some(e)),
        _ => (name, None),
    };
    let ext_len = ext.map_or(0, |e| e.chars().count() + 1);
    let stem = clean(stem, max_chars.saturating_sub(ext_len).max(4));
    let stem = if stem.is_empty() {
        "附件".into()
    } else {
        stem
    };
    match ext {
        Some(e) => format!("{stem}.{}", clean(e, 8)),
        None => stem,
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// C0/C1 controls, zero-width and bidirectional-override characters (a name could
/// otherwise read backwards, `exe.docx` shown as `xcod.exe`).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// Characters a link is made of (RFC 3986, ASCII only).
fn is_link_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'*+,;=%".contains(c)
}

/// Removes every run of link characters that a mail client could make clickable: a
/// scheme (`http://`, `mailto:`), `www.`, an address, or `name.tld` with a path or a
/// letters-only top-level label that is not a file extension. Full-width dots and
/// slashes are normalised first, since some clients link `evil。example` too.
fn strip_links(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            '。' | '．' | '｡' => '.',
            '／' => '/',
            '：' => ':',
            _ => c,
        })
        .collect();
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_link_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_link_char(chars[i]) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        if looks_like_link(&run) {
            out.push_str(REMOVED);
        } else {
            out.push_str(&run);
        }
    }
    out
}

fn looks_like_link(run: &str) -> bool {
    let l = run.to_ascii_lowercase();
    if l.contains("://") || l.starts_with("www.") || l.contains('@') {
        return true;
    }
    if let Some((scheme, _)) = l.split_once(':') {
        if matches!(
            scheme,
            "mailto" | "http" | "https" | "ftp" | "tel" | "sms" | "javascript" | "data" | "file"
        ) {
            return true;
        }
    }
    let host = l
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|x| x.is_empty()) {
        return false;
    }
    let tld = labels[labels.len() - 1];
    let tld_ok = tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    let has_path = l
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .len()
        > host.len();
    tld_ok && (has_path || !EXTENSIONS.contains(&tld))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_controls_are_removed() {
        assert_eq!(clean("领奖 http://evil.example/x 请问", 40), "领奖 … 请问");
        assert_eq!(clean("见 evil.example 或 www.x.cn", 40), "见 … 或 …");
        assert_eq!(clean("联系 a@b.example", 40), "联系 …");
        assert_eq!(clean("evil。example／x", 40), "…");
        assert_eq!(clean("见//evil.example/x", 40), "见…");
        assert_eq!(clean("唐山市\u{202E}第一中学\r\n", 40), "唐山市 第一中学");
        assert_eq!(clean("2022年 v1.2 第3.5条", 40), "2022年 v1.2 第3.5条");
    }

    #[test]
    fn file_names_keep_their_extension_and_lose_links() {
        assert_eq!(file_name("申报表.docx", 30), "申报表.docx");
        assert_eq!(
            file_name("点此领奖http://evil.example/a.docx", 30),
            "点此领奖….docx"
        );
        assert_eq!(file_name("report.pdf", 30), "report.pdf");
        let long = format!("{}.pdf", "很长的名字".repeat(20));
        let short = file_name(&long, 20);
        assert!(
            short.ends_with("….pdf") && short.chars().count() <= 20,
            "{short}"
        );
        assert_eq!(file_name("http://x.example/", 20), "…");
    }
}
