//! [`FormKey`]: which of the call's forms a document is. A small copyable handle
//! (附件 number and key) that serialises as the key string, so JSON, the database and
//! the CLI keep saying `expert`, `pilot_school`, … and sort in 附件 order.

use super::{current, FormDef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FormKey {
    number: u32,
    key: &'static str,
}

impl FormKey {
    /// A key as a call file defines it (the interning keeps it `Copy`; a process sees a
    /// handful of distinct keys).
    pub(super) fn new(number: u32, key: &str) -> FormKey {
        FormKey {
            number,
            key: intern(key),
        }
    }

    /// The machine name used in JSON, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        self.key
    }

    /// The form of the current call named `s`.
    pub fn parse(s: &str) -> Option<FormKey> {
        current().form(s).map(|f| f.key)
    }

    /// The current call's forms in 附件 order.
    pub fn all() -> Vec<FormKey> {
        current().keys().collect()
    }

    /// This form's definition in the current call.
    pub fn def(self) -> Option<&'static FormDef> {
        current().form(self.key)
    }

    /// `附件N title`, what operators and applicants read (the key when unknown).
    pub fn title_zh(self) -> &'static str {
        self.def().map_or(self.key, |f| f.heading.as_str())
    }

    /// The canonical field key that names the applicant on this form.
    pub fn applicant_key(self) -> &'static str {
        self.def().map_or("", |f| f.applicant_key())
    }
}

impl std::fmt::Display for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

impl Serialize for FormKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key)
    }
}

impl<'de> Deserialize<'de> for FormKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FormKey, D::Error> {
        let s = String::deserialize(d)?;
        FormKey::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("form {s:?} is not in the call")))
    }
}

fn intern(s: &str) -> &'static str {
    static KEYS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = keys.iter().find(|k| **k == s) {
        return k;
    }
    let k: &'static str = Box::leak(s.to_owned().into_boxed_str());
    keys.push(k);
    k
}
