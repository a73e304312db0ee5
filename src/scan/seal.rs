//! Red seal (公章) detection on one page: redness map → connected blobs → the blob that
//! is seal-sized, round, ring-shaped and hollow. A red letterhead (红头: a wide band of red
//! characters and a red rule) or a small red logo is not a seal.
//!
//! Three answers, not two: a page is [`SealVerdict::Stamped`] only on a clear ring,
//! [`SealVerdict::Unstamped`] only when not even faint or partial red ring evidence is
//! there, and [`SealVerdict::Uncertain`] in between — an applicant is never told "no
//! seal" on a guess.

use image::{imageops::FilterType, RgbImage};
use std::f64::consts::PI;

mod blobs;
mod fit;
mod paper;
pub mod ring_text;

use blobs::{blobs, dilate, edge_margin, BBox};
use paper::{Background, Side};

/// Pages are normalised to this size (longest side) before detecting, whatever the
/// scan's resolution: a 42 mm seal is then ~140 px across with a ring 2–4 px thick.
const WORK_SIDE: u32 = 1000;
/// A seal's diameter relative to the page's short side. Official seals are 38–45 mm on a
/// 210 mm page (18–21 %); phone photos with a desk around the page shrink that.
const MIN_DIAMETER: f64 = 0.09;
const MAX_DIAMETER: f64 = 0.45;
/// Widest bounding-box aspect ratio accepted (a round seal photographed at an angle).
const MAX_ASPECT: f64 = 1.4;
/// Score from which a blob counts as a seal.
pub const SEAL_THRESHOLD: f64 = 0.5;
/// Score from which a blob (on the strict or the faint-ink mask) is left to a clerk.
pub const UNCERTAIN_THRESHOLD: f64 = 0.2;
/// Arc score (half a ring or more) from which a page is left to a clerk.
const ARC_THRESHOLD: f64 = 0.5;
/// Redness (R minus the larger of G and B) above the paper's that counts as ink: pale
/// and pinkish seals printed with little ink reach 20–40, strong ones 120 and more.
const INK_REDNESS: i32 = 26;
/// The faint-ink mask for the uncertain answer: barely red, but red.
const FAINT_REDNESS: i32 = 14;

/// What a page (or a whole scan) says about its seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SealVerdict {
    /// A seal ring was found.
    Stamped,
    /// A colour page with no red ring evidence at all.
    Unstamped,
    /// Faint, partial or ring-like red that is not clearly a seal: a clerk decides.
    Uncertain,
    /// No colour at all (grey-scale, fax) or no page: a seal cannot be told.
    #[default]
    NoColour,
}

impl SealVerdict {
    /// Code as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            SealVerdict::Stamped => "stamped",
            SealVerdict::Unstamped => "unstamped",
            SealVerdict::Uncertain => "uncertain",
            SealVerdict::NoColour => "no_colour",
        }
    }

    /// What a clerk reads.
    pub fn label_zh(self) -> &'static str {
        match self {
            SealVerdict::Stamped => "已盖章",
            SealVerdict::Unstamped => "未见公章",
            SealVerdict::Uncertain => "公章待人工确认",
            SealVerdict::NoColour => "黑白扫描，无法判断",
        }
    }

    /// The document's `stamped` column: only the two confident answers are booleans.
    pub fn stamped(self) -> Option<bool> {
        match self {
            SealVerdict::Stamped => Some(true),
            SealVerdict::Unstamped => Some(false),
            SealVerdict::Uncertain | SealVerdict::NoColour => None,
        }
    }

    /// The verdict of a document from its pages' verdicts: one stamped page stamps it;
    /// otherwise one doubtful page makes it doubtful; only all-grey stays unknown.
    pub fn combine(pages: impl IntoIterator<Item = SealVerdict>) -> SealVerdict {
        let mut out = SealVerdict::NoColour;
        for v in pages {
            out = match (out, v) {
                (SealVerdict::Stamped, _) | (_, SealVerdict::Stamped) => SealVerdict::Stamped,
                (SealVerdict::Uncertain, _) | (_, SealVerdict::Uncertain) => SealVerdict::Uncertain,
                (SealVerdict::Unstamped, _) | (_, SealVerdict::Unstamped) => SealVerdict::Unstamped,
                _ => SealVerdict::NoColour,
            };
        }
        out
    }
}

/// What one page says about its seal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SealResult {
    pub verdict: SealVerdict,
    /// None: the page has no colour at all (grayscale, fax), or the answer is uncertain.
    pub stamped: Option<bool>,
    /// Best candidate's score on the ink mask, 0–1.
    pub score: f64,
    /// Best evidence short of a seal (faint ring, part of a ring), 0–1.
    pub faint_score: f64,
    /// Where the seal's ring lies on the page, when one was found.
    pub ring: Option<Ring>,
}

/// A seal's ring on the page, in the page's pixels: centre and outer radius (the
/// centre may lie off the page for a seal cut by its edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ring {
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
}

impl SealResult {
    fn of(verdict: SealVerdict, score: f64, faint_score: f64) -> SealResult {
        SealResult {
            verdict,
            stamped: verdict.stamped(),
            score,
            faint_score,
            ring: None,
        }
    }

    fn with_ring(mut self, c: Option<Circle>, scale: f64) -> SealResult {
        self.ring = c.map(|c| Ring {
            cx: c.cx * scale,
            cy: c.cy * scale,
            r: c.rx.max(c.ry) * scale,
        });
        self
    }
}

/// Looks for a red seal on `page`. `colour_channels` is false for grey-coded images.
pub fn detect(page: &RgbImage, colour_channels: bool) -> SealResult {
    let work = normalise(page);
    let (w, h) = work.dimensions();
    if w < 16 || h < 16 || !colour_channels || !has_colour(&work) {
        return SealResult::of(SealVerdict::NoColour, 0.0, 0.0);
    }
    // Redness above the paper around each pixel, scaled to the paper's brightness there:
    // a photo's light fall-off neither hides a pale seal nor makes paper look red.
    let (excess, paper) = paper::excess_redness(&work);
    let (w, h) = (w as usize, h as usize);
    let strict: Vec<bool> = excess.iter().map(|&e| e as i32 >= INK_REDNESS).collect();
    // Page pixels per working pixel, for the ring's position on the page.
    let scale = page.width() as f64 / w as f64;
    let (score, arc, circle) = best_ring(&strict, w, h, &paper);
    if score >= SEAL_THRESHOLD {
        return SealResult::of(SealVerdict::Stamped, score, score).with_ring(circle, scale);
    }
    let faint: Vec<bool> = excess.iter().map(|&e| e as i32 >= FAINT_REDNESS).collect();
    let (faint_score, faint_arc, circle) = best_ring(&faint, w, h, &paper);
    if faint_score >= SEAL_THRESHOLD {
        // A clear ring in faint ink: a pale seal, not a doubt.
        return SealResult::of(SealVerdict::Stamped, faint_score, faint_score)
            .with_ring(circle, scale);
    }
    let doubt =
        score.max(faint_score) >= UNCERTAIN_THRESHOLD || arc.max(faint_arc) >= ARC_THRESHOLD;
    let verdict = if doubt {
        SealVerdict::Uncertain
    } else {
        SealVerdict::Unstamped
    };
    SealResult::of(verdict, score, faint_score.max(faint_arc).max(arc))
}

/// The page scaled so its longest side is [`WORK_SIDE`] (only ever down: a small page
/// is analysed as it is).
fn normalise(page: &RgbImage) -> RgbImage {
    let (w, h) = page.dimensions();
    if w.max(h) <= WORK_SIDE {
        return page.clone();
    }
    let scale = WORK_SIDE as f64 / w.max(h) as f64;
    let nw = ((w as f64 * scale).round() as u32).max(1);
    let nh = ((h as f64 * scale).round() as u32).max(1);
    image::imageops::resize(page, nw, nh, FilterType::Triangle)
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

/// How red a pixel is: R minus the larger of G and B, for hues from about −40° (pink,
/// magenta-leaning seal ink) to +25° (vermilion); 0 for every other hue and for dark
/// pixels (black text, shadow).
pub fn redness(r: u8, g: u8, b: u8) -> u8 {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let c = max - min;
    if max != r || r < 60 || c == 0 {
        return 0;
    }
    // hue = 60° × (g − b) / c, kept in integers.
    let hue60 = (g - b) * 60;
    if hue60 > 25 * c || hue60 < -40 * c {
        return 0;
    }
    (r - g.max(b)) as u8
}

/// Best scores among the seal-sized blobs of `mask`: (ring, arc, the best ring's
/// ellipse). The ring score needs
/// a (nearly) whole ring; the arc score is also earned by half a ring (a seal partly
/// lifted off or half outside a cropped photo) and only ever makes a page uncertain.
fn best_ring(mask: &[bool], w: usize, h: usize, paper: &Background) -> (f64, f64, Option<Circle>) {
    // Bridge gaps of a few pixels (uneven ink, JPEG blocks, black table rules and text
    // crossing the ring) so a ring and the text and star inside it form one blob; the
    // features below read the undilated mask.
    // A worn seal's ring breaks into arcs with gaps of a tenth of its diameter: a
    // wider bridge joins them (and is also tried, not instead, since it may join a
    // seal to red text beside it).
    const BRIDGES: [usize; 2] = [2, 6];
    let short = w.min(h) as f64;
    let (mut best, mut best_arc, mut best_circle) = (0.0f64, 0.0f64, None);
    let candidates = BRIDGES.iter().flat_map(|&r| {
        let joined = dilate(mask, w, h, r);
        blobs(&joined, w, h)
            .into_iter()
            .map(move |b| b.shrink_within(r, w, h))
    });
    for b in candidates {
        let Some(boxed) = Circle::from_box(&b, w, h, paper) else {
            continue;
        };
        // The box's circle, and the circle fitted to the outer rim: a ring broken by
        // wear or cut by an edge is one blob (or two) whose box misses part of it.
        let fitted = fit::fit_rim(mask, w, &b, &boxed);
        for c in std::iter::once(boxed).chain(fitted) {
            let (long, short_r) = (c.rx.max(c.ry), c.rx.min(c.ry).max(1.0));
            if long * 2.0 < MIN_DIAMETER * short || long * 2.0 > MAX_DIAMETER * short {
                continue;
            }
            let aspect = long / short_r;
            if aspect <= MAX_ASPECT {
                let (full, arc) = ring_score(mask, w, h, &c, paper);
                if full > best {
                    best = full;
                    best_circle = Some(c);
                }
                best_arc = best_arc.max(arc);
            } else if aspect <= 2.3 {
                // Half a ring: the round seal it belongs to lies on one side or the other.
                for side in [-1.0, 1.0] {
                    let mut r = c;
                    if c.rx < c.ry {
                        r.cx += side * (c.ry - c.rx);
                        r.rx = c.ry;
                    } else {
                        r.cy += side * (c.rx - c.ry);
                        r.ry = c.rx;
                    }
                    best_arc = best_arc.max(ring_score(mask, w, h, &r, paper).1);
                }
            }
        }
    }
    (best, best_arc, best_circle)
}

/// The ellipse a blob's box stands for. A seal cut by the page edge leaves a box that
/// is short in one direction; the seal is round, so the uncut direction gives its size
/// and the centre lies that far from the uncut side.
#[derive(Debug, Clone, Copy)]
struct Circle {
    cx: f64,
    cy: f64,
    rx: f64,
    ry: f64,
}

impl Circle {
    fn from_box(b: &BBox, w: usize, h: usize, paper: &Background) -> Option<Circle> {
        // A scan's page edge is often a few pixels inside the image (the scanner's
        // margin, a deskewed page): a blob that near the border was cut by it. In a
        // photo the paper ends on the desk, inside the image: its edge cuts the same way.
        let m = edge_margin(w, h);
        let ends = |side| paper.paper_ends_beyond(b, side, m);
        let (left, right) = (
            b.x0 <= m || ends(Side::Left),
            b.x1 + 1 + m >= w || ends(Side::Right),
        );
        let (top, bottom) = (
            b.y0 <= m || ends(Side::Top),
            b.y1 + 1 + m >= h || ends(Side::Bottom),
        );
        if (left && right) || (top && bottom) {
            return None; // spans the page: a rule or a border, not a seal
        }
        let (bw, bh) = (b.width() as f64, b.height() as f64);
        let (mut x0, mut x1) = (b.x0 as f64, b.x1 as f64 + 1.0);
        let (mut y0, mut y1) = (b.y0 as f64, b.y1 as f64 + 1.0);
        let cut_x = (left || right) && bw < bh;
        let cut_y = (top || bottom) && bh < bw;
        let d = bw.max(bh);
        if cut_x || ((left || right) && (top || bottom)) {
            if right {
                x1 = x0 + d;
            } else if left {
                x0 = x1 - d;
            }
        }
        if cut_y || ((left || right) && (top || bottom)) {
            if bottom {
                y1 = y0 + d;
            } else if top {
                y0 = y1 - d;
            }
        }
        Some(Circle {
            cx: (x0 + x1) / 2.0,
            cy: (y0 + y1) / 2.0,
            rx: (x1 - x0) / 2.0,
            ry: (y1 - y0) / 2.0,
        })
    }
}

/// Features of a seal-sized blob, measured on the mask pixels inside its ellipse's box
/// in elliptic coordinates (d = 1 on the ellipse), on the part inside the page only.
#[derive(Debug, Default)]
struct RingFeatures {
    /// Share of the visible 36 angular sectors that hold red on the rim (0.80 ≤ d ≤ 1.06).
    coverage: f64,
    /// Share of all 36 sectors that hold red on the rim.
    arc: f64,
    /// Share of the 36 sectors whose rim lies on the page at all.
    visible: f64,
    /// Red pixels on the rim / rim pixels on the page: a drawn ring, not scattered dots.
    rim_density: f64,
    /// Red pixels in the box corners (d > 1.12) / all red pixels: a circle leaves the
    /// corners empty, a square character (国, 回) or a block of text does not.
    outside: f64,
    /// Red pixels well inside (d < 0.7) / that area: a seal is hollow apart from thin
    /// text and a star; a logo is a filled disc.
    interior: f64,
}

fn features(mask: &[bool], w: usize, h: usize, c: &Circle, paper: &Background) -> RingFeatures {
    let xs = (c.cx - c.rx).floor().max(0.0) as usize;
    let xe = ((c.cx + c.rx).ceil() as usize).min(w - 1);
    let ys = (c.cy - c.ry).floor().max(0.0) as usize;
    let ye = ((c.cy + c.ry).ceil() as usize).min(h - 1);
    let mut sectors = [0u32; 36];
    // Rim pixels per sector on the paper and off it (on a photo's desk).
    let (mut rim_on, mut rim_off) = ([0u32; 36], [0u32; 36]);
    let (mut rim, mut rim_area, mut out, mut inner, mut inner_area, mut total) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for y in ys..=ye {
        for x in xs..=xe {
            let (dx, dy) = (
                (x as f64 + 0.5 - c.cx) / c.rx,
                (y as f64 + 0.5 - c.cy) / c.ry,
            );
            let d = (dx * dx + dy * dy).sqrt();
            let on_rim = (0.80..=1.06).contains(&d);
            let sector = || {
                let t = dy.atan2(dx) + PI;
                ((t / (2.0 * PI) * 36.0) as usize).min(35)
            };
            if paper.on_desk(x, y) {
                // Off the paper: as unseen as beyond the image border.
                if on_rim {
                    rim_off[sector()] += 1;
                }
                continue;
            }
            let red = mask[y * w + x];
            if on_rim {
                rim_area += 1;
                let s = sector();
                rim_on[s] += 1;
                if red {
                    rim += 1;
                    sectors[s] += 1;
                }
            } else if d < 0.7 {
                inner_area += 1;
                inner += u64::from(red);
            }
            if red {
                total += 1;
                if d > 1.12 {
                    out += 1;
                }
            }
        }
    }
    // A sector the paper's edge crosses is seen when most of its rim is on the paper:
    // a sliver of rim left on the page cannot show whether ink would be there.
    let seen = |s: usize| rim_on[s] > 0 && rim_on[s] >= rim_off[s];
    let visible = (0..36).filter(|&s| seen(s)).count();
    let inked = (0..36).filter(|&s| seen(s) && sectors[s] >= 2).count();
    RingFeatures {
        coverage: inked as f64 / visible.max(1) as f64,
        arc: sectors.iter().filter(|&&c| c >= 2).count() as f64 / 36.0,
        visible: visible as f64 / 36.0,
        rim_density: rim as f64 / rim_area.max(1) as f64,
        outside: out as f64 / total.max(1) as f64,
        interior: inner as f64 / inner_area.max(1) as f64,
    }
}

/// 0–1 each: how much the blob in ellipse `c` looks like a seal ring, and like an arc
/// of one.
fn ring_score(mask: &[bool], w: usize, h: usize, c: &Circle, paper: &Background) -> (f64, f64) {
    let f = features(mask, w, h, c, paper);
    let ramp = |v: f64, lo: f64, hi: f64| ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    // A closed ring covers (nearly) every sector; a broken old stamp still covers most.
    let s_cov = ramp(f.coverage, 0.55, 0.9);
    let s_rim = ramp(f.rim_density, 0.04, 0.12);
    let s_out = 1.0 - ramp(f.outside, 0.04, 0.2);
    let s_hollow = 1.0 - ramp(f.interior, 0.45, 0.75);
    // Less than half a ring on the page is too little to call it a seal.
    let s_seen = ramp(f.visible, 0.3, 0.5);
    let shape = s_rim * s_out * s_hollow;
    // Half a ring of sparse ink (a worn, faint stamp) is still a doubt for a clerk, not
    // a confident "no seal": the arc asks for less ink on the rim than the ring.
    let s_trace = ramp(f.rim_density, 0.02, 0.05);
    (
        s_cov * s_seen * shape,
        ramp(f.arc, 0.3, 0.55) * s_trace * s_out * s_hollow,
    )
}

#[cfg(test)]
mod tests;
