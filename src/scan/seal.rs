//! Red seal (公章) detection on one page: red mask → connected blobs → the blob that is
//! seal-sized, round, ring-shaped and hollow. A red letterhead (红头: a wide band of red
//! characters and a red rule) or a small red logo is not a seal.

use image::RgbImage;
use std::f64::consts::PI;

/// Pages are analysed at most this size (longest side): a seal's ring stays 2–4 px thick.
const WORK_SIDE: u32 = 1000;
/// A seal's diameter relative to the page's short side. Official seals are 38–45 mm on a
/// 210 mm page (18–21 %); phone photos with a desk around the page shrink that.
const MIN_DIAMETER: f64 = 0.09;
const MAX_DIAMETER: f64 = 0.45;
/// Widest bounding-box aspect ratio accepted (a round seal photographed at an angle).
const MAX_ASPECT: f64 = 1.35;
/// Score from which a blob counts as a seal.
pub const SEAL_THRESHOLD: f64 = 0.5;

/// What one page says about its seal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SealResult {
    /// None: the page has no colour at all (grayscale, fax), so a seal cannot be told.
    pub stamped: Option<bool>,
    /// Best candidate's score, 0–1.
    pub score: f64,
}

/// Looks for a red seal on `page`. `colour_channels` is false for grey-coded images.
pub fn detect(page: &RgbImage, colour_channels: bool) -> SealResult {
    let work = shrink(page);
    let (w, h) = work.dimensions();
    if w < 16 || h < 16 || !colour_channels || !has_colour(&work) {
        return SealResult {
            stamped: None,
            score: 0.0,
        };
    }
    let mask = red_mask(&work);
    // Bridge gaps of a few pixels (uneven ink, JPEG blocks) so a ring and the text and
    // star inside it form one blob; the features below read the undilated mask.
    const BRIDGE: usize = 2;
    let joined = dilate(&mask, w as usize, h as usize, BRIDGE);
    let short = w.min(h) as f64;
    let mut best = 0.0f64;
    for bbox in blobs(&joined, w as usize, h as usize) {
        let b = bbox.shrink(BRIDGE);
        let (bw, bh) = (b.width() as f64, b.height() as f64);
        let diameter = (bw + bh) / 2.0;
        if diameter < MIN_DIAMETER * short || diameter > MAX_DIAMETER * short {
            continue;
        }
        if bw.max(bh) / bw.min(bh).max(1.0) > MAX_ASPECT {
            continue;
        }
        best = best.max(ring_score(&mask, w as usize, &b));
    }
    SealResult {
        stamped: Some(best >= SEAL_THRESHOLD),
        score: best,
    }
}

/// Box-averages the page down so its longest side is at most [`WORK_SIDE`].
fn shrink(page: &RgbImage) -> RgbImage {
    let (w, h) = page.dimensions();
    let k = w.max(h).div_ceil(WORK_SIDE).max(1);
    if k == 1 {
        return page.clone();
    }
    let (nw, nh) = (w / k, h / k);
    let mut out = RgbImage::new(nw.max(1), nh.max(1));
    let n = (k * k) as u32;
    for y in 0..nh {
        for x in 0..nw {
            let mut s = [0u32; 3];
            for dy in 0..k {
                for dx in 0..k {
                    let p = page.get_pixel(x * k + dx, y * k + dy).0;
                    s[0] += p[0] as u32;
                    s[1] += p[1] as u32;
                    s[2] += p[2] as u32;
                }
            }
            out.put_pixel(
                x,
                y,
                image::Rgb([(s[0] / n) as u8, (s[1] / n) as u8, (s[2] / n) as u8]),
            );
        }
    }
    out
}

/// Whether a colour-coded page carries any colour: a grey scan saved as RGB JPEG has
/// chroma of a few levels only; paper tint, ink or a seal give more.
fn has_colour(img: &RgbImage) -> bool {
    let mut vivid = 0u64;
    let mut chroma_sum = 0u64;
    for p in img.pixels() {
        let [r, g, b] = p.0;
        let c = r.max(g).max(b) - r.min(g).min(b);
        chroma_sum += c as u64;
        if c > 40 {
            vivid += 1;
        }
    }
    let n = (img.width() as u64 * img.height() as u64).max(1);
    vivid * 3000 > n || chroma_sum > 5 * n
}

/// Red ink: hue within about −30°…+25° of pure red, clearly saturated, not black.
pub fn is_red(r: u8, g: u8, b: u8) -> bool {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let c = max - min;
    if max != r || r < 80 || c * 100 < 30 * max {
        return false;
    }
    // hue = 60° × (g − b) / c, kept in integers.
    let hue60 = g - b; // hue = 60 * hue60 / c
    hue60 * 60 <= 25 * c && hue60 * 60 >= -30 * c
}

fn red_mask(img: &RgbImage) -> Vec<bool> {
    img.pixels()
        .map(|p| is_red(p.0[0], p.0[1], p.0[2]))
        .collect()
}

/// Binary dilation with a (2r+1)² square, as two running-count passes.
fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let mut tmp = vec![false; mask.len()];
    for y in 0..h {
        let row = &mask[y * w..(y + 1) * w];
        let mut count = row.iter().take(r).filter(|&&m| m).count();
        for x in 0..w {
            if x + r < w && row[x + r] {
                count += 1;
            }
            if x > r && row[x - r - 1] {
                count -= 1;
            }
            tmp[y * w + x] = count > 0;
        }
    }
    let mut out = vec![false; mask.len()];
    for x in 0..w {
        let mut count = (0..r.min(h)).filter(|&y| tmp[y * w + x]).count();
        for y in 0..h {
            if y + r < h && tmp[(y + r) * w + x] {
                count += 1;
            }
            if y > r && tmp[(y - r - 1) * w + x] {
                count -= 1;
            }
            out[y * w + x] = count > 0;
        }
    }
    out
}

/// Inclusive pixel bounding box.
#[derive(Debug, Clone, Copy)]
struct BBox {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl BBox {
    fn width(&self) -> usize {
        self.x1 + 1 - self.x0
    }
    fn height(&self) -> usize {
        self.y1 + 1 - self.y0
    }
    /// Undoes the growth that dilation by `r` added on every side.
    fn shrink(&self, r: usize) -> BBox {
        let x0 = (self.x0 + r).min(self.x1);
        let y0 = (self.y0 + r).min(self.y1);
        BBox {
            x0,
            y0,
            x1: self.x1.saturating_sub(r).max(x0),
            y1: self.y1.saturating_sub(r).max(y0),
        }
    }
}

/// Bounding boxes of the 8-connected blobs of `mask` (flood fill with an explicit stack).
fn blobs(mask: &[bool], w: usize, h: usize) -> Vec<BBox> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut b, mut n) = (
            BBox {
                x0: start % w,
                y0: start / w,
                x1: start % w,
                y1: start / w,
            },
            0usize,
        );
        while let Some(i) = stack.pop() {
            n += 1;
            let (x, y) = (i % w, i / w);
            b.x0 = b.x0.min(x);
            b.x1 = b.x1.max(x);
            b.y0 = b.y0.min(y);
            b.y1 = b.y1.max(y);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        // Specks cannot be seals; skipping them keeps the candidate list short.
        if n >= 30 {
            out.push(b);
        }
    }
    out
}

/// Features of a seal-sized blob, measured on the red pixels inside its box in elliptic
/// coordinates (d = 1 on the ellipse inscribed in the box).
#[derive(Debug, Default)]
struct RingFeatures {
    /// Share of 36 angular sectors that hold red on the rim (0.80 ≤ d ≤ 1.06).
    coverage: f64,
    /// Red pixels on the rim / rim area: a drawn ring, not scattered dots.
    rim_density: f64,
    /// Red pixels in the box corners (d > 1.12) / all red pixels: a circle leaves the
    /// corners empty, a square character (国, 回) or a block of text does not.
    outside: f64,
    /// Red pixels well inside (d < 0.7) / that area: a seal is hollow apart from thin
    /// text and a star; a logo is a filled disc.
    interior: f64,
}

fn features(mask: &[bool], w: usize, b: &BBox) -> RingFeatures {
    let (cx, cy) = ((b.x0 + b.x1) as f64 / 2.0, (b.y0 + b.y1) as f64 / 2.0);
    let (a, bb) = (b.width() as f64 / 2.0, b.height() as f64 / 2.0);
    let mut sectors = [0u32; 36];
    let (mut rim, mut out, mut inner, mut total) = (0u64, 0u64, 0u64, 0u64);
    for y in b.y0..=b.y1 {
        for x in b.x0..=b.x1 {
            if !mask[y * w + x] {
                continue;
            }
            total += 1;
            let (dx, dy) = ((x as f64 - cx) / a, (y as f64 - cy) / bb);
            let d = (dx * dx + dy * dy).sqrt();
            if (0.80..=1.06).contains(&d) {
                rim += 1;
                let t = dy.atan2(dx) + PI;
                let s = ((t / (2.0 * PI) * 36.0) as usize).min(35);
                sectors[s] += 1;
            } else if d > 1.12 {
                out += 1;
            } else if d < 0.7 {
                inner += 1;
            }
        }
    }
    let area = PI * a * bb;
    RingFeatures {
        coverage: sectors.iter().filter(|&&c| c >= 2).count() as f64 / 36.0,
        rim_density: rim as f64 / (area * (1.06f64.powi(2) - 0.80f64.powi(2))).max(1.0),
        outside: out as f64 / (total.max(1)) as f64,
        interior: inner as f64 / (area * 0.49).max(1.0),
    }
}

/// 0–1: how much the blob in `b` looks like a seal ring.
fn ring_score(mask: &[bool], w: usize, b: &BBox) -> f64 {
    let f = features(mask, w, b);
    let ramp = |v: f64, lo: f64, hi: f64| ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    // A closed ring covers (nearly) every sector; a broken old stamp still covers most.
    let s_cov = ramp(f.coverage, 0.55, 0.9);
    let s_rim = ramp(f.rim_density, 0.04, 0.12);
    let s_out = 1.0 - ramp(f.outside, 0.04, 0.2);
    let s_hollow = 1.0 - ramp(f.interior, 0.45, 0.75);
    s_cov * s_rim * s_out * s_hollow
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    const PAPER: Rgb<u8> = Rgb([245, 243, 236]);
    const RED: Rgb<u8> = Rgb([210, 40, 45]);

    fn page() -> RgbImage {
        let mut img = RgbImage::from_pixel(600, 850, PAPER);
        // Some black "text" so the page is not blank.
        for y in (100..700).step_by(40) {
            for x in 80..520 {
                img.put_pixel(x, y, Rgb([20, 20, 20]));
            }
        }
        img
    }

    fn ring(img: &mut RgbImage, cx: f64, cy: f64, r: f64, t: f64) {
        for y in 0..img.height() {
            for x in 0..img.width() {
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                if d <= r && d >= r - t {
                    img.put_pixel(x, y, RED);
                }
            }
        }
    }

    #[test]
    fn red_hue_test() {
        assert!(is_red(214, 60, 60));
        assert!(is_red(200, 90, 110));
        assert!(!is_red(30, 30, 30));
        assert!(!is_red(240, 220, 190)); // warm paper
        assert!(!is_red(220, 140, 40)); // orange
        assert!(!is_red(40, 60, 200)); // blue ink
    }

    #[test]
    fn ring_is_a_seal() {
        let mut img = page();
        ring(&mut img, 420.0, 700.0, 60.0, 4.0);
        let r = detect(&img, true);
        assert_eq!(r.stamped, Some(true), "score {}", r.score);
        assert!(r.score > 0.8, "score {}", r.score);
    }

    #[test]
    fn filled_disc_and_bar_are_not() {
        let mut img = page();
        ring(&mut img, 420.0, 700.0, 60.0, 60.0);
        for y in 30..38 {
            for x in 40..560 {
                img.put_pixel(x, y, RED);
            }
        }
        let r = detect(&img, true);
        assert_eq!(r.stamped, Some(false), "score {}", r.score);
    }

    #[test]
    fn square_box_is_not_a_seal() {
        let mut img = page();
        for y in 600..720u32 {
            for x in 300..420u32 {
                if !(304..416).contains(&x) || !(604..716).contains(&y) {
                    img.put_pixel(x, y, RED);
                }
            }
        }
        let r = detect(&img, true);
        assert_eq!(r.stamped, Some(false), "score {}", r.score);
    }

    #[test]
    fn grey_page_is_unknown() {
        let mut img = page();
        for p in img.pixels_mut() {
            let v = p.0[1];
            *p = Rgb([v, v, v]);
        }
        assert_eq!(detect(&img, true).stamped, None);
        assert_eq!(detect(&page(), false).stamped, None);
    }
}
