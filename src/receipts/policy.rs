//! Whom a receipt goes to, and whom never (RFC 3834 and the Sieve vacation practice):
//! only people who sent a submission or a question, never a robot, a list, our own
//! address or a duplicate. Every "no" carries a short code plus a Chinese reason.

use crate::extract::MessageMeta;
use crate::model::Category;

/// What to do with one processed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer, to this address (lower-cased).
    Reply { to: String },
    /// Do not answer; `reason` is `code: 说明`.
    Suppress { reason: String },
}

fn suppress(code: &str, detail: impl AsRef<str>) -> Decision {
    Decision::Suppress {
        reason: format!("{code}: {}", detail.as_ref()),
    }
}

/// Decides whether `meta`'s sender gets a receipt.
pub fn decide(
    meta: &MessageMeta,
    category: Category,
    is_duplicate: bool,
    own_addresses: &[String],
) -> Decision {
    if is_duplicate {
        return suppress("duplicate", "重复收到的同一封邮件，原邮件已处理");
    }
    if category.is_robot() {
        return suppress(
            "robot_category",
            format!("{}（自动发送的邮件，不回复）", category.as_str()),
        );
    }
    if !matches!(category, Category::Submission | Category::Question) {
        return suppress(
            "not_applicable",
            format!("{}（非申报或咨询邮件，不回复）", category.as_str()),
        );
    }
    if let Some(robot) = meta.robot {
        let why = meta.robot_reason.as_deref().unwrap_or(robot.as_str());
        return suppress("robot_header", format!("{why}（自动邮件，不回复）"));
    }
    if let Some(v) = &meta.auto_response_suppress {
        if suppresses_auto_reply(v) {
            return suppress(
                "auto_response_suppress",
                format!("X-Auto-Response-Suppress: {v}（发件人要求不自动回复）"),
            );
        }
    }
    if meta.return_path.as_deref() == Some("") {
        return suppress("empty_return_path", "Return-Path 为空（系统退信或通知）");
    }
    let from = match meta
        .from
        .as_deref()
        .map(normalize)
        .filter(|a| !a.is_empty())
    {
        Some(a) => a,
        None => return suppress("no_sender", "没有发件人地址"),
    };
    if let Some(local) = robot_local_part(&from) {
        return suppress("robot_sender", format!("{local}（系统地址，不回复）"));
    }
    if is_own(&from, own_addresses) {
        return suppress("own_address", format!("{from}（本机构自己的地址）"));
    }
    // Reply-To wins only when it names a person we may write to.
    let to = match meta.reply_to.as_deref().map(normalize) {
        Some(rt)
            if is_valid_address(&rt)
                && robot_local_part(&rt).is_none()
                && !is_own(&rt, own_addresses) =>
        {
            rt
        }
        _ => from,
    };
    if !is_valid_address(&to) {
        return suppress("bad_address", format!("{to}（地址格式无效）"));
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

fn normalize(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase()
}

fn is_own(addr: &str, own: &[String]) -> bool {
    own.iter().any(|o| normalize(o) == addr)
}

fn is_valid_address(addr: &str) -> bool {
    addr.parse::<lettre::Address>().is_ok()
}

/// The local part when the address belongs to a machine, as printed in the reason.
pub fn robot_local_part(addr: &str) -> Option<String> {
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
