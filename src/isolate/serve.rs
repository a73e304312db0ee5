//! The worker side of the persistent parser (hidden subcommand `__parse-worker`): reads
//! framed requests ([`super::frame`]) from stdin, parses each document exactly as the
//! one-shot `__parse-doc` child does ([`super::parse_untrusted`]), writes a framed JSON
//! answer to stdout, and loops until stdin closes.
//!
//! Its memory cap (RLIMIT_AS) and the per-request timeout are set and enforced by the
//! parent ([`super::worker`]); the worker adds one backstop of its own, an `alarm(2)`
//! around each parse, so a worker whose parent is gone or stuck cannot spin forever.

use super::frame::{self, FrameError};
use crate::forms::FormError;
use std::io::{BufWriter, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// Exit codes of the worker, for the parent's "crashed: exit status" messages.
const EXIT_PROTOCOL: i32 = 65;
const EXIT_IO: i32 = 74;
/// The parent's call file could not be read (it was checked at the parent's start).
const EXIT_CONFIG: i32 = 78;

/// Runs the worker loop; returns the process exit code (0 when stdin closed cleanly).
/// `alarm_s` is the backstop: a parse still running after that many seconds kills the
/// worker by SIGALRM (the parent's own timeout is shorter and normally fires first).
pub fn worker_main(alarm_s: u32) -> i32 {
    if let Err(e) = super::adopt_parent_call() {
        eprintln!("__parse-worker: {e}");
        return EXIT_CONFIG;
    }
    // Answers go to a private copy of fd 1, and fd 1 itself is pointed at stderr: a
    // stray print anywhere in the parsing code can then never corrupt the framing.
    // SAFETY: dup/dup2 on the process's own standard descriptors; the new descriptor
    // is owned by exactly one OwnedFd.
    let out = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            eprintln!(
                "__parse-worker: cannot set up stdout: {}",
                std::io::Error::last_os_error()
            );
            return EXIT_IO;
        }
        OwnedFd::from_raw_fd(fd)
    };
    let mut out = BufWriter::with_capacity(64 << 10, std::fs::File::from(out));
    let mut input = std::io::stdin().lock();
    loop {
        let req = match frame::read_request(&mut input, super::MAX_INPUT) {
            Ok(r) => r,
            Err(FrameError::Eof) => return 0,
            Err(e) => {
                eprintln!("__parse-worker: bad request: {e}");
                return EXIT_PROTOCOL;
            }
        };
        // SAFETY: alarm(2) only arms or clears this process's timer.
        unsafe { libc::alarm(alarm_s) };
        let result = match req.doc {
            Some(doc) => answer(&req.format, &doc),
            None => serde_json::to_vec(&Err::<(), _>(FormError::Corrupt(format!(
                "文件过大 (larger than {} MB: {} bytes)",
                super::MAX_INPUT >> 20,
                req.announced
            )))),
        };
        let written = result
            .map_err(std::io::Error::other)
            .and_then(|json| frame::write_answer(&mut out, &json));
        // SAFETY: as above.
        unsafe { libc::alarm(0) };
        if let Err(e) = written {
            eprintln!("__parse-worker: cannot answer ({}): {e}", req.format);
            return EXIT_IO;
        }
    }
}

/// Request format: expand a 7z archive (answer: [`crate::extract::expanded::Expanded`]).
pub const EXPAND_7Z: &str = "7z-expand";
/// Request format: expand a RAR archive (answer as for 7z; see [`super::rar`]).
pub const EXPAND_RAR: &str = "rar-expand";
/// Request format: decrypt an Office file and parse it (answer as for a parse).
pub const DECRYPT: &str = "decrypt";
/// Request format: decrypt a Word 97 file (answer: [`Decrypted`]); it is then read
/// like any .doc, through LibreOffice, which the worker does not run.
pub const DECRYPT_WORD97: &str = "decrypt-doc";

/// A Word 97 file decrypted in the worker, as plain as an unencrypted .doc attachment
/// (and as untrusted: it goes to LibreOffice in its own box like one).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Decrypted {
    #[serde(with = "crate::extract::expanded::hex_bytes")]
    pub bytes: Vec<u8>,
}

/// The JSON answer to one request.
fn answer(format: &str, doc: &[u8]) -> serde_json::Result<Vec<u8>> {
    match format {
        EXPAND_7Z => serde_json::to_vec(&expand_archive(doc, crate::extract::sevenz::expand)),
        EXPAND_RAR => serde_json::to_vec(&expand_archive(doc, super::rar::expand)),
        DECRYPT => serde_json::to_vec(&decrypt_and_parse(doc)),
        DECRYPT_WORD97 => serde_json::to_vec(&decrypt_word97(doc)),
        _ => serde_json::to_vec(&super::parse_untrusted(format, doc)),
    }
}

/// An archive expansion request (7z or RAR): the member cap, the entry cap, the message's remaining
/// budget (big-endian u64s), the passwords the mail gives (a count byte, then each
/// length-prefixed by a byte), the archive.
pub fn expand_request(
    bytes: &[u8],
    limits: &crate::extract::Limits,
    budget: u64,
    passwords: &[String],
) -> Vec<u8> {
    let mut doc = Vec::with_capacity(bytes.len() + 64);
    doc.extend_from_slice(&limits.max_attachment_bytes.to_be_bytes());
    doc.extend_from_slice(&(limits.max_entries as u64).to_be_bytes());
    doc.extend_from_slice(&budget.to_be_bytes());
    let pws: Vec<&String> = passwords.iter().filter(|p| p.len() < 256).take(8).collect();
    doc.push(pws.len() as u8);
    for p in pws {
        doc.push(p.len() as u8);
        doc.extend_from_slice(p.as_bytes());
    }
    doc.extend_from_slice(bytes);
    doc
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// The signature of the archive expanders ([`crate::extract::sevenz::expand`],
/// [`super::rar::expand`]).
type Expander =
    fn(&[u8], &crate::extract::Limits, u64, &[String]) -> crate::extract::expanded::Expanded;

fn expand_archive(doc: &[u8], expander: Expander) -> crate::extract::expanded::Expanded {
    let limits = crate::extract::Limits {
        max_attachment_bytes: u64_at(doc, 0),
        max_entries: u64_at(doc, 8) as usize,
        ..crate::extract::Limits::default()
    };
    // The answer travels in one frame: members beyond it are a bomb to this reader.
    let budget = u64_at(doc, 16).min((frame::MAX_ANSWER as u64 - (1 << 20)) / 2);
    let mut at = 24;
    let count = doc.get(at).copied().unwrap_or(0);
    at += 1;
    let mut passwords = Vec::new();
    for _ in 0..count {
        let n = usize::from(doc.get(at).copied().unwrap_or(0));
        let pw = doc.get(at + 1..at + 1 + n).unwrap_or_default();
        passwords.push(String::from_utf8_lossy(pw).into_owned());
        at += 1 + n;
    }
    let archive = doc.get(at..).unwrap_or_default();
    std::panic::catch_unwind(|| expander(archive, &limits, budget, &passwords)).unwrap_or_else(
        |_| crate::extract::expanded::Expanded {
            members: Vec::new(),
            problems: vec!["corrupt_attachment".into()],
        },
    )
}

/// A decryption request: format, password, document, each length-prefixed (u16, u16).
pub fn decrypt_request(format: &str, bytes: &[u8], password: &str) -> Vec<u8> {
    let mut doc = Vec::with_capacity(bytes.len() + 64);
    for part in [format.as_bytes(), password.as_bytes()] {
        let n = part.len().min(u16::MAX as usize);
        doc.extend_from_slice(&(n as u16).to_be_bytes());
        doc.extend_from_slice(&part[..n]);
    }
    doc.extend_from_slice(bytes);
    doc
}

/// The fields of a [`decrypt_request`]: format, password, document.
fn decrypt_fields(doc: &[u8]) -> (String, String, Vec<u8>) {
    let mut at = 0;
    let mut field = || {
        let n = doc
            .get(at..at + 2)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        let s = doc.get(at + 2..at + 2 + n).unwrap_or_default();
        at += 2 + n;
        String::from_utf8_lossy(s).into_owned()
    };
    let (format, password) = (field(), field());
    (format, password, doc.get(at..).unwrap_or_default().to_vec())
}

/// The plain bytes of an encrypted Office file; a wrong password (or a scheme the
/// crate does not know) is `Encrypted`, a panic in the decoder `Corrupt`.
fn decrypt(bytes: Vec<u8>, password: String) -> Result<Vec<u8>, FormError> {
    std::panic::catch_unwind(move || office_crypto::decrypt_from_bytes(bytes, &password))
        .map_err(|_| FormError::Corrupt("解密失败 (decryption panicked)".into()))?
        .map_err(|_| FormError::Encrypted)
}

fn decrypt_and_parse(doc: &[u8]) -> Result<crate::forms::ParsedForm, FormError> {
    let (format, password, bytes) = decrypt_fields(doc);
    let plain = decrypt(bytes, password)?;
    // What the decrypted bytes are, not what the name said.
    let real = crate::extract::sniff(&plain, &format!("x.{format}"));
    super::parse_untrusted(&real, &plain)
}

/// RC4 / RC4 CryptoAPI Word 97 decryption; the answer is a Word 97 file that no
/// longer says it is encrypted, or an error.
pub fn decrypt_word97(doc: &[u8]) -> Result<Decrypted, FormError> {
    let (_, password, bytes) = decrypt_fields(doc);
    let plain = decrypt(bytes, password)?;
    let still_locked = crate::extract::cfb::entries(&plain)
        .is_none_or(|entries| crate::extract::cfb::is_encrypted(&plain, &entries));
    if still_locked || crate::extract::sniff(&plain, "x.doc") != "doc" {
        return Err(FormError::Corrupt(
            "解密后不是可读的 Word 97 文档 (decrypted bytes are no readable .doc)".into(),
        ));
    }
    Ok(Decrypted { bytes: plain })
}

/// Entry for a binary: `__parse-worker [--alarm-s N]` (the subcommand word optional),
/// `args` without the program name.
pub fn worker_main_from_args(args: &[String]) -> i32 {
    let mut it = args.iter().skip_while(|a| *a == "__parse-worker");
    let alarm_s = match (it.next().map(String::as_str), it.next()) {
        (None, _) => DEFAULT_ALARM_S,
        (Some("--alarm-s"), Some(n)) => match n.parse() {
            Ok(n) => n,
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    worker_main(alarm_s)
}

/// Backstop when the parent gives none: longer than any sane parse.
pub const DEFAULT_ALARM_S: u32 = 120;

fn usage() -> i32 {
    let _ = writeln!(
        std::io::stderr(),
        "usage: __parse-worker [--alarm-s SECONDS]  (framed requests on stdin)"
    );
    64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// district_word97.doc saved by LibreOffice with the open password 2468
    /// (fixtures/gen/make_encrypted_doc.py).
    fn locked() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/files/district_word97_rc4.doc"),
        )
        .unwrap()
    }

    #[test]
    fn a_word97_file_locked_by_libreoffice_opens_with_its_password() {
        let bytes = locked();
        let entries = crate::extract::cfb::entries(&bytes).unwrap();
        assert!(crate::extract::cfb::is_encrypted(&bytes, &entries));
        let plain = decrypt_word97(&decrypt_request("doc", &bytes, "2468"))
            .unwrap()
            .bytes;
        let entries = crate::extract::cfb::entries(&plain).unwrap();
        assert!(!crate::extract::cfb::is_encrypted(&plain, &entries));
        assert_eq!(crate::extract::sniff(&plain, "表.doc"), "doc");
        // Plain text of the form, stored as UTF-16 in the decrypted WordDocument stream.
        let needle: Vec<u8> = "丰南区教育局"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        assert!(plain.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn a_wrong_password_or_garbage_stays_encrypted_and_answers() {
        let bytes = locked();
        for pw in ["1357", "", "24680"] {
            let got = decrypt_word97(&decrypt_request("doc", &bytes, pw));
            assert!(matches!(got, Err(FormError::Encrypted)), "{pw}: {got:?}");
        }
        // Truncated: an error, never a panic that would take the worker down.
        let cut = decrypt_word97(&decrypt_request("doc", &bytes[..3000], "2468"));
        assert!(cut.is_err());
        // The answer survives the trip through JSON (hex bytes).
        let ok = decrypt_word97(&decrypt_request("doc", &bytes, "2468"));
        let json = serde_json::to_vec(&ok).unwrap();
        let back: Result<Decrypted, FormError> = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.unwrap().bytes, ok.unwrap().bytes);
    }
}
