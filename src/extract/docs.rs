//! Turning found bytes into documents: name cleaning, format sniffing, the checks that
//! name problems (format_mismatch, encrypted, corrupt, over_size, unsupported archive),
//! and recursion into archives and attached messages within the nesting limit.

use super::{archive, cfb, mime, names, sniff, ExtractedDoc, Limits};
use std::io::Cursor;

/// Running state of one extraction.
pub struct Ctx<'l> {
    pub limits: &'l Limits,
    pub docs: Vec<ExtractedDoc>,
    pub problems: Vec<String>,
    pub parts_seen: usize,
    pub parts_capped: bool,
    pub expanded_total: u64,
}

impl Ctx<'_> {
    pub fn problem(&mut self, p: impl Into<String>) {
        let p = p.into();
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    pub fn doc_problem(&mut self, idx: usize, p: &str) {
        if let Some(d) = self.docs.get_mut(idx) {
            if !d.problems.iter().any(|x| x == p) {
                d.problems.push(p.to_string());
            }
        }
    }
}

/// A name as found: decoded text (None when the sender gave none) and whether some
/// bytes could not be decoded.
pub struct FoundName {
    pub text: Option<String>,
    pub lossy: bool,
}

/// What the caller knows about a document besides its bytes.
pub struct Found {
    pub name: FoundName,
    pub declared_type: String,
    pub container: Option<usize>,
    pub depth: u32,
    /// Set for `message/rfc822` parts, which the MIME walk recurses into itself.
    pub forced_format: Option<&'static str>,
    pub problems: Vec<String>,
}

fn push_unique(v: &mut Vec<String>, p: &str) {
    if !v.iter().any(|x| x == p) {
        v.push(p.to_string());
    }
}

fn is_zip_based(format: &str) -> bool {
    matches!(
        format,
        "zip" | "docx" | "xlsx" | "xlsb" | "pptx" | "odt" | "ods" | "ofd"
    )
}

/// Records one document (and, for archives and attached messages, everything inside
/// it); returns its index.
pub fn add(ctx: &mut Ctx<'_>, found: Found, mut bytes: Vec<u8>) -> usize {
    let mut problems = found.problems;
    let size = bytes.len() as u64;
    let over = size > ctx.limits.max_attachment_bytes;
    let clean = names::clean(found.name.text.as_deref().unwrap_or_default());
    if found.name.lossy {
        push_unique(&mut problems, "name_undecodable");
    }
    if clean.unsafe_name {
        push_unique(&mut problems, "unsafe_name");
    }
    let format: String = match found.forced_format {
        Some(f) => f.to_string(),
        // Nothing to sniff (unreadable member, empty part): the name is all we have.
        None if bytes.is_empty() => sniff::expected_format(&clean.name)
            .unwrap_or("unknown")
            .to_string(),
        None => sniff::sniff(&bytes, &clean.name),
    };
    if bytes.is_empty() && problems.is_empty() {
        push_unique(&mut problems, "empty_attachment");
    }
    if over {
        push_unique(&mut problems, "over_size");
        bytes = Vec::new();
    }
    if found.forced_format.is_none()
        && size > 0
        && !clean.name.is_empty()
        && sniff::mismatch(&format, &clean.name)
    {
        push_unique(&mut problems, "format_mismatch");
    }
    if !bytes.is_empty() {
        if bytes.starts_with(cfb::MAGIC) {
            if let Some(entries) = cfb::entries(&bytes) {
                if cfb::is_encrypted(&bytes, &entries) {
                    push_unique(&mut problems, "encrypted_attachment");
                }
            }
        }
        if is_zip_based(&format)
            && !bytes.starts_with(cfb::MAGIC)
            && zip::ZipArchive::new(Cursor::new(&bytes[..])).is_err()
        {
            push_unique(&mut problems, "corrupt_attachment");
        }
        if format == "pdf" && !pdf_has_eof(&bytes) {
            push_unique(&mut problems, "corrupt_attachment");
        }
    }
    if sniff::is_unsupported_archive(&format) {
        push_unique(&mut problems, "unsupported_archive");
    }
    let name = match found.name.text {
        Some(_) if !clean.name.is_empty() => clean.name,
        _ => {
            let n = ctx.docs.len() + 1;
            if format == "unknown" {
                format!("未命名附件{n}")
            } else {
                format!("未命名附件{n}.{format}")
            }
        }
    };
    let idx = ctx.docs.len();
    let expand = !problems.iter().any(|p| p == "corrupt_attachment") && !bytes.is_empty();
    ctx.docs.push(ExtractedDoc {
        container: found.container,
        name,
        is_container: sniff::is_container_format(&format),
        format: format.clone(),
        size,
        declared_type: found.declared_type,
        bytes,
        problems,
        cloud: None,
    });
    if !expand || found.forced_format.is_some() {
        return idx;
    }
    if format == "zip" || format == "eml" {
        if found.depth + 1 > ctx.limits.max_depth {
            ctx.doc_problem(idx, "too_deep");
            return idx;
        }
        // Take the bytes out while walking them (no copy), put them back after.
        let bytes = ctx
            .docs
            .get_mut(idx)
            .map(|d| std::mem::take(&mut d.bytes))
            .unwrap_or_default();
        if format == "zip" {
            archive::expand(ctx, idx, &bytes, found.depth + 1);
        } else {
            match mime::parse_message(&bytes) {
                Ok(Some(msg)) => mime::walk(msg, ctx, Some(idx), found.depth + 1, None),
                Ok(None) => ctx.doc_problem(idx, "corrupt_attachment"),
                Err(()) => ctx.doc_problem(idx, "parser_panic"),
            }
        }
        if let Some(d) = ctx.docs.get_mut(idx) {
            d.bytes = bytes;
        }
    }
    idx
}

/// A complete PDF ends with `%%EOF` (readers look in the last kilobyte or so).
fn pdf_has_eof(bytes: &[u8]) -> bool {
    let tail = bytes
        .get(bytes.len().saturating_sub(2048)..)
        .unwrap_or(bytes);
    tail.windows(5).any(|w| w == b"%%EOF")
}
