//! The counts behind `status`, computed by SQLite. Loading the whole intake (every
//! document's form fields) to count it took hundreds of milliseconds at 10,000
//! applications; these GROUP BY queries read only small columns, and the problem lists
//! come from partial indexes that hold just the rows that have problems.

use super::{from_json_list, Db};
use crate::error::Result;

/// Raw counts; [`crate::report::status::from_counts`] turns them into the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusCounts {
    /// (category, None = not yet processed) → (messages, duplicates, late)
    pub by_category: Vec<(Option<String>, usize, usize, usize)>,
    /// (form, status) → (applications, late)
    pub by_form_status: Vec<(String, String, usize, usize)>,
    /// receipt status ("none" for a message without a receipt row) → messages
    pub receipts: Vec<(String, usize)>,
    /// Problem lists in the order `status` reports them: by message id, the message's
    /// own list first, then its documents' in attachment order.
    pub problems: Vec<(i64, Vec<String>)>,
}

/// A count column (never negative) as usize.
fn n(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<usize> {
    Ok(usize::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

impl Db {
    /// The counts, read in one snapshot (see [`Db::snapshot`]).
    pub fn status_counts(&self) -> Result<StatusCounts> {
        self.snapshot(|| self.status_counts_unlocked())
    }

    fn status_counts_unlocked(&self) -> Result<StatusCounts> {
        Ok(StatusCounts {
            by_category: self.rows(
                "SELECT category, count(*), count(duplicate_of), coalesce(sum(late != 0), 0)
                 FROM messages
                 WHERE sha256 NOT IN (SELECT sha256 FROM removed_messages)
                 GROUP BY category",
                [],
                |r| Ok((r.get(0)?, n(r, 1)?, n(r, 2)?, n(r, 3)?)),
            )?,
            by_form_status: self.rows(
                "SELECT form, status, count(*), coalesce(sum(late != 0), 0)
                 FROM applications GROUP BY form, status",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, n(r, 2)?, n(r, 3)?)),
            )?,
            receipts: self.rows(
                "SELECT coalesce(r.status, 'none'), count(*)
                 FROM messages m LEFT JOIN receipts r ON r.message = m.id GROUP BY 1",
                [],
                |r| Ok((r.get(0)?, n(r, 1)?)),
            )?,
            // The `problems != '[]'` terms match the partial indexes of migration 2.
            problems: self.rows(
                "SELECT id, problems, -1 AS seq FROM messages WHERE problems != '[]'
                 UNION ALL
                 SELECT message, problems, seq FROM documents WHERE problems != '[]'
                 ORDER BY 1, 3",
                [],
                |r| {
                    let list: String = r.get(1)?;
                    Ok((r.get(0)?, from_json_list(&list)))
                },
            )?,
        })
    }
}
