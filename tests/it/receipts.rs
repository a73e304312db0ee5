//! Receipts: who is answered (policy), what the receipt says (compose), and the outbox
//! sending each receipt once over real TLS SMTP (aiosmtpd test server), with retries,
//! refusals, the per-sender window and dry runs.

use crate::smtp_support::{ServerOpts, SmtpServer};
use crate::support::dump::{fields, new_message, record_new};
use kepu_intake::config::{Config, ReceiptMode, TlsMode};
use kepu_intake::db::messages::NewMessage;
use kepu_intake::db::Db;
use kepu_intake::domain::ReceiptStatus;
use kepu_intake::extract::MessageMeta;
use kepu_intake::model::{Category, Fields};
use kepu_intake::receipts::compose::{compose, ComposeContext};
use kepu_intake::receipts::template::Template;
use kepu_intake::receipts::{self, decide, initial_status, Decision};
use kepu_intake::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use mail_parser::MessageParser;
use tokio_util::sync::CancellationToken;

const OWN: &str = "tsqsnkj@126.com";

// ---------------------------------------------------------------- policy

fn person(from: &str) -> MessageMeta {
    MessageMeta {
        from: Some(from.into()),
        message_id: Some("<a1@school.example>".into()),
        return_path: Some(from.into()),
        ..Default::default()
    }
}

fn reason(d: Decision) -> String {
    match d {
        Decision::Suppress { reason } => reason,
        Decision::Reply { to } => panic!("expected no receipt, got a reply to {to}"),
        Decision::Hold { to, reason } => {
            panic!("expected no receipt, got one held for {to}: {reason}")
        }
    }
}

#[test]
fn policy_answers_a_person_who_submitted_or_asked() {
    let own = vec![OWN.to_string()];
    let m = person("office@school.example");
    assert_eq!(
        decide(&m, Category::Submission, false, &own),
        Decision::Reply {
            to: "office@school.example".into()
        }
    );
    assert_eq!(
        decide(&m, Category::Question, false, &own),
        Decision::Reply {
            to: "office@school.example".into()
        }
    );
    // X-Auto-Response-Suppress that only concerns delivery reports does not stop it.
    let mut dr = person("office@school.example");
    dr.auto_response_suppress = Some("DR, RN".into());
    assert!(matches!(
        decide(&dr, Category::Submission, false, &own),
        Decision::Reply { .. }
    ));
}

#[test]
fn policy_answers_from_never_a_different_reply_to() {
    let own = vec![OWN.to_string()];
    let mut m = person("clerk@school.example");
    m.reply_to = Some("Head@School.Example".into());
    assert_eq!(
        decide(&m, Category::Submission, false, &own),
        Decision::Reply {
            to: "clerk@school.example".into()
        }
    );
    m.reply_to = Some("victim@elsewhere.example".into());
    assert_eq!(
        decide(&m, Category::Submission, false, &own),
        Decision::Reply {
            to: "clerk@school.example".into()
        }
    );
    m.reply_to = Some("Clerk@School.example".into());
    assert_eq!(
        decide(&m, Category::Submission, false, &own),
        Decision::Reply {
            to: "clerk@school.example".into()
        }
    );
}

#[test]
fn policy_never_answers_robots_lists_ourselves_or_duplicates() {
    let own = vec![OWN.to_string()];
    let p = || person("office@school.example");
    let cases: Vec<(&str, MessageMeta, Category, bool, &str)> = vec![
        (
            "bounce category",
            p(),
            Category::Bounce,
            false,
            "robot_category: bounce",
        ),
        (
            "vacation category",
            p(),
            Category::Autoreply,
            false,
            "robot_category: autoreply",
        ),
        (
            "list category",
            p(),
            Category::Bulk,
            false,
            "robot_category: bulk",
        ),
        ("spam", p(), Category::Spam, false, "robot_category: spam"),
        (
            "other",
            p(),
            Category::Other,
            false,
            "not_applicable: other",
        ),
        ("duplicate", p(), Category::Submission, true, "duplicate:"),
        (
            "mailer-daemon",
            person("MAILER-DAEMON@mx.126.com"),
            Category::Submission,
            false,
            "robot_sender: MAILER-DAEMON",
        ),
        (
            "postmaster",
            person("postmaster@school.example"),
            Category::Submission,
            false,
            "robot_sender: postmaster",
        ),
        (
            "noreply",
            person("noreply@service.example"),
            Category::Question,
            false,
            "robot_sender: noreply",
        ),
        (
            "no-reply",
            person("no-reply@service.example"),
            Category::Question,
            false,
            "robot_sender: no-reply",
        ),
        (
            "owner-",
            person("owner-kepu@lists.example"),
            Category::Submission,
            false,
            "robot_sender: owner-kepu",
        ),
        (
            "-request",
            person("kepu-request@lists.example"),
            Category::Submission,
            false,
            "robot_sender: kepu-request",
        ),
        (
            "own address",
            person("TSQSNKJ@126.com"),
            Category::Submission,
            false,
            "own_address: tsqsnkj@126.com",
        ),
    ];
    for (name, meta, cat, dup, want) in cases {
        let got = reason(decide(&meta, cat, dup, &own));
        assert!(got.starts_with(want), "{name}: got {got:?}, want {want:?}");
    }

    let mut empty_rp = p();
    empty_rp.return_path = Some(String::new());
    assert!(reason(decide(&empty_rp, Category::Submission, false, &own))
        .starts_with("empty_return_path:"));

    for v in ["All", "AutoReply", "DR, OOF"] {
        let mut s = p();
        s.auto_response_suppress = Some(v.into());
        let r = reason(decide(&s, Category::Submission, false, &own));
        assert_eq!(
            r,
            format!(
                "auto_response_suppress: X-Auto-Response-Suppress: {v}（发件人要求不自动回复）"
            )
        );
    }

    // Headers marked it a vacation reply although the category said submission.
    let mut vac = p();
    vac.robot = Some(Category::Autoreply);
    vac.robot_reason = Some("Auto-Submitted: auto-replied".into());
    assert_eq!(
        reason(decide(&vac, Category::Submission, false, &own)),
        "robot_header: Auto-Submitted: auto-replied（自动邮件，不回复）"
    );

    let mut list = p();
    list.robot = Some(Category::Bulk);
    list.robot_reason = Some("List-Id: <kepu.lists.example>".into());
    assert!(reason(decide(&list, Category::Submission, false, &own)).contains("List-Id"));

    let mut nobody = p();
    nobody.from = None;
    assert!(reason(decide(&nobody, Category::Submission, false, &own)).starts_with("no_sender:"));
}

#[test]
fn mailboxes_are_counted_without_case_or_plus_tags() {
    use kepu_intake::receipts::policy::{domain_of, mailbox_key};
    assert_eq!(mailbox_key("X+1@Flood.Example"), "x@flood.example");
    assert_eq!(mailbox_key("<x+a+b@flood.example>"), "x@flood.example");
    assert_eq!(mailbox_key("x@flood.example"), "x@flood.example");
    assert_eq!(domain_of("A@QQ.example"), "qq.example");
    // Our own address with a tag is still ours.
    let own = vec![OWN.to_string()];
    assert!(reason(decide(
        &person("tsqsnkj+x@126.com"),
        Category::Submission,
        false,
        &own
    ))
    .starts_with("own_address:"));
}

#[test]
fn failed_authentication_holds_and_the_notice_itself_is_not_answered() {
    use kepu_intake::receipts::{decide_with, Facts};
    let own = vec![OWN.to_string()];
    let mut m = person("service@bank.example");
    m.authentication_results = vec![
        "126.com; dmarc=fail header.from=bank.example".into(),
        "126.com; dmarc=pass header.from=bank.example".into(),
    ];
    let facts = Facts {
        authserv_id: "126.com",
        blank_forms_only: false,
    };
    let d = decide_with(&m, Category::Question, false, &own, &facts);
    let Decision::Hold { to, reason: why } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(to, "service@bank.example");
    assert!(why.starts_with("unauthenticated: dmarc=fail"), "{why}");
    assert_eq!(initial_status(ReceiptMode::Send, &d).0, "held");
    assert_eq!(initial_status(ReceiptMode::DryRun, &d).0, "held");
    assert_eq!(initial_status(ReceiptMode::Off, &d).0, "suppressed");
    // Another server's id: a forgery, ignored; so is everything without authserv_id.
    let other = Facts {
        authserv_id: "mx.126.com",
        blank_forms_only: false,
    };
    assert!(matches!(
        decide_with(&m, Category::Question, false, &own, &other),
        Decision::Reply { .. }
    ));
    // The call's blank forms passed on to us: not an application.
    let notice = Facts {
        authserv_id: "",
        blank_forms_only: true,
    };
    let d = decide_with(
        &person("bureau@edu.example"),
        Category::Submission,
        false,
        &own,
        &notice,
    );
    assert!(reason(d).starts_with("notice_forward:"));
    // The notice alone makes the message `other`: the reason still names the notice.
    let d = decide_with(
        &person("bureau@edu.example"),
        Category::Other,
        false,
        &own,
        &notice,
    );
    assert!(reason(d).starts_with("notice_forward:"));
}

#[test]
fn blank_forms_without_a_scan_are_the_notice_not_an_application() {
    use kepu_intake::domain::document::NewDocument;
    use kepu_intake::receipts::blank_forms_only;
    let form = |kind: &str, f: Fields| {
        let mut d = NewDocument::unclassified(
            "附件2.docx".into(),
            "00".into(),
            10,
            "docx".parse().unwrap(),
        );
        d.kind = kind.parse().unwrap();
        d.form = Some("resource".into());
        d.fields = f;
        d
    };
    let blank = || form("electronic", fields(&[("申报单位名称", " ")]));
    assert!(blank_forms_only(&[blank(), blank()]));
    let filled = form("electronic", fields(&[("申报单位名称", "唐山市第一中学")]));
    assert!(!blank_forms_only(&[blank(), filled.clone()]));
    assert!(!blank_forms_only(&[blank(), form("scan", Fields::new())]));
    assert!(!blank_forms_only(&[]));
    // The notice document (its text or several blank forms in one file) is no form.
    let notice = || {
        let mut d = form("notice", Fields::new());
        d.form = None;
        d
    };
    assert!(blank_forms_only(&[notice()]));
    assert!(blank_forms_only(&[notice(), blank()]));
    assert!(!blank_forms_only(&[notice(), filled.clone()]));
}

#[test]
fn initial_status_follows_mode_and_decision() {
    let reply = Decision::Reply {
        to: "a@b.example".into(),
    };
    assert_eq!(
        initial_status(ReceiptMode::Send, &reply),
        (ReceiptStatus::Pending, None)
    );
    assert_eq!(
        initial_status(ReceiptMode::DryRun, &reply),
        (ReceiptStatus::Pending, None)
    );
    let (s, r) = initial_status(ReceiptMode::Off, &reply);
    assert_eq!(s, "suppressed");
    assert!(r.unwrap().starts_with("receipts_off:"));
    let sup = Decision::Suppress {
        reason: "duplicate: x".into(),
    };
    assert_eq!(
        initial_status(ReceiptMode::Send, &sup),
        (ReceiptStatus::Suppressed, Some("duplicate: x".into()))
    );
}

// ---------------------------------------------------------------- compose

fn doc(id: i64, name: &str, kind: &str, form: Option<&str>, f: Fields) -> DumpDocument {
    DumpDocument {
        name: name.into(),
        ..crate::support::dump::document(id, kind.parse().unwrap(), form, f)
    }
}

fn message(
    id: i64,
    from: &str,
    subject: &str,
    category: &str,
    docs: Vec<DumpDocument>,
) -> DumpMessage {
    DumpMessage {
        subject: Some(subject.into()),
        ..crate::support::dump::message(id, from, category.parse().unwrap(), docs)
    }
}

fn app(
    id: i64,
    form: &str,
    who: &str,
    status: &str,
    e: Option<i64>,
    s: Option<i64>,
) -> DumpApplication {
    crate::support::dump::application(id, form, who, status.parse().unwrap(), e, s)
}

fn ctx<'a>(t: &'a Template) -> ComposeContext<'a> {
    ComposeContext {
        template: t,
        contact: "唐山市科协青少年科技中心，电话 2830734",
        deadline: kepu_intake::time::parse_rfc3339("2022-07-20T23:59:59+08:00"),
        ocr: true,
    }
}

/// Message 1: the school's resource form (electronic, an over-long narrative) plus a
/// stamped scan of an expert form whose electronic version came in message 2.
fn sample_dump() -> Dump {
    let mut e = doc(
        11,
        "科普资源申报推荐表-一中.docx",
        "electronic",
        Some("resource"),
        fields(&[("申报单位名称", "唐山市第一中学"), ("申报联系人", "王芳")]),
    );
    e.problems = vec!["over_limit:2019-2021年青少年科技教育工作情况".into()];
    let mut scan = doc(
        12,
        "专家推荐表盖章.pdf",
        "scan",
        Some("expert"),
        Fields::new(),
    );
    scan.stamped = Some(true);
    scan.scan_of = Some(30);
    let note = doc(13, "申报说明.txt", "other", None, Fields::new());
    // A signature logo: small image, not worth mentioning to the applicant.
    let mut logo = doc(14, "logo.gif", "other", None, Fields::new());
    logo.format = "gif".parse().unwrap();
    logo.size = 3000;
    let m1 = message(
        1,
        "office@school.example",
        "一中申报材料",
        "submission",
        vec![e, scan, note, logo],
    );
    let expert_e = doc(
        30,
        "专家推荐表.docx",
        "electronic",
        Some("expert"),
        fields(&[("姓名", "张伟")]),
    );
    let m2 = message(
        2,
        "zhangwei@school.example",
        "专家推荐表",
        "submission",
        vec![expert_e],
    );
    Dump {
        call: Default::default(),
        messages: vec![m1, m2],
        applications: vec![
            app(
                1,
                "resource",
                "唐山市第一中学",
                "missing_scan",
                Some(11),
                None,
            ),
            app(2, "expert", "张伟", "complete", Some(30), Some(12)),
        ],
        ..Default::default()
    }
}

#[test]
fn compose_names_each_document_and_what_is_missing() {
    let t = Template::builtin();
    let dump = sample_dump();
    let r = compose(&ctx(&t), &dump, &[&dump.messages[0]]);
    assert_eq!(
        r.subject,
        "回执：已收到「张伟」等2份申报材料（科技教育专家服务团成员推荐表、科普资源申报推荐表）"
    );
    let b = &r.body;
    assert!(b.starts_with("您好！\n"), "{b}");
    assert!(
        b.contains("已于 2022-07-18 10:32:05（北京时间）收到"),
        "{b}"
    );
    assert!(
        !b.contains("一中申报材料"),
        "the subject is never repeated: {b}"
    );
    assert!(
        b.contains("1. 附件1 科技教育专家服务团成员推荐表：「张伟」，盖章扫描件（已识别到公章）（文件：专家推荐表盖章.pdf）"),
        "{b}"
    );
    assert!(
        b.contains("2. 附件2 科普资源申报推荐表：「唐山市第一中学」，电子版（文件：科普资源申报推荐表-一中.docx）"),
        "{b}"
    );
    assert!(b.contains("以下其他附件已收到：申报说明.txt\n"), "{b}");
    assert!(!b.contains("重新发送"), "nothing here needs resending: {b}");
    assert!(
        b.contains("· 「唐山市第一中学」附件2 科普资源申报推荐表：尚缺加盖公章的扫描件，请补交；「2019-2021年青少年科技教育工作情况」超出字数限制（不超过1000字）"),
        "{b}"
    );
    assert!(
        b.contains("· 「张伟」附件1 科技教育专家服务团成员推荐表：材料齐全"),
        "{b}"
    );
    assert!(
        b.contains("联系方式：唐山市科协青少年科技中心，电话 2830734"),
        "{b}"
    );
    assert!(!b.contains("逾期"), "{b}");
    assert!(!b.contains("网盘"), "{b}");
    assert!(!b.contains("{{"), "{b}");
    assert!(!b.contains("\n\n\n"), "no gaps left by empty sections: {b}");
}

#[test]
fn compose_single_applicant_late_cloud_and_unstamped() {
    let t = Template::builtin();
    let mut scan = doc(
        21,
        "扫描件.jpg",
        "scan",
        Some("resource"),
        fields(&[("申报单位名称", "唐山市第一中学")]),
    );
    scan.stamped = Some(false);
    scan.seal_score = Some(0.05);
    let mut m = message(
        5,
        "office@school.example",
        "补交扫描件",
        "submission",
        vec![scan],
    );
    m.late = true;
    m.problems = vec!["cloud_attachment:申报视频.mp4:2022-08-17".into()];
    let dump = Dump {
        call: Default::default(),
        messages: vec![m],
        applications: vec![app(
            3,
            "resource",
            "唐山市第一中学",
            "unstamped_scan",
            Some(11),
            Some(21),
        )],
        ..Default::default()
    };
    let r = compose(&ctx(&t), &dump, &[&dump.messages[0]]);
    assert_eq!(
        r.subject,
        "回执：已收到「唐山市第一中学」的申报材料（科普资源申报推荐表）"
    );
    let b = &r.body;
    assert!(b.starts_with("唐山市第一中学：\n您好！"), "{b}");
    assert!(
        b.contains("「唐山市第一中学」，扫描件（未找到公章）"),
        "{b}"
    );
    assert!(
        b.contains("扫描件上未找到公章，请补交加盖公章的扫描件"),
        "{b}"
    );
    // Without OCR (or with a seal score near the threshold) nobody is sure: no request.
    let mut unsure = ctx(&t);
    unsure.ocr = false;
    let r2 = compose(&unsure, &dump, &[&dump.messages[0]]);
    assert!(
        r2.body.contains("扫描件（是否盖章由工作人员核对）")
            && r2.body.contains("扫描件是否盖章由工作人员核对")
            && !r2.body.contains("请补交加盖公章"),
        "{}",
        r2.body
    );
    assert!(
        b.contains("在申报截止时间（2022-07-20 23:59:59）之后收到，已登记为逾期材料"),
        "{b}"
    );
    assert!(
        b.contains("· 申报视频.mp4，有效期至 2022-08-17：我们会在链接过期前下载"),
        "{b}"
    );
}

#[test]
fn compose_question_gets_a_short_acknowledgement() {
    let t = Template::builtin();
    let dump = Dump {
        call: Default::default(),
        messages: vec![message(
            7,
            "teacher@school.example",
            "请问截止日期是哪天？",
            "question",
            vec![],
        )],
        applications: vec![],
        ..Default::default()
    };
    let r = compose(&ctx(&t), &dump, &[&dump.messages[0]]);
    assert_eq!(r.subject, "回执：您的咨询已收到（07-18 10:32）");
    assert!(!r.body.contains("截止日期是哪天"), "{}", r.body);
    assert!(r
        .body
        .contains("您的咨询已收到，工作人员将在工作时间内尽快答复。"));
    assert!(!r.body.contains("未能在来信中识别出申报表"), "{}", r.body);
}

#[test]
fn operator_template_replaces_the_wording_and_typos_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tpl.txt");
    std::fs::write(
        &p,
        "{{greeting}}\n收到时间：{{received_at}}\n{{late}}\n电话：{{contact}}\n",
    )
    .unwrap();
    let t = Template::load(Some(&p)).unwrap();
    let dump = sample_dump();
    let r = compose(&ctx(&t), &dump, &[&dump.messages[1]]);
    assert_eq!(
        r.body,
        "张伟：\n您好！\n收到时间：2022-07-18 10:32:05\n电话：唐山市科协青少年科技中心，电话 2830734\n"
    );
    std::fs::write(&p, "{{greeting}} {{联系人}}\n").unwrap();
    let e = Template::load(Some(&p)).unwrap_err().to_string();
    assert!(
        e.contains("联系人") && e.contains("receipts.template_file"),
        "{e}"
    );
}

// ---------------------------------------------------------------- outbox

struct Env {
    _dir: tempfile::TempDir,
    db: Db,
    cfg: Config,
    dump: Dump,
    data: std::path::PathBuf,
}

fn env(mode: ReceiptMode) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = Db::open(&data.join("intake.db")).unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = data.clone();
    cfg.receipts.mode = mode;
    cfg.receipts.max_per_minute = 0;
    cfg.receipts.per_sender_window_s = 0;
    cfg.smtp.from = OWN.into();
    Env {
        _dir: dir,
        db,
        cfg,
        dump: Dump::default(),
        data,
    }
}

impl Env {
    fn use_server(&mut self, s: &SmtpServer) {
        self.cfg.smtp.host = "127.0.0.1".into();
        self.cfg.smtp.port = s.port;
        self.cfg.smtp.tls = if s.ca.is_some() {
            TlsMode::Implicit
        } else {
            TlsMode::None
        };
        self.cfg.smtp.ca_file = s.ca.clone();
        self.cfg.smtp.user = "kepu".into();
        let pw = self.data.join("smtp-password");
        std::fs::write(&pw, "授权码-123\n").unwrap();
        self.cfg.smtp.password_file = Some(pw);
    }

    /// Records a message and queues its receipt `created` (RFC 3339).
    fn add(&mut self, n: i64, from: &str, applicant: &str, created: &str) -> (i64, i64) {
        let m = NewMessage {
            subject: Some(format!("{applicant}申报材料")),
            ..new_message(n, from, "2022-07-18T10:32:05+08:00", created)
        };
        let id = record_new(&mut self.db, m);
        self.db
            .receipt_insert(id, from, ReceiptStatus::Pending, None, created)
            .unwrap();
        let e = doc(
            id * 10,
            "申报表.docx",
            "electronic",
            Some("resource"),
            fields(&[("申报单位名称", applicant)]),
        );
        let mut dm = message(
            id,
            from,
            &format!("{applicant}申报材料"),
            "submission",
            vec![e],
        );
        dm.message_id = Some(format!("<m{n}@school.example>"));
        self.dump.messages.push(dm);
        self.dump.applications.push(app(
            id,
            "resource",
            applicant,
            "missing_scan",
            Some(id * 10),
            None,
        ));
        let rid = self.db.receipt_for_message(id).unwrap().unwrap().id;
        (id, rid)
    }

    async fn drain_at(&mut self, t: &str) -> receipts::DrainStats {
        let at = kepu_intake::time::parse_rfc3339(t).unwrap();
        receipts::drain_at(
            &self.cfg,
            &mut self.db,
            &self.dump,
            &CancellationToken::new(),
            at,
        )
        .await
        .unwrap()
    }

    fn row(&self, id: i64) -> kepu_intake::db::receipts::ReceiptRow {
        self.db.receipt(id).unwrap().unwrap()
    }
}

/// Now, truncated to the seconds the database keeps.
fn now_whole_seconds() -> chrono::DateTime<chrono::FixedOffset> {
    kepu_intake::time::parse_rfc3339(&kepu_intake::time::fmt(&kepu_intake::time::now())).unwrap()
}

fn now_plus(secs: i64) -> String {
    kepu_intake::time::fmt(&(kepu_intake::time::now() + chrono::Duration::seconds(secs)))
}

fn header<'a>(m: &'a mail_parser::Message<'a>, name: &str) -> String {
    m.header_raw(name).unwrap_or("").trim().to_string()
}

#[tokio::test]
async fn sends_each_pending_receipt_once_over_tls_with_auth() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        auth: Some(("kepu".into(), "授权码-123".into())),
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    let t0 = now_plus(0);
    let (_, r1) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let (_, r2) = e.add(2, "zhang@other.example", "唐山市路北区实验小学", &t0);

    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.failed, s.deferred), (2, 0, 0), "{s:?}");
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        server.recipients(),
        vec![
            vec!["office@school.example".to_string()],
            vec!["zhang@other.example".to_string()]
        ]
    );

    let row = e.row(r1);
    assert_eq!(row.status, "sent");
    assert_eq!(
        row.smtp_reply.as_deref(),
        Some("250 2.0.0 OK queued as test-1")
    );
    let our_id = row.our_message_id.clone().unwrap();
    assert!(
        our_id.starts_with(&format!("<receipt-{r1}-")) && our_id.ends_with("@kepu-intake.local>"),
        "{our_id}"
    );

    let m = MessageParser::default().parse(&got[0]).unwrap();
    assert_eq!(
        m.subject(),
        Some("回执：已收到「唐山市第一中学」的申报材料（科普资源申报推荐表）")
    );
    assert_eq!(header(&m, "Auto-Submitted"), "auto-replied");
    assert_eq!(header(&m, "X-Auto-Response-Suppress"), "All");
    assert_eq!(header(&m, "In-Reply-To"), "<m1@school.example>");
    assert_eq!(header(&m, "References"), "<m1@school.example>");
    assert_eq!(header(&m, "Message-ID"), our_id);
    assert!(m.header_raw("Precedence").is_none());
    let body = m.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(body.contains("唐山市第一中学：\n您好！"), "{body}");
    assert!(body.contains("尚缺加盖公章的扫描件"), "{body}");
    assert_eq!(e.row(r2).status, "sent");

    // A second drain finds nothing to send.
    let s = e.drain_at(&now_plus(5)).await;
    assert_eq!(s, receipts::DrainStats::default());
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_451_is_retried_after_backoff_and_sent_once() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        tempfail: 1,
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    e.cfg.smtp.user = String::new();
    let t0 = now_whole_seconds();
    let at = |s: i64| kepu_intake::time::fmt(&(t0 + chrono::Duration::seconds(s)));
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &at(0));

    let s = e.drain_at(&at(0)).await;
    assert_eq!((s.sent, s.deferred), (0, 1), "{s:?}");
    let row = e.row(r);
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert!(
        row.reason
            .as_deref()
            .unwrap()
            .starts_with("deferred: 451 4.3.0"),
        "{row:?}"
    );
    let due = kepu_intake::time::parse_rfc3339(row.next_attempt_at.as_deref().unwrap()).unwrap();
    let wait = (due - t0).num_seconds();
    assert!((60..=62).contains(&wait), "first backoff 60 s, got {wait}");
    let first_id = row.our_message_id.clone().unwrap();

    // Not yet due.
    let s = e.drain_at(&at(30)).await;
    assert_eq!(s.sent + s.deferred, 0, "{s:?}");

    let s = e.drain_at(&at(65)).await;
    assert_eq!(s.sent, 1, "{s:?}");
    let row = e.row(r);
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.our_message_id.as_deref(),
        Some(first_id.as_str()),
        "retry keeps the Message-ID"
    );
    assert_eq!(server.received().len(), 1);
    let s = e.drain_at(&at(4000)).await;
    assert_eq!(s.sent, 0);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_550_fails_with_the_server_reply() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        reject: true,
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    e.cfg.smtp.user = String::new();
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.failed), (0, 1), "{s:?}");
    let row = e.row(r);
    assert_eq!(row.status, "failed");
    assert_eq!(
        row.smtp_reply.as_deref(),
        Some("550 5.7.1 Message rejected as spam (test server)")
    );
    assert!(row.reason.as_deref().unwrap().starts_with("rejected: 550"));
    let table = receipts::list_text(&e.db).unwrap();
    assert!(
        table.contains(&format!("{r}\t发送失败 failed\toffice@school.example\t1")),
        "{table}"
    );
    assert!(
        table.contains("550 5.7.1 Message rejected as spam"),
        "{table}"
    );
    // The next drain leaves it alone; retry queues it again.
    assert_eq!(e.drain_at(&now_plus(10)).await.failed, 0);
    receipts::retry(&e.db, r).unwrap();
    let row = e.row(r);
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
}

#[tokio::test]
async fn an_unreachable_server_defers_every_due_receipt() {
    // Bind then drop: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut e = env(ReceiptMode::Send);
    e.cfg.smtp.host = "127.0.0.1".into();
    e.cfg.smtp.port = port;
    e.cfg.smtp.tls = TlsMode::None;
    let t0 = now_plus(0);
    let (_, r1) = e.add(1, "a@school.example", "一中", &t0);
    let (_, r2) = e.add(2, "b@school.example", "二中", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.deferred), (0, 2), "{s:?}");
    assert!(s.last_error.unwrap().contains(&format!("127.0.0.1:{port}")));
    for r in [r1, r2] {
        let row = e.row(r);
        assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
        assert!(row.reason.unwrap().starts_with("connect:"));
    }
}

#[tokio::test]
async fn the_per_sender_window_folds_a_second_mail_and_delays_a_third() {
    let mut e = env(ReceiptMode::DryRun);
    e.cfg.receipts.per_sender_window_s = 600;
    let t0 = now_whole_seconds();
    let at = |s: i64| kepu_intake::time::fmt(&(t0 + chrono::Duration::seconds(s)));
    let (_, r1) = e.add(1, "office@school.example", "唐山市第一中学", &at(0));
    let (_, r2) = e.add(2, "Office@School.example", "唐山市第一中学分校", &at(60));
    let (_, other) = e.add(3, "b@school.example", "二中", &at(60));

    let s = e.drain_at(&at(61)).await;
    assert_eq!((s.dry_run, s.folded), (2, 1), "{s:?}");
    let folded = e.row(r2);
    assert_eq!(folded.status, "suppressed");
    assert_eq!(folded.folded_into, Some(r1));
    assert_eq!(
        folded.reason.as_deref(),
        Some(format!("folded_into:{r1}").as_str())
    );
    assert_eq!(e.row(other).status, "previewed");
    // The one receipt speaks of both messages.
    let eml = std::fs::read(e.data.join("receipts-dry-run").join(format!("{r1}.eml"))).unwrap();
    let m = MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        header(&m, "References"),
        "<m1@school.example> <m2@school.example>"
    );
    assert_eq!(
        m.subject(),
        Some("回执：已收到「唐山市第一中学」等2份申报材料（科普资源申报推荐表）")
    );

    // A third mail after the first receipt went out waits for the window to close.
    let (_, r3) = e.add(4, "office@school.example", "唐山市第一中学", &at(120));
    let s = e.drain_at(&at(121)).await;
    assert_eq!((s.dry_run, s.waiting), (0, 1), "{s:?}");
    let row = e.row(r3);
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
    let due = kepu_intake::time::parse_rfc3339(row.next_attempt_at.as_deref().unwrap()).unwrap();
    let wait = (due - t0).num_seconds();
    assert!(
        (661..=663).contains(&wait),
        "due when the window closes, got +{wait}s"
    );
    let s = e.drain_at(&at(700)).await;
    assert_eq!(s.dry_run, 1, "{s:?}");
    assert_eq!(e.row(r3).status, "previewed");
}

#[tokio::test]
async fn dry_run_writes_eml_files_and_marks_them_previewed() {
    let mut e = env(ReceiptMode::DryRun);
    let dir = e.data.join("custom-dry");
    e.cfg.receipts.dry_run_dir = Some(dir.clone());
    let t0 = now_plus(0);
    let (_, r1) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let (_, r2) = e.add(2, "b@school.example", "唐山市第二中学", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!(s.dry_run, 2, "{s:?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec![format!("{r1}.eml"), format!("{r2}.eml")]);
    let eml = std::fs::read(dir.join(format!("{r2}.eml"))).unwrap();
    let m = MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        m.subject(),
        Some("回执：已收到「唐山市第二中学」的申报材料（科普资源申报推荐表）")
    );
    assert_eq!(header(&m, "To"), "b@school.example");
    let row = e.row(r2);
    assert_eq!(
        (row.status.as_str(), row.smtp_reply.as_deref()),
        ("previewed", None)
    );
    assert!(
        row.previewed_at.is_some() && row.sent_at.is_none(),
        "{row:?}"
    );
    assert_eq!(e.drain_at(&now_plus(1)).await.dry_run, 0);
}

#[tokio::test]
async fn a_receipt_left_sending_is_not_resent_until_an_operator_retries() {
    let mut e = env(ReceiptMode::DryRun);
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    // A process stopped between `sending` and the server's reply.
    e.db.receipt_mark_sending(r, "<receipt-x@kepu-intake.local>")
        .unwrap();
    let s = e.drain_at(&t0).await;
    assert_eq!((s.uncertain, s.dry_run), (1, 0), "{s:?}");
    let row = e.row(r);
    assert_eq!(row.status, "failed");
    assert_eq!(
        row.reason.as_deref(),
        Some(format!("uncertain: process stopped during SMTP; check the Sent folder then run receipts --retry {r}").as_str())
    );
    assert!(receipts::list_text(&e.db)
        .unwrap()
        .contains("uncertain: process stopped"));
    assert!(!e
        .data
        .join("receipts-dry-run")
        .join(format!("{r}.eml"))
        .exists());

    receipts::retry(&e.db, r).unwrap();
    let s = e.drain_at(&now_plus(1)).await;
    assert_eq!(s.dry_run, 1, "{s:?}");
    let row = e.row(r);
    assert_eq!(row.status, "previewed");
    assert_eq!(
        row.our_message_id.as_deref(),
        Some("<receipt-x@kepu-intake.local>")
    );
    e.db.receipt_mark_sent(r, "<receipt-x@kepu-intake.local>", "250 ok", &now_plus(2))
        .unwrap();
    let err = receipts::retry(&e.db, r).unwrap_err().to_string();
    assert!(
        err.contains("已于") && err.contains("already sent"),
        "{err}"
    );
}

#[tokio::test]
async fn mode_off_sends_nothing() {
    let mut e = env(ReceiptMode::Off);
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    assert_eq!(e.drain_at(&t0).await, receipts::DrainStats::default());
    assert_eq!(e.row(r).status, "pending");
}

#[tokio::test]
async fn a_connection_lost_after_data_is_uncertain_and_never_resent_blindly() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        exit_after_data: true,
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    e.cfg.smtp.user = String::new();
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.uncertain), (0, 1), "{s:?}");
    // The server did get it: exactly the window the status must not hide.
    assert_eq!(server.received().len(), 1);
    let row = e.row(r);
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    let reason = row.reason.unwrap();
    assert!(
        reason.starts_with("uncertain: connection lost after the message was sent")
            && reason.ends_with(&format!("run receipts --retry {r}")),
        "{reason}"
    );
    assert_eq!(
        e.drain_at(&now_plus(600)).await,
        receipts::DrainStats::default()
    );
}

#[tokio::test]
async fn the_global_rate_counts_receipts_sent_by_earlier_drains() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    e.cfg.smtp.user = String::new();
    e.cfg.receipts.max_per_minute = 2;
    let t0 = now_whole_seconds();
    let at = |s: i64| kepu_intake::time::fmt(&(t0 + chrono::Duration::seconds(s)));
    let (_, a) = e.add(1, "a@school.example", "一中", &at(-20));
    let (_, b) = e.add(2, "b@school.example", "二中", &at(-20));
    e.db.receipt_mark_sent(a, "<a@x>", "250 ok", &at(-10))
        .unwrap();
    e.db.receipt_mark_sent(b, "<b@x>", "250 ok", &at(-5))
        .unwrap();
    let (_, c) = e.add(3, "c@school.example", "三中", &at(0));

    // Two went out in the last minute: the drain waits for a slot until shut down.
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let s = receipts::drain_at(&e.cfg, &mut e.db, &e.dump, &stop, t0)
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(s.sent, 0, "{s:?}");
    assert_eq!(e.row(c).status, "pending");
    assert!(server.received().is_empty());

    e.cfg.receipts.max_per_minute = 3;
    let s = e.drain_at(&at(1)).await;
    assert_eq!(s.sent, 1, "{s:?}");
    assert_eq!(server.received().len(), 1);
}

#[test]
fn the_drain_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let mut e = env(ReceiptMode::DryRun);
    let stop = CancellationToken::new();
    let fut = receipts::drain(&e.cfg, &mut e.db, &e.dump, &stop);
    assert_send(&fut);
}

#[test]
fn compose_without_an_applicant_name_still_varies_the_subject() {
    let t = Template::builtin();
    let e = doc(
        41,
        "表.docx",
        "electronic",
        Some("pilot_school"),
        Fields::new(),
    );
    let dump = Dump {
        call: Default::default(),
        messages: vec![message(
            9,
            "x@school.example",
            "试点学校申报",
            "submission",
            vec![e],
        )],
        applications: vec![],
        ..Default::default()
    };
    let r = compose(&ctx(&t), &dump, &[&dump.messages[0]]);
    assert_eq!(
        r.subject,
        "回执：已收到您的申报材料（科技教育试点学校申报表，07-18 10:32）"
    );
    assert!(
        r.body
            .contains("附件4 科技教育试点学校申报表：（申报单位/申报人由工作人员核对），电子版"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn starttls_on_a_submission_port_works_too() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        starttls: true,
        auth: Some(("kepu".into(), "授权码-123".into())),
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    e.cfg.smtp.tls = TlsMode::Starttls;
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!(s.sent, 1, "{s:?}");
    assert_eq!(e.row(r).status, "sent");
    assert_eq!(server.received().len(), 1);

    // Without STARTTLS the server refuses MAIL: a 5xx, the receipt fails with the reply.
    e.cfg.smtp.tls = TlsMode::None;
    e.cfg.smtp.user = String::new();
    let (_, r2) = e.add(2, "b@school.example", "二中", &t0);
    let s = e.drain_at(&now_plus(1)).await;
    assert_eq!((s.sent, s.failed), (0, 1), "{s:?}");
    let row = e.row(r2);
    assert!(
        row.smtp_reply.as_deref().unwrap_or("").starts_with("530"),
        "{row:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_defers_and_names_the_login() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        auth: Some(("kepu".into(), "right".into())),
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    let t0 = now_plus(0);
    let (_, r) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.deferred), (0, 1), "{s:?}");
    let err = s.last_error.unwrap();
    assert!(
        err.contains("SMTP 登录失败 login as kepu at 127.0.0.1")
            && err.contains("535 5.7.8 Authentication credentials invalid"),
        "{err}"
    );
    assert_eq!(e.row(r).status, "pending");
    assert!(server.received().is_empty());
}

// ---------------------------------------------------------------- SIGKILL

/// The drain run by the kill test in a child process (this same test binary).
#[test]
#[ignore = "child process of receipts_survive_sigkill_without_duplicates"]
fn kill_test_child() {
    let Ok(db_path) = std::env::var("KEPU_KILL_DB") else {
        return;
    };
    let dump: Dump =
        serde_json::from_slice(&std::fs::read(std::env::var("KEPU_KILL_DUMP").unwrap()).unwrap())
            .unwrap();
    let mut cfg = Config::default();
    cfg.receipts.mode = ReceiptMode::Send;
    cfg.receipts.max_per_minute = 0;
    cfg.receipts.per_sender_window_s = 0;
    cfg.smtp.from = OWN.into();
    cfg.smtp.host = "127.0.0.1".into();
    cfg.smtp.port = std::env::var("KEPU_KILL_PORT").unwrap().parse().unwrap();
    cfg.smtp.tls = TlsMode::Implicit;
    cfg.smtp.ca_file = Some(std::env::var("KEPU_KILL_CA").unwrap().into());
    let mut db = Db::open(std::path::Path::new(&db_path)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(receipts::drain(
        &cfg,
        &mut db,
        &dump,
        &CancellationToken::new(),
    ))
    .unwrap();
}

/// SIGKILLs a drain at random moments, many times. Whatever the timing: no receipt
/// reaches the server twice, every `sent` row's message arrived, and every receipt ends
/// `sent` or `failed` as `uncertain` (never lost, never silently pending forever).
#[tokio::test]
async fn receipts_survive_sigkill_without_duplicates() {
    let server = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let mut e = env(ReceiptMode::Send);
    e.use_server(&server);
    let t0 = now_plus(0);
    let n = 60;
    for i in 1..=n {
        e.add(
            i,
            &format!("s{i}@school.example"),
            &format!("第{i}中学"),
            &t0,
        );
    }
    let dump_path = e.data.join("dump.json");
    std::fs::write(&dump_path, serde_json::to_vec(&e.dump).unwrap()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        std::process::Command::new(&exe)
            .args([
                "--exact",
                "receipts::kill_test_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env("KEPU_KILL_DB", e.data.join("intake.db"))
            .env("KEPU_KILL_DUMP", &dump_path)
            .env("KEPU_KILL_PORT", server.port.to_string())
            .env("KEPU_KILL_CA", server.ca.clone().unwrap())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // A small LCG: random kill moments without a dependency; the seed is printed.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill test seed {seed}");
    let mut kills = 0;
    for _ in 0..15 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let ms = 40 + (seed >> 33) % 400;
        let mut child = spawn();
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    // A last, undisturbed run finishes the queue.
    let status = spawn().wait().unwrap();
    assert!(status.success());

    let received: Vec<String> = server
        .received()
        .iter()
        .map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            header(&m, "Message-ID")
        })
        .collect();
    let mut unique = received.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        received.len(),
        "a receipt reached the server twice"
    );

    let (mut sent, mut uncertain) = (0, 0);
    for r in
        e.db.receipts_with_status(&[
            ReceiptStatus::Pending,
            ReceiptStatus::Sending,
            ReceiptStatus::Sent,
            ReceiptStatus::Failed,
        ])
        .unwrap()
    {
        match r.status.as_str() {
            "sent" => {
                let id = r.our_message_id.clone().unwrap();
                assert!(received.contains(&id), "row {} sent but not received", r.id);
                sent += 1;
            }
            "failed" => {
                assert!(
                    r.reason.as_deref().unwrap().starts_with("uncertain:"),
                    "{r:?}"
                );
                uncertain += 1;
            }
            other => panic!("row {} left {other}", r.id),
        }
    }
    assert_eq!(sent + uncertain, n as usize);
    // At most one row can be caught mid-conversation per kill.
    assert!(
        uncertain <= kills,
        "{uncertain} uncertain after {kills} kills"
    );
    println!(
        "{kills} kills: {sent} sent, {uncertain} uncertain, {} received",
        received.len()
    );
}

// ---------------------------------------------------------------- Sent folder

#[test]
fn folder_names_are_encoded_in_modified_utf7() {
    use kepu_intake::receipts::sent_folder::mutf7;
    assert_eq!(mutf7("已发送"), "&XfJT0ZAB-");
    assert_eq!(mutf7("Sent"), "Sent");
    assert_eq!(mutf7("A&B"), "A&-B");
    assert_eq!(mutf7("草稿箱"), "&g0l6P3ux-");
}

#[tokio::test]
async fn sent_receipts_are_copied_to_the_sent_folder() {
    use crate::receipts_dovecot::{Dovecot, PASSWORD, SENT, USER};
    let smtp = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let imap = Dovecot::start();
    let mut e = env(ReceiptMode::Send);
    e.use_server(&smtp);
    e.cfg.smtp.user = String::new();
    e.cfg.smtp.sent_folder = SENT.into();
    e.cfg.imap.host = "127.0.0.1".into();
    e.cfg.imap.port = imap.port;
    e.cfg.imap.tls = TlsMode::Implicit;
    e.cfg.imap.ca_file = Some(imap.ca.clone());
    e.cfg.imap.user = USER.into();
    let pw = e.data.join("imap-password");
    std::fs::write(&pw, PASSWORD).unwrap();
    e.cfg.imap.password_file = Some(pw);
    let t0 = now_plus(0);
    let (_, r1) = e.add(1, "office@school.example", "唐山市第一中学", &t0);
    let (_, r2) = e.add(2, "b@school.example", "唐山市第二中学", &t0);

    let s = e.drain_at(&t0).await;
    assert_eq!((s.sent, s.copied), (2, 2), "{s:?}\n{}", imap.log());
    assert_eq!(s.copy_error, None);
    let mut ids: Vec<String> = imap
        .sent_messages()
        .iter()
        .map(|raw| header(&MessageParser::default().parse(raw).unwrap(), "Message-ID"))
        .collect();
    ids.sort();
    let mut want = vec![
        e.row(r1).our_message_id.unwrap(),
        e.row(r2).our_message_id.unwrap(),
    ];
    want.sort();
    assert_eq!(ids, want);

    // A broken IMAP login leaves the receipts sent and says why the copy failed.
    std::fs::write(e.cfg.imap.password_file.as_ref().unwrap(), "wrong").unwrap();
    let (_, r3) = e.add(3, "c@school.example", "唐山市第三中学", &t0);
    let s = e.drain_at(&now_plus(1)).await;
    assert_eq!((s.sent, s.copied), (1, 0), "{s:?}");
    assert!(s.copy_error.unwrap().contains("IMAP 登录失败"));
    assert_eq!(e.row(r3).status, "sent");
    assert_eq!(imap.sent_messages().len(), 2);
}

#[tokio::test]
async fn an_interrupted_receipt_found_in_the_sent_folder_counts_as_sent() {
    use crate::receipts_dovecot::{Dovecot, PASSWORD, SENT, USER};
    let imap = Dovecot::start();
    let mut e = env(ReceiptMode::DryRun);
    e.cfg.smtp.sent_folder = SENT.into();
    e.cfg.imap.host = "127.0.0.1".into();
    e.cfg.imap.port = imap.port;
    e.cfg.imap.ca_file = Some(imap.ca.clone());
    e.cfg.imap.user = USER.into();
    let pw = e.data.join("imap-password");
    std::fs::write(&pw, PASSWORD).unwrap();
    e.cfg.imap.password_file = Some(pw);
    let t0 = now_plus(0);
    let (_, delivered) = e.add(1, "a@school.example", "一中", &t0);
    let (_, lost) = e.add(2, "b@school.example", "二中", &t0);
    e.db.receipt_mark_sending(delivered, "<receipt-1-aaaa@kepu-intake.local>")
        .unwrap();
    e.db.receipt_mark_sending(lost, "<receipt-2-bbbb@kepu-intake.local>")
        .unwrap();
    // The SMTP server filed the first one in Sent before the process died.
    let copy =
        b"Message-ID: <receipt-1-aaaa@kepu-intake.local>\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
    let n = kepu_intake::receipts::sent_folder::append_copies(&e.cfg, &[copy])
        .await
        .unwrap();
    assert_eq!(n, 1);

    let s = e.drain_at(&now_plus(1)).await;
    assert_eq!((s.sent, s.uncertain, s.dry_run), (1, 1, 0), "{s:?}");
    let row = e.row(delivered);
    assert_eq!(row.status, "sent");
    assert_eq!(
        row.smtp_reply.as_deref(),
        Some("found in Sent folder 已发送 after restart")
    );
    let row = e.row(lost);
    assert_eq!(row.status, "failed");
    assert_eq!(
        row.reason.as_deref(),
        Some(format!("uncertain: process stopped during SMTP; not found in the Sent folder; check the Sent folder then run receipts --retry {lost}").as_str())
    );
}

#[test]
fn compose_repeats_no_link_or_control_character_a_sender_wrote() {
    let t = Template::builtin();
    let e = doc(
        51,
        "申报表\u{202E}xcod.exe http://evil.example/a.docx",
        "electronic",
        Some("resource"),
        fields(&[(
            "申报单位名称",
            "唐山市www.evil.example第一中学\r\n点击 https://evil.example/领奖",
        )]),
    );
    let mut other = doc(52, "说明 evil.example.txt", "other", None, Fields::new());
    other.size = 50_000;
    let mut m = message(
        10,
        "x@school.example",
        "领奖 http://evil.example/x",
        "submission",
        vec![e, other],
    );
    m.problems = vec!["cloud_attachment:资料www.evil.example.zip:2022-08-01".into()];
    let dump = Dump {
        messages: vec![m],
        applications: vec![app(
            9,
            "resource",
            "唐山市www.evil.example第一中学",
            "missing_scan",
            Some(51),
            None,
        )],
        audit: Vec::new(),
        call: Default::default(),
    };
    let r = compose(&ctx(&t), &dump, &[&dump.messages[0]]);
    for text in [&r.subject, &r.body] {
        assert!(
            !text.contains("evil") && !text.contains("http") && !text.contains('\u{202E}'),
            "{text}"
        );
    }
    assert!(r.subject.contains("「唐山市…第一中学"), "{}", r.subject);
    assert!(
        r.body.contains("以下其他附件已收到：说明 ….txt"),
        "{}",
        r.body
    );
}
