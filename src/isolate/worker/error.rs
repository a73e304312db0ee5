//! How one request to the parser worker fails, each error naming the input it failed
//! on; every one reaches the pipeline as `FormError::Corrupt` (the document's problem).

use crate::forms::FormError;
use crate::isolate::frame::FrameError;
use std::path::PathBuf;

/// Why one request to the worker failed; each says on which input.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("无法启动 (parser worker could not start: {exe}: {source})")]
    Spawn {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("无法启动看门狗线程 (watchdog thread could not start: {0})")]
    Watchdog(std::io::Error),
    #[error("超时被终止 (parser timed out after {ms} ms on {format}, {len} bytes)")]
    Timeout {
        format: String,
        len: usize,
        ms: u128,
    },
    /// The worker was gone before it answered anything: killed from outside, or died
    /// on this document. Retried once on a fresh worker if it had served others.
    #[error("崩溃 (parser crashed on {format}, {len} bytes, before answering: {status})")]
    Gone {
        format: String,
        len: usize,
        status: String,
    },
    #[error("崩溃 (parser crashed on {format}, {len} bytes, mid-answer: {source}; {status})")]
    Truncated {
        format: String,
        len: usize,
        source: FrameError,
        status: String,
    },
    #[error("崩溃 (parser crashed on {format}: announced a {announced}-byte answer, cap {max})")]
    Oversized {
        format: String,
        announced: usize,
        max: usize,
    },
    #[error("崩溃 (parser crashed on {format}: answer is not a parse result: {source})")]
    Garbage {
        format: String,
        source: serde_json::Error,
    },
}

impl From<WorkerError> for FormError {
    fn from(e: WorkerError) -> FormError {
        FormError::Corrupt(format!("文档解析进程{e}"))
    }
}
