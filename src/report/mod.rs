//! Operator views of the intake: the `dump --json` model, status counts, tables and
//! exports. Reads through [`crate::db`]; holds no SQL itself.

pub mod dump;
pub mod export;
pub mod status;
pub mod table;
pub mod text;
