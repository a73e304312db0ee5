//! The page's one way to turn a code into the words a clerk reads. Every status,
//! category, receipt state, problem, document kind, review state and audit action the
//! pages show goes through [`zh`]; the tables themselves live with the reports
//! ([`crate::report::export::labels`]) and the office ([`crate::office`]), so the page,
//! the CLI and the workbook say the same thing.

use crate::report::export::{
    category_zh, form_name_zh, kind_zh, problem_cell, receipt_zh, status_zh,
};

/// A code and what it is a code of.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Status(&'a str),
    /// A mail category; None = not processed yet.
    Category(Option<&'a str>),
    Receipt(&'a str),
    /// A problem code (`kind` or `kind:detail`), shown with the code in parentheses.
    Problem(&'a str),
    Kind(&'a str),
    Form(&'a str),
    Review(&'a str),
    Action(&'a str),
    /// Why a receipt is in its state, stored as `code: 说明`: the 说明 is shown.
    ReceiptReason(&'a str),
}

/// The Chinese words for `code`; an unknown code is shown as it is, never hidden.
pub fn zh(code: Code<'_>) -> String {
    match code {
        Code::Status(s) => status_zh(s).to_string(),
        Code::Category(c) => category_zh(c).to_string(),
        Code::Receipt(r) => receipt_zh(r).to_string(),
        Code::Problem(p) => problem_cell(p),
        Code::Kind(k) => kind_zh(k).to_string(),
        Code::Form(f) => form_name_zh(f).to_string(),
        Code::Review(r) => crate::office::review_label(r).to_string(),
        Code::Action(a) => action_zh(a).to_string(),
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

fn action_zh(a: &str) -> &str {
    use crate::office::Action::*;
    [
        Match,
        Review,
        Late,
        Import,
        Reprocess,
        Remind,
        ReceiptRetry,
        ReceiptApprove,
        User,
        Remove,
    ]
    .into_iter()
    .find(|x| x.as_str() == a)
    .map_or(a, |x| x.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_in_chinese() {
        assert_eq!(zh(Code::Status("missing_scan")), "缺盖章扫描件");
        assert_eq!(zh(Code::Category(Some("question"))), "咨询");
        assert_eq!(zh(Code::Receipt("sent")), "已发送");
        assert_eq!(zh(Code::Review("accepted")), "已受理");
        assert_eq!(zh(Code::Action("receipt_retry")), "重发回执");
        assert_eq!(zh(Code::Kind("scan")), "扫描件");
        assert_eq!(
            zh(Code::ReceiptReason("receipts_off: 回执功能未开启")),
            "回执功能未开启"
        );
        assert_eq!(
            zh(Code::ReceiptReason("550 mailbox unavailable")),
            "550 mailbox unavailable"
        );
        assert_eq!(
            zh(Code::Problem("unknown_form")),
            "未识别为申报表（unknown_form）"
        );
    }
}
