//! The integration-test binary: one module per area.

mod receipts;
mod smtp_support;
