//! NetEase (163/126/yeah) "超大附件" cloud attachments: the file is not in the mail, only
//! a download link in the HTML body with its name, size and an expiry date. Each link
//! becomes a `cloud_link` document so the office can fetch it before it expires.

use super::text::html_to_text;

/// One cloud attachment found in an HTML body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CloudLink {
    pub name: String,
    pub url: String,
    /// As written, e.g. "52.36M".
    pub size_text: Option<String>,
    /// Expiry as YYYY-MM-DD when the mail gives a date.
    pub expires: Option<String>,
}

fn is_cloud_url(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    let netease = ["163.com", "126.com", "yeah.net", "188.com"]
        .iter()
        .any(|h| u.contains(h));
    netease && (u.contains("large-attachment") || u.contains("bigattach") || u.contains("/fj/"))
}

struct Anchor {
    url: String,
    text: String,
    start: usize,
    end: usize,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower.get(from..)?.find(name) {
        let at = from + p;
        from = at + name.len();
        let before_ok = at == 0
            || lower
                .as_bytes()
                .get(at - 1)
                .is_some_and(|c| c.is_ascii_whitespace());
        let rest = tag.get(at + name.len()..)?.trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        if !before_ok {
            continue;
        }
        let rest = rest.trim_start();
        let v = if let Some(r) = rest.strip_prefix('"') {
            r.split('"').next()?
        } else if let Some(r) = rest.strip_prefix('\'') {
            r.split('\'').next()?
        } else {
            rest.split([' ', '>']).next()?
        };
        return Some(v.replace("&amp;", "&"));
    }
    None
}

fn anchors(html: &str) -> Vec<Anchor> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower.get(from..).and_then(|s| s.find("<a")) {
        let start = from + p;
        let Some(tag_end) = lower.get(start..).and_then(|s| s.find('>')) else {
            break;
        };
        let tag = html.get(start..start + tag_end).unwrap_or_default();
        let body_start = start + tag_end + 1;
        let Some(close) = lower.get(body_start..).and_then(|s| s.find("</a")) else {
            break;
        };
        let end = body_start + close;
        if let Some(url) = attr(tag, "href") {
            let text = html_to_text(html.get(body_start..end).unwrap_or_default());
            out.push(Anchor {
                url,
                text: text.trim().to_string(),
                start,
                end,
            });
        }
        from = end;
    }
    out
}

fn looks_like_file_name(t: &str) -> bool {
    !t.is_empty()
        && t.chars().count() <= 255
        && !t.contains('\n')
        && !super::names::extension(t).is_empty()
}

/// Every cloud attachment in an HTML body, in order, one per file name.
pub fn find(html: &str) -> Vec<CloudLink> {
    let all: Vec<Anchor> = anchors(html)
        .into_iter()
        .filter(|a| is_cloud_url(&a.url))
        .collect();
    let files: Vec<&Anchor> = all
        .iter()
        .filter(|a| looks_like_file_name(&a.text))
        .collect();
    let mut out: Vec<CloudLink> = Vec::new();
    for (i, a) in files.iter().enumerate() {
        if out.iter().any(|c| c.name == a.text) {
            continue;
        }
        let ctx_end = files
            .get(i + 1)
            .map(|n| n.start)
            .unwrap_or_else(|| (a.end + 1500).min(html.len()));
        let mut e = ctx_end.max(a.end);
        while !html.is_char_boundary(e) {
            e -= 1;
        }
        let ctx_html = html.get(a.end..e).unwrap_or_default();
        let ctx = html_to_text(ctx_html);
        out.push(CloudLink {
            name: a.text.clone(),
            url: a.url.clone(),
            size_text: find_size(&ctx),
            expires: find_expiry(&ctx),
        });
    }
    out
}

fn find_size(ctx: &str) -> Option<String> {
    let chars: Vec<char> = ctx.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                i += 1;
            }
            let num_end = i;
            while chars.get(i) == Some(&' ') {
                i += 1;
            }
            let unit_start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                i += 1;
            }
            let unit: String = chars.get(unit_start..i)?.iter().collect();
            if matches!(
                unit.to_ascii_uppercase().as_str(),
                "K" | "KB" | "M" | "MB" | "G" | "GB"
            ) {
                let num: String = chars.get(start..num_end)?.iter().collect();
                return Some(format!("{num}{unit}"));
            }
        }
        i += 1;
    }
    None
}

/// The first date after an expiry word ("到期", "有效期至", "过期"), or the date the
/// context gives just before "到期" ("2022年8月5日 10:31 到期").
fn find_expiry(ctx: &str) -> Option<String> {
    let has_word = ["到期", "有效期", "过期", "expire"]
        .iter()
        .any(|w| ctx.contains(w));
    if !has_word {
        return None;
    }
    let nums: Vec<(usize, u32, char)> = numbers(ctx);
    for w in nums.windows(3) {
        let [(_, y, s1), (_, m, s2), (_, d, _)] = w else {
            continue;
        };
        let ok_sep = (*s1 == '年' && *s2 == '月') || (*s1 == *s2 && matches!(*s1, '-' | '/' | '.'));
        if ok_sep && (2000..2100).contains(y) && (1..=12).contains(m) && (1..=31).contains(d) {
            return Some(format!("{y:04}-{m:02}-{d:02}"));
        }
    }
    None
}

/// Runs of digits with their value and the character right after them.
fn numbers(s: &str) -> Vec<(usize, u32, char)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, u32)> = None;
    for (i, c) in s.char_indices() {
        if let Some(d) = c.to_digit(10) {
            let (start, v) = cur.unwrap_or((i, 0));
            cur = Some((start, v.saturating_mul(10).saturating_add(d)));
        } else if let Some((start, v)) = cur.take() {
            out.push((start, v, c));
        }
    }
    if let Some((start, v)) = cur {
        out.push((start, v, ' '));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netease_block() {
        let html = r#"<div>从网易163邮箱发来的超大附件</div>
<a href="https://mail.163.com/large-attachment-download/index.html?p=AB&amp;file=1"><img src="x.gif"></a>
<a href="https://mail.163.com/large-attachment-download/index.html?p=AB&amp;file=1">申报材料.zip</a>
<span>(52.36M, 2022年8月5日 10:31 到期)</span>
<a href="https://mail.163.com/large-attachment-download/index.html?p=AB&amp;file=1">下载</a>
<a href="https://mail.126.com/large-attachment-download/index.html?p=CD">扫描件.pdf</a>
<span>(3.1M, 有效期至2022-08-06)</span>"#;
        let links = find(html);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].name, "申报材料.zip");
        assert_eq!(links[0].size_text.as_deref(), Some("52.36M"));
        assert_eq!(links[0].expires.as_deref(), Some("2022-08-05"));
        assert!(links[0].url.contains("p=AB&file=1"));
        assert_eq!(links[1].expires.as_deref(), Some("2022-08-06"));
    }

    #[test]
    fn ordinary_links_are_not_cloud() {
        assert!(find(r#"<a href="https://www.163.com/news">新闻.html</a>"#).is_empty());
    }
}
