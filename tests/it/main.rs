//! The one integration-test binary; each stage's tests are a module.

mod forms;
mod pipeline;
mod scan;
