//! The office at work while the service runs (issue 18): every command that changes the
//! intake succeeds while `run` catches up a large mailbox from the test Dovecot on the
//! same data dir; nothing is lost or duplicated and every decision is in the audit log
//! and survives `reprocess --all`.

use crate::support::dovecot::Dovecot;
use crate::support::intake::{message_ids, seed, Daemon, ImapTarget, Intake};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/match");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

/// Messages recorded so far, read straight from SQLite (cheap, no process start).
fn recorded(it: &Intake) -> i64 {
    let c = rusqlite::Connection::open(it.data_dir.join("intake.db")).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap_or(0)
}

fn db_i64(it: &Intake, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(it.data_dir.join("intake.db")).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Runs a write command; it must succeed (no "data dir locked") while the daemon runs.
/// Returns how many messages were recorded when it finished.
fn write(it: &Intake, args: &[&str], stdin: Option<&str>) -> i64 {
    let mut cmd = it.command(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let (status, out, err) =
        crate::support::intake::wait_output(child, Duration::from_secs(120), args);
    assert!(
        status.success(),
        "kepu-intake {args:?} failed while `run` was running ({status}):\n{err}\n{out}"
    );
    assert!(
        !err.contains("占用"),
        "{args:?} complained about a lock: {err}"
    );
    recorded(it)
}

fn app(d: &Value, id: i64) -> &Value {
    d["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no application {id}"))
}

#[test]
fn every_write_works_while_run_catches_up() {
    const N: usize = 1500;
    let d = Dovecot::start();
    let mut ids = seed(&d, "INBOX", "office", N);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    // Seal detection only: the writes must not wait for Tesseract.
    let mut cfg = std::fs::read_to_string(&it.config).unwrap();
    cfg.push_str("\n[tools]\nocr = false\n");
    std::fs::write(&it.config, cfg).unwrap();

    let daemon = Daemon::start(&it);
    let t0 = Instant::now();
    while recorded_or_zero(&it) == 0 {
        if t0.elapsed() > Duration::from_secs(60) {
            daemon.fail("the daemon recorded nothing within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // 1. import: recorded and processed beside the daemon's own processing.
    let paths: Vec<String> = fixtures().iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let seen_at_import = write(&it, &args, None);
    assert!(
        (seen_at_import as usize) < N + paths.len(),
        "the catch-up was over before the first write ({seen_at_import} messages): the test proves nothing"
    );

    // The imported submissions' documents, from the dump (it too works during the run).
    let dump = it.dump();
    let docs: Vec<&Value> = dump["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().unwrap().iter())
        .collect();
    let scan = docs.iter().find(|x| x["kind"] == "scan").expect("a scan")["id"]
        .as_i64()
        .unwrap();
    let electronic = docs
        .iter()
        .find(|x| x["kind"] == "electronic")
        .expect("an electronic form")["id"]
        .as_i64()
        .unwrap();
    let apps = dump["applications"].as_array().unwrap();
    assert!(apps.len() >= 2, "the fixtures make applications: {apps:?}");
    let (a1, a2) = (
        apps[0]["id"].as_i64().unwrap(),
        apps[1]["id"].as_i64().unwrap(),
    );
    let (a1s, a2s) = (format!("a{a1}"), format!("{a2}"));
    let (scan_s, electronic_s) = (scan.to_string(), electronic.to_string());

    // 2. The office's decisions, each its own process, while the catch-up goes on.
    let mut during = vec![seen_at_import];
    during.push(write(&it, &["match", &scan_s, &electronic_s], None));
    during.push(write(
        &it,
        &["review", &a1s, "--accept", "--by", "wang"],
        None,
    ));
    during.push(write(
        &it,
        &["review", &a2s, "--return", "--note", "缺盖章", "--by", "li"],
        None,
    ));
    during.push(write(
        &it,
        &[
            "late",
            &a1s,
            "--excuse",
            "23:58 发出，服务器次日收到",
            "--by",
            "wang",
        ],
        None,
    ));
    during.push(write(
        &it,
        &["user", "add", "clerk"],
        Some("clerk-password-1\n"),
    ));
    let receipt = db_i64(&it, "SELECT min(id) FROM receipts");
    let receipt_s = receipt.to_string();
    during.push(write(&it, &["receipts", "--retry", &receipt_s], None));
    during.push(write(&it, &["remove", "m1", "--reason", "测试邮件"], None));
    during.push(write(&it, &["reprocess", "--all"], None));
    eprintln!(
        "messages recorded when each write finished: {during:?} of {}",
        N + paths.len()
    );
    assert!(
        during.iter().filter(|&&n| (n as usize) < N).count() >= 3,
        "at least three writes must finish while the catch-up runs: {during:?}"
    );

    // 3. The daemon goes on and finishes: every message exactly once, all processed.
    let want = N + paths.len();
    let msgs = it.wait_for_messages(Duration::from_secs(300), |m| {
        m.len() >= want && m.iter().all(|x| !x["category"].is_null())
    });
    let (status, _, err) = daemon.terminate();
    assert!(status.success(), "daemon: {err}");
    assert_eq!(msgs.len(), want, "lost or duplicated messages");
    let mut got = message_ids(&msgs);
    got.retain(|id| id.starts_with("seed-office-"));
    ids.sort();
    assert_eq!(got, ids, "every seeded message exactly once");

    // 4. Every decision is there after the concurrent `reprocess --all`, and audited.
    let d = it.dump();
    let scan_doc = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().unwrap().iter())
        .find(|x| x["id"] == scan)
        .unwrap();
    assert_eq!(scan_doc["scan_of"], electronic, "the match survives");
    assert_eq!(app(&d, a1)["review"]["state"], "accepted");
    assert_eq!(app(&d, a1)["review"]["by"], "wang");
    assert_eq!(app(&d, a2)["review"]["state"], "returned");
    assert_eq!(app(&d, a2)["review"]["note"], "缺盖章");
    assert_eq!(
        app(&d, a1)["late_excused"]["reason"],
        "23:58 发出，服务器次日收到"
    );
    let m1 = msgs.iter().find(|m| m["id"] == 1).unwrap();
    assert!(
        !m1["removed"].is_null(),
        "m1 stays listed, marked removed: {m1}"
    );
    assert_eq!(
        db_i64(
            &it,
            &format!("SELECT count(*) FROM receipts WHERE id = {receipt} AND status = 'pending'")
        ),
        1,
        "the retried receipt is queued again"
    );
    let actions: Vec<&str> = d["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for want in [
        "import",
        "match",
        "review",
        "late",
        "user",
        "receipt_retry",
        "remove",
        "reprocess",
    ] {
        assert!(actions.contains(&want), "audit lacks {want}: {actions:?}");
    }
    let review = d["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "review" && a["target"] == a1s.as_str())
        .unwrap();
    assert_eq!(review["user"], "wang");
    assert!(
        review["detail"]
            .as_str()
            .unwrap()
            .contains("待审核 → 已受理"),
        "{review}"
    );
}

fn recorded_or_zero(it: &Intake) -> i64 {
    if it.data_dir.join("intake.db").exists() {
        recorded(it)
    } else {
        0
    }
}

/// An installed machine: without `--config`, `$KEPU_CONFIG` is found (before any
/// `config/kepu-intake.toml` of the working dir would be), `status` uses its data dir
/// instead of creating `./data` where the operator stands, and `check` says which file.
#[test]
fn commands_find_the_config_and_check_says_which() {
    let it = Intake::new(None);
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kepu-intake"))
            .args(args)
            .current_dir(elsewhere.path())
            .env("KEPU_CONFIG", &it.config)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["status"]);
    assert!(
        it.data_dir.join("intake.db").exists(),
        "the configured data dir is used"
    );
    assert!(
        !elsewhere.path().join("data").exists(),
        "no ./data beside the operator"
    );
    let check = run(&["check"]);
    let line = check
        .lines()
        .find(|l| l.contains("配置文件"))
        .unwrap_or_else(|| panic!("check names no config: {check}"));
    assert!(
        line.contains(&it.config.display().to_string()) && line.contains("KEPU_CONFIG"),
        "{line}"
    );
}

/// `[web] tls_cert`/`tls_key`: the page speaks HTTPS (rustls) and its session cookie
/// is `Secure`; a client that does not trust the certificate gets nothing.
#[tokio::test]
async fn serve_speaks_https_with_the_configured_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::support::certs::make_pki(dir.path()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = kepu_intake::config::Config::default();
    cfg.storage.data_dir = dir.path().join("data");
    cfg.web.listen = format!("127.0.0.1:{port}");
    cfg.web.tls_cert = Some(pki.leaf_cert.clone());
    cfg.web.tls_key = Some(pki.leaf_key.clone());
    {
        let mut db = kepu_intake::db::Db::open(&cfg.storage.db_path()).unwrap();
        kepu_intake::office::accounts::add_user(&mut db, "wang", "wang-password", "test").unwrap();
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let (cfg, stop) = (cfg.clone(), stop.clone());
        tokio::spawn(async move { kepu_intake::web::serve(&cfg, stop).await })
    };
    let addr: std::net::SocketAddr = cfg.web.listen.parse().unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(&pki.ca_cert).unwrap();
    for c in rustls_pemfile_certs(&ca) {
        roots.add(c).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let https = |req: String| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
            tls.write_all(req.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            let _ = tls.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let r = https("GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n".into()).await;
    assert!(r.starts_with("HTTP/1.0 200") && r.ends_with("ok"), "{r}");
    let body = "user=wang&password=wang-password";
    let r = https(format!(
        "POST /login HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    assert!(r.starts_with("HTTP/1.0 303"), "{r}");
    let cookie = r
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets no page.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(12), plain.read_to_end(&mut out)).await;
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));
    stop.cancel();
    let res = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops on cancel")
        .unwrap();
    assert!(res.is_ok(), "{res:?}");
}

/// The certificates of a PEM file.
fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls_pki_types::CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

/// The page's own systemd unit: sandboxed like the daemon's, runs `serve` with the
/// installed config, passes `systemd-analyze verify`, and `install.sh` installs it.
#[test]
fn web_unit_verifies_and_is_installed() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(repo.join("deploy/kepu-intake-web.service")).unwrap();
    for key in [
        "User=kepu",
        "ExecStart=/usr/local/bin/kepu-intake --config /etc/kepu-intake/kepu-intake.toml serve",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/kepu-intake",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(key)), "unit lacks {key}");
    }
    let root = crate::support::tmpdir::ShortTempDir::new("kw").unwrap();
    let out = std::process::Command::new(repo.join("deploy/install.sh"))
        .args([
            "--skip-build",
            "--binary",
            env!("CARGO_BIN_EXE_kepu-intake"),
        ])
        .env("DESTDIR", root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root
        .path()
        .join("etc/systemd/system/kepu-intake-web.service")
        .is_file());
    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED verify: systemd-analyze not installed");
        return;
    }
    let path = root.path().join("kepu-intake-web.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/kepu-intake",
            env!("CARGO_BIN_EXE_kepu-intake"),
        ),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed: {err}");
    assert!(!err.contains("kepu-intake-web.service:"), "warnings: {err}");
}
