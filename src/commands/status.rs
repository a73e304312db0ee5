//! `status [--json]`: counts by category, form × status, late and problems.

use super::{open_db, print_json};
use crate::config::Config;
use crate::error::Result;
use crate::report::status;

/// Whether scans will be OCR'd: the scan stage's own tool look-up.
pub fn ocr_available(cfg: &Config) -> bool {
    crate::scan::ScanOptions::detect(&cfg.tools).ocr
}

/// `status [--json]`.
pub fn status(cfg: &Config, json: bool) -> Result<()> {
    let db = open_db(cfg)?;
    // Counted by SQLite, not by loading the whole intake: quick at 10,000 applications.
    let mut r = status::from_counts(&db.status_counts()?, db.last_poll()?, ocr_available(cfg));
    r.receipts_waiting = db.receipts_waiting()?.into_iter().collect();
    if json {
        print_json(&r)?;
    } else {
        print!("{}", status::render(&r));
    }
    Ok(())
}
