//! `kepu-intake serve`: the operators' web page, in Chinese. Every request except
//! `/healthz` and `/login` needs a logged-in session ([`auth`], [`login`]); each page
//! is rendered from the current [`Dump`] of the database (reloaded only after something
//! committed, see [`cache`]); the office's actions are POST forms ([`actions`]).

pub mod actions;
pub mod auth;
pub mod cache;
pub mod files;
pub mod html;
pub mod login;
pub mod metrics;
pub mod pages;
pub mod paging;
pub mod roster;
pub mod tls;
pub mod upload;
pub mod vocab;

pub use auth::resolve_token;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::office::accounts::Session;
use crate::report::dump::Dump;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
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

fn not_found() -> Response {
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

async fn healthz() -> &'static str {
    "ok"
}

async fn dashboard(State(st): State<WebState>) -> Response {
    match load(&st).await {
        Ok(d) => Html(pages::dashboard(&d, crate::time::now())).into_response(),
        Err(r) => r,
    }
}

fn non_empty(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

type Q = Query<HashMap<String, String>>;

async fn queue(State(st): State<WebState>, Extension(s): Extension<Session>) -> Response {
    match load(&st).await {
        Ok(d) => Html(pages::queue(&d, &auth::csrf_field(&s))).into_response(),
        Err(r) => r,
    }
}

async fn app_list(State(st): State<WebState>, Query(q): Q) -> Response {
    let filter = pages::AppFilter {
        form: non_empty(&q, "form"),
        status: non_empty(&q, "status"),
        late: non_empty(&q, "late").is_some_and(|v| v != "0"),
        q: non_empty(&q, "q"),
        review: non_empty(&q, "review"),
    };
    let lq = paging::ListQuery::new("/apps", &q);
    match load(&st).await {
        Ok(d) => Html(pages::app_list(&d, &filter, &lq)).into_response(),
        Err(r) => r,
    }
}

async fn app_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    match load(&st).await {
        Ok(d) => pages::app_page(&d, id, &auth::csrf_field(&s))
            .map_or_else(not_found, |h| Html(h).into_response()),
        Err(r) => r,
    }
}

async fn missing_scan(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/missing-scan", &q);
    match load(&st).await {
        Ok(d) => Html(pages::missing_scan(&d, &lq)).into_response(),
        Err(r) => r,
    }
}

async fn late(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/late", &q);
    match load(&st).await {
        Ok(d) => Html(pages::late(&d, &lq)).into_response(),
        Err(r) => r,
    }
}

async fn messages(State(st): State<WebState>, Query(q): Q) -> Response {
    let filter = pages::MessageFilter {
        category: non_empty(&q, "category"),
        problem: non_empty(&q, "problem"),
        removed: non_empty(&q, "removed").is_some_and(|v| v != "0"),
        unrecognised: non_empty(&q, "unrecognised").is_some_and(|v| v != "0"),
        q: non_empty(&q, "q"),
    };
    let lq = paging::ListQuery::new("/messages", &q);
    match load(&st).await {
        Ok(d) => Html(pages::messages(&d, &filter, &lq)).into_response(),
        Err(r) => r,
    }
}

async fn message_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let d = match load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(m) = d.messages.iter().find(|m| m.id == id).cloned() else {
        return not_found();
    };
    // The sender's own words, read again from the raw mail: for a question they are
    // the whole point; for mail without documents they say what it is.
    let text = if m.category == Some(crate::domain::Category::Question) || m.documents.is_empty() {
        let dir = st.data_dir.clone();
        tokio::task::spawn_blocking(move || crate::report::text::message_text(&dir, &m))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    pages::message_page(&d, id, text.as_deref(), &auth::csrf_field(&s))
        .map_or_else(not_found, |h| Html(h).into_response())
}

async fn scans(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/scans", &q);
    match load(&st).await {
        Ok(d) => Html(pages::scans(&d, non_empty(&q, "state").as_deref(), &lq)).into_response(),
        Err(r) => r,
    }
}

async fn match_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<String>,
    Query(q): Q,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let shown = non_empty(&q, "e").and_then(|e| e.parse().ok());
    match load(&st).await {
        Ok(d) => pages::match_page(&d, id, shown, &auth::csrf_field(&s))
            .map_or_else(not_found, |h| Html(h).into_response()),
        Err(r) => r,
    }
}

async fn audit_page(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/audit", &q);
    match load(&st).await {
        Ok(d) => Html(pages::audit(&d, non_empty(&q, "user").as_deref(), &lq)).into_response(),
        Err(r) => r,
    }
}

async fn receipts_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    Query(q): Q,
) -> Response {
    let path = st.db_path.clone();
    let rows = tokio::task::spawn_blocking(move || {
        crate::db::Db::open(&path)?.receipts_with_status(
            // Every status a receipt row can hold.
            &crate::domain::ReceiptStatus::ALL
                .into_iter()
                .filter(|s| s.is_row())
                .collect::<Vec<_>>(),
        )
    })
    .await;
    let rows = match rows {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return server_error("读取回执失败", e),
        Err(e) => return server_error("读取回执失败", e),
    };
    let lq = paging::ListQuery::new("/receipts", &q);
    Html(pages::receipts(
        &rows,
        non_empty(&q, "status").as_deref(),
        &auth::csrf_field(&s),
        &lq,
    ))
    .into_response()
}

/// `/doc/{id}/preview`: page 1 of a scan (an image, or a PDF rendered) as a small JPEG.
async fn preview(State(st): State<WebState>, UrlPath(id): UrlPath<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let dump = match load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(doc) = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .find(|d| d.id == id)
    else {
        return not_found();
    };
    let Some(path) = files::resolve_stored(&st.data_dir, &doc.path) else {
        return not_found();
    };
    let format = doc.format;
    let opts = st.scan.clone();
    let made = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        crate::scan::preview::jpeg(format.as_str(), &bytes, &opts).map_err(|e| e.to_string())
    })
    .await;
    match made {
        Ok(Ok(jpeg)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("sandbox; default-src 'none'"),
                ),
            ],
            jpeg,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(doc = id, error = %e, "web: no preview");
            (StatusCode::NOT_FOUND, "无法预览 / no preview").into_response()
        }
        Err(e) => server_error("生成预览失败", e),
    }
}

/// Sends a stored document found by id; `?inline=1` shows images in the page.
async fn document(
    State(st): State<WebState>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let dump = match load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(doc) = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .find(|d| d.id == id)
    else {
        return not_found();
    };
    let Some(path) = files::resolve_stored(&st.data_dir, &doc.path) else {
        tracing::warn!(doc = id, stored = %doc.path, "web: stored path missing or outside the data dir");
        return not_found();
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) => return server_error("读取文件失败", format!("{}: {e}", path.display())),
    };
    let offer = files::offer(doc.format.as_str(), &doc.name, &format!("document-{id}"));
    let inline = offer.can_inline && q.get("inline").is_some_and(|v| v == "1");
    let disp = files::content_disposition(
        if inline { "inline" } else { "attachment" },
        &offer.file_name,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(offer.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&disp) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    (headers, bytes).into_response()
}

/// The office workbook, built from the current state, as a download.
async fn export_xlsx(State(st): State<WebState>) -> Response {
    let dump = match load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let bytes =
        match tokio::task::spawn_blocking(move || crate::report::export::xlsx_bytes(&dump)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return server_error("生成 Excel 文件失败", e),
            Err(e) => return server_error("生成 Excel 文件失败", e),
        };
    let name = format!("申报汇总-{}.xlsx", crate::time::now().format("%Y%m%d-%H%M"));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&files::content_disposition("attachment", &name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (headers, bytes).into_response()
}

async fn metrics_page(State(st): State<WebState>) -> Response {
    let dump = match load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let last_poll = match st.last_poll.clone() {
        None => None,
        Some(f) => match tokio::task::spawn_blocking(move || f()).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return server_error("读取数据库失败", e),
            Err(e) => return server_error("读取数据库失败", e),
        },
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics::render(&dump, last_poll),
    )
        .into_response()
}

/// The whole site over `state`; tests serve it with a hand-made Dump.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .route("/apps", get(app_list))
        .route("/apps/{id}", get(app_page))
        .route("/missing-scan", get(missing_scan))
        .route("/late", get(late))
        .route("/messages", get(messages))
        .route("/messages/{id}", get(message_page))
        .route("/doc/{id}", get(document))
        .route("/export.xlsx", get(export_xlsx))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", get(login::logout_form).post(login::logout))
        .route("/apps/{id}/review", post(actions::review))
        .route("/apps/{id}/late", post(actions::late))
        .route("/match", post(actions::set_match))
        .route("/receipts/{id}/retry", post(actions::retry_receipt))
        .route(
            "/messages/{id}/import",
            post(upload::import_files)
                .layer(axum::extract::DefaultBodyLimit::max(upload::UPLOAD_LIMIT)),
        )
        .route("/messages/{id}/remove", post(actions::remove))
        .route("/messages/{id}/restore", post(actions::restore))
        .route(
            "/messages/{id}/receipt/retry",
            post(actions::retry_message_receipt),
        )
        .route(
            "/messages/{id}/receipt/approve",
            post(actions::approve_receipt),
        )
        .route("/roster", get(roster::roster_page))
        .route("/reminders", get(roster::reminders_page))
        .route("/reminders/{id}/send", post(roster::send))
        .route("/queue", get(queue))
        .route("/scans", get(scans))
        .route("/scans/{id}", get(match_page))
        .route("/doc/{id}/preview", get(preview))
        .route("/audit", get(audit_page))
        .route("/receipts", get(receipts_page))
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .with_state(state)
}

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
