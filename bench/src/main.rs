//! Benchmark harness: `bench ingest --messages N` seeds N messages of ~20 KB into a
//! private Dovecot, then, in the same run and against the same mailbox over the same
//! TLS, times `kepu-intake run --once` into an empty data dir and `mbsync` (isync,
//! `FSync no`) into an empty Maildir, and prints wall time and peak RSS of each.
//!
//! `bench status --applications N` times `status` and `list` over a generated intake of
//! N applications (`status.rs`). `pipeline` and `attachment` (`pipeline.rs`)
//! time the whole pipeline and a large attachment's memory; `all` (`suite.rs`) runs
//! every benchmark and writes one report.
//!
//! Build both binaries first: `cargo build --release --bins` (at the workspace root), then
//! `cargo run --release --bin bench -- all` (or one: `-- ingest --messages 10000`).
//!
//! `bench scan` (in scan.rs): seconds per scan page (seal, seal + OCR) and the
//! matching tally of the fixtures/match corpus with OCR on and off.

mod decode;
mod pipeline;
mod scan;
mod seals;
mod smaps;
mod soak;
mod status;
mod suite;

use clap::{Parser, Subcommand};
use kepu_testkit::{base64 as b64, dovecot, imap_client, tmpdir, Dovecot};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tmpdir::ShortTempDir;

#[derive(Parser)]
#[command(about = "kepu-intake benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// IMAP catch-up of a seeded mailbox: kepu-intake vs mbsync.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// Approximate size of each message, KiB.
        #[arg(long, default_value_t = 20)]
        size_kb: usize,
        /// How many times each client is timed (fresh target each time).
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
        /// Time only one client: "intake" or "mbsync" (default both).
        #[arg(long)]
        only: Option<String>,
        /// A second kepu-intake binary (e.g. a build of the previous commit), timed in
        /// every round beside the first: before/after in the same run.
        #[arg(long)]
        compare: Option<PathBuf>,
    },
    /// The whole pipeline over generated submissions (OCR off) vs a Python MIME script.
    Pipeline {
        #[arg(long, default_value_t = 1_000)]
        messages: usize,
        #[arg(long, default_value_t = 20_221_129)]
        seed: u64,
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
    },
    /// Seconds per scan page (seal, seal + OCR) and the matching corpus tally.
    Scan {
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
    },
    /// Seal verdicts, match accuracy and seconds per page over the generated
    /// evaluation set (fixtures/gen/make_seal_eval.py).
    Seals {
        /// tune (seed 1), held (seed 2), held3 (seed 3) or tune5 (seed 5), all tuned
        /// on; held4 (seed 4, 200 scans): the held-out part, evaluated once after all
        /// tuning.
        #[arg(long, default_value = "tune")]
        part: String,
        /// A set directory with a manifest.json instead of the generated part.
        #[arg(long)]
        set: Option<PathBuf>,
        /// Only the first N scans.
        #[arg(long)]
        limit: Option<usize>,
        /// Seal only: no OCR, no matching.
        #[arg(long)]
        no_ocr: bool,
        /// Also OCR the first N scans the other way (whole pages; band OCR is the
        /// default) and print both times.
        #[arg(long, default_value_t = 0)]
        compare: usize,
    },
    /// Peak memory of decoding one large JPEG page, full size vs the pipeline's way
    /// (`decode.rs`).
    Decode {
        /// The JPEG (default: the first 600 dpi scan of the evaluation set).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The daemon's memory under a steady stream of new scans (`soak.rs`).
    Soak {
        /// How long the stream runs.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        /// Seconds between two mails (one new scan each).
        #[arg(long, default_value_t = 2.0)]
        every: f64,
        /// Seconds between two readings of the daemon's RSS.
        #[arg(long, default_value_t = 5.0)]
        sample: f64,
        /// Minutes after which the RSS counts as warmed up.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Seal detection only (no Tesseract).
        #[arg(long)]
        no_ocr: bool,
        /// NAME=VALUE for the daemon's environment (repeatable), e.g. MALLOC_ARENA_MAX=2.
        #[arg(long)]
        env: Vec<String>,
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
    },
    /// Latency of `status` and `list` over a generated intake of N applications,
    /// against the same commands over a small intake and the sqlite3 CLI.
    Status {
        #[arg(long, default_value_t = 10_000)]
        applications: usize,
        /// Size of the small intake the same commands are compared with.
        #[arg(long, default_value_t = 100)]
        baseline_applications: usize,
        /// Runs per command; the median is reported.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
    },
    /// Peak RSS of one message carrying a large attachment.
    Attachment {
        #[arg(long, default_value_t = 25)]
        mb: usize,
        /// kepu-intake binary (default: beside this one).
        #[arg(long)]
        intake: Option<PathBuf>,
    },
    /// Every benchmark in one run, with a Markdown report.
    All {
        /// Smaller sizes, for a quick look (not for the published figures).
        #[arg(long)]
        quick: bool,
        /// Write the report here as well (e.g. docs/benchmark-run.md).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// One timed child process.
struct Sample {
    wall: Duration,
    max_rss_kib: i64,
    /// User + system CPU time: steadier than wall time on a shared machine.
    cpu: Duration,
    /// kepu-intake only: the catch-up phase (download and durable recording, with
    /// processing running alongside), as the intake logged it.
    catch_up: Option<Duration>,
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "__reap") {
        std::process::exit(reap(&args[2..]));
    }
    if args.get(1).is_some_and(|a| a == "__decode") && args.len() == 4 {
        let mode = args[2].to_string_lossy();
        std::process::exit(decode::child(&mode, Path::new(&args[3])));
    }
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Ingest {
            messages,
            size_kb,
            rounds,
            intake,
            only,
            compare,
        } => ingest(
            messages,
            size_kb,
            rounds.max(1),
            intake,
            only.as_deref(),
            compare,
        ),
        Cmd::Pipeline {
            messages,
            seed,
            intake,
        } => intake_exe(intake).and_then(|exe| pipeline::pipeline(&exe, messages, seed)),
        Cmd::Attachment { mb, intake } => {
            intake_exe(intake).and_then(|exe| pipeline::attachment(&exe, mb))
        }
        Cmd::All { quick, out } => suite::all(quick, out.as_deref()),
        Cmd::Status {
            applications,
            baseline_applications,
            runs,
            intake,
        } => status::run(applications, baseline_applications, runs.max(1), intake),
        Cmd::Scan { intake } => scan::run(intake),
        Cmd::Seals {
            part,
            set,
            limit,
            no_ocr,
            compare,
        } => seals::run(&part, set, limit, !no_ocr, compare),
        Cmd::Decode { file } => decode::run(file),
        Cmd::Soak {
            minutes,
            every,
            sample,
            warmup,
            no_ocr,
            env,
            intake,
        } => intake_exe(intake).and_then(|intake| {
            soak::run(&soak::Soak {
                intake,
                minutes,
                every_s: every,
                sample_s: sample,
                warmup_min: warmup,
                ocr: !no_ocr,
                env,
            })
        }),
    };
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn ingest(
    n: usize,
    size_kb: usize,
    rounds: usize,
    intake: Option<PathBuf>,
    only: Option<&str>,
    compare: Option<PathBuf>,
) -> io::Result<()> {
    let (do_intake, do_mbsync) = match only {
        None => (true, true),
        Some("intake") => (true, false),
        Some("mbsync") => (false, true),
        Some(other) => {
            return Err(io::Error::other(format!(
                "--only {other}: expected intake or mbsync"
            )))
        }
    };
    let intake = match intake {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("kepu-intake"),
    };
    if do_intake {
        intake_exe(Some(intake.clone()))?;
    }
    let dc = Dovecot::try_start()?;
    let t0 = Instant::now();
    let bytes = seed_maildir(&dc, n, size_kb * 1024)?;
    let seeded = t0.elapsed();
    // Let Dovecot build its uidlist and index now, so neither client pays for it.
    let t0 = Instant::now();
    let mut admin = imap_client::AdminClient::connect(dc.plain_port(), dc.user(), dc.password())?;
    let (exists, _) = admin.select("INBOX")?;
    admin.command("FETCH 1:* (INTERNALDATE RFC822.SIZE)")?;
    admin.logout();
    let indexed = t0.elapsed();
    if exists as usize != n {
        return Err(io::Error::other(format!(
            "Dovecot sees {exists} messages, seeded {n}"
        )));
    }
    warm_page_cache(&dc.maildir("INBOX"))?;
    println!(
        "seeded {n} messages, {:.1} MiB, in {:.2} s (files into Maildir/cur); Dovecot index {:.2} s",
        bytes as f64 / 1048576.0,
        seeded.as_secs_f64(),
        indexed.as_secs_f64()
    );

    println!("machine: {}", machine());
    let mut clients: Vec<(String, Option<PathBuf>, Vec<Sample>)> = Vec::new();
    if do_intake {
        clients.push(("kepu-intake run --once".into(), Some(intake), Vec::new()));
        if let Some(before) = compare {
            intake_exe(Some(before.clone()))?;
            let label = format!("kepu-intake run --once ({})", before.display());
            clients.push((label, Some(before), Vec::new()));
        }
    }
    if do_mbsync {
        clients.push(("mbsync, FSync no".into(), None, Vec::new()));
    }
    // Every client's target stays until the end of the run: deleting one leaves tens of
    // thousands of recently freed inodes, and on ext4 without a journal the inode
    // allocator skips those one by one, so the next client would pay for the files the
    // previous one made (see docs/benchmarks.md).
    // And each client starts with nothing dirty in the page cache: a client that syncs
    // (kepu-intake does, per chunk) would otherwise write out the previous client's
    // files as well.
    let mut targets = Vec::new();
    for round in 1..=rounds {
        for (label, exe, samples) in &mut clients {
            // SAFETY: sync(2) takes no arguments and only flushes dirty data.
            unsafe { libc::sync() };
            let (s, target) = match exe {
                Some(exe) => run_intake(&dc, exe, n)?,
                None => run_mbsync(&dc, n)?,
            };
            targets.push(target);
            let phase = s
                .catch_up
                .map(|d| format!(", catch-up phase {:.2} s", d.as_secs_f64()))
                .unwrap_or_default();
            println!(
                "round {round}: {label}: {:.2} s{phase}, CPU {:.2} s, peak RSS {} MiB",
                s.wall.as_secs_f64(),
                s.cpu.as_secs_f64(),
                s.max_rss_kib / 1024
            );
            samples.push(s);
        }
    }
    let rss = |v: &[Sample]| v.iter().map(|s| s.max_rss_kib).max().unwrap_or_default();
    println!();
    println!(
        "| client | median of {rounds} | best | catch-up phase (median) | CPU (median) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    let mut mbsync_median = None;
    for (label, exe, samples) in &clients {
        let wall = median(samples.iter().map(|s| s.wall).collect());
        let best = samples.iter().map(|s| s.wall).min().unwrap_or_default();
        let cpu = median(samples.iter().map(|s| s.cpu).collect());
        let phase: Vec<Duration> = samples.iter().filter_map(|s| s.catch_up).collect();
        let phase = if phase.is_empty() {
            "—".to_string()
        } else {
            format!("{:.2} s", median(phase).as_secs_f64())
        };
        println!(
            "| {label} | {:.2} s | {:.2} s | {phase} | {:.2} s | {} MiB |",
            wall.as_secs_f64(),
            best.as_secs_f64(),
            cpu.as_secs_f64(),
            rss(samples) / 1024
        );
        if exe.is_none() {
            mbsync_median = Some(wall);
        }
    }
    if let Some(m) = mbsync_median {
        for (label, exe, samples) in &clients {
            if exe.is_none() {
                continue;
            }
            let wall = median(samples.iter().map(|s| s.wall).collect());
            let phase: Vec<Duration> = samples.iter().filter_map(|s| s.catch_up).collect();
            let m = m.as_secs_f64().max(1e-9);
            print!(
                "ratio {label} / mbsync (medians) = {:.2}",
                wall.as_secs_f64() / m
            );
            if !phase.is_empty() {
                print!(
                    "; catch-up phase only = {:.2}",
                    median(phase).as_secs_f64() / m
                );
            }
            println!();
        }
    }
    Ok(())
}

/// The median (the upper one of an even count).
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The kepu-intake binary to time: the given one, or the one beside this binary.
fn intake_exe(given: Option<PathBuf>) -> io::Result<PathBuf> {
    let exe = match given {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("kepu-intake"),
    };
    if exe.exists() {
        Ok(exe)
    } else {
        Err(io::Error::other(format!(
            "{} not found: build it first (cargo build --release --bins)",
            exe.display()
        )))
    }
}

/// A deterministic xorshift64 generator, so a seed reproduces a corpus or an intake.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// "CPU model, N cores; load average a b c": the record every benchmark prints.
fn machine() -> String {
    format!(
        "{}, {} cores; load average {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The CPU model from /proc/cpuinfo, for the record.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown CPU".into(), |m| m.trim().to_string())
}

/// Writes `n` messages straight into the INBOX Maildir with mtime = the intended
/// INTERNALDATE (Dovecot takes INTERNALDATE from the mtime): far faster than APPEND,
/// which slows to ~40 msg/s in a 10k mailbox. Returns the bytes written.
fn seed_maildir(dc: &Dovecot, n: usize, size: usize) -> io::Result<u64> {
    let owner = dc.mail_owner();
    let root = dc.maildir("INBOX");
    let home = root.parent().map(Path::to_path_buf).unwrap_or_default();
    for d in [
        home.clone(),
        root.clone(),
        root.join("cur"),
        root.join("new"),
        root.join("tmp"),
    ] {
        std::fs::create_dir_all(&d)?;
        dovecot::chown(&d, owner)?;
    }
    // 2022-07-01T00:00:00+08:00, one message a minute or so.
    let start = 1_656_604_800u64;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut total = 0u64;
    for i in 0..n {
        let ts = start + (i as u64) * 37;
        let raw = message(i, ts, size, &mut rng);
        let name = format!(
            "{ts}.M{i}P{}.kepu-bench,S={}:2,",
            std::process::id(),
            raw.len()
        );
        let path = root.join("cur").join(name);
        let mut f = File::create(&path)?;
        f.write_all(&raw)?;
        f.set_modified(UNIX_EPOCH + Duration::from_secs(ts))?;
        drop(f);
        dovecot::chown(&path, owner)?;
        total += raw.len() as u64;
    }
    Ok(total)
}

/// A submission-like message: Chinese subject (RFC 2047), short body, and a
/// base64 attachment of random bytes (so nothing compresses or dedups away). The
/// attachment is `application/octet-stream` so no document parser runs: this measures
/// intake, not OCR.
fn message(i: usize, ts: u64, size: usize, rng: &mut u64) -> Vec<u8> {
    let date = match (
        chrono::DateTime::from_timestamp(ts as i64, 0),
        chrono::FixedOffset::east_opt(8 * 3600),
    ) {
        (Some(d), Some(tz)) => d.with_timezone(&tz).to_rfc2822(),
        _ => String::from("Fri, 1 Jul 2022 00:00:00 +0800"),
    };
    let mut raw = format!(
        "From: applicant{i} <applicant{i}@school.example>\r\n\
         To: tsqsnkj@126.com\r\n\
         Subject: =?UTF-8?B?55Sz5oql5p2Q5paZ?= {i}\r\n\
         Date: {date}\r\n\
         Message-ID: <bench-{i}@school.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\
         \r\n\
         --b{i}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         bench message {i}\r\n\
         --b{i}\r\n\
         Content-Type: application/octet-stream; name=\"data{i}.bin\"\r\n\
         Content-Disposition: attachment; filename=\"data{i}.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n"
    )
    .into_bytes();
    let payload_len = size.saturating_sub(raw.len() + 64) * 3 / 4;
    let mut payload = Vec::with_capacity(payload_len);
    while payload.len() < payload_len {
        // xorshift64: cheap, deterministic noise.
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        payload.extend_from_slice(&rng.to_le_bytes());
    }
    payload.truncate(payload_len);
    for line in base64(&payload).as_bytes().chunks(76) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    raw
}

use b64::encode as base64;

/// Reads every message file once so both clients start with the same warm cache.
fn warm_page_cache(root: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(root.join("cur"))? {
        std::fs::read(e?.path())?;
    }
    Ok(())
}

/// Runs a command to completion and returns its wall time, CPU time and peak RSS.
///
/// The command is started through `bench __reap` (this binary, fresh and small): on
/// Linux a child's `ru_maxrss` includes the high-water mark of the process it was
/// forked from, so forking the program from this process — which may hold a large
/// corpus or a parsed `dump --json` by then — would charge our memory to it. The
/// reaper's own few MiB are the only overhead left.
fn timed(cmd: Command, what: &str) -> io::Result<(Sample, String)> {
    let tag = format!(
        "{}-{}",
        std::process::id(),
        REAPS.fetch_add(1, Ordering::Relaxed)
    );
    let err_path = std::env::temp_dir().join(format!("kepu-bench-{tag}.stderr"));
    let usage_path = std::env::temp_dir().join(format!("kepu-bench-{tag}.usage"));
    let mut reaper = Command::new(std::env::current_exe()?);
    reaper
        .arg("__reap")
        .arg(&usage_path)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => reaper.env(k, v),
            None => reaper.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        reaper.current_dir(dir);
    }
    let t0 = Instant::now();
    let status = reaper
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&err_path)?)
        .status()
        .map_err(|e| io::Error::other(format!("cannot run {what}: {e}")))?;
    let wall = t0.elapsed();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let usage = std::fs::read_to_string(&usage_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    let _ = std::fs::remove_file(&usage_path);
    if !status.success() {
        return Err(io::Error::other(format!(
            "{what} failed ({status}): {stderr}"
        )));
    }
    let nums: Vec<i64> = usage
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [max_rss_kib, cpu_us] = nums[..] else {
        return Err(io::Error::other(format!("no usage figures for {what}")));
    };
    Ok((
        Sample {
            wall,
            max_rss_kib,
            cpu: Duration::from_micros(cpu_us.max(0) as u64),
            catch_up: None,
        },
        stderr,
    ))
}

static REAPS: AtomicUsize = AtomicUsize::new(0);

/// `bench __reap USAGE_FILE PROGRAM ARGS…`: runs the program with inherited stdio,
/// waits for it with `wait4`, writes "peak-RSS-KiB CPU-µs" to USAGE_FILE and exits
/// with the program's status.
fn reap(args: &[std::ffi::OsString]) -> i32 {
    let [usage_file, program, rest @ ..] = args else {
        eprintln!("bench __reap: USAGE_FILE PROGRAM [ARGS…]");
        return 2;
    };
    let child = match Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run {}: {e}", program.to_string_lossy());
            return 127;
        }
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child's pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: as above; std's Child is never waited on after this.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        eprintln!("wait4: {}", io::Error::last_os_error());
        return 1;
    }
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    if let Err(e) = std::fs::write(
        usage_file,
        format!("{} {}", usage.ru_maxrss, cpu.as_micros()),
    ) {
        eprintln!("cannot write {}: {e}", usage_file.to_string_lossy());
        return 1;
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// Writes a `kepu-intake.toml` in `dir` for a daemon reading `dc`'s INBOX into
/// `dir/data` (password in `KEPU_BENCH_PASSWORD`, receipts off, JSON log), with
/// `extra` TOML sections; returns its path.
pub(crate) fn write_daemon_config(dc: &Dovecot, dir: &Path, extra: &str) -> io::Result<PathBuf> {
    let config = dir.join("kepu-intake.toml");
    std::fs::write(
        &config,
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\nca_file = \"{}\"\n\
             user = \"{}\"\npassword_env = \"KEPU_BENCH_PASSWORD\"\nmailbox = \"INBOX\"\n\n\
             [storage]\ndata_dir = \"{}\"\n\n[receipts]\nmode = \"off\"\n\n\
             {extra}[log]\nformat = \"json\"\n",
            dc.port(),
            dc.ca_file().display(),
            dc.user(),
            dir.join("data").display()
        ),
    )?;
    Ok(config)
}

/// Times one `run --once` into a fresh data dir; returns the dir, to be removed later.
fn run_intake(dc: &Dovecot, intake: &Path, n: usize) -> io::Result<(Sample, ShortTempDir)> {
    let dir = ShortTempDir::new("kb")?;
    let config = write_daemon_config(dc, dir.path(), "")?;
    let mut cmd = Command::new(intake);
    cmd.arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .current_dir(dir.path())
        .env("KEPU_BENCH_PASSWORD", dc.password());
    let (mut sample, stderr) = timed(cmd, "kepu-intake run --once")?;
    sample.catch_up = caught_up_seconds(&stderr).map(Duration::from_secs_f64);
    // Count what was recorded, so a fast run that skipped mail cannot win.
    let out = Command::new(intake)
        .arg("--config")
        .arg(&config)
        .args(["dump", "--json"])
        .current_dir(dir.path())
        .output()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| io::Error::other(format!("dump --json after the run is not JSON: {e}")))?;
    let got = v
        .get("messages")
        .and_then(|m| m.as_array())
        .map_or(0, Vec::len);
    if got != n {
        return Err(io::Error::other(format!(
            "kepu-intake recorded {got} of {n} messages"
        )));
    }
    Ok((sample, dir))
}

/// The `seconds` of the intake's "caught up" log line (JSON log format).
fn caught_up_seconds(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("fields").cloned())
        .find(|f| f.get("message").and_then(|m| m.as_str()) == Some("caught up"))
        .and_then(|f| f.get("seconds").and_then(|s| s.as_f64()))
}

/// Times one mbsync into a fresh Maildir; returns the dir, to be removed later.
fn run_mbsync(dc: &Dovecot, n: usize) -> io::Result<(Sample, ShortTempDir)> {
    let dir = ShortTempDir::new("kb")?;
    let store = dir.path().join("mail");
    std::fs::create_dir(&store)?;
    let rc = dir.path().join("mbsyncrc");
    // `localhost`: isync matches the certificate by DNS name, not IP address.
    std::fs::write(
        &rc,
        format!(
            "FSync no\n\n\
             IMAPAccount dc\nHost localhost\nPort {}\nUser {}\nPass {}\nSSLType IMAPS\n\
             CertificateFile {}\n\n\
             IMAPStore remote\nAccount dc\n\n\
             MaildirStore local\nPath {}/\nInbox {}/INBOX\n\n\
             Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\n\
             Create Near\nSyncState *\n",
            dc.port(),
            dc.user(),
            dc.password(),
            dc.ca_file().display(),
            store.display(),
            store.display()
        ),
    )?;
    let mut cmd = Command::new("mbsync");
    cmd.arg("-q").arg("-c").arg(&rc).arg("bench");
    let (sample, _) = timed(cmd, "mbsync")?;
    let mut got = 0;
    for sub in ["cur", "new"] {
        if let Ok(rd) = std::fs::read_dir(store.join("INBOX").join(sub)) {
            got += rd.count();
        }
    }
    if got != n {
        return Err(io::Error::other(format!(
            "mbsync fetched {got} of {n} messages"
        )));
    }
    Ok((sample, dir))
}

/// The repository root (fixtures live there), one level above this crate.
fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
