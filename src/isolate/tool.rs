//! Runs one external tool (soffice, pdftotext, pdftoppm, tesseract) in the box of
//! [`super::sandbox`]: a private temporary directory as its home and working
//! directory, bytes on stdin, bounded captured output, and a wall-clock timeout that
//! kills the whole process group. A stuck, crashing or ballooning tool costs one
//! document, never the daemon.

use super::sandbox::{self, Limits};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Most bytes kept of a tool's stdout (OCR text, never near this); the rest is read
/// and dropped so the tool cannot block on a full pipe.
const MAX_STDOUT: u64 = 64 << 20;
/// Most bytes kept of stderr, for the error message.
const MAX_STDERR: u64 = 64 << 10;

/// One tool invocation.
#[derive(Debug, Clone)]
pub struct Tool<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    pub limits: Limits,
    pub timeout: Duration,
    /// Extra variables on top of the cleared environment (never a secret).
    pub env: Vec<(&'static str, OsString)>,
}

impl<'a> Tool<'a> {
    pub fn new(program: &'a Path, limits: Limits, timeout: Duration) -> Tool<'a> {
        Tool {
            program,
            args: Vec::new(),
            limits,
            timeout,
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Tool<'a> {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, key: &'static str, value: impl Into<OsString>) -> Tool<'a> {
        self.env.push((key, value.into()));
        self
    }

    fn name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.display().to_string())
    }
}

/// What a tool that exited left behind.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("无法启动 cannot start {tool}: {source}")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    #[error("{tool} 超时 timed out after {secs} s")]
    Timeout { tool: String, secs: u64 },
    #[error("{tool} 失败 failed ({status}): {stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
}

/// A fresh private temporary directory (mode 0700, random name, removed on drop) to
/// be a tool's home: never a predictable path another user could plant.
pub fn workdir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("kepu-tool-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
}

/// Runs `tool` with `home` as its home and working directory, feeding `stdin`.
/// `Ok` whatever the exit status (see [`Output::success`]); `Err` when it could not
/// start or ran out of time (its process group is then killed).
pub fn run(tool: &Tool<'_>, home: &Path, stdin: &[u8]) -> Result<Output, ToolError> {
    let name = tool.name();
    let mut cmd = sandbox::command(tool.program, Some(home));
    cmd.args(&tool.args);
    for (k, v) in &tool.env {
        cmd.env(k, v);
    }
    sandbox::confine(&mut cmd, tool.limits);
    cmd.stdin(if stdin.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ToolError::Spawn {
        tool: name.clone(),
        source,
    })?;

    // Feed and drain on threads so a tool that writes before reading cannot deadlock.
    let writer = child.stdin.take().map(|mut w| {
        let input = stdin.to_vec();
        thread::spawn(move || {
            // A tool that exits early closes the pipe: that is its answer, not ours.
            let _ = w.write_all(&input);
        })
    });
    let out = child.stdout.take().map(|s| drain(s, MAX_STDOUT));
    let err = child.stderr.take().map(|s| drain(s, MAX_STDERR));

    let deadline = Instant::now() + tool.timeout;
    let status = loop {
        // Once the tool has exited, helpers it left in its group (they would hold the
        // pipes open and keep us waiting) are killed before it is reaped: until then
        // its pid, and so the group id, cannot be reused.
        if exited_unreaped(child.id()) {
            sandbox::kill_group(child.id());
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                sandbox::kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                sandbox::kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(ToolError::Spawn {
                    tool: name,
                    source: e,
                });
            }
        }
    };
    let Some(status) = status else {
        // Helpers of a killed group may still hold the pipes for a moment; the
        // readers end when the last one dies.
        return Err(ToolError::Timeout {
            tool: name,
            secs: tool.timeout.as_secs(),
        });
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

impl Output {
    /// The output when the tool exited 0, else [`ToolError::Failed`] with its stderr.
    pub fn success(self, tool: &Path) -> Result<Output, ToolError> {
        if self.status.success() {
            return Ok(self);
        }
        Err(ToolError::Failed {
            tool: tool
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            status: describe(self.status),
            stderr: String::from_utf8_lossy(&self.stderr)
                .chars()
                .take(300)
                .collect(),
        })
    }
}

/// An exit status in words; a SIGKILL/SIGXCPU/SIGABRT is most likely one of our limits.
pub fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match st.signal() {
        Some(libc::SIGKILL) => "killed (SIGKILL: timeout or from outside)".into(),
        Some(libc::SIGXCPU) => "CPU time limit (SIGXCPU)".into(),
        Some(libc::SIGABRT) | Some(libc::SIGSEGV) => {
            format!("{st} (out of memory under the address-space cap?)")
        }
        _ => st.to_string(),
    }
}

/// True when `pid`, our child, has exited but is not reaped yet (`waitid` with
/// `WNOWAIT` looks without reaping).
fn exited_unreaped(pid: u32) -> bool {
    let pid: libc::id_t = pid;
    // SAFETY: a zeroed siginfo_t is a valid out-parameter; WNOWAIT leaves the child as
    // it is for the std handle to reap.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc == 0 && info.si_pid() != 0
    }
}

fn drain(mut r: impl Read + Send + 'static, keep: u64) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.by_ref().take(keep).read_to_end(&mut buf);
        let _ = std::io::copy(&mut r, &mut std::io::sink());
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        memory_mb: 256,
        cpu_s: Some(10),
    };

    #[test]
    fn a_hung_tool_and_its_children_are_killed_at_the_deadline() {
        let home = workdir().unwrap();
        let t = Tool::new(Path::new("/bin/sh"), SMALL, Duration::from_millis(300))
            .arg("-c")
            .arg("sleep 30 & sleep 30");
        let started = Instant::now();
        let e = run(&t, home.path(), b"").unwrap_err();
        assert!(matches!(e, ToolError::Timeout { .. }), "{e}");
        // The background sleep held stdout too: had it survived, the readers would
        // still be waiting; nothing here waits for them, but the group kill is checked
        // by the elapsed time staying near the deadline.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A tool that exits leaving a helper behind holding its stdout: the helper is
    /// killed with the group, and the answer comes at once, not when the helper ends.
    #[test]
    fn helpers_left_behind_do_not_hold_the_answer() {
        let home = workdir().unwrap();
        let t = Tool::new(Path::new("/bin/sh"), SMALL, Duration::from_secs(20))
            .arg("-c")
            .arg("sleep 15 & echo done");
        let started = Instant::now();
        let out = run(&t, home.path(), b"").unwrap();
        assert_eq!(out.stdout, b"done\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn stdin_reaches_the_tool_and_stdout_comes_back() {
        let home = workdir().unwrap();
        let t = Tool::new(Path::new("/bin/cat"), SMALL, Duration::from_secs(10));
        let out = run(&t, home.path(), b"hello").unwrap();
        assert_eq!(out.stdout, b"hello");
        let t = Tool::new(Path::new("/bin/sh"), SMALL, Duration::from_secs(10))
            .arg("-c")
            .arg("echo bad >&2; exit 3");
        let e = run(&t, home.path(), b"")
            .unwrap()
            .success(t.program)
            .unwrap_err();
        assert!(e.to_string().contains("bad"), "{e}");
    }

    #[test]
    fn the_home_is_private_and_the_working_directory() {
        let home = workdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let t = Tool::new(Path::new("/bin/pwd"), SMALL, Duration::from_secs(10));
        let out = run(&t, home.path(), b"").unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            home.path().to_string_lossy()
        );
    }
}
