//! The drain the daemon and `import` run after processing: takes the outbox lock
//! (`.outbox.lock`, one sender across processes), sends what is due
//! ([`super::drain_due`]) and says in one log line what happened. The outbox itself —
//! exactly-once marks, windows, caps — is [`super::outbox`].

use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::Result;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Sends (or writes, in dry-run) every receipt due, composed from the current state,
/// which is read only when something is due.
pub async fn send_due(cfg: &Config, db: &mut Db, shutdown: &CancellationToken) -> Result<()> {
    if cfg.receipts.mode == ReceiptMode::Off {
        return Ok(());
    }
    // One sender at a time across processes (`run`, `import`): the other one sends
    // what is due at its next round.
    let Some(_outbox) = crate::store::DataLock::try_outbox(&cfg.storage.data_dir)? else {
        info!("receipts: another kepu-intake process is sending them");
        return Ok(());
    };
    let s = super::drain_due(cfg, db, shutdown).await?;
    if s.sent + s.dry_run + s.failed + s.deferred + s.capped > 0 {
        info!(
            sent = s.sent,
            previewed = s.dry_run,
            capped = s.capped,
            failed = s.failed,
            deferred = s.deferred,
            folded = s.folded,
            "receipts"
        );
    }
    if let Some(e) = &s.last_error {
        warn!(error = %e, "receipts: some could not be sent yet");
    }
    Ok(())
}
