//! Integration tests, one binary: each stage has its own module.

mod operators;
mod scan;
