//! Running the `kepu-intake` binary as a black box: a config file written per test
//! (pointing at a test Dovecot or at nothing), the data dir beside it, and helpers to
//! run a command, read `dump --json` and build small RFC 5322 messages.

use super::dovecot::Dovecot;
use super::imap_client::AppendItem;
use super::tmpdir::ShortTempDir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The environment variable the written config names in `password_env`.
pub const PASSWORD_ENV: &str = "KEPU_TEST_IMAP_PASSWORD";

/// The daemon's test-only fetch throttle: milliseconds to wait before each chunk's FETCH.
pub const FETCH_DELAY_ENV: &str = "KEPU_TEST_FETCH_DELAY_MS";

/// The deadline of the 2022 call, used by every test config unless overridden.
pub const DEADLINE: &str = "2022-07-20T23:59:59+08:00";

/// A config file and its data dir in a temp dir.
pub struct Intake {
    dir: ShortTempDir,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    /// Value put into `PASSWORD_ENV` for the child.
    pub password: String,
}

/// What to put into `[imap]`; `None` writes a config without IMAP.
pub struct ImapTarget<'a> {
    pub dovecot: &'a Dovecot,
    /// "implicit", "starttls" or "none".
    pub tls: &'a str,
    pub mailbox: &'a str,
}

impl<'a> ImapTarget<'a> {
    pub fn implicit(dovecot: &'a Dovecot) -> Self {
        ImapTarget {
            dovecot,
            tls: "implicit",
            mailbox: "INBOX",
        }
    }
}

impl Intake {
    /// Writes `kepu-intake.toml` with receipts off and the test deadline.
    pub fn new(imap: Option<ImapTarget<'_>>) -> Intake {
        let dir = ShortTempDir::new("ki").expect("temp dir for kepu-intake");
        let data_dir = dir.path().join("data");
        let config = dir.path().join("kepu-intake.toml");
        let mut it = Intake {
            dir,
            config,
            data_dir,
            password: String::new(),
        };
        let mut toml = String::new();
        if let Some(t) = imap {
            let port = if t.tls == "implicit" {
                t.dovecot.port()
            } else {
                t.dovecot.plain_port()
            };
            toml.push_str(&format!(
                "[imap]\nhost = \"{}\"\nport = {port}\ntls = \"{}\"\nca_file = \"{}\"\n\
                 user = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\nmailbox = \"{}\"\n\
                 poll_interval_s = 1\nmax_backoff_s = 1\nio_timeout_s = 10\nfetch_chunk = 7\n\n",
                t.dovecot.host(),
                t.tls,
                t.dovecot.ca_file().display(),
                t.dovecot.user(),
                t.mailbox,
            ));
            it.password = t.dovecot.password().to_string();
        }
        toml.push_str(&format!(
            "[intake]\ndeadline = \"{DEADLINE}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
             [receipts]\nmode = \"off\"\n",
            it.data_dir.display()
        ));
        std::fs::write(&it.config, toml).expect("write test config");
        it
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command for `kepu-intake --config <ours> ARGS`, run from the temp dir.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kepu-intake"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env(PASSWORD_ENV, &self.password)
            .stdin(Stdio::null());
        c
    }

    /// Runs to completion (killed after 60 s): (status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (ExitStatus, String, String) {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kepu-intake");
        wait_output(child, Duration::from_secs(60), args)
    }

    /// Runs and panics with stderr unless it exits 0; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let (status, out, err) = self.run(args);
        assert!(
            status.success(),
            "kepu-intake {args:?} failed ({status}):\nstderr: {err}\nstdout: {out}"
        );
        out
    }

    /// `dump --json`, parsed.
    pub fn dump(&self) -> Value {
        let out = self.run_ok(&["dump", "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("dump --json is not JSON: {e}\n{out}"))
    }

    /// The `messages` array of a dump.
    pub fn messages(&self) -> Vec<Value> {
        match self.dump().get("messages") {
            Some(Value::Array(a)) => a.clone(),
            other => panic!("dump has no messages array: {other:?}"),
        }
    }

    /// Polls `dump` until `pred` holds on the messages or the timeout passes; returns
    /// the last messages seen.
    pub fn wait_for_messages(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let t0 = Instant::now();
        loop {
            let (status, out, _) = self.run(&["dump", "--json"]);
            let msgs: Vec<Value> = if status.success() {
                serde_json::from_str::<Value>(&out)
                    .ok()
                    .and_then(|v| v.get("messages").and_then(|m| m.as_array()).cloned())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            if pred(&msgs) || t0.elapsed() > timeout {
                return msgs;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Waits for a spawned child with a deadline, collecting its output.
pub fn wait_output(
    mut child: Child,
    timeout: Duration,
    what: &[&str],
) -> (ExitStatus, String, String) {
    use std::io::Read;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for kepu-intake") {
            break s;
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kepu-intake {what:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    (status, out, err)
}

/// `kepu-intake run` in the background; killed on drop so a failing test leaves no
/// daemon behind.
pub struct Daemon {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
}

impl Daemon {
    /// Output goes to files, not pipes: nobody drains a pipe while the test waits,
    /// and a chatty daemon must not block on a full one.
    pub fn start(it: &Intake) -> Daemon {
        Daemon::spawn(it, None)
    }

    /// A daemon whose catch-up waits `per_chunk` before each chunk's FETCH (the
    /// test-only `KEPU_TEST_FETCH_DELAY_MS`): its backlog outlasts the test's own
    /// actions on any machine, from a small mailbox.
    pub fn start_throttled(it: &Intake, per_chunk: Duration) -> Daemon {
        Daemon::spawn(it, Some(per_chunk))
    }

    fn spawn(it: &Intake, delay: Option<Duration>) -> Daemon {
        let out = it.dir().join("daemon.stdout");
        let err = it.dir().join("daemon.stderr");
        let mut cmd = it.command(&["run"]);
        if let Some(d) = delay {
            cmd.env(FETCH_DELAY_ENV, d.as_millis().to_string());
        }
        let child = cmd
            .stdout(std::fs::File::create(&out).expect("daemon stdout file"))
            .stderr(std::fs::File::create(&err).expect("daemon stderr file"))
            .spawn()
            .expect("spawn kepu-intake run");
        Daemon {
            child: Some(child),
            out,
            err,
        }
    }

    /// SIGTERM and wait (15 s): (status, stdout, stderr).
    pub fn terminate(mut self) -> (ExitStatus, String, String) {
        let mut child = self.child.take().expect("daemon already stopped");
        sigterm(&child);
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for kepu-intake run") {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kepu-intake run ignored SIGTERM for 15 s; stderr:\n{}",
                    std::fs::read_to_string(&self.err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (
            status,
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }

    /// Stops the daemon and panics with its stderr: for a failed wait.
    pub fn fail(self, why: &str) -> ! {
        let (status, _, err) = self.terminate();
        panic!("{why}\ndaemon exit {status}, stderr:\n{err}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends SIGTERM to a child.
pub fn sigterm(child: &Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

/// The matching corpus (`fixtures/match/*.eml`: electronic forms, their scans, one
/// orphan scan), sorted by name.
pub fn match_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/match");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

/// A small plain-text message with CRLF line ends.
pub fn mail(message_id: &str, subject: &str, date_header: &str, body: &str) -> Vec<u8> {
    format!(
        "From: 申报单位 <office@school.example>\r\n\
         To: tsqsnkj@126.com\r\n\
         Subject: {subject}\r\n\
         Date: {date_header}\r\n\
         Message-ID: {message_id}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {body}\r\n"
    )
    .into_bytes()
}

/// Seeds `n` distinct messages `<seed-{tag}-{i}@test>` into `mailbox` over one
/// connection (MULTIAPPEND); returns their Message-IDs sorted, without brackets.
pub fn seed(d: &Dovecot, mailbox: &str, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut raws = Vec::new();
    for i in 0..n {
        let id = format!("seed-{tag}-{i}@test");
        raws.push(mail(
            &format!("<{id}>"),
            &format!("申报材料 {tag} {i}"),
            "Mon, 18 Jul 2022 10:31:40 +0800",
            &format!("第 {i} 封"),
        ));
        ids.push(id);
    }
    let items: Vec<AppendItem<'_>> = raws
        .iter()
        .map(|raw| AppendItem {
            raw,
            internaldate: "18-Jul-2022 10:32:05 +0800",
        })
        .collect();
    let mut c = d.admin();
    if let Err(e) = c.append_many(mailbox, &items) {
        panic!("seeding {mailbox} failed: {e}");
    }
    c.logout();
    ids.sort();
    ids
}

/// String field of a JSON object, or "" when absent/null.
pub fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The message in `msgs` with this Message-ID (with or without angle brackets).
pub fn by_message_id<'v>(msgs: &'v [Value], id: &str) -> &'v Value {
    let bare = id.trim_matches(['<', '>']);
    let found: Vec<&Value> = msgs
        .iter()
        .filter(|m| s(m, "message_id").trim_matches(['<', '>']) == bare)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one message {id} in {msgs:#?}"
    );
    found[0]
}

/// Sorted Message-IDs (brackets stripped).
pub fn message_ids(msgs: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = msgs
        .iter()
        .map(|m| s(m, "message_id").trim_matches(['<', '>']).to_string())
        .collect();
    ids.sort();
    ids
}

/// Every document of every message of a dump.
pub fn docs(d: &Value) -> Vec<&Value> {
    d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().unwrap().iter())
        .collect()
}

/// Document `id` of a dump.
pub fn doc(d: &Value, id: i64) -> &Value {
    docs(d).into_iter().find(|x| x["id"] == id).unwrap()
}

/// Application `id` of a dump.
pub fn app(d: &Value, id: i64) -> &Value {
    d["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no application {id}"))
}

/// The message of a dump with this Message-ID (as stored, with brackets).
pub fn message<'v>(d: &'v Value, message_id: &str) -> &'v Value {
    d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["message_id"] == message_id)
        .unwrap_or_else(|| panic!("no message {message_id}"))
}
