//! Dry-run previews: each receipt written whole to `<dry_run_dir>/<id>.eml` instead of
//! being sent.

use crate::config::Config;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub(super) fn dry_run_dir(cfg: &Config) -> PathBuf {
    cfg.receipts
        .dry_run_dir
        .clone()
        .unwrap_or_else(|| cfg.storage.data_dir.join("receipts-dry-run"))
}

/// `<dir>/<id>.eml`, written whole or not at all.
pub(super) fn write_eml(dir: &Path, id: i64, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    let path = dir.join(format!("{id}.eml"));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}
