//! Hand-made `dump --json` records for the tests that feed the report, roster, receipts
//! and page code without a mailbox. Every field gets a plain default, so a test spells
//! out only what it is about: `DumpDocument { name: "扫描件.jpg".into(), ..document(7,
//! DocKind::Scan, None, Fields::new()) }`.

use kepu_intake::db::messages::{NewMessage, Origin, Recorded};
use kepu_intake::db::Db;
use kepu_intake::domain::{AppStatus, Category, DocFormat, DocKind, ReceiptStatus};
use kepu_intake::model::{FieldValue, Fields};
use kepu_intake::report::dump::{DumpApplication, DumpDocument, DumpMessage, DumpReceipt};

/// Text fields from (label, value) pairs.
pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), FieldValue::Text(v.to_string())))
        .collect()
}

/// Document `id`: `{id}.docx`, 1000 bytes, stored as `docs/{id}`, no problems (its
/// message is set by [`message`]).
pub fn document(id: i64, kind: DocKind, form: Option<&str>, fields: Fields) -> DumpDocument {
    DumpDocument {
        id,
        name: format!("{id}.docx"),
        container: None,
        sha256: format!("{id:064x}"),
        format: DocFormat::Docx,
        kind,
        form: form.map(Into::into),
        fields,
        stamped: None,
        scan_of: None,
        superseded_by: None,
        problems: vec![],
        size: 1000,
        seal_score: None,
        match_score: None,
        path: format!("docs/{id}"),
        message: 0,
        applicant: None,
        ocr_text: None,
        seal_text: None,
        look: None,
    }
}

/// Message `id` from `from`, `<m{id}@school.example>`, subject 申报材料, received
/// 2022-07-18 10:32:05 +08:00 by `import`, its receipt pending.
pub fn message(id: i64, from: &str, category: Category, docs: Vec<DumpDocument>) -> DumpMessage {
    let docs = in_message(id, docs);
    DumpMessage {
        id,
        message_id: Some(format!("<m{id}@school.example>")),
        from: Some(from.into()),
        subject: Some("申报材料".into()),
        received_at: "2022-07-18T10:32:05+08:00".into(),
        date_header: None,
        late: false,
        category: Some(category),
        duplicate_of: None,
        receipt: DumpReceipt {
            status: ReceiptStatus::Pending,
            reason: None,
        },
        problems: vec![],
        documents: docs,
        sha256: format!("{id:064x}"),
        size: 1000,
        mailbox: None,
        uidvalidity: None,
        uid: None,
        source: "import".into(),
        removed: None,
    }
}

/// `docs` as documents of message `id`.
pub fn in_message(id: i64, docs: Vec<DumpDocument>) -> Vec<DumpDocument> {
    docs.into_iter()
        .map(|d| DumpDocument { message: id, ..d })
        .collect()
}

/// Application `id` of `form` by `applicant`, not late, not reviewed.
pub fn application(
    id: i64,
    form: &str,
    applicant: &str,
    status: AppStatus,
    electronic: Option<i64>,
    scan: Option<i64>,
) -> DumpApplication {
    DumpApplication {
        id,
        form: form.into(),
        applicant: applicant.into(),
        status,
        late: false,
        electronic,
        scan,
        problems: vec![],
        email: None,
        received_at: None,
        review: Default::default(),
        late_excused: None,
    }
}

/// Mail `n` from `from` as `import` would record it (`/import/{n}.eml`, no problems, not
/// late); a test overrides what it is about with `NewMessage { subject: …, ..new_message(…) }`.
pub fn new_message(n: i64, from: &str, received_at: &str, recorded_at: &str) -> NewMessage {
    NewMessage {
        origin: Origin::Import {
            path: format!("/import/{n}.eml"),
        },
        sha256: format!("{n:064x}"),
        body_sha256: format!("body{n}"),
        size: 100,
        message_id: Some(format!("<m{n}@school.example>")),
        from_addr: Some(from.into()),
        from_name: None,
        subject: None,
        received_at: received_at.into(),
        received_estimated: false,
        date_header: None,
        late: false,
        problems: vec![],
        recorded_at: recorded_at.into(),
    }
}

/// Records `m` and returns its new id (the test's mails are all new).
pub fn record_new(db: &mut Db, m: NewMessage) -> i64 {
    match db.record_batch(&[m], None).unwrap()[0] {
        Recorded::New(id) => id,
        ref other => panic!("{other:?}"),
    }
}
