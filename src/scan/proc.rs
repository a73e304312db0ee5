//! Runs an external tool (tesseract, pdftoppm) with bytes on stdin, a time limit and
//! captured output, so a stuck or crashing tool costs one scan, never the daemon.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished tool left behind.
pub struct Output {
    pub stdout: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("无法启动 cannot start {tool}: {msg}")]
    Spawn { tool: String, msg: String },
    #[error("{tool} 超时 timed out after {secs} s")]
    Timeout { tool: String, secs: u64 },
    #[error("{tool} 失败 failed ({status}): {stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
}

/// Runs `program args…`, feeding `stdin`, killing it after `timeout`.
pub fn run(
    program: &Path,
    args: &[&str],
    stdin: &[u8],
    timeout: Duration,
) -> Result<Output, ProcError> {
    let tool = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.display().to_string());
    let mut child = Command::new(program)
        .args(args)
        // One thread per OCR call: the service runs its own workers, and OpenMP
        // threads fighting over two cores make every call slower.
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProcError::Spawn {
            tool: tool.clone(),
            msg: e.to_string(),
        })?;

    // Feed and drain on threads so a tool that writes before reading cannot deadlock.
    let input = stdin.to_vec();
    let writer = child.stdin.take().map(|mut w| {
        thread::spawn(move || {
            // A tool that exits early closes the pipe: that is its answer, not ours.
            let _ = w.write_all(&input);
        })
    });
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        pipe.map(|mut r| {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );

    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcError::Timeout {
                    tool,
                    secs: timeout.as_secs(),
                });
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                return Err(ProcError::Spawn {
                    tool,
                    msg: e.to_string(),
                });
            }
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        return Err(ProcError::Failed {
            tool,
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&stderr).chars().take(300).collect(),
        });
    }
    Ok(Output { stdout })
}
