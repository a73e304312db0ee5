//! The domain layer: the intake's vocabulary as types, below every other module.
//! Categories, document kinds and formats, application and receipt statuses, the
//! office's review states and audit actions, and named problems are enums, each value with its machine code (the contract's strings) and its
//! Chinese label on one line ([`codes`]); the records that travel between stages
//! ([`document`]) and the `dump --json` model ([`dump`]) are defined here too, so the
//! database, the applications and the reports all depend on this module and never on
//! each other. Pure data: no IO; `db/` maps the enums to SQL.

pub mod address;
pub mod application;
pub mod codes;
pub mod document;
pub mod dump;
pub mod format;
pub mod kinds;
pub mod look;
pub mod office;
pub mod problem;
pub mod reminder;
pub mod status;

pub use format::DocFormat;
pub use kinds::{Category, DocKind};
pub use office::{AuditAction, ReviewState};
pub use problem::{Problem, ProblemKind};
pub use reminder::{ReminderReason, ReminderStatus};
pub use status::{AppStatus, ReceiptStatus};
