//! Connects the daemon and the CLI to the receipts outbox.

use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::Result;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Sends (or writes, in dry-run) every receipt due, composed from the current state.
pub async fn drain(cfg: &Config, shutdown: &CancellationToken) -> Result<()> {
    if cfg.receipts.mode == ReceiptMode::Off {
        return Ok(());
    }
    // One sender at a time across processes (`run`, `import`): the other one sends
    // what is due at its next round.
    let Some(_outbox) = crate::store::DataLock::try_outbox(&cfg.storage.data_dir)? else {
        info!("receipts: another kepu-intake process is sending them");
        return Ok(());
    };
    let mut db = Db::open(&cfg.storage.db_path())?;
    let dump = db.load_dump()?;
    let s = crate::receipts::drain(cfg, &mut db, &dump, shutdown).await?;
    if s.sent + s.dry_run + s.failed + s.deferred > 0 {
        info!(
            sent = s.sent,
            dry_run = s.dry_run,
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

/// Connects to the SMTP server and authenticates, for `check`.
pub async fn check_smtp(cfg: &Config) -> std::result::Result<String, String> {
    let s = crate::receipts::smtp::Session::connect(&cfg.smtp)
        .await
        .map_err(|e| e.to_string())?;
    s.quit().await;
    Ok(format!(
        "{}:{} 连接并登录成功 connected and authenticated",
        cfg.smtp.host, cfg.smtp.port
    ))
}

/// `kepu-intake receipts [--retry ID]`.
pub fn command(cfg: &Config, retry: Option<i64>) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    if let Some(id) = retry {
        crate::office::retry_receipt(&mut db, id, &crate::office::os_user())?;
        println!("回执 {id} 已重新排队 requeued; it goes out with the next `run`");
        return Ok(());
    }
    print!("{}", crate::receipts::list_text(&db)?);
    Ok(())
}
