//! Receipt stage: the Chinese auto-reply to each applicant, sent once by SMTP through an
//! outbox in SQLite, never to robots (RFC 3834).
//!
//! [`policy`] decides who is answered, the pipeline queues the decision with
//! [`initial_status`], [`outbox::drain`] composes ([`compose`]), sends ([`smtp`]) and
//! files a copy in the Sent folder ([`sent_folder`]); [`drain::send_due`] is the
//! daemon's and `import`'s drain under the outbox lock.

pub mod auth;
pub mod caps;
pub mod compose;
pub mod drain;
pub mod kinds;
pub mod message;
pub mod operator;
pub mod outbox;
pub mod policy;
pub mod sent_folder;
pub mod smtp;
pub mod template;
pub mod text;

pub use drain::send_due;
pub use kinds::{ReceiptReason, ReceiptStatus};
pub use operator::{approve_receipt, list_text, retry};
pub use outbox::{drain, drain_at, drain_due, DrainStats};
pub use policy::{blank_forms_only, decide, decide_with, Decision, Facts};

use crate::config::ReceiptMode;

/// The outbox row the pipeline creates for a decision: `(status, reason)` for
/// [`crate::db::receipts::insert_receipt`]. With receipts off nothing is queued, so
/// turning them on later does not answer old mail.
pub fn initial_status(mode: ReceiptMode, decision: &Decision) -> (ReceiptStatus, Option<String>) {
    match (decision, mode) {
        (Decision::Suppress { reason }, _) => (ReceiptStatus::Suppressed, Some(reason.clone())),
        (Decision::Reply { .. } | Decision::Hold { .. }, ReceiptMode::Off) => (
            ReceiptStatus::Suppressed,
            Some(ReceiptReason::ReceiptsOff.with("回执功能未开启")),
        ),
        (Decision::Hold { reason, .. }, ReceiptMode::DryRun | ReceiptMode::Send) => {
            (ReceiptStatus::Held, Some(reason.clone()))
        }
        (Decision::Reply { .. }, ReceiptMode::DryRun | ReceiptMode::Send) => {
            (ReceiptStatus::Pending, None)
        }
    }
}
