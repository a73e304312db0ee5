//! The slice of the intake a receipt is composed from, read instead of the whole dump
//! when the outbox has receipts due (`receipts::drain_due`).
//!
//! `receipts::compose` looks at: the answered messages and their documents; each
//! document's electronic version (`scan_of`); the applications holding one of those
//! documents or sent from one of those senders, and those applications' documents;
//! every message from those applications' senders (a scan that matched nothing may
//! be the one an application lacks) and every application holding one of their scans.
//! The view holds exactly those messages (whole, with all their documents) and a
//! superset of those applications, in the dump's order, so every lookup `compose`
//! makes finds what it would find in the full dump.
//!
//! Senders are compared as stored: `messages.from_addr` is lower-cased at ingest and
//! `applications.email` is a copy of it.

use super::Db;
use crate::domain::dump::Dump;
use crate::error::Result;
use std::collections::BTreeSet;

impl Db {
    /// The messages `answered` (a receipt's own and those folded into it, for any
    /// number of receipts) with everything their receipts speak of; see the module
    /// doc. One read snapshot.
    pub fn receipt_view(&self, answered: &[i64]) -> Result<Dump> {
        self.snapshot(|| {
            let m0 = json_ids(answered.iter().copied());
            let senders: Vec<String> = self.rows(
                "SELECT DISTINCT from_addr FROM messages
                 WHERE id IN (SELECT value FROM json_each(?1)) AND from_addr IS NOT NULL",
                [&m0],
                |r| r.get(0),
            )?;
            let senders = serde_json::to_string(&senders).unwrap_or_else(|_| "[]".into());
            // The applications the receipts speak of: they hold an answered document or
            // come from an answered sender.
            let related: Vec<(Option<i64>, Option<i64>, Option<String>)> = self.rows(
                "SELECT electronic, scan, email FROM applications
                 WHERE electronic IN (SELECT id FROM documents
                                      WHERE message IN (SELECT value FROM json_each(?1)))
                    OR scan IN (SELECT id FROM documents
                                WHERE message IN (SELECT value FROM json_each(?1)))
                    OR email IN (SELECT value FROM json_each(?2))",
                [&m0, &senders],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut emails: BTreeSet<String> = serde_json::from_str(&senders).unwrap_or_default();
            let mut docs: BTreeSet<i64> = BTreeSet::new();
            for (electronic, scan, email) in related {
                docs.extend(electronic.into_iter().chain(scan));
                emails.extend(email);
            }
            let emails = serde_json::to_string(&emails).unwrap_or_else(|_| "[]".into());
            // The answered documents' electronic versions.
            docs.extend(self.rows(
                "SELECT scan_of FROM documents
                 WHERE message IN (SELECT value FROM json_each(?1)) AND scan_of IS NOT NULL",
                [&m0],
                |r| r.get::<_, i64>(0),
            )?);
            let messages: Vec<i64> = self.rows(
                "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?1))
                 UNION SELECT id FROM messages WHERE from_addr IN (SELECT value FROM json_each(?2))
                 UNION SELECT message FROM documents WHERE id IN (SELECT value FROM json_each(?3))",
                [&m0, &emails, &json_ids(docs)],
                |r| r.get(0),
            )?;
            let messages = json_ids(messages);
            // Every application holding a document of the view, or from an answered
            // sender: the related ones and those claiming a scan of the view.
            let applications = self.select_applications(
                "a.electronic IN (SELECT id FROM documents
                                  WHERE message IN (SELECT value FROM json_each(?1)))
                 OR a.scan IN (SELECT id FROM documents
                               WHERE message IN (SELECT value FROM json_each(?1)))
                 OR a.email IN (SELECT value FROM json_each(?2))",
                &[&messages, &senders],
                -1,
            )?;
            Ok(Dump {
                messages: self.dump_messages(Some(&messages))?,
                applications,
                call: crate::domain::dump::DumpCall::of(crate::call::current()),
                audit: Vec::new(),
            })
        })
    }
}

/// Ids as a JSON array, the one parameter `json_each` reads (any number of them).
fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.into_iter().collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}
