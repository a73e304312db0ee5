//! Integration tests, one binary: each stage has its own module.

mod scan;
