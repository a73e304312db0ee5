//! Scans through the whole pipeline (import → `dump --json`) where only the scan
//! stage's grouping, naming and page-first matching place them right:
//! fixtures/scanmail (made by `fixtures/gen/make_scans.py --scan-mails`) holds a form
//! scanned as two JPGs (title on page 1, seal on page 2 only), a scan beside an
//! encrypted electronic form in a mail that names the unit, and a print shop's scan
//! whose file name names another school than its page; a form scanned as two JPGs
//! whose names say nothing (`IMG_…`, `mmexport…`: grouped by title and look); and a
//! scan sent alone, its unit row blank, whose electronic form came a day later from
//! another address (placed by the unit its mail named). `expected.json` says what the
//! dump must show for each scan and each application.

use super::support::intake::Intake;
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/scanmail")
}

#[test]
fn scan_mail_pages_unreadable_electronic_and_lying_names() {
    if !kepu_intake::scan::ScanOptions::detect(&Default::default()).ocr {
        eprintln!("scan_mail: skipped, tesseract not installed");
        return;
    }
    let expected: Value =
        serde_json::from_slice(&std::fs::read(corpus().join("expected.json")).unwrap()).unwrap();
    let it = Intake::new(None);
    // Not `Intake::run`: its 60 s limit is too short for OCR in a debug build.
    let out = it
        .command(&["import", corpus().to_str().unwrap()])
        .env("KEPU_LOG", "warn")
        .output()
        .expect("run kepu-intake import");
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = it.dump();
    let messages = dump["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 7, "{dump}");
    // (message number in import order, document) for every document.
    let docs: Vec<(usize, &Value)> = messages
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            m["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |d| (i + 1, d))
        })
        .collect();
    let name_of = |id: &Value| -> Value {
        docs.iter()
            .find(|(_, d)| &d["id"] == id)
            .map_or(Value::Null, |(_, d)| d["name"].clone())
    };
    let by_subject = |n: usize| -> usize {
        // Mails are imported by file name: 01.eml is message 1, and so on; the dump
        // lists them in its own order, so find each by its Message-ID.
        messages
            .iter()
            .position(|m| m["message_id"] == format!("<match-{}@corpus.example>", 40 + n))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("mail {n} not in the dump"))
    };
    let mut failures = Vec::new();
    for want in expected["documents"].as_array().unwrap() {
        let msg = by_subject(want["message"].as_u64().unwrap() as usize);
        let Some((_, d)) = docs
            .iter()
            .find(|(m, d)| *m == msg && d["name"] == want["name"])
        else {
            failures.push(format!("no document {}", want["name"]));
            continue;
        };
        let got = serde_json::json!({
            "message": want["message"],
            "name": d["name"],
            "kind": d["kind"],
            "form": d["form"],
            "stamped": d["stamped"],
            "scan_of": name_of(&d["scan_of"]),
        });
        if &got != want {
            failures.push(format!(
                "document\n  want {want}\n  got  {got}\n  problems {}",
                d["problems"]
            ));
        }
    }
    let apps = dump["applications"].as_array().unwrap();
    for want in expected["applications"].as_array().unwrap() {
        let Some(a) = apps
            .iter()
            .find(|a| a["form"] == want["form"] && a["applicant"] == want["applicant"])
        else {
            failures.push(format!("no application {want}; applications: {apps:?}"));
            continue;
        };
        let got = serde_json::json!({
            "form": a["form"],
            "applicant": a["applicant"],
            "status": a["status"],
            "scan": name_of(&a["scan"]),
            "electronic": name_of(&a["electronic"]),
            "problems": a["problems"],
        });
        if &got != want {
            failures.push(format!("application\n  want {want}\n  got  {got}"));
        }
    }
    // Nothing else: page 2 is no application of its own, the lying name none either,
    // the scan sent first none beside its electronic form's.
    if apps.len() != expected["applications"].as_array().unwrap().len() {
        failures.push(format!("{} applications: {apps:?}", apps.len()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
