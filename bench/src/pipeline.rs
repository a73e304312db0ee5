//! `bench pipeline` and `bench attachment`: the whole intake (record → extract → parse
//! forms → seal check → applications) over generated submissions, and the peak memory
//! of one message with a very large attachment.
//!
//! The corpus is made from the golden fixtures, so every document is one a real
//! producer wrote: each form template gets a fresh applicant name per message (the
//! name is replaced in every XML part of the zip, so .docx and .xlsx both work), stamped
//! scans ride along or arrive alone, and the robot / question / zip / cloud mails of
//! `fixtures/mail` are mixed in with new Message-IDs, plus exact redeliveries.
//!
//! Baseline, in the same run over the same files: a Python script with the standard
//! library's `email` package that parses each message and writes its attachments to
//! disk — what an office script would do, without forms, seals or a database. It does
//! far less work, so the ratio says what the whole pipeline costs over bare MIME.

use super::{base64, timed, Rng, Sample};
use kepu_intake::forms;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use tmpdir::ShortTempDir;

use super::tmpdir;

const FORM_TEMPLATES: &[&str] = &[
    "expert_pydocx.docx",
    "expert_wps.docx",
    "resource_pydocx.docx",
    "resource_lo.docx",
    "resource_openpyxl.xlsx",
    "school_pydocx.docx",
    "district_pydocx.docx",
];
const SCANS: &[&str] = &["stamped_scan.png", "stamped_photo.jpg", "unstamped.jpg"];

/// Python's own MIME walk: parse, then write every attachment's bytes to a file.
const BASELINE_PY: &str = r#"
import email, email.policy, hashlib, os, sys
src, out = sys.argv[1], sys.argv[2]
n = docs = 0
for name in sorted(os.listdir(src)):
    with open(os.path.join(src, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    n += 1
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() != "attachment":
            continue
        data = part.get_payload(decode=True) or b""
        with open(os.path.join(out, hashlib.sha256(data).hexdigest()), "wb") as f:
            f.write(data)
        docs += 1
print(n, docs)
"#;

fn fixtures() -> PathBuf {
    crate::repo_root().join("fixtures")
}

/// One electronic form template: its bytes, sniffed format, form and applicant name.
struct Template {
    file: &'static str,
    bytes: Vec<u8>,
    mime: &'static str,
    applicant: String,
}

fn load_templates() -> io::Result<Vec<Template>> {
    let mut out = Vec::new();
    for file in FORM_TEMPLATES {
        let bytes = std::fs::read(fixtures().join("forms").join(file))?;
        let (format, mime) = if file.ends_with(".xlsx") {
            (
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        } else {
            (
                "docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        };
        let parsed = forms::parse_electronic(kepu_intake::call::current(), format, &bytes)
            .map_err(|e| io::Error::other(format!("template {file}: {e}")))?;
        let applicant = parsed
            .form
            .and_then(|f| f.def())
            .and_then(|f| forms::applicant(f, &parsed.fields))
            .ok_or_else(|| io::Error::other(format!("template {file}: no applicant")))?;
        out.push(Template {
            file,
            bytes,
            mime,
            applicant,
        });
    }
    Ok(out)
}

/// The template with its applicant renamed in every XML part.
fn renamed(t: &Template, new_name: &str) -> io::Result<Vec<u8>> {
    let mut src = zip::ZipArchive::new(Cursor::new(&t.bytes)).map_err(io::Error::other)?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut entry = src.by_index(i).map_err(io::Error::other)?;
        let name = entry.name().map_err(io::Error::other)?.to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        if name.ends_with(".xml") {
            if let Ok(text) = String::from_utf8(data.clone()) {
                data = text.replace(&t.applicant, new_name).into_bytes();
            }
        }
        out.start_file(name, opts).map_err(io::Error::other)?;
        out.write_all(&data)?;
    }
    Ok(out.finish().map_err(io::Error::other)?.into_inner())
}

/// A plausible, unique name for applicant `i` of the kind the template names.
fn applicant_name(t: &Template, i: usize) -> String {
    const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
    const GIVEN: &[&str] = &[
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛",
    ];
    const PLACES: &[&str] = &["路南区", "路北区", "古冶区", "开平区", "丰南区", "丰润区"];
    if t.file.starts_with("expert") {
        // People: surname + two given characters + a number-free distinguishing pair.
        format!(
            "{}{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
            GIVEN[(i / (SURNAMES.len() * GIVEN.len())) % GIVEN.len()]
        )
    } else {
        format!("唐山市{}第{}实验学校", PLACES[i % PLACES.len()], i + 1)
    }
}

fn b64_lines(data: &[u8]) -> String {
    let one = base64(data);
    let mut s = String::with_capacity(one.len() + one.len() / 76 * 2 + 2);
    for chunk in one.as_bytes().chunks(76) {
        // base64 output is ASCII, so any chunk boundary is a char boundary.
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push_str("\r\n");
    }
    s
}

fn word(s: &str) -> String {
    format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
}

/// One submission mail with the given attachments (name, MIME type, bytes).
fn submission(i: usize, from: &str, day: u32, attachments: &[(String, &str, Vec<u8>)]) -> Vec<u8> {
    let boundary = format!("=_kepu_bench_{i}");
    let date = format!(
        "{day:02} Jul 2022 10:{:02}:{:02} +0800",
        i % 60,
        (i * 7) % 60
    );
    let mut m = format!(
        "Received: from smtp.example ([192.0.2.10]) by mx.126.com with ESMTP; Wed, {date}\r\n\
         From: {} <{from}>\r\nTo: tsqsnkj@126.com\r\nSubject: {}\r\nDate: Wed, {date}\r\n\
         Message-ID: <bench-{i}@school.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        word("申报联系人"),
        word("科普赋能申报材料"),
        b64_lines("您好，附件是我单位的申报表电子版和盖章扫描件，请查收。".as_bytes())
    );
    for (name, mime, bytes) in attachments {
        let w = word(name);
        m.push_str(&format!(
            "--{boundary}\r\nContent-Type: {mime}; name=\"{w}\"\r\n\
             Content-Disposition: attachment; filename=\"{w}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}",
            b64_lines(bytes)
        ));
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    m.into_bytes()
}

/// A fixture mail with its Message-ID replaced, so it is a new message.
fn reissued(raw: &[u8], i: usize) -> Vec<u8> {
    let mut out = format!("Message-ID: <bench-fixture-{i}@example.net>\r\n").into_bytes();
    let mut in_headers = true;
    let mut skipping = false;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if in_headers {
            if line == b"\r\n" || line == b"\n" {
                in_headers = false;
            } else if skipping && (line[0] == b' ' || line[0] == b'\t') {
                continue;
            } else {
                skipping = line.len() > 11 && line[..11].eq_ignore_ascii_case(b"message-id:");
                if skipping {
                    continue;
                }
            }
        }
        out.extend_from_slice(line);
    }
    out
}

/// What a generated corpus holds, for checking the run recorded all of it.
pub struct Corpus {
    pub messages: usize,
    pub bytes: u64,
}

/// Writes `n` messages into `dir` (one .eml each) from seed `seed`.
pub fn build_corpus(dir: &Path, n: usize, seed: u64) -> io::Result<Corpus> {
    let templates = load_templates()?;
    let mut scans = Vec::new();
    for s in SCANS {
        let mime = if s.ends_with(".png") {
            "image/png"
        } else {
            "image/jpeg"
        };
        scans.push((*s, mime, std::fs::read(fixtures().join("scans").join(s))?));
    }
    let mut others = Vec::new();
    for e in std::fs::read_dir(fixtures().join("mail"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "eml") {
            others.push(std::fs::read(&p)?);
        }
    }
    others.sort();
    let mut rng = Rng(seed | 1);
    let mut written: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut bytes = 0u64;
    for i in 0..n {
        let roll = rng.below(100);
        let t = &templates[rng.below(templates.len())];
        let name = applicant_name(t, i);
        let from = format!("office{i}@school{}.example", i % 97);
        let day = 1 + (i % 25) as u32; // some after the 20 July deadline: late
        let ext = if t.file.ends_with(".xlsx") {
            "xlsx"
        } else {
            "docx"
        };
        let form = || -> io::Result<(String, &str, Vec<u8>)> {
            Ok((format!("{name}申报表.{ext}"), t.mime, renamed(t, &name)?))
        };
        let scan = |rng: &mut Rng| {
            let (file, mime, data) = &scans[rng.below(scans.len())];
            let ext = file.rsplit('.').next().unwrap_or("jpg");
            (format!("{name}盖章扫描件.{ext}"), *mime, data.clone())
        };
        let raw = match roll {
            0..=44 => submission(i, &from, day, &[form()?, scan(&mut rng)]),
            45..=59 => submission(i, &from, day, &[form()?]),
            60..=67 => submission(i, &from, day, &[scan(&mut rng)]),
            68..=94 if !others.is_empty() => reissued(&others[rng.below(others.len())], i),
            // A redelivery: the same mail again with one more trace header, as a
            // retrying server delivers it (a different sha256, the same body).
            _ if !written.is_empty() => [
                format!(
                    "Received: from mx2.126.com by mx.126.com with ESMTP; Thu, 21 Jul 2022 09:00:{:02} +0800\r\n",
                    i % 60
                )
                .as_bytes(),
                &written[rng.below(written.len())],
            ]
            .concat(),
            _ => submission(i, &from, day, &[form()?]),
        };
        std::fs::write(dir.join(format!("{i:05}.eml")), &raw)?;
        bytes += raw.len() as u64;
        written.push(raw);
    }
    Ok(Corpus { messages: n, bytes })
}

/// A config for `import` into `data` with OCR off (a tesseract path that does not
/// exist) and receipts off.
fn write_config(dir: &Path, data: &Path, max_attachment: u64) -> io::Result<PathBuf> {
    let config = dir.join("kepu-intake.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{}\"\n\n[receipts]\nmode = \"off\"\n\n\
             [intake]\nmax_attachment_bytes = {max_attachment}\n\n\
             [tools]\ntesseract = \"/nonexistent/tesseract\"\n",
            data.display()
        ),
    )?;
    Ok(config)
}

fn intake_import(
    intake: &Path,
    config: &Path,
    src: &Path,
) -> io::Result<(Sample, serde_json::Value)> {
    let mut cmd = Command::new(intake);
    cmd.arg("--config").arg(config).arg("import").arg(src);
    let (sample, _) = timed(cmd, "kepu-intake import")?;
    let out = Command::new(intake)
        .arg("--config")
        .arg(config)
        .args(["dump", "--json"])
        .output()?;
    let dump = serde_json::from_slice(&out.stdout)
        .map_err(|e| io::Error::other(format!("dump --json is not JSON: {e}")))?;
    Ok((sample, dump))
}

fn python_baseline(src: &Path, work: &Path) -> io::Result<Sample> {
    let script = work.join("baseline.py");
    std::fs::write(&script, BASELINE_PY)?;
    let out = work.join("py-out");
    std::fs::create_dir_all(&out)?;
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(src).arg(&out);
    Ok(timed(cmd, "python3 baseline")?.0)
}

fn count(dump: &serde_json::Value, key: &str) -> usize {
    dump.get(key).and_then(|v| v.as_array()).map_or(0, Vec::len)
}

/// `bench pipeline --messages N`.
pub fn pipeline(intake: &Path, n: usize, seed: u64) -> io::Result<()> {
    let work = ShortTempDir::new("kbp")?;
    let src = work.path().join("mail");
    std::fs::create_dir(&src)?;
    let corpus = build_corpus(&src, n, seed)?;
    println!(
        "corpus: {} messages, {:.1} MiB (seed {seed}): forms from 4 producers, stamped and \
         unstamped scans, robots, questions, zips, redeliveries; OCR off",
        corpus.messages,
        corpus.bytes as f64 / 1048576.0
    );
    let data = work.path().join("data");
    let config = write_config(work.path(), &data, 64 << 20)?;
    let (ours, dump) = intake_import(intake, &config, &src)?;
    let got = count(&dump, "messages");
    if got != corpus.messages {
        return Err(io::Error::other(format!(
            "kepu-intake recorded {got} of {} messages",
            corpus.messages
        )));
    }
    let docs: usize = dump
        .get("messages")
        .and_then(|m| m.as_array())
        .map_or(0, |ms| ms.iter().map(|m| count(m, "documents")).sum());
    let apps = count(&dump, "applications");
    let theirs = python_baseline(&src, work.path())?;
    let rate = |s: &Sample| corpus.messages as f64 / s.wall.as_secs_f64().max(1e-9);
    println!("recorded {got} messages, {docs} documents, {apps} applications");
    println!();
    println!("| program | wall | messages/s | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| kepu-intake import (whole pipeline, OCR off) | {:.2} s | {:.0} | {} MiB |",
        ours.wall.as_secs_f64(),
        rate(&ours),
        ours.max_rss_kib / 1024
    );
    println!(
        "| python3 email: parse + save attachments | {:.2} s | {:.0} | {} MiB |",
        theirs.wall.as_secs_f64(),
        rate(&theirs),
        theirs.max_rss_kib / 1024
    );
    println!(
        "ratio kepu-intake / python wall = {:.2}",
        ours.wall.as_secs_f64() / theirs.wall.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// `bench attachment --mb N`: peak RSS of recording and processing one message whose
/// attachment is N MiB of incompressible bytes, against the Python baseline on the
/// same file and against the attachment's own size.
pub fn attachment(intake: &Path, mb: usize) -> io::Result<()> {
    let work = ShortTempDir::new("kba")?;
    let src = work.path().join("mail");
    std::fs::create_dir(&src)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut blob = vec![0u8; mb << 20];
    for chunk in blob.chunks_mut(8) {
        let v = rng.next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    // A scanned PDF is what applicants send at this size: give it a PDF header so it
    // is sniffed as one (an image-less PDF: the scan stage finds no page and says so).
    blob[..9].copy_from_slice(b"%PDF-1.4\n");
    let raw = submission(
        0,
        "office@big.example",
        10,
        &[(
            "申报材料合集扫描件.pdf".to_string(),
            "application/pdf",
            blob,
        )],
    );
    std::fs::write(src.join("big.eml"), &raw)?;
    let data = work.path().join("data");
    let config = write_config(work.path(), &data, (mb as u64 + 8) << 20)?;
    let (ours, dump) = intake_import(intake, &config, &src)?;
    if count(&dump, "messages") != 1 {
        return Err(io::Error::other("the large message was not recorded"));
    }
    let theirs = python_baseline(&src, work.path())?;
    let mib = |k: i64| k as f64 / 1024.0;
    println!(
        "one message of {:.1} MiB carrying a {mb} MiB attachment",
        raw.len() as f64 / 1048576.0
    );
    println!();
    println!("| program | wall | peak RSS | RSS / attachment |");
    println!("|---|---|---|---|");
    for (what, s) in [
        ("kepu-intake import (whole pipeline)", &ours),
        ("python3 email: parse + save attachment", &theirs),
    ] {
        println!(
            "| {what} | {:.2} s | {:.0} MiB | {:.1}× |",
            s.wall.as_secs_f64(),
            mib(s.max_rss_kib),
            mib(s.max_rss_kib) / mb as f64
        );
    }
    println!(
        "ratio kepu-intake / python peak RSS = {:.2}",
        ours.max_rss_kib as f64 / theirs.max_rss_kib.max(1) as f64
    );
    Ok(())
}
