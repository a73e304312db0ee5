//! Documents and the processing result of a message: written in one transaction per
//! batch together with the message's category and its receipt row, so a message counts
//! as processed exactly when all of that is committed.

use super::receipts::insert_receipt;
use super::{from_json_list, to_json_list, Db};
pub use crate::domain::document::{DocInMail, Document, NewDocument, NewReceipt, Processed};
use crate::domain::{Category, DocKind};
use crate::error::Result;
use crate::store::Store;
use rusqlite::params;
use rusqlite::TransactionBehavior;

impl Db {
    /// Records a batch of processing results. Earlier results of the same messages
    /// (reprocessing) are replaced; the raw mail is never touched.
    pub fn save_processed(&mut self, batch: &[Processed]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let now = crate::time::fmt(&crate::time::now());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        for p in batch {
            save_one(&tx, p, &now).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Category of an already processed message (for its duplicates).
    pub fn message_category(&self, id: i64) -> Result<Option<Category>> {
        self.conn
            .query_row("SELECT category FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Electronic forms and scans of non-duplicate messages, oldest first; also the
    /// attachments that could not be opened (kind `other`, an encrypted or corrupt
    /// file): a scan in the same mail belongs with them. With their OCR text.
    pub fn docs_for_matching(&self) -> Result<Vec<DocInMail>> {
        self.rows(
            &format!(
                "SELECT {}, m.from_addr, m.received_at, m.late, m.from_name, m.subject
                 FROM documents d JOIN messages m ON m.id = d.message
                 WHERE (d.kind IN ('electronic', 'scan')
                        OR (d.kind = 'other' AND (d.problems LIKE '%encrypted_attachment%'
                                                  OR d.problems LIKE '%corrupt_attachment%')))
                   AND m.duplicate_of IS NULL
                   AND m.sha256 NOT IN (SELECT sha256 FROM removed_messages)
                 ORDER BY m.received_at, d.id",
                doc_columns(true)
            ),
            [],
            |r| {
                Ok(DocInMail {
                    doc: document(r)?,
                    from_addr: r.get(DOC_COLUMNS)?,
                    received_at: r.get(DOC_COLUMNS + 1)?,
                    late: r.get(DOC_COLUMNS + 2)?,
                    from_name: r.get(DOC_COLUMNS + 3)?,
                    subject: r.get(DOC_COLUMNS + 4)?,
                })
            },
        )
    }

    /// Operator decisions: scan sha256 → electronic sha256 (None = matches nothing).
    pub fn manual_matches(&self) -> Result<Vec<(String, Option<String>)>> {
        self.rows(
            "SELECT scan_sha256, electronic_sha256 FROM manual_matches",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn set_manual_match(&self, scan_sha: &str, electronic_sha: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO manual_matches(scan_sha256, electronic_sha256, decided_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(scan_sha256) DO UPDATE SET electronic_sha256 = excluded.electronic_sha256,
                    decided_at = excluded.decided_at",
                params![scan_sha, electronic_sha, crate::time::fmt(&crate::time::now())],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// (sha256, kind) of a document by id.
    pub fn document_sha_kind(&self, id: i64) -> Result<Option<(String, DocKind)>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT sha256, kind FROM documents WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The OCR text recorded for a document (a scan's words and seal text), if any.
    pub fn document_ocr_text(&self, id: i64) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT ocr_text FROM documents WHERE id = ?1", [id], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// How many recorded documents of the given messages (all when None) are picture
    /// or PDF files that are neither electronic forms nor containers: the scans a
    /// reprocess will look at again. Used only to show progress.
    pub fn count_scan_candidates(&self, messages: Option<&[i64]>) -> Result<usize> {
        const WHERE: &str = "kind NOT IN ('electronic', 'archive', 'cloud_link') \
             AND format IN ('jpg', 'png', 'tiff', 'bmp', 'gif', 'webp', 'heic', 'pdf')";
        let n: i64 = match messages {
            None => self
                .conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM documents WHERE {WHERE}"),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?,
            Some(ids) => {
                let mut stmt = self
                    .conn
                    .prepare(&format!(
                        "SELECT COUNT(*) FROM documents WHERE message = ?1 AND {WHERE}"
                    ))
                    .map_err(|e| self.err(e))?;
                let mut total = 0i64;
                for id in ids {
                    total += stmt
                        .query_row([id], |r| r.get::<_, i64>(0))
                        .map_err(|e| self.err(e))?;
                }
                total
            }
        };
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Cached scan analysis (JSON) by the document's sha256.
    pub fn scan_cache_get(&self, sha: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT text FROM ocr_cache WHERE sha256 = ?1", [sha], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// A recognised form (JSON of `ParsedForm`) by `sha256:format:version`.
    pub fn form_cache_get(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .prepare_cached("SELECT json FROM form_cache WHERE key = ?1")
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    pub fn form_cache_put(&self, key: &str, json: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO form_cache(key, json, created_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut st| {
                st.execute(params![key, json, crate::time::fmt(&crate::time::now())])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn scan_cache_put(&self, sha: &str, json: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO ocr_cache(sha256, text, created_at) VALUES (?1, ?2, ?3)",
                params![sha, json, crate::time::fmt(&crate::time::now())],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

/// How many columns [`doc_columns`] selects; a query's own columns follow them.
pub(super) const DOC_COLUMNS: usize = 20;

/// The columns of `documents d` that make a [`Document`], in the order [`document`]
/// reads them. Without `text` the OCR and seal text are not read (the dump leaves them out).
pub(super) fn doc_columns(text: bool) -> String {
    format!(
        "d.id, d.message, d.name, d.container, d.sha256, d.format, d.kind, d.form,
         d.applicant, d.fields, d.stamped, d.scan_of, d.superseded_by, d.problems, d.size,
         d.seal_score, d.match_score, {}, d.page_look",
        if text {
            "d.ocr_text, d.seal_text"
        } else {
            "NULL, NULL"
        }
    )
}

/// The recorded document of a row selected with [`doc_columns`]: the one place a
/// `documents` row becomes a [`Document`].
pub(super) fn document(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    let fields: String = r.get(9)?;
    let problems: String = r.get(13)?;
    let sha256: String = r.get(4)?;
    Ok(Document {
        id: r.get(0)?,
        message: r.get(1)?,
        name: r.get(2)?,
        container: r.get(3)?,
        path: Store::doc_rel(&sha256).to_string_lossy().into_owned(),
        sha256,
        format: r.get(5)?,
        kind: r.get(6)?,
        form: r.get(7)?,
        applicant: r.get(8)?,
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        stamped: r.get(10)?,
        scan_of: r.get(11)?,
        superseded_by: r.get(12)?,
        problems: from_json_list(&problems),
        size: r.get(14)?,
        seal_score: r.get(15)?,
        match_score: r.get(16)?,
        ocr_text: r.get(17)?,
        seal_text: r.get(18)?,
        look: r
            .get::<_, Option<String>>(19)?
            .and_then(|j| serde_json::from_str(&j).ok()),
    })
}

/// One message's processing results, inside [`Db::save_processed`]'s transaction. The
/// statements are cached: a batch runs them hundreds of times, and compiling each
/// anew was a fifth of the catch-up's database time.
fn save_one(tx: &rusqlite::Transaction<'_>, p: &Processed, now: &str) -> rusqlite::Result<()> {
    // Ingest problems (e.g. received_time_estimated) stay; pipeline ones are renewed.
    let old: String = tx
        .prepare_cached("SELECT problems FROM messages WHERE id = ?1")?
        .query_row([p.message], |r| r.get(0))?;
    let mut problems: Vec<String> = from_json_list(&old)
        .into_iter()
        .filter(|x| x == "received_time_estimated")
        .collect();
    problems.extend(p.problems.iter().cloned());
    // Rows are updated in place by (message, seq), so a document keeps its id
    // across `reprocess` and operators' references to it stay valid.
    let mut ids: Vec<i64> = Vec::with_capacity(p.documents.len());
    for (seq, d) in p.documents.iter().enumerate() {
        let container = d.container.and_then(|i| ids.get(i).copied());
        let id: i64 = tx
            .prepare_cached(
                "INSERT INTO documents(message, seq, container, name, sha256, size, format, kind,
                        form, applicant, fields, stamped, seal_score, ocr_text, problems, seal_text,
                        page_look)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                        ?17)
                     ON CONFLICT(message, seq) DO UPDATE SET container = excluded.container,
                        name = excluded.name, sha256 = excluded.sha256, size = excluded.size,
                        format = excluded.format, kind = excluded.kind, form = excluded.form,
                        applicant = excluded.applicant, fields = excluded.fields,
                        stamped = excluded.stamped, seal_score = excluded.seal_score,
                        ocr_text = excluded.ocr_text, problems = excluded.problems,
                        seal_text = excluded.seal_text, page_look = excluded.page_look
                     RETURNING id",
            )
            .and_then(|mut st| {
                st.query_row(
                    params![
                        p.message,
                        seq as i64,
                        container,
                        d.name,
                        d.sha256,
                        d.size,
                        d.format,
                        d.kind,
                        d.form,
                        d.applicant,
                        serde_json::to_string(&d.fields).unwrap_or_else(|_| "{}".into()),
                        d.stamped,
                        d.seal_score,
                        d.ocr_text,
                        to_json_list(&d.problems),
                        d.seal_text,
                        d.look.and_then(|l| serde_json::to_string(&l).ok()),
                    ],
                    |r| r.get(0),
                )
            })?;
        ids.push(id);
    }
    tx.prepare_cached("DELETE FROM documents WHERE message = ?1 AND seq >= ?2")?
        .execute(params![p.message, p.documents.len() as i64])?;
    tx.prepare_cached(
        "UPDATE messages SET category = ?2, problems = ?3, processed_at = ?4,
                from_addr = coalesce(?5, from_addr), from_name = coalesce(?6, from_name),
                subject = coalesce(?7, subject), message_id = coalesce(message_id, ?8)
             WHERE id = ?1",
    )?
    .execute(params![
        p.message,
        p.category,
        to_json_list(&problems),
        now,
        p.from_addr,
        p.from_name,
        p.subject,
        p.message_id
    ])?;
    if let Some(r) = &p.receipt {
        insert_receipt(tx, p.message, &r.to, r.status, r.reason.as_deref(), now)?;
    }
    Ok(())
}
