//! Unit tests of the seal detector (`seal.rs`).

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
    ring_of(img, cx, cy, r, t, RED);
}

fn ring_of(img: &mut RgbImage, cx: f64, cy: f64, r: f64, t: f64, ink: Rgb<u8>) {
    for y in 0..img.height() {
        for x in 0..img.width() {
            let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
            if d <= r && d >= r - t {
                img.put_pixel(x, y, ink);
            }
        }
    }
}

#[test]
fn pale_pink_ring_is_a_seal() {
    let mut img = page();
    ring_of(&mut img, 420.0, 700.0, 60.0, 4.0, Rgb([240, 200, 196]));
    let r = detect(&img, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
}

#[test]
fn ring_cut_by_the_page_edge_is_a_seal() {
    let mut img = page();
    // 35 % of the diameter beyond the right edge.
    ring(&mut img, 600.0 - 60.0 + 42.0, 600.0, 60.0, 4.0);
    let r = detect(&img, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
}

#[test]
fn ring_crossed_by_black_rules_is_a_seal() {
    let mut img = page();
    ring(&mut img, 420.0, 700.0, 60.0, 4.0);
    for x in 300..560 {
        for y in 698..701 {
            img.put_pixel(x, y, Rgb([20, 20, 20]));
        }
    }
    for y in 600..800 {
        img.put_pixel(430, y, Rgb([20, 20, 20]));
    }
    assert_eq!(detect(&img, true).verdict, SealVerdict::Stamped);
}

#[test]
fn half_a_faint_ring_is_left_to_a_clerk() {
    let mut img = page();
    ring_of(&mut img, 420.0, 700.0, 60.0, 4.0, Rgb([238, 214, 208]));
    // Only the upper half survived (a seal mostly lifted off).
    for y in 700..770 {
        for x in 350..490 {
            img.put_pixel(x, y, PAPER);
        }
    }
    let r = detect(&img, true);
    assert_eq!(r.verdict, SealVerdict::Uncertain, "{r:?}");
    assert_eq!(r.stamped, None);
}

#[test]
fn verdicts_combine_over_pages() {
    use SealVerdict::*;
    assert_eq!(SealVerdict::combine([Unstamped, Stamped]), Stamped);
    assert_eq!(SealVerdict::combine([Unstamped, Uncertain]), Uncertain);
    assert_eq!(SealVerdict::combine([NoColour, Unstamped]), Unstamped);
    assert_eq!(SealVerdict::combine([NoColour]), NoColour);
    assert_eq!(SealVerdict::combine([]), NoColour);
}

#[test]
fn redness_of_inks_and_paper() {
    assert!(redness(214, 60, 60) > 100);
    assert!(redness(200, 90, 110) > 80); // pink
    assert!(redness(240, 198, 190) >= 40); // pale seal ink
    assert_eq!(redness(30, 30, 30), 0);
    assert_eq!(redness(240, 220, 190), 0); // warm paper
    assert_eq!(redness(220, 140, 40), 0); // orange
    assert_eq!(redness(40, 60, 200), 0); // blue ink
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

/// `page` photographed on a desk: a `margin`-pixel desk of colour `desk` around it,
/// and light falling off from left (×1) to right (×`dark`).
fn photo(page: &RgbImage, margin: u32, desk: Rgb<u8>, dark: f64) -> RgbImage {
    let (w, h) = page.dimensions();
    let mut img = RgbImage::from_pixel(w + 2 * margin, h + 2 * margin, desk);
    image::imageops::replace(&mut img, page, margin as i64, margin as i64);
    let width = img.width() as f64;
    for (x, _, p) in img.enumerate_pixels_mut() {
        let shade = 1.0 - (1.0 - dark) * x as f64 / width;
        for c in p.0.iter_mut() {
            *c = (*c as f64 * shade).round() as u8;
        }
    }
    img
}

/// In a photo the paper ends on the desk, inside the picture: a seal cut by the
/// paper's edge is cut as by the image border (without the paper outline its half
/// ring was only "uncertain").
#[test]
fn ring_cut_by_the_paper_edge_in_a_photo_is_a_seal() {
    let mut img = page();
    // 35 % of the diameter beyond the paper's right edge: lost, as ink off the paper.
    ring(&mut img, 600.0 - 60.0 + 42.0, 600.0, 60.0, 4.0);
    let shot = photo(&img, 70, Rgb([90, 100, 110]), 0.9);
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
    // Cut at the bottom edge as well.
    let mut img = page();
    ring(&mut img, 300.0, 850.0 - 60.0 + 40.0, 60.0, 4.0);
    let shot = photo(&img, 60, Rgb([70, 75, 70]), 0.9);
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
    // On a red-brown desk: the desk is no ink, or the seal would join it into one
    // frame-sized blob.
    let shot = photo(&img, 60, Rgb([150, 80, 70]), 0.9);
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
}

/// A pale seal where the photo's light has fallen to 60 %: its redness there is below
/// the faint-ink threshold, so it was not even a doubt; scaled to the paper's
/// brightness around it, it is a ring.
#[test]
fn pale_ring_in_the_dark_of_a_photo_is_a_seal() {
    let mut img = page();
    ring_of(&mut img, 520.0, 650.0, 60.0, 4.0, Rgb([240, 220, 214]));
    let shot = photo(&img, 40, Rgb([100, 95, 90]), 0.5);
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
}

/// A reddish desk around the page, darker than the paper, is no seal, and the paper's
/// own edge on it is not half a ring.
#[test]
fn red_desk_around_a_photo_is_not_a_seal() {
    let shot = photo(&page(), 60, Rgb([150, 70, 60]), 0.7);
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Unstamped, "{r:?}");
}

/// A photo's yellow cast (blue at 80 %, green at 94 %) turns a pale seal orange, out
/// of the seal hues; made neutral against the paper's own colour, it is red again.
#[test]
fn pale_ring_under_a_yellow_cast_is_a_seal() {
    let mut img = page();
    ring_of(&mut img, 420.0, 700.0, 60.0, 4.0, Rgb([236, 190, 170]));
    for p in img.pixels_mut() {
        p.0[1] = (p.0[1] as f64 * 0.94) as u8;
        p.0[2] = (p.0[2] as f64 * 0.80) as u8;
    }
    let r = detect(&img, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
}

/// A page photographed askew on a red-brown desk: the paper's edge is a soft band of
/// desk blended with paper, pink on every side. That band is the paper's edge, not
/// ink: joined to a seal stamped near the edge it made the seal's blob a tall strip.
#[test]
fn soft_paper_edge_on_a_red_desk_is_not_ink() {
    let mut img = page();
    ring_of(
        &mut img,
        600.0 - 64.0,
        640.0,
        60.0,
        4.0,
        Rgb([205, 70, 120]),
    );
    let desk = Rgb([122, 62, 58]);
    let margin = 50u32;
    let mut shot = photo(&img, margin, desk, 0.95);
    let (w, h) = (img.width(), img.height());
    // Three pixels of blend each side of the edge, as a lens and JPEG leave it.
    let edge_dist = |x: u32, y: u32| {
        let dx = (x as i64 - margin as i64).min((margin + w - 1) as i64 - x as i64);
        let dy = (y as i64 - margin as i64).min((margin + h - 1) as i64 - y as i64);
        dx.min(dy)
    };
    for (x, y, p) in shot.enumerate_pixels_mut() {
        let d = edge_dist(x, y);
        if (-3..3).contains(&d) {
            let t = (d + 3) as f64 / 6.0; // 0 desk … 1 paper
            for (c, (&dk, &pp)) in p.0.iter_mut().zip(desk.0.iter().zip(PAPER.0.iter())) {
                *c = (dk as f64 * (1.0 - t) + pp as f64 * t).round() as u8;
            }
        }
    }
    let r = detect(&shot, true);
    assert_eq!(r.verdict, SealVerdict::Stamped, "{r:?}");
    assert!(detect(&photo(&page(), margin, desk, 0.95), true).verdict != SealVerdict::Stamped);
}

/// A worn, faint stamp leaves half a ring of sparse dots: too little to call it a
/// seal, too much to tell the applicant "no seal" — a clerk decides.
#[test]
fn sparse_half_ring_is_left_to_a_clerk() {
    let mut img = page();
    let (cx, cy, r) = (400.0, 640.0, 62.0);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        let d = dx.hypot(dy);
        let a = dy.atan2(dx).to_degrees() + 180.0;
        // Every third pixel of a thin ring over 200°: a rim a few per cent inked.
        if (r - 3.0..=r).contains(&d) && a < 200.0 && (x * 7 + y * 3) % 3 == 0 {
            *p = RED;
        }
    }
    let res = detect(&img, true);
    assert_eq!(res.verdict, SealVerdict::Uncertain, "{res:?}");
}

/// The ring text names another unit only when it clearly names another applicant and
/// clearly not this one; OCR's partial reads of the applicant's own name stay its own
/// or say nothing.
#[test]
fn ring_text_names_another_unit_only_when_clear() {
    use ring_text::{compare, SealUnit};
    let units = [
        "唐山市第一中学",
        "唐山市第十中学",
        "迁安市教育局",
        "唐山市路北区科学技术协会",
    ];
    let others = units.iter().copied();
    assert_eq!(
        compare("唐山市第十中学", "唐山市第十中学", others.clone()),
        SealUnit::Applicant
    );
    // Three characters of twelve lost: still the applicant's.
    assert_eq!(
        compare(
            "唐山市路北芭科学技",
            "唐山市路北区科学技术协会",
            others.clone()
        ),
        SealUnit::Applicant
    );
    assert_eq!(
        compare("迁安市教育局", "唐山市第十中学", others.clone()),
        SealUnit::Other("迁安市教育局".into())
    );
    // One character apart from the applicant: a misread, not another unit.
    assert_ne!(
        compare("唐山市第一中学", "唐山市第十中学", others.clone()),
        SealUnit::Other("唐山市第一中学".into())
    );
    // Too little or nothing known read.
    assert_eq!(
        compare("膛到", "唐山市第十中学", others.clone()),
        SealUnit::Unread
    );
    assert_eq!(
        compare("康忆市轨站", "唐山市第十中学", others),
        SealUnit::Unread
    );
}

/// A seal broken by wear (a gap in its ring, so the cut ring falls apart into two
/// arcs) and cut by a photo's paper edge, level or slanting (the page askew, so the
/// edge crosses the desk grid's blocks part-way): stamped, every one. The arcs' circle
/// is fitted to their outer rim, and rim beyond the paper's edge is unseen, not
/// missing ink — a whole ring cut so scores as a whole ring.
#[test]
fn rings_broken_and_cut_by_a_photos_paper_edge_are_seals() {
    let desk = Rgb([120, 100, 60]);
    for cy in [800.0, 815.0, 830.0] {
        for slope in [0.0, 0.2] {
            for gap in [0.0, 25.0] {
                let mut img = page();
                let (cx, r) = (300.0, 60.0);
                ring(&mut img, cx, cy, r, 4.0);
                for (x, y, p) in img.enumerate_pixels_mut() {
                    let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                    let a = dy.atan2(dx).to_degrees() + 180.0;
                    if dx.hypot(dy) <= r + 1.0 && (140.0..140.0 + gap).contains(&a) {
                        *p = PAPER;
                    }
                }
                let mut shot = photo(&img, 52, desk, 0.9);
                for (x, y, p) in shot.enumerate_pixels_mut() {
                    if y as f64 > 902.0 + slope * (x as f64 - 352.0) {
                        *p = desk;
                    }
                }
                let res = detect(&shot, true);
                let case = format!("centre y {cy}, edge slope {slope}, gap {gap}°: {res:?}");
                assert_eq!(res.verdict, SealVerdict::Stamped, "{case}");
                if gap == 0.0 {
                    assert!(res.score >= 0.95, "{case}");
                }
            }
        }
    }
}
