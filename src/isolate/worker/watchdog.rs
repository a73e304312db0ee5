//! The parser worker's watchdog: one thread per worker handle that SIGKILLs the process
//! group of a request that outlives its deadline (the wall-clock bound of each parse).

use crate::isolate::sandbox;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

/// A thread that SIGKILLs the armed process group when its deadline passes. Arming and
/// disarming take the same lock as the kill, so once `disarm` returns no kill can
/// follow, and the pid cannot have been reused: the worker is reaped only after that.
pub(super) struct Watchdog {
    shared: Arc<(Mutex<DogState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct DogState {
    armed: Option<(u32, Instant)>,
    fired: bool,
    quit: bool,
}

impl Watchdog {
    pub(super) fn start() -> std::io::Result<Watchdog> {
        let shared = Arc::new((Mutex::new(DogState::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("parse-watchdog".into())
            .spawn(move || watch(&theirs))?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    fn state(&self) -> MutexGuard<'_, DogState> {
        // The state is plain data, valid whatever a panicking holder was doing.
        self.shared.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn arm(&self, pid: u32, deadline: Instant) {
        let mut s = self.state();
        s.armed = Some((pid, deadline));
        s.fired = false;
        self.shared.1.notify_one();
    }

    /// Stops watching; true when the deadline had passed and the group was killed.
    pub(super) fn disarm(&self) -> bool {
        let mut s = self.state();
        s.armed = None;
        std::mem::take(&mut s.fired)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.state().quit = true;
        self.shared.1.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(shared: &(Mutex<DogState>, Condvar)) {
    let (lock, cv) = shared;
    let mut s = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if s.quit {
            return;
        }
        s = match s.armed {
            None => cv.wait(s).unwrap_or_else(PoisonError::into_inner),
            Some((pid, deadline)) => {
                let now = Instant::now();
                if now >= deadline {
                    sandbox::kill_group(pid);
                    s.armed = None;
                    s.fired = true;
                    continue;
                }
                cv.wait_timeout(s, deadline - now)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0)
            }
        };
    }
}
