//! Benchmark of form parsing (`cargo bench --bench forms`): the same .docx fixtures
//! parsed in-process (`forms::parse_electronic`), through a child process started per
//! document (`isolate::read_electronic`, the old way), through the persistent worker
//! the pipeline uses (`isolate::Worker::read_electronic`), and by python-docx reading
//! the same cells (`benches/forms_python_docx.py`, timed inside its own loop). Prints
//! the median time per parse of each form for each, the ratios to python-docx, and the
//! averages over forms of the medians and of the means. The three Rust ways are
//! interleaved parse by parse and compared by median, since the machine is shared.
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
    let iso_every = 10;
    // python-docx runs in its own process, so it cannot be interleaved with ours: it
    // runs before and after, and each file keeps its better run (the load of other
    // processes only ever slows it, so this favours the baseline).
    let python_before = python_times(n, &files);
    println!(
        "per form: {n} in-process, {n} worker, {} one-shot child parses, interleaved; python-docx {n} parses before and {n} after, the better kept; median per parse",
        n.div_ceil(iso_every)
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
    // Per form: [in-process, one-shot, worker] medians and means.
    let mut ours: Vec<([f64; 3], [f64; 3])> = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).expect("fixture");
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let first = forms::parse_electronic(kepu_intake::call::Call::builtin(), "docx", &bytes)
            .expect("parses");
        assert!(first.form.is_some(), "{name}: no form");
        // Interleaved, so a burst of load from other processes hits all three alike.
        let (mut inproc, mut one, mut wk) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let t = Instant::now();
            std::hint::black_box(
                forms::parse_electronic(kepu_intake::call::Call::builtin(), "docx", &bytes).ok(),
            );
            inproc.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let p = worker.read_electronic("docx", &bytes);
            wk.push(t.elapsed().as_secs_f64());
            assert_eq!(p.as_ref(), Ok(&first), "{name}: worker result differs");
            if i % iso_every == 0 {
                let t = Instant::now();
                let p = isolate::read_electronic(&opts, "docx", &bytes);
                one.push(t.elapsed().as_secs_f64());
                assert_eq!(p.as_ref(), Ok(&first), "{name}: one-shot result differs");
            }
        }
        ours.push((
            [median(&mut inproc), median(&mut one), median(&mut wk)],
            [mean(&inproc), mean(&one), mean(&wk)],
        ));
    }
    let python_after = python_times(n, &files);
    let mut medians: Vec<[f64; 4]> = Vec::new();
    let mut means: Vec<[f64; 4]> = Vec::new();
    for (f, (med, avg)) in files.iter().zip(&ours) {
        let best = |pick: fn(&(PathBuf, f64, f64)) -> f64| {
            [&python_before, &python_after]
                .iter()
                .filter_map(|run| run.iter().find(|r| &r.0 == f).map(pick))
                .fold(f64::NAN, f64::min)
        };
        let med = [med[0], med[1], med[2], best(|r| r.2)];
        means.push([avg[0], avg[1], avg[2], best(|r| r.1)]);
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        print_row(name, &med);
        medians.push(med);
    }
    let over = |rows: &[[f64; 4]]| -> [f64; 4] {
        let k = rows.len() as f64;
        std::array::from_fn(|c| rows.iter().map(|r| r[c]).sum::<f64>() / k)
    };
    print_row("mean of medians", &over(&medians));
    print_row("mean of means", &over(&means));
    println!(
        "worker: {} process(es) started for {} parses (recycled every {})",
        worker.spawned(),
        n * files.len(),
        isolate::worker::RECYCLE_AFTER
    );
}

/// One table row: times, python-docx's time and its ratio to each of ours.
fn print_row(name: &str, t: &[f64; 4]) {
    let py = t[3];
    let ratio = |d: f64| {
        if py.is_nan() {
            "n/a".to_string()
        } else {
            format!("{:.1}×", py / d)
        }
    };
    println!(
        "{:<24} {:>9.1}µs {:>9.2}ms {:>9.1}µs {:>12} {:>9} {:>9} {:>9}",
        name,
        t[0] * 1e6,
        t[1] * 1e3,
        t[2] * 1e6,
        if py.is_nan() {
            "n/a".to_string()
        } else {
            format!("{:.2}ms", py * 1e3)
        },
        ratio(t[0]),
        ratio(t[1]),
        ratio(t[2]),
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Per-file (mean, median) seconds from the python-docx script, empty when python-docx
/// is absent.
fn python_times(n: usize, files: &[PathBuf]) -> Vec<(PathBuf, f64, f64)> {
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
            let mut it = l.split('\t');
            let p = PathBuf::from(it.next()?);
            let mean: f64 = it.next()?.trim().parse().ok()?;
            let median = it
                .next()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(mean);
            Some((p, mean, median))
        })
        .collect()
}
