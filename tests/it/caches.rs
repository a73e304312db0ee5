//! Caches that cannot lie, and lateness that follows the deadline: an `ocr_cache` row
//! written by other code (an older build, an older analysis version) is never served,
//! and `reprocess` re-judges every message's late flag by the deadline configured now.

use kepu_intake::db::Db;
use kepu_intake::scan::ScanInfo;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kepu(cfg: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kepu-intake"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env("KEPU_LOG", "warn")
        .output()
        .expect("run kepu-intake");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dump(cfg: &Path) -> Value {
    serde_json::from_str(&kepu(cfg, &["dump", "--json"])).expect("dump is JSON")
}

/// A data dir and a config with OCR off (seal detection only: quick and exact).
fn setup(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("k.toml");
    write_config(&cfg, dir.path(), extra);
    (dir, cfg)
}

fn write_config(cfg: &Path, dir: &Path, extra: &str) {
    let data = dir.join("data");
    std::fs::write(
        cfg,
        format!(
            "{extra}\n[storage]\ndata_dir = \"{}\"\n[tools]\nocr = false\n",
            data.display()
        ),
    )
    .unwrap();
}

/// One mail received on 2022-07-18 10:32 (+08:00) carrying `name` (base64).
fn mail_with(dir: &Path, name: &str, ctype: &str, bytes: &[u8]) -> PathBuf {
    let mail = format!(
        "Received: from mx.school.example by mx.126.com; Mon, 18 Jul 2022 10:32:05 +0800\r\n\
         From: office@school.example\r\nTo: tsqsnkj@126.com\r\nSubject: =?UTF-8?B?55Sz5oql?=\r\n\
         Date: Mon, 18 Jul 2022 10:31:40 +0800\r\nMessage-ID: <cache-test@school.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n\
         --b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        crate::hostile::base64(bytes)
    );
    let p = dir.join("mail.eml");
    std::fs::write(&p, mail).unwrap();
    p
}

fn only_doc(d: &Value) -> &Value {
    &d["messages"][0]["documents"][0]
}

#[test]
fn scan_analyses_cached_by_other_code_are_not_served() {
    let (dir, cfg) = setup("");
    let png = std::fs::read(root().join("fixtures/scans/stamped_scan.png")).unwrap();
    let eml = mail_with(dir.path(), "scan.png", "image/png", &png);
    kepu(&cfg, &["import", eml.to_str().unwrap()]);
    let d = dump(&cfg);
    let doc = only_doc(&d);
    assert_eq!(
        (&doc["kind"], &doc["stamped"]),
        (&"scan".into(), &true.into())
    );
    let sha = doc["sha256"].as_str().unwrap().to_string();

    // A wrong answer, as an older build (key without versions) or an older analysis
    // version would have cached it.
    let lie = ScanInfo::to_cache(&ScanInfo {
        stamped: Some(false),
        seal_score: 0.01,
        pages: 1,
        ..ScanInfo::default()
    });
    let db = Db::open(&dir.path().join("data/intake.db")).unwrap();
    let current = kepu_intake::scan::cache_key(&sha, false);
    let older_analysis = current.replace(
        &format!(":a{}", kepu_intake::scan::ANALYSIS_VERSION),
        &format!(":a{}", kepu_intake::scan::ANALYSIS_VERSION - 1),
    );
    assert_ne!(older_analysis, current);
    for key in [format!("{sha}:ocr=false"), older_analysis] {
        db.scan_cache_put(&key, &lie).unwrap();
    }
    kepu(&cfg, &["reprocess", "--all"]);
    let d = dump(&cfg);
    assert_eq!(
        only_doc(&d)["stamped"],
        true,
        "an answer cached by other code was served: {d}"
    );

    // The same lie under the current key is served: the cache is in use, so the check
    // above could have failed.
    db.scan_cache_put(&current, &lie).unwrap();
    kepu(&cfg, &["reprocess", "--all"]);
    assert_eq!(only_doc(&dump(&cfg))["stamped"], false);
}

#[test]
fn reprocess_judges_lateness_by_the_current_deadline() {
    let (dir, cfg) = setup("");
    let docx = std::fs::read(root().join("fixtures/forms/expert_pydocx.docx")).unwrap();
    let eml = mail_with(
        dir.path(),
        "expert.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &docx,
    );
    kepu(&cfg, &["import", eml.to_str().unwrap()]);
    let d = dump(&cfg);
    assert_eq!(d["messages"][0]["late"], false, "{d}");
    assert_eq!(d["applications"][0]["late"], false, "{d}");
    let received = d["messages"][0]["received_at"].clone();

    // The office corrects the deadline to a day before the mail arrived.
    write_config(
        &cfg,
        dir.path(),
        "[intake]\ndeadline = \"2022-07-17T23:59:59+08:00\"",
    );
    kepu(&cfg, &["reprocess", "--all"]);
    let d = dump(&cfg);
    assert_eq!(d["messages"][0]["late"], true, "{d}");
    assert_eq!(d["applications"][0]["late"], true, "{d}");
    assert!(
        d["applications"][0]["problems"]
            .to_string()
            .contains("late"),
        "{d}"
    );
    assert_eq!(
        d["messages"][0]["received_at"], received,
        "the receipt time never changes"
    );

    // And back.
    write_config(&cfg, dir.path(), "");
    kepu(&cfg, &["reprocess", "--all"]);
    let d = dump(&cfg);
    assert_eq!(d["messages"][0]["late"], false, "{d}");
    assert_eq!(d["applications"][0]["late"], false, "{d}");
}
