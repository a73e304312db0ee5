//! What a scanned page looks like, apart from what it says: its size as sent, its
//! resolution and its paper colour. Pages scanned or photographed one after another in
//! one session share all three; a page of another form, scanned elsewhere, usually
//! differs in at least one. Grouping ([`super::group`]) uses this to tell a second
//! page from an unrelated picture when the file names say nothing (`IMG_…`,
//! `mmexport…`).

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// The look of a scan's first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageLook {
    /// Pixels as sent (before the analysis scaled the page down).
    pub width: u32,
    pub height: u32,
    /// Dots per inch the file declares (JPEG's JFIF header), when it declares any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
    /// The paper's colour: the average of the page's brighter half (text, lines and
    /// seals are a small dark part of a form page).
    pub paper: [u8; 3],
}

/// How alike two pages look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// One scanning session: the same shape, size, resolution and paper.
    Alike,
    /// Neither: close, but past what one scanner or camera varies by (a phone's light
    /// changing between two photos).
    Unsure,
    /// Clearly not one session: other paper shape, a size or resolution half again
    /// as large, paper of another colour.
    Different,
}

/// Limits of [`Likeness::Alike`] and, wider, of [`Likeness::Unsure`]: aspect ratio
/// (long side / short side: A4 1.414, letter 1.294; a skewed scan changes it by ~1%),
/// long side and declared resolution (as factors), paper colour (any channel; one
/// scanner's white varies by a few levels between pages, a phone's with the light).
struct Limits {
    aspect: f64,
    size: f64,
    dpi: f64,
    paper: u8,
}

const ALIKE: Limits = Limits {
    aspect: 0.04,
    size: 1.15,
    dpi: 1.1,
    paper: 24,
};

const UNSURE: Limits = Limits {
    aspect: 0.10,
    size: 1.5,
    dpi: 1.5,
    paper: 60,
};

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

    /// How alike `self` and `other` look as pages of one scanning session.
    pub fn compare(&self, other: &PageLook) -> Likeness {
        if self.within(other, &ALIKE) {
            Likeness::Alike
        } else if self.within(other, &UNSURE) {
            Likeness::Unsure
        } else {
            Likeness::Different
        }
    }

    fn within(&self, other: &PageLook, l: &Limits) -> bool {
        let ratio = |a: f64, b: f64| a.max(b) / a.min(b).max(1.0);
        let aspect = |p: &PageLook| {
            let (a, b) = (p.width.max(p.height) as f64, p.width.min(p.height) as f64);
            a / b.max(1.0)
        };
        let long = |p: &PageLook| p.width.max(p.height) as f64;
        let dpi_ok = match (self.dpi, other.dpi) {
            (Some(a), Some(b)) => ratio(a as f64, b as f64) <= l.dpi,
            _ => true,
        };
        let paper_ok = self
            .paper
            .iter()
            .zip(other.paper)
            .all(|(a, b)| a.abs_diff(b) <= l.paper);
        (aspect(self) - aspect(other)).abs() <= l.aspect
            && ratio(long(self), long(other)) <= l.size
            && dpi_ok
            && paper_ok
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
