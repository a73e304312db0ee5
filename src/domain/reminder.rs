//! Reminders' (催交) vocabulary: why a reminder is due (`ReminderReason`) and where it
//! stands in its outbox (`ReminderStatus`), each code with its Chinese label; a
//! reminder computed (`Draft`) and stored (`Reminder`), the records `remind/` and `db/`
//! pass each other.

use super::AppStatus;
use serde::Serialize;

crate::domain_codes! {
    /// Why a reminder is due.
    pub enum ReminderReason {
        /// The electronic form arrived, the sealed scan did not.
        MissingScan = "missing_scan", "缺盖章扫描件";
        /// The scan carries no seal.
        UnstampedScan = "unstamped_scan", "扫描件未见公章";
        /// The scan arrived, the electronic version did not.
        MissingElectronic = "missing_electronic", "缺电子版";
        /// A roster unit sent nothing at all.
        UnitSilent = "unit_silent", "单位尚未报送";
        /// A roster unit sent less than the notice asks.
        UnitShort = "unit_short", "单位报送不足";
    }
}

impl ReminderReason {
    /// The reminder an application's status calls for, if any.
    pub fn for_status(status: AppStatus) -> Option<ReminderReason> {
        match status {
            AppStatus::MissingScan => Some(ReminderReason::MissingScan),
            AppStatus::UnstampedScan => Some(ReminderReason::UnstampedScan),
            AppStatus::MissingElectronic => Some(ReminderReason::MissingElectronic),
            AppStatus::Complete | AppStatus::Invalid => None,
        }
    }
}

crate::domain_codes! {
    /// Where a reminder stands: due (a draft) → queued (approved) → sending → sent |
    /// failed, or cancelled when it is no longer needed.
    pub enum ReminderStatus {
        /// A draft: computed, shown, not approved.
        Due = "due", "待批准";
        /// Approved by an operator, waiting for SMTP.
        Queued = "queued", "已批准待发送";
        /// The SMTP conversation reached DATA (a stopped process leaves it `failed`).
        Sending = "sending", "发送中";
        Sent = "sent", "已发送";
        Failed = "failed", "发送失败";
        /// Approved, then no longer needed (the application became complete).
        Cancelled = "cancelled", "已取消（不再需要）";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_with_labels() {
        for r in ReminderReason::ALL {
            assert_eq!(ReminderReason::parse(r.as_str()), Some(r));
            assert_ne!(r.label_zh(), r.as_str());
        }
        for s in ReminderStatus::ALL {
            assert_eq!(ReminderStatus::parse(s.as_str()), Some(s));
            assert_ne!(s.label_zh(), s.as_str());
        }
        assert_eq!(
            ReminderReason::for_status(AppStatus::UnstampedScan),
            Some(ReminderReason::UnstampedScan)
        );
        assert_eq!(ReminderReason::for_status(AppStatus::Complete), None);
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
