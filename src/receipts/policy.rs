//! Whom a receipt goes to, and whom never (RFC 3834 and the Sieve vacation practice):
//! only people who sent a submission or a question, never a robot, a list, our own
//! address or a duplicate. Every "no" carries a short code plus a Chinese reason
//! ([`ReceiptReason`]).
//!
//! A receipt goes to the `From:` address only: `Reply-To:` is anybody's to write, and
//! answering it let a stranger make our mailbox write to a third party. When our own
//! server's `Authentication-Results:` says SPF, DKIM or DMARC failed for the From
//! domain, the receipt is held for an operator ([`super::auth`]).

use super::auth::{self, AuthVerdict};
use super::kinds::ReceiptReason;
use crate::domain::address::normalize;
pub use crate::domain::address::{domain_of, mailbox_key};
use crate::extract::MessageMeta;
use crate::model::Category;

/// What to do with one processed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer, to this address (lower-cased).
    Reply { to: String },
    /// Would answer `to`, but an operator must approve first; `reason` is `code: 说明`.
    Hold { to: String, reason: String },
    /// Do not answer; `reason` is `code: 说明`.
    Suppress { reason: String },
}

fn suppress(code: ReceiptReason, detail: impl AsRef<str>) -> Decision {
    Decision::Suppress {
        reason: code.with(detail),
    }
}

/// What the pipeline knows besides the headers.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// `[receipts] authserv_id`: whose `Authentication-Results:` are trusted.
    pub authserv_id: &'a str,
    /// The mail carries the notice or the call's forms, every one of them blank, and no
    /// scan: the notice passed on to us, not an application
    /// ([`blank_forms_only`]).
    pub blank_forms_only: bool,
}

/// [`decide`], then the checks that need more than the headers: the notice forwarded
/// to us is not answered, and a sender our server could not authenticate is held.
pub fn decide_with(
    meta: &MessageMeta,
    category: Category,
    is_duplicate: bool,
    own_addresses: &[String],
    facts: &Facts<'_>,
) -> Decision {
    let notice = || {
        suppress(
            ReceiptReason::NoticeForward,
            "来信只含通知或空白申报表（转发的通知），不回复",
        )
    };
    // A notice document alone makes the message `other`, which would be suppressed as
    // not applicable: say why (a question about the notice is still answered).
    if facts.blank_forms_only && category == Category::Other && !is_duplicate {
        return notice();
    }
    let d = decide(meta, category, is_duplicate, own_addresses);
    let Decision::Reply { to } = d else {
        return d;
    };
    if facts.blank_forms_only && category == Category::Submission {
        return notice();
    }
    match auth::evaluate(
        &meta.authentication_results,
        facts.authserv_id,
        meta.from.as_deref(),
    ) {
        AuthVerdict::Failed(what) => Decision::Hold {
            to,
            reason: ReceiptReason::Unauthenticated.with(format!(
                "{what}（{} 的认证结果；发件人可能被冒用，请核对后用 kepu-intake receipts --approve 放行）",
                facts.authserv_id
            )),
        },
        AuthVerdict::Unverified | AuthVerdict::NoResult | AuthVerdict::Passed(_) => {
            Decision::Reply { to }
        }
    }
}

/// Decides from the headers alone whether `meta`'s sender gets a receipt.
pub fn decide(
    meta: &MessageMeta,
    category: Category,
    is_duplicate: bool,
    own_addresses: &[String],
) -> Decision {
    if is_duplicate {
        return suppress(
            ReceiptReason::Duplicate,
            "重复收到的同一封邮件，原邮件已处理",
        );
    }
    if category.is_robot() {
        return suppress(
            ReceiptReason::RobotCategory,
            format!("{}（自动发送的邮件，不回复）", category.as_str()),
        );
    }
    if !matches!(category, Category::Submission | Category::Question) {
        return suppress(
            ReceiptReason::NotApplicable,
            format!("{}（非申报或咨询邮件，不回复）", category.as_str()),
        );
    }
    if let Some(robot) = meta.robot {
        let why = meta.robot_reason.as_deref().unwrap_or(robot.as_str());
        return suppress(
            ReceiptReason::RobotHeader,
            format!("{why}（自动邮件，不回复）"),
        );
    }
    if let Some(v) = &meta.auto_response_suppress {
        if suppresses_auto_reply(v) {
            return suppress(
                ReceiptReason::AutoResponseSuppress,
                format!("X-Auto-Response-Suppress: {v}（发件人要求不自动回复）"),
            );
        }
    }
    if meta.return_path.as_deref() == Some("") {
        return suppress(
            ReceiptReason::EmptyReturnPath,
            "Return-Path 为空（系统退信或通知）",
        );
    }
    let from = match meta
        .from
        .as_deref()
        .map(normalize)
        .filter(|a| !a.is_empty())
    {
        Some(a) => a,
        None => return suppress(ReceiptReason::NoSender, "没有发件人地址"),
    };
    if let Some(local) = robot_local_part(&from) {
        return suppress(
            ReceiptReason::RobotSender,
            format!("{local}（系统地址，不回复）"),
        );
    }
    if is_own(&from, own_addresses) {
        return suppress(
            ReceiptReason::OwnAddress,
            format!("{from}（本机构自己的地址）"),
        );
    }
    // Always `From:`. A `Reply-To:` naming the same address changes nothing; one naming
    // another address is ignored, never answered.
    let to = from;
    if !is_valid_address(&to) {
        return suppress(ReceiptReason::BadAddress, format!("{to}（地址格式无效）"));
    }
    Decision::Reply { to }
}

/// `X-Auto-Response-Suppress` tokens that cover auto-replies (Microsoft's values; `DR`,
/// `NDR`, `RN`, `NRN` only concern delivery and read reports).
fn suppresses_auto_reply(value: &str) -> bool {
    value
        .split([',', ' ', ';'])
        .map(|t| t.trim().to_ascii_lowercase())
        .any(|t| matches!(t.as_str(), "all" | "autoreply" | "oof"))
}

fn is_own(addr: &str, own: &[String]) -> bool {
    own.iter().any(|o| mailbox_key(o) == mailbox_key(addr))
}

fn is_valid_address(addr: &str) -> bool {
    addr.parse::<lettre::Address>().is_ok()
}

/// Whether mail to `addr` would reach a machine (postmaster, noreply, a list robot),
/// which is never answered nor reminded.
pub fn is_robot_address(addr: &str) -> bool {
    robot_local_part(&normalize(addr)).is_some()
}

/// The local part when the address belongs to a machine, as printed in the reason.
fn robot_local_part(addr: &str) -> Option<String> {
    let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
    let l = local.to_ascii_lowercase();
    let robot = matches!(
        l.as_str(),
        "mailer-daemon"
            | "postmaster"
            | "noreply"
            | "no-reply"
            | "no_reply"
            | "donotreply"
            | "do-not-reply"
            | "do_not_reply"
            | "listserv"
            | "majordomo"
    ) || l.starts_with("owner-")
        || l.ends_with("-request")
        || l.starts_with("noreply")
        || l.starts_with("no-reply");
    robot.then(|| {
        if l == "mailer-daemon" {
            "MAILER-DAEMON".to_string()
        } else {
            local.to_string()
        }
    })
}

/// The mail carries the notice or the call's forms, all blank, and no scan: the notice
/// itself passed on to us (a bureau circulating it with our address in Cc), not an
/// application. A `notice` document (the notice's text or several blank forms in one
/// file, told by `forms::is_notice`) counts like a blank form.
pub fn blank_forms_only(docs: &[crate::domain::document::NewDocument]) -> bool {
    use crate::model::DocKind;
    let forms: Vec<_> = docs
        .iter()
        .filter(|d| d.form.is_some() || d.kind == DocKind::Notice)
        .collect();
    !forms.is_empty()
        && forms.iter().all(|d| {
            d.kind == DocKind::Notice
                || (d.kind == DocKind::Electronic && d.fields.values().all(|v| v.is_empty()))
        })
        && !docs.iter().any(|d| d.kind == DocKind::Scan)
}
