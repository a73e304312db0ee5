//! Fuzz target: untrusted bytes through the spreadsheet form reader (calamine for
//! .xlsx and .xls, merged regions, then the field engine). The first byte chooses the
//! declared format; .xls (OLE compound file) has no checksums, so mutations reach the
//! BIFF record parser directly.
#![no_main]

use kepu_intake::forms::parse_electronic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = if mode & 1 == 0 { "xlsx" } else { "xls" };
    let _ = parse_electronic(format, rest);
});
