//! Progress lines for the operator: the log's counts of a long run and `reprocess`'s
//! `OCR n/N` lines on stderr.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::info;

/// Progress of long runs (reprocess, a big first catch-up) for the operator's log.
pub(super) struct Progress {
    pub(super) total: usize,
    pub(super) started: Instant,
    pub(super) last: Instant,
}

impl Progress {
    pub(super) fn new(total: usize) -> Progress {
        Progress {
            total,
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    pub(super) fn tick(&mut self, done: usize) {
        if self.total > 32 && (self.last.elapsed().as_secs() >= 2 || done == self.total) {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            let rate = done as f64 / secs.max(0.001);
            let left = (self.total - done) as f64 / rate.max(0.001);
            info!(
                done,
                total = self.total,
                "已处理 {done}/{} 封邮件，约 {left:.0} 秒后完成",
                self.total
            );
        }
    }
}

/// `OCR n/N` lines on stderr for the operator while `reprocess` goes through many
/// scans: cache hits count at once, analyses as each finishes; at most one line a
/// second, and the last one always.
pub(crate) struct OcrProgress {
    total: usize,
    done: AtomicUsize,
    started: Instant,
    /// When the last line was printed and the count it showed.
    last: Mutex<(Option<Instant>, usize)>,
}

impl OcrProgress {
    pub(super) fn new(total: usize) -> OcrProgress {
        OcrProgress {
            total,
            done: AtomicUsize::new(0),
            started: Instant::now(),
            last: Mutex::new((None, 0)),
        }
    }

    pub(super) fn tick(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::SeqCst) + n;
        self.print(done, false);
    }

    /// The final count, unless it was the last line printed.
    pub(super) fn finish(&self) {
        self.print(self.done.load(Ordering::SeqCst), true);
    }

    pub(super) fn print(&self, done: usize, last_call: bool) {
        // The total is counted from last time's documents; a mail may carry more now.
        let total = self.total.max(done);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.0.is_some() && last.1 == done {
            return; // this count is on screen already
        }
        let due = last.0.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !(due || done == total || last_call) {
            return;
        }
        *last = (Some(Instant::now()), done);
        let secs = self.started.elapsed().as_secs_f64();
        let left = if done == 0 {
            0.0
        } else {
            secs / done as f64 * (total - done) as f64
        };
        eprintln!("OCR {done}/{total} 份扫描件，已用 {secs:.0} 秒，约剩 {left:.0} 秒");
    }
}
