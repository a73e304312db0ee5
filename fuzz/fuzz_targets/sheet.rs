//! Fuzz target: untrusted bytes through the spreadsheet form reader (calamine for
//! .xlsx and .xls, merged regions, then the field engine). The first byte chooses the
//! declared format; .xls (OLE compound file) has no checksums, so mutations reach the
//! BIFF record parser directly.
//!
//! calamine 0.38 panics on some truncated .xls files (slice indexing in `cfb.rs`, an
//! `assert_eq!` in `utils.rs`); `forms::sheet::read` catches those and answers
//! `Corrupt`, which is the product's documented behaviour (fixtures in
//! `fixtures/forms/corrupt/`). libfuzzer-sys aborts on *every* panic, caught or not, so
//! this target lets panics raised inside calamine's own source go on to that catch; a
//! panic anywhere else (our code, zip, quick-xml) still aborts and is a finding.
#![no_main]

use kepu_intake::forms::parse_electronic;
use libfuzzer_sys::fuzz_target;
use std::sync::Once;

mod contract;

fn pass_calamine_panics_to_the_reader() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // libfuzzer-sys's hook: print the panic, then abort.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_calamine = info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"));
            if !in_calamine {
                abort(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    pass_calamine_panics_to_the_reader();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = if mode & 1 == 0 { "xlsx" } else { "xls" };
    if let Ok(parsed) = parse_electronic(format, rest) {
        contract::assert_field_contract(&parsed);
    }
});
