//! What a scanned page looks like, apart from what it says: its size as sent, its
//! resolution and its paper colour. Pages scanned or photographed one after another in
//! one session share all three; a page of another form, scanned elsewhere, usually
//! differs in at least one. Grouping ([`super::group`]) uses this to tell a second
//! page from an unrelated picture when the file names say nothing (`IMG_…`,
//! `mmexport…`).

use image::RgbImage;

pub use crate::domain::look::{Likeness, PageLook};

impl PageLook {
    /// Measures `rgb` (the page as analysed) that was `source` pixels as sent.
    pub fn measure(rgb: &RgbImage, source: (u32, u32), dpi: Option<u32>) -> PageLook {
        PageLook {
            width: source.0,
            height: source.1,
            dpi,
            paper: paper_colour(rgb),
        }
    }
}

/// Average colour of the brighter half of ~10 000 pixels sampled on a grid.
fn paper_colour(rgb: &RgbImage) -> [u8; 3] {
    let (w, h) = rgb.dimensions();
    if w == 0 || h == 0 {
        return [0; 3];
    }
    let step = ((w as u64 * h as u64 / 10_000) as f64).sqrt().max(1.0) as u32;
    let mut px: Vec<[u8; 3]> = Vec::new();
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            px.push(rgb.get_pixel(x, y).0);
        }
    }
    let lum = |p: &[u8; 3]| p.iter().map(|&v| v as u32).sum::<u32>();
    px.sort_by_key(lum);
    let bright = &px[px.len() / 2..];
    let mut sum = [0u64; 3];
    for p in bright {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += *v as u64;
        }
    }
    let n = bright.len().max(1) as u64;
    sum.map(|s| (s / n) as u8)
}

/// The resolution a JPEG's JFIF header declares, in dots per inch (None when it has no
/// JFIF header or declares only an aspect ratio).
pub fn jpeg_dpi(bytes: &[u8]) -> Option<u32> {
    // SOI, then APP0 "JFIF\0": version (2), units (1), x density (2), y density (2).
    let app0 = bytes.get(..4)?;
    if app0 != [0xFF, 0xD8, 0xFF, 0xE0] || bytes.get(6..11)? != b"JFIF\0" {
        return None;
    }
    let units = *bytes.get(13)?;
    let x = u16::from_be_bytes([*bytes.get(14)?, *bytes.get(15)?]) as f64;
    let dpi = match units {
        1 => x,
        2 => x * 2.54,
        _ => return None,
    };
    (dpi >= 1.0).then_some(dpi.round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(w: u32, h: u32, dpi: Option<u32>, paper: [u8; 3]) -> PageLook {
        PageLook {
            width: w,
            height: h,
            dpi,
            paper,
        }
    }

    #[test]
    fn pages_of_one_session_are_alike() {
        use Likeness::*;
        let a = look(1000, 1414, Some(150), [246, 243, 234]);
        let cmp = |w, h, dpi, paper| a.compare(&look(w, h, dpi, paper));
        assert_eq!(cmp(1004, 1410, Some(150), [240, 238, 230]), Alike);
        // Turned a quarter: the same paper.
        assert_eq!(cmp(1414, 1000, None, [246, 243, 234]), Alike);
        // A bit off in one respect: not sure.
        assert_eq!(cmp(1000, 1414, Some(150), [205, 200, 195]), Unsure);
        assert_eq!(cmp(1200, 1697, None, [246, 243, 234]), Unsure);
        assert_eq!(cmp(1000, 1340, None, [246, 243, 234]), Unsure);
        // Letter paper, a far bigger photo, twice the resolution, grey paper: no.
        assert_eq!(cmp(1000, 1294, Some(150), [246, 243, 234]), Different);
        assert_eq!(cmp(3000, 4242, Some(150), [246, 243, 234]), Different);
        assert_eq!(cmp(1000, 1414, Some(300), [246, 243, 234]), Different);
        assert_eq!(cmp(1000, 1414, Some(150), [170, 170, 165]), Different);
    }

    #[test]
    fn paper_is_the_bright_half() {
        let mut img = RgbImage::from_pixel(200, 300, image::Rgb([240, 236, 220]));
        for y in 0..100 {
            for x in 0..200 {
                img.put_pixel(x, y, image::Rgb([10, 10, 10]));
            }
        }
        let l = PageLook::measure(&img, (2000, 3000), None);
        assert_eq!(l.paper, [240, 236, 220]);
        assert_eq!((l.width, l.height), (2000, 3000));
    }

    #[test]
    fn jfif_density() {
        let mut jpg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        jpg.extend_from_slice(b"JFIF\0");
        jpg.extend_from_slice(&[1, 1, 1, 0, 150, 0, 150, 0, 0]);
        assert_eq!(jpeg_dpi(&jpg), Some(150));
        jpg[13] = 2; // dots per cm
        jpg[15] = 118;
        assert_eq!(jpeg_dpi(&jpg), Some(300));
        jpg[13] = 0;
        assert_eq!(jpeg_dpi(&jpg), None);
        assert_eq!(jpeg_dpi(b"GIF89a"), None);
    }
}
