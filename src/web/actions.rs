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

type Fields = HashMap<String, String>;

fn field<'f>(f: &'f Fields, k: &str) -> &'f str {
    f.get(k).map_or("", |v| v.trim())
}

fn refused(msg: &str) -> Response {
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
/// and the user's name, and redirects to `back`.
async fn act(
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

/// The office's part of an application's page: its decision and late excuse with who
/// and when, and the forms that change them (each with the session's CSRF token).
pub fn app_panel(app: &crate::report::dump::DumpApplication, s: &Session) -> String {
    use html::html_escape as e;
    let csrf = super::auth::csrf_field(s);
    let r = &app.review;
    // The decisions a clerk makes most first; the labels are the domain's.
    let options: String = [
        ReviewState::Accepted,
        ReviewState::Returned,
        ReviewState::Pending,
    ]
    .iter()
    .map(|v| format!("<option value=\"{}\">{}</option>", v.as_str(), v.label_zh()))
    .collect();
    let who = match &r.at {
        Some(at) => format!("（{}，{}）", e(&r.by), e(&human(at))),
        None => String::new(),
    };
    let note = if r.note.is_empty() {
        String::new()
    } else {
        format!(" 备注：{}", e(&r.note))
    };
    let mut out = format!(
        "<section id=\"office\"><h2>办公室处理</h2>\
<p id=\"review-state\">审核：<b>{}</b>{who}{note}</p>\
<form method=\"post\" action=\"/apps/{id}/review\" class=\"review\">{csrf}\
<select name=\"state\">{options}</select> \
<input name=\"note\" placeholder=\"备注（退回时必填）\" size=\"30\"> \
<button type=\"submit\">保存审核结论</button></form>",
        e(r.state.label_zh()),
        id = app.id,
    );
    if app.late {
        match &app.late_excused {
            Some(x) => out.push_str(&format!(
                "<p id=\"late-state\">逾期，<b>已准许</b>：{}（{}，{}）</p>\
<form method=\"post\" action=\"/apps/{id}/late\">{csrf}<input type=\"hidden\" name=\"unexcuse\" value=\"1\">\
<button type=\"submit\">撤销准许</button></form>",
                e(&x.reason),
                e(&x.by),
                e(&human(&x.at)),
                id = app.id,
            )),
            None => out.push_str(&format!(
                "<p id=\"late-state\" class=\"bad\">逾期，未准许</p>\
<form method=\"post\" action=\"/apps/{id}/late\" class=\"late\">{csrf}\
<input name=\"reason\" placeholder=\"准许理由\" size=\"40\" required> \
<button type=\"submit\">准许逾期</button></form>",
                id = app.id,
            )),
        }
    }
    out.push_str("</section>");
    out
}

/// A message page's removal state and the form that removes or restores it.
pub fn message_panel(m: &crate::report::dump::DumpMessage, s: &Session) -> String {
    use html::html_escape as e;
    let csrf = super::auth::csrf_field(s);
    match &m.removed {
        Some(r) => format!(
            "<section id=\"office\"><p class=\"bad\">已移除（{}，{}）{}</p>\
<form method=\"post\" action=\"/messages/{id}/restore\">{csrf}<button type=\"submit\">恢复这封邮件</button></form></section>",
            e(&r.by),
            e(&human(&r.at)),
            e(&r.reason),
            id = m.id,
        ),
        None => format!(
            "<section id=\"office\"><form method=\"post\" action=\"/messages/{id}/remove\">{csrf}\
<input name=\"reason\" placeholder=\"移除原因（如：测试邮件）\" size=\"30\"> \
<button type=\"submit\">移除（不计入统计，文件保留）</button></form></section>",
            id = m.id,
        ),
    }
}

/// `2022-07-21 09:00` from RFC 3339 (Beijing time), the text itself when unreadable.
fn human(at: &str) -> String {
    crate::time::parse_rfc3339(at).map_or_else(
        || at.to_string(),
        |t| {
            crate::time::to_shanghai(&t)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
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

/// `GET /audit`: the audit log, newest first (at most the last 500 entries).
pub async fn audit_page(State(st): State<WebState>) -> Response {
    let d = match super::load(&st).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    use html::html_escape as e;
    let rows: Vec<Vec<String>> = d
        .audit
        .iter()
        .rev()
        .take(500)
        .map(|a| {
            let target = match a.target.chars().next() {
                Some('a') => format!(
                    "<a href=\"/apps/{0}\">{1}</a>",
                    e(&a.target[1..]),
                    e(&a.target)
                ),
                Some('m') if a.target != "m*" => {
                    format!(
                        "<a href=\"/messages/{0}\">{1}</a>",
                        e(&a.target[1..]),
                        e(&a.target)
                    )
                }
                _ => e(&a.target),
            };
            vec![
                e(&human(&a.at)),
                e(&a.user),
                e(a.action.label_zh()),
                target,
                e(&a.detail),
            ]
        })
        .collect();
    let body = format!(
        "<p>共 {} 条，最新的在前。</p>{}",
        d.audit.len(),
        html::table(
            &["时间", "经办人", "操作", "对象", "内容（改前 → 改后）"],
            &rows
        )
    );
    Html(html::page("操作记录", &body)).into_response()
}
