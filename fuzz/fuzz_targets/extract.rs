//! Fuzz target: arbitrary message bytes through the whole extract stage. Small caps
//! keep each run fast; the checks mirror the invariants the pipeline relies on.
#![no_main]

use kepu_intake::extract::{extract, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_attachment_bytes: 1 << 20,
        max_expanded_total: 4 << 20,
        max_ratio: 100,
        max_entries: 32,
        max_depth: 3,
        max_parts: 200,
    };
    let x = extract(data, &limits);
    for (i, d) in x.documents.iter().enumerate() {
        assert!(d.bytes.len() as u64 <= limits.max_attachment_bytes);
        if let Some(c) = d.container {
            assert!(c < i);
        }
    }
});
