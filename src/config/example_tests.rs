//! The shipped example configuration must stay loadable (`config.rs`).

use super::*;

/// The shipped example must stay loadable: operators copy it as their start.
#[test]
fn example_config_parses_and_validates() {
    let text = include_str!("../../config/kepu-intake.example.toml");
    let c = Config::from_toml(text).unwrap();
    assert_eq!(c.imap.host, "imap.126.com");
    assert_eq!(c.imap.password_env.as_deref(), Some("KEPU_IMAP_PASSWORD"));
    assert_eq!(
        c.intake.deadline().unwrap().to_rfc3339(),
        "2022-07-20T23:59:59+08:00"
    );
    c.validate().unwrap();
}
