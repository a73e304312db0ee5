//! Benchmark of form parsing (`cargo bench --bench forms`): the same .docx fixtures
//! parsed in-process (`forms::parse_electronic`), through a child process started per
//! document (`isolate::read_electronic`, the old way), through the persistent worker
//! the pipeline uses (`isolate::Worker::read_electronic`), and by python-docx reading
//! the same cells (`benches/forms_python_docx.py`, timed inside its own loop). Prints
//! the mean time per form for each and the ratios to python-docx.
//!
//! The worker's figure includes everything the pipeline pays: the parent's precheck,
//! the pipe round trip, the worker's own precheck and parse, its first spawn and its
//! recycling every `isolate::worker::RECYCLE_AFTER` documents.

use kepu_intake::forms;
use kepu_intake::isolate::{self, IsolateOptions, Worker};
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
    // Not warmed: its first spawn is part of the cost measured.
    let worker = Worker::new(opts.clone());
    let iso_n = (n / 10).max(5);
    let python = python_times(n, &files);
    println!(
        "{n} in-process / {iso_n} one-shot child / {n} worker / {n} python-docx parses per form (mean per parse)"
    );
    println!(
        "{:<24} {:>11} {:>11} {:>11} {:>12} {:>9} {:>9} {:>9}",
        "form",
        "in-process",
        "one-shot",
        "worker",
        "python-docx",
        "py/in-pr",
        "py/1-shot",
        "py/worker"
    );
    let (mut sum_in, mut sum_one, mut sum_wk, mut sum_py) = (0.0, 0.0, 0.0, 0.0);
    let mut py_files = 0;
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
            let p = isolate::read_electronic(&opts, "docx", &bytes).expect("one-shot parse");
            assert_eq!(p, first, "{name}: one-shot result differs");
        }
        let one = t.elapsed().as_secs_f64() / iso_n as f64;
        let t = Instant::now();
        for _ in 0..n {
            let p = worker
                .read_electronic("docx", &bytes)
                .expect("worker parse");
            assert_eq!(p, first, "{name}: worker result differs");
        }
        let wk = t.elapsed().as_secs_f64() / n as f64;
        let py = python.iter().find(|(p, _)| p == f).map(|(_, s)| *s);
        sum_in += inproc;
        sum_one += one;
        sum_wk += wk;
        if let Some(py) = py {
            sum_py += py;
            py_files += 1;
        }
        let ratio = |d: f64| py.map_or("n/a".into(), |s| format!("{:.1}×", s / d));
        println!(
            "{:<24} {:>9.1}µs {:>9.2}ms {:>9.1}µs {:>12} {:>9} {:>9} {:>9}",
            name,
            inproc * 1e6,
            one * 1e3,
            wk * 1e6,
            py.map_or("n/a".into(), |s| format!("{:.2}ms", s * 1e3)),
            ratio(inproc),
            ratio(one),
            ratio(wk),
        );
    }
    let k = files.len() as f64;
    let py_mean = (py_files == files.len()).then(|| sum_py / k);
    let ratio = |d: f64| py_mean.map_or("n/a".into(), |s| format!("{:.1}×", s / d));
    println!(
        "{:<24} {:>9.1}µs {:>9.2}ms {:>9.1}µs {:>12} {:>9} {:>9} {:>9}",
        "mean",
        sum_in / k * 1e6,
        sum_one / k * 1e3,
        sum_wk / k * 1e6,
        py_mean.map_or("n/a".into(), |s| format!("{:.2}ms", s * 1e3)),
        ratio(sum_in / k),
        ratio(sum_one / k),
        ratio(sum_wk / k),
    );
    println!(
        "worker: {} process(es) started for {} parses (recycled every {})",
        worker.spawned(),
        n * files.len(),
        isolate::worker::RECYCLE_AFTER
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
