//! `bench scan`: what a scan costs and how well scans are matched.
//!
//! 1. Seconds per page over the golden scans (fixtures/scans): the seal alone, and
//!    seal + OCR (Tesseract, rotation search included) as the pipeline runs them, in
//!    this build (run it with `--release`).
//! 2. The matching corpus (fixtures/match) imported by the kepu-intake binary into
//!    fresh data dirs: OCR on with one worker and with the default pool, and OCR off;
//!    each scan's `scan_of` held against expected.json and tallied as matched right /
//!    wrong / left for review.

use crate::tmpdir::ShortTempDir;
use kepu_intake::config::ToolsConfig;
use kepu_intake::scan::{analyze, ScanOptions};
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn root() -> PathBuf {
    crate::repo_root().to_path_buf()
}

/// Every scan fixture that has an expected.json beside it, with its format.
fn fixtures() -> io::Result<Vec<(String, String, Vec<u8>)>> {
    let dir = root().join("fixtures/scans");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir)? {
        let p = e?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((case, ext)) = name.split_once('.') else {
            continue;
        };
        if ext.ends_with("json") || !dir.join(format!("{case}.expected.json")).exists() {
            continue;
        }
        out.push((
            case.to_string(),
            ext.to_ascii_lowercase(),
            std::fs::read(&p)?,
        ));
    }
    out.sort();
    Ok(out)
}

pub fn run(intake: Option<PathBuf>) -> io::Result<()> {
    let opts = ScanOptions::detect(&ToolsConfig::default());
    println!(
        "build: {}; tesseract {}; pdftoppm {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        opts.tesseract
            .as_deref()
            .map_or("not found".into(), |p| p.display().to_string()),
        opts.pdftoppm
            .as_deref()
            .map_or("not found".into(), |p| p.display().to_string()),
    );
    per_page(&opts)?;
    let intake = crate::intake_exe(intake)?;
    println!();
    println!(
        "| matching corpus (fixtures/match) | import wall time | right | wrong | left for review |"
    );
    println!("|---|---|---|---|---|");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runs: Vec<(String, bool, usize)> = if opts.ocr {
        vec![
            ("OCR on, 1 worker".into(), true, 1),
            (format!("OCR on, {cores} workers (default)"), true, 0),
            ("OCR off".into(), false, 0),
        ]
    } else {
        println!("(tesseract not installed: OCR-on runs skipped)");
        vec![("OCR off".into(), false, 0)]
    };
    for (label, ocr, workers) in runs {
        let (secs, t) = corpus(&intake, ocr, workers)?;
        println!(
            "| {label} | {secs:.1} s | {} | {} | {} |",
            t.right, t.wrong, t.review
        );
        for line in t.lines {
            eprintln!("  {label}: {line}");
        }
    }
    Ok(())
}

/// Times `analyze` on every fixture, seal only and seal + OCR, per page.
fn per_page(opts: &ScanOptions) -> io::Result<()> {
    let seal_only = ScanOptions {
        ocr: false,
        ..opts.clone()
    };
    println!();
    println!("| scan | pages | seal s/page | seal + OCR s/page | OCR runs (rotations tried) |");
    println!("|---|---|---|---|---|");
    let (mut pages, mut seal_total, mut full_total) = (0usize, 0f64, 0f64);
    for (case, ext, bytes) in fixtures()? {
        let t = Instant::now();
        let s = analyze(&ext, &bytes, &seal_only);
        let seal = t.elapsed().as_secs_f64();
        if s.pages == 0 {
            println!("| {case} | 0 | – | – | unreadable here: {:?} |", s.problems);
            continue;
        }
        let n = s.pages as f64;
        let full = if opts.ocr {
            let t = Instant::now();
            let info = analyze(&ext, &bytes, opts);
            let secs = t.elapsed().as_secs_f64();
            full_total += secs;
            format!("{:.2} | {:?}", secs / n, info.rotations)
        } else {
            "– | OCR not installed".into()
        };
        println!("| {case} | {} | {:.2} | {full} |", s.pages, seal / n);
        pages += s.pages;
        seal_total += seal;
    }
    let p = pages.max(1) as f64;
    println!(
        "| **all {pages} pages** | | **{:.2}** | **{:.2}** | |",
        seal_total / p,
        full_total / p
    );
    Ok(())
}

struct Tally {
    right: usize,
    wrong: usize,
    review: usize,
    lines: Vec<String>,
}

/// Imports fixtures/match into a fresh data dir and tallies each scan's `scan_of`.
fn corpus(intake: &Path, ocr: bool, workers: usize) -> io::Result<(f64, Tally)> {
    let dir = ShortTempDir::new("kbs")?;
    let config = dir.path().join("kepu-intake.toml");
    let tesseract = if ocr { "" } else { "/nonexistent/tesseract" };
    std::fs::write(
        &config,
        format!(
            "[intake]\ndeadline = \"2022-07-20T23:59:59+08:00\"\n\n\
             [storage]\ndata_dir = \"{}\"\n\n[receipts]\nmode = \"off\"\n\n\
             [tools]\ntesseract = \"{tesseract}\"\nworkers = {workers}\n",
            dir.path().join("data").display()
        ),
    )?;
    let kepu = |args: &[&str]| -> io::Result<Vec<u8>> {
        let out = Command::new(intake)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("KEPU_LOG", "warn")
            .current_dir(dir.path())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "kepu-intake {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(out.stdout)
    };
    let corpus = root().join("fixtures/match");
    let t = Instant::now();
    kepu(&["import", &corpus.to_string_lossy()])?;
    let secs = t.elapsed().as_secs_f64();
    let dump: Value = serde_json::from_slice(&kepu(&["dump", "--json"])?)
        .map_err(|e| io::Error::other(format!("dump --json: {e}")))?;
    let expected: Value = serde_json::from_slice(&std::fs::read(corpus.join("expected.json"))?)
        .map_err(|e| io::Error::other(format!("expected.json: {e}")))?;
    let docs: Vec<&Value> = dump["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["documents"].as_array().into_iter().flatten())
        .collect();
    let by_name = |n: &str| docs.iter().find(|d| d["name"] == n).copied();
    let mut t = Tally {
        right: 0,
        wrong: 0,
        review: 0,
        lines: Vec::new(),
    };
    for pair in expected["pairs"].as_array().into_iter().flatten() {
        let scan = pair["scan"].as_str().unwrap_or("");
        let got = by_name(scan).map_or(Value::Null, |d| d["scan_of"].clone());
        let want = match pair["electronic"].as_str() {
            None => Value::Null,
            Some(e) => by_name(e)
                .map(|d| d["id"].clone())
                .ok_or_else(|| io::Error::other(format!("{e} not in the dump")))?,
        };
        let verdict = if got == want {
            t.right += 1;
            "right"
        } else if got.is_null() {
            t.review += 1;
            "left for review"
        } else {
            t.wrong += 1;
            "WRONG"
        };
        t.lines.push(format!("{verdict}: {scan}"));
    }
    Ok((secs, t))
}
