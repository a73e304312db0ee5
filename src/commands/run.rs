//! `run [--once]`: the daemon.

use crate::config::Config;
use crate::error::Result;
use tokio_util::sync::CancellationToken;

/// `run [--once]`.
pub async fn run(cfg: &Config, once: bool, shutdown: CancellationToken) -> Result<()> {
    crate::daemon::run(cfg, once, shutdown).await
}
