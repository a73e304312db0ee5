//! Turns a scan's bytes (jpg, png, tiff, bmp, gif, image-only pdf) into page images,
//! each bounded in size so one huge phone photo cannot take the daemon's memory.

use super::pdf;
use super::ScanOptions;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Longest side kept for analysis. 2400 px is A4 at ~200 dpi, enough for OCR; larger
/// photos (12 MP phones give 4000 px) are scaled down once, right after decoding.
pub const MAX_SIDE: u32 = 2400;

/// Pixel count a single decoded image may have (about 40 MP); above it the file is
/// refused instead of decoded (a decompression bomb or a poster-size scan).
const MAX_PIXELS: u64 = 40_000_000;
/// Bytes one decoded image may take, and the longest side a file may claim.
pub(super) const MAX_ALLOC: u64 = MAX_PIXELS * 4;
pub(super) const MAX_DIMENSION: u32 = 20_000;

/// Pages beyond this are not analysed (a 200-page PDF is not a stamped form).
pub const MAX_PAGES: usize = 20;

/// One page ready for analysis.
pub struct Page {
    pub rgb: RgbImage,
    /// The source had colour channels and was not a grey image stored as colour.
    /// False for L/LA images (grayscale, fax).
    pub colour_channels: bool,
    /// Width and height as decoded, before [`bound`] scaled the page down.
    pub source: (u32, u32),
}

/// Why no page could be taken out of a scan.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("图像无法解码 cannot decode {format} image: {msg}")]
    Decode { format: String, msg: String },
    #[error("PDF 中没有可用的页面图像 no page images in PDF: {0}")]
    Pdf(String),
    #[error("不支持的扫描件格式 unsupported scan format {0}")]
    Unsupported(String),
    /// A page too large to be a scanned form; refused before rendering.
    #[error("页面过大 page {page} is {width}×{height} pt, over the {max} pt cap", max = super::pdf::MAX_PAGE_POINTS)]
    PageTooLarge {
        page: usize,
        width: f64,
        height: f64,
    },
}

/// Decodes `bytes` of sniffed `format` into at most [`MAX_PAGES`] pages.
pub fn load(format: &str, bytes: &[u8], opts: &ScanOptions) -> Result<Vec<Page>, PageError> {
    let fmt = format.to_ascii_lowercase();
    match fmt.as_str() {
        "pdf" => pdf::page_images(bytes, opts),
        _ => {
            let image_format = image_format(&fmt).ok_or(PageError::Unsupported(fmt.clone()))?;
            Ok(vec![decode_image(bytes, image_format, &fmt)?])
        }
    }
}

/// Maps the pipeline's format names to the `image` crate's formats.
fn image_format(fmt: &str) -> Option<ImageFormat> {
    Some(match fmt {
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "tif" | "tiff" => ImageFormat::Tiff,
        "bmp" => ImageFormat::Bmp,
        "gif" => ImageFormat::Gif,
        _ => return None,
    })
}

/// Decodes one image (first frame / first TIFF page) with size limits, then bounds it.
pub fn decode_image(bytes: &[u8], format: ImageFormat, name: &str) -> Result<Page, PageError> {
    let err = |msg: String| PageError::Decode {
        format: name.to_string(),
        msg,
    };
    if format == ImageFormat::Jpeg {
        // Anything this path declines (small, CMYK, over the limits, broken) goes to
        // the general decoder, which applies the same limits and names the fault.
        match super::jpeg::decode_scaled(bytes) {
            Ok(page) => return Ok(page),
            Err(super::jpeg::Skip::Refused(why)) => {
                tracing::debug!(%why, "JPEG not decoded at a reduced scale; decoding in full")
            }
            Err(super::jpeg::Skip::NotWorth) => {}
        }
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    // Decoders for untrusted input: a panic inside one must cost this file only.
    let decoded = std::panic::catch_unwind(move || reader.decode())
        .map_err(|_| err("decoder panicked".into()))?
        .map_err(|e| err(e.to_string()))?;
    Ok(bound(decoded))
}

/// Scales a decoded image so its longest side is at most [`MAX_SIDE`], and notes
/// whether it carried colour channels at all.
///
/// The scaling is an integer box average straight into 8-bit pixels: a float resize
/// holds an f32 intermediate (new width × old height × 3 × 4 bytes), several times the
/// page itself; this needs only the output.
pub fn bound(img: DynamicImage) -> Page {
    let colour_channels = img.color().has_color();
    let source = (img.width(), img.height());
    let rgb = match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    };
    let (w, h) = rgb.dimensions();
    let k = shrink_factor(w, h);
    let rgb = if k > 1 { box_shrink(&rgb, k) } else { rgb };
    Page {
        rgb,
        colour_channels,
        source,
    }
}

/// The size [`bound`] gives a `w`×`h` image.
pub fn bounded_size(w: u32, h: u32) -> (u32, u32) {
    let k = shrink_factor(w, h);
    ((w / k).max(1), (h / k).max(1))
}

/// The whole factor [`bound`] shrinks a `w`×`h` image by: its longest side at most
/// [`MAX_SIDE`].
fn shrink_factor(w: u32, h: u32) -> u32 {
    w.max(h).div_ceil(MAX_SIDE).max(1)
}

/// Averages `k`×`k` blocks of `img` into one pixel (edge rows and columns that do not
/// fill a block are dropped: at most k−1 pixels of margin).
fn box_shrink(img: &RgbImage, k: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = ((w / k).max(1), (h / k).max(1));
    let raw = img.as_raw();
    let mut out = RgbImage::new(nw, nh);
    let mut acc = vec![0u32; nw as usize * 3];
    let n = (k * k).max(1);
    for oy in 0..nh {
        acc.iter_mut().for_each(|a| *a = 0);
        for y in oy * k..((oy + 1) * k).min(h) {
            let row = &raw[(y * w * 3) as usize..((y + 1) * w * 3) as usize];
            for ox in 0..nw as usize {
                let start = ox * k as usize * 3;
                let end = (start + k as usize * 3).min(row.len());
                for (i, v) in row[start..end].iter().enumerate() {
                    acc[ox * 3 + i % 3] += *v as u32;
                }
            }
        }
        for ox in 0..nw {
            let i = ox as usize * 3;
            out.put_pixel(
                ox,
                oy,
                image::Rgb([
                    (acc[i] / n) as u8,
                    (acc[i + 1] / n) as u8,
                    (acc[i + 2] / n) as u8,
                ]),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_pages_are_box_averaged_below_max_side() {
        let mut img = RgbImage::from_pixel(MAX_SIDE * 2 + 10, 100, image::Rgb([200, 10, 20]));
        img.put_pixel(0, 0, image::Rgb([0, 0, 0]));
        let page = bound(DynamicImage::ImageRgb8(img));
        assert!(page.colour_channels);
        assert_eq!(page.rgb.dimensions(), (1603, 33));
        assert_eq!(page.rgb.get_pixel(5, 5).0, [200, 10, 20]);
        // The black pixel is one ninth of its block.
        assert_eq!(page.rgb.get_pixel(0, 0).0, [177, 8, 17]);
        let grey = DynamicImage::ImageLuma8(image::GrayImage::new(10, 10));
        assert!(!bound(grey).colour_channels);
        assert_eq!(bounded_size(MAX_SIDE * 2 + 10, 100), (1603, 33));
        assert_eq!(bounded_size(4961, 7016), (1653, 2338));
    }
}
