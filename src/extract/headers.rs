//! Header decoding from the raw bytes: unfolding, raw 8-bit (UTF-8 or GB18030) values,
//! RFC 2047 encoded words (adjacent words joined before charset decoding, so a word
//! split inside a character still decodes), RFC 2231 parameters with continuations,
//! display names, message ids and dates. mail-parser garbles several of these.

use super::codec::{self, Decoded};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use mail_parser::{Header, MessageParser};

/// The raw value bytes of a parsed header (between the colon and the line end).
pub fn raw_value<'a>(raw_message: &'a [u8], h: &Header<'_>) -> &'a [u8] {
    raw_message
        .get(h.offset_start() as usize..h.offset_end() as usize)
        .unwrap_or_default()
}

/// Removes folding line breaks and trims the ends.
pub fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &c in raw {
        if c != b'\r' && c != b'\n' {
            out.push(c);
        }
    }
    out.trim_ascii().to_vec()
}

/// One header value as text: unfolded, 8-bit bytes decoded (UTF-8, else GB18030),
/// encoded words left alone.
pub fn value_text(raw_message: &[u8], h: &Header<'_>) -> Decoded {
    codec::detect(&unfold(raw_value(raw_message, h)))
}

/// A header value as people read it: 8-bit bytes and RFC 2047 words decoded.
pub fn value_decoded(raw_message: &[u8], h: &Header<'_>) -> Decoded {
    let base = value_text(raw_message, h);
    let words = decode_words(&base.text);
    Decoded {
        text: words.text,
        lossy: base.lossy || words.lossy,
    }
}

enum Piece {
    Plain(String),
    Word { charset: String, bytes: Vec<u8> },
}

/// Parses one `=?charset?B|Q?text?=` starting at `s`; returns the piece and its length.
fn parse_word(s: &str) -> Option<(Piece, usize)> {
    let rest = s.strip_prefix("=?")?;
    let q1 = rest.find('?')?;
    let charset = rest.get(..q1)?;
    let after = rest.get(q1 + 1..)?;
    let mut chars = after.chars();
    let enc = chars.next()?.to_ascii_uppercase();
    if chars.next()? != '?' {
        return None;
    }
    let text_start = q1 + 3;
    let body = rest.get(text_start..)?;
    let end = body.find("?=")?;
    let text = body.get(..end)?;
    if text.contains(' ') && enc == 'B' {
        return None;
    }
    let bytes = match enc {
        'B' => codec::base64_lenient(text.as_bytes()),
        'Q' => codec::q_word(text.as_bytes()),
        _ => return None,
    };
    // RFC 2231 allows `charset*language` inside an encoded word.
    let charset = charset.split('*').next().unwrap_or(charset).to_string();
    Some((Piece::Word { charset, bytes }, 2 + text_start + end + 2))
}

/// Decodes RFC 2047 encoded words anywhere in `s` (also inside quotes, as many Chinese
/// clients write them). Adjacent words of one charset are joined before decoding.
pub fn decode_words(s: &str) -> Decoded {
    if !s.contains("=?") {
        return Decoded {
            text: s.to_string(),
            lossy: false,
        };
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < s.len() {
        let Some(rest) = s.get(i..) else { break };
        if rest.starts_with("=?") {
            if let Some((word, len)) = parse_word(rest) {
                if !plain.is_empty() {
                    pieces.push(Piece::Plain(std::mem::take(&mut plain)));
                }
                pieces.push(word);
                i += len;
                continue;
            }
        }
        let Some(c) = rest.chars().next() else { break };
        plain.push(c);
        i += c.len_utf8();
    }
    if !plain.is_empty() {
        pieces.push(Piece::Plain(plain));
    }
    // Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
    let mut merged: Vec<Piece> = Vec::new();
    let n = pieces.len();
    let mut it = pieces.into_iter().enumerate().peekable();
    while let Some((idx, p)) = it.next() {
        match p {
            Piece::Plain(t) => {
                let between_words = idx > 0
                    && idx + 1 < n
                    && t.trim().is_empty()
                    && matches!(merged.last(), Some(Piece::Word { .. }))
                    && matches!(it.peek(), Some((_, Piece::Word { .. })));
                if !between_words {
                    merged.push(Piece::Plain(t));
                }
            }
            Piece::Word { charset, bytes } => {
                if let Some(Piece::Word {
                    charset: prev_cs,
                    bytes: prev,
                }) = merged.last_mut()
                {
                    if prev_cs.eq_ignore_ascii_case(&charset) {
                        prev.extend_from_slice(&bytes);
                        continue;
                    }
                }
                merged.push(Piece::Word { charset, bytes });
            }
        }
    }
    let mut text = String::new();
    let mut lossy = false;
    for p in merged {
        match p {
            Piece::Plain(t) => text.push_str(&t),
            Piece::Word { charset, bytes } => {
                let d = codec::decode_declared(&bytes, Some(&charset));
                lossy |= d.lossy;
                text.push_str(&d.text);
            }
        }
    }
    Decoded { text, lossy }
}

/// A MIME header such as Content-Type split into its main value and raw parameters.
pub struct Params {
    pub value: String,
    params: Vec<(String, Vec<u8>)>,
}

/// Splits `type/sub; a=b; c="d;e"` on semicolons outside quotes, keeping raw bytes.
pub fn parse_params(raw: &[u8]) -> Params {
    let raw = unfold(raw);
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let mut in_quote = false;
    let mut escape = false;
    for &c in &raw {
        if escape {
            cur.push(c);
            escape = false;
            continue;
        }
        match c {
            b'\\' if in_quote => {
                cur.push(c);
                escape = true;
            }
            b'"' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            b';' if !in_quote => segments.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    segments.push(cur);
    let mut iter = segments.into_iter();
    let value = iter
        .next()
        .map(|v| String::from_utf8_lossy(v.trim_ascii()).to_ascii_lowercase())
        .unwrap_or_default();
    let mut params = Vec::new();
    for seg in iter {
        let seg = seg.trim_ascii();
        let Some(eq) = seg.iter().position(|&c| c == b'=') else {
            continue;
        };
        let name = String::from_utf8_lossy(seg.get(..eq).unwrap_or_default().trim_ascii())
            .to_ascii_lowercase();
        let v = seg.get(eq + 1..).unwrap_or_default().trim_ascii();
        params.push((name, unquote(v)));
    }
    Params { value, params }
}

fn unquote(v: &[u8]) -> Vec<u8> {
    let Some(inner) = v.strip_prefix(b"\"") else {
        return v.to_vec();
    };
    let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
    let mut out = Vec::with_capacity(inner.len());
    let mut escape = false;
    for &c in inner {
        if c == b'\\' && !escape {
            escape = true;
            continue;
        }
        escape = false;
        out.push(c);
    }
    out
}

impl Params {
    /// A plain parameter (first occurrence), as ASCII-ish text.
    pub fn get(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// A possibly encoded parameter such as `filename`: RFC 2231 continuations
    /// (`name*0*`, `name*1*` …, re-joined as bytes before charset decoding), RFC 2231
    /// `name*=charset''…`, plain values holding raw 8-bit bytes or RFC 2047 words.
    pub fn decoded(&self, name: &str) -> Option<Decoded> {
        let mut sections: Vec<(u32, bool, &[u8])> = Vec::new();
        let mut extended: Option<&[u8]> = None;
        let mut plain: Option<&[u8]> = None;
        let prefix = format!("{name}*");
        for (n, v) in &self.params {
            if n == name {
                plain.get_or_insert(v);
            } else if n == &prefix {
                extended.get_or_insert(v);
            } else if let Some(rest) = n.strip_prefix(&prefix) {
                let (num, ext) = match rest.strip_suffix('*') {
                    Some(num) => (num, true),
                    None => (rest, false),
                };
                if let Ok(k) = num.parse::<u32>() {
                    if !sections.iter().any(|(s, _, _)| *s == k) {
                        sections.push((k, ext, v));
                    }
                }
            }
        }
        if !sections.is_empty() {
            sections.sort_by_key(|(k, _, _)| *k);
            let mut bytes = Vec::new();
            let mut charset: Option<String> = None;
            for (pos, (k, ext, v)) in sections.into_iter().enumerate() {
                if k as usize != pos {
                    break; // a gap: later sections are not part of the value
                }
                if ext {
                    let mut v = v;
                    if k == 0 {
                        let (cs, rest) = split_charset(v);
                        charset = cs;
                        v = rest;
                    }
                    bytes.extend_from_slice(&codec::percent_decode(v));
                } else {
                    bytes.extend_from_slice(v);
                }
            }
            return Some(finish(&bytes, charset.as_deref()));
        }
        if let Some(v) = extended {
            let (cs, rest) = split_charset(v);
            return Some(finish(&codec::percent_decode(rest), cs.as_deref()));
        }
        plain.map(|v| finish(v, None))
    }
}

/// `charset'language'rest` → (charset, rest); no quotes → no charset.
fn split_charset(v: &[u8]) -> (Option<String>, &[u8]) {
    let mut parts = v.splitn(3, |&c| c == b'\'');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(cs), Some(_lang), Some(rest)) => {
            let cs = String::from_utf8_lossy(cs).into_owned();
            (if cs.is_empty() { None } else { Some(cs) }, rest)
        }
        _ => (None, v),
    }
}

fn finish(bytes: &[u8], charset: Option<&str>) -> Decoded {
    let base = codec::decode_declared(bytes, charset);
    let words = decode_words(&base.text);
    Decoded {
        text: words.text,
        lossy: base.lossy || words.lossy,
    }
}

/// The display name of the first mailbox in an address header (`"张三" <a@b>`,
/// `=?GBK?B?…?= <a@b>`, `a@b (张三)`), decoded; None when there is none.
pub fn display_name(value: &str) -> Option<String> {
    let mut in_quote = false;
    let mut escape = false;
    let mut name = String::new();
    let mut found_angle = false;
    for c in value.chars() {
        if escape {
            name.push(c);
            escape = false;
            continue;
        }
        match c {
            '\\' if in_quote => escape = true,
            '"' => in_quote = !in_quote,
            '<' if !in_quote => {
                found_angle = true;
                break;
            }
            ',' if !in_quote => break,
            _ => name.push(c),
        }
    }
    let name = if found_angle {
        name
    } else {
        // `addr (Name)` form.
        let open = value.find('(')?;
        let close = value.rfind(')')?;
        value.get(open + 1..close)?.to_string()
    };
    let name = decode_words(name.trim()).text;
    let name = name.trim().trim_matches('"').trim().to_string();
    if name.is_empty() {
        None
    } else {
        Some(name)
    }
}

/// The first address in an address header, lower-cased (`<a@b>` or a bare `a@b`).
pub fn first_address(value: &str) -> Option<String> {
    if let Some(open) = value.find('<') {
        let rest = value.get(open + 1..)?;
        let close = rest.find('>')?;
        return Some(rest.get(..close)?.trim().to_lowercase());
    }
    value
        .split([',', ' ', '\t'])
        .find(|t| t.contains('@'))
        .map(|t| {
            t.trim_matches(|c| c == '"' || c == '(' || c == ')')
                .to_lowercase()
        })
}

/// Every `<…>` token (Message-ID, In-Reply-To, References); a bare id is wrapped.
pub fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(after) = rest.get(open..) else { break };
        let Some(close) = after.find('>') else { break };
        if let Some(id) = after.get(..=close) {
            if id.len() > 2 {
                out.push(id.to_string());
            }
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if out.is_empty() {
        let t = value.trim();
        if !t.is_empty() && !t.contains(char::is_whitespace) {
            out.push(format!("<{t}>"));
        }
    }
    out
}

/// Converts mail-parser's date into chrono's, None when it is out of range.
pub fn to_chrono(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let secs = (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    let offset = FixedOffset::east_opt(secs)?;
    let naive = NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))?
        .and_hms_opt(u32::from(d.hour), u32::from(d.minute), u32::from(d.second))?;
    offset.from_local_datetime(&naive).single()
}

/// Parses free date text (e.g. the tail of a Received header) with mail-parser's
/// lenient RFC 5322 date parser.
pub fn parse_date_text(text: &str) -> Option<DateTime<FixedOffset>> {
    let mut buf = Vec::with_capacity(text.len() + 12);
    buf.extend_from_slice(b"Date: ");
    buf.extend_from_slice(text.trim().as_bytes());
    buf.extend_from_slice(b"\r\n\r\n");
    let parsed = MessageParser::new().parse_headers(&buf[..])?;
    parsed.date().and_then(to_chrono)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_inside_a_character_are_joined() {
        // "申报表" in GBK is D2 B3 B1 A8 B1 ED; split after 3 bytes.
        let s = "=?GBK?Q?=C9=EA=B1?= =?GBK?Q?=A8=B1=ED?=";
        assert_eq!(decode_words(s).text, "申报表");
    }

    #[test]
    fn big5_and_misdeclared_charsets() {
        // "申報表" in Big5: A5 D3 B3 F8 AA ED.
        assert_eq!(decode_words("=?big5?B?pdOz+Krt?=").text, "申報表");
        // Declared gb2312 but really UTF-8 (seen from webmail gateways).
        let d = decode_words("=?gb2312?B?5Lit5paH?=");
        assert_eq!(d.text, "中文");
        assert!(!d.lossy);
    }

    #[test]
    fn plain_text_between_words_is_kept() {
        let s = "Re: =?UTF-8?B?5Lit5paH?= abc";
        assert_eq!(decode_words(s).text, "Re: 中文 abc");
    }

    #[test]
    fn rfc2231_continuation_split_inside_character() {
        // 中文.doc in GBK = D6 D0 CE C4 2E 64 6F 63, split between D6 and D0.
        let p = parse_params(
            b"attachment;\r\n filename*0*=GBK''%D6; filename*1*=%D0%CE%C4; filename*2=.doc",
        );
        assert_eq!(p.value, "attachment");
        let d = p.decoded("filename").unwrap();
        assert_eq!(d.text, "中文.doc");
        assert!(!d.lossy);
    }

    #[test]
    fn quoted_encoded_word_name() {
        let p = parse_params(b"application/msword; name=\"=?gb2312?B?1tDOxC5kb2M=?=\"");
        assert_eq!(p.decoded("name").unwrap().text, "中文.doc");
    }

    #[test]
    fn display_names_and_addresses() {
        assert_eq!(
            display_name("\"张 三\" <ZS@Example.com>").as_deref(),
            Some("张 三")
        );
        assert_eq!(
            first_address("\"a, b\" <ZS@Example.com>").as_deref(),
            Some("zs@example.com")
        );
        assert_eq!(
            display_name("zs@example.com (张三)").as_deref(),
            Some("张三")
        );
        assert_eq!(display_name("zs@example.com"), None);
    }

    #[test]
    fn message_ids_keep_brackets() {
        assert_eq!(msg_ids(" <a@b> <c@d>"), vec!["<a@b>", "<c@d>"]);
        assert_eq!(msg_ids("x@y"), vec!["<x@y>"]);
    }

    #[test]
    fn date_text_parses_with_offset() {
        let d = parse_date_text("Mon, 18 Jul 2022 10:32:05 +0800 (CST)").unwrap();
        assert_eq!(d.to_rfc3339(), "2022-07-18T10:32:05+08:00");
    }
}
