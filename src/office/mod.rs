//! The office's actions on the intake, one library function each, audited inside:
//! the CLI commands and the web page call these same functions, never a copy.
//! Each write is one short IMMEDIATE transaction (change + audit row), so it works
//! while `run` and `serve` run on the same data dir, and they see it at once.
//!
//! - [`review`]: 待审核 / 已受理 / 退回 with a note;
//! - [`late_excuse`]: a late application accepted anyway, with a reason;
//! - [`set_match`]: a scan matched to an electronic version, or unmatched;
//! - [`soft_remove`] / [`restore`]: a junk message hidden from counts, kept on disk;
//! - [`retry_receipt`] / [`approve_receipt`]: a failed receipt queued again, a held
//!   one let go;
//! - [`audit`]: the audit row of a write made elsewhere (import, reprocess);
//! - [`accounts`]: operator accounts, sessions and login throttling.

pub mod accounts;
mod actions;

pub use actions::{
    approve_receipt, late_excuse, receipt_of_message, restore, retry_receipt, review, set_match,
    soft_remove, MatchChange,
};

use crate::db::office::NewAudit;
use crate::db::Db;
use crate::error::Result;

/// What an audit row records: the `action` of the dump's `audit` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Match,
    Review,
    Late,
    Import,
    Reprocess,
    Remind,
    ReceiptRetry,
    ReceiptApprove,
    User,
    Remove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Match => "match",
            Action::Review => "review",
            Action::Late => "late",
            Action::Import => "import",
            Action::Reprocess => "reprocess",
            Action::Remind => "remind",
            Action::ReceiptRetry => "receipt_retry",
            Action::ReceiptApprove => "receipt_approve",
            Action::User => "user",
            Action::Remove => "remove",
        }
    }

    /// The Chinese label clerks read.
    pub fn label(self) -> &'static str {
        match self {
            Action::Match => "匹配扫描件",
            Action::Review => "审核",
            Action::Late => "逾期处理",
            Action::Import => "导入",
            Action::Reprocess => "重新处理",
            Action::Remind => "提醒",
            Action::ReceiptRetry => "重发回执",
            Action::ReceiptApprove => "批准回执",
            Action::User => "账号",
            Action::Remove => "移除邮件",
        }
    }
}

/// What an audit row is about: an application, a message, a document or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    App(i64),
    Message(i64),
    Doc(i64),
    Receipt(i64),
    User(String),
    /// Every message (`reprocess --all`).
    AllMessages,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::App(id) => write!(f, "a{id}"),
            Target::Message(id) => write!(f, "m{id}"),
            Target::Doc(id) => write!(f, "d{id}"),
            Target::Receipt(id) => write!(f, "r{id}"),
            Target::User(name) => write!(f, "u:{name}"),
            Target::AllMessages => f.write_str("m*"),
        }
    }
}

/// Records a write made outside these functions (an import into a message, a
/// reprocess, a receipt retry) in the audit log.
pub fn audit(db: &mut Db, by: &str, action: Action, target: Target, detail: &str) -> Result<()> {
    db.audit(NewAudit {
        user: by.to_string(),
        action: action.as_str(),
        target: target.to_string(),
        detail: detail.to_string(),
    })
}

/// The name a CLI write is recorded under when `--by` is not given: the OS user.
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var) {
            if !u.trim().is_empty() {
                return u.trim().to_string();
            }
        }
    }
    // SAFETY: getuid cannot fail; getpwuid returns NULL or a pointer to static storage
    // that stays valid until the next getpw* call, and the name is copied out at once.
    unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            let name = std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy();
            if !name.is_empty() {
                return name.into_owned();
            }
        }
        format!("uid{uid}")
    }
}

/// The office's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Pending,
    Accepted,
    Returned,
}

impl ReviewState {
    pub const ALL: [ReviewState; 3] = [
        ReviewState::Pending,
        ReviewState::Accepted,
        ReviewState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Accepted => "accepted",
            ReviewState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewState> {
        ReviewState::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The Chinese label clerks read.
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Pending => "待审核",
            ReviewState::Accepted => "已受理",
            ReviewState::Returned => "退回",
        }
    }
}

/// Label of a stored review state (the dump's string), the code itself if unknown.
pub fn review_label(state: &str) -> &str {
    match ReviewState::parse(state) {
        Some(r) => r.label(),
        None => state,
    }
}
