//! `/roster` (谁该报、报了什么) and `/reminders` (催交提醒) on the page: the same
//! library calls as `roster` and `remind` ([`crate::commands::roster`]). The roster's
//! form decides an unsure application's unit (`roster --assign`,
//! [`crate::office::assign_unit`], audited as `roster`); the reminders' button approves
//! one ([`crate::office::approve_reminders`], audited as `remind`) and answers at once:
//! the daemon's outbox sends it ([`crate::remind::outbox`]) and the page shows its state.

use super::actions::{act, field, refused, Fields};
use super::auth::csrf_field;
use super::html::{self, html_escape as esc};
use super::WebState;
use crate::commands::roster::roster_of;
use crate::db::Db;
use crate::office::accounts::Session;
use crate::remind::{Reminder, ReminderStatus};
use crate::roster::{Roster, UnsureRow};
use axum::extract::{Path as UrlPath, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};

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

/// The form that decides an unsure application's unit: its candidates first (the
/// first one chosen), then every other roster unit, then "no roster unit".
fn assign_form(u: &UnsureRow, units: &[String], csrf: &str) -> String {
    let mut opts = String::new();
    let mut listed: Vec<&str> = Vec::new();
    for name in u.candidates.iter().chain(units.iter()) {
        if listed.contains(&name.as_str()) {
            continue;
        }
        let selected = if listed.is_empty() { " selected" } else { "" };
        listed.push(name);
        opts.push_str(&format!(
            "<option value=\"{0}\"{selected}>{0}</option>",
            esc(name)
        ));
    }
    format!(
        "<form class=\"inline assign\" method=\"post\" action=\"/apps/{}/roster\">{csrf}\
<select name=\"unit\">{opts}<option value=\"{}\">不属于名单单位（如市直）</option></select> \
<button type=\"submit\">确定归属</button></form>",
        u.application,
        crate::office::roster::NO_UNIT
    )
}

/// `GET /roster`: per unit what arrived and what is missing, then the applications
/// waiting for an operator's attribution, each with its form.
pub async fn roster_page(State(st): State<WebState>, Extension(s): Extension<Session>) -> Response {
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
        "<p>申报通知中应当报送的单位；归属拿不准的申报列在下方，选定单位后点“确定归属”\
（同 <code>kepu-intake roster --assign</code>）。<a href=\"/reminders\">催交提醒</a></p>",
    );
    b.push_str(&html::table(
        &["单位", "已收到", "齐全", "缺", "最近联系", "单位邮箱"],
        &rows,
    ));
    if !r.unsure.is_empty() {
        b.push_str("<h2 id=\"unsure\">待人工确认归属</h2>");
        let csrf = csrf_field(&s);
        let units: Vec<String> = crate::call::current()
            .roster
            .iter()
            .map(|e| e.unit.clone())
            .collect();
        let rows: Vec<Vec<String>> = r
            .unsure
            .iter()
            .map(|u| {
                vec![
                    format!("<a href=\"/apps/{0}\">a{0}</a>", u.application),
                    esc(&u.applicant),
                    esc(&u.reason_zh),
                    assign_form(u, &units, &csrf),
                ]
            })
            .collect();
        b.push_str(&html::table(
            &["申报", "申报单位/姓名", "为何要人工确认", "归属"],
            &rows,
        ));
    }
    Html(html::page("报送单位名单", &b)).into_response()
}

/// `POST /apps/{id}/roster`: `unit` (a roster unit, or `-` for none) decides which
/// unit application `id` belongs to.
pub async fn assign(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let unit = field(&f, "unit").to_string();
    if unit.is_empty() {
        return refused("请选择单位，或选“不属于名单单位”。");
    }
    act(&st, &s, &f, "/roster".into(), move |db, by, _| {
        crate::office::assign_unit(db, id, &unit, by).map(|_| ())
    })
    .await
}

/// A reminder's state as the page shows it: who approved, when it went out, and the
/// server's answer when it did not.
fn state_cell(r: &Reminder) -> String {
    let mut out = format!(
        "<span class=\"state {}\">{}</span>",
        r.status.as_str(),
        esc(r.status.label_zh())
    );
    if let Some(by) = &r.approved_by {
        out.push_str(&format!(
            "<br>批准：{} {}",
            esc(by),
            esc(&crate::time::fmt_minute(
                r.approved_at.as_deref().unwrap_or("")
            ))
        ));
    }
    if let Some(at) = &r.sent_at {
        out.push_str(&format!("<br>发出：{}", esc(&crate::time::fmt_minute(at))));
    }
    if matches!(
        r.status,
        ReminderStatus::Queued | ReminderStatus::Failed | ReminderStatus::Cancelled
    ) {
        if let Some(reply) = r.smtp_reply.as_deref().filter(|x| !x.is_empty()) {
            out.push_str(&format!("<br><small>{}</small>", esc(reply)));
        }
    }
    out
}

/// `GET /reminders`: the reminders due (with their text and button) and the approved
/// ones with their state.
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
<button type=\"submit\">批准发送</button></form>",
                    r.id
                )
            } else {
                String::new()
            };
            vec![
                r.id.to_string(),
                state_cell(r),
                esc(r.reason.label_zh()),
                esc(&r.to),
                format!("<b>{}</b><pre>{}</pre>", esc(&r.subject), esc(&r.body)),
                action,
            ]
        })
        .collect();
    let mut b = String::from(
        "<p>截止前按通知要求需要催交的提醒，由工作人员逐条批准（同 <code>kepu-intake remind --send</code>）；\
批准后由后台服务（<code>kepu-intake run</code>）经回执邮箱发出，通常几秒内，刷新本页查看状态。</p>",
    );
    if rows.iter().any(|r| r.status == ReminderStatus::Queued) {
        b.push_str(
            "<p id=\"queued-note\">有已批准、等待发出的提醒；若长时间不变，请确认后台服务在运行、\
回执发送已开启（<code>[receipts] mode</code>）。</p>",
        );
    }
    if rows.is_empty() {
        b.push_str("<p>目前没有需要发送的提醒。</p>");
    } else {
        b.push_str(&html::table(
            &["编号", "状态", "原因", "收件人", "内容", "批准"],
            &cells,
        ));
    }
    Html(html::page("催交提醒", &b)).into_response()
}

/// `POST /reminders/{id}/send`: approve reminder `id` for the outbox and return to the
/// list at once (the daemon sends it).
pub async fn send(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<Fields>,
) -> Response {
    act(&st, &s, &f, "/reminders".into(), move |db, by, _| {
        crate::office::approve_reminders(db, &[id], by).map(|_| ())
    })
    .await
}
