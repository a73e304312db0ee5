//! kepu-intake: the submission mailbox of the Tangshan science-education call.
//!
//! The pipeline, stage by stage (see `ARCHITECTURE.md`):
//! fetch ([`fetch`]) or import ([`import`]) → store raw ([`store`], [`ingest`]) →
//! extract ([`extract`]) → classify/parse forms ([`forms`], [`isolate`], [`convert`],
//! [`scan`]) → match scans and build applications ([`apps`]) → record ([`db`]) →
//! receipt ([`receipts`]). Operators read the result through [`report`] and [`web`].

pub mod apps;
pub mod backup;
pub mod check;
pub mod commands;
pub mod config;
pub mod convert;
pub mod daemon;
pub mod db;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod forms;
pub mod import;
pub mod ingest;
pub mod isolate;
pub mod model;
pub mod pipeline;
pub mod receipts;
pub mod receipts_glue;
pub mod report;
pub mod scan;
pub mod scan_glue;
pub mod store;
pub mod time;
pub mod web;

pub use error::{Error, Result};
