//! `match SCAN ELECTRONIC` / `match --unmatch SCAN`: an operator's scan match.

use super::open_db;
use crate::config::Config;
use crate::error::Result;

/// `match SCAN ELECTRONIC` / `match --unmatch SCAN`: an operator's decision, kept by
/// content so it survives reprocessing ([`crate::office::set_match`], audited).
pub fn set_match(cfg: &Config, scan: i64, electronic: Option<i64>) -> Result<()> {
    set_match_by(cfg, scan, electronic, &crate::office::os_user())
}

/// [`set_match`] recorded under `by`.
pub fn set_match_by(cfg: &Config, scan: i64, electronic: Option<i64>, by: &str) -> Result<()> {
    let mut db = open_db(cfg)?;
    let change = match electronic {
        Some(e) => crate::office::MatchChange::To(e),
        None => crate::office::MatchChange::Nothing,
    };
    crate::office::set_match(&mut db, cfg.intake.match_threshold, scan, change, by)?;
    match electronic {
        Some(e) => println!("已将扫描件 {scan} 匹配到电子版 {e}"),
        None => println!("已取消扫描件 {scan} 的匹配"),
    }
    Ok(())
}
