//! Page images out of an image-only PDF: the embedded JPEG of each page taken as it is
//! (no re-encoding), or, for anything else, pages rendered by poppler's `pdftoppm`.

use super::pages::{bound, decode_image, Page, PageError, MAX_PAGES};
use super::proc;
use super::ScanOptions;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use lopdf::{Document, Object};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Resolution for rendering: 150 dpi keeps A4 at 1240×1754, enough for seal and OCR.
const RENDER_DPI: &str = "150";
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);
/// Resolution of a page's preview on the web page: A4 at about 410×580, quick to render.
const PREVIEW_DPI: &str = "50";
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(20);

/// Takes one image per page out of `bytes`; falls back to `pdftoppm` when a page has no
/// image we can decode ourselves (CCITT fax, JBIG2, vector content…).
pub fn page_images(bytes: &[u8], opts: &ScanOptions) -> Result<Vec<Page>, PageError> {
    // lopdf on hostile input: a panic is caught and treated like a parse failure.
    let embedded = std::panic::catch_unwind(|| embedded_pages(bytes))
        .unwrap_or_else(|_| Err("PDF 解析器崩溃 parser panicked".to_string()));
    match embedded {
        Ok(pages) if !pages.is_empty() => Ok(pages),
        Ok(_) | Err(_) if opts.pdftoppm.is_some() => {
            let tool = opts.pdftoppm.as_deref().unwrap_or(Path::new("pdftoppm"));
            render(tool, bytes, RENDER_DPI, MAX_PAGES, RENDER_TIMEOUT)
        }
        Ok(_) => Err(PageError::Pdf(
            "页面不是 JPEG 图像，且未安装 poppler-utils (pdftoppm) / pages are not plain \
             JPEG images and pdftoppm is not installed"
                .into(),
        )),
        Err(e) => Err(PageError::Pdf(e)),
    }
}

/// Page 1 only, small, for a preview: its embedded image when every page has one we
/// decode ourselves, else rendered by `pdftoppm` at [`PREVIEW_DPI`].
pub fn first_page(bytes: &[u8], opts: &ScanOptions) -> Result<Page, PageError> {
    let embedded = std::panic::catch_unwind(|| embedded_pages(bytes))
        .unwrap_or_else(|_| Err("PDF 解析器崩溃 parser panicked".to_string()));
    if let Ok(pages) = embedded {
        if let Some(p) = pages.into_iter().next() {
            return Ok(p);
        }
    }
    let Some(tool) = opts.pdftoppm.as_deref() else {
        return Err(PageError::Pdf(
            "未安装 poppler-utils (pdftoppm)，无法预览 / pdftoppm is not installed".into(),
        ));
    };
    render(tool, bytes, PREVIEW_DPI, 1, PREVIEW_TIMEOUT)?
        .into_iter()
        .next()
        .ok_or_else(|| PageError::Pdf("pdftoppm 没有输出页面 rendered no pages".into()))
}

/// The largest image of every page, when every page has one we can decode; empty
/// when some page needs a renderer.
fn embedded_pages(bytes: &[u8]) -> Result<Vec<Page>, String> {
    let doc = Document::load_mem(bytes).map_err(|e| format!("PDF 无法读取 unreadable PDF: {e}"))?;
    let mut pages = Vec::new();
    for (_, page_id) in doc.get_pages().into_iter().take(MAX_PAGES) {
        let images = doc.get_page_images(page_id).unwrap_or_default();
        let Some(best) = images.iter().max_by_key(|i| i.width * i.height) else {
            return Ok(Vec::new());
        };
        let filters = best.filters.clone().unwrap_or_default();
        let page = match filters.as_slice() {
            [f] if f == "DCTDecode" => {
                decode_image(best.content, ImageFormat::Jpeg, "pdf/jpeg").ok()
            }
            [f] if f == "FlateDecode" => flate_image(&doc, best.id, best.width, best.height),
            [] => raw_image(
                best.content,
                best.width,
                best.height,
                best.color_space.as_deref(),
                best.bits_per_component,
            ),
            _ => None,
        };
        match page {
            Some(p) => pages.push(p),
            None => return Ok(Vec::new()),
        }
    }
    Ok(pages)
}

/// A Flate-compressed raw image (scanner software writing lossless pages).
fn flate_image(doc: &Document, id: lopdf::ObjectId, w: i64, h: i64) -> Option<Page> {
    let Ok(Object::Stream(stream)) = doc.get_object(id) else {
        return None;
    };
    // Predictors (PNG-style row filters) are not handled here: pdftoppm takes those.
    if stream.dict.get(b"DecodeParms").is_ok() {
        return None;
    }
    let cap = (w.max(0) as usize)
        .saturating_mul(h.max(0) as usize)
        .saturating_mul(3)
        + 1;
    let data = stream.decompressed_content_with_limit(cap).ok()?;
    let cs = stream
        .dict
        .get(b"ColorSpace")
        .ok()
        .and_then(|o| o.as_name().ok())
        .map(|n| String::from_utf8_lossy(n).into_owned());
    let bpc = stream
        .dict
        .get(b"BitsPerComponent")
        .ok()
        .and_then(|o| o.as_i64().ok());
    raw_image(&data, w, h, cs.as_deref(), bpc)
}

/// Builds an image from uncompressed samples: 8-bit RGB or grey, or 1-bit bilevel.
fn raw_image(data: &[u8], w: i64, h: i64, cs: Option<&str>, bpc: Option<i64>) -> Option<Page> {
    let (w, h) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
    if w == 0 || h == 0 || (w as u64) * (h as u64) > 40_000_000 {
        return None;
    }
    let img = match (cs, bpc) {
        (Some("DeviceRGB"), Some(8)) => {
            let n = (w * h * 3) as usize;
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, data.get(..n)?.to_vec())?)
        }
        (Some("DeviceGray"), Some(8)) => {
            let n = (w * h) as usize;
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, data.get(..n)?.to_vec())?)
        }
        (Some("DeviceGray"), Some(1)) => {
            let row = w.div_ceil(8) as usize;
            if data.len() < row * h as usize {
                return None;
            }
            // PDF default decode for 1-bit grey: 0 = black, 1 = white.
            let gray = GrayImage::from_fn(w, h, |x, y| {
                let byte = data[y as usize * row + (x / 8) as usize];
                let bit = (byte >> (7 - (x % 8))) & 1;
                image::Luma([if bit == 1 { 255 } else { 0 }])
            });
            DynamicImage::ImageLuma8(gray)
        }
        _ => return None,
    };
    Some(bound(img))
}

/// Renders pages 1..=`last` with `pdftoppm -r DPI -png` into a private temporary
/// directory.
fn render(
    tool: &Path,
    bytes: &[u8],
    dpi: &str,
    last: usize,
    timeout: Duration,
) -> Result<Vec<Page>, PageError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "kepu-scan-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| PageError::Pdf(format!("临时目录 {}: {e}", dir.display())))?;
    let result = render_into(tool, bytes, &dir, dpi, last, timeout);
    // Best effort: a leftover temp dir is harmless, a failed scan is not its fault.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn render_into(
    tool: &Path,
    bytes: &[u8],
    dir: &Path,
    dpi: &str,
    last: usize,
    timeout: Duration,
) -> Result<Vec<Page>, PageError> {
    let prefix = dir.join("p");
    let prefix = prefix.to_string_lossy();
    let last = last.min(MAX_PAGES).to_string();
    let args = ["-r", dpi, "-png", "-l", &last, "-", &prefix];
    proc::run(tool, &args, bytes, timeout).map_err(|e| PageError::Pdf(e.to_string()))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PageError::Pdf(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    // pdftoppm names pages p-01.png … with zero padding, so name order is page order.
    files.sort();
    let mut pages = Vec::new();
    for f in files {
        let data =
            std::fs::read(&f).map_err(|e| PageError::Pdf(format!("{}: {e}", f.display())))?;
        pages.push(decode_image(&data, ImageFormat::Png, "pdf/rendered")?);
    }
    if pages.is_empty() {
        return Err(PageError::Pdf(
            "pdftoppm 没有输出页面 rendered no pages".into(),
        ));
    }
    Ok(pages)
}
