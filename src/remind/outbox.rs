//! The reminders' outbox: approved reminders are sent by whoever holds the outbox lock
//! (`.outbox.lock`, the receipts' one sender at a time) — the daemon after each round,
//! woken within seconds when a reminder is approved, or `remind --send` when no daemon
//! holds it. Approving (the page's button, `remind --send`) only queues, so the page
//! answers at once instead of holding the request through an SMTP session.

use super::send::{send_approved, SendStats};
use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::Result;
use crate::store::DataLock;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// What a drain did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// Nothing approved was waiting, or sending is off (`[receipts] mode = "off"`).
    Idle,
    /// Another process holds the outbox and sends them.
    Elsewhere,
    Ran(SendStats),
}

/// Sends the approved reminders whose reason still holds, if this process can take
/// the outbox. Reads the intake state only when one is waiting.
pub async fn drain(cfg: &Config, db: &mut Db, shutdown: &CancellationToken) -> Result<Drained> {
    if cfg.receipts.mode == ReceiptMode::Off || !db.reminders_waiting()? {
        return Ok(Drained::Idle);
    }
    let Some(_outbox) = DataLock::try_outbox(&cfg.storage.data_dir)? else {
        return Ok(Drained::Elsewhere);
    };
    let dump = db.load_dump()?;
    let roster = crate::commands::roster::roster_of(db, &dump)?;
    let s = send_approved(cfg, crate::call::current(), db, &dump, &roster, shutdown).await?;
    if s != SendStats::default() {
        info!(
            sent = s.sent,
            previewed = s.dry_run,
            failed = s.failed,
            cancelled = s.cancelled,
            waiting = s.waiting,
            "reminders"
        );
    }
    Ok(Drained::Ran(s))
}
