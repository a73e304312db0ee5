//! The page's routes: the one table of URLs ([`router`]) and the handlers of its
//! read-only pages, each rendering the current [`Dump`] with [`pages`]. The office's
//! POSTs are in [`super::actions`], files and exports in [`super::downloads`].

use super::{actions, login, roster, upload, WebState};
use super::{auth, downloads, load, non_empty, not_found, pages, paging, server_error, Q};
use crate::office::accounts::Session;
use crate::report::dump::Dump;
use axum::extract::{Path as UrlPath, Query, State};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

/// The whole site over `state`; tests serve it with a hand-made Dump.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(healthz))
        .route("/metrics", get(downloads::metrics_page))
        .route("/apps", get(app_list))
        .route("/apps/{id}", get(app_page))
        .route("/missing-scan", get(missing_scan))
        .route("/late", get(late))
        .route("/messages", get(messages))
        .route("/messages/{id}", get(message_page))
        .route("/doc/{id}", get(downloads::document))
        .route("/export.xlsx", get(downloads::export_xlsx))
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
        .route("/apps/{id}/roster", post(roster::assign))
        .route("/queue", get(queue))
        .route("/scans", get(scans))
        .route("/scans/{id}", get(match_page))
        .route("/doc/{id}/preview", get(downloads::preview))
        .route("/audit", get(audit_page))
        .route("/receipts", get(receipts_page))
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .with_state(state)
}

/// The current state drawn by `page`; a `None` from it is a 404 (no such record).
async fn render(st: &WebState, page: impl FnOnce(&Dump) -> Option<String>) -> Response {
    match load(st).await {
        Ok(d) => page(&d).map_or_else(not_found, |h| Html(h).into_response()),
        Err(r) => r,
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn dashboard(State(st): State<WebState>) -> Response {
    render(&st, |d| Some(pages::dashboard(d, crate::time::now()))).await
}

async fn queue(State(st): State<WebState>, Extension(s): Extension<Session>) -> Response {
    render(&st, |d| Some(pages::queue(d, &auth::csrf_field(&s)))).await
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
    render(&st, |d| Some(pages::app_list(d, &filter, &lq))).await
}

async fn app_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    render(&st, |d| pages::app_page(d, id, &auth::csrf_field(&s))).await
}

async fn missing_scan(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/missing-scan", &q);
    render(&st, |d| Some(pages::missing_scan(d, &lq))).await
}

async fn late(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/late", &q);
    render(&st, |d| Some(pages::late(d, &lq))).await
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
    render(&st, |d| Some(pages::messages(d, &filter, &lq))).await
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
    render(&st, |d| {
        Some(pages::scans(d, non_empty(&q, "state").as_deref(), &lq))
    })
    .await
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
    render(&st, |d| {
        pages::match_page(d, id, shown, &auth::csrf_field(&s))
    })
    .await
}

async fn audit_page(State(st): State<WebState>, Query(q): Q) -> Response {
    let lq = paging::ListQuery::new("/audit", &q);
    render(&st, |d| {
        Some(pages::audit(d, non_empty(&q, "user").as_deref(), &lq))
    })
    .await
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
