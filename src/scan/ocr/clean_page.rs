//! The page image before OCR: the red channel with the background flattened (the seal
//! fades into paper), the skew measured and undone, the ruled lines of the form wiped.

use image::{GrayImage, Luma, RgbImage};

/// Red channel with the background flattened: uneven light in a phone photo becomes
/// even white, and the red seal becomes paper.
pub fn prepare(page: &RgbImage) -> GrayImage {
    let (w, h) = page.dimensions();
    flatten(&GrayImage::from_fn(w, h, |x, y| {
        Luma([page.get_pixel(x, y).0[0]])
    }))
}

/// The red channel of `page` scaled so its shorter side is `short`, on one channel:
/// a 600 dpi scan costs the reader no more than a 150 dpi one, and small print is
/// enlarged to the size Tesseract reads best.
pub fn red_scaled(page: &RgbImage, short: u32) -> GrayImage {
    let (w, h) = page.dimensions();
    let red = GrayImage::from_fn(w, h, |x, y| Luma([page.get_pixel(x, y).0[0]]));
    let k = short as f64 / w.min(h).max(1) as f64;
    if (k - 1.0).abs() < 0.02 {
        return red;
    }
    let filter = if k < 1.0 {
        image::imageops::FilterType::Triangle
    } else {
        image::imageops::FilterType::CatmullRom
    };
    image::imageops::resize(
        &red,
        ((w as f64 * k).round() as u32).max(1),
        ((h as f64 * k).round() as u32).max(1),
        filter,
    )
}

/// `red` (a page's red channel) with the background flattened, as [`prepare`].
pub fn flatten(red: &GrayImage) -> GrayImage {
    let (w, h) = red.dimensions();
    // Background = brightest value in 32-px cells (paper between the strokes), then
    // each pixel is divided by the background of its cell, interpolated.
    const CELL: u32 = 32;
    let (cw, ch) = (w.div_ceil(CELL), h.div_ceil(CELL));
    let mut bg = vec![0u8; (cw * ch) as usize];
    for y in 0..h {
        for x in 0..w {
            let i = ((y / CELL) * cw + x / CELL) as usize;
            bg[i] = bg[i].max(red.get_pixel(x, y).0[0]);
        }
    }
    // A cell covered by a dark block (a photo's desk) has no paper: borrow the
    // neighbours' brightest so it is not stretched to white noise.
    let smooth: Vec<u8> = (0..ch)
        .flat_map(|cy| (0..cw).map(move |cx| (cx, cy)))
        .map(|(cx, cy)| {
            let mut m = 0u8;
            for ny in cy.saturating_sub(1)..=(cy + 1).min(ch - 1) {
                for nx in cx.saturating_sub(1)..=(cx + 1).min(cw - 1) {
                    m = m.max(bg[(ny * cw + nx) as usize]);
                }
            }
            m
        })
        .collect();
    GrayImage::from_fn(w, h, |x, y| {
        let b = smooth[((y / CELL) * cw + x / CELL) as usize].max(64) as u32;
        let v = red.get_pixel(x, y).0[0] as u32;
        Luma([((v * 255) / b).min(255) as u8])
    })
}

/// Small skew (a page laid crooked on the scanner or photographed askew) found by the
/// projection profile: text rows give the sharpest row histogram when level.
pub fn skew_degrees(img: &GrayImage) -> f64 {
    let (w, h) = img.dimensions();
    let k = w.max(h).div_ceil(800).max(1);
    let mut dark = Vec::new();
    for y in (0..h).step_by(k as usize) {
        for x in (0..w).step_by(k as usize) {
            if img.get_pixel(x, y).0[0] < 128 {
                dark.push(((x / k) as f64, (y / k) as f64));
            }
        }
    }
    if dark.len() < 300 {
        return 0.0;
    }
    let rows = (h / k) as usize;
    let pad = (w / k) as usize / 10 + 2; // lines move by at most w·tan(4°) ≈ w/14
    let mut best = (0.0, f64::MIN);
    let mut bins = vec![0f64; rows + 2 * pad];
    for step in -20..=20 {
        let deg = step as f64 * 0.2;
        let t = deg.to_radians().tan();
        bins.iter_mut().for_each(|b| *b = 0.0);
        for &(x, y) in &dark {
            let r = (y - x * t).round() as isize + pad as isize;
            if let Some(b) = usize::try_from(r).ok().and_then(|r| bins.get_mut(r)) {
                *b += 1.0;
            }
        }
        let energy: f64 = bins.iter().map(|b| b * b).sum();
        if energy > best.1 {
            best = (deg, energy);
        }
    }
    best.0
}

/// Levels the page by its [`skew_degrees`] (bilinear, white fill); no-op when level.
pub fn deskew(img: &GrayImage) -> GrayImage {
    let deg = skew_degrees(img);
    if deg.abs() < 0.1 {
        return img.clone();
    }
    let (w, h) = img.dimensions();
    let (sin, cos) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let raw = img.as_raw();
    let at = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
            255.0
        } else {
            raw[y as usize * w as usize + x as usize] as f64
        }
    };
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        let sx = cx + dx * cos - dy * sin;
        let sy = cy + dx * sin + dy * cos;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x0 + 1, y0) * fx * (1.0 - fy)
            + at(x0, y0 + 1) * (1.0 - fx) * fy
            + at(x0 + 1, y0 + 1) * fx * fy;
        Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// Whitens the form's table rules (long straight dark runs): Tesseract's layout
/// analysis takes a boxed table for a picture and drops the text in its cells.
pub fn remove_rules(img: &mut GrayImage) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let dark = |v: u8| v < 160;
    const EDGE: usize = 2;
    let min_h = (w / 12).max(60);
    let min_v = (h / 16).max(60);
    let raw: &mut [u8] = img;
    let mut wipe = vec![false; raw.len()];
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if !dark(raw[y * w + x]) {
                x += 1;
                continue;
            }
            let start = x;
            while x < w && dark(raw[y * w + x]) {
                x += 1;
            }
            if x - start >= min_h {
                // The rule's blurred edges go too, or they come back as "|" and "_".
                for yy in y.saturating_sub(EDGE)..(y + EDGE + 1).min(h) {
                    wipe[yy * w + start..yy * w + x]
                        .iter_mut()
                        .for_each(|m| *m = true);
                }
            }
        }
    }
    for x in 0..w {
        let mut y = 0;
        while y < h {
            if !dark(raw[y * w + x]) {
                y += 1;
                continue;
            }
            let start = y;
            while y < h && dark(raw[y * w + x]) {
                y += 1;
            }
            if y - start >= min_v {
                for xx in x.saturating_sub(EDGE)..(x + EDGE + 1).min(w) {
                    (start..y).for_each(|yy| wipe[yy * w + xx] = true);
                }
            }
        }
    }
    for (v, m) in raw.iter_mut().zip(wipe) {
        if m {
            *v = 255;
        }
    }
}
