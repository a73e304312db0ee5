//! Storing the computed applications and document links. Application ids stay stable
//! across rebuilds: rows are upserted by (form, applicant_key) and only those no longer
//! backed by any document are removed.

use super::{to_json_list, Db};
use crate::domain::application::{AppRow, DocLinks};
use crate::error::Result;
use rusqlite::params;
use rusqlite::TransactionBehavior;

impl Db {
    pub fn save_applications(&mut self, apps: &[AppRow], links: &DocLinks) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::error::Error::db(&path, e);
        let now = crate::time::fmt(&crate::time::now());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "UPDATE documents SET scan_of = NULL, match_score = NULL, superseded_by = NULL",
            [],
        )
        .map_err(err)?;
        // Statements run once per link or application are cached (compiled once).
        for (scan, e, score) in &links.scan_of {
            tx.prepare_cached("UPDATE documents SET scan_of = ?2, match_score = ?3 WHERE id = ?1")
                .and_then(|mut st| st.execute(params![scan, e, score]))
                .map_err(err)?;
        }
        for (old, new) in &links.superseded_by {
            tx.prepare_cached("UPDATE documents SET superseded_by = ?2 WHERE id = ?1")
                .and_then(|mut st| st.execute(params![old, new]))
                .map_err(err)?;
        }
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS live_apps(form TEXT, applicant_key TEXT)",
            [],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM live_apps", []).map_err(err)?;
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
            .map_err(err)?;
            tx.prepare_cached("INSERT INTO live_apps(form, applicant_key) VALUES (?1, ?2)")
                .and_then(|mut st| st.execute(params![a.form, a.applicant_key]))
                .map_err(err)?;
        }
        tx.execute(
            "DELETE FROM applications WHERE NOT EXISTS (SELECT 1 FROM live_apps l
               WHERE l.form = applications.form AND l.applicant_key = applications.applicant_key)",
            [],
        )
        .map_err(err)?;
        tx.execute(super::schema::fill_app_senders!(), [])
            .map_err(err)?;
        tx.commit().map_err(err)
    }
}
