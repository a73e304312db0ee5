//! The one integration-test binary; each area's tests are a module.

mod browser;
mod call;
mod check;
mod cli;
mod crash;
mod extract;
mod forms;
mod forms_fuzz;
mod hostile;
mod imap;
mod office;
mod operators;
mod outages;
mod pipeline;
mod receipts;
mod receipts_abuse;
mod receipts_dovecot;
mod sandbox;
mod scan;
mod scan_corpus;
mod scan_pool;
mod smtp_support;
mod support;
mod workbench;
mod worker;
