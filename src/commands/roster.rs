//! `roster [--json]`, `roster --assign APP UNIT [--by NAME]`, `remind [--json]`,
//! `remind --send [ID...] [--by NAME]`, and the `roster`/`reminders` keys of `dump`.
//! Each write is an audited library function of [`crate::office`] taking the
//! operator's name (`by`); sending is the reminders' outbox ([`crate::remind::outbox`]).

use crate::config::Config;
use crate::db::Db;
use crate::error::Result;
use crate::remind::outbox::Drained;
use crate::remind::Reminder;
use crate::report::dump::Dump;
use crate::roster::Roster;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// The roster of the installed call over the intake in `dump`.
pub fn roster_of(db: &Db, dump: &Dump) -> Result<Roster> {
    // Scans without an electronic version: the OCR text the scan stage recorded.
    let mut scan_text = std::collections::BTreeMap::new();
    for a in dump.applications.iter().filter(|a| a.electronic.is_none()) {
        let Some(id) = a.scan else { continue };
        if let Some(t) = db.document_ocr_text(id)? {
            scan_text.insert(id, t);
        }
    }
    Ok(crate::roster::build_with_scans(
        crate::call::current(),
        dump,
        &db.roster_assignments()?,
        &scan_text,
    ))
}

/// The operator who runs a command: `--by`, else the OS user.
pub fn operator(by: Option<&str>) -> String {
    by.map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "operator".into())
}

/// `roster [--json]`.
pub fn roster(cfg: &Config, json: bool) -> Result<()> {
    let db = Db::open(&cfg.storage.db_path())?;
    let dump = db.load_dump()?;
    let r = roster_of(&db, &dump)?;
    if json {
        super::print_json(&r)
    } else {
        print!("{}", crate::roster::render(&r));
        Ok(())
    }
}

/// `roster --assign APP UNIT [--by NAME]`.
pub fn assign_command(cfg: &Config, app: i64, unit: &str, by: Option<&str>) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let d = crate::office::assign_unit(&mut db, app, unit, &operator(by))?;
    match &d.unit {
        Some(u) => println!("已将申报 a{app} 归入 {u}（{}）", d.by),
        None => println!("已确认申报 a{app} 不属于名单中的单位（{}）", d.by),
    }
    Ok(())
}

/// `remind [--json]`, or with `send`: approve the listed (or all) due reminders in the
/// name of `by`, then send them unless a running daemon holds the outbox (it sends
/// them within seconds).
pub async fn remind(
    cfg: &Config,
    json: bool,
    send: bool,
    ids: &[i64],
    by: Option<&str>,
    shutdown: &CancellationToken,
) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let dump = db.load_dump()?;
    let roster = roster_of(&db, &dump)?;
    let now = crate::time::now();
    let rows =
        crate::remind::send::refresh(cfg, crate::call::current(), &mut db, &dump, &roster, &now)?;
    if !send {
        if json {
            return super::print_json(&rows);
        }
        print!("{}", render(&rows));
        return Ok(());
    }
    let by = operator(by);
    let approved = crate::office::approve_reminders(&mut db, ids, &by)?;
    println!("已批准 {} 条提醒（{by}）", approved.len());
    if cfg.receipts.mode == crate::config::ReceiptMode::Off {
        println!("注意：[receipts] mode = \"off\"，已批准的提醒在开启发送后才会发出");
        return Ok(());
    }
    match crate::remind::outbox::drain(cfg, &mut db, shutdown).await? {
        Drained::Ran(stats) => println!(
            "发送 {}，试运行 {}，失败 {}，已不需要 {}，等待 {}",
            stats.sent, stats.dry_run, stats.failed, stats.cancelled, stats.waiting
        ),
        Drained::Elsewhere => {
            println!("正在运行的 kepu-intake 服务持有发件箱，由它发出（几秒内）")
        }
        Drained::Idle => println!("没有待发送的提醒"),
    }
    Ok(())
}

/// Reminders as a text table with each draft's text.
pub fn render(rows: &[Reminder]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "#{}\t{}\t{}\t{}\t{}{}\n",
            r.id,
            r.status.label_zh(),
            r.reason.label_zh(),
            r.to,
            r.application.map(|a| format!("a{a} ")).unwrap_or_default(),
            r.unit.clone().unwrap_or_default(),
        ));
        if r.status == crate::remind::ReminderStatus::Due {
            out.push_str(&format!("  主题：{}\n", r.subject));
            for line in r.body.lines() {
                out.push_str(&format!("  | {line}\n"));
            }
        } else if let Some(by) = &r.approved_by {
            out.push_str(&format!(
                "  批准：{by} {}  发送：{}\n",
                r.approved_at.as_deref().unwrap_or(""),
                r.sent_at.as_deref().unwrap_or("-")
            ));
        }
    }
    if rows.is_empty() {
        out.push_str("目前没有需要发送的提醒 / no reminders due\n");
    } else {
        out.push_str("\n发送：kepu-intake remind --send [编号...] [--by 姓名]\n");
    }
    out
}

/// `dump --json`: the dump plus `roster` and `reminders` (drafts refreshed first).
#[derive(Serialize)]
pub struct FullDump<'a> {
    #[serde(flatten)]
    pub dump: &'a Dump,
    pub roster: &'a [crate::roster::UnitRow],
    pub roster_unsure: &'a [crate::roster::UnsureRow],
    pub reminders: &'a [Reminder],
}

/// Prints `dump --json` with the roster and reminders. The drafts are refreshed
/// first; then the audit log and the reminders are read in one snapshot, so a reminder
/// shown approved or sent always comes with its audit row (approval and audit commit
/// together).
pub fn dump(cfg: &Config) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let mut d = db.load_dump()?;
    let r = roster_of(&db, &d)?;
    crate::remind::send::sync_drafts(
        cfg,
        crate::call::current(),
        &mut db,
        &d,
        &r,
        &crate::time::now(),
    )?;
    let (audit, reminders) = db.snapshot(|| Ok((db.audit_log()?, db.reminders()?)))?;
    d.audit = audit;
    super::print_json(&FullDump {
        dump: &d,
        roster: &r.units,
        roster_unsure: &r.unsure,
        reminders: &reminders,
    })
}
