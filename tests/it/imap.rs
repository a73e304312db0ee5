//! IMAP intake end to end: a private Dovecot over implicit TLS, `kepu-intake run`
//! as a black box, results read back from `dump --json`.

use crate::support::dovecot::Dovecot;

/// Harness self-check: APPEND keeps the INTERNALDATE and delete + create changes
/// UIDVALIDITY (the tests below rely on both).
#[test]
fn harness_dovecot_append_and_uidvalidity() {
    let d = Dovecot::start();
    d.create_mailbox("Applications");
    d.append("Applications", b"Subject: a\r\n\r\nx\r\n", "20-Jul-2022 23:58:59 +0800");
    let mut c = d.admin();
    let (exists, v1) = c.select("Applications").unwrap();
    assert_eq!(exists, 1);
    let lines = c.command("UID FETCH 1:* (INTERNALDATE)").unwrap();
    // Dovecot answers in its own zone (UTC here): the instant is what must survive.
    assert!(
        lines.iter().any(|l| l.contains("INTERNALDATE \"20-Jul-2022 15:58:59 +0000\"")),
        "{lines:?}"
    );
    c.command("UNSELECT").unwrap();
    c.delete("Applications").unwrap();
    c.create("Applications").unwrap();
    let (exists, v2) = c.select("Applications").unwrap();
    assert_eq!(exists, 0);
    assert_ne!(v1, v2, "UIDVALIDITY must change");
    c.logout();
}
