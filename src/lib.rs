//! kepu-intake: the submission mailbox of the Tangshan science-education call.
//!
//! The pipeline, stage by stage (see `ARCHITECTURE.md`):
//! fetch ([`fetch`]) or import ([`import`]) → store raw ([`store`], [`ingest`]) →
//! extract ([`extract`]) → classify/parse forms ([`forms`], [`isolate`], [`convert`],
//! [`scan`]) → match scans and build applications ([`apps`]) → record ([`db`]) →
//! receipt ([`receipts`]). Operators read the result through [`report`] and [`web`].
//!
//! Everything stands on [`domain`]: the vocabulary (categories, kinds, formats,
//! statuses, problems) as enums with their Chinese labels, and the records passed
//! between stages. It depends on nothing but `model`.
//!
//! Without the default `service` feature only the pure core is compiled — [`domain`],
//! [`extract`], [`forms`], [`call`] and [`model`], which do no IO and need no runtime, database or network
//! crate. The fuzz targets (`fuzz/`) build it that way, and the compiler holds the core
//! to the architecture: it cannot reach the database, the network or the file store.

#[cfg(feature = "service")]
pub mod apps;
pub mod call;
#[cfg(feature = "service")]
pub mod commands;
#[cfg(feature = "service")]
pub mod config;
#[cfg(feature = "service")]
pub mod convert;
#[cfg(feature = "service")]
pub mod daemon;
#[cfg(feature = "service")]
pub mod db;
pub mod domain;
#[cfg(feature = "service")]
pub mod error;
pub mod extract;
#[cfg(feature = "service")]
pub mod fetch;
pub mod forms;
#[cfg(feature = "service")]
pub mod import;
#[cfg(feature = "service")]
pub mod ingest;
#[cfg(feature = "service")]
pub mod isolate;
pub mod model;
#[cfg(feature = "service")]
pub mod office;
#[cfg(feature = "service")]
pub mod pipeline;
#[cfg(feature = "service")]
pub mod receipts;
#[cfg(feature = "service")]
pub mod remind;
#[cfg(feature = "service")]
pub mod report;
#[cfg(feature = "service")]
pub mod roster;
#[cfg(feature = "service")]
pub mod scan;
#[cfg(feature = "service")]
pub mod store;
#[cfg(feature = "service")]
pub mod time;
#[cfg(feature = "service")]
pub mod web;

#[cfg(feature = "service")]
pub use error::{Error, Result};
