//! Unit tests of the pipeline (`pipeline.rs`).

use super::*;
use crate::domain::document::NewDocument;
use crate::domain::DocFormat;

#[test]
fn identical_scans_in_a_batch_share_one_analysis() {
    let mut b = Batch::default();
    let a = b.job("aaa:ocr=true".into(), "jpg", &[1, 2, 3]);
    let other = b.job("bbb:ocr=true".into(), "png", &[4, 5]);
    let again = b.job("aaa:ocr=true".into(), "jpg", &[1, 2, 3]);
    assert_eq!((a, other, again), (0, 1, 0));
    assert_eq!(b.jobs.len(), 2);
    assert_eq!(b.jobs[0].docs, 2);
    assert_eq!(b.bytes, 5, "the shared scan's bytes are held once");
}

#[test]
fn zero_workers_means_one_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(workers(0), cores);
    assert_eq!(workers(3), 3);
}

#[test]
fn small_picture_without_form_or_seal_is_not_a_scan() {
    let doc = |format: &str, size: i64| {
        NewDocument::unclassified(
            "x".into(),
            "s".into(),
            size,
            DocFormat::from_sniffed(format),
        )
    };
    let mut logo = doc("png", 4_000);
    apply_scan(&mut logo, ScanInfo::default());
    assert_eq!(logo.kind, "other");
    let mut page = doc("png", 4_000);
    apply_scan(
        &mut page,
        ScanInfo {
            stamped: Some(true),
            seal_score: 0.9,
            ..ScanInfo::default()
        },
    );
    assert_eq!((page.kind.as_str(), page.stamped), ("scan", Some(true)));
    let mut pdf = doc("pdf", 4_000);
    apply_scan(&mut pdf, ScanInfo::default());
    assert_eq!(pdf.kind, "scan");
}
