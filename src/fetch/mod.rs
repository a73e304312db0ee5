//! The fetch stage: the only module that speaks IMAP. Connects, logs in, sends `ID`
//! (NetEase refuses SELECT without it), selects the mailbox, and downloads every message
//! above the stored (UIDVALIDITY, last UID) cursor with `BODY.PEEK[]` (never setting
//! \Seen, never deleting or moving), then waits with IDLE or polls. Reconnects with
//! capped exponential backoff; every loop selects on the shutdown token.

pub mod mailbox;
pub mod session;
pub mod tls;

pub use mailbox::{catch_up, wait, CatchUp, Wake};
pub use session::{open, Connected};
