//! Page images out of an image-only PDF: the embedded JPEG of each page taken as it is
//! (no re-encoding), or, for anything else, pages rendered by poppler's `pdftoppm`.
//!
//! Rendering is bounded twice: pages larger than [`MAX_PAGE_POINTS`] are refused
//! before `pdftoppm` starts (a named problem), and every page is rendered at a capped
//! pixel size (`-scale-to`), whatever size the PDF claims, in case our reading of the
//! page sizes and poppler's differ on a broken file.

use super::pages::{bound, decode_image, Page, PageError, MAX_PAGES};
use super::proc;
use super::ScanOptions;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use lopdf::{Document, Object, ObjectId};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest side of a rendered page in pixels: A4 at 150 dpi (1240×1754), enough for
/// seal and OCR; every page is scaled to it, so no page costs more than ~9 MB.
pub const RENDER_SIDE: u32 = 1754;
/// Longest page side accepted for rendering, in points (1/72 in): A0's long side
/// (1189 mm). A scanned form is A4; anything beyond A0 is not a scan.
pub const MAX_PAGE_POINTS: f64 = 3370.0;
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest side of a page's preview on the web page, in pixels: quick to render.
const PREVIEW_SIDE: u32 = 800;
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
            check_page_sizes(bytes)?;
            render(tool, bytes, RENDER_SIDE, MAX_PAGES, RENDER_TIMEOUT)
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
/// decode ourselves, else rendered by `pdftoppm` at [`PREVIEW_SIDE`] pixels.
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
    check_page_sizes(bytes)?;
    render(tool, bytes, PREVIEW_SIDE, 1, PREVIEW_TIMEOUT)?
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

/// How many pages a PDF has, None when lopdf cannot read it.
pub fn page_count(bytes: &[u8]) -> Option<usize> {
    std::panic::catch_unwind(|| Document::load_mem(bytes).ok().map(|d| d.get_pages().len()))
        .ok()
        .flatten()
}

/// Refuses a PDF one of whose first [`MAX_PAGES`] pages is larger than
/// [`MAX_PAGE_POINTS`]. A PDF we cannot read ourselves passes: poppler may repair it,
/// and the pixel cap of [`render`] still holds.
fn check_page_sizes(bytes: &[u8]) -> Result<(), PageError> {
    let sizes = std::panic::catch_unwind(|| page_sizes(bytes)).unwrap_or_default();
    for (i, (w, h)) in sizes.into_iter().enumerate().take(MAX_PAGES) {
        if w.max(h) > MAX_PAGE_POINTS || !w.is_finite() || !h.is_finite() {
            return Err(PageError::PageTooLarge {
                page: i + 1,
                width: w.round(),
                height: h.round(),
            });
        }
    }
    Ok(())
}

/// Each page's visible size in points (crop box, else media box, inherited from the
/// page tree, times `UserUnit`); empty when lopdf cannot read the file.
fn page_sizes(bytes: &[u8]) -> Vec<(f64, f64)> {
    let Ok(doc) = Document::load_mem(bytes) else {
        return Vec::new();
    };
    doc.get_pages()
        .into_values()
        .take(MAX_PAGES)
        .map(|id| page_size(&doc, id).unwrap_or((0.0, 0.0)))
        .collect()
}

fn page_size(doc: &Document, page: ObjectId) -> Option<(f64, f64)> {
    let rect = inherited(doc, page, b"CropBox").or_else(|| inherited(doc, page, b"MediaBox"))?;
    let nums: Vec<f64> = match doc.dereference(rect).ok()?.1 {
        Object::Array(a) => a
            .iter()
            .filter_map(|o| doc.dereference(o).ok().and_then(|(_, o)| number(o)))
            .collect(),
        _ => return None,
    };
    let [x1, y1, x2, y2] = nums.as_slice() else {
        return None;
    };
    let unit = inherited(doc, page, b"UserUnit")
        .and_then(number)
        .unwrap_or(1.0);
    Some(((x2 - x1).abs() * unit, (y2 - y1).abs() * unit))
}

/// A page attribute, looked up through its `Parent` chain (at most 32 levels, so a
/// cyclic tree ends).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut id = page;
    for _ in 0..32 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return Some(v);
        }
        id = dict.get(b"Parent").ok()?.as_reference().ok()?;
    }
    None
}

fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

/// Renders pages 1..=`last` with `pdftoppm -scale-to SIDE` into a private temporary
/// directory (mode 0700, random name, removed afterwards).
fn render(
    tool: &Path,
    bytes: &[u8],
    side: u32,
    last: usize,
    timeout: Duration,
) -> Result<Vec<Page>, PageError> {
    let dir = crate::isolate::tool::workdir()
        .map_err(|e| PageError::Pdf(format!("临时目录 temp dir: {e}")))?;
    render_into(tool, bytes, dir.path(), side, last, timeout)
}

fn render_into(
    tool: &Path,
    bytes: &[u8],
    dir: &Path,
    side: u32,
    last: usize,
    timeout: Duration,
) -> Result<Vec<Page>, PageError> {
    let prefix = dir.join("p");
    let prefix = prefix.to_string_lossy();
    let last = last.min(MAX_PAGES).to_string();
    let side = side.to_string();
    let args = ["-scale-to", &side, "-png", "-l", &last, "-", &prefix];
    proc::run_in(dir, tool, &args, bytes, timeout).map_err(|e| PageError::Pdf(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn bomb() -> Vec<u8> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read(root.join("fixtures/hostile/page_bomb.pdf")).unwrap()
    }

    #[test]
    fn a_huge_page_is_refused_before_rendering() {
        match check_page_sizes(&bomb()) {
            Err(PageError::PageTooLarge {
                page: 1,
                width,
                height,
            }) => assert_eq!((width, height), (12000.0, 12000.0)),
            other => panic!("{other:?}"),
        }
    }

    /// The second bound, for a PDF whose sizes we could not read: whatever the page
    /// claims, poppler renders it at most RENDER_SIDE pixels a side, quickly.
    #[test]
    fn rendering_is_capped_in_pixels_whatever_the_page_size() {
        let Some(tool) = crate::scan::ScanOptions::detect(&Default::default()).pdftoppm else {
            eprintln!("pdftoppm not installed: skipped");
            return;
        };
        let started = Instant::now();
        let pages = render(&tool, &bomb(), RENDER_SIDE, MAX_PAGES, RENDER_TIMEOUT).unwrap();
        let took = started.elapsed();
        assert_eq!(pages.len(), 1);
        let (w, h) = pages[0].rgb.dimensions();
        assert_eq!(w.max(h), RENDER_SIDE);
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
}
