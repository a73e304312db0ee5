//! RAR archives (RAR5, and the older RAR 2.9–4 format) read through RARLAB's own
//! decoder (the `unrar_sys` crate builds its C++ source), within the same caps as zip
//! and 7z ([`Limits`]: member size, total expanded bytes, expansion ratio, entry
//! count). Run only inside the parser worker (C++ decoding hostile bytes, a dictionary
//! sized by the archive's header: the worker's memory cap and timeout bound both).
//!
//! The decoder reads archives from a file name only, so the bytes go into an
//! anonymous in-memory file (`memfd_create`) opened as `/proc/self/fd/N`: nothing is
//! written to disk. Members are decoded in test mode into memory through the data
//! callback, which aborts the decoding as soon as a member passes its cap, so a bomb
//! whose header understates the size is stopped too. Passwords (archive headers
//! encrypted with `-hp`, or only the contents with `-p`) are answered from the ones the
//! mail gives; without one the members stay `encrypted_attachment`.

use crate::domain::ProblemKind;
use crate::extract::expanded::{push, Expanded, Member, RATIO_FLOOR};
use crate::extract::Limits;
use std::ffi::{c_int, c_uint, CString};
use std::io::Write;
use std::os::fd::FromRawFd;
use unrar_sys as ffi;

/// Expands a RAR archive within `limits`; `budget` is the expanded bytes still allowed
/// for the message. An encrypted archive is opened with the first of `passwords` that
/// decodes it, and then carries `decrypted_with_password`.
pub fn expand(bytes: &[u8], limits: &Limits, budget: u64, passwords: &[String]) -> Expanded {
    let plain = expand_with(bytes, limits, budget, None);
    let locked = |x: &Expanded| has(&x.problems, ProblemKind::EncryptedAttachment);
    if !locked(&plain) {
        return plain;
    }
    for pw in passwords {
        let mut x = expand_with(bytes, limits, budget, Some(pw));
        if !locked(&x) && !has(&x.problems, ProblemKind::CorruptAttachment) {
            push(&mut x.problems, ProblemKind::DecryptedWithPassword.as_str());
            return x;
        }
    }
    plain
}

fn has(v: &[String], p: ProblemKind) -> bool {
    v.iter().any(|x| x == p.as_str())
}

/// What the decoder's callback works with, for one archive opened once.
struct State {
    /// The password to answer with, wide and NUL-terminated; empty: none to give.
    password: Vec<libc::wchar_t>,
    /// The decoder asked for a password.
    asked: bool,
    /// The member being decoded.
    buf: Vec<u8>,
    /// Bytes allowed for that member.
    cap: u64,
    /// The member passed `cap` and its decoding was aborted.
    over: bool,
}

/// The decoder's callback: data of the member being tested, password requests, and
/// requests for the next volume (there is none: we hold one file).
extern "C" fn callback(msg: c_uint, user: ffi::LPARAM, p1: ffi::LPARAM, p2: ffi::LPARAM) -> c_int {
    if user == 0 {
        return -1;
    }
    // SAFETY: `user` is the address of the boxed State given at open, alive until the
    // handle is closed; the decoder calls back on this thread only.
    let st = unsafe { &mut *(user as *mut State) };
    match msg {
        ffi::UCM_PROCESSDATA => {
            let n = usize::try_from(p2).unwrap_or(0);
            if st.buf.len() as u64 + n as u64 > st.cap {
                st.over = true;
                return -1; // aborts this member's decoding
            }
            if n > 0 && p1 != 0 {
                // SAFETY: the decoder passes its output buffer and its length.
                let data = unsafe { std::slice::from_raw_parts(p1 as *const u8, n) };
                st.buf.extend_from_slice(data);
            }
            0
        }
        ffi::UCM_NEEDPASSWORDW => {
            st.asked = true;
            let room = usize::try_from(p2).unwrap_or(0);
            if st.password.is_empty() || st.password.len() > room || p1 == 0 {
                return -1;
            }
            // SAFETY: p1 is the decoder's buffer of `room` wide characters; we write
            // at most that many, the NUL included.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    st.password.as_ptr(),
                    p1 as *mut libc::wchar_t,
                    st.password.len(),
                );
            }
            0
        }
        // The narrow password request comes only when the wide one got nothing; other
        // volumes of a multi-volume set are not ours to find.
        ffi::UCM_NEEDPASSWORD | ffi::UCM_CHANGEVOLUME | ffi::UCM_CHANGEVOLUMEW => -1,
        _ => 0,
    }
}

/// An open archive, closed on drop.
struct Handle(*const ffi::Handle);

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a handle returned by RAROpenArchiveEx, closed once.
            unsafe { ffi::RARCloseArchive(self.0) };
        }
    }
}

/// The archive as an anonymous in-memory file, and the name the decoder opens it by.
fn memory_file(bytes: &[u8]) -> std::io::Result<(std::fs::File, CString)> {
    // SAFETY: memfd_create with a NUL-terminated name; the new descriptor is owned by
    // exactly one File.
    let file = unsafe {
        let fd = libc::memfd_create(c"kepu-rar".as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        std::fs::File::from_raw_fd(fd)
    };
    (&file).write_all(bytes)?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let name = CString::new(format!("/proc/self/fd/{fd}")).map_err(std::io::Error::other)?;
    Ok((file, name))
}

/// The mark the decoder puts before a name it could not decode in the worker's locale
/// (a RAR4 name in the sender's code page only), and where it then puts each byte it
/// could not decode (0xE000 + the byte).
const MAPPED_MARK: u32 = 0xFFFE;
const MAPPED_BYTES: std::ops::Range<u32> = 0xE080..0xE100;

/// A member name from the header's wide name (UTF-32 on Linux). A name the decoder
/// could only map gets its bytes back and is read as GB18030, the code page of
/// Chinese Windows (as for zip names without the UTF-8 flag): WinRAR before 5 writes
/// a Chinese name that fits the code page in it alone.
fn wide_name(w: &[libc::wchar_t]) -> String {
    let chars: Vec<u32> = w
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u32)
        .collect();
    if !chars.contains(&MAPPED_MARK) {
        return chars
            .iter()
            .map(|c| char::from_u32(*c).unwrap_or('\u{FFFD}'))
            .collect();
    }
    let mut bytes = Vec::with_capacity(chars.len());
    for c in chars.into_iter().filter(|c| *c != MAPPED_MARK) {
        if MAPPED_BYTES.contains(&c) {
            bytes.push((c - 0xE000) as u8);
        } else if let Some(ch) = char::from_u32(c) {
            bytes.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    encoding_rs::GB18030
        .decode_without_bom_handling(&bytes)
        .0
        .into_owned()
}

/// The problem for a decoder result code: a missing or wrong password (RAR4 has no
/// password check, a wrong one shows as bad data) or a broken archive.
fn failure(code: c_int, password: bool, asked: bool) -> ProblemKind {
    match code {
        ffi::ERAR_MISSING_PASSWORD | ffi::ERAR_BAD_PASSWORD => ProblemKind::EncryptedAttachment,
        ffi::ERAR_BAD_DATA | ffi::ERAR_BAD_ARCHIVE if password || asked => {
            ProblemKind::EncryptedAttachment
        }
        _ => ProblemKind::CorruptAttachment,
    }
}

fn expand_with(bytes: &[u8], limits: &Limits, budget: u64, password: Option<&str>) -> Expanded {
    let mut out = Expanded::default();
    let Ok((_file, name)) = memory_file(bytes) else {
        push(&mut out.problems, ProblemKind::CorruptAttachment.as_str());
        return out;
    };
    let mut st = Box::new(State {
        password: password.map_or_else(Vec::new, |p| {
            p.chars().map(|c| c as libc::wchar_t).chain([0]).collect()
        }),
        asked: false,
        buf: Vec::new(),
        cap: 0,
        over: false,
    });
    let mut open = ffi::OpenArchiveDataEx::new(name.as_ptr(), ffi::RAR_OM_EXTRACT);
    open.callback = Some(callback);
    open.user_data = &mut *st as *mut State as ffi::LPARAM;
    // SAFETY: `open` points at a NUL-terminated name and our callback with its State,
    // both alive until `handle` is dropped (declared after them, dropped first). The
    // decoder writes its results into `open` (the binding declares the pointer const).
    let open_ptr = std::ptr::from_mut(&mut open).cast_const();
    let handle = Handle(unsafe { ffi::RAROpenArchiveEx(open_ptr) });
    if handle.0.is_null() || open.open_result != 0 {
        let p = failure(open.open_result as c_int, password.is_some(), st.asked);
        push(&mut out.problems, p.as_str());
        return out;
    }
    let solid = open.flags & ffi::ROADF_SOLID != 0;
    // A RAR compresses members together when solid: like 7z, the ratio is judged on
    // the archive as a whole.
    let ratio_cap = (bytes.len() as u64)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR);
    let mut total = 0u64;
    let mut seen = 0usize;
    let mut headers = 0usize;
    let mut head = Box::<ffi::HeaderDataEx>::default();
    loop {
        // SAFETY: an open handle and a header struct of the size the decoder expects,
        // which it fills (the binding declares the pointer const).
        let head_ptr = std::ptr::from_mut(&mut *head).cast_const();
        let r = unsafe { ffi::RARReadHeaderEx(handle.0, head_ptr) };
        match r {
            ffi::ERAR_SUCCESS => headers += 1,
            ffi::ERAR_END_ARCHIVE => {
                // rar writes no archive without a file or folder in it: one that ends
                // before its first header is cut short.
                if headers == 0 {
                    push(&mut out.problems, ProblemKind::CorruptAttachment.as_str());
                }
                break;
            }
            code => {
                let p = failure(code, password.is_some(), st.asked);
                push(&mut out.problems, p.as_str());
                break;
            }
        }
        let member = wide_name(&head.filename_w);
        let skip = |h: &Handle| {
            // SAFETY: an open handle positioned after a header just read.
            unsafe { ffi::RARProcessFileW(h.0, ffi::RAR_SKIP, std::ptr::null(), std::ptr::null()) }
        };
        if head.flags & ffi::RHDF_DIRECTORY != 0 {
            skip(&handle);
            continue;
        }
        seen += 1;
        if seen > limits.max_entries {
            push(&mut out.problems, ProblemKind::TooManyEntries.as_str());
            break;
        }
        if member.starts_with("__MACOSX/") || member.ends_with(".DS_Store") {
            skip(&handle);
            continue;
        }
        let mut problems: Vec<String> = Vec::new();
        let mut keep = Vec::new();
        let mut stop = false;
        let declared = u64::from(head.unp_size_high) << 32 | u64::from(head.unp_size);
        let remaining = budget.min(ratio_cap).saturating_sub(total);
        let cap = limits.max_attachment_bytes.min(remaining);
        let too_big = if cap == limits.max_attachment_bytes && cap < remaining {
            ProblemKind::OverSize
        } else {
            ProblemKind::ZipBomb
        };
        if head.flags & (ffi::RHDF_SPLITBEFORE | ffi::RHDF_SPLITAFTER) != 0 {
            // One volume of a multi-volume set: the member is not whole here.
            problems.push(ProblemKind::UnsupportedArchive.as_str().into());
            push(&mut out.problems, ProblemKind::UnsupportedArchive.as_str());
            stop = solid || skip(&handle) != ffi::ERAR_SUCCESS;
        } else if head.flags & ffi::RHDF_ENCRYPTED != 0 && password.is_none() {
            problems.push(ProblemKind::EncryptedAttachment.as_str().into());
            push(&mut out.problems, ProblemKind::EncryptedAttachment.as_str());
            stop = solid || skip(&handle) != ffi::ERAR_SUCCESS;
        } else if declared > cap {
            // Refused by its declared size, without decoding it.
            problems.push(too_big.as_str().into());
            push(&mut out.problems, too_big.as_str());
            total = total.saturating_add(cap);
            stop = too_big == ProblemKind::ZipBomb || solid || skip(&handle) != ffi::ERAR_SUCCESS;
        } else {
            st.buf = Vec::with_capacity(declared.min(16 << 20) as usize);
            st.cap = cap;
            st.over = false;
            // SAFETY: as above; test mode writes nothing, the data reach the callback.
            let r = unsafe {
                ffi::RARProcessFileW(handle.0, ffi::RAR_TEST, std::ptr::null(), std::ptr::null())
            };
            if st.over {
                // More than the header said: the decoder was stopped mid-member.
                problems.push(too_big.as_str().into());
                push(&mut out.problems, too_big.as_str());
                total = total.saturating_add(cap);
                stop = true;
            } else if r != ffi::ERAR_SUCCESS {
                let p = failure(r, password.is_some(), st.asked);
                problems.push(p.as_str().into());
                push(&mut out.problems, p.as_str());
                // A bad checksum leaves the decoder at the next header; anything else
                // leaves it nowhere we can trust.
                stop = r != ffi::ERAR_BAD_DATA || solid;
            } else {
                keep = std::mem::take(&mut st.buf);
                total = total.saturating_add(keep.len() as u64);
            }
        }
        out.members.push(Member {
            name: member,
            bytes: keep,
            problems,
        });
        if stop {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests;
