//! `kepu-intake review`, `late` and `remove`: the office's decisions from the command
//! line, through the same audited library functions the web page calls
//! ([`crate::office`]). They work while `run` and `serve` run.

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::office::{self, ReviewState};

/// An application id as the operator writes it: `12` or `a12`.
pub fn app_id(id: &str) -> Result<i64> {
    id.trim_start_matches(['a', 'A']).parse().map_err(|_| {
        Error::Other(format!(
            "'{id}' 不是申报编号 / not an application id: 写 12 或 a12"
        ))
    })
}

/// A message id as the operator writes it: `12` or `m12`.
pub fn message_id(id: &str) -> Result<i64> {
    id.trim_start_matches(['m', 'M']).parse().map_err(|_| {
        Error::Other(format!(
            "'{id}' 不是邮件编号 / not a message id: 写 12 或 m12"
        ))
    })
}

fn by_or_os(by: Option<&str>) -> String {
    by.map(str::trim)
        .filter(|b| !b.is_empty())
        .map_or_else(office::os_user, str::to_string)
}

/// `review ID --accept|--return|--pending [--note TEXT] [--by NAME]`.
pub fn review(
    cfg: &Config,
    id: &str,
    state: ReviewState,
    note: Option<&str>,
    by: Option<&str>,
) -> Result<()> {
    let id = app_id(id)?;
    let mut db = Db::open(&cfg.storage.db_path())?;
    let by = by_or_os(by);
    office::review(&mut db, id, state, note.unwrap_or(""), &by)?;
    println!("申报 a{id}：{}（{by}）", state.label_zh());
    Ok(())
}

/// `late ID --excuse REASON [--by NAME]` / `late ID --unexcuse`.
pub fn late(cfg: &Config, id: &str, excuse: Option<&str>, by: Option<&str>) -> Result<()> {
    let id = app_id(id)?;
    let mut db = Db::open(&cfg.storage.db_path())?;
    let by = by_or_os(by);
    office::late_excuse(&mut db, id, excuse, &by)?;
    match excuse {
        Some(r) => println!("申报 a{id}：逾期已准许（{r}）（{by}）"),
        None => println!("申报 a{id}：已撤销逾期准许（{by}）"),
    }
    Ok(())
}

/// `remove mID [--reason TEXT] [--by NAME]` / `remove mID --restore`.
pub fn remove(
    cfg: &Config,
    id: &str,
    restore: bool,
    reason: Option<&str>,
    by: Option<&str>,
) -> Result<()> {
    let id = message_id(id)?;
    let mut db = Db::open(&cfg.storage.db_path())?;
    let by = by_or_os(by);
    let t = cfg.intake.match_threshold;
    let changed = if restore {
        office::restore(&mut db, t, id, &by)?
    } else {
        office::soft_remove(&mut db, t, id, reason.unwrap_or(""), &by)?
    };
    match (restore, changed) {
        (false, true) => println!("邮件 m{id} 已移除（文件仍保留，可用 --restore 恢复）"),
        (false, false) => println!("邮件 m{id} 早已移除"),
        (true, true) => println!("邮件 m{id} 已恢复"),
        (true, false) => println!("邮件 m{id} 未被移除，无需恢复"),
    }
    Ok(())
}
