//! Catching up with a selected mailbox and waiting for new mail.
//!
//! Catch-up downloads everything above the cursor in bounded chunks; each chunk's raw
//! bytes are written and synced to the store, then its rows and the cursor advance
//! commit in one transaction. A crash anywhere leaves either the whole chunk recorded
//! or none of it (the re-download then finds the files already there). The next chunk
//! downloads while the previous one is written; chunks downloaded while the writer is
//! still busy are written, synced and committed together; commits stay in UID order.

use super::session::{self, Connected};
use crate::config::ImapConfig;
use crate::db::messages::{Cursor, MailboxKey, Origin, Recorded};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ingest;
use crate::store::Store;
use chrono::{DateTime, FixedOffset};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

#[derive(Debug, Default, Clone, Copy)]
pub struct CatchUp {
    pub new: usize,
    pub duplicates: usize,
    pub rekeyed: usize,
    pub already_known: usize,
}

/// Downloads and records every message above the cursor.
pub async fn catch_up(
    c: &mut Connected,
    cfg: &ImapConfig,
    db: &mut Db,
    store: &Store,
    deadline: &DateTime<FixedOffset>,
    shutdown: &CancellationToken,
) -> Result<CatchUp> {
    let t = Duration::from_secs(cfg.io_timeout_s.max(1));
    let mailbox = cfg.mailbox.as_str();
    let account = cfg.account();
    let key = MailboxKey {
        account: &account,
        mailbox,
    };
    let last_uid = match db.cursor(key)? {
        Some(cur) if cur.uidvalidity == c.uidvalidity => cur.last_uid,
        Some(cur) => {
            warn!(
                mailbox,
                old = cur.uidvalidity,
                new = c.uidvalidity,
                "UIDVALIDITY changed: rescanning the whole mailbox (known mail is matched by its bytes, not recorded again)"
            );
            0
        }
        None => 0,
    };
    let list = session::list_new(c, last_uid, t).await?;
    let mut stats = CatchUp::default();
    if list.is_empty() {
        // Still store the cursor: it carries a new UIDVALIDITY and the poll time.
        let cur = Cursor {
            uidvalidity: c.uidvalidity,
            last_uid,
        };
        db.record_batch(&[], Some((key, cur)))?;
        return Ok(stats);
    }
    info!(mailbox, count = list.len(), "new messages on the server");
    let started = std::time::Instant::now();
    // Downloaded chunks are written, synced and recorded on a blocking thread (with a
    // connection of its own) while the next ones download. When that thread is still
    // busy, the chunks downloaded meanwhile wait (up to about MAX_WAITING_BYTES) and
    // then go together: one sync and one transaction for all of them, so a slow sync
    // is paid once for several chunks instead of stalling the download each time.
    // Commits stay in UID order, each only after the previous one did.
    let mut writer = Some(Db::open(&db.path)?);
    let mut pending: Option<tokio::task::JoinHandle<(Db, Result<Vec<Recorded>>)>> = None;
    let mut waiting: Vec<session::Fetched> = Vec::new();
    let mut waiting_bytes = 0u64;
    let mut waiting_max = last_uid;
    let mut result = Ok(());
    let mut write_failed = false;
    // The job recording the chunks downloaded up to UID `chunk_max`.
    let uidvalidity = c.uidvalidity;
    let job = |chunk_max| ChunkJob {
        account: account.clone(),
        mailbox: mailbox.to_string(),
        uidvalidity,
        last_uid,
        chunk_max,
        deadline: *deadline,
        store: store.clone(),
    };
    let throttle = test_fetch_delay();
    if let Some(d) = throttle {
        warn!(
            delay_ms = d.as_millis() as u64,
            "{TEST_FETCH_DELAY_ENV} is set: every fetched chunk waits first (for tests only; unset it in service)"
        );
    }
    for chunk in session::chunks(&list, cfg.fetch_chunk as usize) {
        if shutdown.is_cancelled() {
            break;
        }
        if let Some(d) = throttle {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let fetched = match session::fetch_bodies(c, &chunk, t).await {
            Ok(f) => f,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        waiting_bytes += fetched.iter().map(|f| f.body.len() as u64).sum::<u64>();
        waiting_max = waiting_max.max(chunk.iter().copied().max().unwrap_or(last_uid));
        waiting.extend(fetched);
        let busy = pending.as_ref().is_some_and(|h| !h.is_finished());
        if busy && waiting_bytes < MAX_WAITING_BYTES {
            continue;
        }
        if let Some(h) = pending.take() {
            if let Err(e) = settle(h, &mut writer, &mut stats).await {
                result = Err(e);
                write_failed = true;
                break;
            }
        }
        let Some(wdb) = writer.take() else { break };
        pending = Some(job(waiting_max).spawn(wdb, std::mem::take(&mut waiting)));
        waiting_bytes = 0;
    }
    // What was already downloaded is recorded even when the loop stopped early
    // (shutdown, a failed download): it is on its way to disk and costs nothing more.
    if let Some(h) = pending.take() {
        let settled = settle(h, &mut writer, &mut stats).await;
        write_failed |= settled.is_err();
        if result.is_ok() {
            result = settled;
        }
    }
    if !waiting.is_empty() && !write_failed {
        if let Some(wdb) = writer.take() {
            let settled = settle(
                job(waiting_max).spawn(wdb, waiting),
                &mut writer,
                &mut stats,
            )
            .await;
            if result.is_ok() {
                result = settled;
            }
        }
    }
    info!(
        mailbox,
        new = stats.new,
        seconds = started.elapsed().as_secs_f64(),
        "caught up"
    );
    result.map(|()| stats)
}

/// Test-only: the environment variable that slows the catch-up down. Tests that prove
/// "the office writes while the daemon is busy" need a backlog that outlasts their own
/// actions on any machine; a delay before each chunk's FETCH makes that certain with a
/// small mailbox. Ignored unless set to a whole number of milliseconds; never set it
/// for the service.
pub const TEST_FETCH_DELAY_ENV: &str = "KEPU_TEST_FETCH_DELAY_MS";

/// The delay [`TEST_FETCH_DELAY_ENV`] asks for, if any (0 or garbage: none).
fn test_fetch_delay() -> Option<Duration> {
    std::env::var(TEST_FETCH_DELAY_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

/// How many downloaded bytes may wait while the previous chunks are still being
/// written and synced, before the download waits for them.
const MAX_WAITING_BYTES: u64 = 32 * 1024 * 1024;

/// What the blocking half of one chunk (or of several chunks recorded together) needs.
struct ChunkJob {
    account: String,
    mailbox: String,
    uidvalidity: u32,
    last_uid: u32,
    chunk_max: u32,
    deadline: DateTime<FixedOffset>,
    store: Store,
}

impl ChunkJob {
    /// Records `fetched` on a blocking thread with the writer connection, which comes
    /// back with the result.
    fn spawn(
        self,
        mut wdb: Db,
        fetched: Vec<session::Fetched>,
    ) -> tokio::task::JoinHandle<(Db, Result<Vec<Recorded>>)> {
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _g = span.enter();
            let r = self.record(&mut wdb, fetched);
            (wdb, r)
        })
    }

    /// Raw bytes to the store, one sync, then the rows and the cursor in one transaction.
    fn record(&self, db: &mut Db, fetched: Vec<session::Fetched>) -> Result<Vec<Recorded>> {
        let mailbox = self.mailbox.as_str();
        let mut batch = Vec::with_capacity(fetched.len());
        let mut max_uid = self.last_uid;
        for f in &fetched {
            let span = info_span!("message", mailbox, uid = f.uid);
            let _g = span.enter();
            let sha = self.store.put_raw(&f.body)?;
            let received = match f.internal_date {
                Some(at) => ingest::Receipt {
                    at,
                    estimated: false,
                },
                None => ingest::Receipt {
                    at: crate::time::now(),
                    estimated: true,
                },
            };
            let origin = Origin::Imap {
                account: self.account.clone(),
                mailbox: mailbox.to_string(),
                uidvalidity: self.uidvalidity,
                uid: f.uid,
            };
            batch.push(ingest::new_message(
                &f.body,
                sha,
                origin,
                received,
                &self.deadline,
            ));
            max_uid = max_uid.max(f.uid);
        }
        // The server may have expunged some of the chunk meanwhile: the cursor still
        // moves past the whole chunk, since those UIDs can never come back.
        max_uid = max_uid.max(self.chunk_max);
        self.store.sync()?;
        let cur = Cursor {
            uidvalidity: self.uidvalidity,
            last_uid: max_uid,
        };
        let key = MailboxKey {
            account: &self.account,
            mailbox,
        };
        db.record_batch(&batch, Some((key, cur)))
    }
}

/// Waits for a chunk's blocking half, gives its connection back and counts its rows.
async fn settle(
    h: tokio::task::JoinHandle<(Db, Result<Vec<Recorded>>)>,
    writer: &mut Option<Db>,
    stats: &mut CatchUp,
) -> Result<()> {
    let (wdb, r) = h
        .await
        .map_err(|e| Error::Other(format!("recording a fetched chunk stopped: {e}")))?;
    *writer = Some(wdb);
    for r in r? {
        match r {
            Recorded::New(_) => stats.new += 1,
            Recorded::Duplicate { .. } => stats.duplicates += 1,
            Recorded::Rekeyed(_) => stats.rekeyed += 1,
            Recorded::AlreadyKnown(_) => stats.already_known += 1,
        }
    }
    Ok(())
}

/// Why waiting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    NewMail,
    Timeout,
    Shutdown,
}

/// Waits for new mail: IDLE when offered, else a poll interval followed by NOOP.
/// `limit` shortens the wait (a deferred receipt falls due then). Returns the session
/// back (IDLE needs to own it meanwhile).
pub async fn wait(
    c: Connected,
    cfg: &ImapConfig,
    limit: Option<Duration>,
    shutdown: &CancellationToken,
) -> Result<(Connected, Wake)> {
    let cap = |d: Duration| match limit {
        Some(l) => d.min(l.max(Duration::from_secs(2))),
        None => d,
    };
    let t = Duration::from_secs(cfg.io_timeout_s.max(1));
    let Connected {
        mut session,
        uidvalidity,
        idle,
        host,
    } = c;
    let rebuild = |session| Connected {
        session,
        uidvalidity,
        idle,
        host: host.clone(),
    };
    let err = |what: &str, e: String| Error::Imap {
        host: host.clone(),
        msg: format!("{what}: {e}"),
    };
    if !idle {
        tokio::select! {
            _ = tokio::time::sleep(cap(cfg.poll_interval())) => {}
            _ = shutdown.cancelled() => return Ok((rebuild(session), Wake::Shutdown)),
        }
        tokio::time::timeout(t, session.noop())
            .await
            .map_err(|_| err("NOOP", "no answer".into()))?
            .map_err(|e| err("NOOP", e.to_string()))?;
        session::drain_unsolicited(&mut session);
        return Ok((rebuild(session), Wake::Timeout));
    }
    let mut handle = session.idle();
    tokio::time::timeout(t, handle.init())
        .await
        .map_err(|_| err("IDLE", "no answer".into()))?
        .map_err(|e| err("IDLE", e.to_string()))?;
    let outcome = {
        let (fut, stop) =
            handle.wait_with_timeout(cap(Duration::from_secs(cfg.idle_timeout_s.max(10))));
        let r = tokio::select! {
            r = fut => Some(r),
            _ = shutdown.cancelled() => None,
        };
        drop(stop);
        r
    };
    let wake = match outcome {
        None => Wake::Shutdown,
        Some(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => Wake::NewMail,
        Some(Ok(async_imap::extensions::idle::IdleResponse::Timeout)) => Wake::Timeout,
        // We never interrupt it ourselves except through shutdown (handled above): an
        // interrupt we did not cause is the server closing the connection.
        Some(Ok(async_imap::extensions::idle::IdleResponse::ManualInterrupt)) => {
            return Err(err(
                "IDLE",
                "服务器断开连接 connection closed by server".into(),
            ))
        }
        Some(Err(e)) => return Err(err("IDLE", e.to_string())),
    };
    let mut session = tokio::time::timeout(t, handle.done())
        .instrument(info_span!("idle_done"))
        .await
        .map_err(|_| err("DONE", "no answer".into()))?
        .map_err(|e| err("DONE", e.to_string()))?;
    session::drain_unsolicited(&mut session);
    Ok((rebuild(session), wake))
}
