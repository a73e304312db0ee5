//! `reprocess [--all | ID...]`: messages read again with the current parsers.

use super::open_db;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use tokio_util::sync::CancellationToken;

/// `reprocess [--all | ID...]`.
pub fn reprocess(cfg: &Config, all: bool, ids: &[i64], shutdown: &CancellationToken) -> Result<()> {
    if !all && ids.is_empty() {
        return Err(Error::Other(
            "reprocess: 请给出邮件编号或 --all / give message ids or --all".into(),
        ));
    }
    // No lock: every batch commits in its own short transaction and the applications
    // are rebuilt atomically, so this runs beside the daemon (which keeps fetching).
    let mut db = open_db(cfg)?;
    // Operators run this by hand, often over the whole intake: show OCR progress.
    let p = Pipeline::new(cfg)?.show_progress(true).reparse();
    let stats = p.reprocess(&mut db, if all { None } else { Some(ids) }, shutdown)?;
    let what = if all {
        "全部邮件".to_string()
    } else {
        ids.iter()
            .map(|i| format!("m{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    crate::office::audit(
        &mut db,
        &crate::office::os_user(),
        crate::office::AuditAction::Reprocess,
        match (all, ids.first()) {
            (false, Some(&id)) => crate::office::Target::Message(id),
            _ => crate::office::Target::AllMessages,
        },
        &format!("{what}: {} 封（失败 {}）", stats.processed, stats.failed),
    )?;
    println!(
        "重新处理 reprocessed: {} 封（失败 {}）",
        stats.processed, stats.failed
    );
    Ok(())
}
