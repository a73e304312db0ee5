//! Scan stage: recognise scanned stamped copies (images, image-only PDFs), find the red
//! seal, OCR the text, and score scan ↔ electronic matches.

use crate::model::FormKind;

/// What was learnt from one scan document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanInfo {
    /// true = seal found, false = colour scan without a seal, None = no colour (fax,
    /// grayscale) or unreadable: unknown.
    pub stamped: Option<bool>,
    /// Best seal candidate's score (0–1), kept for review.
    pub seal_score: f64,
    pub pages: usize,
    /// OCR text, when Tesseract is installed.
    pub ocr_text: Option<String>,
    pub form: Option<FormKind>,
    pub problems: Vec<String>,
}
