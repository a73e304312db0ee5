//! `bench all`: every benchmark in one command, each against its own baseline in the
//! same run, collected into one Markdown report (machine, date, figures) for
//! `docs/benchmarks.md`.
//!
//! Each benchmark runs as a child process of this same binary, so one that fails (a
//! tool missing, a server that would not start) is reported as failed and the rest
//! still run.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The suite: title and the arguments of one `bench` subcommand.
fn benches(quick: bool) -> Vec<(&'static str, Vec<String>)> {
    let n = |full: usize, small: usize| (if quick { small } else { full }).to_string();
    vec![
        (
            "IMAP catch-up: kepu-intake vs mbsync",
            vec!["ingest".into(), "--messages".into(), n(10_000, 1_000)],
        ),
        (
            "Whole pipeline over realistic submissions (OCR off)",
            vec!["pipeline".into(), "--messages".into(), n(1_000, 200)],
        ),
        (
            "Peak memory with one large attachment",
            vec!["attachment".into(), "--mb".into(), "25".into()],
        ),
        ("Scans: seconds per page, OCR and seal", vec!["scan".into()]),
        (
            "Operator queries over many applications",
            vec!["status".into(), "--applications".into(), n(10_000, 1_000)],
        ),
    ]
}

/// Runs the suite, echoing each benchmark's output as it comes, and writes the report
/// to `out` when given.
pub fn all(quick: bool, out: Option<&Path>) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut report = format!(
        "# Benchmark run of {}\n\nMachine at start: {}.\n\
         Command: `cargo run --release --bin bench -- all{}`\n",
        chrono::Local::now().format("%Y-%m-%d %H:%M %Z"),
        super::machine(),
        if quick { " --quick" } else { "" }
    );
    let mut failed = Vec::new();
    for (title, args) in benches(quick) {
        println!("\n=== {title}: bench {} ===", args.join(" "));
        report.push_str(&format!("\n## {title}\n\n`bench {}`\n\n", args.join(" ")));
        let t0 = Instant::now();
        let mut child = Command::new(&exe)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines() {
                let line = line?;
                println!("{line}");
                report.push_str(&line);
                report.push('\n');
            }
        }
        let status = child.wait()?;
        let secs = t0.elapsed().as_secs_f64();
        if status.success() {
            report.push_str(&format!("\n(took {secs:.0} s)\n"));
        } else {
            report.push_str(&format!("\n**failed** ({status}) after {secs:.0} s\n"));
            failed.push(title);
        }
    }
    if let Some(path) = out {
        std::fs::File::create(path)?.write_all(report.as_bytes())?;
        println!("\nreport written to {}", path.display());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!("failed: {}", failed.join("; "))))
    }
}
