//! Header decoding from the raw bytes: unfolding, raw 8-bit (UTF-8 or GB18030) values,
//! RFC 2047 encoded words (adjacent words joined before charset decoding, so a word
//! split inside a character still decodes), display names, message ids and dates.
//! mail-parser garbles several of these.

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
    let raw = q_words_8bit_escaped(&unfold(raw_value(raw_message, h)));
    let base = codec::detect(&raw);
    let words = decode_words(&base.text);
    Decoded {
        text: words.text,
        lossy: base.lossy || words.lossy,
    }
}

/// Raw 8-bit bytes written inside Q encoded words (`=?iso-8859-1?Q?Fr\xF6sche?=`, as
/// some clients send them) are bytes of the word's charset: they are written as `=XX`
/// here, so the word is decoded once, in its charset, not first as GB18030 text.
fn q_words_8bit_escaped(raw: &[u8]) -> Vec<u8> {
    if raw.is_ascii() || std::str::from_utf8(raw).is_ok() {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        if let Some(len) = q_word_len(&raw[i..]) {
            let (head, body_end) = len;
            out.extend_from_slice(&raw[i..i + head]);
            for &b in &raw[i + head..i + body_end] {
                if b >= 0x80 {
                    out.extend_from_slice(format!("={b:02X}").as_bytes());
                } else {
                    out.push(b);
                }
            }
            i += body_end;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// For a Q encoded word at the start of `s`: (length of `=?charset?Q?`, offset of its
/// closing `?=`). Charsets are ASCII tokens of at most 64 bytes.
fn q_word_len(s: &[u8]) -> Option<(usize, usize)> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = rest.iter().take(64).position(|&b| b == b'?')?;
    if !rest[..q1].iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if !matches!(enc, b'Q' | b'q') || rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let head = 2 + q1 + 3;
    let end = s[head..].windows(2).take(1000).position(|w| w == b"?=")?;
    Some((head, head + end))
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
    // Shielded like every mail-parser call (see `mime::parse_message`).
    std::panic::catch_unwind(|| {
        let parsed = MessageParser::new().parse_headers(&buf[..])?;
        parsed.date().and_then(to_chrono)
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_8bit_bytes_in_q_words_are_decoded_once() {
        let raw = b"=?iso-8859-1?Q?Fr\xF6sche?= im Teich";
        let d = codec::detect(&q_words_8bit_escaped(raw));
        assert_eq!(decode_words(&d.text).text, "Fr\u{f6}sche im Teich");
        // Plain 8-bit text outside words is still GBK.
        let gbk = b"\xC9\xEA\xB1\xA8 =?utf-8?Q?=E8=A1=A8?=";
        let d = codec::detect(&q_words_8bit_escaped(gbk));
        assert_eq!(decode_words(&d.text).text, "申报 表");
    }

    #[test]
    fn utf7_words_are_decoded() {
        assert_eq!(
            decode_words("=?utf-7?Q?+dTNipYho-?=").text,
            "\u{7533}\u{62a5}\u{8868}"
        );
        assert_eq!(decode_words("=?UTF-7?B?K2RUTmlwWWhvLQ==?=").text, "申报表");
    }

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
