//! JSON views of `show --json`: the dump's entries plus the stored files' paths, and a
//! message's own text (a question must be readable without opening the raw mail).

use crate::report::dump::{Dump, DumpApplication, DumpMessage};
use std::path::Path;

pub fn application_json(d: &Dump, a: &DumpApplication, data_dir: &Path) -> serde_json::Value {
    let docs: Vec<serde_json::Value> = d
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .filter(|doc| Some(doc.id) == a.electronic || Some(doc.id) == a.scan)
        .map(|doc| {
            let mut v = serde_json::to_value(doc).unwrap_or_default();
            v["file"] =
                serde_json::Value::String(data_dir.join(&doc.path).to_string_lossy().into_owned());
            v
        })
        .collect();
    let mut v = serde_json::to_value(a).unwrap_or_default();
    v["documents"] = serde_json::Value::Array(docs);
    v
}

pub fn message_json(m: &DumpMessage, data_dir: &Path) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    v["raw_file"] = serde_json::Value::String(
        data_dir
            .join(crate::store::Store::raw_rel(&m.sha256))
            .to_string_lossy()
            .into_owned(),
    );
    if m.category == Some(crate::domain::Category::Question) {
        v["text"] = serde_json::Value::String(message_text(data_dir, m).unwrap_or_default());
    }
    v
}

/// The text a sender wrote in message `m` (plain part, else its HTML as text), read
/// again from the stored raw mail; None when the raw file cannot be read.
pub fn message_text(data_dir: &Path, m: &DumpMessage) -> Option<String> {
    let raw = std::fs::read(data_dir.join(crate::store::Store::raw_rel(&m.sha256))).ok()?;
    let ex = crate::extract::extract(&raw, &crate::extract::Limits::default());
    Some(ex.meta.body_text.trim().to_string())
}
