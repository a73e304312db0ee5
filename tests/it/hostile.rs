//! "Prove it", hostile inputs: nasty mail generated here (nothing big is committed) is
//! fetched by the running daemon; each becomes a named problem in `dump --json`, the
//! daemon stays up, and its peak memory (VmHWM) stays bounded.

use crate::crash::{spawn_daemon, tail, terminate, wait_dump};
use crate::support::imap_client::AppendItem;
use crate::support::{s, Dovecot, ImapTarget, Intake};
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// Base64 in 76-column lines (no dependency for it in the project).
pub fn base64(data: &[u8]) -> String {
    let one = crate::support::base64::encode(data);
    let mut out = String::with_capacity(one.len() + one.len() / 38 + 8);
    for line in one.as_bytes().chunks(76) {
        // base64 output is ASCII, so any chunk boundary is a char boundary.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        if line.len() == 76 {
            out.push_str("\r\n");
        }
    }
    out
}

fn head(tag: &str, ctype: &str) -> String {
    format!(
        "From: Hostile {tag} <{tag}@attacker.example>\r\nTo: tsqsnkj@126.com\r\n\
         Subject: 申报材料 {tag}\r\nDate: Mon, 18 Jul 2022 10:31:40 +0800\r\n\
         Message-ID: <hostile-{tag}@test>\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}\r\n"
    )
}

/// A mail with one base64 attachment.
fn with_attachment(tag: &str, name: &str, ctype: &str, bytes: &[u8]) -> Vec<u8> {
    format!(
        "{}\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n附件见后\r\n\
         --b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        head(tag, "multipart/mixed; boundary=\"b\""),
        base64(bytes)
    )
    .into_bytes()
}

/// A zip of (name, bytes, deflate?) members.
fn zip_of(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, deflate) in members {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, opts).expect("zip member");
        w.write_all(bytes).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// Sets the "encrypted" flag (bit 0) in every local and central header, which is what
/// an encrypted zip looks like to a reader that has no password.
fn mark_encrypted(mut z: Vec<u8>) -> Vec<u8> {
    let mut i = 0;
    while i + 10 < z.len() {
        match &z[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => z[i + 6] |= 1,
            [0x50, 0x4b, 0x01, 0x02] => z[i + 8] |= 1,
            _ => {}
        }
        i += 1;
    }
    z
}

/// Deterministic filler that does not compress (a 50 MB "scan").
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `depth` messages forwarded inside each other.
fn nested_forwards(tag: &str, depth: usize) -> Vec<u8> {
    let mut inner = b"From: a@b.example\r\nSubject: innermost\r\n\r\nhello\r\n".to_vec();
    for level in 0..depth {
        let b = format!("n{level}");
        let mut m = format!(
            "From: fw{level}@b.example\r\nSubject: Fwd {level}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n\
             Content-Type: message/rfc822\r\n\r\n"
        )
        .into_bytes();
        m.extend_from_slice(&inner);
        m.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        inner = m;
    }
    let mut out = head(tag, "multipart/mixed; boundary=\"top\"").into_bytes();
    out.extend_from_slice(b"\r\n--top\r\nContent-Type: message/rfc822\r\n\r\n");
    out.extend_from_slice(&inner);
    out.extend_from_slice(b"\r\n--top--\r\n");
    out
}

/// (tag, raw mail, a problem name the dump must show on the message or a document).
fn nasty() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let zeros = vec![0u8; 40 * 1024 * 1024];
    let bomb = zip_of(&[("报名表.docx", &zeros, true)]);
    drop(zeros);
    let slip = zip_of(&[
        ("../../../../etc/cron.d/evil", b"* * * * * root sh", false),
        ("/root/.ssh/authorized_keys", b"ssh-ed25519 AAAA", false),
    ]);
    let encrypted = mark_encrypted(zip_of(&[("附件1.docx", b"secret form", false)]));
    let mut corrupt_docx = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
    corrupt_docx.extend(noise(4000));
    let mut many = head("parts", "multipart/mixed; boundary=\"p\"").into_bytes();
    many.extend_from_slice(b"\r\n");
    for i in 0..10_000 {
        many.extend_from_slice(
            format!(
                "--p\r\nContent-Type: text/plain; name=\"n{i}.txt\"\r\n\
                 Content-Disposition: attachment; filename=\"n{i}.txt\"\r\n\r\npart {i}\r\n"
            )
            .as_bytes(),
        );
    }
    many.extend_from_slice(b"--p--\r\n");
    let mut huge_headers = head("headers", "text/plain; charset=utf-8").into_bytes();
    let junk = "x".repeat(990);
    for i in 0..2000 {
        huge_headers.extend_from_slice(format!("X-Junk-{i}: {junk}\r\n").as_bytes());
    }
    huge_headers.extend_from_slice("\r\n申报材料见附件\r\n".as_bytes());
    let malformed = format!(
        "{}\r\n--nowhere\r\nContent-Type: text/plain\r\n\r\nno boundary declared\r\n",
        head("mime", "multipart/mixed")
    )
    .into_bytes();
    vec![
        (
            "bomb",
            with_attachment("bomb", "材料.zip", "application/zip", &bomb),
            "zip_bomb",
        ),
        (
            "slip",
            with_attachment("slip", "材料.zip", "application/zip", &slip),
            "unsafe_name",
        ),
        (
            "traversal",
            with_attachment(
                "traversal",
                "../../../root/.bashrc",
                "application/octet-stream",
                b"echo pwned",
            ),
            "unsafe_name",
        ),
        (
            "big",
            with_attachment("big", "扫描件.jpg", "image/jpeg", &noise(50 * 1024 * 1024)),
            "over_size",
        ),
        ("parts", many, "too_many_parts"),
        ("nested", nested_forwards("nested", 12), "too_deep"),
        (
            "docx",
            with_attachment(
                "docx",
                "附件1.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                &corrupt_docx,
            ),
            "corrupt_attachment",
        ),
        (
            "encrypted",
            with_attachment("encrypted", "材料.zip", "application/zip", &encrypted),
            "encrypted_attachment",
        ),
        ("mime", malformed, "malformed_mime"),
        ("headers", huge_headers, "huge_headers"),
    ]
}

/// Every problem string on a message and its documents.
fn all_problems(m: &Value) -> Vec<String> {
    let mut out: Vec<String> = m["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    for d in m["documents"].as_array().into_iter().flatten() {
        out.extend(
            d["problems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_string)),
        );
    }
    out
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The nasty mails through the running daemon: each is a named problem, the daemon
/// lives on, its peak RSS stays under 400 MiB (attachments are capped at 32 MiB here).
/// `KEPU_HOSTILE_LOG=1` prints the daemon's log.
#[test]
fn hostile_inputs_are_named_problems_and_memory_stays_bounded() {
    let d = Dovecot::start();
    let cases = nasty();
    {
        let mut c = d.admin();
        for (tag, raw, _) in &cases {
            if let Err(e) = c.append_many(
                "INBOX",
                &[AppendItem {
                    raw,
                    internaldate: "18-Jul-2022 10:32:05 +0800",
                }],
            ) {
                panic!("APPEND {tag}: {e}");
            }
        }
        c.logout();
    }
    let sizes: Vec<String> = cases
        .iter()
        .map(|(t, r, _)| format!("{t} {} KiB", r.len() / 1024))
        .collect();
    let expected: Vec<(&str, &str)> = cases.iter().map(|(t, _, p)| (*t, *p)).collect();
    drop(cases);
    let it = Intake::new(Some(ImapTarget::implicit(&d)));
    let cfg = std::fs::read_to_string(&it.config).expect("config");
    let cfg = cfg.replace("[intake]\n", "[intake]\nmax_attachment_bytes = 33554432\n");
    std::fs::write(&it.config, format!("{cfg}\n[tools]\nocr = false\n")).expect("config");
    it.run_ok(&["status"]);
    let log = it.dir().join("daemon.log");
    let mut child = spawn_daemon(&it, &log);
    let n = expected.len();
    let processed = |v: &Value| {
        let msgs = crate::crash::messages_of(v);
        msgs.len() == n && msgs.iter().all(|m| !m["category"].is_null())
    };
    let t0 = std::time::Instant::now();
    let dump = wait_dump(&it, Duration::from_secs(600), processed);
    assert!(
        processed(&dump),
        "not all processed within {:?}:\n{}",
        t0.elapsed(),
        tail(&log)
    );
    let took = t0.elapsed();
    if let Ok(Some(st)) = child.try_wait() {
        panic!("the daemon died ({st}):\n{}", tail(&log));
    }
    let hwm = vm_hwm_kib(child.id()).expect("VmHWM of the daemon");
    let st = terminate(child, &log);
    if std::env::var_os("KEPU_HOSTILE_LOG").is_some() {
        println!("{}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    assert!(st.success(), "daemon exit {st}:\n{}", tail(&log));
    let msgs = crate::crash::messages_of(&dump);
    assert_eq!(
        msgs.len(),
        n,
        "not every nasty mail was recorded:\n{}",
        tail(&log)
    );
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (tag, problem) in &expected {
        let id = format!("<hostile-{tag}@test>");
        let Some(m) = msgs
            .iter()
            .find(|m| s(m, "message_id") == id || s(m, "subject").ends_with(tag))
        else {
            failures.push(format!("{tag}: message not found"));
            continue;
        };
        let got = all_problems(m);
        let hit = got
            .iter()
            .any(|p| p == problem || p.starts_with(&format!("{problem}:")));
        if !hit {
            let mut uniq = got.clone();
            uniq.sort();
            uniq.dedup();
            let mut shown = m.to_string();
            shown.truncate(3000);
            failures.push(format!(
                "{tag}: expected {problem}, got {uniq:?} in {shown}"
            ));
        }
        report.push(format!("{tag}→{problem}"));
    }
    println!(
        "hostile inputs: {} mails ({}), all recorded {:.1} s after the daemon started, \
         daemon peak RSS {} MiB",
        n,
        sizes.join(", "),
        took.as_secs_f64(),
        hwm / 1024
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        hwm < 400 * 1024,
        "daemon peak RSS {} MiB is over 400 MiB",
        hwm / 1024
    );
}
