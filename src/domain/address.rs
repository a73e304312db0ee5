//! Mail addresses as the intake compares them: the mailbox an address delivers to (for
//! the receipts' per-mailbox window and caps, stored with each receipt by `db/`) and its
//! domain. Pure string functions, below `db/` and `receipts/` alike.

/// The mailbox an address delivers to, for counting receipts per mailbox: lower case,
/// without a `+tag` (`Office+1@School.example` and `office+2@school.example` are one
/// mailbox). Only for counting: the receipt itself goes to the address as written.
pub fn mailbox_key(addr: &str) -> String {
    let a = normalize(addr);
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}")
        }
        None => a,
    }
}

/// The domain of an address (lower case), for the per-domain cap.
pub fn domain_of(addr: &str) -> String {
    normalize(addr)
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

/// An address as compared: trimmed, without `<>`, lower case.
pub fn normalize(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase()
}
