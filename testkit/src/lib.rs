//! Test support shared by the integration tests (`tests/it`, as a dev-dependency) and the
//! benchmark binary (`bench/`): a private Dovecot with per-run TLS certificates
//! (`dovecot`, `certs`), a tiny IMAP client to seed it (`imap_client`), base64 for
//! building mail, and short temporary directories. Standard library and libc only, and nothing
//! here names the `kepu-intake` binary, so both users can build it.

pub mod base64;
pub mod certs;
pub mod dovecot;
pub mod imap_client;
pub mod tmpdir;

pub use dovecot::Dovecot;
