//! MIME header parameters (`Content-Type: …; name=…`, `Content-Disposition: …;
//! filename=…`) from the raw header bytes: quoting, RFC 2231 `name*=charset''…` and
//! continuations split inside a multibyte character, raw 8-bit values and RFC 2047
//! words inside quotes, as Chinese mail clients write them.

use super::codec::{self, Decoded};
use super::headers::{decode_words, unfold};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
