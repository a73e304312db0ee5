//! Connects the daemon to the receipts outbox (filled in when the outbox lands).

use crate::config::Config;
use crate::error::Result;
use tokio_util::sync::CancellationToken;

pub async fn drain(_cfg: &Config, _shutdown: &CancellationToken) -> Result<()> {
    Ok(())
}
