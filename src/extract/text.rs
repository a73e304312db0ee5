//! Text bodies: transfer decoding from the raw part bytes, charset decoding (declared,
//! else detected: UTF-8 → GB18030) and a small HTML-to-text rendering.

use super::codec;
use mail_parser::Encoding;

/// Undoes the Content-Transfer-Encoding of a part's raw body bytes.
pub fn transfer_decode(raw: &[u8], enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Base64 => codec::base64_lenient(raw),
        Encoding::QuotedPrintable => codec::quoted_printable(raw),
        Encoding::None => raw.to_vec(),
    }
}

/// Renders HTML as plain text: scripts and styles dropped, block ends become line
/// breaks, entities decoded, blank runs collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(rest.get(..lt).unwrap_or_default()));
        let Some(tag_and_after) = rest.get(lt..) else {
            break;
        };
        let Some(gt) = tag_and_after.find('>') else {
            rest = "";
            break;
        };
        let tag = tag_and_after.get(1..gt).unwrap_or_default();
        let tag_name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = tag_and_after.get(gt + 1..).unwrap_or_default();
        if (tag_name == "script" || tag_name == "style") && !tag.starts_with('/') {
            let close = format!("</{tag_name}");
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&close) {
                Some(p) => rest.get(p..).unwrap_or_default(),
                None => "",
            };
            continue;
        }
        if matches!(
            tag_name.as_str(),
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table" | "blockquote"
        ) {
            out.push('\n');
        } else if matches!(tag_name.as_str(), "td" | "th") {
            out.push(' ');
        }
    }
    out.push_str(&decode_entities(rest));
    // Nested blocks make many empty lines; HTML mails carry no meaningful blank lines.
    normalise_blank(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Trims each line, collapses runs of spaces and of blank lines.
pub fn normalise_blank(s: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in s.lines() {
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(collapsed);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let semi = after.find(';').filter(|&p| p <= 10);
        let decoded = semi.and_then(|p| {
            let ent = after.get(..p)?;
            let c = match ent {
                "nbsp" | "ensp" | "emsp" => ' ',
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, p))
        });
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = after.get(p + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_rendering() {
        let t = html_to_text(
            "<html><style>p{}</style><div>老师您好：</div><div>附件&nbsp;请查收&lt;1&gt;<br>谢谢</div></html>",
        );
        assert_eq!(t, "老师您好：\n附件 请查收<1>\n谢谢");
    }
}
