//! Reading only what matching needs: the top band of the upright page (the attachment
//! number, the title and the table rows holding unit, person and phone) at ~150 dpi,
//! with the orientation from a cheap text-line test and the reading's own confidence
//! (a page that reads confidently needs no other turn tried, title or not).

use super::{deskew, flatten, proc, red_scaled, remove_rules, rotate, tidy};
use super::{reads_like_form, vocabulary_hits, OcrError, PageText, OCR_TIMEOUT};
use image::GrayImage;
use std::path::Path;

/// Shorter side pages are read at: A4 at ~150 dpi, where the forms' 16 pt body text
/// is ~30 px high — plenty for Tesseract.
pub const BAND_WIDTH: u32 = 1240;
/// Share of the upright page read: the rows that name unit, person and phone end at
/// about half the page (a red letterhead pushes them down by a tenth; a photo's desk
/// shifts the paper a little).
pub const BAND_SHARE: f64 = 0.6;
/// Mean word confidence (0–100) from which a reading is taken as upright even without
/// a form's title: a form's second page reads at 85–95, a page upside down at 20–50.
const UPRIGHT_CONFIDENCE: f64 = 70.0;
/// A table rule spans at least this share of the page's width.
const RULE_SPAN: f64 = 0.3;
/// A gap between rules of at least this share of the page's height is the body box.
const BODY_GAP: f64 = 0.12;
/// Line height (px) under which print counts as small and is enlarged, to about
/// [`TEXT_HEIGHT`], by at most [`MAX_ENLARGE`].
const SMALL_PRINT: f64 = 24.0;
const TEXT_HEIGHT: f64 = 30.0;
const MAX_ENLARGE: f64 = 1.8;
/// Tesseract's page segmentation for the band: automatic (3). A uniform block (6)
/// skips the layout pass but runs a table's columns into one line and loses the names
/// in forms with several columns (a photographed expert form); on a band the layout
/// pass costs little.
const PSM: &str = "3";
/// Words a reading needs before its confidence says anything.
const UPRIGHT_WORDS: usize = 8;

/// One block reading: the text and how sure Tesseract was of it.
struct Reading {
    text: String,
    confidence: f64,
    words: usize,
}

/// Reads the top band of `page`, trying the orientations in the order the text-line
/// test suggests (`hint`, the previous page's turn, first) until one reads like a form
/// or like confident text.
pub fn read_bands(
    tesseract: &Path,
    page: &image::RgbImage,
    hint: Option<u32>,
) -> Result<PageText, OcrError> {
    if page.width() < 8 || page.height() < 8 {
        return Ok(PageText {
            text: String::new(),
            rotation: 0,
            vocabulary_hits: 0,
            runs: 0,
        });
    }
    let short = page.width().min(page.height());
    let mut base = flatten(&red_scaled(page, short.min(BAND_WIDTH)));
    // Table rules off for the direction test: a form's vertical rules would look like
    // text columns.
    let mut probe = base.clone();
    remove_rules(&mut probe);
    let vertical = lines_run_vertically(&probe);
    // Small print (a form typed in 10 pt, a 100 dpi scan) is enlarged: Tesseract
    // misreads characters under ~24 px (唐 as 计).
    if let Some(h) = line_height(&probe, vertical).filter(|h| *h < SMALL_PRINT) {
        let k = (TEXT_HEIGHT / h).min(MAX_ENLARGE);
        let target = (base.width().min(base.height()) as f64 * k).round() as u32;
        base = flatten(&red_scaled(page, target));
    }
    drop(probe);
    let upright = if vertical {
        [90, 270, 0, 180]
    } else {
        [0, 180, 90, 270]
    };
    let mut order: Vec<u32> = hint.into_iter().collect();
    for r in upright {
        if !order.contains(&r) {
            order.push(r);
        }
    }
    // Best so far: (reads like the form, vocabulary hits, confidence).
    let mut best: Option<(bool, usize, f64, PageText)> = None;
    let mut runs = 0;
    for &rotation in &order {
        // Level first (the rules are the surest sign of the skew), then cut the band
        // after the name rows, then wipe the rules: Tesseract's layout analysis takes
        // a boxed table for a picture.
        let turned = deskew(&rotate(&base, rotation));
        let h = turned.height();
        let share_end = (h as f64 * BAND_SHARE) as u32;
        let band_h = rows_end(&turned)
            .map_or(share_end, |e| e.min(share_end))
            .max(8);
        let mut level = image::imageops::crop_imm(&turned, 0, 0, turned.width(), band_h).to_image();
        drop(turned);
        remove_rules(&mut level);
        let read = recognise_block(tesseract, &level)?;
        runs += 1;
        let hits = vocabulary_hits(&read.text);
        let form = reads_like_form(&read.text, hits);
        let sure = read.words >= UPRIGHT_WORDS && read.confidence >= UPRIGHT_CONFIDENCE;
        let key = (form, hits, read.confidence);
        let better = best.as_ref().is_none_or(|(f, h, c, _)| {
            (key.0, key.1)
                .cmp(&(*f, *h))
                .then(key.2.total_cmp(c))
                .is_gt()
        });
        if better {
            best = Some((
                form,
                hits,
                read.confidence,
                PageText {
                    text: read.text,
                    rotation,
                    vocabulary_hits: hits,
                    runs,
                },
            ));
        }
        if form || sure {
            break;
        }
    }
    Ok(PageText::best_of(best.map(|b| b.3), runs))
}

/// One Tesseract run over `img` as a uniform block of text, simplified Chinese, with
/// the words' confidences (TSV output). The image goes in as PGM: nothing to
/// compress.
fn recognise_block(tesseract: &Path, img: &GrayImage) -> Result<Reading, OcrError> {
    let mut input = format!("P5\n{} {}\n255\n", img.width(), img.height()).into_bytes();
    input.extend_from_slice(img.as_raw());
    // No second reading of poor lines as white on black: forms are black on white.
    let args = [
        "stdin",
        "stdout",
        "-l",
        "chi_sim",
        "--psm",
        PSM,
        "-c",
        "tessedit_do_invert=0",
        "tsv",
    ];
    let out = proc::run(tesseract, &args, &input, OCR_TIMEOUT)?;
    Ok(parse_tsv(&String::from_utf8_lossy(&out.stdout)))
}

/// Text (lines in reading order, words joined as Tesseract's text output joins them)
/// and mean word confidence from Tesseract's TSV.
fn parse_tsv(tsv: &str) -> Reading {
    let mut raw = String::new();
    let mut line_key: Option<(&str, &str, &str)> = None;
    let (mut sum, mut words) = (0.0, 0usize);
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        // level, page, block, paragraph, line, word, left, top, width, height, conf, text
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let text = cols[11].trim();
        if text.is_empty() {
            continue;
        }
        let key = (cols[2], cols[3], cols[4]);
        if line_key.is_some_and(|k| k != key) {
            raw.push('\n');
        } else if line_key.is_some() {
            raw.push(' ');
        }
        line_key = Some(key);
        raw.push_str(text);
        if let Ok(c) = cols[10].parse::<f64>() {
            sum += c.max(0.0);
            words += 1;
        }
    }
    Reading {
        text: tidy(&raw),
        confidence: if words == 0 { 0.0 } else { sum / words as f64 },
        words,
    }
}

/// Where the form's table of names ends on an upright, level page: below its last
/// evenly ruled row, where the next rule is far away (the big box of the form's body
/// text, which costs Tesseract most and matching nothing). None when the page shows
/// no such table in its upper part.
fn rows_end(img: &GrayImage) -> Option<u32> {
    let (w, h) = img.dimensions();
    let raw = img.as_raw();
    let min_run = (w as f64 * RULE_SPAN) as usize;
    // Rows holding a long dark run (gaps of two pixels bridged: JPEG and noise).
    let ruled = |y: u32| {
        let row = &raw[(y * w) as usize..((y + 1) * w) as usize];
        let (mut run, mut gap, mut best) = (0usize, 0usize, 0usize);
        for &v in row {
            if v < 160 {
                run += 1 + gap;
                gap = 0;
                best = best.max(run);
            } else if run > 0 && gap < 2 {
                gap += 1;
            } else {
                run = 0;
                gap = 0;
            }
        }
        best >= min_run
    };
    let mut rules: Vec<u32> = Vec::new();
    let mut last_ruled = None;
    for y in 0..(h as f64 * BAND_SHARE) as u32 + h / 4 {
        if y >= h || !ruled(y) {
            continue;
        }
        // A rule is 1–5 rows thick: one position per rule.
        if last_ruled.is_none_or(|l| y > l + 4) {
            rules.push(y);
        }
        last_ruled = Some(y);
    }
    let far = (h as f64 * BODY_GAP) as u32;
    let mut gaps: Vec<u32> = Vec::new();
    for pair in rules.windows(2) {
        let gap = pair[1] - pair[0];
        if gaps.len() >= 2 {
            let mut sorted = gaps.clone();
            sorted.sort_unstable();
            let median = sorted[sorted.len() / 2];
            if gap > far && gap as f64 > 2.2 * median as f64 {
                return Some(pair[0] + h / 60);
            }
        }
        gaps.push(gap);
    }
    None
}

/// Typical height (px) of the text lines of `img` (rules removed): the median height
/// of the runs of rows holding ink (columns when the lines run `vertical`ly); None
/// when there are too few lines to say.
fn line_height(img: &GrayImage, vertical: bool) -> Option<f64> {
    let (w, h) = img.dimensions();
    let (along, across) = if vertical { (h, w) } else { (w, h) };
    let ink_at = |a: u32, b: u32| {
        let (x, y) = if vertical { (b, a) } else { (a, b) };
        img.get_pixel(x, y).0[0] < 128
    };
    // A line of text darkens at least this many pixels of a row.
    let min_ink = (along / 150).max(3);
    let mut heights = Vec::new();
    let mut run = 0u32;
    for b in 0..=across {
        let inked = b < across
            && (0..along).step_by(2).filter(|&a| ink_at(a, b)).count() as u32 * 2 >= min_ink;
        if inked {
            run += 1;
        } else {
            if (6..200).contains(&run) {
                heights.push(run);
            }
            run = 0;
        }
    }
    if heights.len() < 5 {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() / 2] as f64)
}

/// Whether the page's text lines run top to bottom (a page turned by 90°). Chinese
/// print is a grid, so both profiles of a page have peaks; what tells the lines is the
/// white between them: rows between text lines are empty over several pixels, columns
/// between characters only over one or two, and not across paragraphs and cells.
fn lines_run_vertically(img: &GrayImage) -> bool {
    let (w, h) = img.dimensions();
    let k = (w.max(h) / 600).max(1);
    let (cols, rows) = ((w / k + 1) as usize, (h / k + 1) as usize);
    let (mut col, mut row) = (vec![0u32; cols], vec![0u32; rows]);
    for y in (0..h).step_by(k as usize) {
        for x in (0..w).step_by(k as usize) {
            if img.get_pixel(x, y).0[0] < 128 {
                col[(x / k) as usize] += 1;
                row[(y / k) as usize] += 1;
            }
        }
    }
    gaps(&col) > gaps(&row) * 1.3
}

/// Share of a profile, between its first and last ink, that lies in runs of at least
/// three empty positions (white between lines, not between characters).
fn gaps(profile: &[u32]) -> f64 {
    let (Some(first), Some(last)) = (
        profile.iter().position(|&v| v > 0),
        profile.iter().rposition(|&v| v > 0),
    ) else {
        return 0.0;
    };
    let inner = &profile[first..=last];
    let (mut white, mut run) = (0usize, 0usize);
    for &v in inner.iter().chain(std::iter::once(&u32::MAX)) {
        if v == 0 {
            run += 1;
        } else {
            if run >= 3 {
                white += run;
            }
            run = 0;
        }
    }
    white as f64 / inner.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_gives_lines_and_mean_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
            1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
            5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t96.0\t附件\n\
            5\t1\t1\t1\t1\t2\t0\t0\t9\t9\t94.0\t3\n\
            5\t1\t1\t1\t2\t1\t0\t0\t9\t9\t90.0\t申报\n\
            5\t1\t1\t1\t2\t2\t0\t0\t9\t9\t80.0\t单位\n\
            5\t1\t1\t1\t2\t3\t0\t0\t9\t9\t-1\t \n\
            5\t1\t1\t1\t2\t4\t0\t0\t9\t9\t60.0\ttsyz@126.com\n";
        let r = parse_tsv(tsv);
        assert_eq!(r.text, "附件3\n申报单位tsyz@126.com\n");
        assert_eq!(r.words, 5);
        assert!((r.confidence - 84.0).abs() < 1e-9, "{}", r.confidence);
        assert_eq!(parse_tsv("").words, 0);
    }

    #[test]
    fn text_lines_across_or_down() {
        let mut img = GrayImage::from_pixel(400, 600, image::Luma([255]));
        for line in 0..10u32 {
            for x in 40..360 {
                for dy in 0..8 {
                    // Characters: dark runs with gaps along the line.
                    if x % 12 < 9 {
                        img.put_pixel(x, 50 + line * 50 + dy, image::Luma([0]));
                    }
                }
            }
        }
        assert!(!lines_run_vertically(&img));
        assert!(lines_run_vertically(&image::imageops::rotate90(&img)));
        assert_eq!(line_height(&img, false), Some(8.0));
        assert_eq!(
            line_height(&image::imageops::rotate90(&img), true),
            Some(8.0)
        );
    }

    /// A form's table of names (six rows of 78 px) above its body box: the band ends
    /// just below the last row; a page without such a table has no end.
    #[test]
    fn band_ends_below_the_table_of_names() {
        let mut img = GrayImage::from_pixel(1240, 1754, image::Luma([255]));
        let mut rule = |y: u32| {
            for x in 100..1140 {
                for t in 0..2 {
                    img.put_pixel(x, y + t, image::Luma([0]));
                }
            }
        };
        for y in (280..=748).step_by(78) {
            rule(y);
        }
        rule(1424);
        let end = rows_end(&img).unwrap();
        assert!((748..780).contains(&end), "{end}");
        let blank = GrayImage::from_pixel(1240, 1754, image::Luma([255]));
        assert_eq!(rows_end(&blank), None);
    }

    /// Chinese print is a grid: characters line up in columns as well as in rows, but
    /// the white between columns is thin.
    #[test]
    fn a_grid_of_characters_still_reads_across() {
        let mut img = GrayImage::from_pixel(600, 600, image::Luma([255]));
        for line in 0..15u32 {
            for ch in 0..20u32 {
                for dy in 0..24 {
                    for dx in 0..26 {
                        if (dx + dy) % 3 == 0 {
                            img.put_pixel(20 + ch * 28 + dx, 20 + line * 38 + dy, image::Luma([0]));
                        }
                    }
                }
            }
        }
        assert!(!lines_run_vertically(&img));
        assert!(lines_run_vertically(&image::imageops::rotate270(&img)));
    }
}
