//! Integration tests, one binary: each stage has its own module.

mod cli;
mod imap;
mod scan;
mod support;
