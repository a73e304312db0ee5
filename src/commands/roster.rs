//! `roster [--json]`, `roster --assign APP UNIT [--by NAME]`, `remind [--json]`,
//! `remind --send [ID...] [--by NAME]`, and the `roster`/`reminders` keys of `dump`.
//! Each write is a library function taking the operator's name (`by`).

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::remind::Reminder;
use crate::report::dump::Dump;
use crate::roster::{Assignment, Roster};
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

/// Attributes application `app` to roster unit `unit` (`-`: to no unit) in the name of
/// `by`; kept by content, so it survives reprocessing. Returns the decision.
pub fn assign(db: &mut Db, app: i64, unit: &str, by: &str) -> Result<Assignment> {
    let apps = db.load_applications()?;
    let a = apps
        .iter()
        .find(|a| a.id == app)
        .ok_or_else(|| Error::Other(format!("没有编号为 a{app} 的申报 / no application {app}")))?;
    let call = crate::call::current();
    let unit = match unit.trim() {
        "-" | "无" | "市直" => None,
        u => Some(
            call.roster
                .iter()
                .find(|e| e.unit == u || e.aliases.iter().any(|x| x == u))
                .map(|e| e.unit.clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = call.roster.iter().map(|e| e.unit.as_str()).collect();
                    Error::Other(format!(
                        "名单中没有单位“{u}”；可选：{}，或 - 表示不属于任何名单单位（如市直）",
                        names.join("、")
                    ))
                })?,
        ),
    };
    let decision = Assignment {
        form: a.form.clone(),
        applicant_key: crate::roster::attribute::norm(&a.applicant),
        unit,
        by: by.to_string(),
        at: crate::time::fmt(&crate::time::now()),
    };
    db.roster_assign(&decision)?;
    crate::office::audit(
        db,
        by,
        crate::office::AuditAction::Roster,
        crate::office::Target::App(app),
        &format!(
            "{} → {}",
            a.applicant,
            decision.unit.as_deref().unwrap_or("不属于名单单位")
        ),
    )?;
    Ok(decision)
}

/// `roster --assign APP UNIT [--by NAME]`.
pub fn assign_command(cfg: &Config, app: i64, unit: &str, by: Option<&str>) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let d = assign(&mut db, app, unit, &operator(by))?;
    match &d.unit {
        Some(u) => println!("已将申报 a{app} 归入 {u}（{}）", d.by),
        None => println!("已确认申报 a{app} 不属于名单中的单位（{}）", d.by),
    }
    Ok(())
}

/// `remind [--json]`, or with `send`: approve the listed (or all) due reminders in the
/// name of `by` and send them.
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
    let (approved, stats) =
        approve_and_send(cfg, &mut db, &dump, &roster, ids, &by, shutdown).await?;
    println!(
        "已批准 {} 条提醒（{by}）；发送 {}，试运行 {}，失败 {}，已不需要 {}，等待 {}",
        approved.len(),
        stats.sent,
        stats.dry_run,
        stats.failed,
        stats.cancelled,
        stats.waiting
    );
    if cfg.receipts.mode == crate::config::ReceiptMode::Off && stats.waiting > 0 {
        println!("注意：[receipts] mode = \"off\"，已批准的提醒在开启发送后才会发出");
    }
    Ok(())
}

/// Approves the listed (all when empty) due reminders in the name of `by`, each with
/// its audit row (action `remind`), then sends the approved ones: `remind --send` and
/// the page's button, one implementation.
pub async fn approve_and_send(
    cfg: &Config,
    db: &mut Db,
    dump: &Dump,
    roster: &Roster,
    ids: &[i64],
    by: &str,
    shutdown: &CancellationToken,
) -> Result<(Vec<i64>, crate::remind::send::SendStats)> {
    let now = crate::time::now();
    let approved = crate::remind::send::approve(db, ids, by, &now)?;
    for id in &approved {
        crate::office::audit(
            db,
            by,
            crate::office::AuditAction::Remind,
            crate::office::Target::Reminder(*id),
            "批准发送 approved for sending",
        )?;
    }
    let stats =
        crate::remind::send::send_approved(cfg, crate::call::current(), db, dump, roster, shutdown)
            .await?;
    Ok((approved, stats))
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

/// Prints `dump --json` with the roster and reminders.
pub fn dump(cfg: &Config) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let d = db.load_dump()?;
    let r = roster_of(&db, &d)?;
    let reminders = crate::remind::send::refresh(
        cfg,
        crate::call::current(),
        &mut db,
        &d,
        &r,
        &crate::time::now(),
    )?;
    super::print_json(&FullDump {
        dump: &d,
        roster: &r.units,
        roster_unsure: &r.unsure,
        reminders: &reminders,
    })
}
