//! A small picture of a scan for the web page: an image as it is, a PDF's first page
//! (its embedded image, else rendered by the same `pdftoppm` runner the scan analysis
//! uses), scaled down and encoded as JPEG.

use super::pages::{self, PageError};
use super::{pdf, ScanOptions};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;

/// Longest side of a preview, in pixels: readable beside a form's fields.
pub const PREVIEW_SIDE: u32 = 1000;

/// JPEG bytes of page 1 of a document of sniffed `format` (`pdf`, `jpg`, `png`, …).
pub fn jpeg(format: &str, bytes: &[u8], opts: &ScanOptions) -> Result<Vec<u8>, PageError> {
    let page = if format.eq_ignore_ascii_case("pdf") {
        pdf::first_page(bytes, opts)?
    } else {
        pages::load(format, bytes, opts)?
            .into_iter()
            .next()
            .ok_or_else(|| PageError::Unsupported(format.to_string()))?
    };
    let (w, h) = page.rgb.dimensions();
    let img = if w.max(h) > PREVIEW_SIDE {
        let scale = PREVIEW_SIDE as f64 / w.max(h) as f64;
        image::imageops::resize(
            &page.rgb,
            ((w as f64 * scale).round() as u32).max(1),
            ((h as f64 * scale).round() as u32).max(1),
            FilterType::Triangle,
        )
    } else {
        page.rgb
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .map_err(|e| PageError::Unsupported(format!("JPEG 编码失败 / encode: {e}")))?;
    Ok(out)
}
