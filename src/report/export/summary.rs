//! The 汇总表 the office prints and files: one row per application with the same
//! columns for every form ([`summary_rows`]), the roster sheet ([`roster_table`]), the
//! print setup (A4 landscape, fit to width, header row repeated on every page), and
//! the rule that keeps digit strings (phones, postcodes) text in CSV ([`csv_cell`]).
//! Typed rows, so the web page can render the same thing.

use super::rows::DocIndex;
use crate::call::{Call, Format as FieldFormat, Role};
use crate::domain::{problem, Problem, ProblemKind};
use crate::report::dump::{Dump, DumpApplication};
use crate::roster::Roster;
use rust_xlsxwriter::{Format, Worksheet, XlsxError};
use serde::Serialize;

/// The columns of the summary sheet, in order.
pub const SUMMARY_HEADER: [&str; 14] = [
    "序号",
    "单位",
    "附件/表名",
    "联系人",
    "电话",
    "邮箱",
    "电子版",
    "盖章扫描件",
    "是否逾期",
    "审核状态",
    "备注",
    "问题",
    "所属县（市）区",
    "申报编号",
];

/// One application as the summary shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    pub seq: usize,
    pub application: i64,
    pub unit: String,
    pub form: String,
    pub contact: String,
    pub phone: String,
    pub email: String,
    pub electronic: String,
    pub scan: String,
    pub late: bool,
    pub review: String,
    pub note: String,
    pub problems: Vec<String>,
    pub roster_unit: String,
}

impl SummaryRow {
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.seq.to_string(),
            self.unit.clone(),
            self.form.clone(),
            self.contact.clone(),
            self.phone.clone(),
            self.email.clone(),
            self.electronic.clone(),
            self.scan.clone(),
            if self.late { "是" } else { "否" }.into(),
            self.review.clone(),
            self.note.clone(),
            self.problems.join("；"),
            self.roster_unit.clone(),
            format!("a{}", self.application),
        ]
    }
}

/// Whether a problem is one the office acts on. Not: the state of our own tools (no
/// OCR installed), facts with a column of their own (late, missing parts), and
/// housekeeping (a renamed file, a superseded version).
pub fn office_problem(code: &str) -> bool {
    use ProblemKind::*;
    !Problem::parse(code).is_some_and(|p| {
        matches!(
            p.kind,
            OcrUnavailable
                | OcrFailed
                | Late
                | MissingScan
                | MissingElectronic
                | UnstampedScan
                | ReceivedTimeEstimated
                | Superseded
                | UnsafeName
                | Duplicate
        )
    })
}

/// Whether a problem is only the state of our own tools (no OCR installed): never
/// shown to the office as a problem of the application.
pub fn tool_problem(code: &str) -> bool {
    Problem::parse(code)
        .is_some_and(|p| matches!(p.kind, ProblemKind::OcrUnavailable | ProblemKind::OcrFailed))
}

/// The first non-empty value among the form's fields that `pick` accepts.
fn field_value(
    call: &Call,
    form: &str,
    fields: Option<&crate::model::Fields>,
    pick: impl Fn(&crate::call::FieldSpec) -> bool,
) -> String {
    let (Some(def), Some(fields)) = (call.form(form), fields) else {
        return String::new();
    };
    def.fields
        .iter()
        .filter(|s| pick(s))
        .filter_map(|s| fields.get(&s.key))
        .map(|v| v.display())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_default()
}

/// Rows of the summary: applications in form (附件) order, then by id.
pub fn summary_rows(call: &Call, dump: &Dump, roster: &Roster) -> Vec<SummaryRow> {
    let idx = DocIndex::new(dump);
    let mut apps: Vec<&DumpApplication> = dump.applications.iter().collect();
    let order = |a: &DumpApplication| call.form(&a.form).map(|f| f.number).unwrap_or(u32::MAX);
    apps.sort_by_key(|a| (order(a), a.id));
    apps.iter()
        .enumerate()
        .map(|(i, a)| {
            let e = a.electronic.and_then(|id| idx.get(id)).map(|(_, d)| d);
            let s = a.scan.and_then(|id| idx.get(id)).map(|(_, d)| d);
            let fields = e.map(|d| &d.fields);
            let form_def = call.form(&a.form);
            // A unit's form names the unit and has a contact person; a person's form
            // (附件1) names the person, whose unit is where they work: the field the
            // call file gives `role = "unit"`.
            let unit_form =
                form_def.is_some_and(|f| !f.fields.iter().any(|x| x.role == Role::Unit));
            let (unit, contact) = if unit_form {
                let contact = field_value(call, &a.form, fields, |f| f.role == Role::Contact);
                (a.applicant.clone(), contact)
            } else {
                let unit = field_value(call, &a.form, fields, |f| f.role == Role::Unit);
                (unit, a.applicant.clone())
            };
            let mut phone = field_value(call, &a.form, fields, |f| f.format == FieldFormat::Mobile);
            if phone.is_empty() {
                phone = field_value(call, &a.form, fields, |f| {
                    matches!(f.format, FieldFormat::Phone | FieldFormat::Landline)
                });
            }
            let mut email = field_value(call, &a.form, fields, |f| f.format == FieldFormat::Email);
            if email.is_empty() {
                email = a.email.clone().unwrap_or_default();
            }
            let scan = match s {
                None => "缺".to_string(),
                Some(d) => match d.stamped {
                    Some(true) => "已收到（有公章）".into(),
                    Some(false) => "已收到，未见公章".into(),
                    None => "已收到".into(),
                },
            };
            let problems = idx
                .all_problems(a)
                .iter()
                .filter(|p| office_problem(p))
                .map(|p| problem::cell(p))
                .collect();
            SummaryRow {
                seq: i + 1,
                application: a.id,
                unit,
                form: form_def
                    .map(|f| f.heading.clone())
                    .unwrap_or_else(|| a.form.clone()),
                contact,
                phone,
                email,
                electronic: if e.is_some() { "已收到" } else { "缺" }.into(),
                scan,
                late: a.late,
                review: a.status.label_zh().to_string(),
                note: String::new(),
                problems,
                roster_unit: roster.unit_of(a.id).unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// The roster sheet: a row per unit.
pub fn roster_table(roster: &Roster) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "单位",
        "已收到",
        "齐全",
        "对照要求",
        "缺少",
        "最近联系",
        "申报编号",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = roster
        .units
        .iter()
        .map(|u| {
            vec![
                u.unit.clone(),
                u.applications.len().to_string(),
                u.complete.len().to_string(),
                u.expects
                    .iter()
                    .map(|e| e.text.clone())
                    .collect::<Vec<_>>()
                    .join("，"),
                if u.done {
                    "齐全".into()
                } else if u.applications.is_empty() {
                    "尚未报送".into()
                } else if u.missing.is_empty() {
                    "材料不全".into()
                } else {
                    crate::roster::missing_zh(u)
                },
                u.last_contact
                    .as_deref()
                    .and_then(crate::time::parse_rfc3339)
                    .map(|t| crate::time::fmt_human(&t))
                    .unwrap_or_default(),
                u.applications
                    .iter()
                    .map(|a| format!("a{a}"))
                    .collect::<Vec<_>>()
                    .join("、"),
            ]
        })
        .collect();
    (header, rows)
}

/// A4 landscape, one page wide, the header row on every page, the sheet's name as the
/// page header and page numbers in the footer.
pub fn print_setup(ws: &mut Worksheet, title: &str) {
    ws.set_paper_size(9);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_header(format!("&C&\"-,Bold\"{title}"));
    ws.set_footer("&C第 &P 页，共 &N 页");
    let _ = ws.set_repeat_rows(0, 0);
}

/// Writes the summary sheet: text cells throughout (phone numbers and postcodes stay
/// as typed), 序号 as a number, long cells wrapped.
pub fn write_summary_sheet(
    ws: &mut Worksheet,
    rows: &[SummaryRow],
    title: &str,
) -> Result<(), XlsxError> {
    let bold = Format::new()
        .set_bold()
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let cell = Format::new()
        .set_text_wrap()
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    for (c, h) in SUMMARY_HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        ws.write_number_with_format(r, 0, row.seq as f64, &cell)?;
        for (c, v) in row.cells().iter().enumerate().skip(1) {
            ws.write_string_with_format(r, c as u16, super::excel_text(v), &cell)?;
        }
    }
    let widths = [
        5.0, 28.0, 26.0, 10.0, 14.0, 22.0, 8.0, 14.0, 8.0, 12.0, 12.0, 30.0, 14.0, 9.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, (SUMMARY_HEADER.len() - 1) as u16)?;
    print_setup(ws, title);
    Ok(())
}

/// One CSV cell. A string of digits that Excel would turn into a number (a phone
/// number becoming 1.38315E+10, a postcode losing its leading 0) is written as the
/// formula `="063210"`: quoting alone does not help, Excel types a quoted field by its
/// content; `="…"` is the one CSV form Excel and LibreOffice open as that exact text.
/// Only digits are wrapped, so nothing an applicant wrote becomes a formula; every
/// other value goes through [`super::csv_field`] (its formula guard included).
pub fn csv_cell(v: &str) -> String {
    let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if digits && (v.len() >= 6 || (v.len() >= 2 && v.starts_with('0'))) {
        format!("=\"{v}\"")
    } else {
        super::csv_field(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_strings_stay_text_in_csv() {
        assert_eq!(csv_cell("13831512345"), "=\"13831512345\"");
        assert_eq!(csv_cell("063210"), "=\"063210\"");
        assert_eq!(csv_cell("12"), "12");
        assert_eq!(csv_cell("0315-2830734"), "0315-2830734");
        assert_eq!(csv_cell("=1+1"), super::super::csv_field("=1+1"));
    }

    #[test]
    fn only_problems_that_matter() {
        assert!(!office_problem("ocr_unavailable"));
        assert!(!office_problem("late"));
        assert!(office_problem("missing_field:姓名"));
        assert!(office_problem("cloud_attachment:a.zip:2022-08-01"));
    }
}
