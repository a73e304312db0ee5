//! The unit name along a seal's ring: the band inside the ring unwrapped in polar
//! coordinates into one upright line of text (the name runs clockwise with the tops of
//! its characters toward the rim), read by Tesseract as a single line, and compared
//! with the applicant's unit.
//!
//! Only a clear answer counts: the ring text must name another known applicant well
//! and the applicant badly before a seal is called another unit's.

use super::{redness, Ring};
use crate::scan::{fuzzy, proc};
use image::{GrayImage, ImageFormat, Luma, RgbImage};
use std::f64::consts::PI;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

/// Radii of the text band, as shares of the ring's outer radius: the characters stand
/// inside the rim (~0.93) down to about two thirds of the radius.
const BAND_OUTER: f64 = 0.91;
const BAND_INNER: f64 = 0.58;
/// Height of the unwrapped line handed to Tesseract: characters ~50 px high.
const LINE_HEIGHT: u32 = 72;
/// One single-line read of a seal takes well under a second.
const RING_OCR_TIMEOUT: Duration = Duration::from_secs(20);

/// Whose seal the ring text shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealUnit {
    /// The applicant's own unit (or close enough).
    Applicant,
    /// Clearly another applicant's unit, named here.
    Other(String),
    /// Too little read, or no unit clearly named: nothing is said.
    Unread,
}

/// How well `name` must occur in the ring text to be the seal's unit, and how badly
/// the applicant must occur for a seal to be another unit's.
const NAMED: f64 = 0.75;
const NOT_NAMED: f64 = 0.5;

/// Compares ring text with the applicant's unit and the other applicants' units.
pub fn compare<'a>(
    ring_text: &str,
    applicant: &str,
    others: impl IntoIterator<Item = &'a str>,
) -> SealUnit {
    let text = fuzzy::compact(ring_text);
    if text.len() < 3 {
        return SealUnit::Unread;
    }
    let own = likeness(applicant, &text);
    if own >= NAMED {
        return SealUnit::Applicant;
    }
    let best = others
        .into_iter()
        .filter(|o| fuzzy::compact(o) != fuzzy::compact(applicant))
        .map(|o| (likeness(o, &text), o))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, name)) if score >= NAMED && own < NOT_NAMED && score - own >= 0.3 => {
            SealUnit::Other(name.to_string())
        }
        _ => SealUnit::Unread,
    }
}

/// 0–1: how well the ring text and a unit name agree: the name found in the text, or
/// (from four characters read) the text found in the name, since OCR often reads only
/// part of the ring.
fn likeness(name: &str, text: &[char]) -> f64 {
    let whole = fuzzy::occurs(name, text);
    let n = fuzzy::compact(name);
    if text.len() < 4 || n.is_empty() {
        return whole;
    }
    let part = 1.0 - fuzzy::approx_find(text, &n) as f64 / text.len() as f64;
    whole.max(part)
}

/// The text band of the seal `ring` on `page`, unwrapped into one line: dark where the
/// ink is redder than the paper around the seal, white elsewhere (black text and
/// table rules under the seal vanish). Starts in the widest gap of the band, where a
/// seal's name ends and begins.
pub fn unwrap(page: &RgbImage, ring: &Ring) -> GrayImage {
    let (w, h) = (page.width() as f64, page.height() as f64);
    let (r_out, r_in) = (ring.r * BAND_OUTER, ring.r * BAND_INNER);
    let scale = LINE_HEIGHT as f64 / (r_out - r_in).max(1.0);
    let width = ((2.0 * PI * (r_out + r_in) / 2.0 * scale).round() as u32).clamp(16, 4000);
    let (paper_red, light) = paper_around(page, ring);
    let ink = |theta: f64, rho: f64| -> u8 {
        let (x, y) = (ring.cx + rho * theta.cos(), ring.cy + rho * theta.sin());
        if x < 0.0 || y < 0.0 || x >= w || y >= h {
            return 0;
        }
        let p = page.get_pixel(x as u32, y as u32).0;
        let e = (redness(p[0], p[1], p[2]) as f64 - paper_red) * 235.0 / light;
        (e * 2.0).clamp(0.0, 255.0) as u8
    };
    // The gap: the angle whose neighbourhood carries the least ink.
    let bins = 360usize;
    let mut profile = vec![0u32; bins];
    for (k, p) in profile.iter_mut().enumerate() {
        let theta = 2.0 * PI * k as f64 / bins as f64;
        for i in 0..12 {
            let rho = r_in + (r_out - r_in) * (i as f64 + 0.5) / 12.0;
            *p += u32::from(ink(theta, rho) > 60);
        }
    }
    // The longest run of (nearly) empty degrees, its middle as the start.
    let smooth: Vec<u32> = (0..bins)
        .map(|k| (0..5).map(|d| profile[(k + bins + d - 2) % bins]).sum())
        .collect();
    let quiet = smooth.iter().copied().max().unwrap_or(0) / 8;
    let (mut best, mut best_len, mut run) = (0usize, 0usize, 0usize);
    for k in 0..2 * bins {
        if smooth[k % bins] <= quiet {
            run += 1;
            if run > best_len && run <= bins {
                best_len = run;
                best = k + 1 - run;
            }
        } else {
            run = 0;
        }
    }
    let gap = (best + best_len / 2) % bins;
    let start = 2.0 * PI * gap as f64 / bins as f64;
    let mut values = vec![0u8; (width * LINE_HEIGHT) as usize];
    for col in 0..width {
        let theta = start + 2.0 * PI * col as f64 / width as f64;
        for row in 0..LINE_HEIGHT {
            // Row 0 is the outer edge of the band: the characters' tops face the rim.
            let rho = r_out - (r_out - r_in) * (row as f64 + 0.5) / LINE_HEIGHT as f64;
            values[(row * width + col) as usize] = ink(theta, rho);
        }
    }
    // Black and white at half the strong ink's level (pale and dark seals alike), the
    // empty columns of the gap cut away, a white margin around (Tesseract wants one).
    let mut strong: Vec<u8> = values.iter().copied().filter(|&v| v > 20).collect();
    let cut = if strong.is_empty() {
        255
    } else {
        let k = (strong.len() * 9 / 10).min(strong.len() - 1);
        (*strong.select_nth_unstable(k).1 / 2).max(20)
    };
    let inked: Vec<u32> = (0..width)
        .filter(|&c| (0..LINE_HEIGHT).any(|r| values[(r * width + c) as usize] >= cut))
        .collect();
    let (c0, c1) = match (inked.first(), inked.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0, width - 1),
    };
    const PAD: u32 = 16;
    let mut out = GrayImage::from_pixel(c1 - c0 + 1 + 2 * PAD, LINE_HEIGHT + 2 * PAD, Luma([255]));
    for col in c0..=c1 {
        for row in 0..LINE_HEIGHT {
            if values[(row * width + col) as usize] >= cut {
                out.put_pixel(col - c0 + PAD, row + PAD, Luma([0]));
            }
        }
    }
    out
}

/// The paper's redness and brightness around the seal: the median redness and the
/// 90th percentile of the brightest channel over the seal's bounding square.
fn paper_around(page: &RgbImage, ring: &Ring) -> (f64, f64) {
    let (w, h) = (page.width() as i64, page.height() as i64);
    let r = ring.r * 1.1;
    let (x0, x1) = (
        ((ring.cx - r) as i64).max(0),
        ((ring.cx + r) as i64).min(w - 1),
    );
    let (y0, y1) = (
        ((ring.cy - r) as i64).max(0),
        ((ring.cy + r) as i64).min(h - 1),
    );
    let step = ((x1 - x0).max(1) / 60).max(1) as usize;
    let (mut reds, mut lights) = (Vec::new(), Vec::new());
    for y in (y0..=y1).step_by(step) {
        for x in (x0..=x1).step_by(step) {
            let p = page.get_pixel(x as u32, y as u32).0;
            reds.push(redness(p[0], p[1], p[2]));
            lights.push(p[0].max(p[1]).max(p[2]));
        }
    }
    if reds.is_empty() {
        return (0.0, 235.0);
    }
    let k = reds.len() / 2;
    let red = *reds.select_nth_unstable(k).1 as f64;
    let k = (lights.len() * 9 / 10).min(lights.len() - 1);
    let light = *lights.select_nth_unstable(k).1 as f64;
    (red, light.clamp(110.0, 255.0))
}

/// Reads the seal's ring text with Tesseract (simplified Chinese, one line), through
/// the scan stage's tool runner (sandboxed, timed out). Spaces and punctuation dropped.
pub fn read(tesseract: &Path, page: &RgbImage, ring: &Ring) -> Result<String, proc::ProcError> {
    let line = unwrap(page, ring);
    let mut png = Cursor::new(Vec::new());
    if line.write_to(&mut png, ImageFormat::Png).is_err() {
        return Ok(String::new());
    }
    let args = ["stdin", "stdout", "-l", "chi_sim", "--psm", "7"];
    let out = proc::run(tesseract, &args, png.get_ref(), RING_OCR_TIMEOUT)?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect())
}
