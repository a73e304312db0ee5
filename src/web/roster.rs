//! `/roster` (谁该报、报了什么) and `/reminders` (催交提醒) on the page: the same
//! library calls as `roster` and `remind` ([`crate::commands::roster`]); the send
//! button is `remind --send ID` under the logged-in user (audited as `remind`).

use super::auth::{csrf_field, csrf_ok, csrf_refused};
use super::html::{self, html_escape as esc};
use super::WebState;
use crate::commands::roster::{approve_and_send, roster_of};
use crate::db::Db;
use crate::office::accounts::Session;
use crate::remind::{Reminder, ReminderStatus};
use crate::roster::Roster;
use axum::extract::{Path as UrlPath, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use std::collections::HashMap;

/// The roster and the reminders now (drafts refreshed, as `remind` does).
fn load(st: &WebState) -> crate::error::Result<(Roster, Vec<Reminder>)> {
    let mut db = Db::open(&st.db_path)?;
    let dump = db.load_dump()?;
    let roster = roster_of(&db, &dump)?;
    let reminders = match &st.cfg {
        Some(cfg) => crate::remind::send::refresh(
            cfg,
            crate::call::current(),
            &mut db,
            &dump,
            &roster,
            &crate::time::now(),
        )?,
        None => db.reminders()?,
    };
    Ok((roster, reminders))
}

async fn loaded(st: &WebState) -> Result<(Roster, Vec<Reminder>), Response> {
    let st = st.clone();
    match tokio::task::spawn_blocking(move || load(&st)).await {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(super::server_error("名单读取失败", e)),
        Err(e) => Err(super::server_error("名单读取失败", e)),
    }
}

/// `GET /roster`: per unit what arrived and what is missing, then the applications
/// waiting for an operator's attribution.
pub async fn roster_page(State(st): State<WebState>) -> Response {
    let (r, _) = match loaded(&st).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let rows: Vec<Vec<String>> = r
        .units
        .iter()
        .map(|u| {
            vec![
                esc(&u.unit),
                u.applications.len().to_string(),
                u.complete.len().to_string(),
                if u.done {
                    "<span class=\"ok\">齐全</span>".to_string()
                } else {
                    format!(
                        "<span class=\"bad\">{}</span>",
                        esc(&crate::roster::missing_zh(u))
                    )
                },
                esc(&crate::time::fmt_minute(
                    u.last_contact.as_deref().unwrap_or(""),
                )),
                esc(u.email.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let mut b = String::from(
        "<p>申报通知中应当报送的单位；归属拿不准的申报列在下方，用 <code>kepu-intake roster --assign</code> 决定。\
<a href=\"/reminders\">催交提醒</a></p>",
    );
    b.push_str(&html::table(
        &["单位", "已收到", "齐全", "缺", "最近联系", "单位邮箱"],
        &rows,
    ));
    if !r.unsure.is_empty() {
        b.push_str("<h2>待人工确认归属</h2>");
        let rows: Vec<Vec<String>> = r
            .unsure
            .iter()
            .map(|u| {
                vec![
                    format!("<a href=\"/apps/{0}\">a{0}</a>", u.application),
                    esc(&u.applicant),
                ]
            })
            .collect();
        b.push_str(&html::table(&["申报", "申报单位/姓名"], &rows));
    }
    Html(html::page("报送单位名单", &b)).into_response()
}

/// `GET /reminders`: the reminders due (with their text) and those sent.
pub async fn reminders_page(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
) -> Response {
    let (_, rows) = match loaded(&st).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let csrf = csrf_field(&s);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let action = if r.status == ReminderStatus::Due {
                format!(
                    "<form class=\"inline send\" method=\"post\" action=\"/reminders/{}/send\">{csrf}\
<button type=\"submit\">批准并发送</button></form>",
                    r.id
                )
            } else {
                esc(&format!(
                    "{} {}",
                    r.approved_by.as_deref().unwrap_or(""),
                    crate::time::fmt_minute(r.sent_at.as_deref().unwrap_or(""))
                ))
            };
            vec![
                r.id.to_string(),
                esc(r.status.label_zh()),
                esc(r.reason.label_zh()),
                esc(&r.to),
                format!(
                    "<b>{}</b><pre>{}</pre>",
                    esc(&r.subject),
                    esc(&r.body)
                ),
                action,
            ]
        })
        .collect();
    let mut b = String::from(
        "<p>截止前按通知要求需要催交的提醒，由工作人员逐条批准后发出（同 <code>kepu-intake remind --send</code>）。</p>",
    );
    if rows.is_empty() {
        b.push_str("<p>目前没有需要发送的提醒。</p>");
    } else {
        b.push_str(&html::table(
            &["编号", "状态", "原因", "收件人", "内容", "批准并发送"],
            &cells,
        ));
    }
    Html(html::page("催交提醒", &b)).into_response()
}

/// `POST /reminders/{id}/send`: approve reminder `id` and send the approved ones.
pub async fn send(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&s, &f) {
        return csrf_refused();
    }
    let Some(cfg) = st.cfg.clone() else {
        return super::server_error("无法发送", "no configuration");
    };
    let db_path = st.db_path.clone();
    let user = s.user.clone();
    // The send holds the database connection across the SMTP session: its own thread
    // with a small runtime, as `remind --send` runs.
    let done = tokio::task::spawn_blocking(move || -> crate::error::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::error::Error::Other(format!("runtime: {e}")))?;
        rt.block_on(async {
            let mut db = Db::open(&db_path)?;
            let dump = db.load_dump()?;
            let roster = roster_of(&db, &dump)?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            approve_and_send(&cfg, &mut db, &dump, &roster, &[id], &user, &shutdown).await?;
            Ok(())
        })
    })
    .await;
    match done {
        Ok(Ok(())) => Redirect::to("/reminders").into_response(),
        Ok(Err(e)) => super::server_error("提醒未能发送", e),
        Err(e) => super::server_error("提醒未能发送", e),
    }
}
