//! The committed golden part of the seal evaluation set (fixtures/scans/eval, cases
//! picked from fixtures/gen/make_seal_eval.py's tuning parts): pale, pink and worn
//! seals, seals over table borders and cut by the page edge, two-JPG and two-page PDF
//! scans, pages without a seal but with red pen, letterheads or logos; and phone photos
//! whose seal is cut by the paper's edge inside the picture or pale under the photo's
//! light and colour cast (`held2-…`: missed before the paper's outline, the brightness
//! scaling and the white balance), and a faint seal on a 100 dpi flatbed scan that a
//! white balance of white paper's own tint had lost (`held2-c091`). The seal verdict
//! alone, so it runs without Tesseract; `bench seals` runs the whole set.

use kepu_intake::scan::seal::SealVerdict;
use kepu_intake::scan::{analyze_set, ScanOptions, SEAL_UNCERTAIN};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scans/eval")
}

#[test]
fn scan_eval_golden_seal_verdicts() {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let opts = ScanOptions::default(); // embedded JPEGs are read without poppler
    let mut wrong = Vec::new();
    let mut n = 0;
    for case in manifest["cases"].as_array().unwrap() {
        let files: Vec<(String, Vec<u8>)> = case["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = f.as_str().unwrap();
                let ext = f.rsplit('.').next().unwrap().to_ascii_lowercase();
                (ext, std::fs::read(dir().join(f)).unwrap())
            })
            .collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(e, b)| (e.as_str(), b.as_slice()))
            .collect();
        let info = analyze_set(&refs, &opts);
        n += 1;
        assert_eq!(
            Some(info.pages as u64),
            case["pages"].as_u64(),
            "{}",
            case["id"]
        );
        let want = match (case["colour"].as_bool(), case["seal"].as_str()) {
            (Some(false), _) => SealVerdict::NoColour,
            (_, Some("none")) => SealVerdict::Unstamped,
            _ => SealVerdict::Stamped,
        };
        if info.seal != want {
            wrong.push(format!(
                "{}: want {want:?} got {:?} (score {:.2}) {}",
                case["id"], info.seal, info.seal_score, case["vary"]
            ));
        }
        // The derived column and the queue problem follow the verdict.
        assert_eq!(info.stamped, info.seal.stamped());
        assert_eq!(
            info.problems.iter().any(|p| p == SEAL_UNCERTAIN),
            info.seal == SealVerdict::Uncertain
        );
    }
    assert!(n >= 15, "only {n} golden eval cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
