//! Benchmark of form parsing (`cargo bench --bench forms`): the same .docx fixtures
//! parsed N times in-process (`forms::parse_electronic`), through the isolated child
//! process (`isolate::read_electronic`), and by python-docx reading the same cells
//! (`benches/forms_python_docx.py`, timed inside its own loop). Prints the mean time
//! per form for each and the ratios.

use kepu_intake::forms;
use kepu_intake::isolate::{self, IsolateOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    // `cargo test --all-targets` runs bench targets too (without `--bench`): a smoke
    // check is enough there; the timed run is `cargo bench --bench forms`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("forms bench: skipped outside `cargo bench --bench forms`");
        return;
    }
    let n: usize = std::env::var("KEPU_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/forms")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "docx"))
        .collect();
    files.sort();
    let opts = IsolateOptions::new(PathBuf::from(env!("CARGO_BIN_EXE_kepu-parse-doc")));
    let iso_n = (n / 10).max(5);
    let python = python_times(n, &files);
    println!(
        "{n} in-process / {iso_n} isolated / {n} python-docx parses per form (mean per parse)"
    );
    println!(
        "{:<24} {:>12} {:>12} {:>14} {:>10} {:>10}",
        "form", "in-process", "isolated", "python-docx", "py/in-proc", "py/isol."
    );
    let (mut sum_in, mut sum_iso, mut sum_py) = (0.0, 0.0, 0.0);
    for f in &files {
        let bytes = std::fs::read(f).expect("fixture");
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let first = forms::parse_electronic("docx", &bytes).expect("parses");
        assert!(first.form.is_some(), "{name}: no form");
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(forms::parse_electronic("docx", &bytes).ok());
        }
        let inproc = t.elapsed().as_secs_f64() / n as f64;
        let t = Instant::now();
        for _ in 0..iso_n {
            let p = isolate::read_electronic(&opts, "docx", &bytes).expect("isolated parse");
            assert_eq!(p, first, "{name}: isolated result differs");
        }
        let iso = t.elapsed().as_secs_f64() / iso_n as f64;
        let py = python.iter().find(|(p, _)| p == f).map(|(_, s)| *s);
        sum_in += inproc;
        sum_iso += iso;
        sum_py += py.unwrap_or(0.0);
        println!(
            "{:<24} {:>10.1}µs {:>10.2}ms {:>14} {:>10} {:>10}",
            name,
            inproc * 1e6,
            iso * 1e3,
            py.map_or("n/a".into(), |s| format!("{:.1}µs", s * 1e6)),
            py.map_or("n/a".into(), |s| format!("{:.1}×", s / inproc)),
            py.map_or("n/a".into(), |s| format!("{:.2}×", s / iso)),
        );
    }
    let k = files.len() as f64;
    println!(
        "{:<24} {:>10.1}µs {:>10.2}ms {:>12.1}µs {:>9.1}× {:>9.2}×",
        "mean",
        sum_in / k * 1e6,
        sum_iso / k * 1e3,
        sum_py / k * 1e6,
        sum_py / sum_in,
        sum_py / sum_iso
    );
}

/// Per-file mean seconds from the python-docx script, empty when python-docx is absent.
fn python_times(n: usize, files: &[PathBuf]) -> Vec<(PathBuf, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/forms_python_docx.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .args(files)
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        eprintln!("python-docx baseline skipped (python3 with python-docx not available)");
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, s) = l.split_once('\t')?;
            Some((PathBuf::from(p), s.trim().parse().ok()?))
        })
        .collect()
}
