//! `serve`: the operators' web page.

use crate::config::Config;
use crate::error::Result;
use tokio_util::sync::CancellationToken;

/// `serve`.
pub async fn serve(cfg: &Config, shutdown: CancellationToken) -> Result<()> {
    crate::web::serve(cfg, shutdown).await
}
