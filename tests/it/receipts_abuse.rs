//! Receipts tried as a stranger and as a new user would (issue 16), end to end: mail is
//! put into the test Dovecot, `kepu-intake run --once` fetches, processes and answers
//! it through the test SMTP server (aiosmtpd, TLS), and the tests read what that server
//! received, `dump --json`, `receipts` and `status`.

use crate::smtp_support::{ServerOpts, SmtpServer};
use crate::support::{by_message_id, s, Dovecot, ImapTarget, Intake};
use kepu_intake::db::Db;
use mail_parser::MessageParser;
use serde_json::Value;
use std::path::Path;

struct Setup {
    d: Dovecot,
    it: Intake,
    smtp: SmtpServer,
}

/// A Dovecot, an SMTP server and a config answering through it with `receipts`
/// (TOML lines of `[receipts]`); OCR on or off.
fn setup(receipts: &str, ocr: bool) -> Setup {
    let d = Dovecot::start();
    let smtp = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let mut cfg = std::fs::read_to_string(&it.config).unwrap();
    cfg = cfg.replace("[receipts]\nmode = \"off\"\n", "");
    cfg.push_str(&format!(
        "\n[receipts]\n{receipts}\nmax_per_minute = 0\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\nca_file = \"{}\"\n\
         from = \"tsqsnkj@126.com\"\n\n[tools]\nocr = {ocr}\nsoffice = \"/nonexistent/soffice\"\n",
        smtp.port,
        smtp.ca.as_ref().unwrap().display()
    ));
    std::fs::write(&it.config, cfg).unwrap();
    Setup { d, it, smtp }
}

impl Setup {
    fn push(&self, raw: &[u8]) {
        self.d.append("INBOX", raw, "18-Jul-2022 10:32:05 +0800");
    }

    fn run_once(&self) {
        self.it.run_ok(&["run", "--once"]);
    }

    /// (envelope recipients, subject, body) of every receipt the server got.
    fn received(&self) -> Vec<(Vec<String>, String, String)> {
        let rcpts = self.smtp.recipients();
        self.smtp
            .received()
            .iter()
            .zip(rcpts)
            .map(|(raw, to)| {
                let m = MessageParser::default().parse(raw).unwrap();
                (
                    to,
                    m.subject().unwrap_or_default().to_string(),
                    m.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
                )
            })
            .collect()
    }

    fn db(&self) -> Db {
        Db::open(&self.it.data_dir.join("intake.db")).unwrap()
    }

    fn set(&self, from: &str, to: &str) {
        let cfg = std::fs::read_to_string(&self.it.config).unwrap();
        assert!(cfg.contains(from), "{cfg}");
        std::fs::write(&self.it.config, cfg.replacen(from, to, 1)).unwrap();
    }
}

/// A plain-text mail; `headers` are extra header lines (each ending in CRLF).
fn plain(id: &str, from: &str, headers: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: tsqsnkj@126.com\r\nSubject: {subject}\r\n\
         Date: Mon, 18 Jul 2022 10:31:40 +0800\r\nMessage-ID: <{id}>\r\n{headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A mail with files attached: (name, content type, bytes).
fn with_files(id: &str, from: &str, subject: &str, files: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: tsqsnkj@126.com\r\nSubject: {subject}\r\n\
         Date: Mon, 18 Jul 2022 10:31:40 +0800\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n申报材料见附件\r\n"
    );
    for (name, ctype, bytes) in files {
        out.push_str(&format!(
            "--b\r\nContent-Type: {ctype}\r\n\
             Content-Disposition: attachment; filename*=utf-8''{}\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            pct(name),
            crate::hostile::base64(bytes)
        ));
    }
    out.push_str("--b--\r\n");
    out.into_bytes()
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel),
    )
    .unwrap()
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn receipt_of<'v>(msgs: &'v [Value], id: &str) -> (&'v str, &'v str) {
    let m = by_message_id(msgs, id);
    (s(&m["receipt"], "status"), s(&m["receipt"], "reason"))
}

#[test]
fn reply_to_elsewhere_and_links_never_leave_our_mailbox() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 0", true);
    // A stranger's "question" naming a victim in Reply-To, with a link in the subject.
    t.push(&plain(
        "lure@test",
        "Lure <lure@stranger.example>",
        "Reply-To: victim@victim.example\r\n",
        "请问收到了吗？ 领奖 http://evil.example/x",
        "请问截止日期是哪天？详见 http://evil.example/x 或 www.evil.example",
    ));
    // A submission whose file name carries a link; Reply-To is the sender in other case.
    t.push(&with_files(
        "named@test",
        "科技馆 <office@museum.example>",
        "申报材料 http://evil.example/y",
        &[(
            "资源表www.evil.example.docx",
            DOCX,
            fixture("forms/resource_pydocx.docx"),
        )],
    ));
    t.run_once();
    let got = t.received();
    let mut to: Vec<String> = got.iter().flat_map(|(r, _, _)| r.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        vec!["lure@stranger.example", "office@museum.example"],
        "receipts go to From only"
    );
    for (_, subject, body) in &got {
        for bad in [
            "evil",
            "http",
            "www.",
            "领奖",
            "victim",
            "收到了吗",
            "截止日期是哪天",
        ] {
            assert!(
                !subject.contains(bad) && !body.contains(bad),
                "receipt repeats {bad:?}:\n{subject}\n{body}"
            );
        }
    }
    let museum = got
        .iter()
        .find(|(r, _, _)| r[0] == "office@museum.example")
        .unwrap();
    assert_eq!(
        museum.1,
        "回执：已收到「唐山市科技馆」的申报材料（科普资源申报推荐表）"
    );
    assert!(
        museum
            .2
            .contains("「唐山市科技馆」，电子版（文件：资源表….docx）"),
        "{}",
        museum.2
    );
}

#[test]
fn a_plus_tag_flood_gets_one_receipt_per_mailbox_window() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 600", true);
    let senders = [
        "x+1@flood.example",
        "x+2@flood.example",
        "X+3@Flood.Example",
        "x@FLOOD.example",
        "x+zz@flood.example",
    ];
    for (i, from) in senders.iter().enumerate() {
        t.push(&plain(
            &format!("flood{i}@test"),
            from,
            "",
            &format!("请问{i}？"),
            "请问怎么申报？",
        ));
    }
    t.run_once();
    assert_eq!(t.received().len(), 1, "one mailbox, one receipt");
    let msgs = t.it.messages();
    let statuses: Vec<(&str, &str)> = (0..senders.len())
        .map(|i| receipt_of(&msgs, &format!("flood{i}@test")))
        .collect();
    assert_eq!(statuses[0].0, "sent", "{statuses:?}");
    for (st, why) in &statuses[1..] {
        assert_eq!(*st, "suppressed", "{statuses:?}");
        assert!(why.starts_with("folded_into:"), "{statuses:?}");
    }
    // One more after the receipt went out waits for the window (never dropped).
    t.push(&plain(
        "flood9@test",
        "x+9@flood.example",
        "",
        "请问？",
        "请问？",
    ));
    t.run_once();
    assert_eq!(t.received().len(), 1);
    let msgs = t.it.messages();
    let (st, why) = receipt_of(&msgs, "flood9@test");
    assert_eq!(st, "pending");
    assert!(why.starts_with("waiting:sender_window:"), "{why}");
    let status = t.it.run_ok(&["status"]);
    assert!(
        status.contains("回执等待中 1 封") && status.contains("同一邮箱短时间内只发一封回执 1"),
        "{status}"
    );
}

#[test]
fn forged_authentication_results_are_ignored_and_failures_are_held() {
    let t = setup(
        "mode = \"send\"\nper_sender_window_s = 0\nauthserv_id = \"126.com\"",
        true,
    );
    // Our server's header (topmost) says DMARC failed; a forged "pass" sits below it.
    t.push(&plain(
        "spoof@test",
        "银行 <service@bank.example>",
        "Authentication-Results: 126.com; spf=fail smtp.mailfrom=bank.example; dkim=none; dmarc=fail (p=none) header.from=bank.example\r\n\
         Authentication-Results: 126.com; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example\r\n",
        "请问？",
        "请问怎么申报？",
    ));
    // A failure claimed by another server is a forgery: ignored, the receipt goes out.
    t.push(&plain(
        "other-server@test",
        "teacher@school.example",
        "Authentication-Results: mx.evil.example; dmarc=fail header.from=school.example\r\n",
        "请问？",
        "请问怎么申报？",
    ));
    // Our server says pass; a forged failure below it changes nothing.
    t.push(&plain(
        "passed@test",
        "head@school3.example",
        "Authentication-Results: 126.com; spf=pass smtp.mailfrom=school3.example; dkim=pass header.d=school3.example; dmarc=pass header.from=school3.example\r\n\
         Authentication-Results: 126.com; dmarc=fail header.from=school3.example\r\n",
        "请问？",
        "请问怎么申报？",
    ));
    t.run_once();
    let mut to: Vec<String> = t.received().into_iter().flat_map(|(r, _, _)| r).collect();
    to.sort();
    assert_eq!(to, vec!["head@school3.example", "teacher@school.example"]);
    let msgs = t.it.messages();
    let (st, why) = receipt_of(&msgs, "spoof@test");
    assert_eq!(st, "held");
    assert!(
        why.starts_with("unauthenticated: spf=fail dmarc=fail"),
        "{why}"
    );

    let id = t.db().receipts_with_status(&["held"]).unwrap()[0].id;
    let listed = t.it.run_ok(&["receipts"]);
    assert!(
        listed.contains(&format!("{id}\t待审核 held\tservice@bank.example"))
            && listed.contains("receipts --approve ID"),
        "{listed}"
    );
    assert!(t.it.run_ok(&["status"]).contains("回执待审核 1 封"));
    let (ok, _, err) = t.it.run(&["receipts", "--retry", &id.to_string()]);
    assert!(!ok.success() && err.contains("--approve"), "{err}");
    // Held receipts stay held across runs.
    t.run_once();
    assert_eq!(t.received().len(), 2);

    let out =
        t.it.run_ok(&["receipts", "--approve", &id.to_string(), "--by", "wang"]);
    assert!(out.contains("wang"), "{out}");
    let row = t.db().receipt(id).unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.approved_by.as_deref()),
        ("pending", Some("wang"))
    );
    assert!(row.approved_at.is_some());
    let (again, _, err) = t.it.run(&["receipts", "--approve", &id.to_string()]);
    assert!(!again.success() && err.contains("not held"), "{err}");
    t.run_once();
    let got = t.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].0, vec!["service@bank.example".to_string()]);
}

#[test]
fn dry_run_previews_then_send_sends_each_once() {
    let t = setup("mode = \"dry-run\"\nper_sender_window_s = 600", true);
    t.push(&plain(
        "d1@test",
        "a@school.example",
        "",
        "请问？",
        "请问？",
    ));
    t.push(&plain(
        "d2@test",
        "b@school.example",
        "",
        "请问？",
        "请问？",
    ));
    t.run_once();
    assert!(t.received().is_empty(), "a dry run sends nothing");
    let msgs = t.it.messages();
    for id in ["d1@test", "d2@test"] {
        assert_eq!(receipt_of(&msgs, id).0, "previewed");
    }
    let previews = std::fs::read_dir(t.it.data_dir.join("receipts-dry-run"))
        .unwrap()
        .count();
    assert_eq!(previews, 2);
    // The trial ends: everyone who wrote during it gets their receipt, once.
    t.set("mode = \"dry-run\"", "mode = \"send\"");
    t.run_once();
    t.run_once();
    let mut to: Vec<String> = t.received().into_iter().flat_map(|(r, _, _)| r).collect();
    to.sort();
    assert_eq!(to, vec!["a@school.example", "b@school.example"]);
    let msgs = t.it.messages();
    for id in ["d1@test", "d2@test"] {
        assert_eq!(receipt_of(&msgs, id).0, "sent");
    }
}

#[test]
fn a_stamped_scan_alone_without_ocr_is_acknowledged_not_sent_back() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 0", false);
    t.push(&with_files(
        "scan-alone@test",
        "office@museum.example",
        "盖章扫描件",
        &[("盖章件.png", "image/png", fixture("scans/stamped_scan.png"))],
    ));
    t.run_once();
    let got = t.received();
    assert_eq!(got.len(), 1);
    let body = &got[0].2;
    assert!(
        body.contains("以下扫描件已收到，工作人员将核对：盖章件.png"),
        "{body}"
    );
    assert!(!body.contains("重新发送"), "{body}");
}

#[test]
fn a_complete_application_without_ocr_never_asks_for_a_resend() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 0", false);
    t.push(&with_files(
        "complete@test",
        "office@museum.example",
        "科技馆申报",
        &[
            (
                "科普资源申报推荐表.docx",
                DOCX,
                fixture("forms/resource_pydocx.docx"),
            ),
            ("盖章件.png", "image/png", fixture("scans/stamped_scan.png")),
        ],
    ));
    t.run_once();
    let apps = t.it.dump()["applications"].clone();
    assert_eq!(s(&apps[0], "status"), "complete", "{apps:#}");
    let got = t.received();
    assert_eq!(got.len(), 1);
    let body = &got[0].2;
    assert!(body.contains("材料齐全"), "{body}");
    assert!(
        !body.contains("重新发送") && !body.contains("请补交"),
        "{body}"
    );
}

#[test]
fn the_daily_cap_makes_receipts_wait_and_status_says_so() {
    let t = setup(
        "mode = \"send\"\nper_sender_window_s = 0\nmax_per_day = 2",
        true,
    );
    for i in 0..4 {
        t.push(&plain(
            &format!("day{i}@test"),
            &format!("t{i}@school{i}.example"),
            "",
            "请问？",
            "请问？",
        ));
    }
    t.run_once();
    t.run_once();
    assert_eq!(t.received().len(), 2);
    let msgs = t.it.messages();
    let waiting: Vec<&str> = (0..4)
        .map(|i| receipt_of(&msgs, &format!("day{i}@test")))
        .filter(|(st, _)| *st == "pending")
        .map(|(_, why)| why)
        .collect();
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(waiting.iter().all(|w| w.starts_with("waiting:daily_cap:")));
    let status = t.it.run_ok(&["status"]);
    assert!(
        status.contains("回执等待中 2 封") && status.contains("已达每日回执上限，次日发送 2"),
        "{status}"
    );
}

#[test]
fn the_per_domain_cap_makes_receipts_wait() {
    let t = setup(
        "mode = \"send\"\nper_sender_window_s = 0\nmax_per_domain_per_hour = 1",
        true,
    );
    for (i, from) in ["a@qq.example", "b@QQ.example", "c@other.example"]
        .iter()
        .enumerate()
    {
        t.push(&plain(
            &format!("dom{i}@test"),
            from,
            "",
            "请问？",
            "请问？",
        ));
    }
    t.run_once();
    let mut to: Vec<String> = t.received().into_iter().flat_map(|(r, _, _)| r).collect();
    to.sort();
    assert_eq!(to, vec!["a@qq.example", "c@other.example"]);
    let msgs = t.it.messages();
    let (st, why) = receipt_of(&msgs, "dom1@test");
    assert_eq!(st, "pending");
    assert!(
        why.starts_with("waiting:domain_cap:") && why.contains("qq.example"),
        "{why}"
    );
    assert!(t
        .it
        .run_ok(&["status"])
        .contains("已达同一邮箱域名每小时回执上限 1"));
}

#[test]
fn mail_that_is_not_a_submission_stays_unanswered_with_a_reason() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 0", true);
    let cases = [
        (
            "bulk@test",
            "news@list.example",
            "List-Id: <kepu.list.example>\r\nPrecedence: bulk\r\n",
            "robot",
        ),
        (
            "vacation@test",
            "teacher@school.example",
            "Auto-Submitted: auto-replied\r\n",
            "robot",
        ),
        (
            "bounce@test",
            "MAILER-DAEMON@mx.school.example",
            "Return-Path: <>\r\n",
            "",
        ),
        (
            "spam@test",
            "promo@spam.example",
            "X-Spam-Flag: YES\r\n",
            "robot",
        ),
    ];
    for (id, from, headers, _) in &cases {
        t.push(&plain(id, from, headers, "请问申报？", "请问申报？"));
    }
    t.run_once();
    assert!(t.received().is_empty(), "{:?}", t.received());
    let msgs = t.it.messages();
    for (id, _, _, _) in &cases {
        let (st, why) = receipt_of(&msgs, id);
        assert_eq!(st, "suppressed", "{id}");
        assert!(!why.is_empty(), "{id}: a reason is recorded");
    }
}

#[test]
fn check_says_how_senders_are_authenticated() {
    let t = setup(
        "mode = \"dry-run\"\nper_sender_window_s = 0\nauthserv_id = \"126.com\"",
        true,
    );
    let (_, out, _) = t.it.run(&["check"]);
    let line = out
        .lines()
        .find(|l| l.contains("回执发件人认证"))
        .unwrap_or_else(|| panic!("no authentication line in check:\n{out}"));
    assert!(
        line.contains("authserv-id = 126.com") && line.contains("不自行验证 DKIM"),
        "{line}"
    );
}

/// The call's 附件2 as the notice circulates it: the fixture with every answer removed
/// and every box unticked.
fn blank_resource_form() -> Vec<u8> {
    use std::io::Read;
    let docx = fixture("forms/resource_pydocx.docx");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    z.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    for answer in [
        "唐山市科技馆",
        "李娜",
        "0315-5912345",
        "tskjg@126.com",
        "唐山市路南区新华西道100号",
        "2019年以来举办青少年科普讲座120场，接待中小学生参观3.2万人次。",
        "与市教育局联合开展“科技馆进校园”活动。",
        "面向全市小学提供“科学实践课”课程包和流动展览。",
    ] {
        assert!(xml.contains(answer), "{answer}");
        xml = xml.replace(answer, "");
    }
    crate::forms::docx_with(xml.replace('√', "□").as_bytes())
}

#[test]
fn the_notice_forwarded_to_us_is_not_answered() {
    let t = setup("mode = \"send\"\nper_sender_window_s = 0", true);
    let mut raw = with_files(
        "notice@test",
        "区教育局 <office@bureau.example>",
        "转发：关于利用科普资源助推“双减”的通知",
        &[("附件2 科普资源申报推荐表.docx", DOCX, blank_resource_form())],
    );
    // Sent to the schools, our address in Cc.
    let text = String::from_utf8(raw).unwrap().replacen(
        "To: tsqsnkj@126.com\r\n",
        "To: schools@bureau.example\r\nCc: tsqsnkj@126.com\r\n",
        1,
    );
    raw = text.into_bytes();
    t.push(&raw);
    t.run_once();
    let msgs = t.it.messages();
    let m = by_message_id(&msgs, "notice@test");
    assert_eq!(
        s(&m["documents"][0], "form"),
        "resource",
        "the blank form is recognised: {m:#}"
    );
    let (st, why) = receipt_of(&msgs, "notice@test");
    assert_eq!(st, "suppressed");
    assert!(why.starts_with("notice_forward:"), "{why}");
    assert!(t.received().is_empty());
}
