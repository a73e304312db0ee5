//! Whether the sender of a mail is who its `From:` says, as far as the receiving server
//! told us: the `Authentication-Results:` header (RFC 8601) that our own server added.
//!
//! Anyone can write such a header into a mail before sending it, so only headers whose
//! authserv-id is the configured `[receipts] authserv_id` count, and of those only the
//! topmost (the one our server prepended last; a forged one sits below it). With no
//! trusted header, or no `authserv_id` configured, nothing is known and the receipt
//! policy falls back to answering `From:` unverified (we do not verify DKIM ourselves:
//! that needs DNS, which the service does not assume; `check` says which mode applies).
//! Pure: header values in, a verdict out.

/// What the trusted header says about the `From:` domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVerdict {
    /// No trusted header (none present, all from other servers, or no `authserv_id`).
    Unverified,
    /// The trusted header has no pass or fail that concerns the From domain.
    NoResult,
    /// DMARC passed, or SPF/DKIM passed aligned with the From domain and nothing failed.
    Passed(String),
    /// SPF, DKIM or DMARC failed for the From domain: the receipt is held.
    Failed(String),
}

/// Judges `headers` (the `Authentication-Results:` values, topmost first) for a mail
/// whose `From:` address is `from`. `authserv_id` empty = trust no header.
pub fn evaluate(headers: &[String], authserv_id: &str, from: Option<&str>) -> AuthVerdict {
    let want = authserv_id.trim();
    if want.is_empty() {
        return AuthVerdict::Unverified;
    }
    let Some(results) = headers
        .iter()
        .map(|h| parse(h))
        .find(|p| p.authserv_id.eq_ignore_ascii_case(want))
    else {
        return AuthVerdict::Unverified;
    };
    let from_domain = from
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.trim().trim_end_matches('>').to_ascii_lowercase())
        .unwrap_or_default();
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    for r in &results.methods {
        if !matches!(r.method.as_str(), "spf" | "dkim" | "dmarc") {
            continue;
        }
        let domain = match r.method.as_str() {
            "dmarc" => r.prop("header.from"),
            "dkim" => r.prop("header.d").or_else(|| r.prop("header.i")),
            _ => r.prop("smtp.mailfrom").or_else(|| r.prop("smtp.helo")),
        }
        .map(domain_of);
        // A result that names no domain is taken to speak of the From domain.
        let concerns_from = domain
            .as_deref()
            .is_none_or(|d| from_domain.is_empty() || aligned(d, &from_domain));
        if !concerns_from {
            continue;
        }
        let text = format!("{}={}", r.method, r.result);
        match r.result.as_str() {
            "pass" if r.method == "dmarc" => return AuthVerdict::Passed(text),
            "pass" => passed.push(text),
            "fail" | "softfail" => failed.push(text),
            _ => {}
        }
    }
    if !failed.is_empty() {
        AuthVerdict::Failed(failed.join(" "))
    } else if !passed.is_empty() {
        AuthVerdict::Passed(passed.join(" "))
    } else {
        AuthVerdict::NoResult
    }
}

/// One parsed header: its authserv-id and its method results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResults {
    pub authserv_id: String,
    pub methods: Vec<MethodResult>,
}

/// `method=result ptype.property=value …`, lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodResult {
    pub method: String,
    pub result: String,
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one header value (comments dropped, unknown syntax skipped, never fails).
pub fn parse(value: &str) -> AuthResults {
    let text = strip_comments(value);
    let mut parts = text.split(';');
    let authserv_id = parts
        .next()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut methods = Vec::new();
    for part in parts {
        let mut tokens = part.split_whitespace();
        let Some((m, res)) = tokens.next().and_then(|t| t.split_once('=')) else {
            continue;
        };
        let method = m.split('/').next().unwrap_or(m).to_ascii_lowercase();
        let props = tokens
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        methods.push(MethodResult {
            method,
            result: res.to_ascii_lowercase(),
            props,
        });
    }
    AuthResults {
        authserv_id,
        methods,
    }
}

/// RFC 5322 comments `( … )`, nested, removed.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `user@dom.example` or `dom.example` → `dom.example`.
fn domain_of(v: &str) -> String {
    v.rsplit_once('@')
        .map_or(v, |(_, d)| d)
        .trim_matches(['<', '>', '.'])
        .to_string()
}

/// Relaxed alignment: the same domain, or one a subdomain of the other.
fn aligned(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(h: &[&str], from: &str) -> AuthVerdict {
        let h: Vec<String> = h.iter().map(|s| s.to_string()).collect();
        evaluate(&h, "126.com", Some(from))
    }

    #[test]
    fn the_topmost_trusted_header_decides_and_others_are_ignored() {
        let ours_fail = "126.com; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail (p=reject) header.from=school.example";
        let forged_pass = "126.com; dmarc=pass header.from=school.example";
        let other = "mx.evil.example; dmarc=pass header.from=school.example";
        assert!(matches!(
            v(&[other, ours_fail, forged_pass], "a@school.example"),
            AuthVerdict::Failed(d) if d == "dmarc=fail"
        ));
        assert_eq!(v(&[other], "a@school.example"), AuthVerdict::Unverified);
        assert!(matches!(
            v(&[forged_pass, ours_fail], "a@school.example"),
            AuthVerdict::Passed(_)
        ));
        assert_eq!(
            evaluate(&[forged_pass.to_string()], "", Some("a@school.example")),
            AuthVerdict::Unverified
        );
    }

    #[test]
    fn only_results_for_the_from_domain_count() {
        let h = "126.com; spf=fail smtp.mailfrom=bounce@list.example; dkim=pass header.d=school.example";
        assert_eq!(
            v(&[h], "a@school.example"),
            AuthVerdict::Passed("dkim=pass".into())
        );
        let h = "126.com; spf=softfail smtp.mailfrom=a@mail.school.example";
        assert_eq!(
            v(&[h], "a@school.example"),
            AuthVerdict::Failed("spf=softfail".into())
        );
        let h = "126.com (comment; with semicolon); spf=none; dkim=neutral";
        assert_eq!(v(&[h], "a@school.example"), AuthVerdict::NoResult);
        assert_eq!(parse(h).authserv_id, "126.com");
    }
}
