//! What a scanned page looks like, apart from what it says: its size as sent, its
//! resolution and its paper colour, and how alike two pages are by it. Pages scanned or
//! photographed one after another in one session share all three; a page of another
//! form, scanned elsewhere, usually differs in at least one. The page is measured by
//! `scan::look`; grouping (`scan::group`) compares.

use serde::{Deserialize, Serialize};

/// The look of a scan's first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageLook {
    /// Pixels as sent (before the analysis scaled the page down).
    pub width: u32,
    pub height: u32,
    /// Dots per inch the file declares (JPEG's JFIF header), when it declares any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
    /// The paper's colour: the average of the page's brighter half (text, lines and
    /// seals are a small dark part of a form page).
    pub paper: [u8; 3],
}

/// How alike two pages look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// One scanning session: the same shape, size, resolution and paper.
    Alike,
    /// Neither: close, but past what one scanner or camera varies by (a phone's light
    /// changing between two photos).
    Unsure,
    /// Clearly not one session: other paper shape, a size or resolution half again
    /// as large, paper of another colour.
    Different,
}

/// Limits of [`Likeness::Alike`] and, wider, of [`Likeness::Unsure`]: aspect ratio
/// (long side / short side: A4 1.414, letter 1.294; a skewed scan changes it by ~1%),
/// long side and declared resolution (as factors), paper colour (any channel; one
/// scanner's white varies by a few levels between pages, a phone's with the light).
struct Limits {
    aspect: f64,
    size: f64,
    dpi: f64,
    paper: u8,
}

const ALIKE: Limits = Limits {
    aspect: 0.04,
    size: 1.15,
    dpi: 1.1,
    paper: 24,
};

const UNSURE: Limits = Limits {
    aspect: 0.10,
    size: 1.5,
    dpi: 1.5,
    paper: 60,
};

impl PageLook {
    /// How alike `self` and `other` look as pages of one scanning session.
    pub fn compare(&self, other: &PageLook) -> Likeness {
        if self.within(other, &ALIKE) {
            Likeness::Alike
        } else if self.within(other, &UNSURE) {
            Likeness::Unsure
        } else {
            Likeness::Different
        }
    }

    fn within(&self, other: &PageLook, l: &Limits) -> bool {
        let ratio = |a: f64, b: f64| a.max(b) / a.min(b).max(1.0);
        let aspect = |p: &PageLook| {
            let (a, b) = (p.width.max(p.height) as f64, p.width.min(p.height) as f64);
            a / b.max(1.0)
        };
        let long = |p: &PageLook| p.width.max(p.height) as f64;
        let dpi_ok = match (self.dpi, other.dpi) {
            (Some(a), Some(b)) => ratio(a as f64, b as f64) <= l.dpi,
            _ => true,
        };
        let paper_ok = self
            .paper
            .iter()
            .zip(other.paper)
            .all(|(a, b)| a.abs_diff(b) <= l.paper);
        (aspect(self) - aspect(other)).abs() <= l.aspect
            && ratio(long(self), long(other)) <= l.size
            && dpi_ok
            && paper_ok
    }
}
