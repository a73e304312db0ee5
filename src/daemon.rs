//! `kepu-intake run`: the daemon loop. Connect → catch up → process → receipts → wait
//! (IDLE or poll), again and again until the shutdown token fires. A dropped connection
//! or a server error leads to a reconnect after a capped exponential backoff; a wrong
//! password at start-up, or any error under `--once`, ends the run with an error.
//!
//! The daemon owns its long-lived parts for the whole run: one connection for the
//! fetch and the receipts, and one [`Processor`] — one `Pipeline` with its warm parser
//! worker and a connection of its own (processing runs alongside the fetch) — instead
//! of building them again every round (every second during a catch-up).
//!
//! Other processes (`import`, the page, `review`, `receipts --retry`) write the same
//! database while the daemon waits: every 2 s it looks for work they left (mail
//! recorded but not processed, a receipt due) and ends the wait early for it.

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::fetch::{self, Wake};
use crate::pipeline::Pipeline;
use crate::store::{DataLock, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument};

/// Capped exponential backoff: 1 s, 2 s, 4 s … up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Backoff {
        Backoff {
            next: Duration::from_secs(1),
            max: max.max(Duration::from_secs(1)),
        }
    }
    pub fn reset(&mut self) {
        self.next = Duration::from_secs(1);
    }
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

/// Runs the daemon (or one catch-up with `once`).
pub async fn run(cfg: &Config, once: bool, shutdown: CancellationToken) -> Result<()> {
    if !cfg.imap.is_configured() {
        return Err(Error::Config(
            "imap.host: 未配置邮箱服务器 not set — configure [imap] in the config file, or use `kepu-intake import PATH` for files".into(),
        ));
    }
    let data_dir = cfg.storage.data_dir.clone();
    let _lock = DataLock::acquire(&data_dir)?;
    // A broken receipt template fails now, not at every drain.
    crate::receipts::template::Template::load(cfg.receipts.template_file.as_deref())?;
    // Resolve the secret now so a missing one fails at start-up, not at first connect.
    cfg.imap.secret().resolve("imap")?;
    let store = Store::open(&data_dir)?;
    crate::db::limit_sqlite_heap(crate::db::DAEMON_HEAP_KIB);
    let mut db = Db::open(&cfg.storage.db_path())?;
    let processor = Processor::open(cfg)?;
    // Mailbox state from before accounts existed belongs to this (the first) account.
    let adopted = db.adopt_legacy_mailboxes(&cfg.imap.account())?;
    if adopted > 0 {
        info!(
            account = %cfg.imap.account(),
            rows = adopted,
            "mailbox state from before accounts adopted"
        );
    }
    let deadline = cfg.intake.deadline()?;
    let mut backoff = Backoff::new(Duration::from_secs(cfg.imap.max_backoff_s));
    let mut ever_connected = false;
    // Anything recorded but not processed by an earlier run is finished first. In the
    // daemon a failure here (a full disk, say) is retried after the next catch-up rather
    // than ending the service.
    // `true`: also rebuild the applications, which a process killed between its last
    // batch commit and the rebuild left stale (nothing is pending then, so the usual
    // rebuild-after-new-work would never run).
    if let Err(e) = process_round(cfg, &processor, &mut db, &shutdown, true).await {
        if once {
            return Err(e);
        }
        report_stage_error(&e, "processing");
    }
    'reconnect: loop {
        if shutdown.is_cancelled() {
            break;
        }
        let opened = tokio::select! {
            r = fetch::open(&cfg.imap) => r,
            _ = shutdown.cancelled() => break,
        };
        let mut conn = match opened {
            Ok(c) => {
                info!(host = %c.host, mailbox = %cfg.imap.mailbox, uidvalidity = c.uidvalidity, idle = c.idle, "connected");
                backoff.reset();
                ever_connected = true;
                c
            }
            Err(e) => {
                let fatal = once || (!ever_connected && matches!(e, Error::ImapAuth { .. }));
                if fatal {
                    return Err(e);
                }
                let d = backoff.next_delay();
                error!(error = %e, retry_in_s = d.as_secs(), "cannot connect to the mailbox; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(d) => continue 'reconnect,
                    _ = shutdown.cancelled() => break 'reconnect,
                }
            }
        };
        loop {
            let span = info_span!("poll", mailbox = %cfg.imap.mailbox);
            let fetched = CancellationToken::new();
            let catching_up = async {
                let r =
                    fetch::catch_up(&mut conn, &cfg.imap, &mut db, &store, &deadline, &shutdown)
                        .instrument(span)
                        .await;
                fetched.cancel();
                r
            };
            let (caught, alongside) = tokio::join!(
                catching_up,
                process_alongside(&processor, &fetched, &shutdown)
            );
            if let Err(e) = alongside {
                if once {
                    return Err(e);
                }
                // What was recorded stays pending; the `process` below or the next
                // round takes it again.
                report_stage_error(&e, "processing");
            }
            match caught {
                Ok(s) => {
                    if s.new + s.duplicates + s.rekeyed > 0 {
                        info!(
                            new = s.new,
                            duplicates = s.duplicates,
                            rekeyed = s.rekeyed,
                            "recorded"
                        );
                    }
                }
                Err(e) if once => return Err(e),
                Err(e @ (Error::Imap { .. } | Error::ImapAuth { .. })) => {
                    warn!(error = %e, "connection lost during fetch; reconnecting");
                    break;
                }
                Err(e) => {
                    // The store or the database failed, not the connection: nothing of
                    // the chunk was recorded, so the next catch-up fetches it again.
                    report_stage_error(&e, "recording fetched mail");
                    break;
                }
            }
            if let Err(e) = process_round(cfg, &processor, &mut db, &shutdown, false).await {
                if once {
                    return Err(e);
                }
                report_stage_error(&e, "processing");
                break;
            }
            if once || shutdown.is_cancelled() {
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.session.logout()).await;
                break 'reconnect;
            }
            let limit = next_receipt_due(cfg, &db);
            // Other processes (import, the page, `receipts --retry`) write the same
            // database: work they leave for the daemon ends the wait early.
            let wake = shutdown.child_token();
            let watcher = tokio::spawn(watch_for_work(cfg.clone(), wake.clone()));
            let waited = fetch::wait(conn, &cfg.imap, limit, &wake).await;
            watcher.abort();
            match waited {
                Ok((c, Wake::Shutdown)) if !shutdown.is_cancelled() => conn = c,
                Ok((c, Wake::Shutdown)) => {
                    let mut c = c;
                    let _ = tokio::time::timeout(Duration::from_secs(5), c.session.logout()).await;
                    break 'reconnect;
                }
                Ok((c, _)) => conn = c,
                Err(e) => {
                    warn!(error = %e, "connection lost while waiting; reconnecting");
                    break;
                }
            }
        }
        let d = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    info!("stopped cleanly");
    Ok(())
}

/// Logs a failure of a local stage (store, database, processing) as an ERROR that
/// names the problem; a full disk is said in so many words.
fn report_stage_error(e: &Error, stage: &str) {
    if e.is_disk_full() {
        error!(
            error = %e,
            stage,
            "磁盘已满 disk full: no space left for the data dir; nothing is lost (mail stays on the server, the database rolls back), retrying — free some space"
        );
    } else {
        error!(error = %e, stage, "local failure; retrying after backoff");
    }
}

/// How long until the earliest deferred receipt falls due, so the wait for new mail
/// ends then (otherwise a receipt deferred during an SMTP outage would wait for the
/// next mail or the IDLE renewal, up to 25 minutes).
fn next_receipt_due(cfg: &Config, db: &Db) -> Option<Duration> {
    if cfg.receipts.mode == crate::config::ReceiptMode::Off {
        return None;
    }
    let due = db.receipt_next_due().ok().flatten()?;
    let at = crate::time::parse_rfc3339(&due)?;
    let left = at - crate::time::now();
    Some(left.to_std().unwrap_or_default())
}

/// How often the waiting daemon looks for work other processes left in the database.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Cancels `wake` once the database holds work for the daemon: messages recorded but
/// not processed, a receipt due now (an operator's `receipts --retry` or
/// `--approve`, a receipt an `import` queued while this daemon held the outbox), or a
/// reminder just approved on the page.
/// Cheap: two indexed queries every [`WATCH_EVERY`] on one connection kept for the
/// whole wait.
async fn watch_for_work(cfg: Config, wake: CancellationToken) {
    let receipts = cfg.receipts.mode != crate::config::ReceiptMode::Off;
    let path = cfg.storage.db_path();
    let mut conn: Option<Db> = None;
    loop {
        tokio::select! {
            _ = wake.cancelled() => return,
            _ = tokio::time::sleep(WATCH_EVERY) => {}
        }
        let path = path.clone();
        let held = conn.take();
        let looked = tokio::task::spawn_blocking(move || -> Result<(Db, bool)> {
            let db = match held {
                Some(db) => db,
                None => Db::open(&path)?,
            };
            let due = db.work_waiting(receipts, &crate::time::fmt(&crate::time::now()))?
                || (receipts && db.reminders_newly_queued()?);
            Ok((db, due))
        })
        .await;
        match looked {
            Ok(Ok((_, true))) => {
                info!("work left by another process: waking up");
                wake.cancel();
                return;
            }
            Ok(Ok((db, false))) => conn = Some(db),
            // A failed look (the database busy or gone) is tried again, on a new
            // connection, at the next tick; the wait itself goes on.
            Ok(Err(_)) | Err(_) => {}
        }
    }
}

/// How often processing looks for newly recorded mail while a catch-up is running.
const ALONGSIDE_EVERY: Duration = Duration::from_secs(1);

/// Processes what each committed chunk recorded while the catch-up goes on, so a long
/// catch-up (first start, or after an outage) uses both the network and the CPU
/// instead of downloading everything first. Chunks are committed before they are
/// pending, so this sees only whole chunks; it stops when `fetched` is cancelled and
/// the caller's [`process`] takes whatever is left, then the receipts.
async fn process_alongside(
    processor: &Processor,
    fetched: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<()> {
    loop {
        tokio::select! {
            _ = fetched.cancelled() => return Ok(()),
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(ALONGSIDE_EVERY) => {}
        }
        processor.stages(shutdown, false).await?;
    }
}

/// One round after a fetch: the processing stages, then the receipt outbox on the
/// daemon's connection, then the approved reminders. `rebuild`: rebuild the applications even when no message was
/// pending (start-up after a possible crash).
async fn process_round(
    cfg: &Config,
    processor: &Processor,
    db: &mut Db,
    shutdown: &CancellationToken,
    rebuild: bool,
) -> Result<()> {
    processor.stages(shutdown, rebuild).await?;
    crate::receipts::send_due(cfg, db, shutdown).await?;
    // Reminders the office approved (the page answers at once and leaves them here).
    crate::remind::outbox::drain(cfg, db, shutdown)
        .await
        .map(|_| ())
}

/// Runs the processing stages and the receipt outbox once (after `import`), with parts
/// built for this one round.
pub async fn process(cfg: &Config, shutdown: &CancellationToken) -> Result<()> {
    let processor = Processor::open(cfg)?;
    let mut db = Db::open(&cfg.storage.db_path())?;
    process_round(cfg, &processor, &mut db, shutdown, false).await
}

/// The processing parts kept for the life of a run: one [`Pipeline`] (so one warm
/// parser worker, started by the first document and reused by every later one) and
/// its own database connection. Rounds run on a blocking thread, one at a time, so the
/// IMAP connection stays responsive.
#[derive(Clone)]
pub struct Processor {
    parts: Arc<Mutex<Parts>>,
}

struct Parts {
    pipeline: Pipeline,
    db: Db,
}

impl Processor {
    pub fn open(cfg: &Config) -> Result<Processor> {
        Ok(Processor {
            parts: Arc::new(Mutex::new(Parts {
                pipeline: Pipeline::new(cfg)?,
                db: Db::open(&cfg.storage.db_path())?,
            })),
        })
    }

    /// The processing stages over every pending message, on a blocking thread.
    pub async fn stages(&self, shutdown: &CancellationToken, rebuild: bool) -> Result<()> {
        let parts = Arc::clone(&self.parts);
        let token = shutdown.clone();
        let joined = tokio::task::spawn_blocking(move || -> Result<()> {
            // A panic in an earlier round poisoned the lock; the parts stay usable
            // (the pipeline guards each message, the connection rolls back).
            let mut guard = parts.lock().unwrap_or_else(|e| e.into_inner());
            let Parts { pipeline, db } = &mut *guard;
            let stats = pipeline.process_pending(db, &token)?;
            if rebuild && stats.processed == 0 && !token.is_cancelled() {
                pipeline.rebuild_applications(db)?;
            }
            if stats.processed > 0 {
                return_free_memory();
                info!(
                    processed = stats.processed,
                    failed = stats.failed,
                    sqlite_kib = crate::db::sqlite_memory_kib(),
                    "processed"
                );
            }
            Ok(())
        })
        .await;
        match joined {
            Ok(r) => r,
            // A panic outside the per-message guard: logged, the daemon goes on.
            Err(e) => {
                error!(error = %e, "processing task failed");
                Ok(())
            }
        }
    }
}

/// Hands the allocator's free pages back to the system after a round that did work.
/// The scan workers free their page buffers in their own malloc arenas, where free
/// space below an arena's top stays resident; between rounds none of it is needed.
fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists, under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let mut b = Backoff::new(Duration::from_secs(5));
        let v: Vec<u64> = (0..5).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(v, vec![1, 2, 4, 5, 5]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
    }
}
