//! The Chinese text of a reminder. Built only from what the office knows — the call's
//! form titles, the roster's unit names, application numbers, the deadline and the
//! office's contact line — never from anything an applicant wrote (a name typed in a
//! form could carry anything, and a reminder must not relay it).

use super::ReminderReason;
use crate::call::{Call, FormDef};
use chrono::{DateTime, FixedOffset};

fn deadline_zh(d: &DateTime<FixedOffset>) -> String {
    let d = crate::time::to_shanghai(d);
    d.format("%Y年%-m月%-d日 %H:%M").to_string()
}

fn closing(deadline: &DateTime<FixedOffset>, contact: &str) -> String {
    format!(
        "请于 {} 截止前将所缺材料发送至本邮箱。如已发送，请忽略本提醒。\n\n{contact}\n\n（本邮件经工作人员确认后由申报材料收取系统发出。）",
        deadline_zh(deadline)
    )
}

fn what_missing(reason: ReminderReason) -> &'static str {
    match reason {
        ReminderReason::MissingScan => {
            "加盖单位公章的扫描件（或清晰照片）。请将申报表打印、盖章后扫描发送"
        }
        ReminderReason::UnstampedScan => {
            "加盖公章的扫描件：已收到的扫描件上未见公章，请盖章后重新扫描发送"
        }
        ReminderReason::MissingElectronic => {
            "申报表电子版（Word 文件）。通知要求同时报送电子版和盖章扫描件"
        }
        ReminderReason::UnitSilent | ReminderReason::UnitShort => "",
    }
}

/// Subject and body for an application missing a part.
pub fn for_application(
    call: &Call,
    form: &FormDef,
    app_id: i64,
    reason: ReminderReason,
    contact: &str,
) -> (String, String) {
    let subject = format!(
        "【催交提醒】{}（申报编号 a{app_id}）{}",
        form.heading,
        reason.label_zh()
    );
    let body = format!(
        "您好：\n\n我们已收到您报送的{}（申报编号 a{app_id}），目前还缺少{}。\n\n{}",
        form.heading,
        what_missing(reason),
        closing(&call.deadline, contact)
    );
    (subject, body)
}

/// Subject and body for a roster unit that sent nothing or too little. `progress` is
/// what arrived per expectation (form, arrived, required).
pub fn for_unit(
    call: &Call,
    unit: &str,
    reason: ReminderReason,
    progress: &[(&FormDef, u32, u32)],
    contact: &str,
) -> (String, String) {
    let subject = format!("【催交提醒】{unit}：{}申报材料", call.name);
    let asked: Vec<String> = progress
        .iter()
        .map(|(f, _, min)| {
            if *min > 1 {
                format!("{} 至少 {min} 份", f.heading)
            } else {
                format!("{} {min} 份", f.heading)
            }
        })
        .collect();
    let state = match reason {
        ReminderReason::UnitSilent => "截至目前，我们尚未收到贵单位报送的材料。".to_string(),
        _ => {
            let have: Vec<String> = progress
                .iter()
                .map(|(f, n, min)| format!("{} {n}/{min}", f.short))
                .collect();
            let lack: Vec<String> = progress
                .iter()
                .filter(|(_, n, min)| n < min)
                .map(|(f, n, min)| format!("{} {} 份", f.heading, min - n))
                .collect();
            format!(
                "截至目前已收到：{}；尚缺：{}。",
                have.join("，"),
                lack.join("，")
            )
        }
    };
    let body = format!(
        "{unit}教育局、科协：\n\n按照通知要求，各县（市）区、开发区需报送{}（试点学校由各县（市）区、开发区教育局统一汇总上报）。{state}\n\n{}",
        asked.join("、"),
        closing(&call.deadline, contact)
    );
    (subject, body)
}
