//! In-process stand-ins for the `docx` and `sheet` cargo-fuzz targets (`fuzz/`), run on
//! every `cargo test`: deterministic mutations of the golden forms through
//! `forms::parse_electronic`, checking the invariants the targets check. The long
//! coverage-guided runs are in `fuzz/README.md`; this catches regressions in CI.

use crate::support::mutate::{mutate, Rng};
use kepu_intake::forms::{parse_electronic, ParsedForm};
use std::io::{Cursor, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn forms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms")
}

fn seeds(ext: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(forms_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn rounds() -> usize {
    // KEPU_MUTATION_ROUNDS raises the count for a longer local run.
    std::env::var("KEPU_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

/// `word/document.xml` of a .docx.
fn document_xml(docx: &[u8]) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(Cursor::new(docx)).unwrap();
    let mut xml = Vec::new();
    z.by_name("word/document.xml")
        .unwrap()
        .read_to_end(&mut xml)
        .unwrap();
    xml
}

/// A valid zip whose only part is `word/document.xml` = `xml`, as the fuzz target
/// builds it, so the mutation reaches the XML walker instead of failing a CRC.
fn wrap(xml: &[u8]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file("word/document.xml", opts).unwrap();
    out.write_all(xml).unwrap();
    out.finish().unwrap().into_inner()
}

/// The field contract holds for whatever came out: canonical keys of the recognised
/// form only, and no fields without a form.
fn check_contract(p: &ParsedForm, round: usize) {
    match p.form {
        Some(kind) => {
            for key in p.fields.keys() {
                assert!(
                    kind.def().and_then(|f| f.field(key)).is_some(),
                    "round {round}: non-canonical key {key:?} for {kind:?}"
                );
            }
        }
        None => assert!(p.fields.is_empty(), "round {round}: fields without a form"),
    }
}

/// Our own .docx reader never panics, whatever the bytes: the mutated document.xml
/// and the mutated whole file both return a value or an error, and the contract holds.
#[test]
fn mutated_docx_never_panics_and_keeps_the_contract() {
    let docx = seeds("docx");
    assert!(docx.len() >= 8, "only {} .docx seeds", docx.len());
    let xml: Vec<Vec<u8>> = docx.iter().map(|d| document_xml(d)).collect();
    let mut rng = Rng(0x5EED_F0E5);
    let (mut recognised, mut errors) = (0, 0);
    let n = rounds();
    for round in 0..n {
        let i = rng.below(docx.len());
        let input = if round % 2 == 0 {
            let mut x = xml[i].clone();
            mutate(&mut rng, &mut x);
            wrap(&x)
        } else {
            let mut d = docx[i].clone();
            mutate(&mut rng, &mut d);
            d
        };
        let r = catch_unwind(AssertUnwindSafe(|| {
            parse_electronic(kepu_intake::call::Call::builtin(), "docx", &input)
        }));
        match r {
            Err(_) => panic!("round {round}: the .docx reader panicked (seed {i})"),
            Ok(Ok(p)) => {
                check_contract(&p, round);
                recognised += usize::from(p.form.is_some());
            }
            Ok(Err(_)) => errors += 1,
        }
    }
    // Most mutations break the XML or the zip (about 7 % stay recognisable, seen
    // 2026-11-29); both outcomes must be reached or the test exercises nothing.
    assert!(
        recognised > n / 50,
        "only {recognised} of {n} still recognised"
    );
    assert!(errors > n / 50, "only {errors} of {n} rejected");
}

/// calamine is third-party and a mutated .xls can make it allocate without bound (an
/// in-process version of this test had the whole test binary OOM-killed), which is why
/// spreadsheets are only ever parsed in the worker child under a memory cap. Through
/// that worker: every answer keeps the field contract or is an error, the worker keeps
/// serving after whatever a document did to it, and both outcomes are reached.
#[test]
fn mutated_spreadsheets_through_the_worker_keep_the_contract() {
    use kepu_intake::isolate::{IsolateOptions, Worker};
    let mut opts = IsolateOptions::new(PathBuf::from(env!("CARGO_BIN_EXE_kepu-parse-doc")));
    opts.timeout = std::time::Duration::from_secs(10);
    opts.memory_mb = 512;
    let worker = Worker::new(opts);
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    inputs.extend(seeds("xlsx").into_iter().map(|b| ("xlsx", b)));
    inputs.extend(seeds("xls").into_iter().map(|b| ("xls", b)));
    assert!(inputs.len() >= 2);
    let mut rng = Rng(0x0005_EE75);
    let (mut recognised, mut errors) = (0, 0);
    let n = rounds() / 10;
    for round in 0..n {
        let (format, seed) = &inputs[rng.below(inputs.len())];
        let mut data = seed.clone();
        mutate(&mut rng, &mut data);
        match worker.read_electronic(format, &data) {
            Ok(p) => {
                check_contract(&p, round);
                recognised += usize::from(p.form.is_some());
            }
            Err(_) => errors += 1,
        }
    }
    // After all that, an intact spreadsheet still parses exactly as in-process.
    let (format, intact) = &inputs[0];
    assert_eq!(
        worker.read_electronic(format, intact).unwrap(),
        parse_electronic(kepu_intake::call::Call::builtin(), format, intact).unwrap()
    );
    eprintln!("spreadsheets through the worker: {recognised} recognised, {errors} errors of {n}");
    assert!(
        recognised > 0,
        "no mutated spreadsheet was still recognised"
    );
    assert!(errors > 0, "no mutated spreadsheet was rejected");
}

/// Found by the `sheet` fuzz target (2026-11-29): compound files on which calamine
/// 0.38 panics (a slice index in `cfb.rs:320`, an `assert_eq!` in `utils.rs:29`). In
/// process each is now a `Corrupt` answer instead of a panic, and the worker handle
/// answers it and goes on.
#[test]
fn calamine_panics_are_corrupt_answers() {
    for case in ["calamine_cfb_slice_panic.xls", "calamine_utils_assert.xls"] {
        calamine_panic_is_a_corrupt_answer(case);
    }
}

fn calamine_panic_is_a_corrupt_answer(case: &str) {
    use kepu_intake::forms::FormError;
    use kepu_intake::isolate::{IsolateOptions, Worker};
    let bytes = std::fs::read(forms_dir().join("corrupt").join(case)).unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        parse_electronic(kepu_intake::call::Call::builtin(), "xls", &bytes)
    }));
    assert!(
        matches!(r, Ok(Err(FormError::Corrupt(_)))),
        "{case} in-process: {r:?}"
    );
    let worker = Worker::new(IsolateOptions::new(PathBuf::from(env!(
        "CARGO_BIN_EXE_kepu-parse-doc"
    ))));
    // `parse`: straight to the worker, past the parent's cheap precheck, so the bytes
    // reach calamine inside the child.
    let answer = worker.parse("xls", &bytes);
    assert!(
        matches!(answer, Err(FormError::Corrupt(_))),
        "{case}: {answer:?}"
    );
    // The same handle then reads an intact workbook (the child process that met the
    // panic is not reused: the worker replaces it, see `isolate::worker`).
    let intact = seeds("xls").remove(0);
    assert_eq!(
        worker.parse("xls", &intact).unwrap(),
        parse_electronic(kepu_intake::call::Call::builtin(), "xls", &intact).unwrap()
    );
}

/// Found by the `sheet` fuzz target (2026-11-30): .xls files on which calamine 0.38
/// asks for memory without bound. `calamine_unbounded_alloc.xls` (a CI-length run):
/// its sector chain loops, so `get_chain` (`cfb.rs:340`) extends one Vec forever —
/// unchecked, 24 GB and 50 s before the kernel's OOM killer stopped it.
/// `calamine_forged_dimensions.xls` (the long run): `from_sparse` (`lib.rs:1051`)
/// allocates the cells of a sheet whose forged dimensions make 88 GB. Only the parser
/// worker ever reads spreadsheets: under its address-space cap (the default, 1 GiB)
/// the allocation fails in under a second, the child aborts, the answer is a `Corrupt`
/// that says so, and the same handle then reads an intact workbook.
#[test]
fn calamine_unbounded_allocation_stops_at_the_worker_cap() {
    use kepu_intake::forms::FormError;
    use kepu_intake::isolate::{IsolateOptions, Worker};
    let opts = IsolateOptions::new(PathBuf::from(env!("CARGO_BIN_EXE_kepu-parse-doc")));
    assert_eq!(opts.memory_mb, 1024, "the product's default cap changed");
    let worker = Worker::new(opts);
    let intact = seeds("xls").remove(0);
    for case in [
        "calamine_unbounded_alloc.xls",
        "calamine_forged_dimensions.xls",
    ] {
        let bytes = std::fs::read(forms_dir().join("corrupt").join(case)).unwrap();
        let started = std::time::Instant::now();
        let answer = worker.parse("xls", &bytes);
        let took = started.elapsed();
        match &answer {
            Err(FormError::Corrupt(why)) => assert!(why.contains("SIGABRT"), "{case}: {why}"),
            other => panic!("{case}: expected a Corrupt answer from the worker, got {other:?}"),
        }
        // The cap stopped it, not the per-document timeout (20 s by default).
        assert!(
            took < std::time::Duration::from_secs(10),
            "{case} took {took:?}"
        );
        assert_eq!(
            worker.parse("xls", &intact).unwrap(),
            parse_electronic(kepu_intake::call::Call::builtin(), "xls", &intact).unwrap(),
            "after {case}"
        );
    }
}
