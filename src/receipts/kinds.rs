//! The names a receipt row carries, each once with its Chinese label: the outbox
//! statuses and the reason codes written in front of a reason (`code: 说明`). Anything
//! that stores, lists or tests a receipt's state uses these, not string literals.

/// Where a receipt is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReceiptStatus {
    /// Due (or waiting for a cap or a retry time in `next_attempt_at`).
    Pending,
    /// The SMTP conversation reached DATA; the outcome is not recorded yet.
    Sending,
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good or given up; an operator may retry.
    Failed,
    /// Never sent, on purpose (robot, duplicate, receipts off, folded …).
    Suppressed,
    /// Waiting for an operator's approval (the sender could not be authenticated).
    Held,
    /// Written to a file in dry-run mode, never sent; sent once the mode is `send`.
    Previewed,
}

impl ReceiptStatus {
    pub const ALL: [ReceiptStatus; 7] = [
        ReceiptStatus::Pending,
        ReceiptStatus::Sending,
        ReceiptStatus::Sent,
        ReceiptStatus::Failed,
        ReceiptStatus::Suppressed,
        ReceiptStatus::Held,
        ReceiptStatus::Previewed,
    ];

    /// The stored and `dump --json` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Pending => "pending",
            ReceiptStatus::Sending => "sending",
            ReceiptStatus::Sent => "sent",
            ReceiptStatus::Failed => "failed",
            ReceiptStatus::Suppressed => "suppressed",
            ReceiptStatus::Held => "held",
            ReceiptStatus::Previewed => "previewed",
        }
    }

    /// For clerks.
    pub fn label_zh(self) -> &'static str {
        match self {
            ReceiptStatus::Pending => "待发送",
            ReceiptStatus::Sending => "发送中",
            ReceiptStatus::Sent => "已发送",
            ReceiptStatus::Failed => "发送失败",
            ReceiptStatus::Suppressed => "不发送",
            ReceiptStatus::Held => "待审核",
            ReceiptStatus::Previewed => "已预览（试运行，未发送）",
        }
    }

    pub fn parse(s: &str) -> Option<ReceiptStatus> {
        ReceiptStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for ReceiptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a receipt was not sent or not yet sent: the code before the first `:` of a
/// receipt row's reason, with its Chinese label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReceiptReason {
    Duplicate,
    RobotCategory,
    NotApplicable,
    RobotHeader,
    AutoResponseSuppress,
    EmptyReturnPath,
    NoSender,
    RobotSender,
    OwnAddress,
    BadAddress,
    /// The notice itself (its blank forms) passed on to us, not an application.
    NoticeForward,
    ReceiptsOff,
    /// Held: the trusted `Authentication-Results:` header says SPF/DKIM/DMARC failed.
    Unauthenticated,
    /// Pending: over `[receipts] max_per_day`.
    DailyCap,
    /// Pending: over `[receipts] max_per_domain_per_hour` for the recipient's domain.
    DomainCap,
    /// Pending: the mailbox got a receipt less than `per_sender_window_s` ago.
    SenderWindow,
}

impl ReceiptReason {
    pub const ALL: [ReceiptReason; 16] = [
        ReceiptReason::Duplicate,
        ReceiptReason::RobotCategory,
        ReceiptReason::NotApplicable,
        ReceiptReason::RobotHeader,
        ReceiptReason::AutoResponseSuppress,
        ReceiptReason::EmptyReturnPath,
        ReceiptReason::NoSender,
        ReceiptReason::RobotSender,
        ReceiptReason::OwnAddress,
        ReceiptReason::BadAddress,
        ReceiptReason::NoticeForward,
        ReceiptReason::ReceiptsOff,
        ReceiptReason::Unauthenticated,
        ReceiptReason::DailyCap,
        ReceiptReason::DomainCap,
        ReceiptReason::SenderWindow,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReceiptReason::Duplicate => "duplicate",
            ReceiptReason::RobotCategory => "robot_category",
            ReceiptReason::NotApplicable => "not_applicable",
            ReceiptReason::RobotHeader => "robot_header",
            ReceiptReason::AutoResponseSuppress => "auto_response_suppress",
            ReceiptReason::EmptyReturnPath => "empty_return_path",
            ReceiptReason::NoSender => "no_sender",
            ReceiptReason::RobotSender => "robot_sender",
            ReceiptReason::OwnAddress => "own_address",
            ReceiptReason::BadAddress => "bad_address",
            ReceiptReason::NoticeForward => "notice_forward",
            ReceiptReason::ReceiptsOff => "receipts_off",
            ReceiptReason::Unauthenticated => "unauthenticated",
            ReceiptReason::DailyCap => "daily_cap",
            ReceiptReason::DomainCap => "domain_cap",
            ReceiptReason::SenderWindow => "sender_window",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ReceiptReason::Duplicate => "重复收到的邮件",
            ReceiptReason::RobotCategory => "自动发送的邮件",
            ReceiptReason::NotApplicable => "非申报或咨询邮件",
            ReceiptReason::RobotHeader => "自动邮件",
            ReceiptReason::AutoResponseSuppress => "发件人要求不自动回复",
            ReceiptReason::EmptyReturnPath => "系统退信或通知",
            ReceiptReason::NoSender => "没有发件人地址",
            ReceiptReason::RobotSender => "系统地址",
            ReceiptReason::OwnAddress => "本机构自己的地址",
            ReceiptReason::BadAddress => "地址格式无效",
            ReceiptReason::NoticeForward => "转发的通知（空白申报表），不是申报",
            ReceiptReason::ReceiptsOff => "回执功能未开启",
            ReceiptReason::Unauthenticated => "发件人未通过认证，待工作人员审核",
            ReceiptReason::DailyCap => "已达每日回执上限，次日发送",
            ReceiptReason::DomainCap => "已达同一邮箱域名每小时回执上限",
            ReceiptReason::SenderWindow => "同一邮箱短时间内只发一封回执",
        }
    }

    /// The code of a stored reason (`code: …`, or `waiting:code: …` for a capped one).
    pub fn of(reason: &str) -> Option<ReceiptReason> {
        let r = reason.strip_prefix(WAITING).unwrap_or(reason);
        let code = r.split(':').next().unwrap_or(r).trim();
        ReceiptReason::ALL.into_iter().find(|x| x.code() == code)
    }

    /// `code: detail` as stored.
    pub fn with(self, detail: impl AsRef<str>) -> String {
        format!("{}: {}", self.code(), detail.as_ref())
    }

    /// Whether a pending row with this reason is waiting for a cap to free up.
    pub fn is_cap(self) -> bool {
        matches!(
            self,
            ReceiptReason::DailyCap | ReceiptReason::DomainCap | ReceiptReason::SenderWindow
        )
    }
}

/// Prefix of the reason of a pending receipt that waits for a cap (never dropped).
pub const WAITING: &str = "waiting:";

/// The cap a pending receipt waits for (`daily_cap` out of `waiting:daily_cap: …`).
pub fn waiting_code(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix(WAITING)?;
    rest.split_once(':').map(|(code, _)| code.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_reason_round_trips() {
        for s in ReceiptStatus::ALL {
            assert_eq!(ReceiptStatus::parse(s.as_str()), Some(s));
        }
        for r in ReceiptReason::ALL {
            assert_eq!(ReceiptReason::of(&r.with("x")), Some(r));
        }
        assert_eq!(
            ReceiptReason::of("waiting:daily_cap: 今日已发 300 封"),
            Some(ReceiptReason::DailyCap)
        );
        assert_eq!(
            waiting_code("waiting:domain_cap: 一小时内"),
            Some("domain_cap")
        );
        assert_eq!(waiting_code("deferred: 451"), None);
    }
}
