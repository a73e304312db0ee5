//! The office's actions on the intake, one library function each, audited inside:
//! the CLI commands and the web page call these same functions, never a copy.
//! Each write is one short IMMEDIATE transaction (change + audit row), so it works
//! while `run` and `serve` run on the same data dir, and they see it at once.
//!
//! - [`review`]: 待审核 / 已受理 / 退回 with a note;
//! - [`late_excuse`]: a late application accepted anyway, with a reason;
//! - [`set_match`]: a scan matched to an electronic version, or unmatched;
//! - [`retry_receipt`] / [`approve_receipt`]: the receipts module's retry and release,
//!   audited;
//! - [`soft_remove`] / [`restore`]: a junk message hidden from counts, kept on disk;
//! - [`import_into`]: files handed over for a message (`import --into`, the upload);
//! - [`roster::assign_unit`] / [`roster::approve_reminders`]: an application's roster
//!   unit, reminders approved for the outbox;
//! - [`audit`]: the audit row of a write made elsewhere (import, reprocess);
//! - [`accounts`]: operator accounts, sessions and login throttling.

pub mod accounts;
mod actions;
pub mod roster;

pub use crate::domain::{AuditAction, ReviewState};
pub use actions::{
    approve_receipt, import_into, late_excuse, receipt_of_message, restore, retry_receipt, review,
    set_match, soft_remove, MatchChange,
};
pub use roster::{approve_reminders, assign_unit};

use crate::db::office::NewAudit;
use crate::db::Db;
use crate::error::Result;

/// What an audit row is about: an application, a message, a document or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    App(i64),
    Message(i64),
    Doc(i64),
    /// A receipt of the outbox.
    Receipt(i64),
    User(String),
    /// A 催交 reminder.
    Reminder(i64),
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
            Target::Reminder(id) => write!(f, "n{id}"),
            Target::AllMessages => f.write_str("m*"),
        }
    }
}

/// Records a write made outside these functions (an import into a message, a
/// reprocess) in the audit log.
pub fn audit(
    db: &mut Db,
    by: &str,
    action: AuditAction,
    target: Target,
    detail: &str,
) -> Result<()> {
    db.audit(NewAudit {
        user: by.to_string(),
        action,
        target: target.to_string(),
        detail: detail.to_string(),
    })
}

/// The name a CLI write is recorded under when `--by` is not given: the OS user, or
/// the person behind `sudo -u kepu …` (`SUDO_USER`) rather than the service account.
pub fn os_user() -> String {
    for var in ["SUDO_USER", "USER", "LOGNAME"] {
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
