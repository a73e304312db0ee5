//! Recording raw mail: the shared front half of `run` (IMAP) and `import` (files).
//! Reads just enough of the headers to fill the message row; the extract stage later
//! refines the decoded fields. Raw bytes reach the store before the row is committed.

use crate::db::messages::{NewMessage, Origin};
use crate::store::sha256_hex;
use crate::time;
use chrono::{DateTime, FixedOffset};
use mail_parser::{HeaderValue, MessageParser};

/// Header facts of one raw message.
#[derive(Debug, Clone, Default)]
pub struct HeaderFacts {
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    pub date_header: Option<DateTime<FixedOffset>>,
    /// Time stamped by the topmost `Received:` header (the last server to take it).
    pub top_received: Option<DateTime<FixedOffset>>,
}

/// Reads the header facts. Never panics; missing or broken headers stay None.
pub fn header_facts(raw: &[u8]) -> HeaderFacts {
    let Some(msg) = MessageParser::new().parse_headers(raw) else {
        return HeaderFacts::default();
    };
    let from = msg.from().and_then(|a| a.first());
    let top_received = msg.header_values("Received").next().and_then(|v| match v {
        HeaderValue::Received(r) => r.date.as_ref().and_then(dt_from_mail),
        _ => None,
    });
    HeaderFacts {
        message_id: msg.message_id().map(|m| format!("<{m}>")),
        from_addr: from
            .and_then(|a| a.address())
            .map(|a| a.trim().to_lowercase()),
        from_name: from.and_then(|a| a.name()).map(|s| s.to_string()),
        subject: msg.subject().map(|s| s.to_string()),
        date_header: msg.date().and_then(dt_from_mail),
        top_received,
    }
}

fn dt_from_mail(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok()
}

/// sha256 of everything after the header block: equal for the same mail delivered twice
/// with different trace headers.
pub fn body_sha256(raw: &[u8]) -> String {
    let start = find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| find(raw, b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    sha256_hex(&raw[start..])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// When a message was received, and whether that time is only an estimate.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    pub at: DateTime<FixedOffset>,
    pub estimated: bool,
}

/// Builds the row for a raw message whose bytes are already in the store under `sha256`.
pub fn new_message(
    raw: &[u8],
    sha256: String,
    origin: Origin,
    received: Receipt,
    deadline: &DateTime<FixedOffset>,
) -> NewMessage {
    let h = header_facts(raw);
    let mut problems = Vec::new();
    if received.estimated {
        problems.push("received_time_estimated".to_string());
    }
    NewMessage {
        origin,
        sha256,
        body_sha256: body_sha256(raw),
        size: raw.len() as i64,
        message_id: h.message_id,
        from_addr: h.from_addr,
        from_name: h.from_name,
        subject: h.subject,
        received_at: time::fmt(&received.at),
        received_estimated: received.estimated,
        date_header: h.date_header.as_ref().map(time::fmt),
        late: time::is_late(&received.at, deadline),
        problems,
        recorded_at: time::fmt(&time::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &[u8] =
        b"Received: from mx.example by mx.126.com; Thu, 21 Jul 2022 00:00:01 +0800\r\n\
Received: from pc by mx.example; Wed, 20 Jul 2022 15:00:00 +0000\r\n\
From: =?GBK?B?1cXOsA==?= <Office@School.Example>\r\n\
Subject: =?UTF-8?B?55Sz5oql6KGo?=\r\n\
Date: Mon, 18 Jul 2022 10:31:40 +0800\r\n\
Message-ID: <abc@school.example>\r\n\r\nbody\r\n";

    #[test]
    fn reads_header_facts() {
        let h = header_facts(MAIL);
        assert_eq!(h.message_id.as_deref(), Some("<abc@school.example>"));
        assert_eq!(h.from_addr.as_deref(), Some("office@school.example"));
        assert_eq!(h.from_name.as_deref(), Some("张伟"));
        assert_eq!(h.subject.as_deref(), Some("申报表"));
        assert_eq!(
            time::fmt(&h.date_header.unwrap()),
            "2022-07-18T10:31:40+08:00"
        );
        assert_eq!(
            time::fmt(&h.top_received.unwrap()),
            "2022-07-21T00:00:01+08:00"
        );
    }

    #[test]
    fn body_hash_ignores_headers() {
        let a = b"Received: x\r\nSubject: s\r\n\r\nsame body";
        let b = b"Received: y\r\nReceived: z\r\nSubject: s\r\n\r\nsame body";
        assert_eq!(body_sha256(a), body_sha256(b));
        assert_ne!(sha256_hex(a), sha256_hex(b));
    }
}
