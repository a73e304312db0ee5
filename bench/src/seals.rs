//! `bench seals`: the seal verdict and the scan's match against the generated evaluation
//! set (fixtures/gen/make_seal_eval.py; parts generated into target/seal-eval/ when
//! missing: tune (seed 1), held (seed 2), held3 (seed 3, the last round's held-out
//! part) and tune5 (seed 5), all seen while tuning; held4, seed 4, the held-out part,
//! evaluated once after all tuning).
//!
//! Prints precision and recall of "stamped", how often a stamped scan is called
//! unstamped (the error an applicant hears about), the uncertain rate, match accuracy
//! against every applicant × form of the set as electronic candidates, and seconds per
//! page for the seal alone and for seal + OCR, with the machine and the date.

use kepu_intake::call::{Format, Role};
use kepu_intake::config::ToolsConfig;
use kepu_intake::model::{FieldValue, Fields, FormKey};
use kepu_intake::scan::matching::{self, ElectronicSide, ScanSide};
use kepu_intake::scan::seal::ring_text::{self, SealUnit};
use kepu_intake::scan::seal::SealVerdict;
use kepu_intake::scan::{analyze_set, analyze_set_with, OcrScope, ScanOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The pipeline's default `intake.match_threshold`.
const MATCH_THRESHOLD: f64 = 0.4;

/// The set's parts: name, generator seed, scans.
const PARTS: [(&str, u64, usize); 5] = [
    ("tune", 1, 50),
    ("held", 2, 110),
    ("held3", 3, 110),
    ("tune5", 5, 150),
    ("held4", 4, 200),
];

/// Generates `part` into target/seal-eval/<part> unless its manifest is there.
pub(crate) fn ensure_part(part: &str) -> io::Result<PathBuf> {
    let (_, seed, count) = PARTS
        .iter()
        .find(|(p, _, _)| *p == part)
        .copied()
        .ok_or_else(|| {
            io::Error::other(format!(
                "--part {part}: expected tune, held, held3, tune5 or held4"
            ))
        })?;
    let root = crate::repo_root().to_path_buf();
    let dir = root.join("target/seal-eval").join(part);
    if dir.join("manifest.json").exists() {
        return Ok(dir);
    }
    eprintln!("generating the {part} part ({count} scans, seed {seed}) into {dir:?} …");
    let status = Command::new("python3")
        .arg(root.join("fixtures/gen/make_seal_eval.py"))
        .args(["--seed", &seed.to_string(), "--count", &count.to_string()])
        .arg("--out")
        .arg(&dir)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(
            "make_seal_eval.py failed: it needs Pillow and NumPy (pip install pillow numpy) \
             and fonts-noto-cjk",
        ));
    }
    Ok(dir)
}

#[derive(Default)]
struct Tally {
    cases: usize,
    /// Ring text against the truth: seals of another unit / of the applicant that were
    /// found stamped and OCR'd, and what the comparison said.
    foreign: usize,
    foreign_named: usize,
    own: usize,
    own_called_foreign: usize,
    own_recognised: usize,
    pages: usize,
    /// Colour scans with a seal / without, and what was said about them.
    stamped_as: BTreeMap<&'static str, usize>,
    unstamped_as: BTreeMap<&'static str, usize>,
    grey_right: usize,
    grey: usize,
    matched: usize,
    matched_of: usize,
    mislabelled_named: usize,
    mislabelled: usize,
    seal_secs: f64,
    full_secs: f64,
    full_before: f64,
    compared: usize,
    compared_pages: usize,
    bands_secs: f64,
    whole_secs: f64,
    /// CPU seconds of seal + OCR (this process and the tools it waited for): the cost
    /// a loaded machine's wall clock hides.
    full_cpu: f64,
}

/// User + system CPU seconds of this process and of its finished children.
fn cpu_secs() -> f64 {
    let secs = |who| {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut u) };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    secs(libc::RUSAGE_SELF) + secs(libc::RUSAGE_CHILDREN)
}

pub fn run(
    part: &str,
    set: Option<PathBuf>,
    limit: Option<usize>,
    ocr: bool,
    compare: usize,
) -> io::Result<()> {
    let dir = match set {
        Some(d) => d,
        None => ensure_part(part)?,
    };
    // A part still being generated can be looked at through its partial manifest.
    let path = [dir.join("manifest.json"), dir.join("manifest.partial.json")]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| io::Error::other(format!("no manifest.json in {}", dir.display())))?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(&path)?)
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let cases: Vec<&Value> = manifest["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let opts = ScanOptions::detect(&ToolsConfig::default());
    let ocr = ocr && opts.ocr;
    let seal_only = ScanOptions {
        ocr: false,
        ..opts.clone()
    };
    let forms = candidates(&manifest);
    let elecs: Vec<ElectronicSide> = forms.iter().map(Candidate::side).collect();
    let units: Vec<String> = elecs
        .iter()
        .filter_map(|e| e.applicant.map(str::to_string))
        .collect();
    let mut t = Tally::default();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?");
        let names: Vec<String> = case["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(String::from))
            .collect();
        let mut files = Vec::new();
        for n in &names {
            files.push((ext(n), std::fs::read(dir.join(n))?));
        }
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(e, b)| (e.as_str(), b.as_slice()))
            .collect();
        let clock = Instant::now();
        let info = analyze_set(&refs, &seal_only);
        t.seal_secs += clock.elapsed().as_secs_f64();
        t.pages += info.pages;
        t.cases += 1;
        let has_seal = case["seal"] != "none";
        let verdict = info.seal.as_str();
        if case["colour"] == false {
            t.grey += 1;
            t.grey_right += usize::from(info.seal == SealVerdict::NoColour);
        } else if has_seal {
            *t.stamped_as.entry(verdict).or_default() += 1;
        } else {
            *t.unstamped_as.entry(verdict).or_default() += 1;
        }
        let seal_wrong = case["colour"] != false
            && (has_seal != (info.seal == SealVerdict::Stamped)
                || info.seal == SealVerdict::Uncertain);
        if seal_wrong {
            eprintln!(
                "  seal {id}: truth {} said {verdict} (score {:.2}) {}",
                case["seal"], info.seal_score, case["vary"]
            );
        }
        if !ocr {
            continue;
        }
        let clock = Instant::now();
        let cpu = cpu_secs();
        let full = analyze_set(&refs, &opts);
        t.full_secs += clock.elapsed().as_secs_f64();
        t.full_cpu += cpu_secs() - cpu;
        if t.compared < compare {
            // The other way on the same scan, in the same run.
            let clock = Instant::now();
            let _ = analyze_set_with(&refs, &opts, OcrScope::default().other());
            t.bands_secs += clock.elapsed().as_secs_f64();
            t.whole_secs += t.full_secs - t.full_before;
            t.compared += 1;
            t.compared_pages += info.pages;
        }
        t.full_before = t.full_secs;
        // The ring text, compared as the applications stage would: the applicant
        // against every other applicant of the set.
        if info.seal == SealVerdict::Stamped && case["colour"] != false {
            let unit = case["unit"].as_str().unwrap_or("");
            let said = ring_text::compare(
                full.seal_text.as_deref().unwrap_or(""),
                unit,
                units.iter().map(String::as_str),
            );
            match case["seal"].as_str() {
                Some("foreign") => {
                    t.foreign += 1;
                    t.foreign_named += usize::from(matches!(said, SealUnit::Other(_)));
                }
                Some("own") => {
                    t.own += 1;
                    t.own_recognised += usize::from(said == SealUnit::Applicant);
                    t.own_called_foreign += usize::from(matches!(said, SealUnit::Other(_)));
                }
                _ => {}
            }
            if std::env::var_os("KEPU_BENCH_VERBOSE").is_some() {
                eprintln!(
                    "  ring {id}: truth {} {:?} read {:?} → {said:?}",
                    case["seal"], case["seal_unit"], full.seal_text
                );
            }
        }
        let joined = names.join(" ");
        let scan = ScanSide {
            doc: 0,
            message: 1,
            ocr_text: full.ocr_text.as_deref(),
            form: full.form,
            from: None,
            received_at: at("2022-07-17T10:00:00+08:00"),
            name: &joined,
            noted: None,
        };
        let best = matching::assign(std::slice::from_ref(&scan), &elecs, MATCH_THRESHOLD)[0];
        let mislabelled =
            best.is_some_and(|(j, _)| matching::mislabelled(&scan, &elecs[j], &elecs));
        let want = (
            case["unit"].as_str().unwrap_or(""),
            case["form"].as_str().unwrap_or(""),
        );
        let got = best.map(|(j, _)| (elecs[j].applicant.unwrap_or(""), elecs[j].form.as_str()));
        t.matched_of += 1;
        if got == Some(want) {
            t.matched += 1;
        } else {
            eprintln!(
                "  match {id}: want {want:?} got {got:?} form {:?} {}",
                full.form, case["vary"]
            );
            if std::env::var_os("KEPU_BENCH_VERBOSE").is_some() {
                eprintln!("    OCR: {:?}", full.ocr_text);
            }
        }
        let truly_mislabelled = case["name_unit"]
            .as_str()
            .is_some_and(|n| Some(n) != case["unit"].as_str());
        if truly_mislabelled {
            t.mislabelled += 1;
            t.mislabelled_named += usize::from(mislabelled);
        }
    }
    report(part, &dir, &t, ocr);
    if ocr {
        ring_report(&t);
    }
    Ok(())
}

fn report(part: &str, dir: &Path, t: &Tally, ocr: bool) {
    let count = |m: &BTreeMap<&str, usize>, k: &str| m.get(k).copied().unwrap_or(0);
    let pos: usize = t.stamped_as.values().sum();
    let neg: usize = t.unstamped_as.values().sum();
    let tp = count(&t.stamped_as, "stamped");
    let fp = count(&t.unstamped_as, "stamped");
    let fn_unstamped = count(&t.stamped_as, "unstamped");
    let uncertain = count(&t.stamped_as, "uncertain") + count(&t.unstamped_as, "uncertain");
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "bench seals — part {part} ({}), {} build, {}",
        dir.display(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!("machine: {}", crate::machine());
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| scans (pages) | {} ({}); colour with seal {pos}, colour without {neg}, grey {} |",
        t.cases, t.pages, t.grey
    );
    println!(
        "| stamped precision | {:.1} % ({tp} of {}) |",
        pct(tp, tp + fp),
        tp + fp
    );
    println!("| stamped recall | {:.1} % ({tp} of {pos}) |", pct(tp, pos));
    println!(
        "| stamped scans called unstamped | {fn_unstamped} ({:.1} %) |",
        pct(fn_unstamped, pos)
    );
    println!(
        "| unstamped scans called stamped | {fp} ({:.1} %) |",
        pct(fp, neg)
    );
    println!(
        "| uncertain (to a clerk) | {uncertain} ({:.1} % of colour scans) |",
        pct(uncertain, pos + neg)
    );
    println!(
        "| grey scans left unknown | {} of {} |",
        t.grey_right, t.grey
    );
    println!(
        "| seal s/page | {:.3} |",
        t.seal_secs / t.pages.max(1) as f64
    );
    if ocr {
        println!(
            "| match accuracy | {:.1} % ({} of {}) |",
            pct(t.matched, t.matched_of),
            t.matched,
            t.matched_of
        );
        println!(
            "| mislabelled file names named | {} of {} |",
            t.mislabelled_named, t.mislabelled
        );
        println!(
            "| seal + OCR s/page ({} OCR, the default) | {:.2} |",
            OcrScope::default().as_str(),
            t.full_secs / t.pages.max(1) as f64
        );
        println!(
            "| seal + OCR CPU s/page (this process and its tools) | {:.2} |",
            t.full_cpu / t.pages.max(1) as f64
        );
        if t.compared > 0 {
            let p = t.compared_pages.max(1) as f64;
            println!(
                "| same run, first {} scans ({} pages): {} OCR → {} OCR s/page | {:.2} → {:.2} |",
                t.compared,
                t.compared_pages,
                OcrScope::default().as_str(),
                OcrScope::default().other().as_str(),
                t.whole_secs / p,
                t.bands_secs / p
            );
        }
    }
}

/// The ring text's answers (OCR of the seal's unit name) against the truth.
fn ring_report(t: &Tally) {
    println!(
        "| seals of another unit named by their ring text (foreign_seal) | {} of {} found stamped |",
        t.foreign_named, t.foreign
    );
    println!(
        "| own seals whose ring text named the applicant / called another unit's | {} / {} of {} |",
        t.own_recognised, t.own_called_foreign, t.own
    );
}

fn ext(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace("jpeg", "jpg")
}

fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|_| chrono::Utc::now().into())
}

/// One electronic form of the set, as the forms stage would record it.
struct Candidate {
    id: i64,
    form: FormKey,
    fields: Fields,
    unit: String,
    name: String,
}

impl Candidate {
    /// The view matching borrows.
    fn side(&self) -> ElectronicSide<'_> {
        ElectronicSide {
            doc: self.id,
            message: self.id,
            form: self.form,
            fields: &self.fields,
            applicant: Some(&self.unit),
            from: None,
            received_at: at("2022-07-15T10:00:00+08:00"),
            name: &self.name,
        }
    }
}

/// Every applicant × form of the set as an electronic form, the fields the form
/// generator filled in.
fn candidates(manifest: &Value) -> Vec<Candidate> {
    let mut seen = BTreeMap::new();
    for c in manifest["cases"].as_array().into_iter().flatten() {
        let key = (
            c["unit"].as_str().unwrap_or("").to_string(),
            c["form"].as_str().unwrap_or("").to_string(),
        );
        seen.entry(key).or_insert_with(|| {
            (
                c["person"].as_str().unwrap_or("").to_string(),
                c["phone"].as_str().unwrap_or("").to_string(),
            )
        });
    }
    let mut out = Vec::new();
    for (i, ((unit, form), (person, phone))) in seen.into_iter().enumerate() {
        let Some(form) = FormKey::parse(&form) else {
            continue;
        };
        let mut fields = Fields::new();
        let put = |f: &mut Fields, k: &str, v: &str| {
            f.insert(k.to_string(), FieldValue::Text(v.to_string()));
        };
        put(&mut fields, form.applicant_key(), &unit);
        // The contact and the phone under the keys the call gives this form's fields,
        // as the forms stage would record them.
        for f in form.def().map(|d| d.fields.as_slice()).unwrap_or_default() {
            if matches!(f.format, Format::Phone | Format::Mobile | Format::Landline) {
                put(&mut fields, &f.key, &phone);
            } else if f.role == Role::Contact {
                put(&mut fields, &f.key, &person);
            }
        }
        out.push(Candidate {
            id: i as i64 + 100,
            form,
            fields,
            unit,
            name: format!("{}.docx", form.as_str()),
        });
    }
    out
}
