//! Problem and reason codes added for issue 21, each with the Chinese label the office
//! reads and what to do: one definition, used by the stages that record them and by
//! [`crate::report`]'s wording.

/// An encrypted Office attachment opened with a password found in the mail.
pub const DECRYPTED: &str = "decrypted_with_password";
/// A document that is the notice's blank forms (or the notice itself), not a filled
/// application.
pub const NOTICE_TEMPLATE: &str = "notice_template";
/// A message taken for spam or phishing by the rules in `extract::spam`.
pub const SPAM_RULE: &str = "spam_rule";

/// (code, Chinese label, what to do) of every code above.
pub const LABELS: [(&str, &str, &str); 3] = [
    (
        DECRYPTED,
        "附件有密码，已用邮件中给出的密码打开",
        "无需处理；如内容不对，请向申报单位核实密码",
    ),
    (
        NOTICE_TEMPLATE,
        "通知或空白申报表，不是申报材料",
        "无需处理；如确为申报，请联系发件人重新发送填好的表",
    ),
    (
        SPAM_RULE,
        "垃圾邮件或钓鱼邮件（按规则判定），不回执",
        "核对规则说明；误判时可按普通邮件处理",
    ),
];

/// The Chinese label of one of these codes (with or without `:detail`).
pub fn label(code: &str) -> Option<&'static str> {
    let kind = code.split(':').next().unwrap_or(code);
    LABELS
        .iter()
        .find(|(c, _, _)| *c == kind)
        .map(|(_, l, _)| *l)
}
