//! The office's roster decisions (issue 19): which roster unit an application belongs
//! to ([`assign_unit`], `roster --assign` and the roster page's form), and which
//! reminders may go out ([`approve_reminders`], `remind --send` and the reminders
//! page's button). Each commits with its audit row in one transaction; sending is the
//! outbox's business ([`crate::remind::outbox`]), never the approver's.

use super::{AuditAction, Target};
use crate::db::office::NewAudit;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::remind::ReminderStatus;
use crate::roster::Assignment;

/// What an operator may answer for "no roster unit" (a 市直 school, say).
pub const NO_UNIT: &str = "-";

/// Attributes application `app` to roster unit `unit` (a unit's name or alias; `-`,
/// `无` or `市直`: to no unit) in the name of `by`; kept by content, so it survives
/// reprocessing. Returns the decision.
pub fn assign_unit(db: &mut Db, app: i64, unit: &str, by: &str) -> Result<Assignment> {
    let apps = db.load_applications()?;
    let a = apps
        .iter()
        .find(|a| a.id == app)
        .ok_or_else(|| Error::Other(format!("没有编号为 a{app} 的申报 / no application {app}")))?;
    let call = crate::call::current();
    let unit = match unit.trim() {
        NO_UNIT | "无" | "市直" => None,
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
    let audit = NewAudit {
        user: by.to_string(),
        action: AuditAction::Roster,
        target: Target::App(app).to_string(),
        detail: format!(
            "{} → {}",
            a.applicant,
            decision.unit.as_deref().unwrap_or("不属于名单单位")
        ),
    };
    db.roster_assign(&decision, audit)?;
    Ok(decision)
}

/// Approves due reminders (all when `ids` is empty) in the name of `by`: each becomes
/// `queued` with its audit row (action `remind`) in one transaction. An id that is not
/// a due reminder is an error naming it, and nothing is approved.
pub fn approve_reminders(db: &mut Db, ids: &[i64], by: &str) -> Result<Vec<i64>> {
    let all = db.reminders()?;
    for id in ids {
        match all.iter().find(|r| r.id == *id) {
            Some(r) if r.status == ReminderStatus::Due => {}
            Some(r) => {
                return Err(Error::Other(format!(
                    "提醒 {id} 的状态是“{}”，只能批准待批准的提醒 / reminder {id} is {}, not due",
                    r.status.label_zh(),
                    r.status.as_str()
                )))
            }
            None => {
                return Err(Error::Other(format!(
                    "没有编号为 {id} 的提醒（先运行 kepu-intake remind 查看）/ no reminder {id}"
                )))
            }
        }
    }
    let now = crate::time::fmt(&crate::time::now());
    db.reminders_approve(ids, by, &now, |id| NewAudit {
        user: by.to_string(),
        action: AuditAction::Remind,
        target: Target::Reminder(id).to_string(),
        detail: "批准发送 approved for sending".into(),
    })
}
