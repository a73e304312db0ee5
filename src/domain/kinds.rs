//! What a message is (`Category`) and what a document is (`DocKind`).

crate::domain_codes! {
    /// What kind of mail a message is.
    pub enum Category {
        Submission = "submission", "申报材料";
        Question = "question", "咨询";
        Autoreply = "autoreply", "自动回复";
        Bounce = "bounce", "退信";
        Bulk = "bulk", "群发邮件";
        Spam = "spam", "垃圾邮件";
        Other = "other", "其他";
    }
}

impl Category {
    /// Mail written by a machine: never answered (RFC 3834).
    pub fn is_robot(self) -> bool {
        matches!(
            self,
            Category::Autoreply | Category::Bounce | Category::Bulk | Category::Spam
        )
    }
}

/// The label of a message's category; `None` is mail still waiting to be processed.
pub fn category_label_zh(category: Option<Category>) -> &'static str {
    category.map_or(PENDING_LABEL_ZH, Category::label_zh)
}

/// The code and label counts use for a message not yet processed (no category yet).
pub const PENDING_CODE: &str = "pending";
pub const PENDING_LABEL_ZH: &str = "待处理";

crate::domain_codes! {
    /// What a document is to the intake.
    pub enum DocKind {
        Electronic = "electronic", "电子版";
        Scan = "scan", "扫描件";
        Archive = "archive", "压缩包";
        CloudLink = "cloud_link", "超大附件链接";
        /// The notice or its blank forms, circulated: not an application (issue 21).
        Notice = "notice", "通知/空白表";
        Other = "other", "其他";
    }
}

impl DocKind {
    /// Electronic forms and scans: the documents applications are built from.
    pub fn is_form_side(self) -> bool {
        matches!(self, DocKind::Electronic | DocKind::Scan)
    }
}
