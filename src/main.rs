//! The `kepu-intake` binary: parses the command line, sets up logging and hands over
//! to the library.

fn main() {}
