//! The `dump --json` model, defined in the domain layer ([`crate::domain::dump`]) so the
//! database can fill it without depending on the reports; re-exported here for the views.

pub use crate::domain::dump::*;
