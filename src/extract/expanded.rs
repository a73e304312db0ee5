//! What an archive opened in the parser worker gives back (7z: [`super::sevenz`];
//! RAR: `isolate::rar`): its members with their bytes and problems, and the
//! archive's own problems. One shape for both, so the pipeline adds their members
//! the same way ([`super::add_members`]).

use serde::{Deserialize, Serialize};

/// Members this small never count as bombs: tiny text compresses extremely well.
pub const RATIO_FLOOR: u64 = 1024 * 1024;

/// One member taken out of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Name as stored (7z and RAR5 names are Unicode in the archive: always decodable;
    /// cleaned like every found name when added).
    pub name: String,
    /// Its bytes; empty when a cap or a problem kept them out.
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
    /// zip_bomb, over_size, corrupt_attachment, encrypted_attachment …
    pub problems: Vec<String>,
}

/// Bytes as a hex string in the worker's JSON answer (an array of numbers would be
/// four times the size); also the decrypted Word 97 file of `isolate::serve`.
pub(crate) mod hex_bytes {
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

pub(crate) fn push(v: &mut Vec<String>, p: &str) {
    if !v.iter().any(|x| x == p) {
        v.push(p.to_string());
    }
}
