//! The roster and reminders pages in headless Chromium: the sample mailbox (and a
//! school's form whose address names no district, so no roster unit is named)
//! imported with the deadline two days ahead (so
//! reminders are due, in dry-run), `run` waiting on an empty test Dovecot. A clerk logs
//! in, reads the roster, decides the unsure application's unit with the page's form,
//! approves one reminder with its button — the page answers at once, the daemon's
//! outbox sends it; checked in `dump --json` (sent, approved by the clerk, every
//! approval with its audit row in the same dump) and the daemon's log.
//! Screenshots `target/test-artifacts/workbench-roster.png`,
//! `workbench-roster-assigned.png`, `workbench-reminders.png`.

use crate::browser::{free_port, Browser};
use crate::support::dovecot::Dovecot;
use crate::support::intake::{Daemon, ImapTarget, Intake, DEADLINE};
use crate::support::web::{add_user, log_in, serve, shot};
use serde_json::Value;
use std::time::{Duration, Instant};

const CLERK: &str = "xiaoli";
const PASSWORD: &str = "clerk-password-2022";

#[test]
fn roster_and_reminders_pages_send_one_reminder() {
    if std::env::var("KEPU_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SKIP: KEPU_SKIP_BROWSER=1");
        return;
    }
    let dovecot = Dovecot::start();
    let it = Intake::new(Some(ImapTarget::implicit(&dovecot)));
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
    let unnamed = it.data_dir.with_file_name("no-district.eml");
    std::fs::write(&unnamed, school_without_district()).unwrap();
    it.run_ok(&[
        "import",
        mailbox.to_str().unwrap(),
        unnamed.to_str().unwrap(),
    ]);
    add_user(&it, CLERK, PASSWORD);
    let daemon = Daemon::start(&it);
    let _server = serve(&it, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let b = Browser::start();

    let url = log_in(&b, &format!("{base}/roster"), CLERK, PASSWORD);
    assert!(url.ends_with("/roster"), "{url}");
    // The roster: 丰南区 sent its district form and still owes two schools.
    let rows = b.table_rows(&b.find("table"));
    let fengnan = rows
        .iter()
        .find(|r| r[0] == "丰南区")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(fengnan[3].contains("试点学校"), "{fengnan:?}");
    shot(&b, "roster");

    // The unsure application: its unit decided with the page's form, not the CLI.
    let forms = b.find_all("form.assign", None);
    assert!(!forms.is_empty(), "no application waits for attribution");
    let app: i64 = b
        .property(&forms[0], "action")
        .trim_end_matches("/roster")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let options: Vec<String> = b
        .find_all("option", Some(&forms[0]))
        .iter()
        .map(|o| b.property(o, "value"))
        .collect();
    assert!(
        options.len() > 2 && options.last().unwrap() == "-",
        "{options:?}"
    );
    // The second candidate: not what the page chose by itself.
    let unit = options[1].clone();
    b.click(&b.find_all("option", Some(&forms[0]))[1]);
    let button = b
        .find_all("button[type='submit']", Some(&forms[0]))
        .remove(0);
    b.click(&button);
    let t0 = Instant::now();
    while b
        .find_all(&format!("form.assign[action$='/apps/{app}/roster']"), None)
        .len()
        == 1
        && t0.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    b.wait_url(|u| u.ends_with("/roster"));
    assert!(
        b.find_all(&format!("form.assign[action$='/apps/{app}/roster']"), None)
            .is_empty(),
        "a{app} still waits for attribution: {}",
        b.title()
    );
    shot(&b, "roster-assigned");
    let v: Value = serde_json::from_str(&it.run_ok(&["roster", "--json"])).unwrap();
    let holds = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == unit.as_str())
        .unwrap_or_else(|| panic!("no unit {unit}: {v}"));
    assert!(
        holds["applications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == app),
        "{unit} does not hold a{app}: {holds}"
    );
    let d = it.dump();
    assert!(
        d["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "roster"
                && a["user"] == CLERK
                && a["target"] == format!("a{app}")
                && a["detail"].as_str().unwrap_or("").contains(&unit)),
        "{}",
        d["audit"]
    );

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
    shot(&b, "reminders");
    let button = b
        .find_all("button[type='submit']", Some(&forms[0]))
        .remove(0);
    b.click(&button);
    // The page answers at once (the SMTP session is the daemon's): back on the list,
    // the reminder approved, under the clerk's name.
    let t_click = Instant::now();
    b.wait_url(|u| u.ends_with("/reminders"));
    let t0 = Instant::now();
    while b
        .find_all(&format!("form.send[action$='/reminders/{id}/send']"), None)
        .len()
        == 1
        && t0.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "the page answered the approval after {:?}",
        t_click.elapsed()
    );
    let row = reminder_row(&b, id);
    assert!(
        (row[1].contains("已批准待发送") || row[1].contains("已发送")) && row[1].contains(CLERK),
        "{row:?}"
    );
    // The daemon sends it within seconds. Every dump along the way shows each approved
    // reminder together with its audit row (one snapshot).
    let t0 = Instant::now();
    let d = loop {
        let d = it.dump();
        for r in d["reminders"].as_array().unwrap() {
            if r["approved_by"].is_string() {
                let target = format!("n{}", r["id"]);
                assert!(
                    d["audit"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["action"] == "remind" && a["target"] == target.as_str()),
                    "reminder {} is {} without its audit row: {}",
                    r["id"],
                    r["status"],
                    d["audit"]
                );
            }
        }
        let sent = d["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id && r["status"] == "sent");
        if sent || t0.elapsed() > Duration::from_secs(30) {
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
                && a["target"] == format!("n{id}")),
        "{}",
        d["audit"]
    );
    b.goto(&format!("{base}/reminders"));
    let row = reminder_row(&b, id);
    assert!(
        row[1].contains("已发送") && row[1].contains(CLERK) && row[1].contains("发出："),
        "the sent reminder shows its state and who approved it: {row:?}"
    );
    shot(&b, "reminders-sent");
    let (status, _, err) = daemon.terminate();
    assert!(status.success(), "{err}");
    let plain = without_colours(&err);
    assert!(
        plain
            .lines()
            .any(|l| l.contains("remind::outbox") && l.contains("previewed=1")),
        "the daemon, not the page, sent it: {plain}"
    );
}

/// The reminders page's row of reminder `id`.
fn reminder_row(b: &Browser, id: i64) -> Vec<String> {
    b.table_rows(&b.find("table"))
        .into_iter()
        .find(|r| r[0] == id.to_string())
        .unwrap_or_else(|| panic!("no reminder {id} on the page"))
}

/// The log without its terminal colour codes (`ESC [ … m`).
fn without_colours(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A mail from a new sender carrying the golden school form as a school would fill it
/// without its district: 唐山市实验中学, 通讯地址 唐山市建设北路56号. Neither the name,
/// the address nor the sender tells the roster which district it belongs to.
fn school_without_district() -> Vec<u8> {
    use std::io::{Read, Write};
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms/school_missing.docx");
    let mut src = zip::ZipArchive::new(std::fs::File::open(golden).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "word/document.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            assert!(xml.contains("唐山市路北区建设北路56号") && xml.contains("唐山市第一中学"));
            bytes = xml
                .replace("唐山市路北区建设北路56号", "唐山市建设北路56号")
                .replace("唐山市第一中学", "唐山市实验中学")
                .into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    let docx = out.finish().unwrap().into_inner();
    let mut mail = String::from(
        "From: lw2022@163.com\r\nTo: tsqsnkj@126.com\r\nSubject: =?UTF-8?B?6K+V54K55a2m5qCh55Sz5oql?=\r\n\
         Date: Mon, 18 Jul 2022 10:00:00 +0800\r\nMessage-ID: <no-district@school.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n附件是申报表。\r\n\
         --b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
         Content-Disposition: attachment; filename=\"form.docx\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in kepu_testkit::base64::encode(&docx).as_bytes().chunks(76) {
        mail.push_str(std::str::from_utf8(line).unwrap());
        mail.push_str("\r\n");
    }
    mail.push_str("--b--\r\n");
    mail.into_bytes()
}
