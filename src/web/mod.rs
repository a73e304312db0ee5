//! `kepu-intake serve`: the operators' web page, in Chinese. Every request except
//! `/healthz` and `/login` needs a logged-in session ([`auth`], [`login`]); each page
//! is rendered from the current [`Dump`] of the database (reloaded only after something
//! committed, see [`cache`]); the office's actions are POST forms ([`actions`]). The
//! URL table and the pages' handlers are in [`routes`], downloads in [`downloads`];
//! this file holds the shared state, the error pages and the server.

pub mod actions;
pub mod auth;
pub mod cache;
pub mod downloads;
pub mod files;
pub mod html;
pub mod login;
pub mod metrics;
pub mod pages;
pub mod paging;
pub mod roster;
pub mod routes;
pub mod tls;
pub mod upload;
pub mod vocab;

pub use auth::resolve_token;
pub use routes::router;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::report::dump::Dump;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Produces the current intake state (blocking: it reads SQLite).
pub type Loader = Arc<dyn Fn() -> Result<Arc<Dump>> + Send + Sync>;
/// Unix time of the last mailbox poll, when known (blocking).
pub type PollClock = Arc<dyn Fn() -> Result<Option<i64>> + Send + Sync>;

/// What the router needs: how to load the state, the metrics token, where documents
/// live, the database holding accounts and sessions.
#[derive(Clone)]
pub struct WebState {
    pub load: Loader,
    pub last_poll: Option<PollClock>,
    /// The scrapers' bearer token for `/metrics` (`[web] token_env`), if any.
    pub token: Option<Arc<str>>,
    pub data_dir: PathBuf,
    /// Accounts, sessions, and the target of the office's actions.
    pub db_path: PathBuf,
    /// Session cookies get `Secure` (the page is served over TLS).
    pub secure_cookies: bool,
    /// `[intake] match_threshold`, for the rebuild after a match or removal.
    pub match_threshold: f64,
    /// The tools for scan previews (`pdftoppm` renders a PDF's first page).
    pub scan: crate::scan::ScanOptions,
    /// The configuration, for the reminders (their text and SMTP); None in tests that
    /// serve a bare dump.
    pub cfg: Option<Arc<Config>>,
}

pub(crate) fn server_error(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "web: {what}");
    let body = html::page(
        "出错了",
        &format!(
            "<p>{}：{}</p>",
            html::html_escape(what),
            html::html_escape(&e.to_string())
        ),
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Html(body)).into_response()
}

pub(crate) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(html::page("未找到", "<p>没有这个编号的记录。</p>")),
    )
        .into_response()
}

/// Runs the blocking loader off the async threads.
pub(crate) async fn load(st: &WebState) -> std::result::Result<Arc<Dump>, Response> {
    let f = st.load.clone();
    match tokio::task::spawn_blocking(move || f()).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(server_error("读取数据库失败", e)),
        Err(e) => Err(server_error("读取数据库失败", e)),
    }
}

pub(crate) fn non_empty(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub(crate) type Q = Query<HashMap<String, String>>;

/// The loaders that read the real database at `cfg.storage`, through one cached
/// connection (the same dump reader `dump --json` uses).
pub fn db_state(cfg: &Config, token: Option<String>) -> WebState {
    let cache = Arc::new(cache::DumpCache::new(cfg.storage.db_path()));
    let poll = cache.clone();
    WebState {
        load: Arc::new(move || cache.load()),
        last_poll: Some(Arc::new(move || {
            Ok(poll
                .last_poll()?
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .map(|t| t.timestamp()))
        })),
        token: token.map(Into::into),
        data_dir: cfg.storage.data_dir.clone(),
        db_path: cfg.storage.db_path(),
        secure_cookies: cfg.web.secure_cookies.unwrap_or(cfg.web.tls_cert.is_some()),
        match_threshold: cfg.intake.match_threshold,
        scan: crate::scan::ScanOptions::detect(&cfg.tools),
        cfg: Some(Arc::new(cfg.clone())),
    }
}

/// Serves the site on `cfg.web.listen` until `shutdown` is cancelled, over TLS when
/// `[web] tls_cert`/`tls_key` are set. Warns when it listens beyond loopback without
/// TLS (passwords and session cookies would cross the network in clear text).
pub async fn serve(cfg: &Config, shutdown: CancellationToken) -> Result<(), Error> {
    let token = match resolve_token(&cfg.web) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::info!(reason = %e, "web: /metrics only for logged-in users (no scraper token)");
            None
        }
    };
    let state = db_state(cfg, token);
    let accounts = crate::db::Db::open(&state.db_path)?.users()?.len();
    if accounts == 0 {
        tracing::warn!(
            "web: 还没有任何账号，无人能登录 / no accounts yet: create one with `kepu-intake user add NAME` (password on stdin)"
        );
    }
    let listener = tokio::net::TcpListener::bind(&cfg.web.listen)
        .await
        .map_err(|e| {
            Error::Other(format!(
                "web.listen {}: 无法监听 / cannot listen: {e}",
                cfg.web.listen
            ))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Other(format!("web.listen {}: {e}", cfg.web.listen)))?;
    let app = router(state);
    let stop = async move { shutdown.cancelled().await };
    match tls::acceptor(&cfg.web)? {
        Some(acceptor) => {
            tracing::info!(listen = %local, "web: serving the operators' page over TLS (https)");
            axum::serve(
                tls::TlsListener::new(listener, acceptor),
                app.into_make_service_with_connect_info::<tls::Peer>(),
            )
            .with_graceful_shutdown(stop)
            .await
        }
        None => {
            if !local.ip().is_loopback() {
                tracing::warn!(
                    listen = %local,
                    "web: 页面在本机以外可访问却未启用 TLS，密码和登录凭据会明文传输；请设置 [web] tls_cert/tls_key 或放在 HTTPS 反向代理之后 / listening beyond loopback without TLS"
                );
            }
            tracing::info!(listen = %local, "web: serving the operators' page");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<tls::Peer>(),
            )
            .with_graceful_shutdown(stop)
            .await
        }
    }
    .map_err(|e| Error::Other(format!("web: server failed: {e}")))
}
