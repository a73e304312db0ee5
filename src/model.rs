//! Shared vocabulary of the pipeline: categories, document kinds, the four forms and
//! field values. Plain data, no IO; every stage speaks these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of the notice's four forms (附件1–4) a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// 附件1 科技教育专家服务团成员推荐表
    Expert,
    /// 附件2 科普资源申报推荐表
    Resource,
    /// 附件3 科技教育试点县（市）区申报表
    PilotDistrict,
    /// 附件4 科技教育试点学校申报表
    PilotSchool,
}

impl FormKind {
    pub const ALL: [FormKind; 4] = [
        FormKind::Expert,
        FormKind::Resource,
        FormKind::PilotDistrict,
        FormKind::PilotSchool,
    ];

    /// The machine name used in JSON, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Expert => "expert",
            FormKind::Resource => "resource",
            FormKind::PilotDistrict => "pilot_district",
            FormKind::PilotSchool => "pilot_school",
        }
    }

    pub fn parse(s: &str) -> Option<FormKind> {
        FormKind::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The Chinese name operators and applicants read.
    pub fn title_zh(self) -> &'static str {
        match self {
            FormKind::Expert => "附件1 科技教育专家服务团成员推荐表",
            FormKind::Resource => "附件2 科普资源申报推荐表",
            FormKind::PilotDistrict => "附件3 科技教育试点县（市）区申报表",
            FormKind::PilotSchool => "附件4 科技教育试点学校申报表",
        }
    }

    /// The canonical field key that names the applicant on this form.
    pub fn applicant_key(self) -> &'static str {
        match self {
            FormKind::Expert => "姓名",
            FormKind::Resource => "申报单位名称",
            FormKind::PilotDistrict => "申报单位",
            FormKind::PilotSchool => "申报学校",
        }
    }
}

/// What a document is to the intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Electronic,
    Scan,
    Archive,
    CloudLink,
    /// The notice or its blank forms, circulated: not an application (issue 21).
    Notice,
    Other,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Electronic => "electronic",
            DocKind::Scan => "scan",
            DocKind::Archive => "archive",
            DocKind::CloudLink => "cloud_link",
            DocKind::Notice => "notice",
            DocKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<DocKind> {
        [
            DocKind::Electronic,
            DocKind::Scan,
            DocKind::Archive,
            DocKind::CloudLink,
            DocKind::Notice,
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
