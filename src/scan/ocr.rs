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

mod bands;
mod clean_page;

pub use bands::read_bands;
pub use clean_page::{deskew, flatten, prepare, red_scaled, remove_rules, skew_degrees};

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

impl PageText {
    /// The best reading found, or an empty upright one, with the runs all the
    /// readings took (a page without text still cost its Tesseract runs).
    pub(crate) fn best_of(best: Option<PageText>, runs: usize) -> PageText {
        let mut best = best.unwrap_or(PageText {
            text: String::new(),
            rotation: 0,
            vocabulary_hits: 0,
            runs,
        });
        best.runs = runs;
        best
    }
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
    Ok(PageText::best_of(best, runs))
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
