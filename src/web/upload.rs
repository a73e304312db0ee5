//! `POST /messages/{id}/import`: files a clerk has (downloaded from a cloud link, handed
//! over on a USB stick) uploaded for a message, the page's `import --into`. The upload
//! lands in a private temporary directory under the data dir (random name, mode 0700,
//! removed afterwards), then goes through [`crate::office::import_into`], the same
//! audited function the CLI calls, under the logged-in user. The running daemon
//! processes the message again (it wakes for unprocessed mail).

use super::auth::{csrf_ok, csrf_refused};
use super::{html, WebState};
use crate::office::accounts::Session;
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use std::collections::HashMap;
use std::path::PathBuf;

/// The largest upload the route accepts (all files of one form together).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

fn refused(status: StatusCode, msg: &str) -> Response {
    (
        status,
        Html(html::page(
            "文件未加入",
            &format!(
                "<p class=\"bad\">{}</p><p>请返回上一页重新选择文件。</p>",
                html::html_escape(msg)
            ),
        )),
    )
        .into_response()
}

/// The file name to keep: the last component of what the browser sent, nothing that
/// could climb out of the temporary directory or hide; None when nothing is left.
fn safe_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let name: String = last.chars().filter(|c| !c.is_control()).collect();
    (!name.is_empty() && !name.starts_with('.')).then_some(name)
}

/// Reads the form: the CSRF field and every `file` part, written into `dir`.
async fn read_form(
    mut form: Multipart,
    dir: &std::path::Path,
) -> Result<(HashMap<String, String>, Vec<PathBuf>), String> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    while let Some(part) = form
        .next_field()
        .await
        .map_err(|e| format!("上传没有完成（{e}），文件可能超过 64 MB"))?
    {
        let name = part.name().unwrap_or("").to_string();
        if name != "file" {
            let text = part.text().await.map_err(|e| e.to_string())?;
            fields.insert(name, text);
            continue;
        }
        let Some(file_name) = part.file_name().and_then(safe_name) else {
            continue;
        };
        let bytes = part
            .bytes()
            .await
            .map_err(|e| format!("上传没有完成（{e}），文件可能超过 64 MB"))?;
        // One directory per part: two files of the same name stay apart and keep it.
        let sub = dir.join((files.len() + 1).to_string());
        std::fs::create_dir(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let path = sub.join(file_name);
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
    }
    Ok((fields, files))
}

/// The upload handler (multipart: `csrf`, one or more `file`).
pub async fn import_files(
    State(st): State<WebState>,
    Extension(s): Extension<Session>,
    UrlPath(id): UrlPath<i64>,
    form: Multipart,
) -> Response {
    let dir = match tempfile::Builder::new()
        .prefix(".upload-")
        .tempdir_in(&st.data_dir)
    {
        Ok(d) => d,
        Err(e) => return super::server_error("无法保存上传的文件", e),
    };
    let (fields, files) = match read_form(form, dir.path()).await {
        Ok(x) => x,
        Err(msg) => return refused(StatusCode::BAD_REQUEST, &msg),
    };
    if !csrf_ok(&s, &fields) {
        return csrf_refused();
    }
    if files.is_empty() {
        return refused(StatusCode::BAD_REQUEST, "请先选择要加入这封邮件的文件。");
    }
    let db_path = st.db_path.clone();
    let data_dir = st.data_dir.clone();
    let user = s.user.clone();
    let done = tokio::task::spawn_blocking(move || -> crate::error::Result<_> {
        let mut db = crate::db::Db::open(&db_path)?;
        let store = crate::store::Store::open(&data_dir)?;
        let report = crate::office::import_into(&mut db, &store, id, &files, &user)?;
        // The temporary directory goes once its files are in the raw store.
        drop(dir);
        Ok(report)
    })
    .await;
    match done {
        Ok(Ok(_)) => Redirect::to(&format!("/messages/{id}")).into_response(),
        Ok(Err(e @ crate::error::Error::Other(_))) => {
            refused(StatusCode::BAD_REQUEST, &e.to_string())
        }
        Ok(Err(e)) => super::server_error("文件未能加入", e),
        Err(e) => super::server_error("文件未能加入", e),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn upload_names_stay_in_their_directory() {
        assert_eq!(
            safe_name("C:\\Users\\王\\表.docx").as_deref(),
            Some("表.docx")
        );
        assert_eq!(safe_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_name(".."), None);
        assert_eq!(safe_name("a/"), None);
        assert_eq!(safe_name(".hidden"), None);
    }
}
