//! The office's vocabulary (issue 18): an application's review state and the actions
//! the audit log records, each value with its code (the dump's and the database's
//! string) and the Chinese label clerks read.

crate::domain_codes! {
    /// The office's decision on an application; none made yet is `Pending`.
    #[derive(Default)]
    pub enum ReviewState {
        #[default]
        Pending = "pending", "待审核";
        Accepted = "accepted", "已受理";
        Returned = "returned", "退回";
    }
}

crate::domain_codes! {
    /// What an audit row records: `audit[].action` of `dump --json`.
    pub enum AuditAction {
        Match = "match", "匹配扫描件";
        Review = "review", "审核";
        Late = "late", "逾期处理";
        Import = "import", "导入";
        Reprocess = "reprocess", "重新处理";
        Remind = "remind", "提醒";
        Roster = "roster", "名单归属";
        ReceiptRetry = "receipt_retry", "重发回执";
        ReceiptApprove = "receipt_approve", "放行回执";
        User = "user", "账号";
        Remove = "remove", "移除邮件";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_a_chinese_label_and_round_trips() {
        for r in ReviewState::ALL {
            assert_ne!(r.label_zh(), r.as_str());
            assert_eq!(ReviewState::parse(r.as_str()), Some(r));
        }
        for a in AuditAction::ALL {
            assert_ne!(a.label_zh(), a.as_str());
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(ReviewState::default().label_zh(), "待审核");
    }
}
