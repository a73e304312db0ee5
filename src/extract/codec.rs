//! Byte-level decoders shared by the extract stage: lenient base64 and quoted-printable,
//! percent-decoding, and charset decoding with UTF-8 → GB18030 detection for the many
//! Chinese mails that declare no charset (or the wrong one).

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Lenient base64: skips whitespace and garbage, tolerates missing padding. Mail
/// clients and truncated transfers produce all of these.
pub fn base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable body decoding (soft line breaks removed, bad escapes kept).
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c == b'=' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(&a), Some(&b)) => {
                    if let (Some(h), Some(l)) = (hex_val(a), hex_val(b)) {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// RFC 2047 "Q" words: like quoted-printable, plus `_` for a space.
pub fn q_word(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c == b'_' {
            out.push(b' ');
        } else if c == b'=' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).and_then(|&a| hex_val(a)),
                input.get(i + 2).and_then(|&b| hex_val(b)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(c);
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// RFC 2231 percent-decoding (bad escapes kept as they are).
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).and_then(|&a| hex_val(a)),
                input.get(i + 2).and_then(|&b| hex_val(b)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Result of turning bytes into text: the text, and whether some bytes could not be
/// decoded (then the text holds U+FFFD in their place).
pub struct Decoded {
    pub text: String,
    pub lossy: bool,
}

/// Bytes with no declared charset: UTF-8 when valid, else GB18030 (a superset of GBK
/// and GB2312, which is what Chinese clients send undeclared).
pub fn detect(bytes: &[u8]) -> Decoded {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: s.to_string(),
            lossy: false,
        };
    }
    if let Some(s) = GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        return Decoded {
            text: s.into_owned(),
            lossy: false,
        };
    }
    let (s, _) = GB18030.decode_without_bom_handling(bytes);
    Decoded {
        text: s.into_owned(),
        lossy: true,
    }
}

/// The encoding for a declared charset label. GB2312 and GBK labels map to GB18030:
/// senders label GBK text "gb2312" all the time, and GB18030 decodes both.
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('"').to_ascii_lowercase();
    match l.as_str() {
        "" | "us-ascii" | "ascii" | "default" | "unknown-8bit" | "x-unknown" => None,
        "gb2312" | "gbk" | "gb18030" | "x-gbk" | "cp936" | "euc-cn" | "hz-gb-2312" => Some(GB18030),
        _ => Encoding::for_label(l.as_bytes()),
    }
}

/// UTF-7 (RFC 2152), which encoding_rs does not carry and some webmail writes in
/// encoded words: `+` opens modified base64 of UTF-16BE, closed by `-` or any byte
/// outside base64; `+-` is a literal `+`. None when the bytes are not UTF-7.
pub fn decode_utf7(bytes: &[u8]) -> Option<String> {
    let b64 = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if !c.is_ascii() {
            return None;
        }
        i += 1;
        if c != b'+' {
            out.push(c as char);
            continue;
        }
        if bytes.get(i) == Some(&b'-') {
            out.push('+');
            i += 1;
            continue;
        }
        let (mut acc, mut bits, mut units) = (0u32, 0u32, Vec::new());
        while let Some(v) = bytes.get(i).and_then(|&c| b64(c)) {
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push((acc >> bits) as u16);
                acc &= (1 << bits) - 1;
            }
            i += 1;
        }
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        out.push_str(&String::from_utf16(&units).ok()?);
    }
    Some(out)
}

/// Bytes in a declared charset; a wrong or unknown declaration falls back to detection.
pub fn decode_declared(bytes: &[u8], charset: Option<&str>) -> Decoded {
    if charset.is_some_and(|c| {
        matches!(
            c.trim().trim_matches('"').to_ascii_lowercase().as_str(),
            "utf-7" | "utf7" | "unicode-1-1-utf-7"
        )
    }) {
        if let Some(text) = decode_utf7(bytes) {
            return Decoded { text, lossy: false };
        }
    }
    if let Some(enc) = charset.and_then(encoding_for) {
        if enc == UTF_8 {
            return detect(bytes);
        }
        if let Some(s) = enc.decode_without_bom_handling_and_without_replacement(bytes) {
            // GB18030 maps every unassigned two-byte code to the Private Use Area, so
            // UTF-8 mislabelled "gb2312" decodes "fine" into PUA garbage: prefer UTF-8.
            let pua = s.chars().any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c));
            if pua && enc == GB18030 {
                if let Ok(u) = std::str::from_utf8(bytes) {
                    return Decoded {
                        text: u.to_string(),
                        lossy: false,
                    };
                }
            }
            return Decoded {
                text: s.into_owned(),
                lossy: false,
            };
        }
        let d = detect(bytes);
        if !d.lossy {
            return d;
        }
        let (s, _) = enc.decode_without_bom_handling(bytes);
        return Decoded {
            text: s.into_owned(),
            lossy: true,
        };
    }
    detect(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_tolerates_missing_padding_and_newlines() {
        assert_eq!(base64_lenient(b"5Lit\r\n5paH"), "中文".as_bytes());
        assert_eq!(base64_lenient(b"YWI"), b"ab");
    }

    #[test]
    fn quoted_printable_soft_breaks() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc"), b"a=bc");
    }

    #[test]
    fn detect_prefers_utf8_then_gb18030() {
        assert_eq!(detect("申报".as_bytes()).text, "申报");
        let (gbk, _, _) = GB18030.encode("申报表");
        assert_eq!(detect(&gbk).text, "申报表");
    }

    #[test]
    fn gb2312_label_decodes_gbk_only_characters() {
        // 镕 is in GBK but not in GB2312.
        let (gbk, _, _) = GB18030.encode("朱镕");
        let d = decode_declared(&gbk, Some("gb2312"));
        assert_eq!(d.text, "朱镕");
        assert!(!d.lossy);
    }
}
