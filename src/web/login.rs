//! `/login` and `/logout`: the login form (Chinese), the password check with
//! throttling, the session cookie, and logging out (a POST with the CSRF token).

use super::auth::{self, csrf_field, csrf_ok, session_cookie};
use super::{html, WebState};
use crate::db::Db;
use crate::office::accounts::{self, Login, Session};
use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use std::collections::HashMap;

/// Where to go after logging in: a path on this site only (no open redirect).
pub fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.clone(),
        _ => "/".to_string(),
    }
}

fn form_page(message: Option<&str>, user: &str, next: &str) -> String {
    let msg = message.map_or(String::new(), |m| {
        format!(
            "<p class=\"bad\" id=\"login-error\">{}</p>",
            html::html_escape(m)
        )
    });
    html::page_logged_out(
        "登录",
        &format!(
            "{msg}<form method=\"post\" action=\"/login\" class=\"login\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<p><label>账号 <input name=\"user\" value=\"{user}\" autocomplete=\"username\" required autofocus></label></p>\
<p><label>密码 <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
<p><button type=\"submit\">登录</button></p></form>\
<p>没有账号请联系管理员（<code>kepu-intake user add 名字</code>）。</p>",
            next = html::html_escape(next),
            user = html::html_escape(user),
        ),
    )
}

/// `GET /login`.
pub async fn login_form(Query(q): Query<HashMap<String, String>>) -> Response {
    Html(form_page(None, "", &safe_next(q.get("next")))).into_response()
}

/// `POST /login` (fields `user`, `password`, optional `next`): 303 with the session
/// cookie, 401 with the form again, or 429 while throttled.
pub async fn login(State(st): State<WebState>, req: Request) -> Response {
    let addr = req
        .extensions()
        .get::<ConnectInfo<super::tls::Peer>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0 .0.ip().to_string());
    let Ok(Form(f)) = Form::<HashMap<String, String>>::from_request(req, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            Html(form_page(Some("表单无法读取，请重试。"), "", "/")),
        )
            .into_response();
    };
    let user = f.get("user").map_or("", |s| s.trim()).to_string();
    let password = f.get("password").cloned().unwrap_or_default();
    let next = safe_next(f.get("next"));
    let path = st.db_path.clone();
    let (u, a) = (user.clone(), addr.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        let mut db = Db::open(&path)?;
        accounts::login(&mut db, &u, &password, &a)
    })
    .await;
    match outcome {
        Ok(Ok(Login::Ok { id, .. })) => {
            let mut r = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(Some(&id), st.secure_cookies)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Ok(Login::Wrong)) => (
            StatusCode::UNAUTHORIZED,
            Html(form_page(Some("账号或密码不对。"), &user, &next)),
        )
            .into_response(),
        Ok(Ok(Login::Throttled { minutes })) => (
            StatusCode::TOO_MANY_REQUESTS,
            Html(form_page(
                Some(&format!(
                    "登录失败次数太多，请 {minutes} 分钟后再试；忘记密码请联系管理员（kepu-intake user passwd 名字）。"
                )),
                &user,
                &next,
            )),
        )
            .into_response(),
        Ok(Err(e)) => super::server_error("登录失败", e),
        Err(e) => super::server_error("登录失败", e),
    }
}

/// `GET /logout`: a button that logs out (logging out changes state: a POST).
pub async fn logout_form(Extension(s): Extension<Session>) -> Response {
    Html(html::page(
        "退出登录",
        &format!(
            "<p>当前账号：{}</p><form method=\"post\" action=\"/logout\">{}\
<button type=\"submit\">退出登录</button></form>",
            html::html_escape(&s.user),
            csrf_field(&s)
        ),
    ))
    .into_response()
}

/// `POST /logout` (with the CSRF token): ends the session, back to the login page.
pub async fn logout(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    headers: axum::http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&s, &f) {
        return auth::csrf_refused();
    }
    if let Some(id) = auth::cookie(&headers, auth::COOKIE).map(str::to_string) {
        let path = st.db_path.clone();
        let done = tokio::task::spawn_blocking(move || {
            let db = Db::open(&path)?;
            accounts::logout(&db, &id)
        })
        .await;
        if let Ok(Err(e)) = done {
            return super::server_error("退出登录失败", e);
        }
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(None, st.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
