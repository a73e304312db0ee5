//! The MIME walk: every part of a parsed message in order. Text bodies of the top
//! message are collected; attachments and inline non-text parts become documents;
//! forwarded `message/rfc822` parts become `eml` container documents and are walked in
//! turn. Part names are decoded from the raw header bytes.

use super::docs::{self, Ctx, Found, FoundName};
use super::headers;
use super::params::{self, Params};
use super::text;
use mail_parser::{Encoding, Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// Parses a message with mail-parser, shielded: mail-parser 0.11.9 has a
/// `debug_assert!` ("Invalid part ID, could not find multipart") that mutated mail
/// reaches in debug builds; any panic of the parser becomes `Err`, never ours.
pub fn parse_message(bytes: &[u8]) -> Result<Option<Message<'_>>, ()> {
    std::panic::catch_unwind(|| MessageParser::default().parse(bytes)).map_err(|_| ())
}

/// Text bodies of the top-level message.
#[derive(Default)]
pub struct Bodies {
    pub plain: Vec<String>,
    pub html: Vec<String>,
}

/// Parts of a delivery report that describe the report itself, not documents.
fn is_report_part(ctype: &str) -> bool {
    matches!(
        ctype,
        "message/delivery-status"
            | "message/disposition-notification"
            | "message/feedback-report"
            | "text/rfc822-headers"
            | "message/rfc822-headers"
    )
}

fn header_params(raw: &[u8], part: &MessagePart<'_>, name: &str) -> Option<Params> {
    part.headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| params::parse_params(headers::raw_value(raw, h)))
}

/// The part's name: Content-Disposition `filename`, else Content-Type `name`.
fn part_name(disp: Option<&Params>, ct: Option<&Params>) -> FoundName {
    let d = disp
        .and_then(|p| p.decoded("filename"))
        .or_else(|| ct.and_then(|p| p.decoded("name")))
        .filter(|d| !d.text.trim().is_empty());
    match d {
        Some(d) => FoundName {
            text: Some(d.text),
            lossy: d.lossy,
        },
        None => FoundName {
            text: None,
            lossy: false,
        },
    }
}

/// Walks `msg`; documents found get `container`; `bodies` is Some for the top message.
pub fn walk(
    msg: Message<'_>,
    ctx: &mut Ctx<'_>,
    container: Option<usize>,
    depth: u32,
    mut bodies: Option<&mut Bodies>,
) {
    let Message {
        parts, raw_message, ..
    } = msg;
    let raw: &[u8] = &raw_message;
    for part in parts {
        if ctx.parts_capped {
            return;
        }
        ctx.parts_seen += 1;
        if ctx.parts_seen > ctx.limits.max_parts {
            ctx.parts_capped = true;
            ctx.problem("too_many_parts");
            return;
        }
        let ctype = part
            .content_type()
            .map(|c| {
                format!(
                    "{}/{}",
                    c.ctype().to_ascii_lowercase(),
                    c.subtype().unwrap_or("").to_ascii_lowercase()
                )
            })
            .unwrap_or_else(|| "text/plain".to_string());
        // A pointer to a file kept elsewhere (an FTP site, a mail server's store), not
        // content: nothing to take out, and not a nameless text attachment.
        if ctype == "message/external-body" {
            if let PartType::Message(_) | PartType::Text(_) | PartType::Binary(_) = part.body {
                continue;
            }
        }
        let ct_params = header_params(raw, &part, "Content-Type");
        let disp = header_params(raw, &part, "Content-Disposition");
        let is_attachment = disp.as_ref().is_some_and(|d| d.value == "attachment");
        let name = part_name(disp.as_ref(), ct_params.as_ref());
        let body_raw = raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default();
        // mail-parser forgets the transfer encoding of a part it could not decode
        // (truncated base64): read the header ourselves.
        let cte = part
            .headers
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case("Content-Transfer-Encoding"))
            .map(|h| headers::value_text(raw, h).text.to_ascii_lowercase());
        let encoding = match cte.as_deref().map(str::trim) {
            Some("base64") => Encoding::Base64,
            Some("quoted-printable") => Encoding::QuotedPrintable,
            Some(_) => Encoding::None,
            None => part.encoding,
        };
        let mut problems = Vec::new();
        if part.is_encoding_problem {
            problems.push("corrupt_attachment".to_string());
        }
        let found = |name, problems, forced| Found {
            name,
            declared_type: ctype.clone(),
            container,
            depth,
            forced_format: forced,
            problems,
        };
        match part.body {
            PartType::Multipart(children) => {
                let has_boundary = ct_params.as_ref().and_then(|p| p.get("boundary")).is_some();
                if !has_boundary || children.is_empty() {
                    ctx.problem("malformed_mime");
                }
            }
            PartType::Message(nested) => {
                let bytes = if part.encoding == Encoding::None {
                    body_raw.to_vec()
                } else {
                    nested.raw_message.to_vec()
                };
                let name = if name.text.is_some() {
                    name
                } else {
                    let subj = nested.subject().unwrap_or("转发邮件").trim().to_string();
                    FoundName {
                        text: Some(format!("{subj}.eml")),
                        lossy: false,
                    }
                };
                let idx = docs::add(ctx, found(name, problems, Some("eml")), bytes);
                if depth + 1 > ctx.limits.max_depth {
                    ctx.doc_problem(idx, "too_deep");
                } else {
                    walk(nested, ctx, Some(idx), depth + 1, None);
                }
            }
            PartType::Text(_) | PartType::Html(_) => {
                let named = name.text.is_some() || is_attachment;
                if ctype.starts_with("multipart/") {
                    // A multipart without a usable boundary: its parts cannot be found.
                    ctx.problem("malformed_mime");
                    continue;
                }
                let decoded = text::transfer_decode(body_raw, encoding);
                if named {
                    docs::add(ctx, found(name, problems, None), decoded);
                    continue;
                }
                if part.is_encoding_problem && depth == 0 {
                    ctx.problem("malformed_mime");
                }
                let Some(b) = bodies.as_deref_mut() else {
                    continue;
                };
                let charset = ct_params.as_ref().and_then(|p| p.get("charset"));
                let t = super::codec::decode_declared(&decoded, charset.as_deref()).text;
                match ctype.as_str() {
                    "text/html" => b.html.push(t),
                    "text/plain" => b.plain.push(t),
                    _ => {}
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                if name.text.is_none() && is_report_part(&ctype) {
                    continue;
                }
                if ctype.starts_with("multipart/") {
                    ctx.problem("malformed_mime");
                    continue;
                }
                docs::add(ctx, found(name, problems, None), bytes.into_owned());
            }
        }
    }
}
