//! Reminders (催交) the office approves: which are due ([`due`]: an application missing a
//! scan, a seal or its electronic version; a roster unit that sent nothing or too
//! little), their Chinese text ([`text`], never quoting what an applicant wrote), and
//! sending the approved ones through the receipts' SMTP path ([`send`]) from the
//! outbox ([`outbox`], the daemon's round). Nothing is sent without an operator's
//! approval (`remind --send`, the page's button, [`crate::office::approve_reminders`]),
//! and the approval is recorded with the operator's name.

pub mod due;
pub mod outbox;
pub mod send;
pub mod text;

pub use crate::domain::reminder::{Draft, Reminder};
pub use crate::domain::{ReminderReason, ReminderStatus};
use serde::Deserialize;

/// `[remind]` of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindConfig {
    /// Reminders are due only within this many days before the deadline.
    pub days_before: u32,
    /// At most one reminder per (recipient, reason) in this many hours.
    pub interval_h: u32,
}

impl Default for RemindConfig {
    fn default() -> Self {
        RemindConfig {
            days_before: 7,
            interval_h: 72,
        }
    }
}
