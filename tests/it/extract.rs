//! Extract stage: the golden mail corpus (`fixtures/mail/**/<case>.eml` beside
//! `<case>.expected.json`, written by `fixtures/gen/make_mail.py`), the part cap, and a
//! deterministic mutation run standing in for cargo-fuzz on machines without it.

use crate::support::mutate::{mutate, Rng};
use kepu_intake::extract::{extract, looks_like_question, Extracted, Limits};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail")
}

fn emls() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        corpus_dir(),
        corpus_dir().join("malformed"),
        corpus_dir().join("files"),
    ] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

/// The JSON shape the generator writes: stable facts only (no raw bytes).
fn to_json(x: &Extracted) -> Value {
    let m = &x.meta;
    let body_start: String = m
        .body_text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(40)
        .collect();
    let docs: Vec<Value> = x
        .documents
        .iter()
        .map(|d| {
            let mut problems = d.problems.clone();
            problems.sort();
            json!({
                "name": d.name,
                "format": d.format,
                "container": d.container,
                "is_container": d.is_container,
                "size": d.size,
                "sha256": if d.bytes.is_empty() { None } else { Some(hex::encode(Sha256::digest(&d.bytes))) },
                "problems": problems,
            })
        })
        .collect();
    json!({
        "meta": {
            "message_id": m.message_id,
            "from": m.from,
            "from_name": m.from_name,
            "reply_to": m.reply_to,
            "subject": m.subject,
            "date_header": m.date_header.map(|d| d.to_rfc3339()),
            "top_received": m.top_received.map(|d| d.to_rfc3339()),
            "return_path": m.return_path,
            "in_reply_to": m.in_reply_to,
            "references": m.references,
            "body_start": body_start,
            "auto_response_suppress": m.auto_response_suppress,
            "robot": m.robot.map(|c| c.as_str()),
            "robot_reason": m.robot_reason,
        },
        "question": looks_like_question(m.subject.as_deref().unwrap_or_default(), &m.body_text),
        "documents": docs,
        "problems": x.problems,
    })
}

#[test]
fn golden_mail_corpus() {
    let bless = std::env::var("KEPU_BLESS").is_ok_and(|v| v == "1");
    let mut ran = 0;
    let mut failed = Vec::new();
    for eml in emls() {
        let raw = std::fs::read(&eml).unwrap();
        let actual = to_json(&extract(&raw, &Limits::default()));
        let expected_path = eml.with_extension("expected.json");
        let actual_path = eml.with_extension("actual.json");
        let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        ran += 1;
        if bless {
            std::fs::write(&expected_path, &pretty).unwrap();
            continue;
        }
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        if expected == actual {
            let _ = std::fs::remove_file(&actual_path);
        } else {
            std::fs::write(&actual_path, &pretty).unwrap();
            failed.push(eml.display().to_string());
        }
    }
    assert!(ran >= 20, "only {ran} golden cases ran");
    assert!(
        failed.is_empty(),
        "mismatches (see *.actual.json): {failed:#?}"
    );
}

#[test]
fn part_cap_stops_the_walk_and_says_so() {
    let raw = std::fs::read(corpus_dir().join("malformed/parts_250.eml")).unwrap();
    let limits = Limits {
        max_parts: 100,
        ..Limits::default()
    };
    let x = extract(&raw, &limits);
    // Parts counted: the multipart root, the text body, then 98 attachments.
    assert_eq!(x.documents.len(), 98);
    assert_eq!(x.problems, vec!["too_many_parts".to_string()]);
    let full = extract(&raw, &Limits::default());
    assert_eq!(full.documents.len(), 250);
    assert!(full.problems.is_empty());
}

#[test]
fn member_size_cap_names_over_size() {
    let raw = std::fs::read(corpus_dir().join("zip_gbk_names.eml")).unwrap();
    let limits = Limits {
        max_attachment_bytes: 1000,
        ..Limits::default()
    };
    let x = extract(&raw, &limits);
    // The zip attachment itself is over 1000 bytes: kept as a record, not opened.
    assert_eq!(x.documents.len(), 1);
    assert_eq!(x.documents[0].problems, vec!["over_size".to_string()]);
    assert!(x.documents[0].bytes.is_empty());
    assert!(x.documents[0].size > 1000);
}

#[test]
fn expansion_budget_is_a_bomb() {
    let raw = std::fs::read(corpus_dir().join("zip_gbk_names.eml")).unwrap();
    let limits = Limits {
        max_expanded_total: 700,
        ..Limits::default()
    };
    let x = extract(&raw, &limits);
    // Members are 660, 79 and 633 bytes: the second crosses the budget, the third is
    // never read.
    assert!(x.documents[0].problems.contains(&"zip_bomb".to_string()));
    assert_eq!(x.documents.len(), 3);
    assert_eq!(x.documents[1].bytes.len(), 660);
    assert_eq!(x.documents[2].problems, vec!["zip_bomb".to_string()]);
    let expanded: usize = x.documents.iter().skip(1).map(|d| d.bytes.len()).sum();
    assert!(expanded <= 700, "expanded {expanded}");
}

/// Stand-in for `cargo fuzz run extract`: 2,000 mutated corpus messages must each
/// return with documents that respect the caps and point at real containers.
#[test]
fn mutated_corpus_stays_within_limits() {
    let corpus: Vec<Vec<u8>> = emls().iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!corpus.is_empty());
    let limits = Limits {
        max_attachment_bytes: 4 * 1024 * 1024,
        max_expanded_total: 8 * 1024 * 1024,
        max_ratio: 100,
        max_entries: 20,
        max_depth: 3,
        max_parts: 300,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total_docs = 0;
    let mut parser_panics = 0;
    // KEPU_MUTATION_ROUNDS raises the count for a longer local run.
    let rounds: usize = std::env::var("KEPU_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for round in 0..rounds {
        let mut data = corpus[rng.below(corpus.len())].clone();
        mutate(&mut rng, &mut data);
        let x = extract(&data, &limits);
        total_docs += x.documents.len();
        if x.problems.iter().any(|p| p == "parser_panic") {
            parser_panics += 1;
        }
        // Each part gives at most one document, each archive at most max_entries
        // members per level, down max_depth levels; cloud links come from the body.
        let per_part = 1 + 20 + 20 * 20 + 20 * 20 * 20;
        assert!(
            x.documents.len() <= limits.max_parts * per_part + data.len() / 10,
            "round {round}: {} documents",
            x.documents.len()
        );
        for (i, d) in x.documents.iter().enumerate() {
            assert!(
                d.bytes.len() as u64 <= limits.max_attachment_bytes,
                "round {round}"
            );
            if let Some(c) = d.container {
                assert!(c < i, "round {round}: container {c} after member {i}");
                assert!(
                    x.documents[c].is_container,
                    "round {round}: {c} not a container"
                );
            }
        }
        let expanded: u64 = x
            .documents
            .iter()
            .filter(|d| d.container.is_some_and(|c| x.documents[c].format == "zip"))
            .map(|d| d.bytes.len() as u64)
            .sum();
        assert!(expanded <= limits.max_expanded_total, "round {round}");
    }
    // The mutations leave most messages readable: documents keep being found.
    assert!(
        total_docs > rounds,
        "only {total_docs} documents over {rounds} rounds"
    );
    eprintln!("{rounds} mutated messages, {total_docs} documents, {parser_panics} mail-parser panics contained");
}
