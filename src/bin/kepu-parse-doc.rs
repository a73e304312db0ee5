//! Stand-alone parser child, the same code as kepu-intake's hidden subcommands:
//! `kepu-parse-doc __parse-doc --format F` (one document) and
//! `kepu-parse-doc __parse-worker [--alarm-s N]` (the persistent worker); lets tests
//! and benches isolate parsing without building the whole daemon binary.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(kepu_intake::isolate::child_main_from_args(&args));
}
