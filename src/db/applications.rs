//! Storing the computed applications and document links. Application ids stay stable
//! across rebuilds: rows are upserted by (form, applicant_key) and only those no longer
//! backed by any document are removed.

use super::{to_json_list, Db};
use crate::domain::application::{AppRow, DocLinks};
use crate::error::Result;
use rusqlite::params;
use rusqlite::TransactionBehavior;

/// What a rebuild computes from the documents and the operators' matches.
pub type Build<'b> = dyn FnOnce(
        &[crate::domain::document::DocInMail],
        &std::collections::HashMap<String, Option<String>>,
    ) -> (Vec<AppRow>, DocLinks)
    + 'b;

impl Db {
    pub fn save_applications(&mut self, apps: &[AppRow], links: &DocLinks) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        write_applications(&tx, apps, links).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Reads the documents and matches, computes the applications with `build` and
    /// saves them, all in one IMMEDIATE transaction: with the daemon, `reprocess` and
    /// an operator's `match` writing at once, a rebuild computed from a read taken
    /// before another one committed must not overwrite the newer result.
    pub fn rebuild_applications(&mut self, build: Box<Build<'_>>) -> Result<()> {
        let err = |e| self.err(e);
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(err)?;
        let docs = self.docs_for_matching()?;
        let manual = self.manual_matches()?.into_iter().collect();
        let (apps, links) = build(&docs, &manual);
        write_applications(&tx, &apps, &links).map_err(err)?;
        tx.commit().map_err(err)
    }
}

/// Replaces the applications and the documents' links inside `tx`.
fn write_applications(
    tx: &rusqlite::Transaction<'_>,
    apps: &[AppRow],
    links: &DocLinks,
) -> rusqlite::Result<()> {
    let now = crate::time::fmt(&crate::time::now());
    tx.execute(
        "UPDATE documents SET scan_of = NULL, match_score = NULL, superseded_by = NULL",
        [],
    )?;
    // Statements run once per link or application are cached (compiled once).
    for (scan, e, score) in &links.scan_of {
        tx.prepare_cached("UPDATE documents SET scan_of = ?2, match_score = ?3 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![scan, e, score]))?;
    }
    for (old, new) in &links.superseded_by {
        tx.prepare_cached("UPDATE documents SET superseded_by = ?2 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![old, new]))?;
    }
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS live_apps(form TEXT, applicant_key TEXT)",
        [],
    )?;
    tx.execute("DELETE FROM live_apps", [])?;
    for a in apps {
        tx.prepare_cached(
            "INSERT INTO applications(form, applicant, applicant_key, status, late, electronic, scan, problems, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(form, applicant_key) DO UPDATE SET applicant = excluded.applicant,
                status = excluded.status, late = excluded.late, electronic = excluded.electronic,
                scan = excluded.scan, problems = excluded.problems, updated_at = excluded.updated_at",
        )
        .and_then(|mut st| {
            st.execute(params![
                a.form,
                a.applicant,
                a.applicant_key,
                a.status,
                a.late,
                a.electronic,
                a.scan,
                to_json_list(&a.problems),
                now
            ])
        })
        ?;
        tx.prepare_cached("INSERT INTO live_apps(form, applicant_key) VALUES (?1, ?2)")
            .and_then(|mut st| st.execute(params![a.form, a.applicant_key]))?;
    }
    tx.execute(
        "DELETE FROM applications WHERE NOT EXISTS (SELECT 1 FROM live_apps l
           WHERE l.form = applications.form AND l.applicant_key = applications.applicant_key)",
        [],
    )?;
    tx.execute(super::schema::fill_app_senders!(), [])?;
    Ok(())
}
