//! CLI-level tests.
