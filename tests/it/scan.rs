//! Scan stage against the committed fixtures (fixtures/scans, made by
//! fixtures/gen/make_scans.py) and the scan ↔ electronic matching rules.

use chrono::{DateTime, FixedOffset};
use kepu_intake::config::ToolsConfig;
use kepu_intake::model::{FieldValue, Fields};
use kepu_intake::scan::matching::{assign, score, ElectronicSide, ScanSide};
use kepu_intake::scan::{analyze, ScanOptions, OCR_UNAVAILABLE};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scans")
}

/// Every `<case>.<ext>` beside a `<case>.expected.json`.
fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            continue;
        }
        let case = name.split('.').next().unwrap().to_string();
        if fixtures().join(format!("{case}.expected.json")).exists() {
            out.push((case, p));
        }
    }
    out.sort();
    out
}

fn ext(p: &Path) -> String {
    p.extension()
        .unwrap()
        .to_string_lossy()
        .to_ascii_lowercase()
}

/// A PDF whose pages only poppler can draw: without pdftoppm it must be reported
/// unreadable (and is skipped); true when skipped.
fn skipped_without_renderer(
    case: &str,
    expected: &Value,
    bytes: &[u8],
    opts: &ScanOptions,
) -> bool {
    if expected["needs_renderer"] != json!(true) || opts.pdftoppm.is_some() {
        return false;
    }
    let info = analyze("pdf", bytes, opts);
    assert_eq!(info.pages, 0, "{case}");
    assert!(
        info.problems[0].starts_with("scan_unreadable:"),
        "{case}: {:?}",
        info.problems
    );
    eprintln!("{case}: skipped, pdftoppm not installed");
    true
}

/// Golden runner: seal decision and page count always; with Tesseract installed also
/// the form and the names the OCR text must contain.
#[test]
fn scan_fixtures_golden() {
    let opts = ScanOptions::detect(&ToolsConfig::default());
    let bless = std::env::var("KEPU_BLESS").is_ok_and(|v| v == "1");
    let mut ran = 0;
    let mut failures = Vec::new();
    for (case, path) in cases() {
        let bytes = std::fs::read(&path).unwrap();
        let expected: Value = serde_json::from_slice(
            &std::fs::read(fixtures().join(format!("{case}.expected.json"))).unwrap(),
        )
        .unwrap();

        if skipped_without_renderer(&case, &expected, &bytes, &opts) {
            continue;
        }
        let t = Instant::now();
        let info = analyze(&ext(&path), &bytes, &opts);
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "scan {case}: {:.2} s, pages {}, stamped {:?}, seal_score {:.3}, form {:?}, rotations {:?}",
            secs, info.pages, info.stamped, info.seal_score, info.form, info.rotations
        );
        ran += 1;

        let ocr_ran = info.ocr_text.is_some();
        let mut actual = json!({
            "stamped": info.stamped,
            "form": info.form.map(|f| f.as_str()),
            "pages": info.pages,
            "ocr_contains": expected["ocr_contains"].clone(),
        });
        if !expected["ocr_lacks"].is_null() {
            actual["ocr_lacks"] = expected["ocr_lacks"].clone();
        }
        let mut ok =
            expected["stamped"] == actual["stamped"] && expected["pages"] == actual["pages"];
        if ocr_ran {
            ok &= expected["form"] == actual["form"];
            let text: String = info
                .ocr_text
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            for want in expected["ocr_contains"].as_array().unwrap() {
                let want = want.as_str().unwrap();
                if !text.contains(want) {
                    ok = false;
                    failures.push(format!("{case}: OCR text lacks {want}"));
                }
            }
            // A lying file name: the unit it names must not be what the page says.
            for unwanted in expected["ocr_lacks"].as_array().into_iter().flatten() {
                let unwanted = unwanted.as_str().unwrap();
                if text.contains(unwanted) {
                    ok = false;
                    failures.push(format!("{case}: OCR text contains {unwanted}"));
                }
            }
            if !expected["rotations"].is_null() {
                actual["rotations"] = json!(info.rotations);
                ok &= expected["rotations"] == actual["rotations"];
            }
        } else {
            assert!(info.problems.contains(&OCR_UNAVAILABLE.to_string()));
            // Without OCR the form cannot be known: keep the expected one.
            actual["form"] = expected["form"].clone();
            if !expected["rotations"].is_null() {
                actual["rotations"] = expected["rotations"].clone();
            }
        }
        let actual_path = fixtures().join(format!("{case}.actual.json"));
        if ok {
            let _ = std::fs::remove_file(&actual_path);
            continue;
        }
        actual["seal_score"] = json!(info.seal_score);
        actual["ocr_text"] = json!(info.ocr_text);
        actual["problems"] = json!(info.problems);
        if bless {
            let mut e = actual.clone();
            e["needs_renderer"] = expected["needs_renderer"].clone();
            if e["needs_renderer"].is_null() {
                e.as_object_mut().unwrap().remove("needs_renderer");
            }
            for k in ["seal_score", "ocr_text", "problems"] {
                e.as_object_mut().unwrap().remove(k);
            }
            std::fs::write(
                fixtures().join(format!("{case}.expected.json")),
                serde_json::to_string_pretty(&e).unwrap() + "\n",
            )
            .unwrap();
        } else {
            std::fs::write(&actual_path, serde_json::to_string_pretty(&actual).unwrap()).unwrap();
            failures.push(format!("{case}: expected {expected} got {actual}"));
        }
    }
    assert!(ran >= 13, "only {ran} scan fixtures ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Seal decisions alone (no OCR), so they are checked on machines without Tesseract
/// too, with the scores kept apart from the threshold.
#[test]
fn scan_seal_decisions_without_ocr() {
    let opts = ScanOptions {
        ocr: false,
        ..ScanOptions::detect(&ToolsConfig::default())
    };
    for (case, path) in cases() {
        let bytes = std::fs::read(&path).unwrap();
        let expected: Value = serde_json::from_slice(
            &std::fs::read(fixtures().join(format!("{case}.expected.json"))).unwrap(),
        )
        .unwrap();
        if skipped_without_renderer(&case, &expected, &bytes, &opts) {
            continue;
        }
        let t = Instant::now();
        let info = analyze(&ext(&path), &bytes, &opts);
        let ms = t.elapsed().as_secs_f64() * 1000.0 / info.pages.max(1) as f64;
        eprintln!("seal {case}: {ms:.0} ms/page score {:.3}", info.seal_score);
        assert_eq!(json!(info.stamped), expected["stamped"], "{case}");
        assert_eq!(json!(info.pages), expected["pages"], "{case}");
        assert_eq!(info.ocr_text, None, "{case}");
        assert_eq!(info.problems, vec![OCR_UNAVAILABLE.to_string()], "{case}");
        match info.stamped {
            Some(true) => assert!(info.seal_score >= 0.6, "{case}: {}", info.seal_score),
            Some(false) => assert!(info.seal_score <= 0.35, "{case}: {}", info.seal_score),
            None => assert_eq!(info.seal_score, 0.0, "{case}"),
        }
    }
}

#[test]
fn scan_pdf_seal_on_second_page_only() {
    let bytes = std::fs::read(fixtures().join("two_pages.pdf")).unwrap();
    let opts = ScanOptions {
        tesseract: None,
        pdftoppm: None, // embedded JPEGs are read without poppler
        ocr: false,
    };
    let info = analyze("pdf", &bytes, &opts);
    assert_eq!(info.pages, 2);
    assert_eq!(info.stamped, Some(true));
    assert_eq!(info.stamped_pages, vec![2]);
}

#[test]
fn scan_ccitt_pdf_needs_pdftoppm() {
    let bytes = std::fs::read(fixtures().join("fax_ccitt.pdf")).unwrap();
    let info = analyze("pdf", &bytes, &ScanOptions::default());
    assert_eq!(info.pages, 0);
    assert_eq!(info.stamped, None);
    assert!(
        info.problems[0].starts_with("scan_unreadable:") && info.problems[0].contains("pdftoppm"),
        "{:?}",
        info.problems
    );
}

#[test]
fn scan_garbage_is_a_problem_not_a_panic() {
    let opts = ScanOptions::default();
    let info = analyze("jpg", b"\xff\xd8\xff\xe0 not really a jpeg", &opts);
    assert_eq!(info.pages, 0);
    assert_eq!(info.stamped, None);
    assert!(
        info.problems[0].starts_with("scan_unreadable:"),
        "{:?}",
        info.problems
    );
    let info = analyze("pdf", b"%PDF-1.4\n1 0 obj <<", &opts);
    assert_eq!(info.pages, 0);
    assert!(
        info.problems[0].starts_with("scan_unreadable:"),
        "{:?}",
        info.problems
    );
    let info = analyze("heic", b"....", &opts);
    assert!(
        info.problems[0].starts_with("scan_unreadable:"),
        "{:?}",
        info.problems
    );
}

// ---- matching ----

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), FieldValue::Text(v.to_string())))
        .collect()
}

fn resource<'a>(
    doc: i64,
    message: i64,
    unit: &'a str,
    person: &str,
    phone: &str,
    from: &'a str,
) -> ElectronicSide<'a> {
    ElectronicSide {
        doc,
        message,
        form: kepu_intake::model::FormKey::parse("resource").unwrap(),
        // Leaked: the view borrows its fields, and a test's few maps may live forever.
        fields: Box::leak(Box::new(fields(&[
            ("申报单位名称", unit),
            ("申报联系人", person),
            ("联系电话", phone),
        ]))),
        applicant: Some(unit),
        from: Some(from),
        received_at: at("2022-07-15T09:00:00+08:00"),
        name: "附件2科普资源申报推荐表.docx",
    }
}

/// OCR text as Tesseract gives it: spaces between characters, one name misread.
const OCR_KJG: &str = "科 普 资 源 申 报 推 荐 表\n申 报 单 位 名 称 唐 山 市 科 学 技 术 馆\n\
申 报 联 系 人 刘 建 国\n联 系 电 话 0315-2826617\n";

#[test]
fn match_later_scan_from_colleague_with_lying_name() {
    let e = resource(
        10,
        1,
        "唐山市科学技术馆",
        "刘建国",
        "0315-2826617",
        "office@ts-kjg.cn",
    );
    let scan = ScanSide {
        doc: 20,
        message: 2,
        ocr_text: Some(OCR_KJG),
        form: Some(kepu_intake::model::FormKey::parse("resource").unwrap()),
        from: Some("liujg@ts-kjg.cn"),
        received_at: at("2022-07-17T16:30:00+08:00"),
        name: "附件1专家推荐表.jpg", // lies: it is 附件2
        noted: None,
    };
    let s = score(&scan, &e);
    // domain 0.12 + form 0.15 + applicant 0.30 + phone 0.15 + contact 0.10 + time 0.05
    assert!((s - 0.87).abs() < 1e-9, "score {s}");
    assert_eq!(
        assign(std::slice::from_ref(&scan), std::slice::from_ref(&e), 0.4),
        vec![Some((0, s))]
    );

    // Without OCR only the weak evidence is left: domain, time (form unknown).
    let blind = ScanSide {
        ocr_text: None,
        form: None,
        ..scan
    };
    assert!((score(&blind, &e) - 0.17).abs() < 1e-9);
    assert_eq!(assign(&[blind], &[e], 0.4), vec![None]);
}

#[test]
fn match_picks_right_candidate_by_ocr_names_and_phone() {
    let a = resource(
        10,
        1,
        "唐山市第一中学",
        "王丽华",
        "13831512345",
        "tsyz@126.com",
    );
    let b = resource(
        11,
        2,
        "唐山市第十中学",
        "李春梅",
        "13832298765",
        "tssz@126.com",
    );
    // Scanned at a print shop and sent from a third 126.com address; OCR misread one
    // character of the unit name, so both unit names are one edit away from it, and
    // only the contact person and phone tell them apart.
    let scan = ScanSide {
        doc: 30,
        message: 3,
        ocr_text: Some("科普资源申报推荐表\n申报单位名称 唐山市第七中学\n申报联系人 李春海\n联系电话 138 3229 8765\n"),
        form: Some(kepu_intake::model::FormKey::parse("resource").unwrap()),
        from: Some("dayinpu@126.com"),
        received_at: at("2022-07-16T10:00:00+08:00"),
        name: "IMG_20220716_0931.jpg",
        noted: None,
    };
    let sa = score(&scan, &a);
    let sb = score(&scan, &b);
    assert!(sb > sa + 0.1, "a {sa} b {sb}");
    let got = assign(&[scan], &[a, b], 0.4);
    assert_eq!(got[0].map(|(j, _)| j), Some(1));
}

#[test]
fn match_one_to_one_best_first() {
    let a = resource(
        10,
        1,
        "唐山市第一中学",
        "王丽华",
        "13831512345",
        "tsyz@126.com",
    );
    let b = resource(
        11,
        2,
        "唐山市科学技术馆",
        "刘建国",
        "0315-2826617",
        "office@ts-kjg.cn",
    );
    let scan_b = ScanSide {
        doc: 40,
        message: 2,
        ocr_text: Some(OCR_KJG),
        form: Some(kepu_intake::model::FormKey::parse("resource").unwrap()),
        from: Some("office@ts-kjg.cn"),
        received_at: at("2022-07-15T09:00:00+08:00"),
        name: "盖章扫描件.jpg",
        noted: None,
    };
    // A second copy of the same scan (sent twice): only one may take form b, and it
    // must not fall back onto a's form, which it does not resemble.
    let scan_b2 = ScanSide {
        doc: 41,
        message: 5,
        from: Some("other@qq.com"),
        ..scan_b
    };
    let got = assign(&[scan_b2, scan_b], &[a, b], 0.4);
    assert_eq!(got[1].map(|(j, _)| j), Some(1));
    assert_eq!(got[0], None);
}

#[test]
fn match_below_threshold_stays_unmatched() {
    let a = resource(
        10,
        1,
        "唐山市第一中学",
        "王丽华",
        "13831512345",
        "tsyz@126.com",
    );
    let scan = ScanSide {
        doc: 50,
        message: 9,
        ocr_text: Some(
            "唐山市科技教育试点学校申报表\n申报学校 迁安市第三实验小学\n电话 13930561278",
        ),
        form: Some(kepu_intake::model::FormKey::parse("pilot_school").unwrap()),
        from: Some("qasx@163.com"),
        received_at: at("2022-07-18T10:00:00+08:00"),
        name: "附件2科普资源申报推荐表.pdf",
        noted: None,
    };
    let s = score(&scan, &a);
    assert!(s < 0.1, "score {s}");
    assert_eq!(assign(&[scan], &[a], 0.4), vec![None]);
}

#[test]
fn match_same_message_without_ocr() {
    let e = resource(
        10,
        7,
        "唐山市第一中学",
        "王丽华",
        "13831512345",
        "tsyz@126.com",
    );
    let scan = ScanSide {
        doc: 60,
        message: 7,
        ocr_text: None,
        form: None,
        from: Some("tsyz@126.com"),
        received_at: at("2022-07-15T09:00:00+08:00"),
        name: "唐山市第一中学盖章.pdf",
        noted: None,
    };
    // message 0.35 + sender 0.20 + file name 0.10 + time 0.05
    assert!((score(&scan, &e) - 0.70).abs() < 1e-9);
    // Free-mail domains are not evidence: different 126.com senders, other message.
    let stranger = ScanSide {
        message: 8,
        from: Some("someone@126.com"),
        name: "scan.pdf",
        ..scan
    };
    assert!((score(&stranger, &e) - 0.05).abs() < 1e-9);
}
