//! `kepu-intake run`: the daemon loop. Connect → catch up → process → receipts → wait
//! (IDLE or poll), again and again until the shutdown token fires. A dropped connection
//! or a server error leads to a reconnect after a capped exponential backoff; a wrong
//! password at start-up, or any error under `--once`, ends the run with an error.

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::fetch::{self, Wake};
use crate::pipeline::Pipeline;
use crate::store::{DataLock, Store};
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
    let mut db = Db::open(&cfg.storage.db_path())?;
    let deadline = cfg.intake.deadline()?;
    let mut backoff = Backoff::new(Duration::from_secs(cfg.imap.max_backoff_s));
    let mut ever_connected = false;
    // Anything recorded but not processed by an earlier run is finished first. In the
    // daemon a failure here (a full disk, say) is retried after the next catch-up rather
    // than ending the service.
    // `true`: also rebuild the applications, which a process killed between its last
    // batch commit and the rebuild left stale (nothing is pending then, so the usual
    // rebuild-after-new-work would never run).
    if let Err(e) = process_with(cfg, &shutdown, true).await {
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
            let (caught, alongside) =
                tokio::join!(catching_up, process_alongside(cfg, &fetched, &shutdown));
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
            if let Err(e) = process(cfg, &shutdown).await {
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
/// not processed, or a receipt due now (an operator's `receipts --retry`, a receipt an
/// `import` queued while this daemon held the outbox). Cheap: two indexed queries
/// every [`WATCH_EVERY`].
async fn watch_for_work(cfg: Config, wake: CancellationToken) {
    loop {
        tokio::select! {
            _ = wake.cancelled() => return,
            _ = tokio::time::sleep(WATCH_EVERY) => {}
        }
        let cfg2 = cfg.clone();
        let due = tokio::task::spawn_blocking(move || -> Result<bool> {
            let db = Db::open(&cfg2.storage.db_path())?;
            let receipts = cfg2.receipts.mode != crate::config::ReceiptMode::Off;
            db.work_waiting(receipts, &crate::time::fmt(&crate::time::now()))
        })
        .await;
        if let Ok(Ok(true)) = due {
            info!("work left by another process: waking up");
            wake.cancel();
            return;
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
    cfg: &Config,
    fetched: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<()> {
    loop {
        tokio::select! {
            _ = fetched.cancelled() => return Ok(()),
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(ALONGSIDE_EVERY) => {}
        }
        run_stages(cfg, shutdown, false).await?;
    }
}

/// Runs the processing stages and the receipt outbox on a blocking thread with its own
/// database connection, so the IMAP connection stays responsive.
pub async fn process(cfg: &Config, shutdown: &CancellationToken) -> Result<()> {
    process_with(cfg, shutdown, false).await
}

/// [`process`], rebuilding the applications even when no message was pending when
/// `rebuild` is set (start-up after a possible crash).
pub async fn process_with(cfg: &Config, shutdown: &CancellationToken, rebuild: bool) -> Result<()> {
    run_stages(cfg, shutdown, rebuild).await?;
    crate::receipts_glue::drain(cfg, shutdown).await
}

/// The processing stages over every pending message, on a blocking thread.
async fn run_stages(cfg: &Config, shutdown: &CancellationToken, rebuild: bool) -> Result<()> {
    let cfg2 = cfg.clone();
    let token = shutdown.clone();
    let joined = tokio::task::spawn_blocking(move || -> Result<()> {
        let pipeline = Pipeline::new(&cfg2)?;
        let mut db = Db::open(&cfg2.storage.db_path())?;
        let stats = pipeline.process_pending(&mut db, &token)?;
        if rebuild && stats.processed == 0 && !token.is_cancelled() {
            pipeline.rebuild_applications(&mut db)?;
        }
        if stats.processed > 0 {
            info!(
                processed = stats.processed,
                failed = stats.failed,
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
