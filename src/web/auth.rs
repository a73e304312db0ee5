//! Access control: the operators' token from the environment or a file, checked on
//! every request but `/healthz` (bearer header, cookie, or `?token=` which sets the
//! cookie), plus the safety headers every response carries.

use super::{html, WebState};
use crate::config::WebConfig;
use crate::error::{Error, Result};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

const COOKIE: &str = "kepu_token";

/// The access token from `web.token_env` (when that variable is set and non-empty),
/// else `web.token_file`. No token is an error that says how to set one.
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
        "web: 未设置访问令牌，拒绝启动。请设置环境变量 {var}（例如 export {var}=$(head -c 24 /dev/urandom | base64)），\
或在配置文件 [web] 中设置 token_env / token_file \
/ no access token: set the environment variable {var} or [web] token_file"
    )))
}

/// Compares without stopping at the first differing byte, so response time does not
/// reveal how much of a guessed token was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_value(token: &str) -> String {
    hex::encode(token.as_bytes())
}

/// Which credential, if any, the request carries correctly.
enum Credential {
    None,
    HeaderOrCookie,
    Query,
}

fn credential(req: &Request, token: &str) -> Credential {
    let headers = req.headers();
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            if same(t.trim().as_bytes(), token.as_bytes()) {
                return Credential::HeaderOrCookie;
            }
        }
    }
    let want = cookie_value(token);
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == COOKIE && same(val.as_bytes(), want.as_bytes()) {
                    return Credential::HeaderOrCookie;
                }
            }
        }
    }
    if let Ok(Query(q)) = Query::<HashMap<String, String>>::try_from_uri(req.uri()) {
        if let Some(t) = q.get("token") {
            if same(t.as_bytes(), token.as_bytes()) {
                return Credential::Query;
            }
        }
    }
    Credential::None
}

fn unauthorized() -> Response {
    let body = html::page(
        "需要访问令牌",
        "<p>请使用管理员提供的链接（带 <code>?token=…</code>）打开本页，\
或在请求中加 <code>Authorization: Bearer …</code>。</p>",
    );
    let mut r = (StatusCode::UNAUTHORIZED, Html(body)).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Token check for every route but `/healthz`; a valid `?token=` sets a cookie so the
/// links on the page work without it. Adds the safety headers to every response.
pub(super) async fn guard(State(st): State<WebState>, req: Request, next: Next) -> Response {
    let open = req.uri().path() == "/healthz";
    let cred = if open {
        Credential::HeaderOrCookie
    } else {
        credential(&req, &st.token)
    };
    let mut resp = match cred {
        Credential::None => unauthorized(),
        Credential::HeaderOrCookie => next.run(req).await,
        Credential::Query => {
            let mut r = next.run(req).await;
            let c = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                cookie_value(&st.token)
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ));
    resp
}
