//! Shared integration-test harness (owned by test infrastructure; any test module may
//! use it): a private Dovecot with per-run TLS certificates (`dovecot.rs`, `certs.rs`),
//! a tiny IMAP client to seed it (`imap_client.rs`), and helpers that run the
//! `kepu-intake` binary with a generated config (`intake.rs`), and the operators'
//! page's account, server and login for the Chromium tests (`web.rs`), and hand-made
//! dump records with plain defaults (`dump.rs`).
//!
//! Wiring: `tests/it/main.rs` has `mod support;`; use it as
//! `use crate::support::{Dovecot, Intake, ImapTarget, mail};`. The parts the benchmark
//! binary shares (`base64`, `certs`, `dovecot`, `imap_client`, `tmpdir`) live in the
//! `kepu-testkit` workspace crate (`testkit/`) and are re-exported here under their old
//! names.
#![allow(dead_code)]

pub mod dump;
pub mod intake;
pub mod mutate;
pub mod web;

pub use kepu_testkit::{base64, certs, dovecot, imap_client, tmpdir};

pub use intake::{by_message_id, mail, message_ids, s, seed, ImapTarget, Intake};
pub use kepu_testkit::Dovecot;
