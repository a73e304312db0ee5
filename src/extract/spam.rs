//! Spam and phishing by rules a reader can check, applied to mail that no robot rule
//! caught. Each rule has a name that is recorded on the message
//! (`spam_rule:<name>`), so the office can see why a mail was set aside; spam gets no
//! receipt and is still stored. The rules:
//!
//! - `x_spam`: the receiving server's `X-Spam-Level` has five stars or more (the
//!   `X-Spam-Flag`/`X-Spam-Status` verdicts are robot rules already);
//! - `display_name_spoof`: the display name claims the mailbox's provider (网易, 163,
//!   126, 邮箱管理员 …) while the address is at another domain;
//! - `phishing`: account-threat wording ("邮箱已满", "账号异常", "verify your account")
//!   together with a link;
//! - `ad_vocabulary`: two or more invoice/advertising terms ("代开发票", "加微信") and
//!   none of the call's own words (申报, 推荐表, 科普 …).

/// Decoded root headers as (name, value) pairs.
type HeaderList = [(String, String)];

/// Domains that really are NetEase's mail service.
const NETEASE_DOMAINS: [&str; 7] = [
    "163.com",
    "126.com",
    "yeah.net",
    "188.com",
    "netease.com",
    "vip.163.com",
    "vip.126.com",
];

/// Display-name words that claim to be the provider or its staff.
const PROVIDER_NAMES: [&str; 9] = [
    "网易",
    "netease",
    "163邮箱",
    "126邮箱",
    "163.com",
    "126.com",
    "邮箱管理员",
    "系统管理员",
    "邮件中心",
];

const PHISHING: [&str; 12] = [
    "邮箱已满",
    "邮箱容量已满",
    "邮箱空间不足",
    "邮箱即将停用",
    "邮箱将被冻结",
    "账号异常",
    "账户异常",
    "密码即将过期",
    "升级邮箱",
    "mailbox full",
    "mailbox is full",
    "verify your account",
];

const ADS: [&str; 12] = [
    "代开发票",
    "发票代开",
    "增值税发票",
    "普通发票",
    "开票",
    "代理记账",
    "加微信",
    "加v",
    "优惠活动",
    "推广",
    "刷单",
    "低价",
];

/// Words of the call: mail using any of them (or naming a form by its number, 附件N,
/// whatever forms the call has) is about the call, never ad spam.
const CALL_WORDS: [&str; 4] = ["申报", "推荐表", "科普", "双减"];

/// The text names an attachment of the notice by number (附件1, 附件 5, 附件十二).
fn names_a_form_number(text: &str) -> bool {
    text.match_indices("附件").any(|(i, w)| {
        text[i + w.len()..]
            .trim_start()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || "一二三四五六七八九十".contains(c))
    })
}

/// The rule that makes this mail spam, if any.
pub fn rule(
    headers: &HeaderList,
    from: Option<&str>,
    from_name: Option<&str>,
    subject: &str,
    body: &str,
) -> Option<&'static str> {
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    if get("X-Spam-Level").is_some_and(|v| v.chars().filter(|c| *c == '*').count() >= 5) {
        return Some("x_spam");
    }
    let domain = from
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    if let (Some(name), Some(domain)) = (from_name, domain.as_deref()) {
        let name = name.to_lowercase();
        let claims = PROVIDER_NAMES.iter().any(|w| name.contains(w));
        let real = NETEASE_DOMAINS
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")));
        if claims && !real {
            return Some("display_name_spoof");
        }
    }
    let text = format!("{subject}\n{body}").to_lowercase();
    let has_link = text.contains("http://") || text.contains("https://");
    if has_link && PHISHING.iter().any(|w| text.contains(w)) {
        return Some("phishing");
    }
    let ads = ADS.iter().filter(|w| text.contains(*w)).count();
    if ads >= 2 && !CALL_WORDS.iter().any(|w| text.contains(w)) && !names_a_form_number(&text) {
        return Some("ad_vocabulary");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_and_what_it_spares() {
        let none: Vec<(String, String)> = Vec::new();
        assert_eq!(
            rule(
                &none,
                Some("admin@mail-163.top"),
                Some("网易邮箱管理员"),
                "通知",
                ""
            ),
            Some("display_name_spoof")
        );
        // The provider's own address with its own name is not spoofing.
        assert_eq!(
            rule(&none, Some("x@126.com"), Some("网易邮箱"), "通知", ""),
            None
        );
        assert_eq!(
            rule(
                &none,
                Some("a@b.cn"),
                None,
                "您的邮箱已满",
                "请点击 https://x.example/v 升级"
            ),
            Some("phishing")
        );
        assert_eq!(
            rule(
                &none,
                Some("a@b.cn"),
                None,
                "代开发票",
                "增值税发票，加微信 123"
            ),
            Some("ad_vocabulary")
        );
        // An applicant asking about an invoice for the call is not an ad.
        assert_eq!(
            rule(
                &none,
                Some("a@b.cn"),
                None,
                "申报咨询",
                "开票和推广费用能否列入科普资源申报？"
            ),
            None
        );
        // Naming a form by number spares it too, for any number a call may have.
        for about in ["附件5已发送", "附件 2 请查收", "附件十二"] {
            assert_eq!(
                rule(
                    &none,
                    Some("a@b.cn"),
                    None,
                    "代开发票",
                    &format!("增值税发票，加微信 123，{about}")
                ),
                None,
                "{about}"
            );
        }
        let h = vec![("X-Spam-Level".to_string(), "******".to_string())];
        assert_eq!(rule(&h, None, None, "", ""), Some("x_spam"));
    }
}
