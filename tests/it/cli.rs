//! Command-line behaviour around the intake: offline `import` idempotence, two
//! concurrent `run --once` on one data dir, and the deployment files (systemd unit,
//! `deploy/install.sh` into a temp root).

use crate::support::intake::wait_output;
use crate::support::tmpdir::ShortTempDir;
use crate::support::{mail, message_ids, seed, Dovecot, ImapTarget, Intake};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Importing the same files twice (as a directory, then one file again) records each
/// message once.
#[test]
fn import_same_files_twice_records_each_once() {
    let it = Intake::new(None);
    let src = it.dir().join("eml");
    std::fs::create_dir(&src).unwrap();
    for i in 0..3 {
        let raw = mail(
            &format!("<imp-{i}@test>"),
            &format!("申报 {i}"),
            "Mon, 18 Jul 2022 10:00:00 +0800",
            "正文",
        );
        std::fs::write(src.join(format!("m{i}.eml")), raw).unwrap();
    }
    let dir = src.to_str().unwrap();
    it.run_ok(&["import", dir]);
    assert_eq!(
        message_ids(&it.messages()),
        ["imp-0@test", "imp-1@test", "imp-2@test"]
    );
    it.run_ok(&["import", dir]);
    let one = src.join("m1.eml");
    it.run_ok(&["import", one.to_str().unwrap()]);
    let msgs = it.messages();
    assert_eq!(
        message_ids(&msgs),
        ["imp-0@test", "imp-1@test", "imp-2@test"],
        "{msgs:#?}"
    );
}

/// Operators' commands started together on a data dir that has no database yet (the
/// daemon starting while someone runs `status`): each must create or reuse the schema
/// without tripping over the other ("table … already exists").
#[test]
fn commands_racing_on_a_fresh_data_dir_all_succeed() {
    for round in 0..3 {
        let it = Intake::new(None);
        let children: Vec<_> = (0..4)
            .map(|_| {
                it.command(&["status", "--json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let (status, _, err) = wait_output(c, Duration::from_secs(30), &["status"]);
            assert!(
                status.success(),
                "round {round}: concurrent status failed: {err}"
            );
        }
    }
}

/// Two `run --once` started together on one data dir: the second refuses (lock) or
/// waits; every message ends up recorded exactly once (paperless-ngx #9436).
#[test]
fn concurrent_run_once_never_doubles() {
    let d = Dovecot::start();
    let ids = seed(&d, "INBOX", "conc", 60);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let spawn = || {
        it.command(&["run", "--once"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let ra = wait_output(a, Duration::from_secs(60), &["run", "--once"]);
    let rb = wait_output(b, Duration::from_secs(60), &["run", "--once"]);
    let ok = [&ra, &rb].iter().filter(|r| r.0.success()).count();
    assert!(ok >= 1, "neither run succeeded:\n{}\n{}", ra.2, rb.2);
    for r in [&ra, &rb] {
        if !r.0.success() {
            let low = r.2.to_lowercase();
            assert!(
                ["lock", "锁", "already running", "正在运行"]
                    .iter()
                    .any(|k| low.contains(k)),
                "the refused run must say why (lock): {}",
                r.2
            );
        }
    }
    let msgs = it.messages();
    assert_eq!(msgs.len(), 60, "duplicates or losses");
    assert_eq!(message_ids(&msgs), ids);
}

/// The systemd unit passes `systemd-analyze verify` (with ExecStart pointed at the
/// built binary, since /usr/local/bin is empty here). Skipped, and says so, where
/// systemd-analyze is absent.
#[test]
fn systemd_unit_verifies() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze not installed");
        return;
    }
    let tmp = ShortTempDir::new("ku").unwrap();
    let unit = std::fs::read_to_string(repo().join("deploy/kepu-intake.service")).unwrap();
    for key in [
        "User=kepu",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/kepu-intake",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "StartLimitBurst=",
        "LoadCredential=imap-password:/etc/kepu-intake/imap-password",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(key)), "unit lacks {key}");
    }
    let path = tmp.path().join("kepu-intake.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/kepu-intake",
            env!("CARGO_BIN_EXE_kepu-intake"),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed: {err}");
    assert!(
        !err.contains("kepu-intake.service:"),
        "warnings about the unit: {err}"
    );
}

/// `deploy/install.sh` into a temp root (DESTDIR) with a given binary: the binary,
/// unit, data dir, empty 0600 password file and a config that reads the systemd
/// credential and keeps data in /var/lib/kepu-intake; the config still loads.
#[test]
fn install_script_dry_install_into_destdir() {
    use std::os::unix::fs::PermissionsExt;
    let root = ShortTempDir::new("kr").unwrap();
    let bin = env!("CARGO_BIN_EXE_kepu-intake");
    let out = Command::new(repo().join("deploy/install.sh"))
        .args([
            "--skip-build",
            "--binary",
            bin,
            "--with-libreoffice",
            "--with-tesseract",
        ])
        .env("DESTDIR", root.path())
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "install.sh failed: {log}");
    assert!(
        log.contains("tesseract-ocr-chi-sim") && log.contains("libreoffice-writer-nogui"),
        "{log}"
    );
    let r = root.path();
    let mode = |p: &str| std::fs::metadata(r.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("usr/local/bin/kepu-intake"), 0o755);
    assert_eq!(
        std::fs::read(r.join("usr/local/bin/kepu-intake")).unwrap(),
        std::fs::read(bin).unwrap()
    );
    assert!(r.join("var/lib/kepu-intake").is_dir());
    assert_eq!(mode("etc/kepu-intake/imap-password"), 0o600);
    assert!(r.join("etc/systemd/system/kepu-intake.service").is_file());
    let cfg = std::fs::read_to_string(r.join("etc/kepu-intake/kepu-intake.toml")).unwrap();
    let parsed = kepu_intake::config::Config::from_toml(&cfg)
        .unwrap_or_else(|e| panic!("installed config does not load: {e}\n{cfg}"));
    assert_eq!(
        parsed.imap.password_file.as_deref(),
        Some(Path::new(
            "/run/credentials/kepu-intake.service/imap-password"
        ))
    );
    assert_eq!(parsed.imap.password_env, None);
    assert_eq!(parsed.storage.data_dir, Path::new("/var/lib/kepu-intake"));
    // A second run keeps the operator's edited config.
    std::fs::write(r.join("etc/kepu-intake/kepu-intake.toml"), "# edited\n").unwrap();
    let again = Command::new(repo().join("deploy/install.sh"))
        .args(["--skip-build", "--binary", bin])
        .env("DESTDIR", r)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(r.join("etc/kepu-intake/kepu-intake.toml")).unwrap(),
        "# edited\n"
    );
    assert!(r.join("etc/kepu-intake/kepu-intake.toml.new").is_file());
}
