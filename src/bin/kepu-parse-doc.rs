//! Stand-alone parser child (`kepu-parse-doc __parse-doc --format F`), the same code as
//! kepu-intake's hidden `__parse-doc` subcommand; lets tests and benches isolate
//! parsing before the main binary wires that subcommand.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(kepu_intake::isolate::child_main_from_args(&args));
}
