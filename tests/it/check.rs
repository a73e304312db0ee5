//! `kepu-intake check` against a real Dovecot: all good, a wrong authorization code, a
//! certificate that does not verify, and a closed port — each with the words an IT
//! person acts on, and the exit status that tells a script whether to go on.

use crate::support::dovecot::Dovecot;
use crate::support::intake::{ImapTarget, Intake};

fn imap_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("IMAP"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn check_reports_each_connection_problem_in_words() {
    let d = Dovecot::start();
    let mut it = Intake::new(Some(ImapTarget::implicit(&d)));

    // All good: login, ID, EXAMINE (read-only) and whether IDLE is offered.
    let (status, out, err) = it.run(&["check"]);
    assert!(status.success(), "{out}\n{err}");
    let line = imap_line(&out);
    assert!(line.starts_with("✓"), "{out}");
    assert!(
        line.contains("EXAMINE INBOX") && line.contains("IDLE 支持"),
        "{line}"
    );
    assert!(
        out.contains("✓ 数据库 database")
            && out.contains(&format!("schema v{}", kepu_intake::db::schema::latest())),
        "{out}"
    );

    // OCR: found (the harness installs Tesseract); switched off in the config, the line
    // says so instead of "not found", and stays a warning.
    let ocr_line = |out: &str| {
        out.lines()
            .find(|l| l.contains("Tesseract"))
            .unwrap_or("")
            .to_string()
    };
    assert!(ocr_line(&out).starts_with("✓"), "{out}");
    let cfg = std::fs::read_to_string(&it.config).unwrap();
    std::fs::write(&it.config, format!("{cfg}\n[tools]\nocr = false\n")).unwrap();
    let (status, out, err) = it.run(&["check"]);
    assert!(status.success(), "{out}\n{err}");
    let line = ocr_line(&out);
    assert!(
        line.starts_with("!") && line.contains("已关闭") && !line.contains("未找到"),
        "{line}"
    );
    std::fs::write(&it.config, &cfg).unwrap();

    // A wrong authorization code: ✗, the server's words, what to check, exit 1.
    let good = it.password.clone();
    it.password = "not-the-code".into();
    let (status, out, err) = it.run(&["check"]);
    assert!(!status.success());
    let line = imap_line(&out);
    assert!(line.starts_with("✗") && line.contains("登录失败"), "{line}");
    assert!(
        line.contains("授权码"),
        "should say to check the authorization code: {line}"
    );
    assert!(err.contains("检查未通过"), "{err}");
    it.password = good;

    // A certificate that does not chain to the configured CA.
    let other = Dovecot::start();
    let cfg = std::fs::read_to_string(&it.config).unwrap();
    std::fs::write(
        &it.config,
        cfg.replace(
            &d.ca_file().display().to_string(),
            &other.ca_file().display().to_string(),
        ),
    )
    .unwrap();
    let (status, out, _) = it.run(&["check"]);
    assert!(!status.success());
    let line = imap_line(&out);
    assert!(
        line.starts_with("✗") && line.contains("TLS") && line.contains("ca_file"),
        "{line}"
    );
    std::fs::write(&it.config, &cfg).unwrap();

    // A closed port.
    let port = d.port().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        &it.config,
        cfg.replace(&format!("port = {port}"), &format!("port = {closed}")),
    )
    .unwrap();
    let (status, out, _) = it.run(&["check"]);
    assert!(!status.success());
    let line = imap_line(&out);
    assert!(line.starts_with("✗") && line.contains("无法连接"), "{line}");
}
