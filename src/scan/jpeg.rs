//! Large JPEGs decoded small: a 600 dpi A4 scan is 4961×7016 px, 104 MB as RGB, but
//! the pipeline keeps at most [`MAX_SIDE`] px of it. The JPEG's DCT blocks can be
//! decoded straight at 1/2, 1/4 or 1/8 of the size (a smaller inverse transform per
//! block), so such a page is decoded at the smallest of those scales that is still at
//! least the kept size, then averaged down to exactly the size the full decode would
//! have been bounded to: the page the analysis sees has the same dimensions either way.

use super::pages::{bounded_size, Page, MAX_ALLOC, MAX_DIMENSION, MAX_SIDE};
use image::RgbImage;
use jpeg_decoder::{Decoder, PixelFormat};
use std::io::Cursor;

/// Why a JPEG was not decoded here (the caller then decodes it the ordinary way, which
/// names the fault in its own words).
#[derive(Debug)]
pub enum Skip {
    /// Small enough that a full decode costs little, or in a pixel format (CMYK,
    /// 16-bit grey) left to the general decoder.
    NotWorth,
    /// Over the size limits, unreadable, or the decoder panicked.
    Refused(String),
}

/// Decodes `bytes` at a reduced DCT scale when the image is at least twice the kept
/// size, and bounds it like [`super::pages::bound`] would.
pub fn decode_scaled(bytes: &[u8]) -> Result<Page, Skip> {
    std::panic::catch_unwind(|| decode_inner(bytes))
        .map_err(|_| Skip::Refused("decoder panicked".into()))?
}

fn decode_inner(bytes: &[u8]) -> Result<Page, Skip> {
    let mut dec = Decoder::new(Cursor::new(bytes));
    dec.read_info().map_err(|e| Skip::Refused(e.to_string()))?;
    let info = dec.info().ok_or(Skip::NotWorth)?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w.max(h) < 2 * MAX_SIDE {
        return Err(Skip::NotWorth);
    }
    let colour = match info.pixel_format {
        PixelFormat::RGB24 => true,
        PixelFormat::L8 => false,
        PixelFormat::L16 | PixelFormat::CMYK32 => return Err(Skip::NotWorth),
    };
    // The same refusal as the full decode: a file whose full size is over the limits
    // is a bomb or a poster, whatever scale it could be decoded at.
    let full = u64::from(w) * u64::from(h) * info.pixel_format.pixel_bytes() as u64;
    if w > MAX_DIMENSION || h > MAX_DIMENSION || full > MAX_ALLOC {
        return Err(Skip::Refused(format!(
            "{w}×{h} px is over the decoding limits"
        )));
    }
    let (nw, nh) = bounded_size(w, h);
    dec.set_max_decoding_buffer_size(MAX_ALLOC as usize);
    let (sw, sh) = dec
        .scale(nw as u16, nh as u16)
        .map_err(|e| Skip::Refused(e.to_string()))?;
    let pixels = dec.decode().map_err(|e| Skip::Refused(e.to_string()))?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let channels = if colour { 3 } else { 1 };
    if pixels.len() < (sw * sh * channels) as usize {
        return Err(Skip::Refused(
            "decoded fewer pixels than the header says".into(),
        ));
    }
    let rgb = area_shrink(&pixels, channels, sw, sh, nw.min(sw), nh.min(sh));
    Ok(Page {
        rgb,
        colour_channels: colour,
        source: (w, h),
    })
}

/// Averages `src` (`channels` 1 or 3, `sw`×`sh`) down to `nw`×`nh` RGB, each output
/// pixel the area-weighted mean of the source pixels it covers (factors need not be
/// whole numbers). Holds one row of accumulators besides the output.
fn area_shrink(src: &[u8], channels: u32, sw: u32, sh: u32, nw: u32, nh: u32) -> RgbImage {
    let cols = taps(sw, nw);
    let rows = taps(sh, nh);
    let mut out = RgbImage::new(nw, nh);
    let c = channels as usize;
    let mut acc = vec![0f32; nw as usize * c];
    for (oy, row_taps) in rows.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for &(y, wy) in row_taps {
            let line = &src[y * sw as usize * c..(y + 1) * sw as usize * c];
            for (ox, col_taps) in cols.iter().enumerate() {
                for &(x, wx) in col_taps {
                    let w = wx * wy;
                    for ch in 0..c {
                        acc[ox * c + ch] += w * f32::from(line[x * c + ch]);
                    }
                }
            }
        }
        for ox in 0..nw as usize {
            let px = |ch: usize| acc[ox * c + ch.min(c - 1)].round().clamp(0.0, 255.0) as u8;
            out.put_pixel(ox as u32, oy as u32, image::Rgb([px(0), px(1), px(2)]));
        }
    }
    out
}

/// For each of `n` output cells over `len` source cells: the source cells it covers
/// and their weights (summing to one).
fn taps(len: u32, n: u32) -> Vec<Vec<(usize, f32)>> {
    let step = f64::from(len) / f64::from(n.max(1));
    (0..n)
        .map(|o| {
            let (start, end) = (f64::from(o) * step, (f64::from(o) + 1.0) * step);
            let first = start.floor() as u32;
            let last = (end.ceil() as u32).min(len);
            (first..last)
                .filter_map(|i| {
                    let cover = end.min(f64::from(i) + 1.0) - start.max(f64::from(i));
                    (cover > 0.0).then(|| (i as usize, (cover / step) as f32))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, Rgb};

    /// A white page with a red disc, as a JPEG.
    fn page_with_disc(w: u32, h: u32, cx: u32, cy: u32, r: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            let (dx, dy) = (x as i64 - cx as i64, y as i64 - cy as i64);
            if dx * dx + dy * dy <= (r * r) as i64 {
                Rgb([220, 30, 40])
            } else {
                Rgb([250, 250, 250])
            }
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&DynamicImage::ImageRgb8(img))
            .unwrap();
        out
    }

    fn is_red(p: &Rgb<u8>) -> bool {
        p.0[0] > 150 && p.0[1] < 90 && p.0[2] < 100
    }

    #[test]
    fn a_large_jpeg_is_decoded_small_to_the_bounded_size_with_its_content() {
        // Long side 6000 px: bounded by 3 to 2000 px, decoded at 1/2 then averaged.
        let (w, h) = (6000, 1800);
        let jpeg = page_with_disc(w, h, 4500, 900, 300);
        let page = decode_scaled(&jpeg).expect("scaled decode");
        assert!(page.colour_channels);
        assert_eq!(page.rgb.dimensions(), bounded_size(w, h));
        assert_eq!(page.rgb.dimensions(), (2000, 600));
        // The disc is where it was (centre 1500,300; radius 100), the rest is paper.
        assert!(is_red(page.rgb.get_pixel(1500, 300)));
        assert!(is_red(page.rgb.get_pixel(1500 + 90, 300)));
        assert!(!is_red(page.rgb.get_pixel(1500 + 115, 300)));
        assert!(!is_red(page.rgb.get_pixel(500, 300)));
        let red: Vec<(u32, u32)> = page
            .rgb
            .enumerate_pixels()
            .filter(|(_, _, p)| is_red(p))
            .map(|(x, y, _)| (x, y))
            .collect();
        let n = red.len() as f64;
        let mx = red.iter().map(|p| p.0 as f64).sum::<f64>() / n;
        let my = red.iter().map(|p| p.1 as f64).sum::<f64>() / n;
        assert!(
            (mx - 1500.0).abs() < 2.0 && (my - 300.0).abs() < 2.0,
            "{mx},{my}"
        );
        // Its area is the disc's: π·100² within 5 %.
        let area = std::f64::consts::PI * 100.0 * 100.0;
        assert!((n - area).abs() < 0.05 * area, "{n} red pixels");
    }

    #[test]
    fn small_jpegs_and_bombs_are_left_to_the_general_decoder() {
        let small = page_with_disc(1000, 700, 500, 350, 100);
        assert!(matches!(decode_scaled(&small), Err(Skip::NotWorth)));
        assert!(matches!(
            decode_scaled(b"\xFF\xD8not a jpeg"),
            Err(Skip::Refused(_))
        ));
    }

    #[test]
    fn fractional_area_average_keeps_the_mean() {
        // 3 px to 2: the middle pixel is shared half and half.
        let src = [0u8, 0, 0, 90, 90, 90, 180, 180, 180];
        let out = area_shrink(&src, 3, 3, 1, 2, 1);
        assert_eq!(out.get_pixel(0, 0).0, [30, 30, 30]);
        assert_eq!(out.get_pixel(1, 0).0, [150, 150, 150]);
        let grey = area_shrink(&[10, 20, 30, 40], 1, 4, 1, 2, 1);
        assert_eq!(grey.get_pixel(1, 0).0, [35, 35, 35]);
    }
}
