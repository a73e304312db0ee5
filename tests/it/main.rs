//! The one integration-test binary; each stage's tests are a module.

mod forms;
mod pipeline;
mod receipts;
mod receipts_dovecot;
mod scan;
mod smtp_support;
