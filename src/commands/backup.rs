//! `kepu-intake backup DEST`: a restorable copy of the data dir while the daemon runs.
//! The database is copied first (`VACUUM INTO`, a consistent snapshot), then the raw and
//! document files; files are content-addressed and never change, so every file the
//! snapshot names is already there or arrives in the copy.

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use std::path::Path;

#[derive(Debug, Default, Clone, Copy)]
pub struct BackupStats {
    pub files_copied: usize,
    pub files_present: usize,
}

pub fn backup(data_dir: &Path, dest: &Path) -> Result<BackupStats> {
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let db_dest = dest.join("intake.db");
    if db_dest.exists() {
        return Err(Error::Other(format!(
            "{} 已存在 already exists — 请换一个空目录 use an empty directory",
            db_dest.display()
        )));
    }
    let db = Db::open(&data_dir.join("intake.db"))?;
    db.backup_to(&db_dest)?;
    let mut stats = BackupStats::default();
    for sub in ["raw", "docs"] {
        copy_tree(&data_dir.join(sub), &dest.join(sub), &mut stats)?;
    }
    Ok(stats)
}

fn copy_tree(src: &Path, dst: &Path, stats: &mut BackupStats) -> Result<()> {
    if !src.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
        let entry = entry.map_err(|e| Error::io(src, e))?;
        let p = entry.path();
        let target = dst.join(entry.file_name());
        if p.is_dir() {
            copy_tree(&p, &target, stats)?;
        } else if target.exists() {
            stats.files_present += 1;
        } else {
            std::fs::copy(&p, &target).map_err(|e| Error::io(&p, e))?;
            stats.files_copied += 1;
        }
    }
    Ok(())
}

/// `backup DEST`: the copy, then one line saying what it did.
pub fn command(cfg: &Config, dest: &Path) -> Result<()> {
    let s = backup(&cfg.storage.data_dir, dest)?;
    println!(
        "备份完成 backup done: {} 个文件复制, {} 个已存在 → {}",
        s.files_copied,
        s.files_present,
        dest.display()
    );
    Ok(())
}
