//! Installing the office's side (issue 18): the config lookup and `check`, the page over
//! HTTPS with the configured certificate, the page's own systemd unit.

use crate::support::intake::Intake;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

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

/// `serve` on a LAN address without TLS says at start that passwords would cross the
/// network in clear text; on loopback it does not.
#[test]
fn serve_warns_when_listening_beyond_loopback_without_tls() {
    for (host, warns) in [("0.0.0.0", true), ("127.0.0.1", false)] {
        let it = Intake::new(None);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cfg = std::fs::read_to_string(&it.config).unwrap();
        cfg.push_str(&format!("\n[web]\nlisten = \"{host}:{port}\"\n"));
        std::fs::write(&it.config, cfg).unwrap();
        let err_path = it.dir().join("serve.stderr");
        let mut child = it
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        crate::support::intake::sigterm(&child);
        let _ = child.wait();
        let err = std::fs::read_to_string(&err_path).unwrap();
        assert_eq!(err.contains("未启用 TLS"), warns, "{host}: {err}");
        assert!(
            err.contains("user add"),
            "no accounts yet: says how to make one: {err}"
        );
    }
}
