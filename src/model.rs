//! Shared vocabulary of the pipeline: categories, document kinds, the call's forms and
//! field values. Plain data, no IO; every stage speaks these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of the call's forms a document is (defined by the call file, see [`crate::call`]).
pub use crate::call::FormKey;

/// Defined in the domain layer; named here too because every stage imports them from
/// here.
pub use crate::domain::{Category, DocKind};

/// A field's value: free text, or the checked options of a checkbox field in form order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    Choices(Vec<String>),
}

impl FieldValue {
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Text(s) => s.trim().is_empty(),
            FieldValue::Choices(v) => v.is_empty(),
        }
    }
    /// One-line text for tables and exports (choices joined with `、`).
    pub fn display(&self) -> String {
        match self {
            FieldValue::Text(s) => s.clone(),
            FieldValue::Choices(v) => v.join("、"),
        }
    }
}

/// Canonical field key → value (keys per `forms.md`).
pub type Fields = BTreeMap<String, FieldValue>;
