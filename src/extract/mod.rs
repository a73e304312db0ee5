//! Extract stage: raw message bytes → decoded metadata + every document inside
//! (attachments, inline non-text parts, forwarded `message/rfc822`, archive members,
//! NetEase cloud-attachment links). Pure: no IO, never panics on any input; every
//! oddity becomes a named problem string on the document or the message.

mod archive;
pub(crate) mod cfb;
mod cloud;
mod codec;
mod docs;
pub mod expanded;
mod headers;
mod meta;
mod mime;
mod names;
pub mod ooxml;
mod params;
mod passwords;
mod question;
mod robots;
pub mod sevenz;
mod sniff;
mod spam;
mod text;

pub use cloud::CloudLink;

use crate::model::Category;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Caps that keep hostile input bounded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest single attachment or archive member kept, bytes.
    pub max_attachment_bytes: u64,
    /// Total bytes expanded out of all archives of one message.
    pub max_expanded_total: u64,
    /// Expanded / compressed ratio above which an archive member is a bomb.
    pub max_ratio: u64,
    /// Members per archive.
    pub max_entries: usize,
    /// Nesting of archives and forwarded messages.
    pub max_depth: u32,
    /// MIME parts per message. A submission has a handful (the call's forms and their scans);
    /// a district forwarding its schools' mails a few hundred. Past this the message is
    /// flagged `too_many_parts` and the rest stays only in the raw mail, which is kept.
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachment_bytes: 64 * 1024 * 1024,
            max_expanded_total: 256 * 1024 * 1024,
            max_ratio: 200,
            max_entries: 1000,
            max_depth: 5,
            max_parts: 1_000,
        }
    }
}

/// Headers and facts the later stages need, decoded.
#[derive(Debug, Clone, Default)]
pub struct MessageMeta {
    pub message_id: Option<String>,
    /// Sender address, lower-cased.
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    pub date_header: Option<DateTime<FixedOffset>>,
    /// Time in the topmost `Received:` header (the receiving server's clock).
    pub top_received: Option<DateTime<FixedOffset>>,
    /// `Some("")` for `Return-Path: <>`; None when absent.
    pub return_path: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Plain-text body (or text rendered from HTML), for questions and cloud links.
    pub body_text: String,
    /// `X-Auto-Response-Suppress` value when present (the sender asks for no auto-reply).
    pub auto_response_suppress: Option<String>,
    /// Robot category by headers alone (bounce, autoreply, bulk, spam), if any.
    pub robot: Option<Category>,
    /// Why `robot` was set, e.g. "Auto-Submitted: auto-replied".
    pub robot_reason: Option<String>,
    /// `Authentication-Results:` values, topmost first (judged by `receipts::auth`).
    pub authentication_results: Vec<String>,
}

/// One document found in the message, its bytes in memory. Not the recorded
/// `domain::document::Document`: nothing is known yet of forms, seals or applicants, and
/// nothing is stored; the pipeline classifies it into a `NewDocument` for `db/` to record.
#[derive(Debug, Clone)]
pub struct ExtractedDoc {
    /// Index (into `Extracted::documents`) of the archive or forwarded message it came from.
    pub container: Option<usize>,
    /// Decoded name as the sender gave it (metadata only, never a path).
    pub name: String,
    /// Real format by magic bytes: docx, doc, wps, xlsx, xls, pdf, jpg, png, tiff, bmp,
    /// gif, zip, rar, 7z, eml, rtf, odt, txt, html, cloud_link, unknown …
    pub format: String,
    /// True for archives, forwarded messages and cloud links: containers, not forms.
    pub is_container: bool,
    pub bytes: Vec<u8>,
    /// Size of the document as found, bytes (also when `bytes` were dropped because a
    /// cap was hit; 0 for cloud links).
    pub size: u64,
    /// Content-Type the sender declared (`type/subtype`), empty for archive members.
    /// Informative only: `format` comes from the bytes.
    pub declared_type: String,
    /// For `cloud_link` documents: where and until when the file can be fetched.
    pub cloud: Option<CloudLink>,
    /// Named problems: corrupt_attachment, encrypted_attachment, over_size, zip_bomb,
    /// unsafe_name, name_undecodable, unsupported_archive, format_mismatch, too_deep,
    /// too_many_entries, unsupported_compression, empty_attachment …
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Extracted {
    pub meta: MessageMeta,
    pub documents: Vec<ExtractedDoc>,
    /// Message-level problems: `cloud_attachment:<name>:<YYYY-MM-DD or unknown>`,
    /// malformed_mime, too_many_parts, unparseable_message, parser_panic, huge_headers.
    pub problems: Vec<String>,
}

/// Parses `raw` and takes everything out. Never panics by design; the pipeline still
/// catches a panic and records it as a problem.
pub fn extract(raw: &[u8], limits: &Limits) -> Extracted {
    let mut ex = meta::extract(raw, limits);
    if header_len(raw) > MAX_HEADER_BYTES {
        ex.problems.push("huge_headers".into());
    }
    ex
}

/// Adds a file that belongs to the message but did not come in it (taken in by hand
/// with `import --into`): sniffed, checked and expanded exactly like an attachment,
/// within the same caps, as a top-level document.
pub fn add_file(ex: &mut Extracted, name: &str, bytes: Vec<u8>, limits: &Limits) {
    let mut ctx = docs::Ctx {
        limits,
        docs: std::mem::take(&mut ex.documents),
        problems: Vec::new(),
        parts_seen: 0,
        parts_capped: false,
        expanded_total: 0,
    };
    docs::add(
        &mut ctx,
        docs::Found {
            name: docs::FoundName {
                text: Some(name.to_string()),
                lossy: false,
            },
            declared_type: String::new(),
            container: None,
            depth: 0,
            forced_format: None,
            problems: Vec::new(),
        },
        bytes,
    );
    ex.documents = ctx.docs;
    for p in ctx.problems {
        if !ex.problems.contains(&p) {
            ex.problems.push(p);
        }
    }
}

/// Adds the members of the archive document `idx` (a 7z or RAR archive expanded by the
/// parser worker, [`sevenz::expand`] and `isolate::rar`) as documents contained in it, within the same caps and nesting
/// limit as zip members; the archive's own problems go on it.
pub fn add_members(ex: &mut Extracted, idx: usize, expanded: expanded::Expanded, limits: &Limits) {
    let depth = nesting(ex, idx) + 1;
    let mut ctx = docs::Ctx {
        limits,
        docs: std::mem::take(&mut ex.documents),
        problems: Vec::new(),
        parts_seen: 0,
        parts_capped: false,
        expanded_total: 0,
    };
    for p in &expanded.problems {
        ctx.doc_problem(idx, p);
    }
    if depth > limits.max_depth {
        ctx.doc_problem(idx, "too_deep");
    } else {
        for m in expanded.members {
            docs::add(
                &mut ctx,
                docs::Found {
                    name: docs::FoundName {
                        text: Some(m.name),
                        lossy: false,
                    },
                    declared_type: String::new(),
                    container: Some(idx),
                    depth,
                    forced_format: None,
                    problems: m.problems,
                },
                m.bytes,
            );
        }
    }
    ex.documents = ctx.docs;
}

/// How deep document `idx` sits (0 = attached to the message itself).
fn nesting(ex: &Extracted, idx: usize) -> u32 {
    let mut depth = 0;
    let mut at = ex.documents.get(idx).and_then(|d| d.container);
    while let Some(c) = at {
        depth += 1;
        if depth > 64 {
            break;
        }
        at = ex.documents.get(c).and_then(|d| d.container);
    }
    depth
}

/// Header blocks larger than this are flagged `huge_headers`: real ones, long
/// `Received:` chains included, stay far below; a bigger one is an attack or a broken
/// client, and the operator should know the headers shown may be incomplete.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Length of the header block (up to the first empty line).
fn header_len(raw: &[u8]) -> usize {
    let mut i = 0;
    while let Some(off) = raw[i..].iter().position(|b| *b == b'\n') {
        let at = i + off + 1;
        match raw.get(at) {
            Some(b'\n') => return at,
            Some(b'\r') if raw.get(at + 1) == Some(&b'\n') => return at,
            None => return raw.len(),
            _ => i = at,
        }
    }
    raw.len()
}

/// Real format by magic bytes, with the declared name as a tie-breaker only between
/// formats the bytes cannot tell apart (e.g. an OLE file: doc, xls or wps).
pub fn sniff(bytes: &[u8], name: &str) -> String {
    sniff::sniff(bytes, name)
}

/// Passwords the mail gives for its protected attachments (subject and body), to try.
pub fn password_candidates(subject: &str, body: &str) -> Vec<String> {
    passwords::candidates(subject, body)
}

/// True when the text reads like a person asking about their submission.
pub fn looks_like_question(subject: &str, body: &str) -> bool {
    question::looks_like_question(subject, body)
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn header_block_length_and_the_huge_headers_flag() {
        assert_eq!(header_len(b"A: b\r\nC: d\r\n\r\nbody"), 12);
        assert_eq!(header_len(b"A: b\n\nbody"), 5);
        assert_eq!(header_len(b"A: b"), 4);
        let mut raw = b"Subject: x\r\n".to_vec();
        let junk = format!("X-Junk: {}\r\n", "y".repeat(1000));
        while raw.len() <= MAX_HEADER_BYTES {
            raw.extend_from_slice(junk.as_bytes());
        }
        raw.extend_from_slice(b"\r\nbody\r\n");
        let ex = extract(&raw, &Limits::default());
        assert!(
            ex.problems.iter().any(|p| p == "huge_headers"),
            "{:?}",
            ex.problems
        );
        let small = extract(b"Subject: x\r\n\r\nbody\r\n", &Limits::default());
        assert!(!small.problems.iter().any(|p| p == "huge_headers"));
    }
}
