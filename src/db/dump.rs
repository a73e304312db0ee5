//! Loads the whole intake state as the `dump --json` model (`report::dump`).

use super::{from_json_list, Db};
use crate::domain::dump::{
    Dump, DumpApplication, DumpDocument, DumpLateExcuse, DumpMessage, DumpReceipt, DumpRemoved,
    DumpReview,
};
use crate::domain::ReceiptStatus;
use crate::error::Result;
use std::collections::HashMap;

impl Db {
    /// Everything, read in one snapshot (see [`Db::snapshot`]).
    pub fn load_dump(&self) -> Result<Dump> {
        self.snapshot(|| self.load_dump_unlocked())
    }

    fn load_dump_unlocked(&self) -> Result<Dump> {
        Ok(Dump {
            messages: self.dump_messages(None)?,
            applications: self.query_applications(&AppQuery::default())?.0,
            call: crate::domain::dump::DumpCall::of(crate::call::current()),
            audit: self.audit_log()?,
        })
    }

    /// Messages with their documents, receipt and removal: all of them, or those whose
    /// ids are in the JSON array `only`; by id, documents in their order.
    pub(super) fn dump_messages(&self, only: Option<&str>) -> Result<Vec<DumpMessage>> {
        let e = |x| self.err(x);
        let (filter, args): (&str, Vec<&dyn rusqlite::ToSql>) = match &only {
            None => ("", vec![]),
            Some(ids) => (
                "WHERE message IN (SELECT value FROM json_each(?1))",
                vec![ids],
            ),
        };
        let mut receipts: HashMap<i64, DumpReceipt> = HashMap::new();
        {
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT message, status, reason FROM receipts {filter}"
                ))
                .map_err(e)?;
            let rows = st
                .query_map(args.as_slice(), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        DumpReceipt {
                            status: r.get(1)?,
                            reason: r.get(2)?,
                        },
                    ))
                })
                .map_err(e)?;
            for row in rows {
                let (m, rc) = row.map_err(e)?;
                receipts.insert(m, rc);
            }
        }
        let mut docs: HashMap<i64, Vec<DumpDocument>> = HashMap::new();
        {
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT {} FROM documents d {filter} ORDER BY d.message, d.seq",
                    super::documents::doc_columns(false)
                ))
                .map_err(e)?;
            let rows = st
                .query_map(args.as_slice(), |r| {
                    super::documents::document(r).map(|d| (d.message, d))
                })
                .map_err(e)?;
            for row in rows {
                let (m, d) = row.map_err(e)?;
                docs.entry(m).or_default().push(d);
            }
        }
        let mut removed: HashMap<i64, DumpRemoved> = self
            .removed_messages()?
            .into_iter()
            .map(|(id, by, at, reason)| (id, DumpRemoved { by, at, reason }))
            .collect();
        let mut messages = Vec::new();
        {
            let filter = if only.is_some() {
                "WHERE id IN (SELECT value FROM json_each(?1))"
            } else {
                ""
            };
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT id, message_id, from_addr, subject, received_at, date_header, late, category,
                            duplicate_of, problems, sha256, size, mailbox, uidvalidity, uid, source
                     FROM messages {filter} ORDER BY id"
                ))
                .map_err(e)?;
            let rows = st
                .query_map(args.as_slice(), |r| {
                    let problems: String = r.get(9)?;
                    Ok(DumpMessage {
                        id: r.get(0)?,
                        message_id: r.get(1)?,
                        from: r.get(2)?,
                        subject: r.get(3)?,
                        received_at: r.get(4)?,
                        date_header: r.get(5)?,
                        late: r.get(6)?,
                        category: r.get(7)?,
                        duplicate_of: r.get(8)?,
                        receipt: DumpReceipt {
                            status: ReceiptStatus::None,
                            reason: None,
                        },
                        problems: from_json_list(&problems),
                        documents: vec![],
                        sha256: r.get(10)?,
                        size: r.get(11)?,
                        mailbox: r.get(12)?,
                        uidvalidity: r.get(13)?,
                        uid: r.get(14)?,
                        source: r.get(15)?,
                        removed: None,
                    })
                })
                .map_err(e)?;
            for row in rows {
                let mut m = row.map_err(e)?;
                if let Some(rc) = receipts.remove(&m.id) {
                    m.receipt = rc;
                }
                m.documents = docs.remove(&m.id).unwrap_or_default();
                m.removed = removed.remove(&m.id);
                messages.push(m);
            }
        }
        Ok(messages)
    }

    /// Every application, by id.
    pub fn load_applications(&self) -> Result<Vec<DumpApplication>> {
        Ok(self.query_applications(&AppQuery::default())?.0)
    }

    /// The applications `q` selects (filters in SQL, by id, at most `q.limit`) and how
    /// many match in all. One table is read: each row carries its sender and receipt
    /// time (schema migration 3), so 10,000 applications list in a few milliseconds.
    pub fn query_applications(&self, q: &AppQuery) -> Result<(Vec<DumpApplication>, usize)> {
        self.snapshot(|| {
            let e = |x| self.err(x);
            let mut cond = vec!["1"];
            let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
            if let Some(f) = &q.form {
                cond.push("a.form = ?");
                args.push(f);
            }
            if let Some(s) = &q.status {
                cond.push("a.status = ?");
                args.push(s);
            }
            if q.late {
                cond.push("a.late != 0");
            }
            let filter = cond.join(" AND ");
            let limit = q.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            let rows = self.select_applications(&filter, args.as_slice(), limit)?;
            let total = match q.limit {
                Some(n) if rows.len() >= n => self
                    .conn
                    .query_row(
                        &format!("SELECT count(*) FROM applications a WHERE {filter}"),
                        args.as_slice(),
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| usize::try_from(n).unwrap_or(0))
                    .map_err(e)?,
                _ => rows.len(),
            };
            Ok((rows, total))
        })
    }

    /// Applications (with their review and late excuse) matching the SQL condition
    /// `filter` over `a`, by id, at most `limit` (-1: all).
    pub(super) fn select_applications(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
        limit: i64,
    ) -> Result<Vec<DumpApplication>> {
        self.rows(
            &format!(
                "SELECT a.id, a.form, a.applicant, a.status, a.late, a.electronic, a.scan,
                        a.problems, a.email, a.received_at,
                        r.state, r.note, r.by_user, r.at, x.reason, x.by_user, x.at
                 FROM applications a
                 LEFT JOIN reviews r ON r.form = a.form AND r.applicant_key = a.applicant_key
                 LEFT JOIN late_excuses x
                        ON x.form = a.form AND x.applicant_key = a.applicant_key
                 WHERE {filter} ORDER BY a.id LIMIT {limit}"
            ),
            args,
            |r| {
                let problems: String = r.get(7)?;
                Ok(DumpApplication {
                    id: r.get(0)?,
                    form: r.get(1)?,
                    applicant: r.get(2)?,
                    status: r.get(3)?,
                    late: r.get(4)?,
                    electronic: r.get(5)?,
                    scan: r.get(6)?,
                    // Most applications have none: skip the JSON parser for "[]".
                    problems: if problems == "[]" {
                        Vec::new()
                    } else {
                        from_json_list(&problems)
                    },
                    email: r.get(8)?,
                    received_at: r.get(9)?,
                    review: match r.get::<_, Option<crate::domain::ReviewState>>(10)? {
                        None => DumpReview::default(),
                        Some(state) => DumpReview {
                            state,
                            note: r.get(11)?,
                            by: r.get(12)?,
                            at: r.get(13)?,
                        },
                    },
                    late_excused: match r.get::<_, Option<String>>(14)? {
                        None => None,
                        Some(reason) => Some(DumpLateExcuse {
                            reason,
                            by: r.get(15)?,
                            at: r.get(16)?,
                        }),
                    },
                })
            },
        )
    }
}

/// Which applications `list` wants; `None`/`false` = no filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppQuery {
    pub form: Option<String>,
    pub status: Option<String>,
    pub late: bool,
    /// At most this many rows (the first by id).
    pub limit: Option<usize>,
}
