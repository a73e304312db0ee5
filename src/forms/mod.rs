//! Form stage: the four application forms (附件1–4) read out of electronic documents,
//! following `forms.md` (canonical keys, checkbox values, named problems).
//! Pure: bytes in, fields out, no IO. Untrusted input runs through [`crate::isolate`].

use crate::model::{Fields, FormKind};
use serde::{Deserialize, Serialize};

/// Result of reading one electronic document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedForm {
    /// Which form, None when the document is not one of the four.
    pub form: Option<FormKind>,
    pub fields: Fields,
    /// missing_field:<key>, over_limit:<key>, bad_format:<key>
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum FormError {
    #[error("corrupt_attachment: {0}")]
    Corrupt(String),
    #[error("encrypted_attachment")]
    Encrypted,
    #[error("needs_conversion: {0}")]
    NeedsConversion(String),
    #[error("unsupported format {0}")]
    Unsupported(String),
}

/// Reads the form in `bytes` of sniffed `format` (docx, xlsx, xls, pdf-text …).
pub fn parse_electronic(format: &str, bytes: &[u8]) -> Result<ParsedForm, FormError> {
    let _ = bytes;
    Err(FormError::Unsupported(format.into()))
}

/// Best-effort reading of plain text (a PDF text layer or OCR output).
pub fn parse_text(text: &str) -> ParsedForm {
    ParsedForm {
        form: identify_form(text),
        ..Default::default()
    }
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
