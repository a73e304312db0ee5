//! Fuzz target: untrusted bytes through the .docx form reader and the field engine.
//!
//! A mutated zip mostly fails its CRC check before any XML is read, so the first byte
//! chooses what the rest is: `0` → the whole file as sent; otherwise → the body of
//! `word/document.xml` inside a freshly written, valid zip. The second mode is what
//! reaches the XML walker (merged cells, checkboxes, content controls).
#![no_main]

use std::io::{Cursor, Write};

use kepu_intake::forms::parse_electronic;
use libfuzzer_sys::fuzz_target;

mod contract;

fn wrap_document_xml(xml: &[u8]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    // A zip writer into memory only fails on our own misuse; skip rather than panic,
    // since a panic here would be reported as a crash in the code under test.
    if out.start_file("word/document.xml", opts).is_err() || out.write_all(xml).is_err() {
        return Vec::new();
    }
    out.finish().map(|c| c.into_inner()).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode == 0 {
        rest.to_vec()
    } else {
        wrap_document_xml(rest)
    };
    if let Ok(parsed) = parse_electronic(kepu_intake::call::Call::builtin(), "docx", &bytes) {
        contract::assert_field_contract(&parsed);
    }
});
