//! A private Dovecot instance on 127.0.0.1 for tests and the benchmark: its own config,
//! sockets, log, certificates and Maildir in one short temp dir; never the system
//! service. It listens on an implicit-TLS port (the one kepu-intake uses) and a
//! plaintext port (STARTTLS-capable; the harness seeds mail through it).

use super::certs::{make_pki, TestPki};
use super::imap_client::AdminClient;
use super::tmpdir::ShortTempDir;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TEST_USER: &str = "apply";
/// ASCII like a real 126.com 客户端授权码 (IMAP LOGIN quoted strings are 7-bit).
pub const TEST_PASSWORD: &str = "KepuTestAuthCode16";

pub struct Dovecot {
    dir: ShortTempDir,
    pki: TestPki,
    tls_port: u16,
    plain_port: u16,
    /// uid/gid mail is stored under.
    owner: (u32, u32),
    child: Option<Child>,
}

impl Dovecot {
    /// Starts a fresh instance; panics with Dovecot's log on failure (tests).
    pub fn start() -> Dovecot {
        match Dovecot::try_start() {
            Ok(d) => d,
            Err(e) => panic!("cannot start the test Dovecot: {e}"),
        }
    }

    pub fn try_start() -> io::Result<Dovecot> {
        let dir = ShortTempDir::new("kd")?;
        let pki = make_pki(dir.path())?;
        let owner = mail_owner();
        for sub in ["home", "rawlog"] {
            let p = dir.path().join(sub);
            std::fs::create_dir(&p)?;
            chown(&p, owner)?;
        }
        std::fs::create_dir(dir.path().join("state"))?;
        // The passwd-file is read by the unprivileged auth worker: mode 0644 by default.
        std::fs::write(
            dir.path().join("passwd"),
            format!("{TEST_USER}:{{PLAIN}}{TEST_PASSWORD}::::::\n"),
        )?;
        let (tls_port, plain_port) = free_ports()?;
        let mut d = Dovecot {
            dir,
            pki,
            tls_port,
            plain_port,
            owner,
            child: None,
        };
        std::fs::write(d.conf_path(), d.render_conf())?;
        d.spawn()?;
        Ok(d)
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }
    /// The implicit-TLS port.
    pub fn port(&self) -> u16 {
        self.tls_port
    }
    /// The plaintext port (STARTTLS offered).
    pub fn plain_port(&self) -> u16 {
        self.plain_port
    }
    pub fn ca_file(&self) -> &Path {
        &self.pki.ca_cert
    }
    pub fn user(&self) -> &'static str {
        TEST_USER
    }
    pub fn password(&self) -> &'static str {
        TEST_PASSWORD
    }
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A logged-in admin connection (plaintext loopback port).
    pub fn admin(&self) -> AdminClient {
        match AdminClient::connect(self.plain_port, TEST_USER, TEST_PASSWORD) {
            Ok(c) => c,
            Err(e) => panic!("admin login to test Dovecot failed: {e}\n{}", self.log()),
        }
    }

    /// APPENDs one message with the given INTERNALDATE (`20-Jul-2022 23:58:59 +0800`).
    pub fn append(&self, mailbox: &str, raw: &[u8], internaldate: &str) {
        let mut c = self.admin();
        if let Err(e) = c.append(mailbox, raw, internaldate) {
            panic!("APPEND to {mailbox} failed: {e}");
        }
        c.logout();
    }

    pub fn create_mailbox(&self, mailbox: &str) {
        let mut c = self.admin();
        if let Err(e) = c.create(mailbox) {
            panic!("CREATE {mailbox} failed: {e}");
        }
        c.logout();
    }

    /// Deleting and re-creating a mailbox gives it a new UIDVALIDITY.
    pub fn delete_mailbox(&self, mailbox: &str) {
        let mut c = self.admin();
        if let Err(e) = c.delete(mailbox) {
            panic!("DELETE {mailbox} failed: {e}");
        }
        c.logout();
    }

    /// Directory of a mailbox in the Maildir++ layout (`INBOX` is the root).
    pub fn maildir(&self, mailbox: &str) -> PathBuf {
        let root = self.dir.path().join("home").join(TEST_USER).join("Maildir");
        if mailbox.eq_ignore_ascii_case("INBOX") {
            root
        } else {
            root.join(format!(".{mailbox}"))
        }
    }

    /// uid/gid that must own files written straight into the Maildir.
    pub fn mail_owner(&self) -> (u32, u32) {
        self.owner
    }

    /// Dovecot's log so far (info and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// What each client session sent after login (Dovecot rawlog `*.in` files),
    /// oldest session first.
    pub fn client_sessions(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rawlog"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "in"));
        files.sort();
        files
            .iter()
            .map(|f| {
                let mut s = String::new();
                if let Ok(mut fh) = std::fs::File::open(f) {
                    let _ = fh.read_to_string(&mut s);
                }
                s
            })
            .collect()
    }

    /// SIGTERM, then wait for the master (SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on the pid of our own child.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let t0 = Instant::now();
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if t0.elapsed() > Duration::from_secs(5) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            // Login and mail processes exit once they see the master gone; wait until
            // nothing answers on our ports so a restart can bind them again.
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5)
                && (TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok()
                    || TcpStream::connect(("127.0.0.1", self.plain_port)).is_ok())
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Stops and starts again on the same ports with the same mail.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("cannot restart the test Dovecot: {e}");
        }
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn spawn(&mut self) -> io::Result<()> {
        let child = Command::new(dovecot_binary())
            .arg("-F")
            .arg("-c")
            .arg(self.conf_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                self.dir.path().join("master.stderr"),
            )?))
            .spawn()
            .map_err(|e| {
                io::Error::other(format!("cannot run dovecot (install dovecot-imapd): {e}"))
            })?;
        self.child = Some(child);
        let t0 = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "dovecot exited at start ({status}): {}{}",
                        std::fs::read_to_string(self.dir.path().join("master.stderr"))
                            .unwrap_or_default(),
                        self.log()
                    )));
                }
            }
            if greets(self.plain_port) && greets_tls_port(self.tls_port) {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(15) {
                return Err(io::Error::other(format!(
                    "dovecot did not answer within 15 s: {}",
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn render_conf(&self) -> String {
        let d = self.dir.path().display();
        let (uid, gid) = self.owner;
        // Unprivileged runs (a developer's laptop) use the caller for every role.
        let users = if is_root() {
            String::new()
        } else {
            let me = current_user_name();
            format!("default_login_user = {me}\ndefault_internal_user = {me}\n")
        };
        format!(
            "# Generated by the kepu-intake test harness.\n\
             base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             instance_name = kepu-test-{tls}\n\
             log_path = {d}/dovecot.log\n\
             info_log_path = {d}/dovecot.log\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             ssl = yes\n\
             ssl_cert = <{d}/leaf.pem\n\
             ssl_key = <{d}/leaf.key\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             first_valid_uid = 1\n\
             mail_location = maildir:~/Maildir\n\
             mail_fsync = never\n\
             imap_id_log = *\n\
             {users}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n\
             service imap-login {{\n\
             \x20 inet_listener imap {{\n    address = 127.0.0.1\n    port = {plain}\n  }}\n\
             \x20 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls}\n    ssl = yes\n  }}\n\
             }}\n\
             service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n\
             protocol imap {{\n  rawlog_dir = {d}/rawlog\n}}\n",
            tls = self.tls_port,
            plain = self.plain_port,
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn dovecot_binary() -> PathBuf {
    for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("dovecot")
}

/// True when something on `port` sends an IMAP greeting.
fn greets(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).is_ok() && &buf == b"* OK"
}

/// The TLS port greets only inside TLS; accepting a connection is enough.
fn greets_tls_port(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Two distinct ports the kernel just handed out (both held at once so they differ);
/// the tiny race until Dovecot binds them is accepted.
fn free_ports() -> io::Result<(u16, u16)> {
    let a = TcpListener::bind(("127.0.0.1", 0))?;
    let b = TcpListener::bind(("127.0.0.1", 0))?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Root stores mail as `mail` (Dovecot refuses uid 0); others as themselves.
fn mail_owner() -> (u32, u32) {
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    unsafe {
        if is_root() {
            let pw = libc::getpwnam(c"mail".as_ptr());
            if !pw.is_null() {
                return ((*pw).pw_uid, (*pw).pw_gid);
            }
            (8, 8)
        } else {
            (libc::geteuid(), libc::getegid())
        }
    }
}

fn current_user_name() -> String {
    // SAFETY: as above.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() {
            return "nobody".into();
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

pub fn chown(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
}
