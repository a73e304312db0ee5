//! The one integration-test binary; each area adds its module here.

mod cli;
mod imap;
mod support;
