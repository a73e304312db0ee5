//! Reminders (催交) the office approves: which are due ([`due`]: an application missing a
//! scan, a seal or its electronic version; a roster unit that sent nothing or too
//! little), their Chinese text ([`text`], never quoting what an applicant wrote), and
//! sending the approved ones through the receipts' SMTP path ([`send`]). Nothing is
//! sent without an operator's approval (`remind --send`, the page's button), and the
//! approval is recorded with the operator's name.

pub mod due;
pub mod send;
pub mod text;

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

/// Why a reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The electronic form arrived, the sealed scan did not.
    MissingScan,
    /// The scan carries no seal.
    UnstampedScan,
    /// The scan arrived, the electronic version did not.
    MissingElectronic,
    /// A roster unit sent nothing at all.
    UnitSilent,
    /// A roster unit sent less than the notice asks.
    UnitShort,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::MissingScan,
        Reason::UnstampedScan,
        Reason::MissingElectronic,
        Reason::UnitSilent,
        Reason::UnitShort,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingScan => "missing_scan",
            Reason::UnstampedScan => "unstamped_scan",
            Reason::MissingElectronic => "missing_electronic",
            Reason::UnitSilent => "unit_silent",
            Reason::UnitShort => "unit_short",
        }
    }
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Reason::MissingScan => "缺盖章扫描件",
            Reason::UnstampedScan => "扫描件未见公章",
            Reason::MissingElectronic => "缺电子版",
            Reason::UnitSilent => "单位尚未报送",
            Reason::UnitShort => "单位报送不足",
        }
    }
    /// The application status that calls for this reminder (the one place these
    /// status strings are compared here).
    pub fn for_status(status: &str) -> Option<Reason> {
        match status {
            "missing_scan" => Some(Reason::MissingScan),
            "unstamped_scan" => Some(Reason::UnstampedScan),
            "missing_electronic" => Some(Reason::MissingElectronic),
            _ => None,
        }
    }
}

/// Where a reminder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A draft: computed, shown, not approved.
    Due,
    /// Approved by an operator, waiting for SMTP.
    Queued,
    /// The SMTP conversation reached DATA (a stopped process leaves it `failed`).
    Sending,
    Sent,
    Failed,
    /// Approved, then no longer needed (the application became complete).
    Cancelled,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Due,
        State::Queued,
        State::Sending,
        State::Sent,
        State::Failed,
        State::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            State::Due => "due",
            State::Queued => "queued",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            State::Due => "待批准",
            State::Queued => "已批准待发送",
            State::Sending => "发送中",
            State::Sent => "已发送",
            State::Failed => "发送失败",
            State::Cancelled => "已取消（不再需要）",
        }
    }
}

/// A reminder computed from the intake, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub to: String,
    pub reason: Reason,
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
        reason: Reason,
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
    pub reason: Reason,
    pub status: State,
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
