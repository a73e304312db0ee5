//! The per-minute cap on receipts handed to SMTP, counting the sends of earlier drains.

use crate::db::Db;
use crate::error::Result;
use chrono::{DateTime, FixedOffset};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// At most `max` messages handed to SMTP in any 60 seconds (0 = no limit), counting
/// those sent by earlier drains.
pub(super) struct RateLimiter {
    max: usize,
    /// When each recent send stops counting.
    frees_at: VecDeque<Instant>,
}

impl RateLimiter {
    pub(super) fn new(
        db: &Db,
        max_per_minute: u32,
        now: &DateTime<FixedOffset>,
    ) -> Result<RateLimiter> {
        let max = max_per_minute as usize;
        let mut frees_at = VecDeque::new();
        if max > 0 {
            let since = *now - chrono::Duration::seconds(60);
            let base = Instant::now();
            for t in db.receipt_sent_times_since(&crate::time::fmt(&since))? {
                if let Some(t) = crate::time::parse_rfc3339(&t) {
                    let left = (t + chrono::Duration::seconds(60) - *now)
                        .to_std()
                        .unwrap_or_default();
                    frees_at.push_back(base + left);
                }
            }
        }
        Ok(RateLimiter { max, frees_at })
    }

    /// Sleeps until a send is allowed; false when `shutdown` fired first.
    pub(super) async fn wait_for_slot(&mut self, shutdown: &CancellationToken) -> bool {
        if self.max == 0 {
            return true;
        }
        loop {
            let now = Instant::now();
            while self.frees_at.front().is_some_and(|t| *t <= now) {
                self.frees_at.pop_front();
            }
            let Some(first) = self.frees_at.front().copied() else {
                return true;
            };
            if self.frees_at.len() < self.max {
                return true;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(first.into()) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
    }

    pub(super) fn used(&mut self) {
        if self.max > 0 {
            self.frees_at
                .push_back(Instant::now() + Duration::from_secs(60));
        }
    }
}
