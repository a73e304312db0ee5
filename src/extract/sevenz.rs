//! 7-Zip archives: every member as a found file, within the same caps as zip
//! ([`Limits`]: member size, total expanded bytes, expansion ratio, entry count).
//! Pure (bytes in, members out) but run only inside the parser worker: a 7z header
//! declares dictionary and stream sizes that the decoder allocates, so a hostile
//! archive must meet the worker's memory cap, never the daemon
//! ([`crate::isolate::worker::Worker::expand`]). Encrypted archives are recorded,
//! not opened.

use super::Limits;
use crate::domain::ProblemKind;
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Read};

/// Members this small never count as bombs: tiny text compresses extremely well.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// One member taken out of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Name as stored (7z names are UTF-16 in the archive: always decodable).
    pub name: String,
    /// Its bytes; empty when a cap or a problem kept them out.
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
    /// zip_bomb, over_size, corrupt_attachment, encrypted_attachment …
    pub problems: Vec<String>,
}

/// Bytes as a hex string in the worker's JSON answer (an array of numbers would be
/// four times the size).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(b.len() * 2);
        for x in b {
            out.push(HEX[usize::from(x >> 4)] as char);
            out.push(HEX[usize::from(x & 15)] as char);
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let v = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        s.as_bytes()
            .chunks(2)
            .map(|p| match p {
                [h, l] => Some(v(*h)? << 4 | v(*l)?),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| serde::de::Error::custom("bad hex"))
    }
}

/// The archive as a whole: its members, and the problems of the archive itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expanded {
    pub members: Vec<Member>,
    pub problems: Vec<String>,
}

fn push(v: &mut Vec<String>, p: &str) {
    if !v.iter().any(|x| x == p) {
        v.push(p.to_string());
    }
}

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
