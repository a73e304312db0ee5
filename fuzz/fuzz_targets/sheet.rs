//! Fuzz target: untrusted bytes through the spreadsheet form reader (calamine for
//! .xlsx, .xls and .xlsb, merged regions, our own .xlsb record reading
//! (`forms/xlsb.rs`), then the field engine). The first byte chooses the declared
//! format (mod 3: xlsx, xls, xlsb); .xls (OLE compound file) has no checksums, so
//! mutations reach the BIFF record parser directly.
//!
//! calamine 0.38 panics on some truncated .xls files (slice indexing in `cfb.rs`, an
//! `assert_eq!` in `utils.rs`); `forms::sheet::read` catches every panic raised while
//! calamine reads and answers `Corrupt`, which is the product's documented behaviour
//! (fixtures in `fixtures/forms/corrupt/`). libfuzzer-sys aborts on *every* panic,
//! caught or not, so this target lets a panic go on to that catch when calamine is on
//! the stack (raised in its source, or in zip or quick-xml under it); a panic anywhere
//! else — our grid and field code above all — still aborts and is a finding.
//!
//! calamine also sizes allocations from forged fields (88 GB for the cells of one
//! sheet). In the product those fail under the parser worker's address-space cap
//! (1 GiB): the worker dies and the answer is `Corrupt`. Rust aborts on a failed
//! allocation, which libFuzzer would count as a crash, so [`CappedAlloc`] ends the run
//! with libFuzzer's out-of-memory status instead, which fork mode counts with the
//! OOMs, as `-rss_limit_mb=1024` would once that memory was touched.
#![no_main]

use kepu_intake::forms::parse_electronic;
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Once;

mod contract;

/// The parser worker's default address-space cap (`[intake] parse_memory_mb`).
const CAP: usize = 1 << 30;
/// What libFuzzer exits with on out-of-memory (`FuzzerOptions.h`, `OOMExitCode`).
const LIBFUZZER_OOM_EXIT: i32 = 71;

/// The system allocator, except that one request over [`CAP`] ends the process as an
/// out-of-memory would.
struct CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fn over_cap() -> ! {
    extern "C" {
        fn write(fd: i32, buf: *const u8, n: usize) -> isize;
        fn _exit(status: i32) -> !;
    }
    const MSG: &[u8] = b"==sheet== out-of-memory: one allocation over the 1 GiB parse cap\n";
    // SAFETY: write(2) and _exit(2) on a static buffer; nothing here allocates, and
    // _exit skips the atexit handlers (libFuzzer's would call the exit a crash).
    unsafe {
        write(2, MSG.as_ptr(), MSG.len());
        _exit(LIBFUZZER_OOM_EXIT)
    }
}

// SAFETY: every call is passed to `System` unchanged, or the process ends first.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            over_cap();
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            over_cap();
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > CAP {
            over_cap();
        }
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

fn pass_calamine_panics_to_the_reader() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // libfuzzer-sys's hook: print the panic, then abort.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_calamine = info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"))
                // Any frame in calamine's source files (by path: a frame's name can
                // carry calamine's types in its generic arguments without being
                // calamine's code). Resolving costs milliseconds, paid on a panic only.
                || std::backtrace::Backtrace::force_capture()
                    .to_string()
                    .contains("/calamine-");
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
    let format = match mode % 3 {
        0 => "xlsx",
        1 => "xls",
        _ => "xlsb",
    };
    if let Ok(parsed) = parse_electronic(kepu_intake::call::Call::builtin(), format, rest) {
        contract::assert_field_contract(&parsed);
    }
});
