//! Where an application stands (`AppStatus`) and where its receipt is (`ReceiptStatus`).

crate::domain_codes! {
    /// An application's status, in the order the office reads them.
    pub enum AppStatus {
        Complete = "complete", "齐全";
        MissingScan = "missing_scan", "缺盖章扫描件";
        MissingElectronic = "missing_electronic", "缺电子版";
        UnstampedScan = "unstamped_scan", "扫描件未见公章";
        Invalid = "invalid", "内容有误";
    }
}

impl AppStatus {
    /// A scan is what the applicant still owes (missing, or without its seal).
    pub fn needs_scan(self) -> bool {
        matches!(self, AppStatus::MissingScan | AppStatus::UnstampedScan)
    }
}

crate::domain_codes! {
    /// A receipt's state in the outbox; `none` is a message that has no receipt row.
    pub enum ReceiptStatus {
        Sent = "sent", "已发送";
        Pending = "pending", "待发送";
        Sending = "sending", "发送中";
        Failed = "failed", "发送失败";
        Suppressed = "suppressed", "不发送";
        /// Waiting for an operator's approval (e.g. the sender could not be authenticated).
        Held = "held", "待批准";
        /// Written in dry-run mode, never sent; sent when the mode becomes `send` while due.
        Previewed = "previewed", "已预览（未发送）";
        None = "none", "无";
    }
}

impl ReceiptStatus {
    /// The statuses a receipt row can have in the outbox (every one but `none`).
    pub fn is_row(self) -> bool {
        self != ReceiptStatus::None
    }
}
