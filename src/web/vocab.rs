//! The page's one way to turn a code into the words a clerk reads. Every status,
//! category, receipt state, problem, document kind, review state and audit action the
//! pages show goes through [`zh`], which hands it to the domain's own `label_zh()`
//! ([`crate::domain`]), so the page, the CLI and the workbook say the same thing.

use crate::domain::{AppStatus, AuditAction, Category, DocKind, ReceiptStatus, ReviewState};

/// A code and what it is a code of.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Status(AppStatus),
    /// A mail category; None = not processed yet.
    Category(Option<Category>),
    Receipt(ReceiptStatus),
    /// A problem code (`kind` or `kind:detail`), shown with the code in parentheses.
    Problem(&'a str),
    Kind(DocKind),
    /// A form key of the call (`form1`…); an unknown key is shown as it is.
    Form(&'a str),
    Review(ReviewState),
    Action(AuditAction),
    /// Why a receipt is in its state, stored as `code: 说明`: the 说明 is shown.
    ReceiptReason(&'a str),
}

/// The Chinese words for `code`; an unknown code is shown as it is, never hidden.
pub fn zh(code: Code<'_>) -> String {
    match code {
        Code::Status(s) => s.label_zh().to_string(),
        Code::Category(c) => crate::domain::kinds::category_label_zh(c).to_string(),
        Code::Receipt(r) => r.label_zh().to_string(),
        Code::Problem(p) => crate::domain::problem::cell(p),
        Code::Kind(k) => k.label_zh().to_string(),
        Code::Form(f) => crate::report::export::form_name_zh(f).to_string(),
        Code::Review(r) => r.label_zh().to_string(),
        Code::Action(a) => a.label_zh().to_string(),
        Code::ReceiptReason(r) => match r.split_once(':') {
            Some((code, text))
                if !text.trim().is_empty()
                    && !code.is_empty()
                    && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                text.trim().to_string()
            }
            _ => r.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_in_chinese() {
        assert_eq!(zh(Code::Status(AppStatus::MissingScan)), "缺盖章扫描件");
        assert_eq!(zh(Code::Category(Some(Category::Question))), "咨询");
        assert_eq!(zh(Code::Receipt(ReceiptStatus::Sent)), "已发送");
        assert_eq!(zh(Code::Review(ReviewState::Accepted)), "已受理");
        assert_eq!(zh(Code::Action(AuditAction::ReceiptRetry)), "重发回执");
        assert_eq!(zh(Code::Kind(DocKind::Scan)), "扫描件");
        assert_eq!(
            zh(Code::ReceiptReason("receipts_off: 回执功能未开启")),
            "回执功能未开启"
        );
        assert_eq!(
            zh(Code::ReceiptReason("550 mailbox unavailable")),
            "550 mailbox unavailable"
        );
        assert!(zh(Code::Problem("unknown_form")).contains("（unknown_form）"));
    }
}
