//! Zip archives: every member becomes a document (names decoded GB18030 unless the
//! UTF-8 flag is set), within the caps of [`Limits`]: member size, total expanded
//! bytes, expansion ratio, entry count. Encrypted members are recorded, not opened.

use super::codec;
use super::docs::{self, Ctx, Found, FoundName};
use std::io::{Cursor, Read};

/// Members this small never count as bombs: tiny text compresses extremely well.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// Decodes a member name: the UTF-8 flag (0x800) means UTF-8; otherwise GB18030, the
/// code page of Chinese Windows zippers. Names that are valid UTF-8 with non-ASCII
/// bytes are taken as UTF-8 even without the flag (macOS and 7-Zip write those).
fn member_name(raw: &[u8], utf8_flag: bool) -> FoundName {
    if utf8_flag || std::str::from_utf8(raw).is_ok() {
        let d = String::from_utf8_lossy(raw);
        let lossy = matches!(d, std::borrow::Cow::Owned(_));
        return FoundName {
            text: Some(d.into_owned()),
            lossy,
        };
    }
    let d = codec::decode_declared(raw, Some("gb18030"));
    FoundName {
        text: Some(d.text),
        lossy: d.lossy,
    }
}

/// A member's bytes, or the problem that kept us from reading them.
enum MemberRead {
    Ok(Vec<u8>),
    Failed(&'static str),
}

/// Expands the zip document `idx` (bytes passed in) at nesting `depth`.
pub fn expand(ctx: &mut Ctx<'_>, idx: usize, bytes: &[u8], depth: u32) {
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(_) => {
            ctx.doc_problem(idx, "corrupt_attachment");
            return;
        }
    };
    let mut n = zip.len();
    if n > ctx.limits.max_entries {
        ctx.doc_problem(idx, "too_many_entries");
        n = ctx.limits.max_entries;
    }
    for i in 0..n {
        // Metadata without decrypting or inflating.
        let (raw_name, flags, encrypted, is_dir, compressed) = match zip.by_index_raw(i) {
            Ok(f) => (
                f.name_raw().to_vec(),
                f.flags().as_u16(),
                f.encrypted(),
                f.is_dir(),
                f.compressed_size(),
            ),
            Err(_) => {
                ctx.doc_problem(idx, "corrupt_attachment");
                continue;
            }
        };
        let name = member_name(&raw_name, flags & 0x800 != 0);
        let text = name.text.as_deref().unwrap_or_default();
        // Directories and macOS resource forks are not documents.
        if is_dir || text.starts_with("__MACOSX/") || text.ends_with(".DS_Store") {
            continue;
        }
        let mut problems = Vec::new();
        let read = if encrypted {
            MemberRead::Failed("encrypted_attachment")
        } else {
            read_member(ctx, &mut zip, i, compressed)
        };
        let bytes = match read {
            MemberRead::Ok(b) => b,
            MemberRead::Failed(p) => {
                problems.push(p.to_string());
                if p == "zip_bomb" || p == "over_size" {
                    ctx.doc_problem(idx, p);
                }
                Vec::new()
            }
        };
        let budget_gone = problems.iter().any(|p| p == "zip_bomb")
            && ctx.expanded_total >= ctx.limits.max_expanded_total;
        docs::add(
            ctx,
            Found {
                name,
                declared_type: String::new(),
                container: Some(idx),
                depth,
                forced_format: None,
                problems,
            },
            bytes,
        );
        if budget_gone {
            break;
        }
    }
}

fn read_member(
    ctx: &mut Ctx<'_>,
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    compressed: u64,
) -> MemberRead {
    let limits = ctx.limits;
    let remaining = limits.max_expanded_total.saturating_sub(ctx.expanded_total);
    let ratio_cap = compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
    let cap = limits.max_attachment_bytes.min(remaining).min(ratio_cap);
    let mut f = match zip.by_index(i) {
        Ok(f) => f,
        Err(zip::result::ZipError::UnsupportedArchive(_)) => {
            return MemberRead::Failed("unsupported_compression")
        }
        Err(_) => return MemberRead::Failed("corrupt_attachment"),
    };
    let hint = f.size().min(cap).min(16 * 1024 * 1024) as usize;
    let mut buf = Vec::with_capacity(hint);
    let res = (&mut f).take(cap.saturating_add(1)).read_to_end(&mut buf);
    let got = buf.len() as u64;
    ctx.expanded_total = ctx.expanded_total.saturating_add(got.min(cap));
    if got > cap {
        if cap == limits.max_attachment_bytes && cap < remaining.min(ratio_cap) {
            return MemberRead::Failed("over_size");
        }
        if cap == remaining {
            ctx.expanded_total = limits.max_expanded_total;
        }
        return MemberRead::Failed("zip_bomb");
    }
    match res {
        Ok(_) => MemberRead::Ok(buf),
        Err(_) => MemberRead::Failed("corrupt_attachment"),
    }
}
