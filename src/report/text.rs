//! Plain-text views for the terminal (placeholder until the operators' tables land).

use crate::report::dump::{Dump, DumpApplication, DumpMessage};
use std::path::Path;

pub fn applications(apps: &[&DumpApplication]) -> String {
    let mut s = String::new();
    for a in apps {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            a.id,
            a.form,
            a.status,
            if a.late { "逾期" } else { "" },
            a.applicant
        ));
    }
    s
}

pub fn application(d: &Dump, a: &DumpApplication, data_dir: &Path) -> String {
    serde_json::to_string_pretty(&application_json(d, a, data_dir)).unwrap_or_default()
}

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

pub fn message(m: &DumpMessage, data_dir: &Path) -> String {
    serde_json::to_string_pretty(&message_json(m, data_dir)).unwrap_or_default()
}

pub fn message_json(m: &DumpMessage, data_dir: &Path) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    v["raw_file"] = serde_json::Value::String(
        data_dir
            .join(crate::store::Store::raw_rel(&m.sha256))
            .to_string_lossy()
            .into_owned(),
    );
    v
}
