//! The roster and reminders pages in headless Chromium: the sample mailbox imported
//! with the deadline two days ahead (so reminders are due, in dry-run), a clerk logs in,
//! reads the roster, approves and sends one reminder with its button; checked in
//! `dump --json` (sent, approved by the clerk) and the audit log (action `remind`).
//! Screenshots `target/test-artifacts/workbench-roster.png`, `workbench-reminders.png`.

use crate::browser::{artifacts_dir, free_port, wait_http, Browser, Killed};
use crate::support::intake::{wait_output, Intake, DEADLINE};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CLERK: &str = "xiaoli";
const PASSWORD: &str = "clerk-password-2022";

#[test]
fn roster_and_reminders_pages_send_one_reminder() {
    if std::env::var("KEPU_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SKIP: KEPU_SKIP_BROWSER=1");
        return;
    }
    let it = Intake::new(None);
    let port = free_port();
    let deadline = kepu_intake::time::fmt(&(kepu_intake::time::now() + chrono::Duration::days(2)));
    let text = std::fs::read_to_string(&it.config)
        .unwrap()
        .replace(DEADLINE, &deadline)
        .replace("mode = \"off\"", "mode = \"dry-run\"");
    std::fs::write(
        &it.config,
        format!(
            "{text}\n[smtp]\nfrom = \"tsqsnkj@126.com\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let mailbox = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-mailbox");
    it.run_ok(&["import", mailbox.to_str().unwrap()]);
    let mut add = it
        .command(&["user", "add", CLERK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let (st, _, err) = wait_output(add, Duration::from_secs(60), &["user", "add"]);
    assert!(st.success(), "user add: {err}");
    let server = it
        .command(&["serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(it.dir().join("serve.stderr")).unwrap())
        .spawn()
        .expect("spawn kepu-intake serve");
    let _server = Killed(server);
    wait_http(port, "/healthz", "kepu-intake serve");
    let base = format!("http://127.0.0.1:{port}");
    let b = Browser::start();

    b.goto(&format!("{base}/roster"));
    b.wait_url(|u| u.contains("/login"));
    b.type_text(&b.find("input[name='user']"), CLERK);
    b.type_text(&b.find("input[name='password']"), PASSWORD);
    b.click(&b.find("form.login button[type='submit']"));
    b.wait_url(|u| u.ends_with("/roster"));
    // The roster: 丰南区 sent its district form and still owes two schools.
    let rows = b.table_rows(&b.find("table"));
    let fengnan = rows
        .iter()
        .find(|r| r[0] == "丰南区")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(fengnan[3].contains("试点学校"), "{fengnan:?}");
    let path = artifacts_dir().join("workbench-roster.png");
    assert!(b.screenshot(&path).starts_with(b"\x89PNG\r\n\x1a\n"));

    // The reminders: due drafts with their text; one approved and sent by its button.
    b.click(&b.find("a[href='/reminders']"));
    b.wait_url(|u| u.ends_with("/reminders"));
    let forms = b.find_all("form.send", None);
    assert!(!forms.is_empty(), "no reminder due on the page");
    let action = b.property(&forms[0], "action");
    let id: i64 = action
        .trim_end_matches("/send")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let path = artifacts_dir().join("workbench-reminders.png");
    assert!(b.screenshot(&path).starts_with(b"\x89PNG\r\n\x1a\n"));
    let button = b
        .find_all("button[type='submit']", Some(&forms[0]))
        .remove(0);
    b.click(&button);
    let t0 = Instant::now();
    let d = loop {
        let d = it.dump();
        let sent = d["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id && r["status"] == "sent");
        // `dump` reads the audit before it refreshes the reminders (two reads): wait
        // for both.
        let audited = d["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "remind");
        if (sent && audited) || t0.elapsed() > Duration::from_secs(30) {
            break d;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let r = d["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    assert_eq!(r["status"], "sent", "{r}");
    assert_eq!(r["approved_by"], CLERK);
    // Only the one clicked went out (dry run: its file).
    let sent = d["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "sent")
        .count();
    assert_eq!(sent, 1);
    assert!(it
        .data_dir
        .join("receipts-dry-run")
        .join(format!("reminder-{id}.eml"))
        .is_file());
    assert!(
        d["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "remind"
                && a["user"] == CLERK
                && a["target"].as_str().unwrap_or("").contains(&id.to_string())),
        "{}",
        d["audit"]
    );
    b.wait_url(|u| u.ends_with("/reminders"));
    let page = b.text(&b.find("main"));
    assert!(
        page.contains(CLERK),
        "the sent reminder shows who approved it"
    );
}
