//! The OCR worker pool: a fake `tesseract` (a shell script configured as
//! `[tools] tesseract`) logs when each call starts and ends, sleeps a little so calls
//! overlap when they can, and answers with a form title chosen from a hash of the page
//! it was given. From its log the test reads how many ran at once; the dumps of a
//! pooled run and a serial run must agree document for document.

use super::support::intake::Intake;
use serde_json::Value;
use std::io::Cursor;
use std::path::Path;

/// Scans in the test mailbox: more than the progress threshold (8) and enough for
/// two workers to overlap many times.
const SCANS: usize = 10;

const FAKE_TESSERACT: &str = r#"#!/bin/sh
# Fake tesseract for the pool test: logs start/end (ns), one OCR "run" per call;
# TSV (words with confidences) when asked for it, as the band reader does.
log="$(dirname "$0")/calls.log"
echo "start $(date +%s%N)" >> "$log"
case "$*" in
  *"--psm 0"*) cat > /dev/null; echo "end $(date +%s%N)" >> "$log"; exit 1 ;;
esac
h=$(md5sum | cut -c1-8)
sleep 0.3
case "$h" in
  [0-3]*) t="科普资源申报推荐表" ;;
  [4-7]*) t="科技教育专家服务团成员推荐表" ;;
  [89ab]*) t="唐山市科技教育试点学校申报表" ;;
  *) t="唐山市科技教育试点县（市）区申报表" ;;
esac
case "$*" in
  *tsv*) printf 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n'
         printf '5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t95\t%s\n' "$t"
         printf '5\t1\t1\t1\t2\t1\t0\t0\t9\t9\t95\t申报单位\n5\t1\t1\t1\t2\t2\t0\t0\t9\t9\t95\t测试单位%s\n' "$h" ;;
  *) printf '%s\n申报单位 测试单位%s\n' "$t" "$h" ;;
esac
echo "end $(date +%s%N)" >> "$log"
"#;

/// Writes the fake tool into `dir` (executable) and returns its path.
fn fake_tesseract(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("tesseract");
    std::fs::write(&p, FAKE_TESSERACT).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// The most calls of the fake tool that were running at the same moment, and how many
/// calls there were.
fn max_concurrent(log: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut events: Vec<(u128, i32)> = text
        .lines()
        .filter_map(|l| {
            let (what, ns) = l.split_once(' ')?;
            let ns: u128 = ns.trim().parse().ok()?;
            // Ends sort before starts at the same instant: touching is not overlapping.
            Some((ns, if what == "start" { 1 } else { -1 }))
        })
        .collect();
    events.sort();
    let calls = events.iter().filter(|e| e.1 == 1).count();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    (max as usize, calls)
}

/// A page picture of 300×400 with a pattern unique to `i` (so every scan has its own
/// sha256 and its own answer from the fake tool).
fn page_png(i: usize) -> Vec<u8> {
    let i = i as u32;
    let img = image::RgbImage::from_fn(300, 400, |x, y| {
        let v = ((x * 7 + y * 13 + i * 101) % 251) as u8;
        if (y / 20 + i).is_multiple_of(3) && x % 40 < 30 {
            image::Rgb([20, 20, 20])
        } else {
            image::Rgb([250, 248, 240u8.saturating_sub(v % 5)])
        }
    });
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
    buf.into_inner()
}

/// In lines of 76 characters joined by CRLF.
fn base64(data: &[u8]) -> String {
    crate::support::base64::encode(data)
        .as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A mailbox of two mails carrying SCANS page pictures between them (the pool works
/// across the documents of one mail and across mails).
fn write_mailbox(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (m, range) in [(1, 0..SCANS / 2), (2, SCANS / 2..SCANS)] {
        let mut raw = format!(
            "Received: from x by mx.126.com; Fri, 15 Jul 2022 10:0{m}:00 +0800\r\n\
             From: school{m}@school.example\r\nTo: tsqsnkj@126.com\r\n\
             Subject: scans {m}\r\nMessage-ID: <pool-{m}@school.example>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nscans\r\n"
        );
        for i in range {
            raw.push_str(&format!(
                "--b\r\nContent-Type: image/png; name=\"p{i}.png\"\r\n\
                 Content-Disposition: attachment; filename=\"p{i}.png\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                base64(&page_png(i))
            ));
        }
        raw.push_str("--b--\r\n");
        std::fs::write(dir.join(format!("{m}.eml")), raw).unwrap();
    }
}

fn set_tools(it: &Intake, tesseract: &Path, workers: usize) {
    let toml = std::fs::read_to_string(&it.config).unwrap();
    let base = toml.split("\n[tools]").next().unwrap_or(&toml).to_string();
    std::fs::write(
        &it.config,
        format!(
            "{base}\n[tools]\ntesseract = \"{}\"\nworkers = {workers}\n",
            tesseract.display()
        ),
    )
    .unwrap();
}

/// What the pipeline decided per document, in order.
fn documents(d: &Value) -> Vec<Value> {
    d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["documents"].as_array().cloned().unwrap_or_default())
        .map(|doc| {
            serde_json::json!([
                doc["name"],
                doc["kind"],
                doc["form"],
                doc["stamped"],
                doc["scan_of"],
                doc["problems"]
            ])
        })
        .collect()
}

#[test]
fn scan_pool_caps_tesseract_and_matches_serial() {
    // Pooled: imported with OCR off (nothing to read), then `reprocess --all` with the
    // fake tool and two workers: every scan is a cache miss, read in the pool, with
    // progress lines on stderr.
    let pooled = Intake::new(None);
    let tools = pooled.dir().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let fake = fake_tesseract(&tools);
    let mail = pooled.dir().join("mail");
    write_mailbox(&mail);
    set_tools(&pooled, Path::new("/nonexistent/tesseract"), 2);
    pooled.run_ok(&["import", mail.to_str().unwrap()]);
    assert_eq!(
        max_concurrent(&tools.join("calls.log")),
        (0, 0),
        "OCR off: no calls"
    );
    set_tools(&pooled, &fake, 2);
    let (status, _out, err) = pooled.run(&["reprocess", "--all"]);
    assert!(status.success(), "{err}");
    let (max, calls) = max_concurrent(&tools.join("calls.log"));
    // One recognition call per page (the fake's answer reads like a form).
    assert_eq!(calls, SCANS, "calls");
    assert_eq!(max, 2, "two workers: two at once, never more");
    assert!(
        err.contains(&format!("OCR {SCANS}/{SCANS} 份扫描件")),
        "no final progress line: {err}"
    );
    let a = pooled.dump();

    // Serial: one worker, imported straight with the fake tool.
    let serial = Intake::new(None);
    let tools1 = serial.dir().join("tools");
    std::fs::create_dir_all(&tools1).unwrap();
    let fake1 = fake_tesseract(&tools1);
    set_tools(&serial, &fake1, 1);
    serial.run_ok(&["import", mail.to_str().unwrap()]);
    let (max1, calls1) = max_concurrent(&tools1.join("calls.log"));
    assert_eq!((max1, calls1), (1, SCANS), "one worker: one at a time");
    let b = serial.dump();

    let (da, db) = (documents(&a), documents(&b));
    assert_eq!(da.len(), SCANS);
    assert_eq!(da, db, "pooled and serial runs disagree");
    // The fake's forms vary with the page, so a result given to the wrong document
    // would show above; all four forms should be among ten pages.
    let forms: std::collections::BTreeSet<String> = da.iter().map(|d| d[2].to_string()).collect();
    assert!(forms.len() >= 2, "fake answers all alike: {forms:?}");
    assert!(da.iter().all(|d| d[1] == "scan"), "{da:?}");
    assert_eq!(a["applications"], b["applications"]);
}
