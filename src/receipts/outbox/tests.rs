//! Unit tests of the receipts outbox (`outbox.rs`).

use super::*;

#[test]
fn retry_delays_double_from_the_configured_first_and_stop_at_an_hour() {
    let secs = |attempt, first| backoff(attempt, first).num_seconds();
    assert_eq!([secs(1, 60), secs(2, 60), secs(3, 60)], [60, 120, 240]);
    assert_eq!([secs(1, 10), secs(2, 10)], [10, 20]);
    assert_eq!(secs(8, 60), MAX_BACKOFF_S);
    assert_eq!(secs(1, 0), 1, "0 would retry in a busy loop");
}
