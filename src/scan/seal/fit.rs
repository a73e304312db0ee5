//! A seal's circle fitted to its outer rim. When the ring is broken (a worn stamp, a
//! gap where the ink did not take) or cut by the page's or the paper's edge, its blob
//! splits or shrinks and the blob's box no longer shows the circle; the outermost ink
//! seen from inside the ring still lies on it.

use super::blobs::BBox;
use super::Circle;

/// Directions the outer rim is sampled in.
const BINS: usize = 72;
/// Fewest directions holding ink for a fit: a quarter of the ring.
const MIN_POINTS: usize = BINS / 4;
/// How near the circle (a share of its radius, at least 2 px) a rim point must lie to
/// be on it; at least half the points must be.
const ON_CIRCLE: f64 = 0.04;

/// The circle through the outermost ink of `mask` within box `b`, as seen from the
/// centre of `guess` (refined once from the first fit's centre); `None` when too few
/// directions hold ink or the points lie on no circle.
pub(super) fn fit_rim(mask: &[bool], w: usize, b: &BBox, guess: &Circle) -> Option<Circle> {
    let mut centre = (guess.cx, guess.cy);
    let mut fitted = None;
    for _ in 0..2 {
        let points = outermost(mask, w, b, centre);
        if points.len() < MIN_POINTS {
            return fitted;
        }
        let (cx, cy, r) = trimmed_fit(&points)?;
        centre = (cx, cy);
        fitted = Some(Circle {
            cx,
            cy,
            rx: r,
            ry: r,
        });
    }
    fitted
}

/// Per direction around `centre`, the mask pixel in `b` farthest from it (its outer
/// corner, so the fitted radius is the ring's outer edge as the box's is).
fn outermost(mask: &[bool], w: usize, b: &BBox, centre: (f64, f64)) -> Vec<(f64, f64)> {
    let mut far = [None::<(f64, f64, f64)>; BINS];
    for y in b.y0..=b.y1 {
        for x in b.x0..=b.x1 {
            if !mask[y * w + x] {
                continue;
            }
            let (dx, dy) = (x as f64 + 0.5 - centre.0, y as f64 + 0.5 - centre.1);
            let d = (dx * dx + dy * dy).sqrt() + 0.5;
            let t = dy.atan2(dx) + std::f64::consts::PI;
            let k = ((t / std::f64::consts::TAU * BINS as f64) as usize).min(BINS - 1);
            if far[k].is_none_or(|(_, _, fd)| d > fd) {
                let s = d / (d - 0.5).max(0.5);
                far[k] = Some((centre.0 + dx * s, centre.1 + dy * s, d));
            }
        }
    }
    far.iter().flatten().map(|&(x, y, _)| (x, y)).collect()
}

/// A least-squares circle, refitted without the points farthest off it (ink of
/// something else joined to the seal: a logo, a signature; or the text inside the
/// ring seen through a worn gap), then on the points that lie on it.
fn trimmed_fit(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let off =
        |&(x, y): &(f64, f64), (cx, cy, r): (f64, f64, f64)| ((x - cx).hypot(y - cy) - r).abs();
    let first = kasa(points)?;
    let mut residuals: Vec<f64> = points.iter().map(|p| off(p, first)).collect();
    residuals.sort_by(f64::total_cmp);
    let limit = (residuals[residuals.len() / 2] * 3.0).max(1.5);
    let kept: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| off(p, first) <= limit)
        .collect();
    let second = if kept.len() < MIN_POINTS {
        first
    } else {
        kasa(&kept)?
    };
    // Round, not merely closed: most of a ring's outermost ink lies within a pixel or
    // two of its circle; a square frame's or a block of text's strays from any circle.
    let band = (ON_CIRCLE * second.2).max(2.0);
    let on: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| off(p, second) <= band)
        .collect();
    if on.len() < MIN_POINTS || on.len() * 2 < points.len() {
        return None;
    }
    kasa(&on)
}

/// Kåsa's algebraic circle fit: x² + y² + Dx + Ey + F = 0 by linear least squares, in
/// coordinates centred on the points' mean.
fn kasa(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (mut sxx, mut syy, mut sxy, mut sxz, mut syz, mut sz) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y) in points {
        let (u, v) = (x - mx, y - my);
        let z = u * u + v * v;
        sxx += u * u;
        syy += v * v;
        sxy += u * v;
        sxz += u * z;
        syz += v * z;
        sz += z;
    }
    // Normal equations with centred sums (Σu = Σv = 0): [sxx sxy; sxy syy]·[D E] =
    // −[sxz syz], and F = −sz/n.
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-9 {
        return None; // collinear: a straight rule, not a ring
    }
    let d = -(sxz * syy - syz * sxy) / det;
    let e = -(syz * sxx - sxz * sxy) / det;
    let f = -sz / n;
    let (cu, cv) = (-d / 2.0, -e / 2.0);
    let r2 = cu * cu + cv * cv - f;
    (r2 > 0.0).then(|| (cu + mx, cv + my, r2.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_mask(
        w: usize,
        h: usize,
        cx: f64,
        cy: f64,
        r: f64,
        keep: impl Fn(f64) -> bool,
    ) -> Vec<bool> {
        let mut m = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                let d = dx.hypot(dy);
                if d <= r && d >= r - 4.0 && keep(dy.atan2(dx).to_degrees()) {
                    m[y * w + x] = true;
                }
            }
        }
        m
    }

    fn bbox(x0: usize, y0: usize, x1: usize, y1: usize) -> BBox {
        BBox { x0, y0, x1, y1 }
    }

    fn circle(cx: f64, cy: f64, rx: f64, ry: f64) -> Circle {
        Circle { cx, cy, rx, ry }
    }

    /// A third of a ring and a wrong first guess (the box of the arc) still give the
    /// ring's circle.
    #[test]
    fn an_arc_gives_its_circle() {
        let (w, h) = (300, 300);
        let m = ring_mask(w, h, 150.0, 150.0, 60.0, |a| (-170.0..-50.0).contains(&a));
        let c = fit_rim(
            &m,
            w,
            &bbox(90, 90, 190, 150),
            &circle(140.0, 120.0, 50.0, 30.0),
        )
        .expect("a fit");
        assert!(
            (c.cx - 150.0).abs() < 2.0 && (c.cy - 150.0).abs() < 2.0,
            "{c:?}"
        );
        assert!((c.rx - 60.0).abs() < 2.0, "{c:?}");
    }

    /// A square frame is not round: no circle is fitted to it.
    #[test]
    fn a_square_frame_has_no_circle() {
        let (w, h) = (300, 300);
        let mut m = vec![false; w * h];
        for y in 90..210 {
            for x in 90..210 {
                m[y * w + x] = !(94..206).contains(&x) || !(94..206).contains(&y);
            }
        }
        let guess = circle(150.0, 150.0, 60.0, 60.0);
        assert!(fit_rim(&m, w, &bbox(90, 90, 209, 209), &guess).is_none());
    }

    /// A straight rule has no circle.
    #[test]
    fn a_rule_has_no_circle() {
        let points: Vec<(f64, f64)> = (0..40).map(|i| (i as f64 * 3.0, 20.0)).collect();
        assert!(kasa(&points).is_none_or(|(_, _, r)| r > 1e4));
    }
}
