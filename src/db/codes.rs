//! The domain's code enums in SQL: each is stored as its contract string (`as_str`) and
//! read back through `parse`; a string this build does not know is an error naming the
//! column's value, not a silent default.

use crate::domain::{
    AppStatus, AuditAction, Category, DocFormat, DocKind, ReceiptStatus, ReminderReason,
    ReminderStatus, ReviewState,
};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! sql_code {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                s.parse::<$t>().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

sql_code!(
    AppStatus,
    AuditAction,
    Category,
    DocKind,
    ReceiptStatus,
    ReminderReason,
    ReminderStatus,
    ReviewState
);

impl ToSql for DocFormat {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

/// Formats are an open set on disk (an older build may have recorded one this build
/// does not name): such a row reads as `unknown` instead of failing the whole dump;
/// `reprocess` sniffs the bytes again.
impl FromSql for DocFormat {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(DocFormat::from_sniffed(v.as_str()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_sqlite() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for s in ReceiptStatus::ALL {
            let back: ReceiptStatus = c.query_row("SELECT ?1", [s], |r| r.get(0)).unwrap();
            assert_eq!(back, s);
        }
        let back: Option<Category> = c
            .query_row("SELECT ?1", [Category::Question], |r| r.get(0))
            .unwrap();
        assert_eq!(back, Some(Category::Question));
        let bad: rusqlite::Result<AppStatus> = c.query_row("SELECT 'nope'", [], |r| r.get(0));
        assert!(bad.is_err());
        let f: DocFormat = c.query_row("SELECT 'xyz'", [], |r| r.get(0)).unwrap();
        assert_eq!(f, DocFormat::Unknown);
    }
}
