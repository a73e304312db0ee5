//! The persistent parser worker (`isolate::Worker`, child `kepu-parse-doc
//! __parse-worker`): one process serves many documents with the same results as the
//! in-process parser, and every way a worker can fail (hanging or crashing document,
//! SIGKILL from outside, garbage or oversized answers) costs only the document at hand;
//! the next one is parsed correctly by a fresh worker.

use crate::forms::{docx_with, W};
use kepu_intake::forms::{self, FormError, ParsedForm};
use kepu_intake::isolate::{IsolateOptions, Worker};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn real_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kepu-parse-doc"))
}

fn worker() -> Worker {
    Worker::new(IsolateOptions::new(real_exe()))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/forms")
            .join(name),
    )
    .unwrap()
}

/// A golden form and its in-process parse, the reference for the worker's answers.
fn district() -> (Vec<u8>, ParsedForm) {
    let doc = fixture("district_pydocx.docx");
    let want = forms::parse_electronic(kepu_intake::call::Call::builtin(), "docx", &doc).unwrap();
    assert_eq!(
        want.form,
        Some(kepu_intake::model::FormKey::parse("pilot_district").unwrap())
    );
    (doc, want)
}

/// A real document.xml of about `mb` MB: an expert form title, then paragraphs.
fn big_expert_docx(mb: usize) -> Vec<u8> {
    let mut xml = format!("<w:document {W}><w:body>").into_bytes();
    xml.extend_from_slice(
        "<w:p><w:r><w:t>科技教育专家服务团成员推荐表</w:t></w:r></w:p>".as_bytes(),
    );
    let para = "<w:p><w:r><w:t>科技教育专家服务团</w:t></w:r></w:p>".as_bytes();
    while xml.len() < (mb << 20) {
        xml.extend_from_slice(para);
    }
    xml.extend_from_slice(b"</w:body></w:document>");
    docx_with(&xml)
}

fn is_dead(pid: u32) -> bool {
    // A reaped worker's /proc entry is gone; a zombie would say so in its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
        .unwrap_or(true)
}

#[test]
fn worker_matches_in_process_for_every_golden_form_in_one_process() {
    let files = crate::forms::golden_form_files();
    let w = worker();
    let mut pid = None;
    let mut forms_seen = 0;
    for f in &files {
        let format = f.extension().unwrap().to_str().unwrap();
        let bytes = std::fs::read(f).unwrap();
        // The in-process reference gets the same input the child gets: .doc converted
        // by LibreOffice, PDF as poppler's text.
        let (fmt, input) = match format {
            "doc" => (
                "docx",
                kepu_intake::convert::to_docx(
                    &w.options().tools,
                    &bytes,
                    "doc",
                    kepu_intake::convert::SOFFICE_TIMEOUT,
                )
                .unwrap(),
            ),
            "pdf" => (
                "pdf-text",
                kepu_intake::convert::pdf_text(&bytes).unwrap().into_bytes(),
            ),
            f => (f, bytes.clone()),
        };
        let want = forms::parse_electronic(kepu_intake::call::Call::builtin(), fmt, &input);
        let got = w.read_electronic(format, &bytes);
        assert_eq!(got, want, "{}", f.display());
        if want.as_ref().is_ok_and(|p| p.form.is_some()) {
            forms_seen += 1;
        }
        let now = w.worker_pid();
        assert!(now.is_some(), "no worker after {}", f.display());
        assert!(
            pid.is_none() || pid == now,
            "worker replaced at {}",
            f.display()
        );
        pid = now;
    }
    assert!(
        forms_seen >= 17,
        "only {forms_seen} golden forms recognised"
    );
    assert_eq!(w.spawned(), 1);
}

#[test]
fn many_sequential_parses_reuse_one_worker_process() {
    let (doc, want) = district();
    let w = worker();
    assert_eq!(w.worker_pid(), None, "started before the first request");
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let pid = w.worker_pid().unwrap();
    for i in 0..60 {
        assert_eq!(w.parse("docx", &doc).unwrap(), want, "parse {i}");
        assert_eq!(
            w.worker_pid(),
            Some(pid),
            "parse {i} ran in another process"
        );
    }
    assert_eq!(w.spawned(), 1);
    drop(w);
    assert!(is_dead(pid), "worker {pid} outlived its handle");
}

#[test]
fn hanging_document_times_out_and_the_next_one_gets_a_fresh_worker() {
    let (doc, want) = district();
    // A legal 40 MB document.xml: the real parser needs far longer than 150 ms for it.
    let slow = big_expert_docx(40);
    let mut o = IsolateOptions::new(real_exe());
    o.timeout = Duration::from_millis(150);
    let w = Worker::new(o);
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let first = w.worker_pid().unwrap();
    let started = Instant::now();
    let r = w.parse("docx", &slow);
    let took = started.elapsed();
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("timed out")),
        "{r:?}"
    );
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(is_dead(first), "timed-out worker {first} still alive");
    assert_eq!(w.worker_pid(), None, "respawned before it was needed");
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let second = w.worker_pid().unwrap();
    assert_ne!(first, second);
    assert_eq!(w.spawned(), 2);
}

#[test]
fn worker_killed_from_outside_between_requests_is_replaced() {
    let (doc, want) = district();
    let w = worker();
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    // Killed and reaped-looking before the next request: found dead up front.
    let pid = w.worker_pid().unwrap();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_dead(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let pid2 = w.worker_pid().unwrap();
    assert_ne!(pid, pid2);
    // Killed right before the request, no waiting: the request may reach a dying
    // worker; it must still be answered by a fresh one.
    unsafe { libc::kill(pid2 as i32, libc::SIGKILL) };
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let pid3 = w.worker_pid().unwrap();
    assert_ne!(pid2, pid3);
    assert_eq!(w.spawned(), 3);
}

#[test]
fn crashing_document_does_not_poison_later_ones() {
    let (doc, want) = district();
    // Under a 32 MB address-space cap the worker parses the golden forms but aborts
    // (allocation failure while building the model) on a 10 MB document.xml. (Smaller
    // caps fail more gently: inflating into the buffer already runs out, and that is
    // an ordinary `Corrupt` answer, no crash.)
    let mut o = IsolateOptions::new(real_exe());
    o.memory_mb = 32;
    let w = Worker::new(o);
    let huge = big_expert_docx(10);
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    let first = w.worker_pid().unwrap();
    let r = w.parse("docx", &huge);
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("crashed")),
        "{r:?}"
    );
    assert!(is_dead(first));
    for _ in 0..3 {
        assert_eq!(w.parse("docx", &doc).unwrap(), want);
    }
    // Three workers: the first (killed by the document after serving another), one
    // retry on a fresh worker (the death might not have been the document's fault;
    // it dies there too, and that is the answer), and the one serving the rest.
    assert_eq!(w.spawned(), 3);
    // The same document parses without the cap, in the same kind of worker.
    let mut o = IsolateOptions::new(real_exe());
    o.timeout = Duration::from_secs(120);
    let r = Worker::new(o).parse("docx", &huge).unwrap();
    assert_eq!(
        r.form,
        Some(kepu_intake::model::FormKey::parse("expert").unwrap())
    );
}

/// A stand-in worker binary: its first start misbehaves as `first`, later starts are
/// the real worker.
fn flaky_exe(dir: &Path, first: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("flaky-worker");
    let count = dir.join("starts");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nn=$(cat '{c}' 2>/dev/null || echo 0)\necho $((n + 1)) > '{c}'\n\
             if [ \"$n\" = 0 ]; then\n{first}\nfi\nexec '{real}' \"$@\"\n",
            c = count.display(),
            real = real_exe().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn hung_garbage_or_oversized_answers_cost_one_document_only() {
    let (doc, want) = district();
    for (case, first, expect) in [
        ("hung worker", "exec sleep 30", "timed out"),
        (
            "garbage answer",
            "cat >/dev/null &\nprintf '\\000\\000\\000\\005hello'\nexec sleep 30",
            "not a parse result",
        ),
        (
            "oversized answer",
            "cat >/dev/null &\nprintf '\\377\\377\\377\\377{'\nexec sleep 30",
            "announced",
        ),
        (
            "exit without answering",
            "head -c 10 >/dev/null\nexit 3",
            "before answering",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut o = IsolateOptions::new(flaky_exe(tmp.path(), first));
        o.timeout = Duration::from_millis(1500);
        let w = Worker::new(o);
        let started = Instant::now();
        let r = w.parse("docx", &doc);
        assert!(
            matches!(&r, Err(FormError::Corrupt(m)) if m.contains(expect)),
            "{case}: {r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{case}");
        assert_eq!(
            w.parse("docx", &doc).unwrap(),
            want,
            "{case}: next document"
        );
        assert_eq!(w.spawned(), 2, "{case}");
    }
}

#[test]
fn concurrent_callers_share_one_worker() {
    let (doc, want) = district();
    let xlsx = fixture("resource_openpyxl.xlsx");
    let want_xlsx =
        forms::parse_electronic(kepu_intake::call::Call::builtin(), "xlsx", &xlsx).unwrap();
    let w = worker();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (w, doc, want, xlsx, want_xlsx) = (&w, &doc, &want, &xlsx, &want_xlsx);
            s.spawn(move || {
                for i in 0..15 {
                    if (i + t) % 2 == 0 {
                        assert_eq!(&w.parse("docx", doc).unwrap(), want, "thread {t} #{i}");
                    } else {
                        assert_eq!(
                            &w.parse("xlsx", xlsx).unwrap(),
                            want_xlsx,
                            "thread {t} #{i}"
                        );
                    }
                }
            });
        }
    });
    assert_eq!(w.spawned(), 1);
}

#[test]
fn worker_is_recycled_after_n_requests_or_above_the_rss_limit() {
    let (doc, want) = district();
    let w = worker().with_recycling(3, u64::MAX);
    let mut pids = Vec::new();
    for _ in 0..7 {
        assert_eq!(w.parse("docx", &doc).unwrap(), want);
        pids.push(w.worker_pid());
    }
    // Retired right after its third answer; the next request starts another.
    assert_eq!(pids[2], None);
    assert_eq!(pids[5], None);
    assert!(pids[0].is_some() && pids[0] == pids[1]);
    assert!(pids[3].is_some() && pids[3] == pids[4] && pids[3] != pids[0]);
    assert_eq!(w.spawned(), 3);
    // Any worker is over a 1 MB resident limit: replaced after every document.
    let w = worker().with_recycling(1000, 1 << 20);
    for _ in 0..3 {
        assert_eq!(w.parse("docx", &doc).unwrap(), want);
        assert_eq!(w.worker_pid(), None);
    }
    assert_eq!(w.spawned(), 3);
}

#[test]
fn malformed_documents_are_answered_by_the_worker_without_replacing_it() {
    // The parent does no XML precheck on the worker path: the worker's own check must
    // refuse these, as an ordinary answer that keeps the worker.
    let (doc, want) = district();
    let w = worker();
    assert_eq!(w.read_electronic("docx", &doc).unwrap(), want);
    let pid = w.worker_pid().unwrap();
    let name = b"word/document.xml";
    let at = doc.windows(name.len()).position(|x| x == name).unwrap() + name.len();
    let mut flipped = doc.clone();
    flipped[at + 40] ^= 0xFF;
    let unclosed = docx_with(format!("<w:document {W}><w:body><w:p><w:r><w:t>姓名").as_bytes());
    for (case, bytes) in [
        ("byte-flipped", flipped),
        ("unclosed", unclosed),
        ("not a zip", b"PK\x03\x04 not really".to_vec()),
    ] {
        let r = w.read_electronic("docx", &bytes);
        assert!(matches!(&r, Err(FormError::Corrupt(_))), "{case}: {r:?}");
        assert!(!format!("{r:?}").contains("crashed"), "{case}: {r:?}");
        assert_eq!(w.worker_pid(), Some(pid), "{case}: worker replaced");
    }
    assert_eq!(w.read_electronic("docx", &doc).unwrap(), want);
    assert_eq!(w.spawned(), 1);
}

#[test]
fn document_sent_to_a_worker_that_died_idle_is_retried_on_a_fresh_one() {
    // A scripted first worker: reads one whole request, answers `Err(Encrypted)`,
    // then exits at the first byte of the next request, as a worker killed between
    // requests looks to a parent that has not noticed yet. That document must not be
    // blamed: it goes to a fresh worker, once.
    let (doc, want) = district();
    let request = 1 + "docx".len() + 4 + doc.len();
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "head -c {request} >/dev/null\nprintf '\\000\\000\\000\\023{{\"Err\":\"Encrypted\"}}'\nhead -c 1 >/dev/null\nexit 0"
    );
    let w = Worker::new(IsolateOptions::new(flaky_exe(tmp.path(), &script)));
    assert_eq!(w.parse("docx", &doc), Err(FormError::Encrypted));
    assert_eq!(w.parse("docx", &doc).unwrap(), want);
    assert_eq!(w.spawned(), 2);
}
