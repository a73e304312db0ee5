//! The receipt's wording: a built-in Chinese text that operators may replace with their
//! own file. `{{name}}` placeholders are filled in; a line holding only a placeholder
//! that came out empty disappears, so optional sections leave no gaps.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Placeholders a template may use. `original_subject` is accepted so older operator
/// templates still load, and renders empty: a receipt never repeats a sender's subject.
pub const PLACEHOLDERS: &[&str] = &[
    "greeting",
    "received_at",
    "original_subject",
    "documents",
    "missing",
    "late",
    "cloud",
    "question",
    "contact",
];

/// The built-in wording.
pub const DEFAULT_TEMPLATE: &str = "{{greeting}}

您发送至唐山市科协申报邮箱的邮件已于 {{received_at}}（北京时间）收到。这是系统自动发送的回执。

{{documents}}

{{missing}}

{{late}}

{{cloud}}

{{question}}

如需补交或更正材料，请直接发送至本邮箱，并在主题中注明单位名称。
联系方式：{{contact}}

唐山市科协青少年科技中心
（本邮件由系统自动发送）
";

/// A checked template.
#[derive(Debug, Clone)]
pub struct Template {
    text: String,
}

impl Template {
    pub fn builtin() -> Template {
        Template {
            text: DEFAULT_TEMPLATE.to_string(),
        }
    }

    /// The operator's file when given, else the built-in text.
    pub fn load(file: Option<&Path>) -> Result<Template> {
        match file {
            None => Ok(Template::builtin()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                Template::parse(&text).map_err(|m| {
                    Error::Config(format!("receipts.template_file {}: {m}", p.display()))
                })
            }
        }
    }

    /// Refuses unknown or unclosed placeholders, so a typo shows at start-up and not
    /// as `{{联系人}}` in a mail to an applicant.
    pub fn parse(text: &str) -> std::result::Result<Template, String> {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| "未闭合的占位符 unclosed '{{'".to_string())?;
            let name = after[..end].trim();
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "未知占位符 unknown placeholder {{{{{name}}}}}; known: {}",
                    PLACEHOLDERS.join(", ")
                ));
            }
            rest = &after[end + 2..];
        }
        Ok(Template {
            text: text.to_string(),
        })
    }

    /// Fills in `values` (missing names render empty).
    pub fn render(&self, values: &BTreeMap<&str, String>) -> String {
        let mut out = String::with_capacity(self.text.len() * 2);
        for line in self.text.lines() {
            let trimmed = line.trim();
            let lone = trimmed.starts_with("{{")
                && trimmed.ends_with("}}")
                && trimmed.matches("{{").count() == 1;
            let rendered = fill(line, values);
            if lone && rendered.trim().is_empty() {
                continue;
            }
            out.push_str(&rendered);
            out.push('\n');
        }
        collapse_blank_lines(&out)
    }
}

fn fill(line: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                if let Some(v) = values.get(name) {
                    out.push_str(v);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// At most one blank line in a row, none at the start.
fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true;
    for line in s.lines() {
        let is_blank = line.trim().is_empty();
        if is_blank && blank {
            continue;
        }
        blank = is_blank;
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
