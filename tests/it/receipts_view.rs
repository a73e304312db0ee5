//! A due receipt reads only the rows it speaks of (`Db::receipt_view`), and says the
//! same as when it is composed from the whole dump: the sample mailbox imported, then
//! every message's receipt — and one folding two mails of one sender — composed both
//! ways; and a made-up intake whose receipts need rows of other mails (an unmatched
//! scan of the same sender, an electronic version sent by someone else).

use crate::pipeline::{kepu, root};
use crate::support::dump::{new_message, record_new};
use kepu_intake::db::messages::NewMessage;
use kepu_intake::db::Db;
use kepu_intake::domain::application::{AppRow, DocLinks};
use kepu_intake::domain::document::{NewDocument, Processed};
use kepu_intake::domain::{AppStatus, Category, DocFormat, DocKind};
use kepu_intake::model::{FieldValue, FormKey};
use kepu_intake::receipts::compose::{compose, ComposeContext};
use kepu_intake::receipts::template::Template;
use kepu_intake::report::dump::{Dump, DumpMessage};

fn composed(ctx: &ComposeContext<'_>, dump: &Dump, ids: &[i64]) -> (String, String) {
    let messages: Vec<&DumpMessage> = ids
        .iter()
        .map(|id| dump.messages.iter().find(|m| m.id == *id).unwrap())
        .collect();
    let r = compose(ctx, dump, &messages);
    (r.subject, r.body)
}

#[test]
fn receipts_view_composes_what_the_whole_dump_composes() {
    same_receipts_both_ways("fixtures/sample-mailbox");
}

fn same_receipts_both_ways(mailbox: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("k.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &cfg,
        format!("[storage]\ndata_dir = \"{}\"\n", data.display()),
    )
    .unwrap();
    let dir_path = root().join(mailbox);
    let (ok, _, err) = kepu(&cfg, &["import", dir_path.to_str().unwrap()]);
    assert!(ok, "import failed: {err}");

    let db = Db::open(&data.join("intake.db")).unwrap();
    let full = db.load_dump().unwrap();
    assert!(
        full.messages.len() >= 10 && !full.applications.is_empty(),
        "{mailbox}"
    );
    let template = Template::load(None).unwrap();
    let ctx = ctx(&template);

    let mut answered: Vec<Vec<i64>> = full.messages.iter().map(|m| vec![m.id]).collect();
    // Two mails of one sender folded into one receipt.
    let first = &full.messages[0];
    if let Some(second) = full.messages[1..].iter().find(|m| m.from == first.from) {
        answered.push(vec![first.id, second.id]);
    }
    let mut smaller = 0;
    for ids in &answered {
        let view = db.receipt_view(ids).unwrap();
        assert_eq!(
            composed(&ctx, &view, ids),
            composed(&ctx, &full, ids),
            "{mailbox}: receipt for messages {ids:?}"
        );
        if view.messages.len() < full.messages.len() {
            smaller += 1;
        }
        assert!(view.audit.is_empty());
    }
    // Most receipts need a few of the ten mails, not all of them.
    assert!(
        smaller * 2 > answered.len(),
        "{smaller} of {}",
        answered.len()
    );
}

fn ctx(template: &Template) -> ComposeContext<'_> {
    ComposeContext {
        template,
        contact: "唐山市科协青少年科技中心",
        deadline: None,
        ocr: true,
    }
}

fn record(db: &mut Db, n: i64, from: &str, docs: Vec<NewDocument>) -> i64 {
    let m = NewMessage {
        message_id: Some(format!("<m{n}@example>")),
        ..new_message(
            n,
            from,
            &format!("2022-07-1{n}T10:00:00+08:00"),
            "2022-07-19T10:00:00+08:00",
        )
    };
    let id = record_new(db, m);
    db.save_processed(&[Processed {
        message: id,
        category: Category::Submission,
        from_addr: None,
        from_name: None,
        subject: None,
        message_id: None,
        problems: vec![],
        documents: docs,
        receipt: None,
    }])
    .unwrap();
    id
}

fn document(n: u8, kind: DocKind, form: Option<FormKey>, name: Option<&str>) -> NewDocument {
    let mut d = NewDocument::unclassified(
        format!("{n}.docx"),
        format!("{n:064x}"),
        1000,
        DocFormat::Docx,
    );
    d.kind = kind;
    d.form = form.map(|f| f.as_str().to_string());
    if let (Some(f), Some(name)) = (form, name) {
        d.fields
            .insert(f.applicant_key().into(), FieldValue::Text(name.into()));
    }
    d
}

#[test]
fn receipts_view_holds_the_rows_of_other_mails_a_receipt_speaks_of() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("intake.db")).unwrap();
    let resource = FormKey::parse("resource").unwrap();
    let expert = FormKey::parse("expert").unwrap();
    // a@ sends a form, then a scan that matched nothing; b@ sends a scan whose
    // electronic version (lacking a field) c@ sent; d@ is unrelated.
    let m1 = record(
        &mut db,
        1,
        "a@school.example",
        vec![document(
            1,
            DocKind::Electronic,
            Some(resource),
            Some("甲中学"),
        )],
    );
    let m2 = record(
        &mut db,
        2,
        "a@school.example",
        vec![document(2, DocKind::Scan, None, None)],
    );
    let m3 = record(
        &mut db,
        3,
        "b@uni.example",
        vec![document(3, DocKind::Scan, None, None)],
    );
    let mut e4 = document(4, DocKind::Electronic, Some(expert), Some("张三"));
    e4.problems = vec!["missing_field:联系电话".into()];
    let m4 = record(&mut db, 4, "c@uni.example", vec![e4]);
    let m5 = record(
        &mut db,
        5,
        "d@other.example",
        vec![document(
            5,
            DocKind::Electronic,
            Some(resource),
            Some("乙中学"),
        )],
    );
    let doc_of = |db: &Db, m: i64| {
        let d = db.load_dump().unwrap();
        d.messages.iter().find(|x| x.id == m).unwrap().documents[0].id
    };
    let (e1, s3, e4, e5) = (
        doc_of(&db, m1),
        doc_of(&db, m3),
        doc_of(&db, m4),
        doc_of(&db, m5),
    );
    let app = |form: FormKey, who: &str, status, electronic, scan| AppRow {
        form: form.as_str().into(),
        applicant: who.into(),
        applicant_key: who.into(),
        status,
        late: false,
        electronic,
        scan,
        problems: vec![],
    };
    db.save_applications(
        &[
            app(resource, "甲中学", AppStatus::MissingScan, Some(e1), None),
            app(expert, "张三", AppStatus::Complete, Some(e4), Some(s3)),
            app(resource, "乙中学", AppStatus::MissingScan, Some(e5), None),
        ],
        &DocLinks {
            scan_of: vec![(s3, e4, 0.9)],
            superseded_by: vec![],
        },
    )
    .unwrap();

    let full = db.load_dump().unwrap();
    let template = Template::load(None).unwrap();
    let ctx = ctx(&template);
    for m in [m1, m2, m3, m4, m5] {
        let view = db.receipt_view(&[m]).unwrap();
        assert_eq!(
            composed(&ctx, &view, &[m]),
            composed(&ctx, &full, &[m]),
            "message {m}"
        );
        assert!(view.messages.len() < full.messages.len(), "message {m}");
    }
    // The paths that need other mails' rows were taken: a@'s unmatched scan (message
    // 2) keeps the receipt of message 1 from asking for one, and c@'s electronic
    // version's problem reaches b@'s receipt.
    let (_, body1) = composed(&ctx, &db.receipt_view(&[m1]).unwrap(), &[m1]);
    assert!(body1.contains("尚未对应到盖章扫描件"), "{body1}");
    let (_, body3) = composed(&ctx, &db.receipt_view(&[m3]).unwrap(), &[m3]);
    assert!(body3.contains("「联系电话」未填写"), "{body3}");
    // Nobody else's mail is read for a@'s receipt.
    let view = db.receipt_view(&[m1]).unwrap();
    let ids: Vec<i64> = view.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![m1, m2]);
}
