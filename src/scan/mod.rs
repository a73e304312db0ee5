//! Scan stage: recognise scanned stamped copies (images, image-only PDFs), find the red
//! seal, OCR the text, and score scan ↔ electronic matches.
//!
//! [`analyze`] is pure apart from running the Tesseract / pdftoppm tools named in
//! [`ScanOptions`]; it never fails: what went wrong is a named problem on the result.

pub mod fuzzy;
pub mod group;
mod jpeg;
pub mod look;
pub mod matching;
pub mod ocr;
mod pages;
mod pdf;
pub mod preview;
mod proc;
pub mod recorded;
pub mod seal;
pub mod unit;

use crate::domain::ProblemKind;
use crate::model::FormKey;
use std::path::{Path, PathBuf};

pub use pages::{load as load_pages, Page};
pub use pages::{PageError, MAX_PAGES, MAX_SIDE};
pub use pdf::{MAX_PAGE_POINTS, RENDER_SIDE};

/// What was learnt from one scan document. Its JSON (without the per-page details)
/// is what `ocr_cache` keeps.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScanInfo {
    /// true = seal found, false = colour scan without a seal, None = no colour (fax,
    /// grayscale) or unreadable: unknown.
    pub stamped: Option<bool>,
    /// Best seal candidate's score (0–1), kept for review.
    pub seal_score: f64,
    pub pages: usize,
    /// OCR text, when Tesseract is installed.
    pub ocr_text: Option<String>,
    pub form: Option<FormKey>,
    pub problems: Vec<String>,
    /// The seal's ring text as OCR read it (the unit name along the ring), when OCR ran
    /// on a stamped page; compare with [`seal::ring_text::compare`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_text: Option<String>,
    /// What the first page looks like (size, resolution, paper), for grouping pages
    /// sent as separate files ([`group`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<look::PageLook>,
    /// 1-based page numbers on which a seal was found.
    #[serde(skip)]
    pub stamped_pages: Vec<usize>,
    /// Clockwise turn (0/90/180/270) that made each OCR'd page upright.
    #[serde(skip)]
    pub rotations: Vec<u32>,
    /// The three-answer seal verdict `stamped` is derived from (uncertain and no colour
    /// are both `None` there; the problem [`SEAL_UNCERTAIN`] tells them apart). Not
    /// cached: [`ScanInfo::from_cache`] rebuilds it from those two.
    #[serde(skip)]
    pub seal: seal::SealVerdict,
}

impl ScanInfo {
    /// The `ocr_cache` text of this analysis.
    pub fn to_cache(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An analysis read back from `ocr_cache`; None for text this build cannot read
    /// (analysed again). The form is identified again from the cached OCR text: the
    /// call may have changed since. The seal verdict is rebuilt from `stamped` and the
    /// [`SEAL_UNCERTAIN`] problem.
    pub fn from_cache(s: &str) -> Option<ScanInfo> {
        let mut info: ScanInfo = serde_json::from_str(s).ok()?;
        if let Some(text) = info.ocr_text.as_deref() {
            info.form = ocr::identify_form(crate::call::current(), text);
        }
        info.seal = match info.stamped {
            Some(true) => seal::SealVerdict::Stamped,
            Some(false) => seal::SealVerdict::Unstamped,
            None if info.problems.iter().any(|p| p == SEAL_UNCERTAIN) => {
                seal::SealVerdict::Uncertain
            }
            None => seal::SealVerdict::NoColour,
        };
        Some(info)
    }
}

/// Problem: Tesseract is not installed, so the scan was not read (form unknown).
pub const OCR_UNAVAILABLE: &str = ProblemKind::OcrUnavailable.as_str();
/// Problem: Tesseract ran and failed (the message follows the colon).
pub const OCR_FAILED: &str = ProblemKind::OcrFailed.as_str();
/// Problem: no page image could be taken out of the file.
pub const SCAN_UNREADABLE: &str = ProblemKind::ScanUnreadable.as_str();
/// Problem: more pages than [`MAX_PAGES`]; the rest were not looked at.
pub const TOO_MANY_PAGES: &str = ProblemKind::TooManyPages.as_str();
/// Problem for the operators' queue (never the applicant): red that may be a faint or
/// partial seal; a clerk looks at the page.
pub const SEAL_UNCERTAIN: &str = ProblemKind::SealUncertain.as_str();
/// Problem: the scan's file name names one applicant, its page another; the page wins.
pub const MISLABELLED_SCAN: &str = ProblemKind::MislabelledScan.as_str();
/// Problem: the seal on the scan names another unit than the applicant.
pub const FOREIGN_SEAL: &str = ProblemKind::ForeignSeal.as_str();

/// The version of what [`analyze`] answers. `ocr_cache` rows are keyed by it (and by
/// the program version), so a cached answer is only ever served to the code that
/// produced it: bump it with any change to seal detection, page handling, OCR or
/// form identification from OCR text, and `reprocess --all` analyses every scan again.
pub const ANALYSIS_VERSION: u32 = 5;

/// The `ocr_cache` key of a scan: its content, whether OCR ran, and the versions of
/// the code that analysed it.
pub fn cache_key(sha256: &str, ocr: bool) -> String {
    format!(
        "{sha256}:ocr={ocr}:v{}:a{ANALYSIS_VERSION}",
        env!("CARGO_PKG_VERSION")
    )
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
    /// Every page in full, Tesseract's automatic layout, with the rotation search.
    WholePage,
    /// Only what matching needs (the pipeline's default): the top band of the page
    /// (title, unit and name rows) at ~150 dpi as one uniform block, the orientation
    /// from a cheap text-line test and the reading's confidence, later pages skipped
    /// once the form is known (see [`ocr::read_bands`]).
    #[default]
    Bands,
}

impl OcrScope {
    /// The scope that is not this one (the bench runs both on the same scans).
    pub fn other(self) -> OcrScope {
        match self {
            OcrScope::WholePage => OcrScope::Bands,
            OcrScope::Bands => OcrScope::WholePage,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OcrScope::WholePage => "whole-page",
            OcrScope::Bands => "band",
        }
    }
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
    let mut over_cap = false;
    'files: for (format, bytes) in files {
        let pages = match pages::load(format, bytes, opts) {
            Ok(p) => p,
            Err(pages::PageError::PageTooLarge {
                page,
                width,
                height,
            }) => {
                tracing::warn!(format, page, width, height, "scan page too large to render");
                info.problems.push(format!(
                    "{}:{page}:{width}x{height}pt",
                    crate::domain::ProblemKind::PageTooLarge.as_str()
                ));
                continue;
            }
            Err(e) => {
                tracing::warn!(format, error = %e, "scan unreadable");
                info.problems.push(format!("{SCAN_UNREADABLE}:{e}"));
                continue;
            }
        };
        // Over the cap: the first MAX_PAGES were analysed, the rest not. The count is
        // exact when the PDF can be read; otherwise a full set of pages may mean more.
        let total = match format.eq_ignore_ascii_case("pdf") {
            true => pdf::page_count(bytes),
            false => Some(pages.len()),
        };
        over_cap |= total.map_or(pages.len() >= MAX_PAGES, |n| n > MAX_PAGES);
        // One page at a time, dropped once read: a 20-page PDF is not held twice.
        for page in pages {
            if info.pages >= MAX_PAGES {
                over_cap = true;
                break 'files;
            }
            info.pages += 1;
            if info.look.is_none() {
                let dpi = matches!(format.to_ascii_lowercase().as_str(), "jpg" | "jpeg")
                    .then(|| look::jpeg_dpi(bytes))
                    .flatten();
                info.look = Some(look::PageLook::measure(&page.rgb, page.source, dpi));
            }
            // Seal: any stamped page stamps the document; otherwise a doubtful page
            // makes it doubtful, a colour page without a seal "unstamped"; all-grey
            // stays unknown.
            let r = seal::detect(&page.rgb, page.colour_channels);
            info.seal_score = info.seal_score.max(r.score);
            if r.verdict == seal::SealVerdict::Stamped {
                info.stamped_pages.push(info.pages);
            }
            if let (Some(tool), Some(ring), None) = (tesseract, r.ring, &info.seal_text) {
                match seal::ring_text::read(tool, &page.rgb, &ring) {
                    Ok(t) => info.seal_text = Some(t),
                    Err(e) => tracing::warn!(error = %e, "seal ring OCR failed"),
                }
            }
            verdicts.push(r.verdict);
            let Some(tool) = tesseract.filter(|_| !ocr_failed) else {
                continue;
            };
            // Bands: once the form is known from an earlier page (its title and name
            // rows are on page 1), later pages need no reading.
            if scope == OcrScope::Bands
                && ocr::identify_form(crate::call::current(), &texts.join("\n")).is_some()
            {
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
    if over_cap {
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
        info.form = ocr::identify_form(crate::call::current(), &text);
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

    /// A 21-page scan: the first 20 pages analysed, the problem says there were more.
    #[test]
    fn pages_over_the_cap_are_a_named_problem() {
        let opts = ScanOptions {
            ocr: false,
            ..ScanOptions::detect(&ToolsConfig::default())
        };
        if opts.pdftoppm.is_none() {
            eprintln!("pdftoppm not installed: skipped");
            return;
        }
        let over = vector_pdf(MAX_PAGES + 1);
        assert_eq!(pdf::page_count(&over), Some(MAX_PAGES + 1));
        assert_eq!(pdf::page_count(&vector_pdf(MAX_PAGES)), Some(MAX_PAGES));
        let info = analyze("pdf", &over, &opts);
        assert_eq!(info.pages, MAX_PAGES, "{:?}", info.problems);
        assert!(
            info.problems.contains(&TOO_MANY_PAGES.to_string()),
            "{:?}",
            info.problems
        );
    }

    /// `n` small A-series pages with a line each (vector content: rendered by poppler).
    fn vector_pdf(n: usize) -> Vec<u8> {
        use lopdf::{dictionary, Document, Object, Stream};
        let mut doc = Document::with_version("1.4");
        let pages_id = doc.new_object_id();
        let kids: Vec<Object> = (0..n)
            .map(|_| {
                let content = doc.add_object(Stream::new(
                    dictionary! {},
                    b"0 0 0 RG 2 w 10 10 m 90 130 l S".to_vec(),
                ));
                doc.add_object(dictionary! {
                    "Type" => "Page",
                    "Parent" => pages_id,
                    "MediaBox" => vec![0.into(), 0.into(), 105.into(), 148.into()],
                    "Contents" => content,
                })
                .into()
            })
            .collect();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => n as i64,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    /// The verdict is not stored in `ocr_cache`; reading it back rebuilds all four.
    #[test]
    fn cached_analysis_gets_its_seal_verdict_back() {
        use seal::SealVerdict::*;
        for (stamped, problems, want) in [
            (Some(true), vec![], Stamped),
            (Some(false), vec![], Unstamped),
            (None, vec![SEAL_UNCERTAIN.to_string()], Uncertain),
            (None, vec![], NoColour),
        ] {
            let info = ScanInfo {
                stamped,
                problems,
                seal: want,
                ..ScanInfo::default()
            };
            let back = ScanInfo::from_cache(&info.to_cache()).unwrap();
            assert_eq!(back.seal, want);
            assert_eq!(back, info);
        }
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
