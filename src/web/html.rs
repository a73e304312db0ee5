//! HTML building blocks: escaping of every applicant-supplied string and the shared
//! page frame. Pages are plain server-rendered HTML with no script at all.

use std::fmt::Write as _;

/// Escapes text for use in HTML element content and in quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value (everything but unreserved characters), for
/// links that carry filter values.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;color:#222}\
nav{background:#1f4e79;padding:.6em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none}\
main{padding:1em 1.5em}table{border-collapse:collapse;margin:.5em 0 1.2em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#eef3f8}td.n{text-align:right}.bad{color:#b00020}.ok{color:#1b6e20}\
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;padding:.6em 1em;min-width:8em}\
.card b{font-size:1.6em;display:block}pre{white-space:pre-wrap}img.scan{max-width:100%;border:1px solid #ccc}\
form.filters *{margin-right:.6em}form.inline{display:inline}\
.side{display:flex;gap:1.5em;align-items:flex-start}.side>div{flex:1;min-width:0}\
.box{border:1px solid #ccc;padding:.5em 1em;margin:.5em 0 1em;background:#fafbfc}\
a.sort{color:#1f4e79;text-decoration:none}.muted{color:#777}textarea{font:inherit}";

/// A whole page: navigation, title and body (the body is already HTML).
pub fn page(title: &str, body: &str) -> String {
    frame(title, NAV, body)
}

/// A page for someone not logged in (the login form): no navigation to pages they
/// cannot open.
pub fn page_logged_out(title: &str, body: &str) -> String {
    frame(
        title,
        "<nav><span style=\"color:#fff\">科技教育申报收件</span></nav>",
        body,
    )
}

fn frame(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · 科技教育申报收件</title><style>{STYLE}</style></head><body>\
{nav}<main><h1>{t}</h1>\n{body}</main></body></html>\n",
        t = html_escape(title)
    )
}

const NAV: &str = "<nav><a href=\"/\">概览</a><a href=\"/queue\">待处理</a><a href=\"/apps\">申报列表</a><a href=\"/missing-scan\">缺扫描件</a>\
<a href=\"/late\">逾期</a><a href=\"/messages\">全部邮件</a><a href=\"/scans\">扫描件</a>\
<a href=\"/receipts\">回执</a><a href=\"/roster\">名单</a><a href=\"/audit\">操作记录</a><a href=\"/export.xlsx\">下载Excel汇总表</a>\
<a href=\"/logout\" class=\"logout\">退出登录</a></nav>";

/// A table from a header and rows of cells that are already HTML.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| html_escape(h)).collect();
    table_html(&header, rows)
}

/// A table whose header cells are already HTML too (sortable columns are links).
pub fn table_html(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"唐山\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;唐山&quot;"
        );
    }

    #[test]
    fn url_encodes_utf8() {
        assert_eq!(url_encode("唐 a&b"), "%E5%94%90%20a%26b");
    }
}
