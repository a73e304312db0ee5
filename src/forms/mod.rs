//! Form stage: the call's application forms (附件1–4 of the 2022 call, or whatever the
//! call file defines, [`crate::call`]) read out of electronic documents, following
//! `forms.md` (canonical keys, checkbox values, named problems).
//! Pure: the call and bytes in, fields out, no IO. Untrusted input runs through
//! [`crate::isolate`].
//!
//! Every reader (docx, xlsx/xls, PDF text) produces the neutral [`grid::Grid`]; one
//! label→value engine ([`fields`]) reads every form from it; [`validate`] names the
//! problems.

pub mod checkbox;
pub mod docx;
pub mod fields;
pub mod grid;
pub mod sheet;
pub mod spec;
pub mod text;
pub mod validate;
pub mod xlsb;

use crate::call::{Call, FormDef};
use crate::model::{FieldValue, Fields, FormKey};
use serde::{Deserialize, Serialize};

/// Result of reading one electronic document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedForm {
    /// Which form, None when the document is not one of the call's forms.
    pub form: Option<FormKey>,
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
/// `xlsx` (also `xlsm`), `xlsb`, `ods`, `xls`, or `pdf-text` / `txt` (UTF-8 text of a PDF). `doc`, `wps`, `rtf`
/// and `odt` need [`crate::convert`] first.
pub fn parse_electronic(call: &Call, format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
    match format {
        "docx" | "docm" | "dotx" => Ok(parse_grid(call, &docx::read(bytes)?)),
        "xlsx" | "xlsm" | "xlsb" | "ods" | "xls" => {
            Ok(parse_grid(call, &sheet::read(format, bytes)?))
        }
        "pdf-text" | "txt" => Ok(parse_text(call, &String::from_utf8_lossy(bytes))),
        "doc" | "wps" | "rtf" | "odt" => Err(FormError::NeedsConversion(NEEDS_SOFFICE.into())),
        other => Err(FormError::Unsupported(other.into())),
    }
}

/// Reads the fields of whichever of the call's forms `grid` is.
pub fn parse_grid(call: &Call, grid: &grid::Grid) -> ParsedForm {
    let text = grid.all_text();
    let Some(form) = identify(call, &text, grid) else {
        return ParsedForm::default();
    };
    let fields = fields::extract(form, grid);
    if is_notice(call, &text, form, &fields) {
        return notice();
    }
    finish(form, fields)
}

fn finish(form: &FormDef, fields: Fields) -> ParsedForm {
    let problems = validate::problems(form, &fields);
    ParsedForm {
        form: Some(form.key),
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

/// A circulated notice or its blank forms: one of the call's notice headings or the
/// titles of two or more of its forms, and not one of the identified form's required
/// fields filled in. A document holding a filled form stays that form, whatever else it
/// carries.
pub fn is_notice(call: &Call, text: &str, form: &FormDef, fields: &Fields) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let titles = call
        .forms
        .iter()
        .filter(|f| f.titles.iter().any(|title| t.contains(title.as_str())))
        .count();
    if titles < 2 && !call.notice.iter().any(|h| t.contains(h.as_str())) {
        return false;
    }
    form.fields
        .iter()
        .filter(|s| s.required)
        .all(|s| fields.get(&s.key).is_none_or(FieldValue::is_empty))
}

/// Title first: a form of the call named by its title; else, when the document has no
/// title of its own, the form whose labels it carries ([`guess_by_labels`]). A document
/// titled as some other form (a volunteer sign-up sheet with 姓名, 性别, 工作单位) is no
/// form of the call, however many labels it shares with one.
fn identify<'c>(call: &'c Call, text: &str, grid: &grid::Grid) -> Option<&'c FormDef> {
    if let Some(f) = call.identify(text) {
        return Some(f);
    }
    if foreign_title(call, text).is_some() {
        return None;
    }
    guess_by_labels(call, grid)
}

/// Lines looked at for a document's own title.
const TITLE_LINES: usize = 6;

/// A title near the top of `text` naming a form the call does not have: a short line
/// (no colon, not one of the call's labels) ending in 表 (…报名表, …登记表, …申请表).
pub fn foreign_title(call: &Call, text: &str) -> Option<String> {
    text.lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .trim_end_matches(['。', '.', '）', ')'])
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .take(TITLE_LINES)
        .find(|l| {
            let n = l.chars().count();
            (4..=40).contains(&n)
                && l.ends_with('表')
                && !l.contains([':', '：'])
                && !call.forms.iter().any(|f| fields::is_label(f, l))
        })
}

/// A form whose title was deleted: the one with the most of its labels present,
/// if at least four distinct ones are.
fn guess_by_labels<'c>(call: &'c Call, grid: &grid::Grid) -> Option<&'c FormDef> {
    call.forms
        .iter()
        .map(|f| (fields::label_hits(f, grid), f))
        .filter(|(n, _)| *n >= 4)
        .max_by_key(|(n, _)| *n)
        .map(|(_, f)| f)
}

/// Best-effort reading of plain text (a PDF text layer or OCR output).
pub fn parse_text(call: &Call, text: &str) -> ParsedForm {
    let text = &text::normalize(text);
    let g = text::grid(text);
    let Some(form) = identify(call, text, &g) else {
        return ParsedForm::default();
    };
    let g = text::join_split_labels(g, |t| fields::is_exact_label(form, t));
    let g = text::merge_continuations(g, |t| fields::is_label(form, t));
    let mut fields = fields::extract_text(form, &g);
    // Options of a checkbox field wrap onto lines of their own in a PDF: read them from
    // every line that carries a box.
    let marks = text::choice_lines(text);
    for s in &form.fields {
        if let spec::Kind::Choices(opts) = &s.kind {
            let v = checkbox::read_choices(&marks, opts);
            if !v.is_empty() {
                fields.insert(s.key.clone(), FieldValue::Choices(v));
            }
        }
    }
    if is_notice(call, text, form, &fields) {
        return notice();
    }
    finish(form, fields)
}

/// Which of the call's forms a text is, by its title.
pub fn identify_form(call: &Call, text: &str) -> Option<FormKey> {
    call.identify(text).map(|f| f.key)
}

/// The applicant named on the form (the value of its `applicant` field), whitespace
/// runs collapsed to one space; None when empty.
pub fn applicant(form: &FormDef, fields: &Fields) -> Option<String> {
    let v = fields.get(form.applicant_key())?.display();
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
}
