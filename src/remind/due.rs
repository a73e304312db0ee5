//! Which reminders are due (pure): every reason that holds now ([`candidates`]), then
//! only inside the window before the deadline and not when the same (recipient, reason)
//! was approved or sent within the interval ([`due`]).

use super::{text, Draft, RemindConfig, Reminder, ReminderReason, ReminderStatus};
use crate::call::Call;
use crate::report::dump::{Dump, DumpApplication};
use crate::roster::Roster;
use chrono::{DateTime, Duration, FixedOffset};

/// The content key of an application: `form|applicant key`.
pub fn app_key(form: &str, applicant: &str) -> String {
    format!("{form}|{}", crate::apps::applicant_key(applicant))
}

/// Whether mail to `addr` would go to a machine or to ourselves.
fn robot_or_own(addr: &str, own: &[String]) -> bool {
    use crate::receipts::policy::{is_robot_address, mailbox_key};
    is_robot_address(addr)
        || own.iter().any(|o| mailbox_key(o) == mailbox_key(addr))
        || !addr.contains('@')
}

/// Whether the application's mail came from a robot (its category is a robot's, or its
/// receipt was suppressed as a machine's mail).
fn from_robot(dump: &Dump, app: &DumpApplication) -> bool {
    use crate::receipts::ReceiptReason;
    let doc_ids = [app.electronic, app.scan];
    dump.messages
        .iter()
        .filter(|m| m.documents.iter().any(|d| doc_ids.contains(&Some(d.id))))
        .any(|m| {
            m.category.is_some_and(|c| c.is_robot())
                || m.receipt
                    .reason
                    .as_deref()
                    .and_then(ReceiptReason::of)
                    .is_some_and(|r| {
                        matches!(
                            r,
                            ReceiptReason::RobotCategory
                                | ReceiptReason::RobotHeader
                                | ReceiptReason::RobotSender
                                | ReceiptReason::EmptyReturnPath
                                | ReceiptReason::AutoResponseSuppress
                        )
                    })
        })
}

/// Every reminder whose reason holds now, regardless of window and interval.
pub fn candidates(
    call: &Call,
    dump: &Dump,
    roster: &Roster,
    contact: &str,
    own: &[String],
) -> Vec<Draft> {
    let mut out = Vec::new();
    for a in &dump.applications {
        let Some(reason) = ReminderReason::for_status(a.status) else {
            continue;
        };
        let Some(to) = a.email.as_deref().map(str::to_lowercase) else {
            continue;
        };
        let Some(form) = call.form(&a.form) else {
            continue;
        };
        if robot_or_own(&to, own) || from_robot(dump, a) {
            continue;
        }
        let (subject, body) = text::for_application(call, form, a.id, reason, contact);
        out.push(Draft {
            to,
            reason,
            application: Some(a.id),
            app_key: Some(app_key(&a.form, &a.applicant)),
            unit: None,
            subject,
            body,
        });
    }
    for (entry, row) in call.roster.iter().zip(&roster.units) {
        if row.missing.is_empty() {
            continue;
        }
        let reason = if row.applications.is_empty() {
            ReminderReason::UnitSilent
        } else {
            ReminderReason::UnitShort
        };
        // The roster's address, else the address the unit last wrote from.
        let Some(to) = entry
            .email
            .clone()
            .or_else(|| row.senders.first().cloned())
            .map(|s| s.to_lowercase())
        else {
            continue;
        };
        if robot_or_own(&to, own) {
            continue;
        }
        let progress: Vec<(&crate::call::FormDef, u32, u32)> = row
            .expects
            .iter()
            .filter_map(|x| Some((call.form(&x.form)?, x.arrived, x.min)))
            .collect();
        let (subject, body) = text::for_unit(call, &entry.unit, reason, &progress, contact);
        out.push(Draft {
            to,
            reason,
            application: None,
            app_key: None,
            unit: Some(entry.unit.clone()),
            subject,
            body,
        });
    }
    out
}

/// The reminders due at `now`: inside `days_before` days before the deadline (and not
/// after it), and no approved or sent reminder for the same (recipient, reason) within
/// the interval.
pub fn due(
    candidates: Vec<Draft>,
    cfg: &RemindConfig,
    deadline: &DateTime<FixedOffset>,
    now: &DateTime<FixedOffset>,
    history: &[Reminder],
) -> Vec<Draft> {
    let opens = *deadline - Duration::days(i64::from(cfg.days_before));
    if *now < opens || *now > *deadline {
        return Vec::new();
    }
    let since = *now - Duration::hours(i64::from(cfg.interval_h));
    candidates
        .into_iter()
        .filter(|d| {
            !history.iter().any(|h| {
                let when = h
                    .sent_at
                    .as_deref()
                    .or(h.approved_at.as_deref())
                    .and_then(crate::time::parse_rfc3339);
                matches!(
                    h.status,
                    ReminderStatus::Queued | ReminderStatus::Sending | ReminderStatus::Sent
                ) && h.to.eq_ignore_ascii_case(&d.to)
                    && h.reason == d.reason
                    && when.is_none_or(|t| t >= since)
            })
        })
        .collect()
}
