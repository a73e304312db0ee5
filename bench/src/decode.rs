//! `bench decode`: peak memory of turning one large JPEG page (by default the first
//! 600 dpi scan of the seal evaluation set) into the page the analysis sees, two ways,
//! each in a fresh child process so its VmHWM is that decode's alone:
//! - `full`: the `image` crate's full-size decode, the first step of the old path
//!   (its box shrink came on top);
//! - `kepu`: the pipeline's page loading (`scan::load_pages`), which decodes a large
//!   JPEG at a reduced DCT scale.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The ways measured, in print order.
const MODES: [&str; 2] = ["full", "kepu"];

pub fn run(file: Option<PathBuf>) -> io::Result<()> {
    let file = match file {
        Some(f) => f,
        None => first_large_scan()?,
    };
    let bytes = std::fs::read(&file)?;
    println!("bench decode — {}", file.display());
    println!("machine: {}", crate::machine());
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!("file: {} KiB", bytes.len() / 1024);
    println!();
    println!("| decode | result px | peak RSS (VmHWM) MiB | added by the decode MiB | seconds |");
    println!("|---|---|---|---|---|");
    let mut added = Vec::new();
    for mode in MODES {
        let out = Command::new(std::env::current_exe()?)
            .args(["__decode", mode])
            .arg(&file)
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "decode {mode} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = line.split_whitespace().collect();
        let [dims, base, hwm, secs] = f[..] else {
            return Err(io::Error::other(format!(
                "decode {mode}: odd answer {line}"
            )));
        };
        let (base, hwm): (f64, f64) = (
            base.parse().unwrap_or(0.0) / 1024.0,
            hwm.parse().unwrap_or(0.0) / 1024.0,
        );
        added.push(hwm - base);
        println!(
            "| {mode} | {dims} | {hwm:.1} | {:.1} | {secs} |",
            hwm - base
        );
    }
    if let [full, kepu] = added[..] {
        println!();
        println!(
            "memory added by decoding: {:.1}× less ({full:.1} → {kepu:.1} MiB)",
            full / kepu.max(0.1)
        );
    }
    Ok(())
}

/// The child: decodes `file` one way and prints `WxH base_kib hwm_kib seconds`.
pub fn child(mode: &str, file: &Path) -> i32 {
    let Ok(bytes) = std::fs::read(file) else {
        eprintln!("cannot read {}", file.display());
        return 2;
    };
    let base = status_kib("VmRSS:");
    let t = Instant::now();
    let dims = match mode {
        "full" => image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
            .map(|img| (img.width(), img.height()))
            .map_err(|e| e.to_string()),
        _ => {
            let opts = kepu_intake::scan::ScanOptions {
                tesseract: None,
                pdftoppm: None,
                ocr: false,
            };
            kepu_intake::scan::load_pages("jpg", &bytes, &opts)
                .map_err(|e| e.to_string())
                .and_then(|pages| {
                    pages
                        .first()
                        .map(|p| p.rgb.dimensions())
                        .ok_or_else(|| "no page".to_string())
                })
        }
    };
    let secs = t.elapsed().as_secs_f64();
    match dims {
        Ok((w, h)) => {
            println!("{w}×{h} {base} {} {secs:.2}", status_kib("VmHWM:"));
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// A field of /proc/self/status, KiB.
fn status_kib(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The first JPEG of the evaluation set's tuning part whose long side is ≥ 6000 px.
fn first_large_scan() -> io::Result<PathBuf> {
    let dir = crate::seals::ensure_part("tune")?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    names.sort();
    names
        .into_iter()
        .find(|p| image::image_dimensions(p).is_ok_and(|(w, h)| w.max(h) >= 6000))
        .ok_or_else(|| io::Error::other("no JPEG of 6000 px or more in the tuning set"))
}
