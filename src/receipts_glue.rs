//! Connects the daemon to the receipts outbox (filled in when the outbox lands).

use crate::config::Config;
use crate::error::Result;
use tokio_util::sync::CancellationToken;

pub async fn drain(_cfg: &Config, _shutdown: &CancellationToken) -> Result<()> {
    Ok(())
}

/// Connects to the SMTP server and authenticates, for `check`.
pub async fn check_smtp(_cfg: &Config) -> std::result::Result<String, String> {
    Err("SMTP check not available in this build yet".into())
}
