//! The office's actions on the page: POST endpoints (each form carries the session's
//! CSRF token) that call the same audited library functions as the CLI
//! ([`crate::office`]), recorded under the logged-in user, then send the browser back.

use super::auth::{csrf_ok, csrf_refused};
use super::{html, WebState};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::office::{self, accounts::Session, MatchChange, ReviewState};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use std::collections::HashMap;

pub(super) type Fields = HashMap<String, String>;

pub(super) fn field<'f>(f: &'f Fields, k: &str) -> &'f str {
    f.get(k).map_or("", |v| v.trim())
}

pub(super) fn refused(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(html::page(
            "操作未完成",
            &format!(
                "<p class=\"bad\">{}</p><p>请返回上一页修改后再提交。</p>",
                html::html_escape(msg)
            ),
        )),
    )
        .into_response()
}

/// Checks the CSRF token, runs `act` on a blocking thread with a database connection
/// and the user's name, and redirects to `back`. Every POST of the office goes
/// through here (the roster page's too).
pub(super) async fn act(
    st: &WebState,
    s: &Session,
    f: &Fields,
    back: String,
    act: impl FnOnce(&mut Db, &str, f64) -> Result<()> + Send + 'static,
) -> Response {
    if !csrf_ok(s, f) {
        return csrf_refused();
    }
    let path = st.db_path.clone();
    let user = s.user.clone();
    let threshold = st.match_threshold;
    let done = tokio::task::spawn_blocking(move || {
        let mut db = Db::open(&path)?;
        act(&mut db, &user, threshold)
    })
    .await;
    match done {
        Ok(Ok(())) => Redirect::to(&back).into_response(),
        Ok(Err(e @ Error::Other(_))) => refused(&e.to_string()),
        Ok(Err(e)) => super::server_error("保存失败", e),
        Err(e) => super::server_error("保存失败", e),
    }
}

/// `POST /apps/{id}/review`: `state` (pending | accepted | returned), `note`.
pub async fn review(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let Some(state) = ReviewState::parse(field(&f, "state")) else {
        return refused("请选择审核结果：待审核、已受理或退回。");
    };
    let note = field(&f, "note").to_string();
    if state == ReviewState::Returned && note.is_empty() {
        return refused("退回时请写明原因（备注），申报单位需要知道缺什么。");
    }
    act(&st, &s, &f, format!("/apps/{id}"), move |db, by, _| {
        office::review(db, id, state, &note, by)
    })
    .await
}

/// `POST /apps/{id}/late`: `reason` excuses the lateness; `unexcuse=1` withdraws it.
pub async fn late(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let reason = (field(&f, "unexcuse") != "1").then(|| field(&f, "reason").to_string());
    act(&st, &s, &f, format!("/apps/{id}"), move |db, by, _| {
        office::late_excuse(db, id, reason.as_deref(), by)
    })
    .await
}

/// `POST /match`: `scan`, `electronic` (a document id; `none` = matches nothing;
/// `auto` = automatic matching again), `back` (the page to return to).
pub async fn set_match(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    Form(f): Form<Fields>,
) -> Response {
    let Ok(scan) = field(&f, "scan").trim_start_matches('d').parse::<i64>() else {
        return refused("请给出扫描件编号。");
    };
    let change = match field(&f, "electronic") {
        "none" | "" => MatchChange::Nothing,
        "auto" => MatchChange::Automatic,
        e => match e.trim_start_matches('d').parse() {
            Ok(e) => MatchChange::To(e),
            Err(_) => return refused("电子版编号应为数字。"),
        },
    };
    let back = super::login::safe_next(f.get("back"));
    act(&st, &s, &f, back, move |db, by, t| {
        office::set_match(db, t, scan, change, by)
    })
    .await
}

/// `POST /messages/{id}/remove` (`reason`) and `/messages/{id}/restore`.
pub async fn remove(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let reason = field(&f, "reason").to_string();
    act(&st, &s, &f, format!("/messages/{id}"), move |db, by, t| {
        office::soft_remove(db, t, id, &reason, by).map(|_| ())
    })
    .await
}

pub async fn restore(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    act(&st, &s, &f, format!("/messages/{id}"), move |db, by, t| {
        office::restore(db, t, id, by).map(|_| ())
    })
    .await
}

/// `POST /receipts/{id}/retry`: a failed or suppressed receipt queued again.
pub async fn retry_receipt(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let back = super::login::safe_next(f.get("back"));
    act(&st, &s, &f, back, move |db, by, _| {
        office::retry_receipt(db, id, by)
    })
    .await
}

/// `POST /messages/{id}/receipt/retry`: the message's failed receipt queued again.
pub async fn retry_message_receipt(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    act(&st, &s, &f, format!("/messages/{id}"), move |db, by, _| {
        let receipt = office::receipt_of_message(db, id)?;
        office::retry_receipt(db, receipt, by)
    })
    .await
}

/// `POST /messages/{id}/receipt/approve`: the message's held receipt may go out.
pub async fn approve_receipt(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    act(&st, &s, &f, format!("/messages/{id}"), move |db, by, _| {
        let receipt = office::receipt_of_message(db, id)?;
        office::approve_receipt(db, receipt, by)
    })
    .await
}
