//! `dump --json`: the whole intake as JSON, and the snapshot other commands read.

use super::{open_db, roster};
use crate::config::Config;
use crate::error::Result;
use crate::report::dump::Dump;

pub fn load_dump(cfg: &Config) -> Result<Dump> {
    open_db(cfg)?.load_dump()
}

/// `dump --json` (with `roster` and `reminders`, see [`roster::dump`]).
pub fn dump(cfg: &Config) -> Result<()> {
    roster::dump(cfg)
}
