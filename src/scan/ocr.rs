//! OCR of a scan page with the Tesseract command-line tool: on the red channel (a red
//! seal turns white and stops hiding the text under it), background-flattened, in the
//! orientation whose text reads most like one of the four forms.

use super::proc;
use image::{GrayImage, ImageFormat, Luma, RgbImage};
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

/// Tesseract takes 2–3 s a page; a minute means it is stuck.
const OCR_TIMEOUT: Duration = Duration::from_secs(60);

/// Words printed on the four forms: titles and field labels. How many of them an OCR
/// text contains tells a right-way-up page from a sideways one.
const VOCABULARY: &[&str] = &[
    "推荐表",
    "申报表",
    "科普资源",
    "专家服务团",
    "试点学校",
    "试点县",
    "申报单位",
    "联系人",
    "联系电话",
    "电话",
    "电子邮箱",
    "邮箱",
    "通讯地址",
    "姓名",
    "性别",
    "出生年月",
    "工作单位",
    "移动电话",
    "研究专业",
    "基本情况",
    "盖章",
    "年月日",
    "科技教育",
    "青少年",
    "申报学校",
    "教育局",
];

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
    let base = prepare(page);
    let mut order: Vec<u32> = vec![0];
    let mut best: Option<PageText> = None;
    let mut runs = 0;
    let mut osd_tried = false;
    let mut i = 0;
    while i < order.len() {
        let rotation = order[i];
        i += 1;
        let text = recognise(tesseract, &rotate(&base, rotation))?;
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

/// Enough form words (or the form's title) that no other orientation needs trying.
fn reads_like_form(text: &str, hits: usize) -> bool {
    crate::forms::identify_form(text).is_some() || hits >= 4
}

/// Counts the form words present in `text` (whitespace removed: OCR splits words).
pub fn vocabulary_hits(text: &str) -> usize {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    VOCABULARY.iter().filter(|w| t.contains(*w)).count()
}

/// Red channel with the background flattened: uneven light in a phone photo becomes
/// even white, and the red seal becomes paper.
pub fn prepare(page: &RgbImage) -> GrayImage {
    let (w, h) = page.dimensions();
    let red = GrayImage::from_fn(w, h, |x, y| Luma([page.get_pixel(x, y).0[0]]));
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
    (confidence >= 1.0 && rotate % 90 == 0).then_some(rotate % 360)
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
mod tests {
    use super::*;

    #[test]
    fn tidy_joins_chinese_keeps_latin() {
        assert_eq!(
            tidy("科 普 资 源 申 报 推 荐 表\n\n电 子 邮 箱 tsyz@126.com  ok\n"),
            "科普资源申报推荐表\n电子邮箱tsyz@126.com ok\n"
        );
    }

    #[test]
    fn vocabulary_counts_form_words() {
        assert_eq!(vocabulary_hits("申报 单位 名称\n联系 电话 138"), 3); // 申报单位, 联系电话, 电话
        assert_eq!(vocabulary_hits("湖光山色"), 0);
    }

    #[test]
    fn prepare_whitens_red_and_keeps_black() {
        let mut page = RgbImage::from_pixel(64, 64, image::Rgb([200, 190, 170]));
        page.put_pixel(10, 10, image::Rgb([200, 40, 40])); // seal ink
        page.put_pixel(20, 20, image::Rgb([20, 20, 20])); // text
        let g = prepare(&page);
        assert_eq!(g.get_pixel(10, 10).0[0], 255);
        assert_eq!(g.get_pixel(5, 5).0[0], 255);
        assert!(g.get_pixel(20, 20).0[0] < 40);
    }
}
