//! The caps that keep the office's mailbox within what its provider tolerates (NetEase
//! blocks an account that sends too much too fast, which would also stop the real
//! receipts): at most `max_per_day` receipts a calendar day (Beijing time) and
//! `max_per_domain_per_hour` to one recipient domain in any hour. A receipt over a cap
//! is never dropped: it stays `pending` with a `waiting:` reason and the instant the
//! cap frees, and `status` counts it. The per-minute pace and the per-mailbox window
//! are applied by the drain itself ([`super::outbox`]).

use super::kinds::{ReceiptReason, WAITING};
use crate::config::ReceiptsConfig;
use crate::db::Db;
use crate::error::Result;
use chrono::{DateTime, Duration, FixedOffset, NaiveTime};
use std::collections::HashMap;

/// The counts one drain starts from and keeps up to date as it sends.
pub struct Caps {
    max_per_day: usize,
    max_per_domain: usize,
    day_start: DateTime<FixedOffset>,
    sent_today: usize,
    /// Domain → send times within the last hour, oldest first (loaded on first use).
    recent: HashMap<String, Vec<DateTime<FixedOffset>>>,
}

/// A receipt may go now, or waits until `until` for the reason given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Free,
    Wait {
        until: DateTime<FixedOffset>,
        reason: String,
    },
}

/// Midnight (Beijing time) starting the day of `t`.
pub fn day_start(t: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let t = crate::time::to_shanghai(t);
    let midnight = t.date_naive().and_time(NaiveTime::MIN);
    midnight
        .and_local_timezone(crate::time::shanghai())
        .single()
        .unwrap_or(t)
}

impl Caps {
    pub fn load(db: &Db, cfg: &ReceiptsConfig, now: &DateTime<FixedOffset>) -> Result<Caps> {
        let day_start = day_start(now);
        let sent_today = if cfg.max_per_day > 0 {
            db.receipt_sent_count_since(&crate::time::fmt(&day_start))?
        } else {
            0
        };
        Ok(Caps {
            max_per_day: cfg.max_per_day as usize,
            max_per_domain: cfg.max_per_domain_per_hour as usize,
            day_start,
            sent_today,
            recent: HashMap::new(),
        })
    }

    /// Whether a receipt to `domain` may be sent at `now`.
    pub fn check(&mut self, db: &Db, domain: &str, now: &DateTime<FixedOffset>) -> Result<Slot> {
        if *now >= self.day_start + Duration::days(1) {
            // The drain ran past midnight: a new day, a new count.
            self.day_start = day_start(now);
            self.sent_today = 0;
        }
        if self.max_per_day > 0 && self.sent_today >= self.max_per_day {
            let until = self.day_start + Duration::days(1);
            return Ok(Slot::Wait {
                until,
                reason: format!(
                    "{WAITING}{}",
                    ReceiptReason::DailyCap.with(format!(
                        "今日已发送 {} 封回执（每日上限 max_per_day = {}），{} 后发送",
                        self.sent_today,
                        self.max_per_day,
                        crate::time::fmt_human(&until)
                    ))
                ),
            });
        }
        if self.max_per_domain == 0 || domain.is_empty() {
            return Ok(Slot::Free);
        }
        let hour_ago = *now - Duration::hours(1);
        if !self.recent.contains_key(domain) {
            let times = db
                .receipt_sent_times_to_domain_since(domain, &crate::time::fmt(&hour_ago))?
                .iter()
                .filter_map(|t| crate::time::parse_rfc3339(t))
                .collect();
            self.recent.insert(domain.to_string(), times);
        }
        let times = self.recent.entry(domain.to_string()).or_default();
        times.retain(|t| *t > hour_ago);
        if times.len() >= self.max_per_domain {
            let until = times[times.len() - self.max_per_domain] + Duration::hours(1);
            return Ok(Slot::Wait {
                until,
                reason: format!(
                    "{WAITING}{}",
                    ReceiptReason::DomainCap.with(format!(
                        "一小时内已向 {domain} 发送 {} 封回执（上限 max_per_domain_per_hour = {}），{} 后发送",
                        times.len(),
                        self.max_per_domain,
                        crate::time::fmt_human(&until)
                    ))
                ),
            });
        }
        Ok(Slot::Free)
    }

    /// A receipt to `domain` went out at `now`.
    pub fn used(&mut self, domain: &str, now: &DateTime<FixedOffset>) {
        self.sent_today += 1;
        if self.max_per_domain > 0 {
            self.recent
                .entry(domain.to_string())
                .or_default()
                .push(*now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_starts_at_midnight_in_beijing() {
        let t = crate::time::parse_rfc3339("2022-07-18T01:30:00Z").unwrap();
        assert_eq!(
            crate::time::fmt(&day_start(&t)),
            "2022-07-18T00:00:00+08:00"
        );
        let t = crate::time::parse_rfc3339("2022-07-18T17:30:00Z").unwrap();
        assert_eq!(
            crate::time::fmt(&day_start(&t)),
            "2022-07-19T00:00:00+08:00"
        );
    }
}
