//! Form stage: the four application forms (附件1–4) read out of electronic documents,
//! following `forms.md` (canonical keys, checkbox values, named problems).
//! Pure: bytes in, fields out, no IO. Untrusted input runs through [`crate::isolate`].
//!
//! Every reader (docx, xlsx/xls, PDF text) produces the neutral [`grid::Grid`]; one
//! label→value engine ([`fields`]) reads all four forms from it; [`validate`] names
//! the problems.

pub mod checkbox;
pub mod docx;
pub mod fields;
pub mod grid;
pub mod sheet;
pub mod spec;
pub mod text;
pub mod validate;

use crate::model::{FieldValue, Fields, FormKind};
use serde::{Deserialize, Serialize};

/// Result of reading one electronic document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedForm {
    /// Which form, None when the document is not one of the four.
    pub form: Option<FormKind>,
    pub fields: Fields,
    /// missing_field:<key>, over_limit:<key>, bad_format:<key>
    pub problems: Vec<String>,
    /// The notice itself or its blank forms (several forms' titles, nothing filled in):
    /// a template circulated, not an application (`form` is then None).
    #[serde(default)]
    pub notice: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum FormError {
    #[error("corrupt_attachment: {0}")]
    Corrupt(String),
    /// A converter ran to its end and could not read the file (LibreOffice's "source
    /// file could not be loaded"): the same bytes will fail the same way, unlike a
    /// timeout or a killed worker, so this answer may be cached. Shown as `Corrupt`.
    #[error("corrupt_attachment: {0}")]
    Unreadable(String),
    #[error("encrypted_attachment")]
    Encrypted,
    #[error("needs_conversion: {0}")]
    NeedsConversion(String),
    #[error("unsupported format {0}")]
    Unsupported(String),
}

/// What to tell the operator when a Word 97 / WPS file arrives and LibreOffice is absent.
pub const NEEDS_SOFFICE: &str =
    "安装 LibreOffice (apt-get install libreoffice-writer-nogui) 后运行 kepu-intake reprocess";

/// Reads the form in `bytes` of sniffed `format`: `docx` (also `docm`, `dotx`),
/// `xlsx`, `xls`, or `pdf-text` / `txt` (UTF-8 text of a PDF). `doc`, `wps`, `rtf`
/// and `odt` need [`crate::convert`] first.
pub fn parse_electronic(format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
    match format {
        "docx" | "docm" | "dotx" => Ok(parse_grid(&docx::read(bytes)?)),
        "xlsx" | "xlsm" | "xlsb" | "ods" | "xls" => Ok(parse_grid(&sheet::read(format, bytes)?)),
        "pdf-text" | "txt" => Ok(parse_text(&String::from_utf8_lossy(bytes))),
        "doc" | "wps" | "rtf" | "odt" => Err(FormError::NeedsConversion(NEEDS_SOFFICE.into())),
        other => Err(FormError::Unsupported(other.into())),
    }
}

/// Reads the fields of whichever form `grid` is.
pub fn parse_grid(grid: &grid::Grid) -> ParsedForm {
    let text = grid.all_text();
    let form = identify_form(&text).or_else(|| guess_by_labels(grid));
    let Some(form) = form else {
        return ParsedForm::default();
    };
    let fields = fields::extract(form, grid);
    if is_notice(&text, form, &fields) {
        return notice();
    }
    finish(form, fields)
}

fn finish(form: FormKind, fields: Fields) -> ParsedForm {
    let problems = validate::problems(form, &fields);
    ParsedForm {
        form: Some(form),
        fields,
        problems,
        notice: false,
    }
}

fn notice() -> ParsedForm {
    ParsedForm {
        notice: true,
        ..ParsedForm::default()
    }
}

/// The notice's own heading (its first line).
const NOTICE_HEADING: &str = "关于利用科普资源助推“双减”工作的通知";

/// A circulated notice or its blank forms: the notice's heading or the titles of two
/// or more forms, and not one of the identified form's required fields filled in. A
/// document holding a filled form stays that form, whatever else it carries.
pub fn is_notice(text: &str, form: FormKind, fields: &Fields) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let titles = FormKind::ALL
        .into_iter()
        .filter(|f| t.contains(title_marker(*f)))
        .count();
    if titles < 2 && !t.contains(NOTICE_HEADING) {
        return false;
    }
    spec::fields(form)
        .iter()
        .filter(|s| s.required)
        .all(|s| fields.get(s.key).is_none_or(FieldValue::is_empty))
}

/// The words of a form's title that [`identify_form`] looks for.
fn title_marker(f: FormKind) -> &'static str {
    match f {
        FormKind::Expert => "科技教育专家服务团成员推荐表",
        FormKind::Resource => "科普资源申报推荐表",
        FormKind::PilotDistrict => "试点县（市）区申报表",
        FormKind::PilotSchool => "试点学校申报表",
    }
}

/// A form whose title was deleted: the one with the most of its labels present,
/// if at least four distinct ones are.
fn guess_by_labels(grid: &grid::Grid) -> Option<FormKind> {
    FormKind::ALL
        .into_iter()
        .map(|f| (fields::label_hits(f, grid), f))
        .filter(|(n, _)| *n >= 4)
        .max_by_key(|(n, _)| *n)
        .map(|(_, f)| f)
}

/// Best-effort reading of plain text (a PDF text layer or OCR output).
pub fn parse_text(text: &str) -> ParsedForm {
    let text = &text::normalize(text);
    let g = text::grid(text);
    let form = identify_form(text).or_else(|| guess_by_labels(&g));
    let Some(form) = form else {
        return ParsedForm::default();
    };
    let g = text::join_split_labels(g, |t| fields::is_exact_label(form, t));
    let g = text::merge_continuations(g, |t| fields::is_label(form, t));
    let mut fields = fields::extract_text(form, &g);
    // Options of a checkbox field wrap onto lines of their own in a PDF: read them from
    // every line that carries a box.
    let marks = text::choice_lines(text);
    for s in spec::fields(form) {
        if let spec::Kind::Choices(opts) = s.kind {
            let v = checkbox::read_choices(&marks, opts);
            if !v.is_empty() {
                fields.insert(s.key.to_string(), FieldValue::Choices(v));
            }
        }
    }
    if is_notice(text, form, &fields) {
        return notice();
    }
    finish(form, fields)
}

/// Which form a text is, by its title.
pub fn identify_form(text: &str) -> Option<FormKind> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.contains("科技教育专家服务团成员推荐表") {
        Some(FormKind::Expert)
    } else if t.contains("科普资源申报推荐表") {
        Some(FormKind::Resource)
    } else if t.contains("试点县（市）区申报表") || t.contains("试点县(市)区申报表")
    {
        Some(FormKind::PilotDistrict)
    } else if t.contains("试点学校申报表") {
        Some(FormKind::PilotSchool)
    } else {
        None
    }
}

/// The applicant named on the form (the value of [`FormKind::applicant_key`]),
/// whitespace runs collapsed to one space; None when empty.
pub fn applicant(form: FormKind, fields: &Fields) -> Option<String> {
    let v = fields.get(form.applicant_key())?.display();
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
}
