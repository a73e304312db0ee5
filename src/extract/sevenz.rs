//! 7-Zip archives: every member as a found file, within the same caps as zip
//! ([`Limits`]: member size, total expanded bytes, expansion ratio, entry count).
//! Pure (bytes in, members out) but run only inside the parser worker: a 7z header
//! declares dictionary and stream sizes that the decoder allocates, so a hostile
//! archive must meet the worker's memory cap, never the daemon
//! ([`crate::isolate::worker::Worker::expand`]). Encrypted archives are recorded,
//! not opened.

use super::Limits;
use crate::domain::ProblemKind;
use std::io::{Cursor, Read};

use super::expanded::push;
pub use super::expanded::{Expanded, Member, RATIO_FLOOR};

/// Expands a 7z archive within `limits`; `budget` is the expanded bytes still allowed
/// for the message (its other archives counted). An encrypted archive is opened with
/// the first of `passwords` (given in the mail) that decodes it, and then carries
/// `decrypted_with_password`. Never panics on its own account; the decoder's own
/// panics are caught by the worker.
pub fn expand(bytes: &[u8], limits: &Limits, budget: u64, passwords: &[String]) -> Expanded {
    let plain = expand_with(bytes, limits, budget, None);
    if !plain.problems.iter().any(|p| p == "encrypted_attachment") {
        return plain;
    }
    for pw in passwords {
        let mut x = expand_with(bytes, limits, budget, Some(pw));
        let failed = x
            .problems
            .iter()
            .any(|p| p == "corrupt_attachment" || p == "encrypted_attachment");
        if !failed {
            x.problems
                .push(ProblemKind::DecryptedWithPassword.as_str().into());
            return x;
        }
    }
    plain
}

fn expand_with(bytes: &[u8], limits: &Limits, budget: u64, password: Option<&str>) -> Expanded {
    let mut out = Expanded::default();
    let pw = password.map_or_else(sevenz_rust2::Password::empty, sevenz_rust2::Password::new);
    let mut rd = match sevenz_rust2::ArchiveReader::new(Cursor::new(bytes), pw) {
        Ok(r) => r,
        Err(sevenz_rust2::Error::PasswordRequired | sevenz_rust2::Error::MaybeBadPassword(_)) => {
            out.problems.push("encrypted_attachment".into());
            return out;
        }
        Err(_) => {
            out.problems.push("corrupt_attachment".into());
            return out;
        }
    };
    let archive = rd.archive();
    let encrypted = archive.blocks.iter().any(|b| {
        b.coders
            .iter()
            .any(|c| c.encoder_method_id() == sevenz_rust2::EncoderMethod::ID_AES256_SHA256)
    });
    if encrypted && password.is_none() {
        // Names are readable (unless the header is encrypted too), contents are not.
        for f in archive.files.iter().take(limits.max_entries) {
            if !f.is_directory {
                out.members.push(Member {
                    name: f.name().to_string(),
                    bytes: Vec::new(),
                    problems: vec!["encrypted_attachment".into()],
                });
            }
        }
        push(&mut out.problems, "encrypted_attachment");
        return out;
    }
    let files = archive.files.iter().filter(|f| !f.is_directory).count();
    if files > limits.max_entries {
        push(&mut out.problems, "too_many_entries");
    }
    // 7z compresses a whole block together: the ratio is judged on the archive.
    let ratio_cap = (bytes.len() as u64)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR);
    let mut total = 0u64;
    let mut seen = 0usize;
    let res = rd.for_each_entries(|entry, reader| {
        if entry.is_directory {
            return Ok(true);
        }
        seen += 1;
        if seen > limits.max_entries {
            return Ok(false);
        }
        let name = entry.name().to_string();
        if name.starts_with("__MACOSX/") || name.ends_with(".DS_Store") {
            // Read through (solid blocks must be decoded in order), not kept.
            std::io::copy(
                &mut reader.take(limits.max_attachment_bytes),
                &mut std::io::sink(),
            )?;
            return Ok(true);
        }
        let remaining = budget.min(ratio_cap).saturating_sub(total);
        let cap = limits.max_attachment_bytes.min(remaining);
        let mut buf = Vec::with_capacity(entry.size.min(cap).min(16 << 20) as usize);
        reader.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
        let got = buf.len() as u64;
        total = total.saturating_add(got.min(cap));
        let mut problems = Vec::new();
        if got > cap {
            let p = if cap == limits.max_attachment_bytes && cap < remaining {
                "over_size"
            } else {
                "zip_bomb"
            };
            problems.push(p.to_string());
            push(&mut out.problems, p);
            buf = Vec::new();
        }
        let stop = problems.iter().any(|p| p == "zip_bomb");
        out.members.push(Member {
            name,
            bytes: buf,
            problems,
        });
        Ok(!stop)
    });
    match res {
        Ok(()) => {}
        // A wrong password shows as a bad checksum or an undecodable stream.
        Err(_) if password.is_some() => push(&mut out.problems, "encrypted_attachment"),
        Err(_) => push(&mut out.problems, "corrupt_attachment"),
    }
    out
}
