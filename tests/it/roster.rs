//! Roster and reminders (issue 19) on a fixture intake: a unit complete (丰南区), one
//! partial (路北区), one silent (遵化市, with an address in the call file); attribution
//! by names, by the sender's history (asked, then decided by an operator and kept by
//! content); reminders due → approved (with who) → sent once through the real test
//! SMTP server, none twice, none for an application that became complete, none to
//! robots, never quoting what an applicant wrote.

use crate::smtp_support::{ServerOpts, SmtpServer};
use crate::support::dump;
use kepu_intake::call::{Call, BUILTIN_TEXT};
use kepu_intake::config::{Config, ReceiptMode, TlsMode};
use kepu_intake::db::office::NewAudit;
use kepu_intake::db::Db;
use kepu_intake::domain::{AppStatus, AuditAction, ReceiptStatus};
use kepu_intake::model::{FieldValue, Fields};
use kepu_intake::office::approve_reminders;
use kepu_intake::remind::{send, ReminderReason, ReminderStatus};
use kepu_intake::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage, DumpReceipt};
use kepu_intake::roster::{self, attribute::AskReason, Assignment};
use tokio_util::sync::CancellationToken;

/// Words an applicant wrote that no reminder may repeat.
const APPLICANT_MARK: &str = "李四同志";

fn doc(id: i64, kind: &str, form: &str, f: Fields) -> DumpDocument {
    dump::document(id, kind.parse().unwrap(), Some(form), f)
}

fn message(
    id: i64,
    from: &str,
    category: &str,
    receipt_reason: Option<&str>,
    docs: Vec<DumpDocument>,
) -> DumpMessage {
    DumpMessage {
        message_id: Some(format!("<m{id}@x.example>")),
        received_at: format!("2022-07-1{}T10:00:00+08:00", id % 10),
        receipt: DumpReceipt {
            status: ReceiptStatus::Sent,
            reason: receipt_reason.map(Into::into),
        },
        ..dump::message(id, from, category.parse().unwrap(), docs)
    }
}

/// Adds application `id` (form, applicant, status) with its electronic document in
/// message `id` from `from`.
pub(crate) fn add(
    d: &mut Dump,
    id: i64,
    form: &str,
    applicant: &str,
    status: &str,
    from: &str,
    extra: &[(&str, &str)],
) {
    let key = if form == "pilot_district" {
        "申报单位"
    } else {
        "申报学校"
    };
    let mut f = dump::fields(extra);
    f.insert(key.into(), FieldValue::Text(applicant.into()));
    f.insert("联系人".into(), FieldValue::Text(APPLICANT_MARK.into()));
    let category = if from.starts_with("noreply") {
        "autoreply"
    } else {
        "submission"
    };
    let reason = from
        .starts_with("noreply")
        .then_some("robot_sender: noreply");
    d.messages.push(message(
        id,
        from,
        category,
        reason,
        vec![doc(id * 10, "electronic", form, f)],
    ));
    d.applications.push(DumpApplication {
        email: Some(from.into()),
        received_at: Some(format!("2022-07-1{}T10:00:00+08:00", id % 10)),
        ..dump::application(
            id,
            form,
            applicant,
            status.parse().unwrap(),
            Some(id * 10),
            None,
        )
    });
}

const FN: &str = "jyj@fengnan.example";
const LB: &str = "kjk@lubei.example";

pub(crate) fn corpus() -> Dump {
    let mut d = Dump::default();
    add(
        &mut d,
        1,
        "pilot_district",
        "丰南区教育局",
        "complete",
        FN,
        &[],
    );
    add(
        &mut d,
        2,
        "pilot_school",
        "唐山市丰南区第一中学",
        "complete",
        FN,
        &[],
    );
    add(
        &mut d,
        3,
        "pilot_school",
        "实验小学",
        "complete",
        FN,
        &[("通讯地址", "唐山市丰南区新华路1号")],
    );
    add(
        &mut d,
        4,
        "pilot_district",
        "路北区教育局",
        "complete",
        LB,
        &[],
    );
    add(
        &mut d,
        5,
        "pilot_school",
        "路北区第二小学",
        "missing_scan",
        LB,
        &[],
    );
    // Names no unit; its sender wrote for 路北区 before: asked, not guessed.
    add(
        &mut d,
        6,
        "pilot_school",
        "第六十八中学",
        "missing_electronic",
        LB,
        &[],
    );
    // A robot's "application": never reminded.
    add(
        &mut d,
        7,
        "pilot_school",
        "玉田县第一中学",
        "missing_scan",
        "noreply@yutian.example",
        &[],
    );
    d
}

/// The built-in call with 遵化市's address and a deadline two days from now.
pub(crate) fn call() -> Call {
    let deadline = kepu_intake::time::fmt(&(kepu_intake::time::now() + chrono::Duration::days(2)));
    let text = BUILTIN_TEXT
        .replace(
            "unit = \"遵化市\"\n",
            "unit = \"遵化市\"\nemail = \"office@zunhua.example\"\n",
        )
        .replace(
            "deadline = \"2022-07-20T23:59:59+08:00\"",
            &format!("deadline = \"{deadline}\""),
        );
    Call::parse("test-call.toml", &text).unwrap()
}

fn unit<'a>(r: &'a roster::Roster, name: &str) -> &'a roster::UnitRow {
    r.units.iter().find(|u| u.unit == name).unwrap()
}

#[test]
fn roster_attributes_by_name_and_checks_the_notices_rules() {
    let call = call();
    let d = corpus();
    let r = roster::build(&call, &d, &[]);
    assert_eq!(r.units.len(), 18, "every county-level unit and zone");
    let fnr = unit(&r, "丰南区");
    assert_eq!(fnr.applications, vec![1, 2, 3]);
    assert!(fnr.missing.is_empty() && fnr.done, "{fnr:?}");
    let lb = unit(&r, "路北区");
    assert_eq!(lb.applications, vec![4, 5]);
    assert_eq!(lb.missing, vec!["pilot_school:2"]);
    let texts: Vec<&str> = lb.expects.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, vec!["试点县区 1/1", "试点学校 1/2"]);
    assert_eq!(lb.incomplete, vec![5]);
    assert_eq!(
        lb.last_contact.as_deref(),
        Some("2022-07-16T10:00:00+08:00")
    );
    let zh = unit(&r, "遵化市");
    assert!(zh.applications.is_empty());
    assert_eq!(zh.missing, vec!["pilot_district", "pilot_school:2"]);
    // 第六十八中学 names no unit: asked, with the sender's unit as the candidate.
    assert_eq!(r.unsure.len(), 1, "{:?}", r.unsure);
    assert_eq!(r.unsure[0].application, 6);
    assert_eq!(r.unsure[0].reason, AskReason::AddressOnly);
    assert_eq!(r.unsure[0].candidates, vec!["路北区"]);
    assert_eq!(r.unit_of(6), None, "never a silent guess");

    // The operator's decision, keyed by content: the same application renumbered
    // (after reprocess) is still attributed.
    let decision = Assignment {
        form: "pilot_school".into(),
        applicant_key: roster::attribute::norm("第六十八中学"),
        unit: Some("路北区".into()),
        by: "wang".into(),
        at: "2022-07-18T09:00:00+08:00".into(),
    };
    let mut renumbered = d.clone();
    renumbered.applications.iter_mut().for_each(|a| a.id += 100);
    let r2 = roster::build(&call, &renumbered, &[decision]);
    assert!(r2.unsure.is_empty());
    assert_eq!(r2.unit_of(106), Some("路北区"));
    assert!(unit(&r2, "路北区").missing.is_empty(), "two schools now");
}

#[test]
fn an_operators_attribution_is_stored_and_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("intake.db")).unwrap();
    let a = Assignment {
        form: "pilot_school".into(),
        applicant_key: "x".into(),
        unit: Some("路北区".into()),
        by: "wang".into(),
        at: "t1".into(),
    };
    let audit = |user: &str, detail: &str| NewAudit {
        user: user.into(),
        action: AuditAction::Roster,
        target: "a1".into(),
        detail: detail.into(),
    };
    db.roster_assign(&a, audit("wang", "x → 路北区")).unwrap();
    db.roster_assign(
        &Assignment {
            unit: None,
            by: "li".into(),
            ..a.clone()
        },
        audit("li", "x → 不属于名单单位"),
    )
    .unwrap();
    let got = db.roster_assignments().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].unit.as_deref(), got[0].by.as_str()), (None, "li"));
    // Each decision committed with its audit row.
    let log = db.audit_log().unwrap();
    let users: Vec<&str> = log.iter().map(|x| x.user.as_str()).collect();
    assert_eq!(users, ["wang", "li"]);
    assert!(log.iter().all(|x| x.action == AuditAction::Roster));
}

fn cfg(data: &std::path::Path, server: &SmtpServer) -> Config {
    let mut c = Config::default();
    c.storage.data_dir = data.to_path_buf();
    c.receipts.mode = ReceiptMode::Send;
    c.receipts.max_per_minute = 0;
    c.smtp.from = "tsqsnkj@126.com".into();
    c.smtp.host = "127.0.0.1".into();
    c.smtp.port = server.port;
    c.smtp.tls = TlsMode::Implicit;
    c.smtp.ca_file = server.ca.clone();
    c.smtp.user = "kepu".into();
    let pw = data.join("smtp-password");
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(&pw, "授权码-123\n").unwrap();
    c.smtp.password_file = Some(pw);
    c
}

#[tokio::test]
async fn reminders_due_approved_sent_once_never_for_complete_or_robots() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        auth: Some(("kepu".into(), "授权码-123".into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cfg(&dir.path().join("data"), &server);
    // Shorter than the two days left, so the last step can pass the interval.
    cfg.remind.interval_h = 24;
    let mut db = Db::open(&cfg.storage.db_path()).unwrap();
    let call = call();
    let mut d = corpus();
    let r = roster::build(&call, &d, &[]);
    let now = kepu_intake::time::now();

    // Outside the window (ten days before the deadline) nothing is due.
    let early = now - chrono::Duration::days(8);
    assert!(send::refresh(&cfg, &call, &mut db, &d, &r, &early)
        .unwrap()
        .is_empty());

    let rows = send::refresh(&cfg, &call, &mut db, &d, &r, &now).unwrap();
    let mut seen: Vec<(String, ReminderReason, Option<i64>)> = rows
        .iter()
        .map(|x| (x.to.clone(), x.reason, x.application))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    assert_eq!(
        seen,
        vec![
            (LB.to_string(), ReminderReason::UnitShort, None),
            (LB.to_string(), ReminderReason::MissingScan, Some(5)),
            (LB.to_string(), ReminderReason::MissingElectronic, Some(6)),
            (
                "office@zunhua.example".to_string(),
                ReminderReason::UnitSilent,
                None
            ),
        ],
        "no reminder for complete applications, the complete unit or the robot"
    );
    assert!(rows.iter().all(|x| x.status == ReminderStatus::Due));
    assert!(
        server.received().is_empty(),
        "nothing leaves without approval"
    );
    // Recomputing keeps the same drafts (same ids).
    let again = send::refresh(&cfg, &call, &mut db, &d, &r, &now).unwrap();
    assert_eq!(
        again.iter().map(|x| x.id).collect::<Vec<_>>(),
        rows.iter().map(|x| x.id).collect::<Vec<_>>()
    );
    for x in &rows {
        assert!(!x.body.contains(APPLICANT_MARK) && !x.subject.contains(APPLICANT_MARK));
        assert!(
            !x.body.contains("路北区第二小学"),
            "applicant names are not quoted"
        );
    }

    // An unknown id is refused and approves nothing.
    assert!(approve_reminders(&mut db, &[9999], "wang").is_err());
    let approved = approve_reminders(&mut db, &[], "wang").unwrap();
    assert_eq!(approved.len(), 4);

    // Application 6 becomes complete before the send: its reminder is cancelled.
    d.applications
        .iter_mut()
        .find(|a| a.id == 6)
        .unwrap()
        .status = AppStatus::Complete;
    let r = roster::build(&call, &d, &[]);
    let stats = send::send_approved(&cfg, &call, &mut db, &d, &r, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        (stats.sent, stats.cancelled, stats.failed),
        (3, 1, 0),
        "{stats:?}"
    );
    let got = server.received();
    assert_eq!(got.len(), 3);
    let mut to: Vec<String> = server.recipients().into_iter().flatten().collect();
    to.sort();
    assert_eq!(to, vec![LB, LB, "office@zunhua.example"]);
    for raw in &got {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        let subject = m.subject().unwrap_or_default();
        assert!(subject.starts_with("【催交提醒】"), "{subject}");
        let body = m.body_text(0).unwrap_or_default();
        assert!(body.contains("截止前"), "{body}");
        assert!(!body.contains(APPLICANT_MARK));
        let auto = m.header_raw("Auto-Submitted").unwrap_or_default();
        assert!(auto.contains("auto-replied"));
    }
    let stored = db.reminders().unwrap();
    for x in &stored {
        assert_eq!(x.approved_by.as_deref(), Some("wang"), "{x:?}");
        match x.application {
            Some(6) => assert_eq!(x.status, ReminderStatus::Cancelled),
            _ => {
                assert_eq!(x.status, ReminderStatus::Sent);
                assert!(x.sent_at.is_some() && x.our_message_id.is_some());
            }
        }
    }

    // Nothing twice: within the interval nothing is due again, and sending again
    // sends nothing.
    let rows = send::refresh(&cfg, &call, &mut db, &d, &r, &now).unwrap();
    assert!(
        rows.iter().all(|x| x.status != ReminderStatus::Due),
        "{rows:?}"
    );
    assert!(approve_reminders(&mut db, &[], "wang").unwrap().is_empty());
    let stats = send::send_approved(&cfg, &call, &mut db, &d, &r, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(stats.sent, 0);
    assert_eq!(server.received().len(), 3);

    // After the interval the same (recipient, reason) may be reminded again.
    let later = now + chrono::Duration::hours(i64::from(cfg.remind.interval_h) + 1);
    let rows = send::refresh(&cfg, &call, &mut db, &d, &r, &later).unwrap();
    assert!(rows
        .iter()
        .any(|x| x.status == ReminderStatus::Due && x.reason == ReminderReason::UnitSilent));
}

/// Reminders leave from the receipts' mailbox: they wait for the receipts' per-domain
/// and daily caps, and the reminders already sent count against them.
#[tokio::test]
async fn reminders_respect_the_receipts_daily_and_per_domain_caps() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        auth: Some(("kepu".into(), "授权码-123".into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cfg(&dir.path().join("data"), &server);
    cfg.receipts.max_per_day = 0;
    cfg.receipts.max_per_domain_per_hour = 2;
    let mut db = Db::open(&cfg.storage.db_path()).unwrap();
    let call = call();
    let d = corpus();
    let r = roster::build(&call, &d, &[]);
    let now = kepu_intake::time::now();
    send::refresh(&cfg, &call, &mut db, &d, &r, &now).unwrap();
    assert_eq!(approve_reminders(&mut db, &[], "wang").unwrap().len(), 4);

    // Three to lubei.example, one to zunhua.example: the third to lubei waits.
    let stats = send::send_approved(&cfg, &call, &mut db, &d, &r, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((stats.sent, stats.waiting), (3, 1), "{stats:?}");
    assert_eq!(server.received().len(), 3);
    let waiting: Vec<_> = db
        .reminders()
        .unwrap()
        .into_iter()
        .filter(|x| x.status == ReminderStatus::Queued)
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].to, LB);
    assert!(
        waiting[0]
            .smtp_reply
            .as_deref()
            .is_some_and(|w| w.contains("domain_cap")),
        "{waiting:?}"
    );

    // The daily cap counts the three reminders sent today: the fourth still waits.
    cfg.receipts.max_per_domain_per_hour = 0;
    cfg.receipts.max_per_day = 3;
    let stats = send::send_approved(&cfg, &call, &mut db, &d, &r, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((stats.sent, stats.waiting), (0, 1), "{stats:?}");
    let still = db.reminders().unwrap();
    assert!(still.iter().any(|x| x.status == ReminderStatus::Queued
        && x.smtp_reply
            .as_deref()
            .is_some_and(|w| w.contains("daily_cap"))));

    // With room again it goes, once.
    cfg.receipts.max_per_day = 0;
    let stats = send::send_approved(&cfg, &call, &mut db, &d, &r, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((stats.sent, stats.waiting), (1, 0), "{stats:?}");
    assert_eq!(server.received().len(), 4);
}

#[test]
fn cli_roster_remind_and_dump_keys() {
    let it = crate::support::intake::Intake::new(None);
    let out = it.run_ok(&["roster", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let units = v["units"].as_array().unwrap();
    assert_eq!(units.len(), 18);
    assert_eq!(units[0]["unit"], "路南区");
    assert_eq!(
        units[0]["missing"],
        serde_json::json!(["pilot_district", "pilot_school:2"])
    );
    assert_eq!(units[0]["expects"][1]["text"], "试点学校 0/2");
    let text = it.run_ok(&["roster"]);
    assert!(
        text.contains("曹妃甸区") && text.contains("尚未报送"),
        "{text}"
    );

    let d = it.dump();
    assert_eq!(d["roster"].as_array().unwrap().len(), 18);
    assert_eq!(d["roster"][4]["unit"], "丰南区");
    assert!(d["roster"][4]["applications"]
        .as_array()
        .unwrap()
        .is_empty());
    // The 2022 deadline has passed: no reminder is due.
    assert_eq!(d["reminders"], serde_json::json!([]));
    assert_eq!(it.run_ok(&["remind", "--json"]).trim(), "[]");
    assert!(it.run_ok(&["remind"]).contains("没有需要发送的提醒"));

    let (status, _, err) = it.run(&["roster", "--assign", "a3", "丰南区"]);
    assert!(!status.success());
    assert!(err.contains("a3"), "{err}");
    let (status, _, err) = it.run(&["remind", "--send", "5"]);
    assert!(!status.success());
    assert!(err.contains("没有编号为 5 的提醒"), "{err}");
}

/// The sample mailbox through `import`, then `roster`, `remind` and `remind --send` in
/// dry-run mode, with the deadline two days ahead so reminders are due.
#[test]
fn cli_sample_mailbox_roster_and_reminders_end_to_end() {
    let it = crate::support::intake::Intake::new(None);
    let deadline = kepu_intake::time::fmt(&(kepu_intake::time::now() + chrono::Duration::days(2)));
    let text = std::fs::read_to_string(&it.config).unwrap();
    let text = text
        .replace(crate::support::intake::DEADLINE, &deadline)
        .replace("mode = \"off\"", "mode = \"dry-run\"");
    std::fs::write(
        &it.config,
        format!("{text}\n[smtp]\nfrom = \"tsqsnkj@126.com\"\n"),
    )
    .unwrap();
    let mailbox = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-mailbox");
    it.run_ok(&["import", mailbox.to_str().unwrap()]);
    // The roster reads a scan's OCR text from its document row (as the scan stage
    // recorded it), not from the cache.
    let scans: Vec<i64> = it.dump()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().unwrap().clone())
        .filter(|d| d["kind"] == "scan")
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    let db = Db::open(&it.data_dir.join("intake.db")).unwrap();
    assert!(
        scans.iter().any(|id| db
            .document_ocr_text(*id)
            .unwrap()
            .is_some_and(|t| !t.is_empty())),
        "no OCR text recorded for the scans {scans:?}"
    );
    drop(db);

    let v: serde_json::Value = serde_json::from_str(&it.run_ok(&["roster", "--json"])).unwrap();
    let fengnan = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "丰南区")
        .unwrap();
    assert_eq!(fengnan["expects"][0]["text"], "试点县区 1/1", "{fengnan}");
    assert_eq!(fengnan["missing"], serde_json::json!(["pilot_school:2"]));

    let due: serde_json::Value = serde_json::from_str(&it.run_ok(&["remind", "--json"])).unwrap();
    let due = due.as_array().unwrap().clone();
    assert!(!due.is_empty());
    assert!(due.iter().all(|r| r["status"] == "due"));
    let unstamped = due
        .iter()
        .find(|r| r["reason"] == "unstamped_scan")
        .unwrap_or_else(|| panic!("{due:?}"));
    assert!(unstamped["subject"].as_str().unwrap().contains("附件4"));
    // 丰南区 wrote once: it is reminded of the two schools, at the address it used.
    assert!(due
        .iter()
        .any(|r| r["reason"] == "unit_short" && r["unit"] == "丰南区"));
    assert!(it.run_ok(&["remind"]).contains("主题：【催交提醒】"));

    let id = unstamped["id"].as_i64().unwrap().to_string();
    let out = it.run_ok(&["remind", "--send", &id, "--by", "wang"]);
    assert!(out.contains("已批准 1 条提醒（wang）"), "{out}");
    let eml = it
        .data_dir
        .join("receipts-dry-run")
        .join(format!("reminder-{id}.eml"));
    let bytes = std::fs::read(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert!(m.subject().unwrap().starts_with("【催交提醒】"));
    assert_eq!(
        m.to().unwrap().first().unwrap().address().unwrap(),
        unstamped["to"].as_str().unwrap()
    );

    let d = it.dump();
    let sent: Vec<&serde_json::Value> = d["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "sent")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["approved_by"], "wang");
    // Approving everything now sends the rest, never the same one twice.
    it.run_ok(&["remind", "--send", "--by", "wang"]);
    let out = it.run_ok(&["remind", "--send", "--by", "wang"]);
    assert!(out.contains("已批准 0 条提醒"), "{out}");
    let files = std::fs::read_dir(it.data_dir.join("receipts-dry-run"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("reminder-")
        })
        .count();
    assert_eq!(files, due.len());
}

#[test]
fn a_scan_only_application_is_attributed_by_its_ocr_text() {
    let call = call();
    let mut d = corpus();
    // Application 9: only a scan (doc 90), whose OCR text carries the seal's words.
    d.applications.push(DumpApplication {
        email: Some("x@zunhua.example".into()),
        ..dump::application(
            9,
            "pilot_school",
            "第二实验小学",
            AppStatus::MissingElectronic,
            None,
            Some(90),
        )
    });
    let mut texts = std::collections::BTreeMap::new();
    texts.insert(
        90,
        "唐山市科技教育试点学校申报表 申报学校 第二实验小学 遵化市教育局（盖章）".to_string(),
    );
    let r = roster::build_with_scans(&call, &d, &[], &texts);
    assert_eq!(r.unit_of(9), Some("遵化市"));
    let without = roster::build(&call, &d, &[]);
    assert_eq!(without.unit_of(9), None);
    assert!(without.unsure.iter().any(|u| u.application == 9));
}
