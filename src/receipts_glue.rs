//! Connects the daemon and the CLI to the receipts outbox: the daemon's drain with its
//! log line and the `check` SMTP probe (the `receipts` command is
//! `commands/receipts.rs`). Kept apart from
//! `receipts/` because these read the config and print for the operator, while
//! `receipts/` is the outbox itself; the three are the only `*_glue` left.

use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::Result;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Sends (or writes, in dry-run) every receipt due, composed from the current state,
/// which is read only when something is due.
pub async fn drain(cfg: &Config, db: &mut Db, shutdown: &CancellationToken) -> Result<()> {
    if cfg.receipts.mode == ReceiptMode::Off {
        return Ok(());
    }
    // One sender at a time across processes (`run`, `import`): the other one sends
    // what is due at its next round.
    let Some(_outbox) = crate::store::DataLock::try_outbox(&cfg.storage.data_dir)? else {
        info!("receipts: another kepu-intake process is sending them");
        return Ok(());
    };
    let s = crate::receipts::drain_due(cfg, db, shutdown).await?;
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

/// The mail carries the notice or the call's forms, all blank, and no scan: the notice
/// itself passed on to us (a bureau circulating it with our address in Cc), not an
/// application. A `notice` document (the notice's text or several blank forms in one
/// file, told by `forms::is_notice`) counts like a blank form.
pub fn blank_forms_only(docs: &[crate::domain::document::NewDocument]) -> bool {
    use crate::model::DocKind;
    let forms: Vec<_> = docs
        .iter()
        .filter(|d| d.form.is_some() || d.kind == DocKind::Notice)
        .collect();
    !forms.is_empty()
        && forms.iter().all(|d| {
            d.kind == DocKind::Notice
                || (d.kind == DocKind::Electronic && d.fields.values().all(|v| v.is_empty()))
        })
        && !docs.iter().any(|d| d.kind == DocKind::Scan)
}

/// For `check`: how senders are authenticated before a receipt goes out.
pub async fn auth_mode(cfg: &Config) -> String {
    let id = cfg.receipts.authserv_id.trim();
    let trusted = if id.is_empty() {
        "未设置 [receipts] authserv_id：不信任任何 Authentication-Results 头".to_string()
    } else {
        format!(
            "信任 authserv-id = {id} 的 Authentication-Results 头（只看最上面一个）；SPF/DKIM/DMARC 未通过的回执待批准 (held)"
        )
    };
    let dns = if dns_reachable().await {
        "DNS 可用，但本版本不自行验证 DKIM"
    } else {
        "DNS 不可用，不自行验证 DKIM"
    };
    format!(
        "{trusted}；没有可信认证头时：{dns}，只回复 From 地址 \
         (fallback: no own DKIM check, reply to From only)"
    )
}

/// Whether a public name resolves within a few seconds (the DKIM check would need it).
async fn dns_reachable() -> bool {
    use std::net::ToSocketAddrs;
    let lookup = tokio::task::spawn_blocking(|| {
        ("126.com", 25)
            .to_socket_addrs()
            .is_ok_and(|mut a| a.next().is_some())
    });
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(3), lookup).await,
        Ok(Ok(true))
    )
}
