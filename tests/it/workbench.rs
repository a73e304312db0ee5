//! A clerk's day on the web page (issue 18), in headless Chromium, BY CLICKING, while
//! `kepu-intake run` is still fetching a large mailbox from the test Dovecot: log in,
//! see the 待处理 queue, match a scan (its preview beside the form's fields), accept
//! an application, excuse a late one, read a question, approve its held receipt,
//! remove a junk message and restore it, send a refused receipt again, page and sort
//! the mail list, read the audit log. Each action is checked on the page and in
//! `dump --json`; screenshots go to `target/test-artifacts/workbench-*.png`.
//!
//! Needs chromium and chromium-driver like `browser.rs`; `KEPU_SKIP_BROWSER=1` skips.

use crate::browser::{free_port, Browser};
use crate::support::dovecot::Dovecot;
use crate::support::intake::{
    app, doc, docs, mail, match_fixtures, message, seed, Daemon, ImapTarget, Intake,
};
use crate::support::web::{add_user, first_column, log_in, serve, shot, submit};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const CLERK: &str = "xiaowang";
const PASSWORD: &str = "clerk-password-2022";
/// Filler mail behind the day's mail, so the daemon is still fetching during the day.
const FILLER: usize = 3000;
/// The daemon's wait before each chunk of 7 (the test config's `fetch_chunk`): the
/// filler takes at least 429 × 0.3 s ≈ 130 s to fetch, about three times the clerk's
/// day on a busy machine, while the daemon stays nearly idle.
const PER_CHUNK: Duration = Duration::from_millis(300);
/// The mail list pages by 50: the paging step needs more than two pages.
const PAGED: i64 = 101;
const LATE_FIXTURE: &str = "01.eml";

/// A Word file that is none of the call's forms.
fn not_a_form_docx() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", o).unwrap();
        z.write_all(
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        )
        .unwrap();
        z.start_file("word/document.xml", o).unwrap();
        z.write_all(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>代开各类发票，价格优惠。</w:t></w:r></w:p></w:body></w:document>"
                .as_bytes(),
        )
        .unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// Junk: an advertisement with a Word attachment that is no form.
fn junk_mail() -> Vec<u8> {
    let mut raw = "From: ad@spam.example\r\nTo: tsqsnkj@126.com\r\n\
Subject: =?UTF-8?B?5Luj5byA5Y+R56WoIOS8mOaDoOWkmuWkmg==?=\r\n\
Date: Mon, 18 Jul 2022 12:00:00 +0800\r\nMessage-ID: <junk-1@spam.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
代开各类发票，联系微信 xxx。\r\n--b1\r\n\
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
Content-Disposition: attachment; filename=\"price-list.docx\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
        .as_bytes()
        .to_vec();
    for line in crate::support::base64::encode(&not_a_form_docx())
        .as_bytes()
        .chunks(76)
    {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--b1--\r\n");
    raw
}

/// The largest message number recorded so far.
fn db_max_id(it: &Intake) -> i64 {
    let c = rusqlite::Connection::open(it.data_dir.join("intake.db")).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Messages (recorded, processed) so far, read straight from SQLite.
fn progress(it: &Intake) -> (i64, i64) {
    let Ok(c) = rusqlite::Connection::open(it.data_dir.join("intake.db")) else {
        return (0, 0);
    };
    let _ = c.busy_timeout(Duration::from_secs(10));
    c.query_row("SELECT count(*), count(category) FROM messages", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap_or((0, 0))
}

#[test]
fn clerk_day_in_headless_chromium_while_run_fetches() {
    if std::env::var("KEPU_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SKIP: KEPU_SKIP_BROWSER=1");
        return;
    }
    let t_start = Instant::now();
    // The mailbox: the day's mail first (the matching corpus, one of it late, a
    // question, a junk mail), then filler the daemon is still fetching all day.
    let d = Dovecot::start();
    for f in match_fixtures() {
        let raw = std::fs::read(&f).unwrap();
        let late = f.file_name().is_some_and(|n| n == LATE_FIXTURE);
        let date = if late {
            "21-Jul-2022 00:00:01 +0800"
        } else {
            "18-Jul-2022 10:32:05 +0800"
        };
        d.append("INBOX", &raw, date);
    }
    let question = "请问试点学校申报表需要教育局盖章吗？我们学校是唐山市第十一中学。";
    // The receiving server says the sender's domain failed DMARC: its receipt is held
    // until the clerk approves it.
    let mut ask = b"Authentication-Results: 126.com; spf=fail smtp.mailfrom=school.example; \
dmarc=fail header.from=school.example\r\n"
        .to_vec();
    ask.extend(mail(
        "<ask-1@school.example>",
        "咨询申报表盖章问题",
        "Mon, 18 Jul 2022 11:00:00 +0800",
        question,
    ));
    d.append("INBOX", &ask, "18-Jul-2022 11:00:05 +0800");
    d.append("INBOX", &junk_mail(), "18-Jul-2022 12:00:05 +0800");
    seed(&d, "INBOX", "day", FILLER);
    let total = match_fixtures().len() + 2 + FILLER;

    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let port = free_port();
    let mut cfg = std::fs::read_to_string(&it.config).unwrap().replace(
        "[receipts]\nmode = \"off\"\n",
        "[receipts]\nmode = \"dry-run\"\nauthserv_id = \"126.com\"\n",
    );
    // Seal detection without Tesseract: the unmatched scans stay for the clerk.
    cfg.push_str(&format!(
        "\n[tools]\nocr = false\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    std::fs::write(&it.config, cfg).unwrap();
    add_user(&it, CLERK, PASSWORD);
    let daemon = Daemon::start_throttled(&it, PER_CHUNK);
    let _server = serve(&it, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let b = Browser::start();

    // The day's mail processed (the filler still coming in behind it).
    let day_ids: Vec<String> = (1..=match_fixtures().len())
        .map(|i| format!("<match-{i:02}@corpus.example>"))
        .chain([
            "<ask-1@school.example>".into(),
            "<junk-1@spam.example>".into(),
        ])
        .collect();
    let t0 = Instant::now();
    let dump = loop {
        let dump = it.dump();
        let done = day_ids.iter().all(|id| {
            dump["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["message_id"] == id.as_str() && !m["category"].is_null())
        });
        if done {
            break dump;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            daemon.fail("the day's mail was not processed within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let at_first_action = progress(&it);

    // 1. Log in.
    let url = log_in(&b, &format!("{base}/queue"), CLERK, PASSWORD);
    assert!(url.ends_with("/queue"), "{url}");

    // 2. The queue: the unmatched scans, the question, the late application, the
    //    unknown junk, each with its action.
    let unmatched: Vec<i64> = docs(&dump)
        .iter()
        .filter(|x| x["kind"] == "scan" && x["scan_of"].is_null())
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert!(
        unmatched.len() >= 2,
        "no unmatched scans without OCR: {dump}"
    );
    let rows = b.table_rows(&b.find("#q-unmatched table"));
    let mut shown: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    shown.sort();
    assert_eq!(shown, unmatched, "the queue's unmatched scans");
    let ask = message(&dump, "<ask-1@school.example>");
    assert_eq!(ask["category"], "question");
    let q_rows = b.table_rows(&b.find("#q-questions table"));
    assert!(
        q_rows.iter().any(|r| r[0] == format!("#{}", ask["id"])),
        "{q_rows:?}"
    );
    let late_apps: Vec<i64> = dump["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["late"] == true)
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(
        !late_apps.is_empty(),
        "the late fixture made no late application"
    );
    let l_rows = b.table_rows(&b.find("#q-late table"));
    assert_eq!(l_rows.len(), late_apps.len(), "{l_rows:?}");
    shot(&b, "queue");

    // The chasing list leaves out anyone who sent a scan nobody has matched yet.
    b.click(&b.find("nav a[href='/missing-scan']"));
    b.wait_url(|u| u.ends_with("/missing-scan"));
    let scan_senders: Vec<String> = dump["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["documents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| unmatched.contains(&x["id"].as_i64().unwrap()))
        })
        .filter_map(|m| m["from"].as_str().map(str::to_lowercase))
        .collect();
    let chase = b.property(&b.find("textarea"), "value");
    let chased: Vec<&str> = chase.split("; ").filter(|e| !e.is_empty()).collect();
    assert!(
        chased
            .iter()
            .all(|e| !scan_senders.contains(&e.to_lowercase())),
        "chasing {chased:?} although they sent unmatched scans ({scan_senders:?})"
    );
    let held_back: Vec<&str> = dump["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "missing_scan")
        .filter_map(|a| a["email"].as_str())
        .filter(|e| scan_senders.contains(&e.to_lowercase()))
        .collect();
    if !held_back.is_empty() {
        let text = b.text(&b.find("#held-back"));
        assert!(held_back.iter().all(|e| text.contains(e)), "{text}");
    }
    b.click(&b.find("nav a[href='/queue']"));
    b.wait_url(|u| u.ends_with("/queue"));

    // 3. Match a scan: the image-only PDF when it is unmatched (its first page is
    //    rendered for the preview), else the first unmatched scan.
    let pdf = docs(&dump)
        .into_iter()
        .find(|x| x["name"] == "扫描件.pdf")
        .map(|x| x["id"].as_i64().unwrap());
    let scan = pdf
        .filter(|id| unmatched.contains(id))
        .unwrap_or(unmatched[0]);
    b.click(&b.find(&format!("#q-unmatched a[href='/scans/{scan}']")));
    b.wait_url(|u| u.ends_with(&format!("/scans/{scan}")));
    assert!(b.text(&b.find("#match-state")).contains("尚未匹配"));
    let img = b.find("img.scan");
    let t0 = Instant::now();
    let width = loop {
        let w = b
            .ok(
                "GET",
                &format!("/element/{img}/property/naturalWidth"),
                None,
            )
            .as_u64()
            .unwrap_or(0);
        if w > 0 || t0.elapsed() > Duration::from_secs(15) {
            break w;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        (100..=1000).contains(&width),
        "the scan's preview did not load (naturalWidth {width})"
    );
    // Pick the electronic form to compare with (the expected one for the PDF), look
    // at its fields beside the scan, then match.
    let want_e = docs(&dump)
        .into_iter()
        .find(|x| x["name"] == "附件2科普资源申报推荐表-唐山市科技馆.docx")
        .map(|x| x["id"].as_i64().unwrap())
        .filter(|_| Some(scan) == pdf);
    let show = match want_e {
        Some(e) => b.find(&format!("a.show[href='/scans/{scan}?e={e}']")),
        None => b.find("a.show"),
    };
    b.click(&show);
    let url = b.wait_url(|u| u.contains("?e="));
    let electronic: i64 = url.rsplit("e=").next().unwrap().parse().unwrap();
    let side = b.text(&b.find(".side"));
    assert!(
        side.contains("扫描件") && side.contains(&format!("电子版 #{electronic}")),
        "{side}"
    );
    shot(&b, "match");
    submit(&b, "form.match-this", |u| {
        u.contains(&format!("/scans/{scan}"))
    });
    let state = b.text(&b.find("#match-state"));
    assert!(
        state.contains(&format!("已匹配到电子版 #{electronic}")),
        "{state}"
    );
    let d1 = it.dump();
    assert_eq!(
        doc(&d1, scan)["scan_of"],
        electronic,
        "the match in the database"
    );
    let matched_app = d1["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["electronic"] == electronic)
        .expect("the electronic form's application")["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app(&d1, matched_app)["scan"], scan);
    assert_eq!(
        d1["audit"].as_array().unwrap().last().unwrap()["user"],
        CLERK
    );

    // A scan that belongs to no electronic form (its school never sent one) is said so
    // once, and leaves the queue.
    let orphan = docs(&d1)
        .into_iter()
        .find(|x| x["name"] == "附件4盖章.jpg" && x["scan_of"].is_null())
        .map(|x| x["id"].as_i64().unwrap())
        .expect("the orphan scan of the corpus, unmatched");
    b.goto(&format!("{base}/scans/{orphan}"));
    submit(&b, "form.match-none", |u| {
        u.ends_with(&format!("/scans/{orphan}"))
    });
    assert!(b
        .text(&b.find("#match-state"))
        .contains("已标记为不匹配任何电子版"));
    let d_none = it.dump();
    assert!(doc(&d_none, orphan)["scan_of"].is_null());
    let last = d_none["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["target"], format!("d{orphan}"));
    b.goto(&format!("{base}/queue"));
    assert!(
        b.find_all(&format!("#q-unmatched a[href='/scans/{orphan}']"), None)
            .is_empty(),
        "a scan declared unmatched is still in the queue"
    );
    b.goto(&format!("{base}/scans/{scan}"));

    // 4. Accept that application: from the match page to it, pick 已受理, save.
    b.click(&b.find(&format!("#match-state a[href='/apps/{matched_app}']")));
    b.wait_url(|u| u.ends_with(&format!("/apps/{matched_app}")));
    b.click(&b.find("form.review input[value='accepted']"));
    b.type_text(&b.find("form.review textarea[name='note']"), "材料齐全");
    submit(&b, "form.review", |u| {
        u.ends_with(&format!("/apps/{matched_app}"))
    });
    let st = b.text(&b.find("#review"));
    assert!(st.contains("当前：已受理") && st.contains(CLERK), "{st}");
    let d2 = it.dump();
    let review = &app(&d2, matched_app)["review"];
    assert_eq!(
        (
            review["state"].as_str(),
            review["by"].as_str(),
            review["note"].as_str()
        ),
        (Some("accepted"), Some(CLERK), Some("材料齐全"))
    );
    shot(&b, "review");

    // 5. Excuse a late one, from the queue's late section.
    b.click(&b.find("nav a[href='/queue']"));
    b.wait_url(|u| u.ends_with("/queue"));
    let late_form = b.find("#q-late form.excuse");
    let late_id: i64 = {
        let action = b.property(&late_form, "action");
        action
            .trim_end_matches("/late")
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    b.type_text(
        &b.find("#q-late form.excuse input[name='reason']"),
        "23:58 发出，服务器 00:00:01 收到",
    );
    submit(&b, "#q-late form.excuse", |u| {
        u.ends_with(&format!("/apps/{late_id}"))
    });
    let ls = b.text(&b.find("#late-state"));
    assert!(ls.contains("已准许") && ls.contains(CLERK), "{ls}");
    let d3 = it.dump();
    let ex = &app(&d3, late_id)["late_excused"];
    assert_eq!(ex["reason"], "23:58 发出，服务器 00:00:01 收到");
    assert_eq!(ex["by"], CLERK);
    assert_eq!(app(&d3, late_id)["late"], true, "the late flag stays");
    shot(&b, "late");

    // 6. The question, readable on its page.
    b.goto(&format!("{base}/messages/{}", ask["id"]));
    let body = b.text(&b.find("#body-text"));
    assert_eq!(body.trim(), question);
    shot(&b, "question");
    let facts = b.text(&b.find("table"));
    assert!(
        facts.contains("大小") && (facts.contains(" 字节") || facts.contains(" KB")),
        "{facts}"
    );
    assert!(facts.contains("2022-07-18 11:00"), "{facts}");
    // … and in `show m…`, with a readable time and size.
    let shown = it.run_ok(&["show", &format!("m{}", ask["id"])]);
    assert!(
        shown.contains("咨询内容") && shown.contains(question),
        "{shown}"
    );
    assert!(
        shown.contains("2022-07-18 11:00") && !shown.contains("T11:00"),
        "{shown}"
    );
    assert!(
        shown.contains(" KB，sha256") || shown.contains(" 字节，sha256"),
        "{shown}"
    );
    let json: Value =
        serde_json::from_str(&it.run_ok(&["show", &format!("m{}", ask["id"]), "--json"])).unwrap();
    assert_eq!(json["text"], question);

    // 7. Approve the question's held receipt, from the queue.
    assert_eq!(ask["receipt"]["status"], "held", "{ask}");
    b.click(&b.find("nav a[href='/queue']"));
    b.wait_url(|u| u.ends_with("/queue"));
    let approve = format!(
        "#q-receipts form[action='/messages/{}/receipt/approve']",
        ask["id"]
    );
    submit(&b, &approve, |u| {
        u.ends_with(&format!("/messages/{}", ask["id"]))
    });
    let d_ok = it.dump();
    let st = d_ok["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == ask["id"])
        .unwrap()["receipt"]["status"]
        .clone();
    assert!(
        st == "pending" || st == "previewed",
        "approved receipt: {st}"
    );
    let last = d_ok["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["user"].as_str(), last["action"].as_str()),
        (Some(CLERK), Some("receipt_approve"))
    );
    assert!(
        b.find_all("form.approve", None).is_empty(),
        "still offered for approval"
    );

    // 8. Remove the junk mail, then restore it. The queue shows its attachment as not
    //    recognised as any form; a search by content finds it too.
    let junk = message(&dump, "<junk-1@spam.example>")["id"]
        .as_i64()
        .unwrap();
    b.click(&b.find("nav a[href='/queue']"));
    b.wait_url(|u| u.ends_with("/queue"));
    let unknown = b.table_rows(&b.find("#q-unknown table"));
    assert!(
        unknown.iter().any(|r| r[1] == "price-list.docx"),
        "{unknown:?}"
    );
    assert!(!b
        .find_all(&format!("#q-unknown a[href='/messages/{junk}']"), None)
        .is_empty());
    b.goto(&format!("{base}/messages?q=%E5%8F%91%E7%A5%A8")); // q=发票
    b.click(&b.find(&format!("tbody a[href='/messages/{junk}']")));
    b.wait_url(|u| u.ends_with(&format!("/messages/{junk}")));
    b.type_text(&b.find("form.remove input[name='reason']"), "垃圾邮件");
    submit(&b, "form.remove", |u| {
        u.ends_with(&format!("/messages/{junk}"))
    });
    assert!(b.text(&b.find("#removed")).contains("已移除"));
    let d4 = it.dump();
    let m = d4["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == junk)
        .unwrap();
    assert_eq!(m["removed"]["by"], CLERK);
    assert_eq!(m["removed"]["reason"], "垃圾邮件");
    shot(&b, "removed");
    b.goto(&format!("{base}/messages"));
    assert!(
        b.find_all(&format!("tbody a[href='/messages/{junk}']"), None)
            .is_empty(),
        "a removed message is still listed"
    );
    b.goto(&format!("{base}/messages/{junk}"));
    submit(&b, "form.restore", |u| {
        u.ends_with(&format!("/messages/{junk}"))
    });
    assert!(b.find_all("#removed", None).is_empty());
    let d5 = it.dump();
    let m = d5["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == junk)
        .unwrap();
    assert!(m["removed"].is_null(), "restored: {m}");

    // 9. A receipt the SMTP server refused (set so in the database, as a failed send
    //    leaves it), sent again from the receipts page. The daemon drains the outbox
    //    only between catch-ups, so the receipt may still be pending here.
    let db = rusqlite::Connection::open(it.data_dir.join("intake.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let (rid, rmsg): (i64, i64) = db
        .query_row(
            "SELECT id, message FROM receipts WHERE status IN ('pending', 'previewed', 'sent') ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a receipt in the outbox");
    db.execute(
        "UPDATE receipts SET status = 'failed', reason = '550 mailbox unavailable' WHERE id = ?1",
        [rid],
    )
    .unwrap();
    b.click(&b.find("nav a[href='/receipts']"));
    b.wait_url(|u| u.ends_with("/receipts"));
    b.click(&b.find("a[href='/receipts?status=failed']"));
    b.wait_url(|u| u.contains("status=failed"));
    let rows = b.table_rows(&b.find("table"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0][6].contains("550 mailbox unavailable"), "{rows:?}");
    shot(&b, "receipts");
    submit(&b, "form.retry", |u| {
        u.ends_with(&format!("/messages/{rmsg}"))
    });
    let status: String = db
        .query_row("SELECT status FROM receipts WHERE id = ?1", [rid], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        status == "pending" || status == "previewed",
        "retried receipt: {status}"
    );
    let d6 = it.dump();
    let last = d6["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["user"].as_str(),
            last["action"].as_str(),
            last["target"].as_str()
        ),
        (
            Some(CLERK),
            Some("receipt_retry"),
            Some(format!("r{rid}").as_str())
        )
    );

    // 10. Paging and sorting: all mail, 50 a page; the next page; sorted by number,
    //     then reversed. The daemon keeps recording filler meanwhile (at the end of the
    //     default order, by number), so the count is read before and after the page.
    let t0 = Instant::now();
    while progress(&it).0 < PAGED && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = d6["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["removed"].is_null())
        .count()
        .max(progress(&it).0 as usize);
    assert!(
        before >= PAGED as usize,
        "{before} messages: too few to page"
    );
    b.click(&b.find("nav a[href='/messages']"));
    b.wait_url(|u| u.ends_with("/messages"));
    let after = progress(&it).0 as usize;
    let pager = b.text(&b.find("p.pager"));
    let shown: usize = pager
        .split_once("共 ")
        .and_then(|(_, r)| r.split_once(" 封"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {pager:?}"));
    assert!(
        (before..=after).contains(&shown),
        "{pager}: not between {before} and {after}"
    );
    assert!(
        pager.contains(&format!("共 {shown} 封，第 1 / {} 页", shown.div_ceil(50))),
        "{pager}"
    );
    let first = first_column(&b);
    assert_eq!(first.len(), 50);
    b.click(&b.find("p.pager a[rel='next']"));
    b.wait_url(|u| u.contains("page=2"));
    let second = first_column(&b);
    assert_eq!(second.len(), 50);
    assert!(
        second.iter().all(|id| !first.contains(id)),
        "page 2 repeats page 1"
    );
    let max_before = db_max_id(&it);
    b.click(&b.find("th a.sort[href*='sort=id']"));
    b.wait_url(|u| u.contains("sort=id") && !u.contains("dir=desc"));
    b.click(&b.find("th a.sort[href*='sort=id']"));
    b.wait_url(|u| u.contains("dir=desc"));
    let max_after = db_max_id(&it);
    let ids: Vec<i64> = first_column(&b)
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert!(
        (max_before..=max_after).contains(&ids[0]),
        "sorted by number, largest first: {} not in {max_before}..={max_after}",
        ids[0]
    );
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // 11. The audit log: every click above, under the clerk's name, newest first.
    b.click(&b.find("nav a[href='/audit']"));
    b.wait_url(|u| u.ends_with("/audit"));
    let rows = b.table_rows(&b.find("table"));
    let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == CLERK).collect();
    let actions: Vec<&str> = mine.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        actions,
        [
            "重发回执",
            "移除邮件",
            "移除邮件",
            "放行回执",
            "逾期处理",
            "审核",
            "匹配扫描件",
            "匹配扫描件"
        ],
        "{rows:?}"
    );
    assert!(
        mine.iter().all(|r| r[0].len() == 16 && !r[0].contains('T')),
        "times read 2022-07-16 14:03: {mine:?}"
    );
    shot(&b, "audit");

    // 12. A file the applicant handed over another way, uploaded to the question's
    //     message (the page's `import --into`): audited under the clerk, then read with
    //     the message's attachments once the running daemon processes it again.
    let upload = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms/expert_lo.docx");
    let ask_id = ask["id"].as_i64().unwrap();
    b.goto(&format!("{base}/messages/{ask_id}"));
    b.type_text(
        &b.find("form.import input[type='file']"),
        upload.to_str().unwrap(),
    );
    submit(&b, "form.import", |u| {
        u.ends_with(&format!("/messages/{ask_id}"))
    });
    let t0 = Instant::now();
    let (d5, doc) = loop {
        let d = it.dump();
        let doc = d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == ask_id)
            .and_then(|m| {
                m["documents"]
                    .as_array()?
                    .iter()
                    .find(|x| x["name"] == "expert_lo.docx")
                    .cloned()
            });
        match doc {
            Some(doc) => break (d, doc),
            None if t0.elapsed() < Duration::from_secs(120) => {
                std::thread::sleep(Duration::from_millis(500))
            }
            None => panic!("the uploaded file is not among m{ask_id}'s documents after 120 s"),
        }
    };
    assert_eq!(
        doc["sha256"].as_str().unwrap().len(),
        64,
        "the upload is in the raw store: {doc}"
    );
    assert!(
        d5["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "import"
                && a["user"] == CLERK
                && a["target"] == format!("m{ask_id}")
                && a["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("expert_lo.docx")),
        "{}",
        d5["audit"]
    );
    let left: Vec<_> = std::fs::read_dir(&it.data_dir)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with(".upload-")),
        "the upload's temporary directory is removed: {left:?}"
    );

    // All of it while the daemon was still fetching; it goes on without a restart.
    let at_end = progress(&it);
    eprintln!(
        "messages (recorded, processed): {at_first_action:?} at the first click, {at_end:?} at the last, of {total}; {:.1} s",
        t_start.elapsed().as_secs_f64()
    );
    assert!(
        (at_end.0 as usize) < total,
        "the daemon had fetched everything before the day ended: the test proves nothing"
    );
    drop(b);
    let t_stop = Instant::now();
    let (status, _, err) = daemon.terminate();
    assert!(status.success(), "daemon: {err}");
    eprintln!(
        "the daemon stopped (SIGTERM) in {:.1} s",
        t_stop.elapsed().as_secs_f64()
    );
}
