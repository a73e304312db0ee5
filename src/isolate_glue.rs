//! Entry of the hidden `__parse-doc` subcommand (wired to the isolation module).

/// Parses one document read from stdin and prints the result as JSON.
pub fn child_main(format: &str) -> i32 {
    use std::io::{Read, Write};
    let mut buf = Vec::new();
    if std::io::stdin().read_to_end(&mut buf).is_err() {
        return 2;
    }
    let r = crate::forms::parse_electronic(format, &buf);
    let out = serde_json::to_string(&r).unwrap_or_default();
    let _ = std::io::stdout().write_all(out.as_bytes());
    0
}
