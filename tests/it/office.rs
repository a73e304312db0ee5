//! The office at work while the service runs (issue 18): every command that changes the
//! intake succeeds while `run` catches up a large mailbox from the test Dovecot on the
//! same data dir; nothing is lost or duplicated and every decision is in the audit log
//! and survives `reprocess --all`.

use crate::support::dovecot::Dovecot;
use crate::support::intake::{app, match_fixtures, message_ids, seed, Daemon, ImapTarget, Intake};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// Seeded messages the daemon has not recorded yet: above 0, its catch-up is still
/// fetching.
fn unfetched(it: &Intake) -> i64 {
    let fetched = db_i64(
        it,
        "SELECT count(*) FROM messages WHERE message_id LIKE '%seed-office-%'",
    );
    SEEDED as i64 - fetched
}

/// Runs a write command; it must succeed (no "data dir locked") while the daemon runs.
/// Returns how many seeded messages the daemon had still to fetch when the write
/// started ([`unfetched`]).
fn write(it: &Intake, args: &[&str], stdin: Option<&str>) -> i64 {
    let busy = unfetched(it);
    let t0 = Instant::now();
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
        !err.contains("fetch lock"),
        "{args:?} complained about a lock: {err}"
    );
    eprintln!(
        "{:?}: {busy} still to fetch at its start, took {:.1} s",
        args.first().unwrap_or(&""),
        t0.elapsed().as_secs_f64()
    );
    busy
}

/// Messages seeded for the catch-up of [`every_write_works_while_run_catches_up`].
const SEEDED: usize = 300;
/// The daemon's wait before each chunk of 7 (the test config's `fetch_chunk`): 300
/// messages take at least 43 × 0.7 s = 30 s to fetch, several times what the writes
/// below take on an idle machine.
const PER_CHUNK: Duration = Duration::from_millis(700);

#[test]
fn every_write_works_while_run_catches_up() {
    const N: usize = SEEDED;
    let d = Dovecot::start();
    let mut ids = seed(&d, "INBOX", "office", N);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    // Seal detection only: the writes must not wait for Tesseract.
    let mut cfg = std::fs::read_to_string(&it.config).unwrap();
    cfg.push_str("\n[tools]\nocr = false\n");
    std::fs::write(&it.config, cfg).unwrap();

    let daemon = Daemon::start_throttled(&it, PER_CHUNK);
    let t0 = Instant::now();
    while recorded_or_zero(&it) == 0 {
        if t0.elapsed() > Duration::from_secs(60) {
            daemon.fail("the daemon recorded nothing within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // 1. import: recorded and processed beside the daemon's own processing.
    let paths: Vec<String> = match_fixtures()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let seen_at_import = write(&it, &args, None);
    assert!(
        seen_at_import > 0,
        "the daemon had fetched everything when the first write started: the test proves nothing"
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
    eprintln!("seeded messages still to fetch when each write started: {during:?} (of {N})");
    assert!(
        during.iter().all(|&n| n > 0),
        "every write must start while the daemon's catch-up still fetches: {during:?}"
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
    let status: Value = serde_json::from_str(&it.run_ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["messages"].as_u64(),
        Some(want as u64 - 1),
        "the removed message is left out of the counts"
    );
    it.run_ok(&["remove", "m1", "--restore"]);
    let status: Value = serde_json::from_str(&it.run_ok(&["status", "--json"])).unwrap();
    assert_eq!(status["messages"].as_u64(), Some(want as u64), "restored");
    let (st, _, err) = it.run(&["review", "a99999", "--accept"]);
    assert!(
        !st.success() && err.contains("没有编号为 a99999 的申报"),
        "{err}"
    );
    let (st, _, err) = it.run(&["late", &a1s, "--excuse", "  "]);
    assert!(!st.success() && err.contains("请写明理由"), "{err}");
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

/// The daemon sees work another process leaves while it waits for mail: a receipt an
/// operator queues again with `receipts --retry` goes out (here: dry-run, `previewed`) within
/// seconds, not at the next mail or IDLE renewal (25 minutes).
#[test]
fn waiting_daemon_picks_up_a_retried_receipt() {
    let d = Dovecot::start();
    let raw = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/mail/robot_vacation_autoreply.eml"),
    )
    .unwrap();
    d.append("INBOX", &raw, "18-Jul-2022 10:32:05 +0800");
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let cfg = std::fs::read_to_string(&it.config).unwrap().replace(
        "mode = \"off\"",
        "mode = \"dry-run\"\nper_sender_window_s = 0",
    );
    let cfg = format!("{cfg}\n[smtp]\nfrom = \"tsqsnkj@126.com\"\n");
    // IDLE waits 25 minutes unless something wakes it; polling servers are not used here.
    std::fs::write(&it.config, cfg).unwrap();
    let daemon = Daemon::start(&it);
    let status = |it: &Intake| -> Option<String> {
        let c = rusqlite::Connection::open(it.data_dir.join("intake.db")).ok()?;
        c.busy_timeout(Duration::from_secs(10)).ok()?;
        c.query_row("SELECT status FROM receipts WHERE id = 1", [], |r| r.get(0))
            .ok()
    };
    let t0 = Instant::now();
    while status(&it).as_deref() != Some("suppressed") {
        if t0.elapsed() > Duration::from_secs(60) {
            daemon.fail(&format!(
                "the auto-reply's receipt is {:?}, not suppressed",
                status(&it)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the daemon settle into its wait for new mail.
    std::thread::sleep(Duration::from_secs(2));
    write(&it, &["receipts", "--retry", "1"], None);
    let t1 = Instant::now();
    // In dry-run mode a receipt written out is `previewed` (never `sent`).
    while status(&it).as_deref() != Some("previewed") {
        if t1.elapsed() > Duration::from_secs(20) {
            daemon.fail(&format!(
                "the waiting daemon did not write the retried receipt within 20 s: {:?}",
                status(&it)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("retried receipt written after {:?}", t1.elapsed());
    let (st, _, err) = daemon.terminate();
    assert!(st.success(), "{err}");
    assert!(
        err.contains("waking up"),
        "the daemon says why it woke: {err}"
    );
}
