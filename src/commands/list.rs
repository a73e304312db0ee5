//! `list [--form F] [--status S] [--late] [--limit N] [--all] [--json]`: applications.

use super::{open_db, print_json};
use crate::config::Config;
use crate::db::dump::AppQuery;
use crate::error::{Error, Result};
use crate::report::dump::DumpApplication;
use crate::report::status;

/// Filters of `list`.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub form: Option<String>,
    pub status: Option<String>,
    pub late: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// The text table shows every row instead of the first [`TABLE_ROWS`].
    pub all: bool,
}

/// Rows the `list` table shows by default: a screenful or a few, not 10,000 lines
/// (the whole list is `--all`, `--json` or `export --xlsx`).
pub const TABLE_ROWS: usize = 200;

impl ListFilter {
    /// The database query, after checking the filter values (a clear message for a
    /// mistyped form or status instead of an empty list).
    pub fn query(&self, json: bool) -> Result<AppQuery> {
        if let Some(form) = &self.form {
            if crate::model::FormKey::parse(form).is_none() {
                let keys: Vec<&str> = crate::model::FormKey::all()
                    .into_iter()
                    .map(|k| k.as_str())
                    .collect();
                return Err(Error::Other(format!(
                    "--form {form}: 应为 {} (本次申报的表，见调用定义文件 / the call's forms)",
                    keys.join(", ")
                )));
            }
        }
        if let Some(s) = &self.status {
            if crate::domain::AppStatus::parse(s).is_none() {
                return Err(Error::Other(format!(
                    "--status {s}: 应为 {}",
                    status::APP_STATUSES.join(", ")
                )));
            }
        }
        let limit = match (self.limit, json || self.all) {
            (Some(n), _) => Some(n),
            (None, true) => None,
            (None, false) => Some(TABLE_ROWS),
        };
        Ok(AppQuery {
            form: self.form.clone(),
            status: self.status.clone(),
            late: self.late,
            limit,
        })
    }
}

/// `list`: filtered in SQL; the table stops after [`TABLE_ROWS`] rows and says so.
pub fn list(cfg: &Config, f: &ListFilter, json: bool) -> Result<()> {
    let q = f.query(json)?;
    let (apps, total) = open_db(cfg)?.query_applications(&q)?;
    if json {
        print_json(&apps)?;
    } else {
        let refs: Vec<&DumpApplication> = apps.iter().collect();
        print!("{}", crate::report::table::applications_table(&refs, total));
    }
    Ok(())
}
