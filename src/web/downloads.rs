//! What the page hands out rather than shows: a stored document, a scan's preview
//! image, the office workbook, and the `/metrics` text for scrapers.

use super::{files, load, metrics, not_found, server_error, WebState};
use crate::report::dump::DumpDocument;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::PathBuf;

/// Document `id` (a number from the URL) and its stored file, or the answer to give
/// instead: 404 for an unknown id or a stored path missing or outside the data dir.
async fn stored(st: &WebState, id: &str) -> Result<(DumpDocument, PathBuf), Response> {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let dump = load(st).await?;
    let doc = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .find(|d| d.id == id)
        .cloned()
        .ok_or_else(not_found)?;
    let Some(path) = files::resolve_stored(&st.data_dir, &doc.path) else {
        tracing::warn!(doc = id, stored = %doc.path, "web: stored path missing or outside the data dir");
        return Err(not_found());
    };
    Ok((doc, path))
}

/// `/doc/{id}/preview`: page 1 of a scan (an image, or a PDF rendered) as a small JPEG.
pub async fn preview(State(st): State<WebState>, UrlPath(id): UrlPath<String>) -> Response {
    let (doc, path) = match stored(&st, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = doc.id;
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
pub async fn document(
    State(st): State<WebState>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (doc, path) = match stored(&st, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = doc.id;
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
pub async fn export_xlsx(State(st): State<WebState>) -> Response {
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

pub async fn metrics_page(State(st): State<WebState>) -> Response {
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
