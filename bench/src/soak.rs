//! `bench soak`: the daemon's memory under a steady stream of new scans.
//!
//! Starts a private Dovecot and `kepu-intake run` (the daemon, IDLE on INBOX), then for
//! `--minutes` appends one mail every `--every` seconds carrying a scan from the seal
//! evaluation set (tune and held parts) made new by a JPEG comment (other bytes, same
//! pixels: the analysis cache misses, so seal detection and OCR really run). The
//! daemon's resident set is read from /proc every `--sample` seconds. Prints the samples,
//! the warm-up RSS (after the first `--warmup` minutes), the end RSS (mean of the last
//! three samples), the peak, and how many scans the daemon recorded.
//!
//! Each minute's row shows the RSS at its start, its lowest and highest sample, and, at
//! the lowest (the daemon between pages, nothing in flight), where the resident set lies
//! (`smaps.rs`) and SQLite's own heap as the daemon logged it; the growth of that lowest
//! RSS from the warm-up minute to the last one is split the same way.
//!
//! `--env NAME=VALUE` passes allocator settings (MALLOC_ARENA_MAX=2,
//! MALLOC_MMAP_THRESHOLD_=…) to the daemon to compare them in separate runs.

use crate::smaps::{self, Split};
use kepu_testkit::{base64 as b64, Dovecot};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the stream is run.
pub struct Soak {
    pub intake: PathBuf,
    pub minutes: f64,
    pub every_s: f64,
    pub sample_s: f64,
    pub warmup_min: f64,
    pub ocr: bool,
    pub env: Vec<String>,
}

/// One reading of the daemon's memory.
struct Reading {
    at: Duration,
    sent: usize,
    rss_kib: u64,
    hwm_kib: u64,
    split: Split,
    /// SQLite's own heap use as the daemon last logged it.
    sqlite_kib: Option<u64>,
}

pub fn run(s: &Soak) -> io::Result<()> {
    let scans = scans()?;
    let dc = Dovecot::try_start()?;
    let dir = kepu_testkit::tmpdir::ShortTempDir::new("ks")?;
    let config =
        crate::write_daemon_config(&dc, dir.path(), &format!("[tools]\nocr = {}\n\n", s.ocr))?;
    let mut cmd = Command::new(&s.intake);
    cmd.arg("--config")
        .arg(&config)
        .arg("run")
        .current_dir(dir.path())
        .env("KEPU_BENCH_PASSWORD", dc.password())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.log"))?);
    for kv in &s.env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| io::Error::other(format!("--env {kv}: expected NAME=VALUE")))?;
        cmd.env(k, v);
    }
    let mut daemon = Daemon(cmd.spawn()?);
    let pid = daemon.0.id();
    println!(
        "bench soak — {} min, one new scan every {} s, OCR {}, env [{}], {} build",
        s.minutes,
        s.every_s,
        if s.ocr { "on" } else { "off" },
        s.env.join(" "),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    println!("machine: {}", crate::machine());
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    let mut admin = dc.admin();
    let t0 = Instant::now();
    let end = Duration::from_secs_f64(s.minutes * 60.0);
    let (every, sample) = (
        Duration::from_secs_f64(s.every_s.max(0.1)),
        Duration::from_secs_f64(s.sample_s.max(0.5)),
    );
    let (mut next_mail, mut next_sample) = (Duration::ZERO, Duration::ZERO);
    let mut sent = 0usize;
    let mut readings = Vec::new();
    println!();
    println!(
        "| minute | mails sent | RSS MiB at its start | lowest | highest | peak so far (VmHWM) | at the lowest: heap | other anon | SQLite files | binary | other files | SQLite heap |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let log = dir.path().join("daemon.log");
    let mut last_printed_minute = u64::MAX;
    while t0.elapsed() < end {
        if let Some(status) = daemon.0.try_wait()? {
            return Err(io::Error::other(format!(
                "the daemon stopped ({status}); its log: {}",
                dir.path().join("daemon.log").display()
            )));
        }
        let now = t0.elapsed();
        if now >= next_mail {
            let (name, bytes) = &scans[sent % scans.len()];
            let raw = mail(sent, name, &renewed(bytes, sent));
            admin.append("INBOX", &raw, "15-Jul-2022 10:00:00 +0800")?;
            sent += 1;
            next_mail += every;
        }
        if now >= next_sample {
            let (rss_kib, hwm_kib) = memory(pid)?;
            readings.push(Reading {
                at: now,
                sent,
                rss_kib,
                hwm_kib,
                split: smaps::split(pid)?,
                sqlite_kib: smaps::logged_sqlite_kib(&log),
            });
            next_sample += sample;
            let minute = now.as_secs() / 60;
            if minute != last_printed_minute {
                if let Some(done) = minute.checked_sub(1) {
                    print_minute(&readings, done);
                }
                last_printed_minute = minute;
            }
        }
        let wait = next_mail.min(next_sample).saturating_sub(t0.elapsed());
        std::thread::sleep(wait.min(Duration::from_millis(500)));
    }
    let (rss_kib, hwm_kib) = memory(pid)?;
    readings.push(Reading {
        at: t0.elapsed(),
        sent,
        rss_kib,
        hwm_kib,
        split: smaps::split(pid)?,
        sqlite_kib: smaps::logged_sqlite_kib(&log),
    });
    if last_printed_minute != u64::MAX {
        print_minute(&readings, last_printed_minute);
    }
    admin.logout();
    daemon.stop();
    let recorded = recorded_scans(&s.intake, &config, dir.path())?;
    report(s, &readings, recorded);
    Ok(())
}

fn report(s: &Soak, readings: &[Reading], recorded: usize) {
    let mib = |k: u64| k as f64 / 1024.0;
    let warm_at = Duration::from_secs_f64(s.warmup_min * 60.0);
    let warm = readings
        .iter()
        .find(|r| r.at >= warm_at)
        .or(readings.last())
        .map_or(0, |r| r.rss_kib);
    let tail: Vec<u64> = readings.iter().rev().take(3).map(|r| r.rss_kib).collect();
    let end = tail.iter().sum::<u64>() / tail.len().max(1) as u64;
    let peak_sampled = readings.iter().map(|r| r.rss_kib).max().unwrap_or(0);
    let hwm = readings.iter().map(|r| r.hwm_kib).max().unwrap_or(0);
    let sent = readings.last().map_or(0, |r| r.sent);
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| mails sent (one scan each) | {sent} |");
    println!("| scans the daemon recorded | {recorded} |");
    println!(
        "| RSS after warm-up ({} min) | {:.1} MiB |",
        s.warmup_min,
        mib(warm)
    );
    println!("| RSS at the end (last 3 samples) | {:.1} MiB |", mib(end));
    println!(
        "| growth after warm-up | {:+.1} MiB ({:+.1} %) |",
        mib(end) - mib(warm),
        100.0 * (end as f64 - warm as f64) / warm.max(1) as f64
    );
    println!(
        "| peak RSS (sampled / VmHWM) | {:.1} / {:.1} MiB |",
        mib(peak_sampled),
        mib(hwm)
    );
    let last_minute = readings
        .last()
        .map_or(0, |r| r.at.as_secs() / 60)
        .saturating_sub(1);
    let warm_minute = (s.warmup_min.ceil() as u64).min(last_minute);
    if let (Some(w), Some(e)) = (floor(readings, warm_minute), floor(readings, last_minute)) {
        println!(
            "| lowest RSS in minute {warm_minute} / in minute {last_minute} (between pages) | {:.1} / {:.1} MiB ({:+.1} MiB) |",
            mib(w.rss_kib),
            mib(e.rss_kib),
            mib(e.rss_kib) - mib(w.rss_kib)
        );
        let d = |a: u64, b: u64| mib(b) - mib(a);
        println!(
            "| growth of that lowest RSS by part (MiB) | heap {:+.1}, other anon {:+.1}, SQLite files {:+.1}, binary {:+.1}, other files {:+.1}; SQLite heap {:+.1} |",
            d(w.split.heap, e.split.heap),
            d(w.split.anon, e.split.anon),
            d(w.split.sqlite_files, e.split.sqlite_files),
            d(w.split.binary, e.split.binary),
            d(w.split.files, e.split.files),
            d(w.sqlite_kib.unwrap_or(0), e.sqlite_kib.unwrap_or(0)),
        );
    }
}

/// The readings of minute `m` (from its start to the next).
fn in_minute(readings: &[Reading], m: u64) -> impl Iterator<Item = &Reading> {
    readings.iter().filter(move |r| r.at.as_secs() / 60 == m)
}

/// The lowest reading of minute `m`: the daemon between pages, without pages in flight.
fn floor(readings: &[Reading], m: u64) -> Option<&Reading> {
    in_minute(readings, m).min_by_key(|r| r.rss_kib)
}

/// One table row for minute `m`.
fn print_minute(readings: &[Reading], m: u64) {
    let mib = |k: u64| k as f64 / 1024.0;
    let (Some(first), Some(low)) = (in_minute(readings, m).next(), floor(readings, m)) else {
        return;
    };
    let high = in_minute(readings, m).map(|r| r.rss_kib).max().unwrap_or(0);
    let last = in_minute(readings, m).last().unwrap_or(first);
    println!(
        "| {m} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
        last.sent,
        mib(first.rss_kib),
        mib(low.rss_kib),
        mib(high),
        mib(last.hwm_kib),
        split_cells(low)
    );
}

/// A reading's split as table cells, MiB.
fn split_cells(r: &Reading) -> String {
    let mib = |k: u64| k as f64 / 1024.0;
    format!(
        "{:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {}",
        mib(r.split.heap),
        mib(r.split.anon),
        mib(r.split.sqlite_files),
        mib(r.split.binary),
        mib(r.split.files),
        r.sqlite_kib
            .map_or("–".to_string(), |k| format!("{:.1}", mib(k)))
    )
}

/// The JPG scans of the tuning and first held-out parts (never the last held-out part,
/// which is kept for one evaluation).
fn scans() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for part in ["tune", "held"] {
        let dir = crate::seals::ensure_part(part)?;
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        names.sort();
        for p in names {
            out.push((
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::fs::read(&p)?,
            ));
        }
    }
    if out.is_empty() {
        return Err(io::Error::other("no JPG scans in the evaluation set"));
    }
    Ok(out)
}

/// The JPEG with a comment segment after its start marker: other bytes, the same image.
fn renewed(jpeg: &[u8], n: usize) -> Vec<u8> {
    let note = format!("kepu soak {n} {}", std::process::id());
    let len = (note.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + note.len() + 4);
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(note.as_bytes());
    out.extend_from_slice(&jpeg[2.min(jpeg.len())..]);
    out
}

/// A submission mail carrying one scan.
fn mail(i: usize, name: &str, jpeg: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "From: applicant{i} <soak{i}@school.example>\r\n\
         To: tsqsnkj@126.com\r\n\
         Subject: =?UTF-8?B?55Sz5oql5p2Q5paZ?= soak {i}\r\n\
         Date: Fri, 15 Jul 2022 10:00:00 +0800\r\n\
         Message-ID: <soak-{i}-{}@school.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\
         \r\n\
         --b{i}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         scan {name}\r\n\
         --b{i}\r\n\
         Content-Type: image/jpeg; name=\"scan{i}.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"scan{i}.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n",
        std::process::id()
    )
    .into_bytes();
    for line in b64::encode(jpeg).as_bytes().chunks(76) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    raw
}

/// (VmRSS, VmHWM) of `pid`, KiB.
fn memory(pid: u32) -> io::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// Documents of kind scan in the daemon's data dir.
fn recorded_scans(intake: &Path, config: &Path, dir: &Path) -> io::Result<usize> {
    let out = Command::new(intake)
        .arg("--config")
        .arg(config)
        .args(["dump", "--json"])
        .current_dir(dir)
        .output()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| io::Error::other(format!("dump --json is not JSON: {e}")))?;
    let docs = v["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["documents"].as_array().into_iter().flatten())
        .filter(|d| d["kind"] == "scan")
        .count();
    Ok(docs)
}

/// The daemon, stopped with SIGTERM (then killed) when dropped.
struct Daemon(Child);

impl Daemon {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        // SAFETY: kill(2) on our own child's pid with SIGTERM.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        for _ in 0..100 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}
