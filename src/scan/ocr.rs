//! OCR of a scan page with the Tesseract command-line tool: on the red channel (a red
//! seal turns white and stops hiding the text under it), background-flattened, in the
//! orientation whose text reads most like one of the call's forms (its titles and its
//! `ocr_vocabulary`, [`crate::call`]).

use super::{fuzzy, proc};
use crate::call::{current, Call};
use crate::model::FormKey;
use image::{GrayImage, ImageFormat, RgbImage};
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

mod clean_page;

pub use clean_page::{deskew, prepare, remove_rules, skew_degrees};

/// Tesseract takes 2–3 s a page; a minute means it is stuck.
const OCR_TIMEOUT: Duration = Duration::from_secs(60);

/// One page's OCR result.
#[derive(Debug, Clone, PartialEq)]
pub struct PageText {
    pub text: String,
    /// Clockwise rotation (0, 90, 180, 270) applied before the text read best.
    pub rotation: u32,
    /// Form vocabulary words found.
    pub vocabulary_hits: usize,
    /// Tesseract runs this page took.
    pub runs: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("OCR 失败 tesseract failed: {0}")]
    Tool(#[from] proc::ProcError),
    #[error("OCR 输入图像编码失败 cannot encode page for tesseract: {0}")]
    Encode(String),
}

/// Reads the text of `page`, trying orientations until one reads like a form.
pub fn read_page(tesseract: &Path, page: &RgbImage) -> Result<PageText, OcrError> {
    if page.width() < 8 || page.height() < 8 {
        // Nothing to read on a thumbnail; also keeps the cell arithmetic below safe.
        return Ok(PageText {
            text: String::new(),
            rotation: 0,
            vocabulary_hits: 0,
            runs: 0,
        });
    }
    let base = prepare(page);
    let mut order: Vec<u32> = vec![0];
    let mut best: Option<PageText> = None;
    let mut runs = 0;
    let mut osd_tried = false;
    let mut i = 0;
    while i < order.len() {
        let rotation = order[i];
        i += 1;
        let turned = rotate(&base, rotation);
        let mut level = deskew(&turned);
        remove_rules(&mut level);
        let text = recognise(tesseract, &level)?;
        runs += 1;
        let hits = vocabulary_hits(&text);
        let good = reads_like_form(&text, hits);
        if best.as_ref().is_none_or(|b| hits > b.vocabulary_hits) {
            best = Some(PageText {
                text,
                rotation,
                vocabulary_hits: hits,
                runs,
            });
        }
        if good {
            break;
        }
        if !osd_tried {
            osd_tried = true;
            // Orientation detection first (needs osd.traineddata); its answer is
            // checked like any other guess, then the remaining turns are tried.
            if let Some(r) = orientation(tesseract, &base) {
                for cand in [r, (360 - r) % 360] {
                    if !order.contains(&cand) {
                        order.push(cand);
                    }
                }
            }
            for cand in [90, 270, 180] {
                if !order.contains(&cand) {
                    order.push(cand);
                }
            }
        }
    }
    let mut best = best.unwrap_or(PageText {
        text: String::new(),
        rotation: 0,
        vocabulary_hits: 0,
        runs,
    });
    best.runs = runs;
    Ok(best)
}

/// Width pages are read at in [`read_bands`]: A4 at ~150 dpi, where the forms' 16 pt
/// body text is ~30 px high — plenty for Tesseract, and a 600 dpi scan costs no more
/// than a 150 dpi one.
const BAND_WIDTH: u32 = 1240;
/// Share of the upright page read by [`read_bands`]: the attachment number, the title
/// and the table rows holding unit, person and phone (a red letterhead pushes them
/// down by a tenth of the page).
const BAND_SHARE: f64 = 0.6;

/// Reads only what matching needs: the top band of the page (title, unit and name
/// rows) at [`BAND_WIDTH`], trying the orientations in the order a cheap text-line
/// direction test suggests, `hint` (the previous page's turn) first.
pub fn read_bands(
    tesseract: &Path,
    page: &RgbImage,
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
    let mut base = prepare(&scaled(page));
    // Table rules first: a form's vertical rules would look like text columns.
    remove_rules(&mut base);
    let mut order: Vec<u32> = hint.into_iter().collect();
    let upright = if lines_run_vertically(&base) {
        [90, 270, 0, 180]
    } else {
        [0, 180, 90, 270]
    };
    for r in upright {
        if !order.contains(&r) {
            order.push(r);
        }
    }
    let mut best: Option<PageText> = None;
    let mut runs = 0;
    for (i, &rotation) in order.iter().enumerate() {
        let turned = rotate(&base, rotation);
        let band_h = ((turned.height() as f64 * BAND_SHARE) as u32).max(8);
        let band = image::imageops::crop_imm(&turned, 0, 0, turned.width(), band_h).to_image();
        let level = deskew(&band);
        let text = recognise(tesseract, &level)?;
        runs += 1;
        let hits = vocabulary_hits(&text);
        let good = reads_like_form(&text, hits) || (hint == Some(rotation) && i == 0 && hits >= 1);
        if best.as_ref().is_none_or(|b| hits > b.vocabulary_hits) {
            best = Some(PageText {
                text,
                rotation,
                vocabulary_hits: hits,
                runs,
            });
        }
        if good {
            break;
        }
    }
    let mut best = best.unwrap_or(PageText {
        text: String::new(),
        rotation: 0,
        vocabulary_hits: 0,
        runs,
    });
    best.runs = runs;
    Ok(best)
}

/// `page` scaled to [`BAND_WIDTH`] across its shorter side (only ever down).
fn scaled(page: &RgbImage) -> RgbImage {
    let (w, h) = page.dimensions();
    let short = w.min(h);
    if short <= BAND_WIDTH {
        return page.clone();
    }
    let k = BAND_WIDTH as f64 / short as f64;
    image::imageops::resize(
        page,
        ((w as f64 * k).round() as u32).max(1),
        ((h as f64 * k).round() as u32).max(1),
        image::imageops::FilterType::Triangle,
    )
}

/// Whether the page's text lines run top to bottom (a page turned by 90°): dark pixels
/// line up in columns more sharply than in rows.
fn lines_run_vertically(img: &GrayImage) -> bool {
    let (w, h) = img.dimensions();
    let k = (w.max(h) / 400).max(1);
    let (cols, rows) = ((w / k + 1) as usize, (h / k + 1) as usize);
    let (mut col, mut row) = (vec![0f64; cols], vec![0f64; rows]);
    for y in (0..h).step_by(k as usize) {
        for x in (0..w).step_by(k as usize) {
            if img.get_pixel(x, y).0[0] < 128 {
                col[(x / k) as usize] += 1.0;
                row[(y / k) as usize] += 1.0;
            }
        }
    }
    // Sharpness of a profile: its variance relative to its mean (text lines give
    // tall peaks with white gaps between them across the lines, a flat profile along).
    let sharp = |v: &[f64]| {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        if mean <= 0.0 {
            return 0.0;
        }
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n / (mean * mean)
    };
    sharp(&col) > sharp(&row) * 1.15
}

/// Enough form words (or the form's title) that no other orientation needs trying.
fn reads_like_form(text: &str, hits: usize) -> bool {
    identify_form(current(), text).is_some() || hits >= 4
}

/// Which form an OCR text shows: the forms stage's title rule on the text with OCR's
/// bracket look-alikes fixed, else the title found with at most one wrong character in
/// five (OCR drops or misreads title characters too).
pub fn identify_form(call: &Call, text: &str) -> Option<FormKey> {
    let fixed: String = text
        .chars()
        .map(|c| match c {
            '(' | '〈' | '<' | '《' | '[' | '{' | '［' => '（',
            ')' | '〉' | '>' | '》' | ']' | '}' | '］' => '）',
            c => c,
        })
        .collect();
    if let Some(f) = crate::forms::identify_form(call, &fixed) {
        return Some(f);
    }
    let hay = fuzzy::compact(&fixed);
    let by_title = call
        .forms
        .iter()
        .map(|f| {
            let t = fuzzy::compact(&f.title);
            (
                f.key,
                fuzzy::approx_find(&t, &hay) as f64 / t.len().max(1) as f64,
            )
        })
        .filter(|(_, err)| *err <= 0.25)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f);
    by_title.or_else(|| by_keyword(call, &hay))
}

/// A title cut short by OCR ("…试点县〈") still names its form when exactly one form's
/// `ocr_keyword` (a word only its title has) is in the text.
fn by_keyword(call: &Call, hay: &[char]) -> Option<FormKey> {
    let hay: String = hay.iter().collect();
    let mut found = call.forms.iter().filter(|f| {
        f.ocr_keyword
            .as_deref()
            .is_some_and(|k| hay.contains(fuzzy::compact(k).iter().collect::<String>().as_str()))
    });
    let first = found.next().map(|f| f.key);
    found.next().is_none().then_some(first).flatten()
}

/// Counts the call's form words (`ocr_vocabulary`: titles and field labels) present in
/// `text` (whitespace removed: OCR splits words). How many tells a right-way-up page
/// from a sideways one.
pub fn vocabulary_hits(text: &str) -> usize {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    current()
        .ocr_vocabulary
        .iter()
        .filter(|w| t.contains(w.as_str()))
        .count()
}

fn rotate(img: &GrayImage, degrees: u32) -> GrayImage {
    match degrees {
        90 => image::imageops::rotate90(img),
        180 => image::imageops::rotate180(img),
        270 => image::imageops::rotate270(img),
        _ => img.clone(),
    }
}

fn png(img: &GrayImage) -> Result<Vec<u8>, OcrError> {
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, ImageFormat::Png)
        .map_err(|e| OcrError::Encode(e.to_string()))?;
    Ok(buf.into_inner())
}

/// One Tesseract run: simplified Chinese, automatic page segmentation (mode 3 keeps
/// table cells that mode 6 drops).
fn recognise(tesseract: &Path, img: &GrayImage) -> Result<String, OcrError> {
    let input = png(img)?;
    let args = ["stdin", "stdout", "-l", "chi_sim", "--psm", "3"];
    let out = proc::run(tesseract, &args, &input, OCR_TIMEOUT)?;
    Ok(tidy(&String::from_utf8_lossy(&out.stdout)))
}

/// Tesseract's orientation guess, as the clockwise turn that makes the page upright;
/// None when OSD data is missing or unsure.
fn orientation(tesseract: &Path, img: &GrayImage) -> Option<u32> {
    let input = png(img).ok()?;
    let args = ["stdin", "stdout", "--psm", "0"];
    let out = proc::run(tesseract, &args, &input, OCR_TIMEOUT).ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let rotate: u32 = field("Rotate:")?.parse().ok()?;
    let confidence: f64 = field("Orientation confidence:")?.parse().ok()?;
    (confidence >= 1.0 && rotate.is_multiple_of(90)).then_some(rotate % 360)
}

/// Removes the spaces Tesseract puts between Chinese characters; keeps line breaks and
/// spaces between Latin words and digits.
pub fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        let chars: Vec<char> = line.trim().chars().collect();
        if chars.is_empty() {
            continue;
        }
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let prev = out.chars().last();
                let next = chars.get(i + 1).copied();
                let wide = |c: Option<char>| c.is_some_and(|c| !c.is_ascii());
                if wide(prev) || wide(next) || prev == Some(' ') {
                    continue;
                }
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
