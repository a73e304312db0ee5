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

pub use crate::domain::{ReminderReason, ReminderStatus};
use serde::{Deserialize, Serialize};

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

/// A reminder computed from the intake, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub to: String,
    pub reason: ReminderReason,
    /// The application's id now (for display) and its content key (`form|applicant
    /// key`, stable across reprocessing).
    pub application: Option<i64>,
    pub app_key: Option<String>,
    pub unit: Option<String>,
    pub subject: String,
    pub body: String,
}

impl Draft {
    /// What makes two drafts the same reminder.
    pub fn same(
        &self,
        to: &str,
        reason: ReminderReason,
        app_key: Option<&str>,
        unit: Option<&str>,
    ) -> bool {
        self.to.eq_ignore_ascii_case(to)
            && self.reason == reason
            && self.app_key.as_deref() == app_key
            && self.unit.as_deref() == unit
    }
}

/// A stored reminder: the `reminders` key of `dump --json` (`id`, `to`, `application`,
/// `unit`, `reason`, `status`) and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub id: i64,
    pub to: String,
    pub application: Option<i64>,
    pub unit: Option<String>,
    pub reason: ReminderReason,
    pub status: ReminderStatus,
    #[serde(skip)]
    pub app_key: Option<String>,
    pub subject: String,
    pub body: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub sent_at: Option<String>,
    pub smtp_reply: Option<String>,
    pub our_message_id: Option<String>,
    pub created_at: String,
}
