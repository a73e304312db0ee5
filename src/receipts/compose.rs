//! The receipt itself: Chinese text from the template (what arrived, what each
//! application still lacks, late and cloud-attachment notices) and the MIME message
//! with the headers that keep robots from answering it (RFC 3834).

use super::template::Template;
use crate::domain::{AppStatus, Category, DocFormat, DocKind, Problem, ProblemKind};
use crate::error::{Error, Result};
use crate::model::FormKind;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use chrono::{DateTime, FixedOffset};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The display name receipts are signed with.
pub const SENDER_NAME: &str = "唐山市科协青少年科技中心";

/// Subject and plain-text body of one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub subject: String,
    pub body: String,
}

/// What a receipt is composed from besides the dump.
#[derive(Debug, Clone)]
pub struct ComposeContext<'a> {
    pub template: &'a Template,
    pub contact: &'a str,
    /// The call's deadline, named in the late notice.
    pub deadline: Option<DateTime<FixedOffset>>,
}

/// Composes the receipt answering `messages` (the receipt's own message first, then
/// any folded into it), using the documents and applications of `dump`.
pub fn compose(ctx: &ComposeContext<'_>, dump: &Dump, messages: &[&DumpMessage]) -> Receipt {
    let docs: HashMap<i64, &DumpDocument> = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .map(|d| (d.id, d))
        .collect();
    let apps = related_applications(dump, messages);
    let recognised: Vec<(&DumpDocument, FormKind, Option<String>)> = messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .filter(|d| d.kind.is_form_side())
        .filter_map(|d| {
            let form = d.form.as_deref().and_then(FormKind::parse)?;
            Some((d, form, applicant_of(d, form, &docs, &apps)))
        })
        .collect();

    let mut applicants: Vec<String> = Vec::new();
    let mut forms: Vec<FormKind> = Vec::new();
    for (_, form, who) in &recognised {
        if let Some(w) = who {
            if !applicants.contains(w) {
                applicants.push(w.clone());
            }
        }
        if !forms.contains(form) {
            forms.push(*form);
        }
    }
    let is_question = messages
        .iter()
        .any(|m| m.category == Some(Category::Question));
    let is_submission = messages
        .iter()
        .any(|m| m.category == Some(Category::Submission));

    let mut v: BTreeMap<&str, String> = BTreeMap::new();
    v.insert(
        "greeting",
        match applicants.as_slice() {
            [one] => format!("{one}：\n您好！"),
            _ => "您好！".to_string(),
        },
    );
    v.insert(
        "received_at",
        messages
            .iter()
            .map(|m| human_time(&m.received_at))
            .collect::<Vec<_>>()
            .join("、"),
    );
    v.insert("original_subject", original_subjects(messages));
    v.insert(
        "documents",
        documents_section(messages, &recognised, is_submission),
    );
    v.insert("missing", missing_section(&apps, &docs));
    v.insert("late", late_section(messages, ctx.deadline.as_ref()));
    v.insert("cloud", cloud_section(messages));
    v.insert(
        "question",
        if is_question {
            "您的咨询已收到，工作人员将在工作时间内尽快答复。".to_string()
        } else {
            String::new()
        },
    );
    v.insert("contact", ctx.contact.to_string());

    Receipt {
        subject: subject(&applicants, &forms, messages, is_question),
        body: ctx.template.render(&v),
    }
}

/// Applications this receipt speaks about: those holding a document of these
/// messages, and every other application of the same sender.
fn related_applications<'a>(dump: &'a Dump, messages: &[&DumpMessage]) -> Vec<&'a DumpApplication> {
    let doc_ids: Vec<i64> = messages
        .iter()
        .flat_map(|m| m.documents.iter().map(|d| d.id))
        .collect();
    let senders: Vec<String> = messages
        .iter()
        .filter_map(|m| m.from.as_deref())
        .map(str::to_lowercase)
        .collect();
    dump.applications
        .iter()
        .filter(|a| {
            a.electronic.is_some_and(|e| doc_ids.contains(&e))
                || a.scan.is_some_and(|s| doc_ids.contains(&s))
                || a.email
                    .as_deref()
                    .is_some_and(|e| senders.contains(&e.to_lowercase()))
        })
        .collect()
}

/// The applicant a document names: its own field, else the electronic version it was
/// matched to, else the application holding it.
fn applicant_of(
    d: &DumpDocument,
    form: FormKind,
    docs: &HashMap<i64, &DumpDocument>,
    apps: &[&DumpApplication],
) -> Option<String> {
    let own = |doc: &DumpDocument| {
        doc.fields
            .get(form.applicant_key())
            .map(|v| v.display().trim().to_string())
            .filter(|s| !s.is_empty())
    };
    own(d)
        .or_else(|| d.scan_of.and_then(|e| docs.get(&e)).and_then(|e| own(e)))
        .or_else(|| {
            apps.iter()
                .find(|a| a.electronic == Some(d.id) || a.scan == Some(d.id))
                .map(|a| a.applicant.trim().to_string())
                .filter(|s| !s.is_empty())
        })
}

/// `科普资源申报推荐表` out of `附件2 科普资源申报推荐表`.
fn short_title(form: FormKind) -> &'static str {
    let t = form.title_zh();
    t.split_once(' ').map_or(t, |(_, rest)| rest)
}

fn subject(
    applicants: &[String],
    forms: &[FormKind],
    messages: &[&DumpMessage],
    is_question: bool,
) -> String {
    let form_names = forms
        .iter()
        .map(|f| short_title(*f))
        .collect::<Vec<_>>()
        .join("、");
    match applicants {
        // The sender's own subject keeps receipts from looking identical (NetEase
        // rejects look-alike mail as spam).
        [] if !forms.is_empty() => format!(
            "回执：已收到您的申报材料（{form_names}；来信主题：{}）",
            truncate(&original_subjects(messages), 20)
        ),
        [] => {
            let orig = truncate(&original_subjects(messages), 30);
            if is_question {
                format!("回执：您的咨询已收到（{orig}）")
            } else {
                format!("回执：已收到您的来信（{orig}）")
            }
        }
        [one] => format!("回执：已收到「{one}」的申报材料（{form_names}）"),
        [first, rest @ ..] => format!(
            "回执：已收到「{first}」等{}份申报材料（{form_names}）",
            rest.len() + 1
        ),
    }
}

fn original_subjects(messages: &[&DumpMessage]) -> String {
    let subjects: Vec<&str> = messages
        .iter()
        .map(|m| m.subject.as_deref().map(str::trim).unwrap_or(""))
        .map(|s| if s.is_empty() { "无主题" } else { s })
        .collect();
    match subjects.as_slice() {
        [] => "无主题".into(),
        [one] => (*one).to_string(),
        many => format!("「{}」等{}封邮件", many[0], many.len()),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

fn human_time(rfc3339: &str) -> String {
    crate::time::parse_rfc3339(rfc3339)
        .map(|t| crate::time::fmt_human(&t))
        .unwrap_or_else(|| rfc3339.to_string())
}

fn documents_section(
    messages: &[&DumpMessage],
    recognised: &[(&DumpDocument, FormKind, Option<String>)],
    is_submission: bool,
) -> String {
    let mut out = String::new();
    if !recognised.is_empty() {
        out.push_str("我们在来信中识别到以下申报材料：\n");
        for (i, (d, form, who)) in recognised.iter().enumerate() {
            let who = who
                .as_deref()
                .map(|w| format!("「{w}」"))
                .unwrap_or_else(|| "（未能识别申报单位/申报人）".into());
            let what = if d.kind == DocKind::Electronic {
                "电子版".to_string()
            } else {
                match d.stamped {
                    Some(true) => "盖章扫描件（已识别到公章）".into(),
                    Some(false) => "扫描件（未识别到公章）".into(),
                    None => "扫描件（未能自动判断是否盖章，将由工作人员核对）".into(),
                }
            };
            out.push_str(&format!(
                "  {}. {}：{who}，{what}（文件：{}）\n",
                i + 1,
                form.title_zh(),
                d.name
            ));
        }
    }
    let unknown: Vec<&str> = messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .filter(|d| d.superseded_by.is_none())
        .filter(|d| match d.kind {
            DocKind::Electronic | DocKind::Scan => d.form.is_none(),
            DocKind::Other => !is_small_image(d),
            DocKind::Archive | DocKind::CloudLink => false,
        })
        .map(|d| d.name.as_str())
        .collect();
    if !unknown.is_empty() {
        out.push_str(&format!(
            "以下附件未能识别为通知中的申报表（附件1–4），如属申报材料请核对后重新发送：{}\n",
            unknown.join("、")
        ));
    }
    if recognised.is_empty() && is_submission {
        out.push_str(
            "未能在来信中识别出申报表（附件1–4）。如您已添加附件，请确认文件可以正常打开后重新发送。\n",
        );
    }
    out.trim_end().to_string()
}

/// Signature logos and inline icons: images too small to be a scanned page.
fn is_small_image(d: &DumpDocument) -> bool {
    matches!(
        d.format,
        DocFormat::Gif | DocFormat::Png | DocFormat::Jpg | DocFormat::Bmp
    ) && d.size < 20 * 1024
}

/// What one application still lacks, in words an applicant understands.
fn missing_items(a: &DumpApplication, docs: &HashMap<i64, &DumpDocument>) -> Vec<String> {
    let mut codes: Vec<&str> = vec![a.status.as_str()];
    codes.extend(a.problems.iter().map(String::as_str));
    for id in [a.electronic, a.scan].into_iter().flatten() {
        if let Some(d) = docs.get(&id) {
            codes.extend(d.problems.iter().map(String::as_str));
        }
    }
    let mut items: Vec<String> = Vec::new();
    for code in codes {
        // The status's own code doubles as a problem code except `invalid`.
        if a.status == AppStatus::Invalid && code == AppStatus::Invalid.as_str() {
            push_unique(
                &mut items,
                "申报表内容未能识别，请检查文件后重新发送".into(),
            );
            continue;
        }
        let Some(p) = Problem::parse(code) else {
            continue;
        };
        let key = p.detail.unwrap_or("");
        let item = match p.kind {
            ProblemKind::MissingScan => "尚缺加盖公章的扫描件".to_string(),
            ProblemKind::MissingElectronic => "尚缺电子版（Word 文档）".to_string(),
            ProblemKind::UnstampedScan => {
                "扫描件上未识别到公章，请补交加盖公章的扫描件".to_string()
            }
            ProblemKind::MissingField if !key.is_empty() => format!("「{key}」未填写"),
            ProblemKind::OverLimit if !key.is_empty() => {
                format!("「{key}」超出字数限制（不超过1000字）")
            }
            ProblemKind::BadFormat if !key.is_empty() => format!("「{key}」格式有误"),
            _ => continue,
        };
        push_unique(&mut items, item);
    }
    items
}

fn push_unique(items: &mut Vec<String>, item: String) {
    if !items.contains(&item) {
        items.push(item);
    }
}

fn missing_section(apps: &[&DumpApplication], docs: &HashMap<i64, &DumpDocument>) -> String {
    if apps.is_empty() {
        return String::new();
    }
    let mut out = String::from("材料核对情况：\n");
    for a in apps {
        let form: &str = match FormKind::parse(&a.form) {
            Some(f) => f.title_zh(),
            None => &a.form,
        };
        let items = missing_items(a, docs);
        let state = if items.is_empty() {
            "材料齐全".to_string()
        } else {
            items.join("；")
        };
        out.push_str(&format!("  · 「{}」{form}：{state}\n", a.applicant));
    }
    out.trim_end().to_string()
}

fn late_section(messages: &[&DumpMessage], deadline: Option<&DateTime<FixedOffset>>) -> String {
    if !messages.iter().any(|m| m.late) {
        return String::new();
    }
    let when = deadline
        .map(|d| format!("（{}）", crate::time::fmt_human(d)))
        .unwrap_or_default();
    format!("请注意：您的邮件在申报截止时间{when}之后收到，已登记为逾期材料，能否受理以工作人员通知为准。")
}

/// Cloud attachments (超大附件): named by the message's `cloud_attachment:<name>:<expiry>`
/// problems and by `cloud_link` documents.
fn cloud_section(messages: &[&DumpMessage]) -> String {
    // name → (expiry, unusable)
    let mut links: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for m in messages {
        for p in &m.problems {
            if let Some(rest) = p.strip_prefix("cloud_attachment") {
                let mut parts = rest.trim_start_matches(':').splitn(2, ':');
                let name = parts.next().unwrap_or("").to_string();
                let expiry = parts.next().unwrap_or("").to_string();
                let e = links.entry(name).or_default();
                if e.0.is_empty() {
                    e.0 = expiry;
                }
            }
        }
        for d in m.documents.iter().filter(|d| d.kind == DocKind::CloudLink) {
            let unusable = d
                .problems
                .iter()
                .any(|p| p.contains("expired") || p.contains("download_failed"));
            let e = links.entry(d.name.clone()).or_default();
            e.1 |= unusable;
        }
    }
    // A bare `cloud_attachment` problem is covered by a named entry when there is one.
    if links.len() > 1 {
        links.remove("");
    }
    if links.is_empty() {
        return String::new();
    }
    let mut out = String::from("您的邮件含有超大附件（网盘链接）：\n");
    for (name, (expiry, unusable)) in &links {
        let name = if name.is_empty() {
            "（未注明文件名）"
        } else {
            name
        };
        let until = if expiry.is_empty() {
            String::new()
        } else {
            format!("，有效期至 {expiry}")
        };
        let what = if *unusable {
            "链接已过期或无法下载，请以普通附件重新发送"
        } else {
            "我们会在链接过期前下载，如届时无法下载，将请您以普通附件重新发送"
        };
        out.push_str(&format!("  · {name}{until}：{what}\n"));
    }
    out.trim_end().to_string()
}

/// Our Message-ID for receipt row `row_id`: derived from the row alone, so a retry after
/// a crash sends the same id and mail clients can recognise the copy.
pub fn our_message_id(row_id: i64, message_row: i64, created_at: &str) -> String {
    let digest = Sha256::digest(format!("{row_id}|{message_row}|{created_at}").as_bytes());
    let sha8 = hex::encode(&digest[..4]);
    format!("<receipt-{row_id}-{sha8}@kepu-intake.local>")
}

/// Headers of the receipt besides the usual ones.
pub struct Threading<'a> {
    /// Message-IDs of the mails answered (the first is `In-Reply-To`).
    pub answers: &'a [String],
    pub our_message_id: &'a str,
    pub date: std::time::SystemTime,
}

/// Builds the MIME message: plain UTF-8 text, `Auto-Submitted: auto-replied` and
/// `X-Auto-Response-Suppress: All` so auto-responders do not answer it.
pub fn build_message(r: &Receipt, from: &str, to: &str, th: &Threading<'_>) -> Result<Message> {
    let from_addr = from
        .parse()
        .map_err(|e| Error::Smtp(format!("smtp.from '{from}' is not an address: {e}")))?;
    let to_addr = to
        .parse()
        .map_err(|e| Error::Smtp(format!("recipient '{to}' is not an address: {e}")))?;
    let mut b = Message::builder()
        .from(Mailbox::new(Some(SENDER_NAME.into()), from_addr))
        .to(Mailbox::new(None, to_addr))
        .subject(r.subject.clone())
        .date(th.date)
        .message_id(Some(th.our_message_id.to_string()))
        .raw_header(raw("Auto-Submitted", "auto-replied")?)
        .raw_header(raw("X-Auto-Response-Suppress", "All")?);
    let ids: Vec<&str> = th
        .answers
        .iter()
        .map(|s| s.trim())
        .filter(|s| s.starts_with('<') && s.ends_with('>') && s.is_ascii())
        .collect();
    if let Some(first) = ids.first() {
        b = b
            .in_reply_to((*first).to_string())
            .references(ids.join(" "));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(r.body.clone())
        .map_err(|e| Error::Smtp(format!("cannot build receipt to {to}: {e}")))
}

fn raw(name: &str, value: &str) -> Result<HeaderValue> {
    let n = HeaderName::new_from_ascii(name.to_string())
        .map_err(|e| Error::Smtp(format!("header name {name}: {e}")))?;
    Ok(HeaderValue::new(n, value.to_string()))
}
