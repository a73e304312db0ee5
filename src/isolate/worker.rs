//! The parent side of the persistent parser worker: one warm child process
//! (`<exe> __parse-worker`) that parses document after document, so isolation costs a
//! pipe round trip per document instead of a process spawn.
//!
//! Guarantees kept from the one-shot child: the worker runs in the box of
//! [`super::sandbox`] (RLIMIT_AS, its own process group, no environment, no network); a request that takes longer than the timeout gets the whole group
//! SIGKILLed by a watchdog thread and answers `FormError::Corrupt`. A worker that dies,
//! answers garbage, or announces an oversized answer costs that one document and is
//! replaced lazily on the next request. Concurrent callers share the worker through a
//! mutex: the pipeline parses one message at a time, and on this 2-core machine a pool
//! would only make parses compete for the same cores.

use super::frame::{self, FrameError};
use super::sandbox::{self, Limits};
use super::IsolateOptions;
use crate::forms::{FormError, ParsedForm};
use std::io::{BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

mod error;
mod watchdog;

pub use error::WorkerError;
use watchdog::Watchdog;

/// A worker is replaced after this many documents. The parser keeps no state between
/// documents, but glibc's allocator keeps freed memory mapped and fragmented, and
/// RLIMIT_AS counts all of it; retiring the worker now and then bounds that drift
/// (and any leak we do not know about) for the price of one spawn (a few ms) per 1000
/// parses, well under 1% of their time.
pub const RECYCLE_AFTER: u64 = 1000;
/// A worker is also replaced as soon as its resident memory passes this, so a huge
/// document does not leave hundreds of MB sitting in an idle process on a small box.
pub const MAX_IDLE_RSS: u64 = 256 << 20;

/// One warm parser worker behind a mutex; see the module doc.
pub struct Worker {
    opts: IsolateOptions,
    recycle_after: u64,
    max_rss: u64,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    live: Option<Live>,
    watchdog: Option<Watchdog>,
    spawned: u64,
}

struct Live {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    served: u64,
}

impl Worker {
    /// A handle; the process is started by the first request, not here.
    pub fn new(opts: IsolateOptions) -> Worker {
        Worker {
            opts,
            recycle_after: RECYCLE_AFTER,
            max_rss: MAX_IDLE_RSS,
            slot: Mutex::new(Slot::default()),
        }
    }

    /// Replaces the worker after `requests` documents or above `max_rss` bytes resident.
    pub fn with_recycling(mut self, requests: u64, max_rss: u64) -> Worker {
        self.recycle_after = requests.max(1);
        self.max_rss = max_rss;
        self
    }

    pub fn options(&self) -> &IsolateOptions {
        &self.opts
    }

    /// Pid of the current worker process, if one is running (for tests and logs).
    pub fn worker_pid(&self) -> Option<u32> {
        self.lock().live.as_ref().map(|l| l.child.id())
    }

    /// How many worker processes this handle has started so far.
    pub fn spawned(&self) -> u64 {
        self.lock().spawned
    }

    /// Reads one electronic document like [`super::read_electronic`] (conversion, then
    /// precheck and parse), the precheck and parse done by the warm worker only.
    pub fn read_electronic(&self, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
        super::read_electronic_via(
            &self.opts,
            format,
            bytes,
            super::Precheck::ChildOnly,
            &|f, b| self.parse(f, b),
        )
    }

    /// Parses `bytes` as `format` in the worker; no conversion or precheck here.
    pub fn parse(&self, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
        self.request::<Result<ParsedForm, FormError>>(format, bytes)?
    }

    /// Expands a 7z or RAR archive (`format`) in the worker (its memory cap and
    /// timeout), within `limits` and the message's remaining expansion `budget`; an
    /// encrypted one with the first of `passwords` that opens it.
    pub fn expand(
        &self,
        format: crate::domain::DocFormat,
        bytes: &[u8],
        limits: &crate::extract::Limits,
        budget: u64,
        passwords: &[String],
    ) -> Result<crate::extract::expanded::Expanded, FormError> {
        let request = match format {
            crate::domain::DocFormat::Rar => super::serve::EXPAND_RAR,
            _ => super::serve::EXPAND_7Z,
        };
        let doc = super::serve::expand_request(bytes, limits, budget, passwords);
        self.request::<crate::extract::expanded::Expanded>(request, &doc)
    }

    /// Reads an encrypted Office file with `password` in the worker: decrypted and
    /// parsed there, the plain bytes never leave it.
    pub fn read_encrypted(
        &self,
        format: &str,
        bytes: &[u8],
        password: &str,
    ) -> Result<ParsedForm, FormError> {
        let doc = super::serve::decrypt_request(format, bytes, password);
        self.request::<Result<ParsedForm, FormError>>(super::serve::DECRYPT, &doc)?
    }

    /// Decrypts a Word 97 file with `password` in the worker; the plain .doc comes
    /// back to be read like any other (through LibreOffice, which the worker does not
    /// run). A wrong password is `FormError::Encrypted`.
    pub fn decrypt_word97(&self, bytes: &[u8], password: &str) -> Result<Vec<u8>, FormError> {
        let doc = super::serve::decrypt_request("doc", bytes, password);
        self.request::<Result<super::serve::Decrypted, FormError>>(
            super::serve::DECRYPT_WORD97,
            &doc,
        )?
        .map(|d| d.bytes)
    }

    /// One request, answered by a live worker (a fresh one once if the warm one had
    /// died in between).
    fn request<T: serde::de::DeserializeOwned>(
        &self,
        format: &str,
        bytes: &[u8],
    ) -> Result<T, FormError> {
        let mut slot = self.lock();
        for attempt in 0..2 {
            let fresh = self.ensure_live(&mut slot)?;
            match self.exchange::<T>(&mut slot, format, bytes) {
                Ok(answer) => {
                    self.maybe_recycle(&mut slot);
                    return Ok(answer);
                }
                // A worker that had served other documents may have died before this
                // one reached it (killed from outside, hit its alarm while idle): that
                // is not this document's fault, so it gets one fresh worker. A document
                // that kills a fresh worker too is reported.
                Err(WorkerError::Gone { .. }) if !fresh && attempt == 0 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // Unreachable: the second attempt always returns above.
        Err(FormError::Corrupt(format!("文档解析进程未应答 ({format})")))
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        match self.slot.lock() {
            Ok(g) => g,
            // A panic while holding the lock may have left the worker mid-request: its
            // stream can no longer be trusted to be in step, so it is replaced.
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                if let Some(live) = g.live.take() {
                    retire(live);
                }
                self.slot.clear_poison();
                g
            }
        }
    }

    /// Makes sure a live worker is there; true when it was started just now.
    fn ensure_live(&self, slot: &mut Slot) -> Result<bool, WorkerError> {
        if let Some(live) = slot.live.as_mut() {
            // Reap a worker that exited while idle (killed, alarm, OOM) before writing
            // to it, rather than finding out from a broken pipe.
            match live.child.try_wait() {
                Ok(None) => return Ok(false),
                Ok(Some(_)) | Err(_) => {
                    if let Some(dead) = slot.live.take() {
                        retire(dead);
                    }
                }
            }
        }
        if slot.watchdog.is_none() {
            slot.watchdog = Some(Watchdog::start().map_err(WorkerError::Watchdog)?);
        }
        slot.live = Some(self.spawn()?);
        slot.spawned += 1;
        Ok(true)
    }

    fn spawn(&self) -> Result<Live, WorkerError> {
        // The worker's own alarm is a backstop behind the parent's watchdog.
        let alarm_s = self.opts.timeout.as_secs().saturating_add(3).min(3600);
        let mut cmd = sandbox::command(&self.opts.exe, None);
        super::pass_call(&mut cmd);
        cmd.arg("__parse-worker")
            .arg("--alarm-s")
            .arg(alarm_s.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // No RLIMIT_CPU here, unlike the one-shot child: CPU time adds up over a
        // worker's life, so a per-process CPU cap would end up killing a healthy worker
        // in the middle of an innocent document. The watchdog (wall clock, per request)
        // and the worker's alarm bound each parse instead.
        sandbox::confine(
            &mut cmd,
            Limits {
                memory_mb: self.opts.memory_mb,
                cpu_s: None,
            },
        );
        let spawn_err = |source| WorkerError::Spawn {
            exe: self.opts.exe.clone(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            sandbox::kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(spawn_err(std::io::Error::other("no pipes to the worker")));
        };
        Ok(Live {
            child,
            stdin,
            stdout: BufReader::with_capacity(64 << 10, stdout),
            served: 0,
        })
    }

    /// One request and its answer under the watchdog. On any error the worker is
    /// retired (its stream may be out of step) and the slot left empty.
    fn exchange<T: serde::de::DeserializeOwned>(
        &self,
        slot: &mut Slot,
        format: &str,
        bytes: &[u8],
    ) -> Result<T, WorkerError> {
        let (Some(live), Some(dog)) = (slot.live.as_mut(), slot.watchdog.as_ref()) else {
            return Err(WorkerError::Gone {
                format: format.into(),
                len: bytes.len(),
                status: "no worker".into(),
            });
        };
        dog.arm(live.child.id(), Instant::now() + self.opts.timeout);
        let sent =
            frame::write_request(&mut live.stdin, format, bytes).and_then(|_| live.stdin.flush());
        let answer = match sent {
            Ok(()) => Some(frame::read_answer(&mut live.stdout)),
            Err(_) => None,
        };
        let fired = dog.disarm();
        let failed = |slot: &mut Slot| match slot.live.take() {
            Some(l) => retire(l),
            None => "no worker".into(),
        };
        let (format, len) = (format.to_string(), bytes.len());
        match answer {
            Some(Ok(json)) => match serde_json::from_slice(&json) {
                Ok(answer) => {
                    live.served += 1;
                    // The answer is whole even if the deadline passed as it arrived;
                    // the killed worker is then replaced next time.
                    if fired {
                        failed(slot);
                    }
                    Ok(answer)
                }
                Err(source) => {
                    failed(slot);
                    Err(WorkerError::Garbage { format, source })
                }
            },
            _ if fired => {
                failed(slot);
                Err(WorkerError::Timeout {
                    format,
                    len,
                    ms: self.opts.timeout.as_millis(),
                })
            }
            None | Some(Err(FrameError::Eof)) => Err(WorkerError::Gone {
                format,
                len,
                status: failed(slot),
            }),
            Some(Err(FrameError::TooLarge {
                len: announced,
                max,
            })) => {
                failed(slot);
                Err(WorkerError::Oversized {
                    format,
                    announced,
                    max,
                })
            }
            Some(Err(source)) => Err(WorkerError::Truncated {
                format,
                len,
                source,
                status: failed(slot),
            }),
        }
    }

    fn maybe_recycle(&self, slot: &mut Slot) {
        let Some(live) = slot.live.as_ref() else {
            return;
        };
        let too_big = resident_bytes(live.child.id()).is_some_and(|rss| rss > self.max_rss);
        if live.served >= self.recycle_after || too_big {
            if let Some(l) = slot.live.take() {
                retire(l);
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let slot = self.slot.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(l) = slot.live.take() {
            retire(l);
        }
        // The watchdog's own Drop stops and joins its thread.
        slot.watchdog = None;
    }
}

/// Ends a worker (idle or not) and reaps it; returns how it ended, for messages.
fn retire(mut live: Live) -> String {
    drop(live.stdin);
    sandbox::kill_group(live.child.id());
    let _ = live.child.kill();
    match live.child.wait() {
        Ok(st) => describe(st),
        Err(e) => format!("wait failed: {e}"),
    }
}

fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (_, Some(libc::SIGKILL)) => "killed (SIGKILL: memory cap, timeout or from outside)".into(),
        (_, Some(libc::SIGABRT)) => "aborted (SIGABRT: out of memory under the cap?)".into(),
        _ => st.to_string(),
    }
}

/// Resident set of a process from /proc, in bytes.
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

#[cfg(test)]
mod tests;
