//! The receipts outbox: one row per message that is answered (or deliberately not),
//! created in the same transaction that records the message's processing.

use rusqlite::{params, Transaction};

/// Creates the outbox row for `message` unless one exists (reprocessing never queues a
/// second receipt). `status` is `pending` or `suppressed`.
pub fn insert_receipt(
    tx: &Transaction<'_>,
    message: i64,
    to_addr: &str,
    status: &str,
    reason: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO receipts(message, to_addr, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(message) DO NOTHING",
        params![message, to_addr, status, reason, now],
    )?;
    Ok(())
}
