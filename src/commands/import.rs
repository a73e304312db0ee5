//! `import PATH...` and `import --into mID PATH...`: mail files taken in and processed.

use super::open_db;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::store::{DataLock, Store};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// `import PATH...`: record the files, then process them like fetched mail. Works
/// while `run` runs: recording and processing are short transactions; with a daemon
/// running only this import's messages are processed here (the daemon takes its own),
/// and the receipts go out with whichever process holds the outbox lock.
pub async fn import(cfg: &Config, paths: &[PathBuf], shutdown: CancellationToken) -> Result<()> {
    let stats = {
        let store = Store::open(&cfg.storage.data_dir)?;
        let mut db = open_db(cfg)?;
        let stats = crate::import::import(paths, &mut db, &store, &cfg.intake.deadline()?)?;
        crate::office::audit(
            &mut db,
            &crate::office::os_user(),
            crate::office::AuditAction::Import,
            match stats.recorded.first() {
                Some(&id) => crate::office::Target::Message(id),
                None => crate::office::Target::AllMessages,
            },
            &format!(
                "{} 封读取, {} 封新邮件, {} 封重复 ({})",
                stats.files,
                stats.new,
                stats.duplicates,
                describe_paths(paths)
            ),
        )?;
        stats
    };
    if DataLock::daemon_running(&cfg.storage.data_dir)? {
        let cfg2 = cfg.clone();
        let ids = stats.recorded.clone();
        let token = shutdown.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if !ids.is_empty() {
                let mut db = open_db(&cfg2)?;
                Pipeline::new(&cfg2)?.reprocess(&mut db, Some(&ids), &token)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Other(format!("import: processing task failed: {e}")))??;
        let mut db = open_db(cfg)?;
        crate::receipts::send_due(cfg, &mut db, &shutdown).await?;
    } else {
        crate::daemon::process(cfg, &shutdown).await?;
    }
    println!(
        "导入完成 imported: {} 封读取, {} 封新邮件, {} 封重复, {} 封已导入过",
        stats.files, stats.new, stats.duplicates, stats.already_known
    );
    if !stats.subfolders.is_empty() {
        println!(
            "已读子文件夹 subfolders read: {}",
            stats.subfolders.join(", ")
        );
    }
    if !stats.skipped_folders.is_empty() {
        println!(
            "未读子文件夹 subfolders skipped (sent/drafts/trash/junk): {}",
            stats.skipped_folders.join(", ")
        );
    }
    Ok(())
}

/// `import --into mID PATH...`: files for message mID (`m12` or `12`), read with its
/// attachments from now on; the message is processed again at once.
pub async fn import_into(
    cfg: &Config,
    id: &str,
    paths: &[PathBuf],
    shutdown: CancellationToken,
) -> Result<()> {
    let message: i64 = id.trim_start_matches(['m', 'M']).parse().map_err(|_| {
        Error::Other(format!(
            "--into {id}: 应为邮件编号，如 m12 (expected a message id such as m12)"
        ))
    })?;
    // No data-dir lock: like `import`, this works while `run` runs (short
    // transactions), and the message is processed again here at once.
    let report = {
        let store = Store::open(&cfg.storage.data_dir)?;
        let mut db = open_db(cfg)?;
        crate::office::import_into(&mut db, &store, message, paths, &crate::office::os_user())?
    };
    let cfg2 = cfg.clone();
    let token = shutdown.clone();
    let target = report.message;
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut db = open_db(&cfg2)?;
        Pipeline::new(&cfg2)?.reprocess(&mut db, Some(&[target]), &token)?;
        Ok(())
    })
    .await
    .map_err(|e| Error::Other(format!("import --into: processing task failed: {e}")))??;
    let mut db = open_db(cfg)?;
    crate::receipts::send_due(cfg, &mut db, &shutdown).await?;
    let new = report.files.iter().filter(|f| f.2).count();
    println!(
        "已加入邮件 m{message} added to message m{message}: {} 个文件, {} 个新文件 ({})",
        report.files.len(),
        new,
        report.audit_detail()
    );
    Ok(())
}

/// The paths of an import for its audit row: the first three and how many more.
fn describe_paths(paths: &[PathBuf]) -> String {
    let mut s: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        s.push(format!("等共 {} 个", paths.len()));
    }
    s.join(", ")
}
