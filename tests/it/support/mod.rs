//! Shared integration-test harness (owned by test infrastructure; any test module may
//! use it): a private Dovecot with per-run TLS certificates (`dovecot.rs`, `certs.rs`),
//! a tiny IMAP client to seed it (`imap_client.rs`), and helpers that run the
//! `kepu-intake` binary with a generated config (`intake.rs`).
//!
//! Wiring: `tests/it/main.rs` has `mod support;`; use it as
//! `use crate::support::{Dovecot, Intake, ImapTarget, mail};`. The benchmark binary
//! (`src/bin/bench.rs`) includes `base64.rs`, `certs.rs`, `tmpdir.rs`, `imap_client.rs`
//! and `dovecot.rs` through `#[path]`, so those five must not use dev-dependencies nor
//! `env!("CARGO_BIN_EXE_…")`.
#![allow(dead_code)]

pub mod base64;
pub mod certs;
pub mod dovecot;
pub mod imap_client;
pub mod intake;
pub mod mutate;
pub mod tmpdir;

pub use dovecot::Dovecot;
pub use intake::{by_message_id, mail, message_ids, s, seed, ImapTarget, Intake};
