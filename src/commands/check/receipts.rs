//! `check`'s receipt lines: the SMTP server taken for real (connect, authenticate,
//! quit, through the receipts' own session) and how senders are authenticated before
//! a receipt goes out.

use crate::config::Config;

/// Connects to the SMTP server and authenticates.
pub(super) async fn smtp(cfg: &Config) -> std::result::Result<String, String> {
    let s = crate::receipts::smtp::Session::connect(&cfg.smtp)
        .await
        .map_err(|e| e.to_string())?;
    s.quit().await;
    Ok(format!(
        "{}:{} 连接并登录成功 connected and authenticated",
        cfg.smtp.host, cfg.smtp.port
    ))
}

/// How senders are authenticated before a receipt goes out.
pub(super) async fn auth_mode(cfg: &Config) -> String {
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
