//! A short temporary directory under /tmp, removed on drop. Short because Dovecot puts
//! unix sockets in it and socket paths are capped at 108 bytes; hand-made (not the
//! `tempfile` crate) so this crate stays free of dependencies.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
pub struct ShortTempDir {
    path: PathBuf,
    keep: bool,
}

impl ShortTempDir {
    /// Creates `/tmp/<prefix><pid>-<n>` (mode 0755: Dovecot's unprivileged processes
    /// must traverse it).
    pub fn new(prefix: &str) -> io::Result<ShortTempDir> {
        use std::os::unix::fs::PermissionsExt;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = PathBuf::from(format!("/tmp/{prefix}{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
                    // KEPU_KEEP_TMP=1 keeps the directory for a post-mortem.
                    let keep = std::env::var_os("KEPU_KEEP_TMP").is_some();
                    return Ok(ShortTempDir { path, keep });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ShortTempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
