//! The integration-test binary: one module per area.

mod receipts;
mod receipts_dovecot;
mod smtp_support;
