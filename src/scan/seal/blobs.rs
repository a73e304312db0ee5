//! Binary-mask geometry for the seal detector: dilation, the page-edge margin, and the
//! bounding boxes of connected blobs.

/// Binary dilation with a (2r+1)² square, as two running-count passes.
pub(super) fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
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

/// How close to the image border a blob counts as cut by the page edge: 1.5 % of the
/// longer side (15 px at the working size).
pub(super) fn edge_margin(w: usize, h: usize) -> usize {
    (w.max(h) * 15 / 1000).max(4)
}

/// Inclusive pixel bounding box.
#[derive(Debug, Clone, Copy)]
pub(super) struct BBox {
    pub(super) x0: usize,
    pub(super) y0: usize,
    pub(super) x1: usize,
    pub(super) y1: usize,
}

impl BBox {
    pub(super) fn width(&self) -> usize {
        self.x1 + 1 - self.x0
    }
    pub(super) fn height(&self) -> usize {
        self.y1 + 1 - self.y0
    }
    /// Undoes the growth that dilation by `r` added on every side, except on a side
    /// that the page edge cut (there the blob really reaches the edge).
    pub(super) fn shrink_within(&self, r: usize, w: usize, h: usize) -> BBox {
        let m = edge_margin(w, h);
        let cut = |at_edge: bool, kept: usize, moved: usize| if at_edge { kept } else { moved };
        let x0 = cut(self.x0 <= m, self.x0, (self.x0 + r).min(self.x1));
        let y0 = cut(self.y0 <= m, self.y0, (self.y0 + r).min(self.y1));
        let x1 = cut(self.x1 + 1 + m >= w, self.x1, self.x1.saturating_sub(r));
        let y1 = cut(self.y1 + 1 + m >= h, self.y1, self.y1.saturating_sub(r));
        BBox {
            x0,
            y0,
            x1: x1.max(x0),
            y1: y1.max(y0),
        }
    }
}

/// Bounding boxes of the 8-connected blobs of `mask` (flood fill with an explicit stack).
pub(super) fn blobs(mask: &[bool], w: usize, h: usize) -> Vec<BBox> {
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
