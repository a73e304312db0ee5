//! Scan stage: recognise scanned stamped copies (images, image-only PDFs), find the red
//! seal, OCR the text, and score scan ↔ electronic matches.
//!
//! [`analyze`] is pure apart from running the Tesseract / pdftoppm tools named in
//! [`ScanOptions`]; it never fails: what went wrong is a named problem on the result.

pub mod fuzzy;
pub mod matching;
pub mod ocr;
mod pages;
mod pdf;
mod proc;
pub mod seal;

use crate::model::FormKind;
use std::path::{Path, PathBuf};

pub use pages::{MAX_PAGES, MAX_SIDE};

/// What was learnt from one scan document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanInfo {
    /// true = seal found, false = colour scan without a seal, None = no colour (fax,
    /// grayscale) or unreadable: unknown.
    pub stamped: Option<bool>,
    /// Best seal candidate's score (0–1), kept for review.
    pub seal_score: f64,
    pub pages: usize,
    /// OCR text, when Tesseract is installed.
    pub ocr_text: Option<String>,
    pub form: Option<FormKind>,
    pub problems: Vec<String>,
    /// 1-based page numbers on which a seal was found.
    pub stamped_pages: Vec<usize>,
    /// Clockwise turn (0/90/180/270) that made each OCR'd page upright.
    pub rotations: Vec<u32>,
    /// The three-answer seal verdict `stamped` is derived from (uncertain and no colour
    /// are both `None` there; the problem [`SEAL_UNCERTAIN`] tells them apart).
    pub seal: seal::SealVerdict,
}

/// Problem: Tesseract is not installed, so the scan was not read (form unknown).
pub const OCR_UNAVAILABLE: &str = "ocr_unavailable";
/// Problem: Tesseract ran and failed (the message follows the colon).
pub const OCR_FAILED: &str = "ocr_failed";
/// Problem: no page image could be taken out of the file.
pub const SCAN_UNREADABLE: &str = "scan_unreadable";
/// Problem: more pages than [`MAX_PAGES`]; the rest were not looked at.
pub const TOO_MANY_PAGES: &str = "too_many_pages";
/// Problem for the operators' queue (never the applicant): red that may be a faint or
/// partial seal; a clerk looks at the page.
pub const SEAL_UNCERTAIN: &str = "seal_uncertain";
/// Problem: the scan's file name names one applicant, its page another; the page wins.
pub const MISLABELLED_SCAN: &str = "mislabelled_scan";
/// Problem: the seal on the scan names another unit than the applicant.
pub const FOREIGN_SEAL: &str = "foreign_seal";

/// The scan stage's problem codes with what a clerk reads and what to do about it.
pub const PROBLEM_LABELS: &[(&str, &str, &str)] = &[
    (
        SEAL_UNCERTAIN,
        "公章无法自动确认",
        "请打开扫描件人工查看是否盖章；确认前不要通知申报单位补章",
    ),
    (
        MISLABELLED_SCAN,
        "扫描件文件名与内容不符",
        "已按扫描件内容归属；请核对文件名所写单位是否另有申报",
    ),
    (
        FOREIGN_SEAL,
        "公章为其他单位",
        "请核对公章单位与申报单位是否一致，不一致时请申报单位重新盖章",
    ),
];

/// Chinese label and hint of a scan problem code (the part before any `:`).
pub fn problem_label(code: &str) -> Option<(&'static str, &'static str)> {
    let code = code.split(':').next().unwrap_or(code);
    PROBLEM_LABELS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, l, h)| (*l, *h))
}

/// Which external tools the scan stage may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    pub tesseract: Option<PathBuf>,
    pub pdftoppm: Option<PathBuf>,
    /// Run OCR at all (false: seal detection only, e.g. in quick tests).
    pub ocr: bool,
}

impl ScanOptions {
    /// Finds the tools: the configured path when set, else `tesseract` / `pdftoppm`
    /// on PATH (pdftoppm inside `poppler_dir` when that is set). OCR is on when
    /// Tesseract is found.
    pub fn detect(tools: &crate::config::ToolsConfig) -> ScanOptions {
        let tesseract = if !tools.ocr {
            None
        } else if tools.tesseract.is_empty() {
            find_on_path("tesseract")
        } else {
            Some(PathBuf::from(&tools.tesseract)).filter(|p| p.is_file())
        };
        let pdftoppm = if tools.poppler_dir.is_empty() {
            find_on_path("pdftoppm")
        } else {
            Some(Path::new(&tools.poppler_dir).join("pdftoppm")).filter(|p| p.is_file())
        };
        ScanOptions {
            ocr: tesseract.is_some(),
            tesseract,
            pdftoppm,
        }
    }
}

/// The first executable file called `name` in the PATH directories.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// What of a page OCR reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OcrScope {
    /// Every page in full, with the rotation search (the pipeline's default: the
    /// golden scans' names are all read this way).
    #[default]
    WholePage,
    /// Only what matching needs: the title band and the unit / name rows, with the
    /// orientation from a cheap pass (see [`ocr::read_bands`]). Faster, but it still
    /// misses names on some golden scans (docs/benchmarks.md), so not the default.
    Bands,
}

/// Analyses one scan: pages, seal on any page, OCR text and the form it shows.
/// `format` is the sniffed format (jpg, png, tiff, bmp, gif, pdf).
pub fn analyze(format: &str, bytes: &[u8], opts: &ScanOptions) -> ScanInfo {
    analyze_set(&[(format, bytes)], opts)
}

/// Analyses several files that are one scan of one form (a form scanned as two JPGs
/// in one mail): their pages in order, as one document.
pub fn analyze_set(files: &[(&str, &[u8])], opts: &ScanOptions) -> ScanInfo {
    analyze_set_with(files, opts, OcrScope::default())
}

/// [`analyze_set`] with the OCR scope chosen (the bench compares both).
pub fn analyze_set_with(files: &[(&str, &[u8])], opts: &ScanOptions, scope: OcrScope) -> ScanInfo {
    let mut info = ScanInfo::default();
    let tesseract = opts.tesseract.as_deref().filter(|_| opts.ocr);
    let mut verdicts = Vec::new();
    let mut texts = Vec::new();
    let mut ocr_failed = false;
    'files: for (format, bytes) in files {
        let pages = match pages::load(format, bytes, opts) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(format, error = %e, "scan unreadable");
                info.problems.push(format!("{SCAN_UNREADABLE}:{e}"));
                continue;
            }
        };
        // One page at a time, dropped once read: a 20-page PDF is not held twice.
        for page in pages {
            if info.pages >= MAX_PAGES {
                info.problems.push(TOO_MANY_PAGES.to_string());
                break 'files;
            }
            info.pages += 1;
            // Seal: any stamped page stamps the document; otherwise a doubtful page
            // makes it doubtful, a colour page without a seal "unstamped"; all-grey
            // stays unknown.
            let r = seal::detect(&page.rgb, page.colour_channels);
            info.seal_score = info.seal_score.max(r.score);
            if r.verdict == seal::SealVerdict::Stamped {
                info.stamped_pages.push(info.pages);
            }
            verdicts.push(r.verdict);
            let Some(tool) = tesseract.filter(|_| !ocr_failed) else {
                continue;
            };
            // Bands: once the form is known from an earlier page (its title and name
            // rows are on page 1), later pages need no reading.
            if scope == OcrScope::Bands && ocr::identify_form(&texts.join("\n")).is_some() {
                continue;
            }
            let read = match scope {
                OcrScope::WholePage => ocr::read_page(tool, &page.rgb),
                OcrScope::Bands => ocr::read_bands(tool, &page.rgb, info.rotations.last().copied()),
            };
            match read {
                Ok(t) => {
                    info.rotations.push(t.rotation);
                    texts.push(t.text);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "OCR failed");
                    info.problems.push(format!("{OCR_FAILED}:{e}"));
                    ocr_failed = true;
                }
            }
        }
    }
    if info.pages == MAX_PAGES
        && files.len() == 1
        && !info.problems.iter().any(|p| p == TOO_MANY_PAGES)
    {
        // The PDF reader stops at MAX_PAGES itself: a full count means pages were left.
        info.problems.push(TOO_MANY_PAGES.to_string());
    }
    info.seal = seal::SealVerdict::combine(verdicts);
    info.stamped = info.seal.stamped();
    if info.seal == seal::SealVerdict::Uncertain {
        info.problems.push(SEAL_UNCERTAIN.to_string());
    }
    if tesseract.is_none() && info.pages > 0 {
        info.problems.push(OCR_UNAVAILABLE.to_string());
    }
    if !texts.is_empty() {
        let text = texts.join("\u{c}\n");
        info.form = ocr::identify_form(&text);
        info.ocr_text = Some(text);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ToolsConfig;

    #[test]
    fn configured_paths_that_do_not_exist_turn_tools_off() {
        let tools = ToolsConfig {
            tesseract: "/nonexistent/tesseract".into(),
            poppler_dir: "/nonexistent".into(),
            ..ToolsConfig::default()
        };
        let opts = ScanOptions::detect(&tools);
        assert_eq!(opts, ScanOptions::default());
    }

    #[test]
    fn tiny_image_has_a_page_but_no_seal_verdict() {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([250, 240, 230]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let info = analyze("png", png.get_ref(), &ScanOptions::default());
        assert_eq!(info.pages, 1);
        assert_eq!(info.stamped, None);
        assert_eq!(info.problems, vec![OCR_UNAVAILABLE.to_string()]);
    }
}
