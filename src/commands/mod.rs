//! The commands of `contract.md`, one file each (the re-exports keep `commands::import`
//! and the like). The binary parses the command line and dispatches in its one `match`;
//! these print results to stdout and return errors upward. Here: what they share.

pub mod backup;
pub mod check;
pub mod dump;
pub mod export;
pub mod import;
pub mod list;
pub mod matching;
pub mod receipts;
pub mod reprocess;
pub mod review;
pub mod roster;
pub mod run;
pub mod serve;
pub mod show;
pub mod status;
pub mod user;

pub use dump::{dump, load_dump};
pub use export::export;
pub use import::{import, import_into};
pub use list::{list, ListFilter, TABLE_ROWS};
pub use matching::{set_match, set_match_by};
pub use reprocess::reprocess;
pub use run::run;
pub use serve::serve;
pub use show::show;
pub use status::{ocr_available, status};

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};

pub(crate) fn open_db(cfg: &Config) -> Result<Db> {
    Db::open(&cfg.storage.db_path())
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Other(format!("JSON: {e}")))
}

/// `v` as pretty JSON and a newline, written to stdout as it is serialised (10,000
/// applications are megabytes: no copy of them in memory first).
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    serde_json::to_writer_pretty(&mut out, v).map_err(|e| Error::Other(format!("JSON: {e}")))?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(std::path::Path::new("<stdout>"), e))
}
