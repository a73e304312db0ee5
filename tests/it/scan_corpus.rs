//! Matching accuracy through the real pipeline: fixtures/match (made by
//! fixtures/gen/make_scans.py) is a mailbox in which electronic forms and their scans
//! arrive in different mails — days later, from another address, under a file name that
//! names the wrong school, grayscale, upside down, and one scan with no electronic
//! form at all. It is imported into a fresh data dir, and each scan's `scan_of` in
//! `dump --json` is held against `expected.json`; the tally (right / wrong / left for
//! review) is printed, with OCR on and with OCR off.

use super::support::intake::Intake;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/match")
}

fn expected() -> Vec<(String, Option<String>)> {
    let v: Value = serde_json::from_slice(&std::fs::read(corpus().join("expected.json")).unwrap())
        .expect("expected.json is JSON");
    v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["scan"].as_str().unwrap().to_string(),
                p["electronic"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// One scan's outcome against the expected pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Matched to its electronic form, or left alone when it has none.
    Right,
    /// Matched to another form (or to one when it has none).
    Wrong,
    /// Left unmatched although its form is there: an operator must pair it.
    Review,
}

struct Run {
    outcomes: Vec<(String, Outcome, String)>,
    secs: f64,
    /// The dump's documents by name.
    docs: Vec<Value>,
}

impl Run {
    fn count(&self, o: Outcome) -> usize {
        self.outcomes.iter().filter(|(_, x, _)| *x == o).count()
    }

    fn tally(&self) -> String {
        format!(
            "right {} / wrong {} / left for review {} of {} scans",
            self.count(Outcome::Right),
            self.count(Outcome::Wrong),
            self.count(Outcome::Review),
            self.outcomes.len()
        )
    }
}

fn doc<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no document named {name} in the dump"))
}

/// Imports the corpus into a fresh data dir (OCR off: Tesseract configured to a path
/// that does not exist) and scores every expected pair.
fn run(ocr: bool) -> Run {
    let it = Intake::new(None);
    if !ocr {
        let mut toml = std::fs::read_to_string(&it.config).unwrap();
        toml.push_str("\n[tools]\ntesseract = \"/nonexistent/tesseract\"\n");
        std::fs::write(&it.config, toml).unwrap();
    }
    let t = Instant::now();
    // Not `Intake::run`: its 60 s limit is too short for OCR in a debug build.
    let out = it
        .command(&["import", corpus().to_str().unwrap()])
        .env("KEPU_LOG", "warn")
        .output()
        .expect("run kepu-intake import");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = it.dump();
    let docs: Vec<Value> = dump["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().cloned().unwrap_or_default())
        .collect();
    let mut outcomes = Vec::new();
    for (scan, electronic) in expected() {
        let s = doc(&docs, &scan);
        assert_eq!(s["kind"], "scan", "{scan}: {s}");
        let want = electronic.as_deref().map(|e| {
            let d = doc(&docs, e);
            assert_eq!(d["kind"], "electronic", "{e}: {d}");
            d["id"].clone()
        });
        let got = &s["scan_of"];
        let outcome = match (&want, got.is_null()) {
            (Some(w), false) if w == got => Outcome::Right,
            (Some(_), true) => Outcome::Review,
            (None, true) => Outcome::Right,
            _ => Outcome::Wrong,
        };
        let got_name = docs
            .iter()
            .find(|d| d["id"] == *got)
            .map_or("—".to_string(), |d| {
                d["name"].as_str().unwrap_or("").to_string()
            });
        outcomes.push((scan, outcome, got_name));
    }
    Run {
        outcomes,
        secs,
        docs,
    }
}

fn report(label: &str, r: &Run) {
    eprintln!(
        "matching accuracy, {label}: {} (import {:.1} s)",
        r.tally(),
        r.secs
    );
    for (scan, o, got) in &r.outcomes {
        eprintln!("  {o:?}\t{scan} → {got}");
    }
}

#[test]
fn scan_corpus_matching_with_ocr() {
    if !kepu_intake::scan::ScanOptions::detect(&Default::default()).ocr {
        eprintln!("scan_corpus_matching_with_ocr: skipped, tesseract not installed");
        return;
    }
    let r = run(true);
    report("OCR on", &r);
    // Every scan placed as expected: each pair asserted by name.
    for (scan, o, got) in &r.outcomes {
        assert_eq!(*o, Outcome::Right, "{scan} was matched to {got}");
    }
    // The grayscale scan's seal cannot be judged; the colour ones are stamped.
    assert!(doc(&r.docs, "丰南区申报表盖章.jpg")["stamped"].is_null());
    assert_eq!(doc(&r.docs, "扫描件.pdf")["stamped"], true);
    // OCR read the forms of the scans whose file names say nothing about them.
    assert_eq!(
        doc(&r.docs, "IMG_20220716_174102.jpg")["form"],
        "pilot_school"
    );
    assert_eq!(doc(&r.docs, "张伟推荐表盖章.jpg")["form"], "expert");
}

#[test]
fn scan_corpus_matching_without_ocr() {
    let r = run(false);
    report("OCR off", &r);
    // Sender, time and file name alone are weak evidence: the matcher may leave scans
    // for review but must not pair any wrongly.
    assert_eq!(r.count(Outcome::Wrong), 0, "{}", r.tally());
    // Without OCR the form of a scan is unknown.
    assert!(r
        .outcomes
        .iter()
        .all(|(scan, _, _)| doc(&r.docs, scan)["form"].is_null()));
}
