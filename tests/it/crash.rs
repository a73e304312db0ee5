//! "Prove it", the crash part: `kepu-intake run` SIGKILLed at random moments, many
//! times, while it fetches, processes and answers a realistic mailbox, must end with
//! exactly what one clean run on a copy of the same mailbox gives: every message once,
//! every application with the same status, every receipt delivered once (counted at
//! the SMTP server). Sizes come from `KEPU_CRASH_MESSAGES` / `KEPU_CRASH_KILLS` (CI
//! defaults are small enough for the suite's budget), the seed from `KEPU_CRASH_SEED`
//! (printed either way). OCR is off (`[tools] ocr = false`): it costs seconds a page
//! and is not what a crash test is about; seal detection and form parsing still run.
//! LibreOffice (.doc/.wps) is off too unless `KEPU_CRASH_SOFFICE=1`: each conversion
//! takes ~7 s here, which alone would make the test several times longer; without it
//! those mails carry a `needs_conversion` problem, in both runs alike.
//!
//! The helpers (corpus, config, dump normalisation, SMTP counting) are shared with
//! `outages.rs`.

use crate::smtp_support::{ServerOpts, SmtpServer};
use crate::support::imap_client::AppendItem;
use crate::support::intake::wait_output;
use crate::support::{s, Dovecot, ImapTarget, Intake};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- randomness

/// SplitMix64: seeded and reproducible without an RNG dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `KEPU_CRASH_SEED` or the clock; printed by the caller so a failure can be replayed.
pub fn seed_from_env() -> u64 {
    std::env::var("KEPU_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- the mailbox

struct Fixture {
    stem: String,
    raw: Vec<u8>,
    /// Robots (auto-replies, bounces, lists, spam) keep their own From: it is part of
    /// what makes them robots.
    robot: bool,
}

/// The golden mails of `fixtures/mail/` and `fixtures/sample-mailbox/`.
fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for dir in ["mail", "sample-mailbox"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("fixtures dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        for f in files {
            let raw = std::fs::read(&f).expect("read fixture");
            let head = String::from_utf8_lossy(&raw[..head_end(&raw).0]).to_lowercase();
            let robot = [
                "\nauto-submitted:",
                "mailer-daemon",
                "\nlist-id:",
                "\nprecedence:",
                "\nx-spam-flag:",
                "\nx-autoreply",
                "multipart/report",
            ]
            .iter()
            .any(|k| head.contains(k));
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Fixture { stem, raw, robot });
        }
    }
    assert!(out.len() >= 20, "fixtures missing: {}", out.len());
    out
}

/// (end of the header block, start of the body).
fn head_end(raw: &[u8]) -> (usize, usize) {
    if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        return (p, p + 4);
    }
    if let Some(p) = raw.windows(2).position(|w| w == b"\n\n") {
        return (p, p + 2);
    }
    (raw.len(), raw.len())
}

/// The mail with a new Message-ID and, when given, a new From; every other byte kept.
pub fn rewrite(raw: &[u8], message_id: &str, from: Option<&str>) -> Vec<u8> {
    let (end, body) = head_end(raw);
    let head = &raw[..end];
    let nl: &[u8] = if head.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut out = Vec::with_capacity(raw.len() + 128);
    out.extend_from_slice(format!("Message-ID: {message_id}").as_bytes());
    out.extend_from_slice(nl);
    if let Some(f) = from {
        out.extend_from_slice(format!("From: {f}").as_bytes());
        out.extend_from_slice(nl);
    }
    let mut skipping = false;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            let lower = line.to_ascii_lowercase();
            skipping = lower.starts_with(b"message-id:")
                || (from.is_some() && lower.starts_with(b"from:"));
        }
        if !skipping {
            out.extend_from_slice(line);
            out.extend_from_slice(nl);
        }
    }
    out.extend_from_slice(nl);
    out.extend_from_slice(&raw[body.min(raw.len())..]);
    out
}

#[derive(Clone)]
pub struct Seeded {
    pub raw: Vec<u8>,
    pub internaldate: String,
}

/// `n` mails drawn from the golden fixtures: forms, scans, robots, questions, each with
/// its own Message-ID and (people only) its own sender; about 8 % are exact
/// duplicates of an earlier mail (same bytes, a later arrival). Arrival times spread
/// over 15–22 July 2022, so some are late.
pub fn corpus(n: usize, rng: &mut Rng) -> Vec<Seeded> {
    let fx = fixtures();
    let mut out: Vec<Seeded> = Vec::with_capacity(n);
    for i in 0..n {
        let day = 15 + rng.below(8);
        let internaldate = format!(
            "{day:02}-Jul-2022 {:02}:{:02}:{:02} +0800",
            rng.below(24),
            rng.below(60),
            rng.below(60)
        );
        if i >= 10 && rng.below(100) < 8 {
            let j = rng.below(out.len() as u64) as usize;
            let raw = out[j].raw.clone();
            out.push(Seeded { raw, internaldate });
            continue;
        }
        let f = &fx[rng.below(fx.len() as u64) as usize];
        let mid = format!("<crash-{i}-{}@test.example>", f.stem);
        let from = (!f.robot).then(|| format!("Sender {i} <sender{i}@school{}.example>", i % 37));
        out.push(Seeded {
            raw: rewrite(&f.raw, &mid, from.as_deref()),
            internaldate,
        });
    }
    out
}

/// APPENDs the corpus to `mailbox` (created unless INBOX), in order, 50 at a time.
pub fn seed_mailbox(d: &Dovecot, mailbox: &str, mails: &[Seeded]) {
    if !mailbox.eq_ignore_ascii_case("INBOX") {
        d.create_mailbox(mailbox);
    }
    let mut c = d.admin();
    for part in mails.chunks(50) {
        let items: Vec<AppendItem<'_>> = part
            .iter()
            .map(|m| AppendItem {
                raw: &m.raw,
                internaldate: &m.internaldate,
            })
            .collect();
        if let Err(e) = c.append_many(mailbox, &items) {
            panic!("seeding {mailbox} failed: {e}");
        }
    }
    c.logout();
}

// ---------------------------------------------------------------- the intake

/// Receipts sent (no rate limit, no per-sender folding, so every person's mail gets
/// its own receipt) to `smtp_port`, OCR off, bigger fetch chunks; `extra` is appended.
pub fn configure(it: &Intake, smtp_port: u16, smtp_ca: Option<&Path>, extra: &str) {
    let mut cfg = std::fs::read_to_string(&it.config).expect("read config");
    cfg = cfg.replace("[receipts]\nmode = \"off\"\n", "");
    cfg = cfg.replace("fetch_chunk = 7", "fetch_chunk = 25");
    // A configured tool path that is not a file means "not installed".
    let soffice = if std::env::var_os("KEPU_CRASH_SOFFICE").is_some_and(|v| v == "1") {
        String::new()
    } else {
        "soffice = \"/nonexistent/soffice\"\n".to_string()
    };
    let (tls, ca) = match smtp_ca {
        Some(ca) => ("implicit", format!("ca_file = \"{}\"\n", ca.display())),
        None => ("none", String::new()),
    };
    cfg.push_str(&format!(
        "\n[receipts]\nmode = \"send\"\nmax_per_minute = 0\nper_sender_window_s = 0\n\
         max_per_day = 0\nmax_per_domain_per_hour = 0\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"{tls}\"\n{ca}\
         from = \"tsqsnkj@126.com\"\n\n[tools]\nocr = false\n{soffice}\n{extra}"
    ));
    std::fs::write(&it.config, cfg).expect("write config");
}

/// `kepu-intake ARGS` with a generous deadline (bulk runs take minutes in debug).
pub fn run_long(it: &Intake, args: &[&str], timeout: Duration) -> (ExitStatus, String, String) {
    let child = it
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kepu-intake");
    wait_output(child, timeout, args)
}

/// A daemon process, SIGKILLed on drop so a failing test leaves none behind.
pub struct Proc(Option<Child>);

impl Proc {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("daemon already reaped")
    }
    pub fn id(&mut self) -> u32 {
        self.child().id()
    }
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child().try_wait()
    }
    /// SIGKILL and reap.
    pub fn sigkill(mut self) {
        if let Some(mut c) = self.0.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `kepu-intake run` with stderr appended to `log` (every restart in one file).
pub fn spawn_daemon(it: &Intake, log: &Path) -> Proc {
    let f = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log");
    Proc(Some(
        it.command(&["run"])
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .expect("spawn kepu-intake run"),
    ))
}

/// SIGTERM and wait up to 30 s; panics with the log if it does not stop.
pub fn terminate(mut proc: Proc, log: &Path) -> ExitStatus {
    let Some(mut child) = proc.0.take() else {
        panic!("daemon already reaped");
    };
    crate::support::intake::sigterm(&child);
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait daemon") {
            return st;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("daemon ignored SIGTERM for 30 s:\n{}", tail(log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last 60 lines of a log, for failure messages.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The dump, or None while the database cannot be read (daemon starting).
pub fn try_dump(it: &Intake) -> Option<Value> {
    let (status, out, _) = run_long(it, &["dump", "--json"], Duration::from_secs(120));
    if !status.success() {
        return None;
    }
    serde_json::from_str(&out).ok()
}

pub fn messages_of(dump: &Value) -> Vec<Value> {
    dump.get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// All `n` messages recorded and processed, and no receipt pending or in flight.
pub fn settled(dump: &Value, n: usize) -> bool {
    let msgs = messages_of(dump);
    msgs.len() == n
        && msgs.iter().all(|m| {
            !m["category"].is_null()
                && !matches!(m["receipt"]["status"].as_str(), Some("pending" | "sending"))
        })
}

/// Polls `dump` until `pred` holds or `timeout` passes; the last dump seen.
pub fn wait_dump(it: &Intake, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    let mut last = Value::Null;
    loop {
        if let Some(d) = try_dump(it) {
            if pred(&d) {
                return d;
            }
            last = d;
        }
        if t0.elapsed() > timeout {
            return last;
        }
        std::thread::sleep(Duration::from_millis(700));
    }
}

// ---------------------------------------------------------------- comparing

fn bare(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).to_string()
}

/// Message-ids and recipients of what reached an SMTP server: In-Reply-To (the mail
/// answered) → how many receipts answered it; recipients → count; Message-IDs.
pub struct Delivered {
    pub by_answered: BTreeMap<String, usize>,
    pub by_recipient: BTreeMap<String, usize>,
    pub ids: Vec<String>,
}

pub fn delivered(server: &SmtpServer) -> Delivered {
    let mut by_answered = BTreeMap::new();
    let mut ids = Vec::new();
    for raw in server.received() {
        let m = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("receipt parses");
        let answered = m.in_reply_to().as_text().map(bare).unwrap_or_default();
        *by_answered.entry(answered).or_insert(0) += 1;
        ids.push(m.message_id().map(bare).unwrap_or_default());
    }
    let mut by_recipient = BTreeMap::new();
    for rcpts in server.recipients() {
        for r in rcpts {
            *by_recipient.entry(r.to_lowercase()).or_insert(0) += 1;
        }
    }
    Delivered {
        by_answered,
        by_recipient,
        ids,
    }
}

impl Delivered {
    /// Receipts beyond the first for one mail, plus repeated Message-IDs.
    pub fn duplicated(&self) -> usize {
        let extra: usize = self.by_answered.values().map(|c| c - 1).sum();
        let mut ids = self.ids.clone();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        extra + (before - ids.len())
    }
    pub fn total(&self) -> usize {
        self.ids.len()
    }
}

/// The dump with database ids replaced by content (Message-IDs, sha256), sorted, so two
/// intakes of the same mail compare equal however their ids were assigned. A receipt
/// left `failed` as uncertain whose mail is in `delivered_to` counts as sent: it did
/// reach the server.
pub fn normalise(dump: &Value, answered: &BTreeMap<String, usize>) -> (Vec<String>, Vec<String>) {
    let msgs = messages_of(dump);
    let mid: HashMap<i64, String> = msgs
        .iter()
        .map(|m| (m["id"].as_i64().unwrap_or(-1), bare(s(m, "message_id"))))
        .collect();
    let mut sha: HashMap<i64, String> = HashMap::new();
    for m in &msgs {
        for d in m["documents"].as_array().into_iter().flatten() {
            sha.insert(d["id"].as_i64().unwrap_or(-1), s(d, "sha256").to_string());
        }
    }
    let doc_ref = |v: &Value| v.as_i64().and_then(|i| sha.get(&i).cloned());
    let problems = |v: &Value| {
        let mut p: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                let t = x.as_str().unwrap_or("");
                match t
                    .strip_prefix("duplicate_of:")
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    Some(n) => format!("duplicate_of:{}", mid.get(&n).cloned().unwrap_or_default()),
                    None => t.to_string(),
                }
            })
            .collect();
        p.sort();
        p
    };
    let mut out_m: Vec<String> = msgs
        .iter()
        .map(|m| {
            let id = bare(s(m, "message_id"));
            let mut receipt = s(&m["receipt"], "status").to_string();
            if receipt == "failed"
                && s(&m["receipt"], "reason").starts_with("uncertain")
                && answered.contains_key(&id)
            {
                receipt = "sent".into();
            }
            let docs: Vec<Value> = m["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    json!({
                        "name": d["name"], "sha256": d["sha256"], "format": d["format"],
                        "kind": d["kind"], "form": d["form"], "fields": d["fields"],
                        "stamped": d["stamped"], "scan_of": doc_ref(&d["scan_of"]),
                        "superseded_by": doc_ref(&d["superseded_by"]),
                        "container": doc_ref(&d["container"]),
                        "problems": problems(&d["problems"]),
                    })
                })
                .collect();
            json!({
                "message_id": id, "from": m["from"], "subject": m["subject"],
                "received_at": m["received_at"], "late": m["late"], "category": m["category"],
                "duplicate_of": m["duplicate_of"].as_i64().and_then(|i| mid.get(&i).cloned()),
                "receipt": receipt, "problems": problems(&m["problems"]), "documents": docs,
            })
            .to_string()
        })
        .collect();
    out_m.sort();
    let mut out_a: Vec<String> = dump["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            json!({
                "form": a["form"], "applicant": a["applicant"], "status": a["status"],
                "late": a["late"], "electronic": doc_ref(&a["electronic"]),
                "scan": doc_ref(&a["scan"]), "problems": problems(&a["problems"]),
            })
            .to_string()
        })
        .collect();
    out_a.sort();
    (out_m, out_a)
}

/// Lines of `a` not in `b` (as multisets), for readable failures.
pub fn missing(a: &[String], b: &[String]) -> Vec<String> {
    let mut left: Vec<&String> = b.iter().collect();
    let mut out = Vec::new();
    for x in a {
        match left.iter().position(|y| *y == x) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => out.push(x.clone()),
        }
    }
    out
}

/// The operator's part of the documented SMTP window: receipts the intake marked
/// `failed` as uncertain (killed mid-conversation) are looked up at the server (the
/// Sent folder, for a real one); those that never arrived are requeued with
/// `receipts --retry ID`. Returns (uncertain, retried).
pub fn operator_resolves_uncertain(it: &Intake, server: &SmtpServer) -> (usize, Vec<String>) {
    let out = it.run_ok(&["receipts"]);
    let got = delivered(server);
    let mut uncertain = 0;
    let mut retried = Vec::new();
    for line in out.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 || !cols[6].contains("uncertain") {
            continue;
        }
        uncertain += 1;
        let to = cols[2].to_lowercase();
        if got.by_recipient.get(&to).copied().unwrap_or(0) == 0 {
            it.run_ok(&["receipts", "--retry", cols[0]]);
            retried.push(cols[0].to_string());
        }
    }
    (uncertain, retried)
}

// ---------------------------------------------------------------- the test

/// What the daemon was doing when killed, from the last telling line it logged.
fn phase(segment: &str) -> &'static str {
    for line in segment.lines().rev() {
        if line.contains("receipt sent") || line.contains("receipts") {
            return "receipts";
        }
        if line.contains("已处理")
            || line.contains("processed")
            || line.contains("processing stored messages")
            || line.contains("recorded")
        {
            return "processing";
        }
        if line.contains("new messages on the server") || line.contains("connected") {
            return "fetching";
        }
    }
    "starting"
}

/// Seeds one mailbox twice (`INBOX` for the crash run, `Reference` for the clean run),
/// runs the reference once without kills, then the daemon with SIGKILLs at random
/// moments, and compares.
#[test]
fn crash_loop_sigkill_at_random_moments_changes_nothing() {
    let n = env_usize("KEPU_CRASH_MESSAGES", 200);
    let kills_wanted = env_usize("KEPU_CRASH_KILLS", 12);
    let seed = seed_from_env();
    println!("crash loop seed {seed} (replay with KEPU_CRASH_SEED={seed}), {n} messages, {kills_wanted} kills");
    let mut rng = Rng::new(seed);
    let mails = corpus(n, &mut rng);
    let d = Dovecot::start();
    seed_mailbox(&d, "INBOX", &mails);
    seed_mailbox(&d, "Reference", &mails);
    drop(mails);

    // The reference: one clean `run --once` on the copy, its own SMTP server.
    let ref_smtp = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let reference = Intake::new(Some(ImapTarget {
        dovecot: &d,
        tls: "implicit",
        mailbox: "Reference",
    }));
    configure(&reference, ref_smtp.port, ref_smtp.ca.as_deref(), "");
    let t_ref = Instant::now();
    let (st, _, err) = run_long(&reference, &["run", "--once"], Duration::from_secs(1800));
    assert!(st.success(), "reference run failed: {err}");
    let ref_wall = t_ref.elapsed();
    let ref_dump = reference.dump();
    assert!(settled(&ref_dump, n), "reference run left work undone");
    let ref_got = delivered(&ref_smtp);
    assert_eq!(
        ref_got.duplicated(),
        0,
        "the clean run itself sent duplicates"
    );
    assert!(
        ref_got.total() > n / 10,
        "too few receipts to prove anything: {}",
        ref_got.total()
    );

    // The crash run.
    let smtp = SmtpServer::start(ServerOpts {
        tls: true,
        ..Default::default()
    });
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    configure(&it, smtp.port, smtp.ca.as_deref(), "");
    let log = it.dir().join("daemon.log");
    // Kill moments spread so that K kills cover about one clean run's length.
    let span_ms = (2 * ref_wall.as_millis() as u64 / kills_wanted.max(1) as u64).max(300);
    let t0 = Instant::now();
    let mut kills = 0;
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    let mut log_seen = 0;
    while kills < kills_wanted {
        let mut child = spawn_daemon(&it, &log);
        let wait = Duration::from_millis(100 + rng.below(span_ms));
        std::thread::sleep(wait);
        if let Some(st) = child.try_wait().expect("try_wait") {
            panic!("daemon exited on its own ({st}):\n{}", tail(&log));
        }
        child.sigkill();
        kills += 1;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        *phases
            .entry(phase(&text[log_seen.min(text.len())..]))
            .or_insert(0) += 1;
        log_seen = text.len();
    }
    // A last, undisturbed daemon finishes the work.
    let child = spawn_daemon(&it, &log);
    let limit = (ref_wall * 4).max(Duration::from_secs(180));
    let dump = wait_dump(&it, limit, |v| settled(v, n));
    let st = terminate(child, &log);
    assert!(st.success(), "daemon exit {st}:\n{}", tail(&log));
    assert!(
        settled(&dump, n),
        "not settled within {limit:?}: {} messages\n{}",
        messages_of(&dump).len(),
        tail(&log)
    );
    let (uncertain, retried) = operator_resolves_uncertain(&it, &smtp);
    assert!(
        uncertain <= kills,
        "{uncertain} uncertain receipts after {kills} kills"
    );
    if !retried.is_empty() {
        let (st, _, err) = run_long(&it, &["run", "--once"], Duration::from_secs(600));
        assert!(st.success(), "run --once after retries: {err}");
    }
    let wall = t0.elapsed();
    let dump = it.dump();
    let got = delivered(&smtp);

    let (ref_m, ref_a) = normalise(&ref_dump, &ref_got.by_answered);
    let (m, a) = normalise(&dump, &got.by_answered);
    let lost_msgs = missing(&ref_m, &m);
    let extra_msgs = missing(&m, &ref_m);
    let lost_receipts: Vec<&String> = ref_got
        .by_answered
        .keys()
        .filter(|k| !got.by_answered.contains_key(*k))
        .collect();
    let extra_receipts: Vec<&String> = got
        .by_answered
        .keys()
        .filter(|k| !ref_got.by_answered.contains_key(*k))
        .collect();
    let duplicated = got.duplicated() + extra_receipts.len();
    println!(
        "crash loop figures: seed {seed}, kills {kills}, messages {n} (recorded {}), receipts {} \
         (reference {}), uncertain {uncertain} (operator retried {}), lost {}, duplicated {}, \
         wall {:.1} s (reference run {:.1} s), kills by phase {phases:?}",
        messages_of(&dump).len(),
        got.total(),
        ref_got.total(),
        retried.len(),
        lost_msgs.len() + lost_receipts.len(),
        duplicated + extra_msgs.len(),
        wall.as_secs_f64(),
        ref_wall.as_secs_f64()
    );
    assert!(
        lost_msgs.is_empty() && extra_msgs.is_empty(),
        "messages differ from the clean run:\nonly in reference: {lost_msgs:#?}\nonly after kills: {extra_msgs:#?}"
    );
    let (lost_a, extra_a) = (missing(&ref_a, &a), missing(&a, &ref_a));
    assert!(
        lost_a.is_empty() && extra_a.is_empty(),
        "applications differ from the clean run:\nonly in reference: {lost_a:#?}\nonly after kills: {extra_a:#?}"
    );
    assert!(
        lost_receipts.is_empty(),
        "receipts never delivered: {lost_receipts:?}"
    );
    assert_eq!(
        duplicated, 0,
        "receipts delivered twice: {:?}",
        got.by_answered
    );
    assert_eq!(
        got.by_recipient, ref_got.by_recipient,
        "receipts per recipient differ"
    );
    let seen: HashSet<&String> = got.by_answered.keys().collect();
    assert_eq!(seen.len(), ref_got.by_answered.len());
}
