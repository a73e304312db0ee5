//! "Prove it", the outage part: the daemon keeps running through an IMAP server that
//! goes away mid-fetch, an SMTP server that is not there, a connection that stalls in
//! the middle of a FETCH literal, and a full disk, and ends with every message recorded
//! once and every receipt delivered once.

use crate::crash::{
    configure, corpus, seed_mailbox, settled, spawn_daemon, tail, terminate, wait_dump, Rng,
};
use crate::smtp_support::{ServerOpts, SmtpServer};
use crate::support::imap_client::AppendItem;
use crate::support::{mail, message_ids, s, Dovecot, ImapTarget, Intake};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seeds `n` distinct plain mails of about `size` bytes; their Message-IDs, sorted.
fn seed_big(d: &Dovecot, tag: &str, n: usize, size: usize) -> Vec<String> {
    let mut raws = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("{tag}-{i}@test");
        let mut body = String::with_capacity(size + 100);
        let mut k = 0;
        while body.len() < size {
            body.push_str(&format!(
                "第 {i} 封，第 {k} 行：申报材料正文 lorem ipsum dolor sit amet\r\n"
            ));
            k += 1;
        }
        raws.push(mail(
            &format!("<{id}>"),
            &format!("申报材料 {tag} {i}"),
            "Mon, 18 Jul 2022 10:31:40 +0800",
            &body,
        ));
        ids.push(id);
    }
    let mut c = d.admin();
    for part in raws.chunks(50) {
        let items: Vec<AppendItem<'_>> = part
            .iter()
            .map(|raw| AppendItem {
                raw,
                internaldate: "18-Jul-2022 10:32:05 +0800",
            })
            .collect();
        c.append_many("INBOX", &items).expect("seed");
    }
    c.logout();
    ids.sort();
    ids
}

/// Pids of the processes the test Dovecot's master started (imap, imap-login …),
/// found through /proc: the master is the process whose command line names this
/// instance's config file.
fn processes_under(d: &Dovecot) -> Vec<libc::pid_t> {
    let conf = d.dir().join("dovecot.conf").display().to_string();
    let stat_of = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default();
    let master: Vec<String> = pids
        .iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&conf))
                .unwrap_or(false)
        })
        .cloned()
        .collect();
    pids.iter()
        .filter(|p| {
            // Field 4 of /proc/PID/stat (after the parenthesised name) is the parent.
            stat_of(p)
                .and_then(|st| {
                    st.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_string))
                })
                .is_some_and(|ppid| master.contains(&ppid))
        })
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Files under `data/raw/`: bytes the daemon has stored so far (before their commit).
fn raw_files(data_dir: &Path) -> usize {
    let Ok(shards) = std::fs::read_dir(data_dir.join("raw")) else {
        return 0;
    };
    shards
        .flatten()
        .filter_map(|e| std::fs::read_dir(e.path()).ok())
        .map(|rd| rd.count())
        .sum()
}

fn set_config(it: &Intake, from: &str, to: &str) {
    let cfg = std::fs::read_to_string(&it.config).expect("config");
    assert!(cfg.contains(from), "config has no {from:?}:\n{cfg}");
    std::fs::write(&it.config, cfg.replace(from, to)).expect("config");
}

/// Every message once: the dump's Message-IDs are exactly the seeded ones.
fn assert_exactly_once(msgs: &[Value], ids: &[String], log: &Path) {
    let got = message_ids(msgs);
    if got != ids {
        let mut dup = got.clone();
        dup.dedup();
        panic!(
            "expected {} messages once each, got {} ({} distinct)\n{}",
            ids.len(),
            got.len(),
            dup.len(),
            tail(log)
        );
    }
}

fn wait_for_log(log: &Path, needle: &str, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains(needle)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

// ---------------------------------------------------------------- (a) IMAP away

/// Dovecot stopped for ~30 s (`KEPU_OUTAGE_S`) while a large catch-up is in progress,
/// then started again on the same port: the daemon backs off, reconnects and ends with
/// every message once.
#[test]
fn outage_imap_server_down_mid_fetch() {
    let outage = Duration::from_secs(crate::crash::env_usize("KEPU_OUTAGE_S", 30) as u64);
    let mut d = Dovecot::start();
    let n = 300;
    let ids = seed_big(&d, "down", n, 150_000);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["status"]);
    let log = it.dir().join("daemon.log");
    let child = spawn_daemon(&it, &log);
    // Mid-fetch: some bytes stored, far from all.
    let t0 = Instant::now();
    loop {
        let stored = raw_files(&it.data_dir);
        if stored >= 15 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "fetch never started:\n{}",
            tail(&log)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Dovecot's master exits on SIGTERM but lets a running imap process finish its
    // FETCH; a server that goes away drops its connections too. The imap processes
    // are frozen first (the download runs ahead of the writes now, and could finish
    // while the master shuts down), then killed, then the master is stopped (the
    // daemon's first reconnect comes a second later).
    let serving = processes_under(&d);
    for signal in [libc::SIGSTOP, libc::SIGKILL] {
        for pid in &serving {
            // SAFETY: kill(2) on pids of the test's own Dovecot processes.
            unsafe {
                libc::kill(*pid, signal);
            }
        }
    }
    d.stop();
    let stored_at_stop = raw_files(&it.data_dir);
    assert!(
        stored_at_stop < n,
        "the fetch had finished before the server stopped ({stored_at_stop} stored)"
    );
    std::thread::sleep(outage);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("connection lost during fetch"),
        "the stop did not interrupt a fetch:\n{}",
        tail(&log)
    );
    assert!(
        text.contains("cannot connect to the mailbox; retrying"),
        "no reconnect attempts logged during the outage:\n{}",
        tail(&log)
    );
    d.restart();
    let back = Instant::now();
    let msgs = wait_dump(&it, Duration::from_secs(300), |v| {
        crate::crash::messages_of(v).len() >= n
    });
    let recovered = back.elapsed();
    let st = terminate(child, &log);
    assert!(st.success(), "daemon exit {st}:\n{}", tail(&log));
    assert_exactly_once(&crate::crash::messages_of(&msgs), &ids, &log);
    // A last look after the daemon stopped: nothing more appeared.
    assert_exactly_once(&it.messages(), &ids, &log);
    println!(
        "imap outage: {stored_at_stop}/{n} stored when stopped, {:?} down, all {n} once {recovered:?} after restart",
        outage
    );
}

// ---------------------------------------------------------------- (b) SMTP away

/// No SMTP server on the configured port for a while: receipts stay `pending` with a
/// reason naming the server (in the dump and in `kepu-intake receipts`); once a server
/// listens there, each goes out exactly once, without new mail to wake the daemon.
#[test]
fn outage_smtp_not_listening_then_back() {
    let d = Dovecot::start();
    let mut rng = Rng::new(7);
    let mails = corpus(16, &mut rng);
    seed_mailbox(&d, "INBOX", &mails);
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    configure(&it, port, None, "");
    // The first retry 10 s after a failure instead of the default minute: the test
    // waits for it.
    let cfg = std::fs::read_to_string(&it.config).expect("config");
    let cfg = cfg.replace(
        "per_sender_window_s = 0\n",
        "per_sender_window_s = 0\nretry_after_s = 10\n",
    );
    std::fs::write(&it.config, cfg).expect("config");
    it.run_ok(&["status"]);
    let log = it.dir().join("daemon.log");
    let child = spawn_daemon(&it, &log);
    let pending_with_reason = |v: &Value| {
        let msgs = crate::crash::messages_of(v);
        msgs.len() == mails.len()
            && msgs.iter().all(|m| !m["category"].is_null())
            && msgs.iter().any(|m| s(&m["receipt"], "status") == "pending")
            && msgs
                .iter()
                .filter(|m| s(&m["receipt"], "status") == "pending")
                .all(|m| s(&m["receipt"], "reason").contains(&format!("127.0.0.1:{port}")))
    };
    let dump = wait_dump(&it, Duration::from_secs(180), pending_with_reason);
    assert!(
        pending_with_reason(&dump),
        "receipts not pending with a reason: {:#?}\n{}",
        crate::crash::messages_of(&dump)
            .iter()
            .map(|m| m["receipt"].clone())
            .collect::<Vec<_>>(),
        tail(&log)
    );
    let due: Vec<String> = crate::crash::messages_of(&dump)
        .iter()
        .filter(|m| s(&m["receipt"], "status") == "pending")
        .map(|m| s(m, "message_id").trim_matches(['<', '>']).to_string())
        .collect();
    let listed = it.run_ok(&["receipts"]);
    assert!(
        listed.contains(&format!("127.0.0.1:{port}")),
        "`receipts` does not show why: {listed}"
    );
    // The outage goes on a while longer: nothing may be sent or lost meanwhile.
    std::thread::sleep(Duration::from_secs(10));
    let server = SmtpServer::start(ServerOpts {
        port,
        ..Default::default()
    });
    let back = Instant::now();
    let n = mails.len();
    let dump = wait_dump(&it, Duration::from_secs(240), |v| settled(v, n));
    let waited = back.elapsed();
    let st = terminate(child, &log);
    assert!(st.success(), "daemon exit {st}:\n{}", tail(&log));
    assert!(settled(&dump, n), "receipts still pending:\n{}", tail(&log));
    let got = crate::crash::delivered(&server);
    assert_eq!(
        got.duplicated(),
        0,
        "a receipt went out twice: {:?}",
        got.by_answered
    );
    for id in &due {
        assert_eq!(
            got.by_answered.get(id).copied(),
            Some(1),
            "receipt for {id} not delivered once: {:?}",
            got.by_answered
        );
    }
    assert_eq!(got.total(), due.len(), "{:?}", got.by_answered);
    println!(
        "smtp outage: {} receipts pending with a reason, all delivered once {waited:?} after the server came back",
        due.len()
    );
}

// ---------------------------------------------------------------- (c) stalled link

/// A TCP relay between the daemon and Dovecot. On the first connection it stops
/// forwarding the server's bytes after `stall_after` of them (the middle of a FETCH
/// literal when the mail is big) and holds the connection open, silent.
struct StallProxy {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl StallProxy {
    fn start(upstream: u16, stall_after: usize) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (conns, stop2) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let nth = conns.fetch_add(1, Ordering::SeqCst);
                let limit = if nth == 0 { stall_after } else { usize::MAX };
                relay(client, server, limit, stop2.clone());
            }
        });
        StallProxy {
            port,
            connections,
            stop,
        }
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies both ways on two threads; server → client stops after `limit` bytes and the
/// connection then hangs until `stop` (a stalled link, not a closed one).
fn relay(client: TcpStream, server: TcpStream, limit: usize, stop: Arc<AtomicBool>) {
    let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        let mut sent = 0usize;
        loop {
            let room = limit.saturating_sub(sent).min(buf.len());
            if room == 0 {
                // Stalled: keep both sockets open and say nothing.
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                return;
            }
            match s_read.read(&mut buf[..room]) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
            }
        }
        let _ = c_write.shutdown(std::net::Shutdown::Write);
    });
}

/// The connection stalls in the middle of a FETCH literal: the daemon's read timeout
/// (`imap.io_timeout_s`) notices, it reconnects, and nothing is lost or doubled.
#[test]
fn outage_connection_stalls_mid_literal() {
    let d = Dovecot::start();
    let n = 40;
    let ids = seed_big(&d, "stall", n, 100_000);
    // Past the greeting, TLS handshake, login and listing, inside the first FETCH.
    let proxy = StallProxy::start(d.port(), 250_000);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    set_config(
        &it,
        &format!("port = {}", d.port()),
        &format!("port = {}", proxy.port),
    );
    set_config(&it, "io_timeout_s = 10", "io_timeout_s = 3");
    it.run_ok(&["status"]);
    let log = it.dir().join("daemon.log");
    let t0 = Instant::now();
    let child = spawn_daemon(&it, &log);
    let dump = wait_dump(&it, Duration::from_secs(120), |v| {
        crate::crash::messages_of(v).len() >= n
    });
    let took = t0.elapsed();
    let st = terminate(child, &log);
    assert!(st.success(), "daemon exit {st}:\n{}", tail(&log));
    assert_exactly_once(&crate::crash::messages_of(&dump), &ids, &log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("stalled") || text.contains("no answer within"),
        "the stall was not noticed as such:\n{}",
        tail(&log)
    );
    let conns = proxy.connections.load(Ordering::SeqCst);
    assert!(
        conns >= 2,
        "no reconnect through the proxy ({conns} connections)"
    );
    println!(
        "stalled link: noticed and recovered, {n} messages once in {took:?}, {conns} connections"
    );
}

// ---------------------------------------------------------------- (d) disk full

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::piped())
            .output()
            .ok()?;
        if !st.status.success() {
            eprintln!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&st.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

fn free_bytes(dir: &Path) -> u64 {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: statvfs fills the zeroed struct we pass; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return 0;
        }
        st.f_bavail as u64 * st.f_frsize as u64
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}

/// Waits for the daemon's disk-full line and checks it is an ERROR; returns it.
fn disk_full_error(log: &Path) -> String {
    let said = wait_for_log(log, "disk full", Duration::from_secs(90));
    assert!(said, "no disk-full error logged:\n{}", tail(log));
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.contains("disk full"))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("ERROR"), "not logged as an ERROR: {line}");
    line
}

/// Deletes the filler, waits until every seeded message is recorded, stops the
/// daemon, and checks: each message once, the database intact. How long recovery took.
fn free_and_recover(
    it: &Intake,
    child: crate::crash::Proc,
    log: &Path,
    filler: &Path,
    db: &Path,
    ids: &[String],
) -> Duration {
    std::fs::remove_file(filler).expect("free the space");
    let freed = Instant::now();
    let dump = wait_dump(it, Duration::from_secs(120), |v| {
        crate::crash::messages_of(v).len() >= ids.len()
    });
    let recovered = freed.elapsed();
    let st = terminate(child, log);
    assert!(st.success(), "daemon exit {st}:\n{}", tail(log));
    assert_exactly_once(&crate::crash::messages_of(&dump), ids, log);
    assert_eq!(integrity(db), "ok");
    recovered
}

/// The data dir on a small tmpfs, filled up: the daemon logs an ERROR that says the
/// disk is full, the database stays intact (`PRAGMA integrity_check`), and once the
/// filler is deleted the daemon records everything, once.
#[test]
fn outage_disk_full_then_space_returns() {
    let d = Dovecot::start();
    let n = 30;
    let ids = seed_big(&d, "full", n, 100_000);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let mount_dir = it.dir().join("small");
    let Some(_fs) = Tmpfs::mount(&mount_dir, "16m") else {
        eprintln!(
            "SKIPPED outage_disk_full_then_space_returns: mounting a tmpfs is not permitted here (needs root)"
        );
        return;
    };
    let data = mount_dir.join("data");
    set_config(
        &it,
        &format!("data_dir = \"{}\"", it.data_dir.display()),
        &format!("data_dir = \"{}\"", data.display()),
    );
    // The database exists before the disk fills (a daemon cannot start without one).
    it.run_ok(&["status"]);
    let filler = mount_dir.join("filler");
    let room = free_bytes(&mount_dir);
    let keep = 256 * 1024;
    {
        let mut f = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0x5au8; 1 << 20];
        let mut left = room.saturating_sub(keep);
        while left > 0 {
            let k = left.min(chunk.len() as u64) as usize;
            if f.write_all(&chunk[..k]).is_err() {
                break;
            }
            left -= k as u64;
        }
        let _ = f.sync_all();
    }
    assert!(
        free_bytes(&mount_dir) < 1024 * 1024,
        "filler did not fill the disk"
    );
    let log = it.dir().join("daemon.log");
    let mut child = spawn_daemon(&it, &log);
    let line = disk_full_error(&log);
    assert!(
        line.contains("No space left") || line.contains("full"),
        "the error does not name the cause: {line}"
    );
    if let Ok(Some(st)) = child.try_wait() {
        panic!("the daemon died on a full disk ({st}):\n{}", tail(&log));
    }
    let db = data.join("intake.db");
    assert_eq!(
        integrity(&db),
        "ok",
        "database damaged while the disk was full"
    );
    let before = it.messages().len();
    assert!(
        before < n,
        "everything was recorded despite the full disk ({before})"
    );
    let recovered = free_and_recover(&it, child, &log, &filler, &db, &ids);
    println!("disk full: {before}/{n} recorded while full, all {n} once {recovered:?} after freeing space");
}

/// The database itself out of space, the file store not: the data dir on a small tmpfs
/// that is filled to the last block, its `raw/`, `docs/` and `tmp/` symlinked to the
/// roomy disk, so mail is stored and then the SQLite commit that records it fails
/// (`SQLITE_FULL`). The daemon logs an ERROR naming the database and the full disk,
/// records nothing, stays up with an intact database, and once space returns records
/// every message once.
#[test]
fn outage_database_disk_full_then_space_returns() {
    let d = Dovecot::start();
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let mount_dir = it.dir().join("dbfs");
    let Some(_fs) = Tmpfs::mount(&mount_dir, "4m") else {
        eprintln!(
            "SKIPPED outage_database_disk_full_then_space_returns: mounting a tmpfs is not permitted here (needs root)"
        );
        return;
    };
    let data = mount_dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    for sub in ["raw", "docs", "tmp"] {
        let roomy = it.dir().join("store").join(sub);
        std::fs::create_dir_all(&roomy).expect("store dir");
        std::os::unix::fs::symlink(&roomy, data.join(sub)).expect("symlink");
    }
    set_config(
        &it,
        &format!("data_dir = \"{}\"", it.data_dir.display()),
        &format!("data_dir = \"{}\"", data.display()),
    );
    it.run_ok(&["status"]);
    let log = it.dir().join("daemon.log");
    let mut child = spawn_daemon(&it, &log);
    assert!(
        wait_for_log(&log, "connected", Duration::from_secs(60)),
        "the daemon did not connect:\n{}",
        tail(&log)
    );
    // Let the first poll cycle commit (the WAL and its index exist), then fill the
    // tmpfs to the last block.
    std::thread::sleep(Duration::from_secs(2));
    let filler = mount_dir.join("filler");
    {
        let mut f = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0x5au8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let small = [0x5au8; 512];
        while f.write_all(&small).is_ok() {}
    }
    assert_eq!(free_bytes(&mount_dir), 0, "filler did not fill the tmpfs");

    let n = 12;
    let ids = seed_big(&d, "dbfull", n, 20_000);
    let line = disk_full_error(&log);
    // SQLite's own words for SQLITE_FULL, under the database's path: it was the
    // commit that failed, not a file of the store.
    assert!(
        line.contains("database or disk is full") && line.contains("intake.db"),
        "the error does not name the database: {line}"
    );
    assert!(
        raw_files(&data) > 0,
        "no raw mail was stored, so the store failed first"
    );
    if let Ok(Some(st)) = child.try_wait() {
        panic!("the daemon died on a full database ({st}):\n{}", tail(&log));
    }
    let db = data.join("intake.db");
    assert_eq!(
        integrity(&db),
        "ok",
        "database damaged by the failed commits"
    );
    let before = it.messages().len();
    assert_eq!(before, 0, "messages were recorded on a full disk");

    let recovered = free_and_recover(&it, child, &log, &filler, &db, &ids);
    println!(
        "database full: 0/{n} recorded while full, all {n} once {recovered:?} after freeing space"
    );
}
