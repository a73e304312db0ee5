//! `/metrics`: the intake's counts in the Prometheus text format, so a monitoring
//! system can alert when mail stops arriving or processing fails.

use crate::model::FormKey;
use crate::report::dump::Dump;
use crate::report::export::{category_counts_raw, RECEIPT_STATUSES, STATUSES};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes a label value (backslash, quote, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The kind of a problem code: the part before the first `:`.
fn kind(code: &str) -> &str {
    code.split(':').next().unwrap_or(code)
}

/// Renders all metrics. `last_poll` is the Unix time of the last successful mailbox
/// poll, when known.
pub fn render(dump: &Dump, last_poll: Option<i64>) -> String {
    let mut out = String::new();
    out.push_str("# HELP kepu_messages_total Messages recorded, by category (pending = not yet processed).\n");
    out.push_str("# TYPE kepu_messages_total counter\n");
    for (c, n) in category_counts_raw(dump) {
        let c = c.unwrap_or_else(|| "pending".into());
        let _ = writeln!(out, "kepu_messages_total{{category=\"{}\"}} {n}", label(&c));
    }

    out.push_str("# HELP kepu_applications Applications by form and status.\n");
    out.push_str("# TYPE kepu_applications gauge\n");
    let mut apps: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in FormKey::all() {
        for s in STATUSES {
            apps.insert((f.as_str().into(), s.into()), 0);
        }
    }
    for a in &dump.applications {
        *apps.entry((a.form.clone(), a.status.clone())).or_default() += 1;
    }
    for ((f, s), n) in &apps {
        let _ = writeln!(
            out,
            "kepu_applications{{form=\"{}\",status=\"{}\"}} {n}",
            label(f),
            label(s)
        );
    }
    let _ = writeln!(
        out,
        "# HELP kepu_applications_late Applications received after the deadline."
    );
    let _ = writeln!(out, "# TYPE kepu_applications_late gauge");
    let _ = writeln!(
        out,
        "kepu_applications_late {}",
        dump.applications.iter().filter(|a| a.late).count()
    );

    out.push_str("# HELP kepu_problems Problems recorded, by kind (each message, document and application counted).\n");
    out.push_str("# TYPE kepu_problems gauge\n");
    let mut problems: BTreeMap<&str, usize> = BTreeMap::new();
    let codes = dump
        .messages
        .iter()
        .flat_map(|m| {
            m.problems
                .iter()
                .chain(m.documents.iter().flat_map(|d| d.problems.iter()))
        })
        .chain(dump.applications.iter().flat_map(|a| a.problems.iter()));
    for code in codes {
        *problems.entry(kind(code)).or_default() += 1;
    }
    for (k, n) in &problems {
        let _ = writeln!(out, "kepu_problems{{kind=\"{}\"}} {n}", label(k));
    }

    out.push_str("# HELP kepu_receipts Messages by receipt status.\n");
    out.push_str("# TYPE kepu_receipts gauge\n");
    let mut receipts: BTreeMap<&str, usize> = RECEIPT_STATUSES.iter().map(|s| (*s, 0)).collect();
    for m in &dump.messages {
        *receipts.entry(m.receipt.status.as_str()).or_default() += 1;
    }
    for (s, n) in &receipts {
        let _ = writeln!(out, "kepu_receipts{{status=\"{}\"}} {n}", label(s));
    }

    if let Some(t) = last_poll {
        out.push_str(
            "# HELP kepu_last_poll_timestamp_seconds Unix time of the last mailbox poll.\n",
        );
        out.push_str("# TYPE kepu_last_poll_timestamp_seconds gauge\n");
        let _ = writeln!(out, "kepu_last_poll_timestamp_seconds {t}");
    }
    out
}
