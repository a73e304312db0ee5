//! Robot mail by headers alone (RFC 3834 practice): bounces, auto-replies, bulk/list
//! mail and spam-flagged mail. Checked strongest first; the reason names the header.

use crate::model::Category;

/// Decoded root headers as (name, value) pairs, in message order.
pub type HeaderList = [(String, String)];

fn get<'a>(h: &'a HeaderList, name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn reason(name: &str, value: &str) -> String {
    let v: String = value.chars().take(80).collect();
    format!("{name}: {v}")
}

/// Subject markers of vacation and auto-reply messages (Chinese and English clients).
const AUTO_SUBJECTS: [&str; 12] = [
    "自动回复",
    "自动答复",
    "自动回覆",
    "auto reply",
    "auto-reply",
    "autoreply",
    "automatic reply",
    "auto response",
    "out of office",
    "out of the office",
    "休假中",
    "正在休假",
];

/// Classifies by headers: Some((category, reason)) for robot mail.
pub fn classify(h: &HeaderList, content_type: &str, subject: &str) -> Option<(Category, String)> {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("multipart/report") && !ct.contains("disposition-notification") {
        return Some((Category::Bounce, reason("Content-Type", "multipart/report")));
    }
    if let Some(from) = get(h, "From") {
        let lower = from.to_ascii_lowercase();
        let addr = super::headers::first_address(&lower).unwrap_or(lower);
        let local = addr.split('@').next().unwrap_or_default();
        if matches!(local, "mailer-daemon" | "postmaster") {
            return Some((Category::Bounce, reason("From", &addr)));
        }
    }
    if let Some(v) = get(h, "Auto-Submitted") {
        if !v.trim().eq_ignore_ascii_case("no") {
            return Some((Category::Autoreply, reason("Auto-Submitted", v.trim())));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Reply"] {
        if let Some(v) = get(h, name) {
            return Some((Category::Autoreply, reason(name, v.trim())));
        }
    }
    let subj = subject.to_lowercase();
    let subj_marker = AUTO_SUBJECTS
        .iter()
        .find(|m| subj.contains(*m))
        .or_else(|| {
            // "休假" alone only at the start ("休假：…", "【休假】…"), not inside a sentence.
            let s = subj.trim_start_matches(['【', '[', '(', '（']);
            s.starts_with("休假").then_some(&"休假")
        });
    if let Some(m) = subj_marker {
        return Some((Category::Autoreply, reason("Subject", m)));
    }
    if get(h, "Return-Path").is_some_and(|v| v.trim() == "<>") {
        return Some((Category::Bounce, reason("Return-Path", "<>")));
    }
    if let Some(v) = get(h, "X-Spam-Flag") {
        if v.trim().eq_ignore_ascii_case("yes") {
            return Some((Category::Spam, reason("X-Spam-Flag", v.trim())));
        }
    }
    if let Some(v) = get(h, "X-Spam-Status") {
        if v.trim().to_ascii_lowercase().starts_with("yes") {
            return Some((Category::Spam, reason("X-Spam-Status", "Yes")));
        }
    }
    if let Some(v) = get(h, "Precedence") {
        let p = v.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "list" | "junk") {
            return Some((Category::Bulk, reason("Precedence", &p)));
        }
    }
    if let Some((n, v)) = h
        .iter()
        .find(|(n, _)| n.to_ascii_lowercase().starts_with("list-"))
    {
        return Some((Category::Bulk, reason(n, v.trim())));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn order_and_reasons() {
        let h = hs(&[
            ("From", "MAILER-DAEMON@mx.example"),
            ("Auto-Submitted", "auto-replied"),
        ]);
        let (c, r) = classify(&h, "text/plain", "x").unwrap();
        assert_eq!(
            (c, r.as_str()),
            (Category::Bounce, "From: mailer-daemon@mx.example")
        );
        let h = hs(&[("Auto-Submitted", "no"), ("List-Id", "<a.b>")]);
        assert_eq!(classify(&h, "text/plain", "x").unwrap().0, Category::Bulk);
        assert_eq!(
            classify(&[], "text/plain", "自动回复：申报").unwrap().1,
            "Subject: 自动回复"
        );
        assert!(classify(&[], "text/plain", "关于休假期间的申报").is_none());
        assert_eq!(
            classify(&hs(&[("X-Spam-Status", "Yes, score=9")]), "text/plain", "")
                .unwrap()
                .0,
            Category::Spam
        );
    }
}
