//! The one integration-test binary; each area's tests are a module.

mod check;
mod cli;
mod extract;
mod forms;
mod imap;
mod operators;
mod pipeline;
mod receipts;
mod receipts_dovecot;
mod scan;
mod scan_corpus;
mod scan_pool;
mod smtp_support;
mod support;
