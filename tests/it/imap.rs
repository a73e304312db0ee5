//! IMAP intake end to end: a private Dovecot over implicit TLS, `kepu-intake run`
//! as a black box, results read back from `dump --json`.

use crate::support::intake::{wait_output, Daemon};
use crate::support::{by_message_id, mail, message_ids, s, seed, Dovecot, ImapTarget, Intake};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::time::{Duration, Instant};

fn instant(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap()
}

/// `received_at` of a dumped message as an instant.
fn received_at(m: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s(m, "received_at"))
        .unwrap_or_else(|e| panic!("received_at not RFC 3339 ({e}): {m}"))
}

/// Harness self-check: APPEND keeps the INTERNALDATE and delete + create changes
/// UIDVALIDITY (the tests below rely on both).
#[test]
fn harness_dovecot_append_and_uidvalidity() {
    let d = Dovecot::start();
    d.create_mailbox("Applications");
    d.append(
        "Applications",
        b"Subject: a\r\n\r\nx\r\n",
        "20-Jul-2022 23:58:59 +0800",
    );
    let mut c = d.admin();
    let (exists, v1) = c.select("Applications").unwrap();
    assert_eq!(exists, 1);
    let lines = c.command("UID FETCH 1:* (INTERNALDATE)").unwrap();
    // Dovecot answers in its own zone: the instant is what must survive.
    let date = lines[0].split('"').nth(1).unwrap();
    let got = chrono::DateTime::parse_from_str(date, "%d-%b-%Y %H:%M:%S %z").unwrap();
    assert_eq!(got, instant("2022-07-20T23:58:59+08:00"), "{lines:?}");
    c.command("UNSELECT").unwrap();
    c.delete("Applications").unwrap();
    c.create("Applications").unwrap();
    let (exists, v2) = c.select("Applications").unwrap();
    assert_eq!(exists, 0);
    assert_ne!(v1, v2, "UIDVALIDITY must change");
    c.logout();
}

/// Every message is recorded once, with the server's INTERNALDATE as `received_at`
/// (not the Date header), shown in +08:00.
#[test]
fn run_once_records_every_message_once_with_internaldate() {
    let d = Dovecot::start();
    let cases = [
        (
            "<a1@test>",
            "Tue, 19 Jul 2022 08:00:00 +0800",
            "19-Jul-2022 09:15:00 +0800",
            "2022-07-19T09:15:00+08:00",
        ),
        (
            "<a2@test>",
            "Wed, 20 Jul 2022 12:00:00 +0000",
            "20-Jul-2022 12:00:30 +0000",
            "2022-07-20T20:00:30+08:00",
        ),
        (
            "<a3@test>",
            "Thu, 14 Jul 2022 18:00:00 +0800",
            "14-Jul-2022 18:00:02 +0800",
            "2022-07-14T18:00:02+08:00",
        ),
    ];
    for (id, date, internal, _) in &cases {
        d.append(
            "INBOX",
            &mail(id, "关于申报的材料", date, "附件见后"),
            internal,
        );
    }
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["run", "--once"]);
    let msgs = it.messages();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    for (id, _, _, expect) in &cases {
        let m = by_message_id(&msgs, id);
        assert_eq!(received_at(m), instant(expect), "{m}");
        assert!(s(m, "received_at").ends_with("+08:00"), "{m}");
        assert_eq!(s(m, "subject"), "关于申报的材料");
    }
}

/// Lateness follows INTERNALDATE against the deadline 2022-07-20T23:59:59+08:00; a
/// Date header that lies either way is ignored.
#[test]
fn late_flag_at_the_deadline_boundary() {
    let d = Dovecot::start();
    // On time by the server clock, although the sender's Date header says the 22nd.
    d.append(
        "INBOX",
        &mail(
            "<ontime@test>",
            "准时",
            "Fri, 22 Jul 2022 09:00:00 +0800",
            "x",
        ),
        "20-Jul-2022 23:58:59 +0800",
    );
    // Late by the server clock, although the Date header claims the 20th.
    d.append(
        "INBOX",
        &mail(
            "<late@test>",
            "逾期",
            "Wed, 20 Jul 2022 10:00:00 +0800",
            "x",
        ),
        "21-Jul-2022 00:00:01 +0800",
    );
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["run", "--once"]);
    let msgs = it.messages();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    let on_time = by_message_id(&msgs, "<ontime@test>");
    let late = by_message_id(&msgs, "<late@test>");
    assert_eq!(on_time.get("late"), Some(&Value::Bool(false)), "{on_time}");
    assert_eq!(late.get("late"), Some(&Value::Bool(true)), "{late}");
    assert_eq!(received_at(on_time), instant("2022-07-20T23:58:59+08:00"));
    assert_eq!(received_at(late), instant("2022-07-21T00:00:01+08:00"));
    assert_eq!(
        DateTime::parse_from_rfc3339(s(late, "date_header")).unwrap(),
        instant("2022-07-20T10:00:00+08:00")
    );
}

/// 126.com refuses SELECT unless the client sent ID after LOGIN: Dovecot's rawlog of
/// the session must show `ID (` before the first SELECT/EXAMINE, and its log the ID.
#[test]
fn id_is_sent_before_the_first_select() {
    let d = Dovecot::start();
    d.append(
        "INBOX",
        &mail("<id@test>", "s", "Mon, 18 Jul 2022 10:00:00 +0800", "x"),
        "18-Jul-2022 10:00:00 +0800",
    );
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["run", "--once"]);
    assert!(
        d.log().contains("ID sent: name="),
        "no ID in Dovecot log:\n{}",
        d.log()
    );
    let sessions = d.client_sessions();
    // The intake's session is the one that selects; our admin sessions never do.
    let session = sessions
        .iter()
        .map(|t| t.to_ascii_uppercase())
        .find(|t| t.contains(" SELECT ") || t.contains(" EXAMINE "))
        .unwrap_or_else(|| panic!("no SELECT in any rawlog: {sessions:#?}"));
    let select = [" SELECT ", " EXAMINE "]
        .iter()
        .filter_map(|k| session.find(k))
        .min()
        .unwrap_or(usize::MAX);
    let id = session
        .find(" ID (")
        .unwrap_or_else(|| panic!("no ID command after login:\n{session}"));
    assert!(id < select, "ID after SELECT:\n{session}");
}

/// A second `run --once` finds nothing new and records nothing twice.
#[test]
fn second_run_once_records_nothing_new() {
    let d = Dovecot::start();
    let ids = seed(&d, "INBOX", "twice", 9);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.run_ok(&["run", "--once"]);
    let first = it.messages();
    assert_eq!(message_ids(&first), ids);
    it.run_ok(&["run", "--once"]);
    let second = it.messages();
    assert_eq!(message_ids(&second), ids);
    let db_ids = |m: &[Value]| m.iter().map(|x| x["id"].clone()).collect::<Vec<_>>();
    assert_eq!(db_ids(&first), db_ids(&second));
}

/// The `starttls` and `none` modes reach the same mail on the plaintext port.
#[test]
fn starttls_and_plaintext_modes_fetch_too() {
    let d = Dovecot::start();
    let ids = seed(&d, "INBOX", "modes", 2);
    for tls in ["starttls", "none"] {
        let it = Intake::new(Some(ImapTarget {
            dovecot: &d,
            tls,
            mailbox: "INBOX",
        }));
        it.run_ok(&["run", "--once"]);
        assert_eq!(message_ids(&it.messages()), ids, "tls = {tls}");
    }
}

/// The daemon picks up mail appended while it runs, within seconds, and exits 0 on
/// SIGTERM.
#[test]
fn daemon_records_new_mail_and_exits_0_on_sigterm() {
    let d = Dovecot::start();
    let before = seed(&d, "INBOX", "before", 2);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    // Create the database first: the fresh-database race between the daemon and the
    // polling `dump` is the subject of cli::commands_racing_on_a_fresh_data_dir.
    it.run_ok(&["status"]);
    let daemon = Daemon::start(&it);
    let msgs = it.wait_for_messages(Duration::from_secs(15), |m| m.len() >= 2);
    if message_ids(&msgs) != before {
        daemon.fail(&format!("catch-up incomplete: {msgs:#?}"));
    }
    let t0 = Instant::now();
    d.append(
        "INBOX",
        &mail(
            "<live@test>",
            "新到",
            "Tue, 19 Jul 2022 10:00:00 +0800",
            "x",
        ),
        "19-Jul-2022 10:00:00 +0800",
    );
    let msgs = it.wait_for_messages(Duration::from_secs(15), |m| m.len() >= 3);
    let waited = t0.elapsed();
    if msgs.len() != 3 {
        daemon.fail(&format!("new mail not recorded within 15 s: {msgs:#?}"));
    }
    by_message_id(&msgs, "<live@test>");
    eprintln!("live mail recorded after {waited:?}");
    let (status, _, err) = daemon.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}\n{err}");
}

/// Dovecot stopped and restarted under a running daemon: it reconnects and loses
/// nothing, including mail that arrived while it was disconnected.
#[test]
fn daemon_reconnects_after_server_restart() {
    let mut d = Dovecot::start();
    let mut ids = seed(&d, "INBOX", "pre", 1);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    // Create the database first: the fresh-database race between the daemon and the
    // polling `dump` is the subject of cli::commands_racing_on_a_fresh_data_dir.
    it.run_ok(&["status"]);
    let daemon = Daemon::start(&it);
    let msgs = it.wait_for_messages(Duration::from_secs(15), |m| !m.is_empty());
    if message_ids(&msgs) != ids {
        daemon.fail(&format!("catch-up incomplete: {msgs:#?}"));
    }
    d.stop();
    std::thread::sleep(Duration::from_millis(1500));
    d.restart();
    // Arrives while the daemon is still backing off / reconnecting.
    ids.extend(seed(&d, "INBOX", "post", 3));
    ids.sort();
    let msgs = it.wait_for_messages(Duration::from_secs(20), |m| m.len() >= ids.len());
    if message_ids(&msgs) != ids {
        daemon.fail(&format!("after restart: {msgs:#?}"));
    }
    let (status, _, err) = daemon.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}\n{err}");
}

/// A changed UIDVALIDITY (mailbox deleted and re-created) makes the client look at
/// every UID again: mail re-appearing is not recorded twice, and new mail with UIDs
/// at or below the old high-water mark is not skipped (paperless-ngx #8939).
#[test]
fn uidvalidity_change_neither_duplicates_nor_skips() {
    let d = Dovecot::start();
    let mb = "Applications";
    d.create_mailbox(mb);
    let a = mail("<uv-a@test>", "A", "Mon, 18 Jul 2022 10:00:00 +0800", "a");
    let b = mail("<uv-b@test>", "B", "Mon, 18 Jul 2022 10:01:00 +0800", "b");
    d.append(mb, &a, "18-Jul-2022 10:00:00 +0800");
    d.append(mb, &b, "18-Jul-2022 10:01:00 +0800");
    let it = Intake::new(Some(ImapTarget {
        dovecot: &d,
        tls: "implicit",
        mailbox: mb,
    }));
    it.run_ok(&["run", "--once"]);
    assert_eq!(message_ids(&it.messages()), ["uv-a@test", "uv-b@test"]);
    d.delete_mailbox(mb);
    d.create_mailbox(mb);
    // New UIDs 1 and 2 are new mail; UID 3 is an old message seen again.
    d.append(
        mb,
        &mail("<uv-c@test>", "C", "Tue, 19 Jul 2022 10:00:00 +0800", "c"),
        "19-Jul-2022 10:00:00 +0800",
    );
    d.append(
        mb,
        &mail("<uv-d@test>", "D", "Tue, 19 Jul 2022 10:01:00 +0800", "d"),
        "19-Jul-2022 10:01:00 +0800",
    );
    d.append(mb, &a, "18-Jul-2022 10:00:00 +0800");
    it.run_ok(&["run", "--once"]);
    let msgs = it.messages();
    assert_eq!(
        message_ids(&msgs),
        ["uv-a@test", "uv-b@test", "uv-c@test", "uv-d@test"],
        "{msgs:#?}"
    );
}

/// A wrong password fails fast with a non-zero exit, one clear line on stderr and
/// nothing recorded.
#[test]
fn wrong_password_fails_with_one_clear_line() {
    let d = Dovecot::start();
    seed(&d, "INBOX", "pw", 1);
    let mut it = Intake::new(Some(ImapTarget::implicit(&d)));
    it.password = "not-the-password".into();
    let t0 = Instant::now();
    // Logs off (KEPU_LOG): what remains on stderr is the error report itself.
    let mut cmd = it.command(&["run", "--once"]);
    cmd.env("KEPU_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (status, out, err) = wait_output(cmd.spawn().unwrap(), Duration::from_secs(30), &["run"]);
    assert!(!status.success(), "wrong password accepted?\n{out}\n{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t0.elapsed()
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {err:?}");
    let low = lines[0].to_lowercase();
    assert!(
        ["login", "auth", "password", "登录", "密码", "授权码"]
            .iter()
            .any(|k| low.contains(k)),
        "stderr does not say the login failed: {err:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(it.messages().is_empty());
}

/// A server whose certificate does not chain to the configured CA is refused: no
/// silent fallback to an unverified connection.
#[test]
fn untrusted_certificate_is_refused() {
    let d = Dovecot::start();
    let other = Dovecot::start(); // another run's CA
    seed(&d, "INBOX", "tls", 1);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let cfg = std::fs::read_to_string(&it.config).unwrap().replace(
        &d.ca_file().display().to_string(),
        &other.ca_file().display().to_string(),
    );
    std::fs::write(&it.config, cfg).unwrap();
    let log_before = d.log().len();
    let (status, _, err) = it.run(&["run", "--once"]);
    assert!(
        !status.success(),
        "connected despite an untrusted certificate"
    );
    assert!(!err.trim().is_empty());
    assert!(it.messages().is_empty());
    let log = d.log();
    let during = &log[log_before..];
    assert!(
        !during.contains("Login: user=<apply>"),
        "logged in: {during}"
    );
    assert!(during.contains("TLS"), "no TLS attempt seen: {during}");
}

/// `run --once` with the server down exits non-zero with a reason, promptly.
#[test]
fn run_once_with_server_down_fails_promptly() {
    let mut d = Dovecot::start();
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    d.stop();
    let t0 = Instant::now();
    let (status, _, err) = it.run(&["run", "--once"]);
    assert!(!status.success(), "run --once succeeded with no server");
    assert!(
        t0.elapsed() < Duration::from_secs(25),
        "took {:?}",
        t0.elapsed()
    );
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(
        last.contains("127.0.0.1"),
        "the reason should name the server: {err}"
    );
}
