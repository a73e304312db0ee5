//! The paper under a seal, judged locally: how bright and how red the paper is around
//! each spot, and where a phone photo's paper ends and the desk begins.
//!
//! A photo's light falls off across the page, so a pale seal in the dark corner is less
//! red in absolute terms than the paper's median; its warm or yellow cast turns a pale
//! seal orange; and the paper ends inside the picture, so a seal cut by the paper's
//! edge never reaches the image border. All three are answered on a grid of blocks:
//! each block's paper brightness (redness is scaled by it), the paper's colour (the
//! white balance), and the desk, found by growing from the image border over dark,
//! even blocks.

use super::blobs::BBox;
use super::redness;
use image::RgbImage;

/// Block side in working pixels (~2.5 mm on an A4 page at the working size).
const BLOCK: usize = 16;
/// Paper brightness the ink thresholds are stated for (white): paper darker than that
/// (a photo's light fall-off, a grey scan) has its redness scaled up by this over its
/// own brightness, so a seal is never judged less red than on white paper.
const NOMINAL_PAPER: i32 = 255;
/// Darkest paper brightness the scaling goes down to (below: the desk, a shadow).
const DARKEST_PAPER: i32 = 110;
/// How close (in each channel) a pixel beside the desk must be to the desk's colour
/// to count as desk.
const DESK_COLOUR: i32 = 30;
/// How close (RGB distance) a pixel beside the desk must lie to a blend of the desk's
/// and the paper's colours to count as the paper's edge, not ink.
const BLEND_DISTANCE: f32 = 18.0;
/// The smallest cast (gain on a channel) the white balance corrects.
const MIN_CAST: f32 = 1.08;
/// A block at most this share of the brightest paper near it can be desk.
const DESK_RATIO: f32 = 0.8;

/// The local background of a page at the working size.
pub(super) struct Background {
    bw: usize,
    bh: usize,
    /// Per block: a desk (not paper) block of a photo.
    desk: Vec<bool>,
    /// Width in working pixels, for [`Background::on_desk`].
    w: usize,
    /// Per working pixel: off the paper (a desk block, or a pixel of the desk's colour
    /// in a block the paper's edge crosses).
    off: Vec<bool>,
}

/// Redness above the local paper's, in nominal-paper units, for every pixel; and the
/// page's paper/desk layout.
pub(super) fn excess_redness(img: &RgbImage) -> (Vec<i16>, Background) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let raw = img.as_raw();
    // Per block: the paper's brightness (90th percentile of the brightest channel:
    // text is dark and sparse, seal ink keeps its red channel high) and mean colour.
    let mut bright = vec![0f32; bw * bh];
    let mut colour = vec![[0u32; 3]; bw * bh];
    let mut vals: Vec<u8> = Vec::with_capacity(BLOCK * BLOCK);
    for by in 0..bh {
        for bx in 0..bw {
            vals.clear();
            let sum = &mut colour[by * bw + bx];
            for i in block_rows(w, h, bx, by).flatten() {
                let p = &raw[i * 3..i * 3 + 3];
                vals.push(p[0].max(p[1]).max(p[2]));
                for (c, v) in sum.iter_mut().zip(p) {
                    *c += *v as u32;
                }
            }
            let k = (vals.len() * 9 / 10).min(vals.len() - 1);
            bright[by * bw + bx] = *vals.select_nth_unstable(k).1 as f32;
            let n = vals.len().max(1) as u32;
            sum.iter_mut().for_each(|c| *c /= n);
        }
    }
    let desk = find_desk(&bright, bw, bh);
    // The paper made neutral: a warm or yellow cast turns a pale seal's red towards
    // orange, out of the seal hues; the paper's own colour tells the cast.
    let gains = white_balance(&colour, &desk);
    let balanced = |p: &[u8]| {
        let c = |k: usize| (p[k] as f32 * gains[k]).min(255.0) as u8;
        redness(c(0), c(1), c(2))
    };
    let red: Vec<u8> = raw.chunks_exact(3).map(balanced).collect();
    // Per block: the median redness (a seal's thin ring and text leave most of a block
    // paper).
    let mut redm = vec![0f32; bw * bh];
    let mut reds: Vec<u8> = Vec::with_capacity(BLOCK * BLOCK);
    for by in 0..bh {
        for bx in 0..bw {
            reds.clear();
            for row in block_rows(w, h, bx, by) {
                reds.extend_from_slice(&red[row]);
            }
            let k = reds.len() / 2;
            redm[by * bw + bx] = *reds.select_nth_unstable(k).1 as f32;
        }
    }
    // Local paper brightness: the brightest of the 3×3 blocks around (a block full of
    // text reads darker than its paper).
    let light = neighbourhood(&bright, bw, bh, 1, None, |v| {
        v.iter().copied().fold(0.0, f32::max)
    });
    // Redness in nominal-paper units (light falling off scales paper and ink alike).
    let scale = |b: usize| NOMINAL_PAPER as f32 / light[b].clamp(DARKEST_PAPER as f32, 255.0);
    let norm: Vec<f32> = (0..redm.len()).map(|b| redm[b] * scale(b)).collect();
    // The paper's own redness (after the white balance, what is left of a pink sheet):
    // the median over the paper's blocks, in the same units.
    let paper_red = {
        let mut v: Vec<f32> = (0..norm.len())
            .filter(|&b| !desk[b])
            .map(|b| norm[b])
            .collect();
        if v.is_empty() {
            0.0
        } else {
            let k = v.len() / 2;
            *v.select_nth_unstable_by(k, f32::total_cmp).1
        }
    };
    // No ink on the desk: a red-brown desk would otherwise join a seal cut by the
    // paper's edge into one frame-sized blob. Desk blocks are cleared whole; in a block
    // beside the desk, the pixels of the desk's colour.
    let desk_colours = |bx: usize, by: usize| -> Vec<[u32; 3]> {
        around(bw, bh, bx, by, 1)
            .filter(|&j| desk[j])
            .map(|j| colour[j])
            .collect()
    };
    let mut excess = vec![0i16; w * h];
    let mut off = vec![false; w * h];
    for by in 0..bh {
        for bx in 0..bw {
            let b = by * bw + bx;
            if desk[b] {
                for row in block_rows(w, h, bx, by) {
                    off[row].fill(true);
                }
                continue;
            }
            let near = desk_colours(bx, by);
            let paper_here = if near.is_empty() {
                [0.0; 3]
            } else {
                local_paper(&colour, &bright, &desk, bw, bh, bx, by)
            };
            for i in block_rows(w, h, bx, by).flatten() {
                let p = &raw[i * 3..i * 3 + 3];
                // The desk's colour, or a blend of desk and paper: the paper's edge,
                // half desk, half paper, in one pixel (on a red-brown desk that blend
                // is pink).
                let like_desk = near.iter().any(|d| {
                    d.iter()
                        .zip(p)
                        .all(|(&d, &v)| (d as i32 - v as i32).abs() <= DESK_COLOUR)
                        || off_blend(p, d, &paper_here) <= BLEND_DISTANCE
                });
                if like_desk {
                    off[i] = true;
                } else {
                    let e = red[i] as f32 * scale(b) - paper_red;
                    excess[i] = e.round() as i16;
                }
            }
        }
    }
    (
        excess,
        Background {
            bw,
            bh,
            desk,
            w,
            off,
        },
    )
}

/// The paper's colour near block (bx, by): the mean colour of the brightest paper block
/// around it (the block itself may be half desk).
fn local_paper(
    colour: &[[u32; 3]],
    bright: &[f32],
    desk: &[bool],
    bw: usize,
    bh: usize,
    bx: usize,
    by: usize,
) -> [f32; 3] {
    let mut best: Option<usize> = None;
    for j in around(bw, bh, bx, by, 1) {
        if !desk[j] && best.is_none_or(|b| bright[j] > bright[b]) {
            best = Some(j);
        }
    }
    best.map_or([255.0; 3], |b| colour[b].map(|c| c as f32))
}

/// How far pixel `p` lies from every blend of the desk colour `d` and the paper colour
/// `paper` (the segment between them, in RGB).
fn off_blend(p: &[u8], d: &[u32; 3], paper: &[f32; 3]) -> f32 {
    let d = d.map(|c| c as f32);
    let seg: [f32; 3] = std::array::from_fn(|k| paper[k] - d[k]);
    let rel: [f32; 3] = std::array::from_fn(|k| p[k] as f32 - d[k]);
    let len2: f32 = seg.iter().map(|v| v * v).sum();
    if len2 < 1.0 {
        return rel.iter().map(|v| v * v).sum::<f32>().sqrt();
    }
    let t = (rel.iter().zip(&seg).map(|(a, b)| a * b).sum::<f32>() / len2).clamp(0.0, 1.0);
    rel.iter()
        .zip(&seg)
        .map(|(a, b)| (a - t * b).powi(2))
        .sum::<f32>()
        .sqrt()
}

/// Per-channel gains that make the paper grey: the median block colour over the
/// paper, each channel raised to the brightest (by at most 40 %: beyond that the page
/// is coloured paper, not a cast); none below a cast of [`MIN_CAST`].
fn white_balance(colour: &[[u32; 3]], desk: &[bool]) -> [f32; 3] {
    let mut med = [0f32; 3];
    for (k, m) in med.iter_mut().enumerate() {
        let mut v: Vec<u32> = colour
            .iter()
            .zip(desk)
            .filter(|(_, &d)| !d)
            .map(|(c, _)| c[k])
            .collect();
        if v.is_empty() {
            return [1.0; 3];
        }
        let i = v.len() / 2;
        *m = (*v.select_nth_unstable(i).1).max(1) as f32;
    }
    let top = med.iter().copied().fold(0.0, f32::max);
    let gains = med.map(|m| (top / m).clamp(1.0, 1.4));
    // A few per cent is white paper's own tint and the scanner's: left alone (scaling
    // it shifted faint vermilion ink on flatbed scans out of the seal hues).
    if gains.iter().all(|&g| g < MIN_CAST) {
        return [1.0; 3];
    }
    gains
}

/// The desk around a photographed page: grown from the image border over blocks that
/// are clearly darker than the paper near them, in even steps (the paper's edge is one
/// sharp step up). A flatbed scan has none.
fn find_desk(bright: &[f32], bw: usize, bh: usize) -> Vec<bool> {
    let mut desk = vec![false; bw * bh];
    if bw < 3 || bh < 3 {
        return desk;
    }
    let near_max = neighbourhood(bright, bw, bh, 4, None, |v| {
        v.iter().copied().fold(0.0, f32::max)
    });
    let mut sorted = bright.to_vec();
    let k = sorted.len() * 95 / 100;
    let top = *sorted
        .select_nth_unstable_by(k.min(bright.len() - 1), f32::total_cmp)
        .1;
    let mut stack = Vec::new();
    for by in 0..bh {
        for bx in 0..bw {
            let border = bx == 0 || by == 0 || bx + 1 == bw || by + 1 == bh;
            let i = by * bw + bx;
            if border && bright[i] < DESK_RATIO * near_max[i] && bright[i] < DESK_RATIO * top {
                desk[i] = true;
                stack.push(i);
            }
        }
    }
    while let Some(i) = stack.pop() {
        let (bx, by) = (i % bw, i / bw);
        let v = bright[i];
        let mut visit = |j: usize| {
            let n = bright[j];
            if !desk[j] && (n - v).abs() <= (0.08 * v).max(6.0) && n < DESK_RATIO * top {
                desk[j] = true;
                stack.push(j);
            }
        };
        if bx > 0 {
            visit(i - 1);
        }
        if bx + 1 < bw {
            visit(i + 1);
        }
        if by > 0 {
            visit(i - bw);
        }
        if by + 1 < bh {
            visit(i + bw);
        }
    }
    desk
}

/// The pixel indices of block (bx, by) of a `w`-pixel-wide, `h`-high image, a row at a
/// time (the last row and column of blocks may be short).
fn block_rows(
    w: usize,
    h: usize,
    bx: usize,
    by: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let xs = bx * BLOCK..((bx + 1) * BLOCK).min(w);
    (by * BLOCK..((by + 1) * BLOCK).min(h)).map(move |y| y * w + xs.start..y * w + xs.end)
}

/// Indices of the blocks within `r` of block (bx, by) on a `bw`×`bh` grid, itself
/// included.
fn around(bw: usize, bh: usize, bx: usize, by: usize, r: usize) -> impl Iterator<Item = usize> {
    (by.saturating_sub(r)..=(by + r).min(bh - 1))
        .flat_map(move |y| (bx.saturating_sub(r)..=(bx + r).min(bw - 1)).map(move |x| y * bw + x))
}

/// `f` over the blocks within `r` of each block (those not in `skip`).
fn neighbourhood(
    v: &[f32],
    bw: usize,
    bh: usize,
    r: usize,
    skip: Option<&[bool]>,
    f: impl Fn(&mut Vec<f32>) -> f32,
) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    let mut buf = Vec::with_capacity((2 * r + 1) * (2 * r + 1));
    for by in 0..bh {
        for bx in 0..bw {
            buf.clear();
            buf.extend(
                around(bw, bh, bx, by, r)
                    .filter(|&j| skip.is_none_or(|s| !s[j]))
                    .map(|j| v[j]),
            );
            out[by * bw + bx] = f(&mut buf);
        }
    }
    out
}

/// A side of a blob's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

impl Background {
    /// Whether (x, y) lies on the desk, off the paper: to the pixel where the paper's
    /// edge crosses a block, so a seal cut by that edge is not taken to have paper (and
    /// so missing ink) beyond it.
    pub(super) fn on_desk(&self, x: usize, y: usize) -> bool {
        self.off[y * self.w + x]
    }

    /// Whether the paper ends within `m` pixels beyond `side` of `b` along most of that
    /// side: the blob was cut by the paper's edge, as by the image border.
    pub(super) fn paper_ends_beyond(&self, b: &BBox, side: Side, m: usize) -> bool {
        let along: Vec<usize> = match side {
            Side::Left | Side::Right => (b.y0 / BLOCK..=b.y1 / BLOCK).collect(),
            Side::Top | Side::Bottom => (b.x0 / BLOCK..=b.x1 / BLOCK).collect(),
        };
        let (lo, hi) = match side {
            Side::Left => (b.x0.saturating_sub(m), b.x0),
            Side::Right => (b.x1, b.x1 + m),
            Side::Top => (b.y0.saturating_sub(m), b.y0),
            Side::Bottom => (b.y1, b.y1 + m),
        };
        let across = lo / BLOCK..=(hi / BLOCK);
        let hits = along
            .iter()
            .filter(|&&a| {
                across.clone().any(|c| {
                    let (bx, by) = match side {
                        Side::Left | Side::Right => (c, a),
                        Side::Top | Side::Bottom => (a, c),
                    };
                    bx < self.bw && by < self.bh && self.desk[by * self.bw + bx]
                })
            })
            .count();
        hits * 5 >= along.len() * 2 && hits > 0
    }
}
