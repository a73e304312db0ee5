//! Access control. Operators log in with a named account ([`crate::office::accounts`]):
//! the session id travels in an HttpOnly, SameSite=Strict cookie with an expiry, and
//! every form carries the session's CSRF token. `/healthz` and `/login` are open;
//! `/metrics` also takes the scrapers' bearer token from `[web] token_env`. Every
//! response carries the safety headers.

use super::{html, WebState};
use crate::config::WebConfig;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::office::accounts::{self, Session};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// The session cookie's name.
pub const COOKIE: &str = "kepu_session";

/// The scrapers' token for `/metrics` from `web.token_env` (when that variable is set
/// and non-empty), else `web.token_file`. No token is an error that says how to set one.
pub fn resolve_token(web: &WebConfig) -> Result<String> {
    if let Some(var) = &web.token_env {
        if let Ok(t) = std::env::var(var) {
            let t = t.trim().to_string();
            if !t.is_empty() {
                return Ok(t);
            }
        }
    }
    if let Some(path) = &web.token_file {
        let t = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Ok(t);
        }
        return Err(Error::Config(format!(
            "web.token_file: {} 为空 / is empty; 请写入一个足够长的随机字符串",
            path.display()
        )));
    }
    let var = web.token_env.as_deref().unwrap_or("KEPU_WEB_TOKEN");
    Err(Error::Config(format!(
        "web: 未设置 /metrics 的访问令牌。请设置环境变量 {var}（例如 export {var}=$(head -c 24 /dev/urandom | base64)），\
或在配置文件 [web] 中设置 token_env / token_file \
/ no metrics token: set the environment variable {var} or [web] token_file"
    )))
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'r>(req: &'r axum::http::HeaderMap, name: &str) -> Option<&'r str> {
    req.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value that opens (Some id) or ends (None) a session.
pub fn session_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            accounts::SESSION_HOURS * 3600
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// The live session of a request's cookie, looked up in the database (blocking).
pub async fn session_of(st: &WebState, headers: &axum::http::HeaderMap) -> Option<Session> {
    let id = cookie(headers, COOKIE)?.to_string();
    let path = st.db_path.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Session>> {
        let db = Db::open(&path)?;
        accounts::session(&db, &id)
    })
    .await;
    match found {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "web: cannot read sessions");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "web: session lookup failed");
            None
        }
    }
}

fn bearer_ok(req: &Request, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| accounts::same(t.trim().as_bytes(), token.as_bytes()))
}

/// Whether the client wants a page (a browser), not data.
fn wants_html(req: &Request) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

fn unauthorized() -> Response {
    let body = html::page_logged_out(
        "需要登录",
        "<p>请先<a href=\"/login\">登录</a>。没有账号请联系管理员\
（<code>kepu-intake user add 名字</code>）。</p>",
    );
    let mut r = (StatusCode::UNAUTHORIZED, Html(body)).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Session check for every route but `/healthz` and `/login`: a browser without a
/// session is sent to the login page (and back afterwards), anything else gets 401.
/// The session goes into the request's extensions for the handlers (user, CSRF).
pub(super) async fn guard(State(st): State<WebState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let open = path == "/healthz" || path == "/login";
    let mut resp = if !same_origin(&req) {
        csrf_refused()
    } else if open || (path == "/metrics" && bearer_ok(&req, st.token.as_deref())) {
        next.run(req).await
    } else if let Some(s) = session_of(&st, req.headers()).await {
        req.extensions_mut().insert(s);
        next.run(req).await
    } else if wants_html(&req) {
        let back = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        Redirect::to(&format!("/login?next={}", html::url_encode(&back))).into_response()
    } else {
        unauthorized()
    };
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not "no-referrer": with it browsers send `Origin: null` on our own forms,
        // and `same_origin` must refuse null (a hostile page can cause it). Nothing
        // goes to other sites either way.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ));
    resp
}

/// A POST a browser sent from another site names that site in `Origin`: refused
/// before anything else (the login form too, which has no session to hold a token).
/// Requests without `Origin` (scripts, old browsers) rely on the CSRF token.
fn same_origin(req: &Request) -> bool {
    if req.method() != Method::POST {
        return true;
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Whether a submitted form carries the session's CSRF token.
pub fn csrf_ok(s: &Session, form: &std::collections::HashMap<String, String>) -> bool {
    form.get("csrf")
        .is_some_and(|t| accounts::same(t.as_bytes(), s.csrf.as_bytes()))
}

/// The hidden form field every POST form of a session carries.
pub fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html::html_escape(&s.csrf)
    )
}

/// The answer to a POST without the session's CSRF token.
pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(html::page(
            "请求被拒绝",
            "<p>表单已过期或来自其他网站。请回到页面刷新后再提交。</p>",
        )),
    )
        .into_response()
}
