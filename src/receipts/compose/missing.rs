//! The receipt's "材料核对情况" section: what each related application still lacks, in
//! words an applicant understands; only what the applicant can fix asks for a resend.

use super::{form_title, sure_unstamped, text, ComposeContext, APPLICANT_CHARS, NAME_CHARS};
use crate::domain::{AppStatus, DocKind, Problem, ProblemKind};
use crate::model::FormKey;
use crate::report::dump::{Dump, DumpApplication, DumpDocument};
use std::collections::HashMap;

/// One thing an application may lack: a recorded problem, or the status `invalid`
/// (which names no problem of its own).
#[derive(Clone, Copy)]
enum Lack {
    Problem(ProblemKind),
    Invalid,
}

/// What one application still lacks, in words an applicant understands.
fn missing_items(
    ctx: &ComposeContext<'_>,
    a: &DumpApplication,
    docs: &HashMap<i64, &DumpDocument>,
    scan_waiting: bool,
) -> Vec<String> {
    // The application's status speaks first, then the recorded problems.
    let status = match a.status {
        AppStatus::MissingScan => Some(Lack::Problem(ProblemKind::MissingScan)),
        AppStatus::MissingElectronic => Some(Lack::Problem(ProblemKind::MissingElectronic)),
        AppStatus::UnstampedScan => Some(Lack::Problem(ProblemKind::UnstampedScan)),
        AppStatus::Invalid => Some(Lack::Invalid),
        AppStatus::Complete => None,
    };
    let mut lacks: Vec<(Lack, &str)> = status.map(|l| (l, "")).into_iter().collect();
    let mut problems: Vec<&str> = a.problems.iter().map(String::as_str).collect();
    for id in [a.electronic, a.scan].into_iter().flatten() {
        if let Some(d) = docs.get(&id) {
            problems.extend(d.problems.iter().map(String::as_str));
        }
    }
    lacks.extend(
        problems
            .into_iter()
            .filter_map(Problem::parse)
            .map(|p| (Lack::Problem(p.kind), p.detail.unwrap_or(""))),
    );
    let scan_sure_unstamped = a
        .scan
        .and_then(|s| docs.get(&s))
        .is_some_and(|d| sure_unstamped(ctx, d));
    let mut items: Vec<String> = Vec::new();
    for (lack, field) in lacks {
        let key = text::clean(field, NAME_CHARS);
        let item = match lack {
            Lack::Problem(ProblemKind::MissingScan) if scan_waiting || !ctx.ocr => {
                "尚未对应到盖章扫描件（如已发送，工作人员将核对）".to_string()
            }
            Lack::Problem(ProblemKind::MissingScan) => "尚缺加盖公章的扫描件，请补交".to_string(),
            Lack::Problem(ProblemKind::MissingElectronic) => {
                "尚缺电子版（Word 文档），请补交电子版".to_string()
            }
            Lack::Problem(ProblemKind::UnstampedScan) if scan_sure_unstamped => {
                "扫描件上未找到公章，请补交加盖公章的扫描件".to_string()
            }
            Lack::Problem(ProblemKind::UnstampedScan) => "扫描件是否盖章由工作人员核对".to_string(),
            Lack::Invalid => "申报表内容由工作人员核对".to_string(),
            Lack::Problem(ProblemKind::MissingField) if !key.is_empty() => {
                format!("「{key}」未填写")
            }
            Lack::Problem(ProblemKind::OverLimit) if !key.is_empty() => {
                match max_chars(&a.form, field) {
                    Some(n) => format!("「{key}」超出字数限制（不超过{n}字）"),
                    None => format!("「{key}」超出字数限制"),
                }
            }
            Lack::Problem(ProblemKind::BadFormat) if !key.is_empty() => {
                format!("「{key}」格式有误")
            }
            _ => continue,
        };
        if !items.contains(&item) {
            items.push(item);
        }
    }
    items
}

/// The call's limit on a form's field, in characters.
fn max_chars(form: &str, field: &str) -> Option<usize> {
    FormKey::parse(form)?.def()?.field(field)?.max_chars
}

pub(super) fn missing_section(
    ctx: &ComposeContext<'_>,
    dump: &Dump,
    apps: &[&DumpApplication],
    docs: &HashMap<i64, &DumpDocument>,
) -> String {
    if apps.is_empty() {
        return String::new();
    }
    // A scan from the same sender that matched nothing may be the missing one.
    let scan_waiting = |a: &DumpApplication| {
        let Some(email) = a.email.as_deref() else {
            return false;
        };
        dump.messages
            .iter()
            .filter(|m| {
                m.from
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case(email))
            })
            .flat_map(|m| m.documents.iter())
            .any(|d| {
                d.kind == DocKind::Scan
                    && d.scan_of.is_none()
                    && !dump.applications.iter().any(|x| x.scan == Some(d.id))
            })
    };
    let mut out = String::from("材料核对情况：\n");
    for a in apps {
        let form: &str = match FormKey::parse(&a.form) {
            Some(f) => form_title(f),
            None => &a.form,
        };
        let items = missing_items(ctx, a, docs, scan_waiting(a));
        let state = if items.is_empty() {
            "材料齐全".to_string()
        } else {
            items.join("；")
        };
        let who = text::clean(&a.applicant, APPLICANT_CHARS);
        out.push_str(&format!("  · 「{who}」{form}：{state}\n"));
    }
    out.trim_end().to_string()
}
