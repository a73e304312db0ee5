//! When a receipt that could not go out is tried again: the delay doubles from the
//! configured first one up to an hour.

use super::MAX_BACKOFF_S;
use crate::config::Config;
use crate::db::receipts::ReceiptRow;
use crate::db::Db;
use crate::error::Result;
use chrono::{DateTime, FixedOffset};

pub(super) fn backoff(attempt: i64, first_s: u64) -> chrono::Duration {
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let first = i64::try_from(first_s.max(1)).unwrap_or(MAX_BACKOFF_S);
    let secs = first.saturating_mul(2_i64.saturating_pow(exp));
    chrono::Duration::seconds(secs.min(MAX_BACKOFF_S))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn defer(
    cfg: &Config,
    db: &Db,
    r: &ReceiptRow,
    reason: &str,
    reply: Option<&str>,
    count_attempt: bool,
    now: &DateTime<FixedOffset>,
) -> Result<()> {
    let next = *now + backoff(r.attempts + 1, cfg.receipts.retry_after_s);
    db.receipt_defer(r.id, &crate::time::fmt(&next), reason, reply, count_attempt)
}
