//! Runs a scan tool (tesseract, pdftoppm) through the shared box
//! ([`crate::isolate::tool`]): no network, no inherited environment, an address-space
//! and CPU cap, a private temporary home, and a timeout that kills its process group,
//! so a stuck or crashing tool costs one scan, never the daemon.

use crate::isolate::sandbox::Limits;
use crate::isolate::tool::{self, Tool};
use std::path::Path;
use std::time::Duration;

pub use crate::isolate::tool::{Output, ToolError as ProcError};

/// Address space of a scan tool: Tesseract needs ~250 MB for a 2400-pixel page with
/// the Chinese model; pdftoppm renders at most a capped page size.
pub const SCAN_TOOL_MEMORY_MB: u64 = 1024;

/// Runs `program args…` in a fresh private home, feeding `stdin`, killing it after
/// `timeout`; a non-zero exit is an error carrying its stderr.
pub fn run(
    program: &Path,
    args: &[&str],
    stdin: &[u8],
    timeout: Duration,
) -> Result<Output, ProcError> {
    let home = tool::workdir().map_err(|source| ProcError::Spawn {
        tool: program.display().to_string(),
        source,
    })?;
    run_in(home.path(), program, args, stdin, timeout)
}

/// [`run`] with `home` (a private directory the caller made with
/// [`tool::workdir`]) as home and working directory, for tools that write files.
pub fn run_in(
    home: &Path,
    program: &Path,
    args: &[&str],
    stdin: &[u8],
    timeout: Duration,
) -> Result<Output, ProcError> {
    let limits = Limits {
        memory_mb: SCAN_TOOL_MEMORY_MB,
        cpu_s: Some(timeout.as_secs().saturating_add(2)),
    };
    // One thread per OCR call: the service runs its own workers, and OpenMP threads
    // fighting over two cores make every call slower.
    let mut t = Tool::new(program, limits, timeout).env("OMP_THREAD_LIMIT", "1");
    // Where an operator keeps Tesseract's models: a path, not a secret.
    if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
        t = t.env("TESSDATA_PREFIX", p);
    }
    for a in args {
        t = t.arg(a);
    }
    tool::run(&t, home, stdin)?.success(program)
}
