//! Unit tests of configuration loading and validation (`config.rs`).

use super::*;

#[test]
fn defaults_are_valid_and_receipts_are_off() {
    let c = Config::default();
    c.validate().unwrap();
    assert_eq!(c.receipts.mode, ReceiptMode::Off);
    assert_eq!(c.storage.db_path(), PathBuf::from("data/intake.db"));
}

#[test]
fn errors_name_their_path() {
    let c =
        Config::from_toml("[imap]\nhost = \"imap.126.com\"\n[intake]\ndeadline = \"July 20\"\n")
            .unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("intake.deadline:"), "{e}");
    assert!(e.contains("imap.user:"), "{e}");
    assert!(e.contains("imap.password_env:"), "{e}");
}

#[test]
fn unknown_keys_are_refused() {
    let e = Config::from_toml("[imap]\nhots = \"x\"\n").unwrap_err();
    assert!(e.contains("hots"), "{e}");
}

#[test]
fn receipt_mode_reads_kebab_case() {
    let c = Config::from_toml("[receipts]\nmode = \"dry-run\"\n").unwrap();
    assert_eq!(c.receipts.mode, ReceiptMode::DryRun);
}
