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
            Some(doc) => super::parse_untrusted(&req.format, &doc),
            None => Err(FormError::Corrupt(format!(
                "文件过大 (larger than {} MB: {} bytes)",
                super::MAX_INPUT >> 20,
                req.announced
            ))),
        };
        let written = serde_json::to_vec(&result)
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
