//! What the form reader knows beyond the call file: the fields of each form come from
//! the call ([`crate::call::FormDef`]); here are only the pre-printed words every form
//! shares, which must never end up in a value.

pub use crate::call::{FieldSpec, Format, Kind};

/// Pre-printed words removed where they end a line of any form's value
/// (`盖   章`, `年  月  日` with no digits in it).
pub const SUFFIX_PLACEHOLDERS: &[&str] = &["盖章", "年月日"];

/// Words inside parentheses that mark the parentheses as the form's own instruction
/// (`（可另附页）`, `（…不超过1000字。）`, `（盖章）`).
pub const INSTRUCTION_WORDS: &[&str] = &["可另附页", "不超过", "盖章", "字以内"];
