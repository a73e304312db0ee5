//! The library's error type. Each variant says what failed and on which input, so the
//! one-line message the binary prints is something an operator can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("配置错误 config: {0}")]
    Config(String),
    /// A call file that cannot be used: `path: line: what is wrong`.
    #[error("{0}")]
    Call(#[from] crate::call::CallError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("数据库错误 database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("数据库 {path} 由更新版本的 kepu-intake 写入 (schema {found} > {supported})；请升级程序后再打开 / database was written by a newer kepu-intake, upgrade first")]
    DbTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("数据目录 {0} 已被另一个 kepu-intake 进程占用 / data dir is locked by another running kepu-intake")]
    Locked(PathBuf),
    #[error("IMAP {host}: {msg}")]
    Imap { host: String, msg: String },
    #[error("IMAP 登录失败 login failed for {user}@{host}: {msg} — 请检查用户名和客户端授权码 (check user and the app authorization code)")]
    ImapAuth {
        host: String,
        user: String,
        msg: String,
    },
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn db(path: impl Into<PathBuf>, source: rusqlite::Error) -> Error {
        Error::Db {
            path: path.into(),
            source,
        }
    }

    /// True when the file system (or SQLite on it) ran out of space: the daemon says so
    /// plainly and retries, since nothing is lost while the mail stays on the server.
    pub fn is_disk_full(&self) -> bool {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        match self {
            Error::Io { source, .. } => {
                matches!(source.raw_os_error(), Some(ENOSPC | EDQUOT))
                    || source.kind() == std::io::ErrorKind::StorageFull
            }
            Error::Db { source, .. } => matches!(
                source,
                rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::DiskFull
            ),
            _ => false,
        }
    }
}
