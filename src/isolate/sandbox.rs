//! The box every external program runs in: LibreOffice, poppler, Tesseract and our own
//! parser worker. One definition, used by every spawn:
//!
//! - [`command`]: a `Command` with a cleared environment and an explicit `PATH`, `HOME`
//!   and `LANG`, so no secret of ours (`KEPU_IMAP_PASSWORD`, `KEPU_WEB_TOKEN`, …) ever
//!   reaches a child;
//! - [`confine`]: its own process group (so a timeout kills helpers like `soffice.bin`
//!   too), address-space and CPU-time limits, no core dumps, `no_new_privs`, and a
//!   fresh network namespace with nothing in it, entered between fork and exec;
//! - [`kill_group`]: the SIGKILL for a group on timeout.
//!
//! The network namespace comes from `unshare(2)` in the child: first a user namespace
//! together with the network one (works unprivileged wherever user namespaces are
//! allowed), else a network namespace alone (works with CAP_SYS_ADMIN, e.g. as root in
//! a container that forbids user namespaces). Which one works is probed once per
//! process in a forked child ([`status`]); when neither does, tools still run, only
//! without the network box, and `kepu-intake check` says so. Inside the box there is
//! no interface but a loopback that is down: every connect fails, including to the
//! host's own 127.0.0.1, since that is another namespace's loopback.

use std::ffi::CStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// `PATH` of every child: the system directories only, never the daemon's own.
pub const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// `LANG` of every child: UTF-8, so file names and OCR text are not mangled.
pub const SAFE_LANG: &str = "C.UTF-8";
/// `HOME` of a child that needs no home (the parser worker).
pub const NO_HOME: &str = "/nonexistent";
/// Set to `off` to run tools without the network box (troubleshooting; `check` warns).
pub const SWITCH_ENV: &str = "KEPU_SANDBOX";

/// How the network box is made, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)`, our uid and gid mapped to themselves.
    UserNetNamespace,
    /// `unshare(CLONE_NEWNET)` alone (privileged: root or CAP_SYS_ADMIN).
    NetNamespace,
    /// No namespace could be made: tools run with the daemon's network.
    Unavailable,
    /// Switched off with `KEPU_SANDBOX=off`.
    Off,
}

impl Mechanism {
    /// What `check` prints.
    pub fn label_zh(self) -> &'static str {
        match self {
            Mechanism::UserNetNamespace => "用户+网络命名空间 (user and network namespace)",
            Mechanism::NetNamespace => "网络命名空间 (network namespace, privileged)",
            Mechanism::Unavailable => "不可用 (no namespace could be created)",
            Mechanism::Off => "已关闭 (switched off by KEPU_SANDBOX=off)",
        }
    }

    /// True when children run without network.
    pub fn isolates(self) -> bool {
        matches!(self, Mechanism::UserNetNamespace | Mechanism::NetNamespace)
    }
}

/// The probed box of this process.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoxStatus {
    pub mechanism: Mechanism,
    /// Why the better mechanisms failed (errno text), empty when the first worked.
    pub detail: String,
}

/// The box this process can make, probed once (a fork per mechanism tried).
pub fn status() -> &'static BoxStatus {
    static STATUS: OnceLock<BoxStatus> = OnceLock::new();
    STATUS.get_or_init(|| {
        let s = probe();
        if s.mechanism.isolates() {
            tracing::info!(mechanism = ?s.mechanism, "sandbox: external tools run without network");
        } else {
            tracing::warn!(mechanism = ?s.mechanism, detail = %s.detail,
                "sandbox: external tools run WITH the daemon's network");
        }
        s
    })
}

fn probe() -> BoxStatus {
    if std::env::var_os(SWITCH_ENV).is_some_and(|v| v == "off") {
        return BoxStatus {
            mechanism: Mechanism::Off,
            detail: format!("{SWITCH_ENV}=off"),
        };
    }
    let mut failures = Vec::new();
    for m in [Mechanism::UserNetNamespace, Mechanism::NetNamespace] {
        match probe_in_fork(m) {
            Ok(()) => {
                return BoxStatus {
                    mechanism: m,
                    detail: failures.join("; "),
                }
            }
            Err(e) => failures.push(format!("{m:?}: {e}")),
        }
    }
    BoxStatus {
        mechanism: Mechanism::Unavailable,
        detail: failures.join("; "),
    }
}

/// Enters `m` in a forked child and reports whether that worked.
fn probe_in_fork(m: Mechanism) -> std::io::Result<()> {
    let maps = IdMaps::current();
    // SAFETY: the child only makes async-signal-safe calls (unshare, open, write,
    // close, _exit) before exiting; nothing is allocated after the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let code = match enter(m, &maps) {
            Ok(()) => 0,
            Err(e) => e.raw_os_error().unwrap_or(255).clamp(1, 255),
        };
        // SAFETY: _exit ends the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: waits for the child forked just above.
    let rc = unsafe { libc::waitpid(pid, &mut st, 0) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
        Ok(())
    } else if libc::WIFEXITED(st) {
        Err(std::io::Error::from_raw_os_error(libc::WEXITSTATUS(st)))
    } else {
        Err(std::io::Error::other("probe child died"))
    }
}

/// `uid_map` / `gid_map` lines, formatted before the fork (no allocation after it).
struct IdMaps {
    uid: Vec<u8>,
    gid: Vec<u8>,
}

impl IdMaps {
    fn current() -> IdMaps {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        IdMaps {
            uid: format!("{uid} {uid} 1\n").into_bytes(),
            gid: format!("{gid} {gid} 1\n").into_bytes(),
        }
    }
}

/// Puts the calling (single-threaded, just forked) process into the box `m`.
/// Async-signal-safe: syscalls only.
fn enter(m: Mechanism, maps: &IdMaps) -> std::io::Result<()> {
    let flags = match m {
        Mechanism::UserNetNamespace => libc::CLONE_NEWUSER | libc::CLONE_NEWNET,
        Mechanism::NetNamespace => libc::CLONE_NEWNET,
        Mechanism::Unavailable | Mechanism::Off => return Ok(()),
    };
    // SAFETY: unshare(2) only changes this process's namespaces.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if m == Mechanism::UserNetNamespace {
        // Our own ids mapped to themselves, so the tool sees its real uid (LibreOffice
        // looks itself up) and files it writes stay ours. setgroups must be denied
        // before an unprivileged process may write gid_map.
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", &maps.uid)?;
        write_file(c"/proc/self/gid_map", &maps.gid)?;
    }
    Ok(())
}

fn write_file(path: &CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a live buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n != data.len() as isize {
            return Err(err);
        }
    }
    Ok(())
}

/// Resource limits of one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space (RLIMIT_AS), MiB.
    pub memory_mb: u64,
    /// CPU seconds (RLIMIT_CPU); None for a long-lived worker whose CPU time adds up
    /// over many documents (it is bounded per request by a watchdog instead).
    pub cpu_s: Option<u64>,
}

/// `program` with a cleared environment: `PATH`, `LANG`, and `HOME` = `TMPDIR` =
/// working directory = `home` (a private temporary directory), or [`NO_HOME`] and `/`.
pub fn command(program: &Path, home: Option<&Path>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", SAFE_PATH)
        .env("LANG", SAFE_LANG);
    match home {
        Some(h) => {
            cmd.env("HOME", h).env("TMPDIR", h).current_dir(h);
        }
        None => {
            cmd.env("HOME", NO_HOME).current_dir("/");
        }
    }
    cmd
}

/// Makes `cmd` start in the box: own process group, the limits, no core dumps,
/// `no_new_privs`, and the network namespace of [`status`].
pub fn confine(cmd: &mut Command, limits: Limits) {
    cmd.process_group(0);
    let mechanism = status().mechanism;
    let maps = IdMaps::current();
    let bytes = limits.memory_mb.saturating_mul(1 << 20);
    let cpu = limits.cpu_s;
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, prctl,
    // unshare, open/write/close) on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            set_limit(libc::RLIMIT_AS, bytes)?;
            set_limit(libc::RLIMIT_CORE, 0)?;
            if let Some(cpu) = cpu {
                set_limit(libc::RLIMIT_CPU, cpu)?;
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            enter(mechanism, &maps)
        });
    }
}

/// # Safety
/// Called between fork and exec: setrlimit(2) only.
unsafe fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    if libc::setrlimit(resource, &lim) != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// SIGKILL to a process group we created (pid == pgid), so helpers the tool started
/// (`soffice.bin` under `soffice`) die with it.
pub fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill(2) with a negative pid only signals that process group.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_see_only_the_explicit_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = command(Path::new("/usr/bin/env"), Some(dir.path()));
        confine(
            &mut cmd,
            Limits {
                memory_mb: 256,
                cpu_s: Some(5),
            },
        );
        let out = cmd.env("EXTRA", "1").output().unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        let mut keys: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["EXTRA", "HOME", "LANG", "PATH", "TMPDIR"], "{env}");
    }

    #[test]
    fn limits_are_in_force_in_the_child() {
        let mut cmd = command(Path::new("/bin/sh"), None);
        confine(
            &mut cmd,
            Limits {
                memory_mb: 300,
                cpu_s: Some(7),
            },
        );
        let out = cmd
            .args(["-c", "ulimit -v; ulimit -t; ulimit -c"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "307200\n7\n0\n");
    }
}
