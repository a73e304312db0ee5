//! Shared vocabulary of the pipeline: categories, document kinds, the call's forms and
//! field values. Plain data, no IO; every stage speaks these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of the call's forms a document is (defined by the call file, see [`crate::call`]).
pub use crate::call::FormKey;

/// What a document is to the intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Electronic,
    Scan,
    Archive,
    CloudLink,
    Other,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Electronic => "electronic",
            DocKind::Scan => "scan",
            DocKind::Archive => "archive",
            DocKind::CloudLink => "cloud_link",
            DocKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<DocKind> {
        [
            DocKind::Electronic,
            DocKind::Scan,
            DocKind::Archive,
            DocKind::CloudLink,
            DocKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What kind of mail a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Submission,
    Question,
    Autoreply,
    Bounce,
    Bulk,
    Spam,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Submission,
        Category::Question,
        Category::Autoreply,
        Category::Bounce,
        Category::Bulk,
        Category::Spam,
        Category::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Submission => "submission",
            Category::Question => "question",
            Category::Autoreply => "autoreply",
            Category::Bounce => "bounce",
            Category::Bulk => "bulk",
            Category::Spam => "spam",
            Category::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// Mail written by a machine: never answered (RFC 3834).
    pub fn is_robot(self) -> bool {
        matches!(
            self,
            Category::Autoreply | Category::Bounce | Category::Bulk | Category::Spam
        )
    }
}

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
