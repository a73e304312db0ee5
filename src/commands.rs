//! The commands of `contract.md`, one function each. The binary parses the command
//! line and calls these; they print results to stdout and return errors upward.

pub mod review;
pub mod user;

use crate::config::Config;
use crate::db::dump::AppQuery;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::report::dump::{Dump, DumpApplication};
use crate::report::status;
use crate::store::{DataLock, Store};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

pub mod roster;

fn open_db(cfg: &Config) -> Result<Db> {
    Db::open(&cfg.storage.db_path())
}

/// `import PATH...`: record the files, then process them like fetched mail. Works
/// while `run` runs: recording and processing are short transactions; with a daemon
/// running only this import's messages are processed here (the daemon takes its own),
/// and the receipts go out with whichever process holds the outbox lock.
pub async fn import(cfg: &Config, paths: &[PathBuf], shutdown: CancellationToken) -> Result<()> {
    let stats = {
        let store = Store::open(&cfg.storage.data_dir)?;
        let mut db = open_db(cfg)?;
        let stats = crate::import::import(paths, &mut db, &store, &cfg.intake.deadline()?)?;
        crate::office::audit(
            &mut db,
            &crate::office::os_user(),
            crate::office::AuditAction::Import,
            match stats.recorded.first() {
                Some(&id) => crate::office::Target::Message(id),
                None => crate::office::Target::AllMessages,
            },
            &format!(
                "{} 封读取, {} 封新邮件, {} 封重复 ({})",
                stats.files,
                stats.new,
                stats.duplicates,
                describe_paths(paths)
            ),
        )?;
        stats
    };
    if DataLock::daemon_running(&cfg.storage.data_dir)? {
        let cfg2 = cfg.clone();
        let ids = stats.recorded.clone();
        let token = shutdown.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if !ids.is_empty() {
                let mut db = open_db(&cfg2)?;
                Pipeline::new(&cfg2)?.reprocess(&mut db, Some(&ids), &token)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Other(format!("import: processing task failed: {e}")))??;
        let mut db = open_db(cfg)?;
        crate::receipts_glue::drain(cfg, &mut db, &shutdown).await?;
    } else {
        crate::daemon::process(cfg, &shutdown).await?;
    }
    println!(
        "导入完成 imported: {} 封读取, {} 封新邮件, {} 封重复, {} 封已导入过",
        stats.files, stats.new, stats.duplicates, stats.already_known
    );
    if !stats.subfolders.is_empty() {
        println!(
            "已读子文件夹 subfolders read: {}",
            stats.subfolders.join(", ")
        );
    }
    if !stats.skipped_folders.is_empty() {
        println!(
            "未读子文件夹 subfolders skipped (sent/drafts/trash/junk): {}",
            stats.skipped_folders.join(", ")
        );
    }
    Ok(())
}

/// `import --into mID PATH...`: files for message mID (`m12` or `12`), read with its
/// attachments from now on; the message is processed again at once.
pub async fn import_into(
    cfg: &Config,
    id: &str,
    paths: &[PathBuf],
    shutdown: CancellationToken,
) -> Result<()> {
    let message: i64 = id.trim_start_matches(['m', 'M']).parse().map_err(|_| {
        Error::Other(format!(
            "--into {id}: 应为邮件编号，如 m12 (expected a message id such as m12)"
        ))
    })?;
    // No data-dir lock: like `import`, this works while `run` runs (short
    // transactions), and the message is processed again here at once.
    let report = {
        let store = Store::open(&cfg.storage.data_dir)?;
        let mut db = open_db(cfg)?;
        crate::office::import_into(&mut db, &store, message, paths, &crate::office::os_user())?
    };
    let cfg2 = cfg.clone();
    let token = shutdown.clone();
    let target = report.message;
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut db = open_db(&cfg2)?;
        Pipeline::new(&cfg2)?.reprocess(&mut db, Some(&[target]), &token)?;
        Ok(())
    })
    .await
    .map_err(|e| Error::Other(format!("import --into: processing task failed: {e}")))??;
    let mut db = open_db(cfg)?;
    crate::receipts_glue::drain(cfg, &mut db, &shutdown).await?;
    let new = report.files.iter().filter(|f| f.2).count();
    println!(
        "已加入邮件 m{message} added to message m{message}: {} 个文件, {} 个新文件 ({})",
        report.files.len(),
        new,
        report.audit_detail()
    );
    Ok(())
}

/// The paths of an import for its audit row: the first three and how many more.
fn describe_paths(paths: &[PathBuf]) -> String {
    let mut s: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        s.push(format!("等共 {} 个", paths.len()));
    }
    s.join(", ")
}

/// `run [--once]`.
pub async fn run(cfg: &Config, once: bool, shutdown: CancellationToken) -> Result<()> {
    crate::daemon::run(cfg, once, shutdown).await
}

pub fn load_dump(cfg: &Config) -> Result<Dump> {
    open_db(cfg)?.load_dump()
}

/// `dump --json` (with `roster` and `reminders`, see [`roster::dump`]).
pub fn dump(cfg: &Config) -> Result<()> {
    roster::dump(cfg)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Other(format!("JSON: {e}")))
}

/// `v` as pretty JSON and a newline, written to stdout as it is serialised (10,000
/// applications are megabytes: no copy of them in memory first).
fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    serde_json::to_writer_pretty(&mut out, v).map_err(|e| Error::Other(format!("JSON: {e}")))?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(std::path::Path::new("<stdout>"), e))
}

/// Whether scans will be OCR'd: the scan stage's own tool look-up.
pub fn ocr_available(cfg: &Config) -> bool {
    crate::scan::ScanOptions::detect(&cfg.tools).ocr
}

/// `status [--json]`.
pub fn status(cfg: &Config, json: bool) -> Result<()> {
    let db = open_db(cfg)?;
    // Counted by SQLite, not by loading the whole intake: quick at 10,000 applications.
    let mut r = status::from_counts(&db.status_counts()?, db.last_poll()?, ocr_available(cfg));
    r.receipts_waiting = db.receipts_waiting()?.into_iter().collect();
    if json {
        print_json(&r)?;
    } else {
        print!("{}", status::render(&r));
    }
    Ok(())
}

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

/// `show ID`: `a12`/`m12` pick an application or a message; a bare number is an
/// application when one has that id, else a message.
pub fn show(cfg: &Config, id: &str, json: bool) -> Result<()> {
    let d = load_dump(cfg)?;
    let (kind, num) = match id.strip_prefix('m').or_else(|| id.strip_prefix('M')) {
        Some(n) => ('m', n),
        None => match id.strip_prefix('a').or_else(|| id.strip_prefix('A')) {
            Some(n) => ('a', n),
            None => ('?', id),
        },
    };
    let n: i64 = num.parse().map_err(|_| {
        Error::Other(format!(
            "'{id}' 不是编号 / not an id: use 12, a12 (application) or m12 (message)"
        ))
    })?;
    let app = d.applications.iter().find(|a| a.id == n);
    let msg = d.messages.iter().find(|m| m.id == n);
    let data_dir = &cfg.storage.data_dir;
    match (kind, app, msg) {
        ('a' | '?', Some(a), _) => {
            if json {
                println!(
                    "{}",
                    to_json(&crate::report::text::application_json(&d, a, data_dir))?
                );
            } else {
                print!(
                    "{}",
                    crate::report::table::show_application(&d, a.id, data_dir).unwrap_or_default()
                );
            }
        }
        ('m' | '?', _, Some(m)) => {
            if json {
                println!(
                    "{}",
                    to_json(&crate::report::text::message_json(m, data_dir))?
                );
            } else {
                print!(
                    "{}",
                    crate::report::table::show_message(&d, m.id, data_dir).unwrap_or_default()
                );
            }
        }
        _ => {
            return Err(Error::Other(format!(
                "没有编号为 {id} 的申报或邮件 / no application or message {id}"
            )))
        }
    }
    Ok(())
}

/// `reprocess [--all | ID...]`.
pub fn reprocess(cfg: &Config, all: bool, ids: &[i64], shutdown: &CancellationToken) -> Result<()> {
    if !all && ids.is_empty() {
        return Err(Error::Other(
            "reprocess: 请给出邮件编号或 --all / give message ids or --all".into(),
        ));
    }
    // No lock: every batch commits in its own short transaction and the applications
    // are rebuilt atomically, so this runs beside the daemon (which keeps fetching).
    let mut db = open_db(cfg)?;
    // Operators run this by hand, often over the whole intake: show OCR progress.
    let p = Pipeline::new(cfg)?.show_progress(true).reparse();
    let stats = p.reprocess(&mut db, if all { None } else { Some(ids) }, shutdown)?;
    let what = if all {
        "全部邮件".to_string()
    } else {
        ids.iter()
            .map(|i| format!("m{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    crate::office::audit(
        &mut db,
        &crate::office::os_user(),
        crate::office::AuditAction::Reprocess,
        match (all, ids.first()) {
            (false, Some(&id)) => crate::office::Target::Message(id),
            _ => crate::office::Target::AllMessages,
        },
        &format!("{what}: {} 封（失败 {}）", stats.processed, stats.failed),
    )?;
    println!(
        "重新处理 reprocessed: {} 封（失败 {}）",
        stats.processed, stats.failed
    );
    Ok(())
}

/// `match SCAN ELECTRONIC` / `match --unmatch SCAN`: an operator's decision, kept by
/// content so it survives reprocessing ([`crate::office::set_match`], audited).
pub fn set_match(cfg: &Config, scan: i64, electronic: Option<i64>) -> Result<()> {
    set_match_by(cfg, scan, electronic, &crate::office::os_user())
}

/// [`set_match`] recorded under `by`.
pub fn set_match_by(cfg: &Config, scan: i64, electronic: Option<i64>, by: &str) -> Result<()> {
    let mut db = open_db(cfg)?;
    let change = match electronic {
        Some(e) => crate::office::MatchChange::To(e),
        None => crate::office::MatchChange::Nothing,
    };
    crate::office::set_match(&mut db, cfg.intake.match_threshold, scan, change, by)?;
    match electronic {
        Some(e) => println!("已将扫描件 {scan} 匹配到电子版 {e}"),
        None => println!("已取消扫描件 {scan} 的匹配"),
    }
    Ok(())
}

/// `export --xlsx FILE` / `--csv DIR` / `--zip FILE`.
pub fn export(
    cfg: &Config,
    xlsx: Option<&std::path::Path>,
    csv: Option<&std::path::Path>,
    zip: Option<&std::path::Path>,
) -> Result<()> {
    let db = open_db(cfg)?;
    let d = db.load_dump()?;
    if let Some(path) = xlsx {
        let r = roster::roster_of(&db, &d)?;
        crate::report::export::write_xlsx_with(&d, &r, path)?;
        println!(
            "已导出 Excel 汇总表 written: {} ({} 份申报, {} 封邮件)",
            path.display(),
            d.applications.len(),
            d.messages.len()
        );
    }
    if let Some(dir) = csv {
        let files = crate::report::export::write_csv(&d, dir)?;
        for f in files {
            println!("已导出 written: {}", f.display());
        }
    }
    if let Some(path) = zip {
        let n = crate::report::export::bundle::write_zip(
            crate::call::current(),
            &d,
            &cfg.storage.data_dir,
            path,
        )?;
        println!("已导出 written: {} ({n} 个文件)", path.display());
    }
    Ok(())
}

/// `serve`.
pub async fn serve(cfg: &Config, shutdown: CancellationToken) -> Result<()> {
    crate::web::serve(cfg, shutdown).await
}
