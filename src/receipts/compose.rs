//! The receipt's text: what arrived, form by form (附件1–4), and what each application
//! still lacks, in our own words. It says only what we know:
//!
//! * the mail is named by its receipt time, never by its subject; nothing of the
//!   sender's subject or body is repeated, and the names it does repeat (attachments,
//!   the unit named in a form) are cleaned of links and control characters
//!   ([`super::text`]);
//! * a scan we could not match to a form is "已收到，工作人员将核对", never a request
//!   to resend;
//! * only a problem the applicant can fix asks for a resend: a file that cannot be
//!   opened (corrupt, encrypted, empty), a missing electronic version, and a scan
//!   without a seal when both the OCR and the seal detector are sure of it.

use super::template::Template;
use super::text;
use crate::domain::{Category, DocFormat, DocKind, Problem, ProblemKind};
use crate::model::FormKey;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use chrono::{DateTime, FixedOffset};
use std::collections::{BTreeMap, HashMap};

pub use super::message::{build_message, our_message_id, Threading, SENDER_NAME};

mod missing;

use missing::missing_section;

/// Longest attachment name a receipt repeats, in characters.
const NAME_CHARS: usize = 30;
/// Longest applicant name a receipt repeats, in characters.
const APPLICANT_CHARS: usize = 40;
/// Below this seal score an unstamped verdict counts as sure (half the detector's
/// threshold: far from any seal it has seen).
const SURE_NO_SEAL: f64 = crate::scan::seal::SEAL_THRESHOLD / 2.0;

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
    /// Scans are OCR'd: a scan's form and an unstamped verdict can be trusted.
    pub ocr: bool,
}

/// One attachment as the receipt speaks of it.
enum Item<'a> {
    /// One of the four forms: the form, the applicant it names, how it arrived.
    Form(&'a DumpDocument, FormKey, Option<String>),
    /// A scan not matched to any form.
    UnmatchedScan(&'a DumpDocument),
    /// Cannot be opened: the applicant should send it again.
    Unreadable(&'a DumpDocument),
    /// Anything else a person attached.
    Other(&'a DumpDocument),
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
    let mut items: Vec<Item<'_>> = messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .filter_map(|d| classify(d, &docs, &apps))
        .collect();
    // By form (附件1–4), then as they came.
    items.sort_by_key(|i| match i {
        Item::Form(_, f, _) => (0, Some(*f)),
        Item::UnmatchedScan(_) => (1, None),
        Item::Other(_) => (2, None),
        Item::Unreadable(_) => (3, None),
    });

    let mut applicants: Vec<String> = Vec::new();
    let mut forms: Vec<FormKey> = Vec::new();
    for i in &items {
        if let Item::Form(_, form, who) = i {
            if let Some(w) = who {
                if !applicants.contains(w) {
                    applicants.push(w.clone());
                }
            }
            if !forms.contains(form) {
                forms.push(*form);
            }
        }
    }
    let has_category = |c: Category| messages.iter().any(|m| m.category == Some(c));
    let is_question = has_category(Category::Question);
    let is_submission = has_category(Category::Submission);
    let times: Vec<String> = messages
        .iter()
        .map(|m| human_time(&m.received_at))
        .collect();

    let mut v: BTreeMap<&str, String> = BTreeMap::new();
    v.insert(
        "greeting",
        match applicants.as_slice() {
            [one] => format!("{one}：\n您好！"),
            _ => "您好！".to_string(),
        },
    );
    v.insert("received_at", times.join("、"));
    // Kept for operators' own templates; a sender's subject is never repeated.
    v.insert("original_subject", String::new());
    v.insert("documents", documents_section(ctx, &items, is_submission));
    v.insert("missing", missing_section(ctx, dump, &apps, &docs));
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

    let first_time = messages
        .first()
        .map(|m| short_time(&m.received_at))
        .unwrap_or_default();
    Receipt {
        subject: subject(&applicants, &forms, &first_time, is_question),
        body: ctx.template.render(&v),
    }
}

fn classify<'a>(
    d: &'a DumpDocument,
    docs: &HashMap<i64, &'a DumpDocument>,
    apps: &[&DumpApplication],
) -> Option<Item<'a>> {
    if d.superseded_by.is_some() || d.container.is_some() && d.kind == DocKind::Other {
        return None;
    }
    if d.problems.iter().any(|p| applicant_can_fix(p)) {
        return Some(Item::Unreadable(d));
    }
    match d.kind {
        DocKind::Electronic | DocKind::Scan => match form_of(d, docs, apps) {
            Some(form) => Some(Item::Form(d, form, applicant_of(d, form, docs, apps))),
            None if d.kind == DocKind::Scan => Some(Item::UnmatchedScan(d)),
            None => Some(Item::Other(d)),
        },
        // Containers speak through their members; cloud links have their own section.
        DocKind::Archive | DocKind::CloudLink => None,
        _ if is_small_image(d) || d.format == DocFormat::Eml => None,
        _ => Some(Item::Other(d)),
    }
}

/// File problems only the sender can repair by sending the file again.
fn applicant_can_fix(problem: &str) -> bool {
    match Problem::parse(problem).map(|p| p.kind) {
        Some(
            ProblemKind::CorruptAttachment
            | ProblemKind::EncryptedAttachment
            | ProblemKind::EmptyAttachment,
        ) => true,
        // A panic of ours is not the file's fault.
        Some(ProblemKind::ScanUnreadable) => !problem.contains(":panic"),
        _ => false,
    }
}

/// The form a document is: its own, else its electronic version's, else its
/// application's.
fn form_of(
    d: &DumpDocument,
    docs: &HashMap<i64, &DumpDocument>,
    apps: &[&DumpApplication],
) -> Option<FormKey> {
    let own = |x: &DumpDocument| x.form.as_deref().and_then(FormKey::parse);
    own(d)
        .or_else(|| d.scan_of.and_then(|e| docs.get(&e)).and_then(|e| own(e)))
        .or_else(|| {
            apps.iter()
                .find(|a| a.electronic == Some(d.id) || a.scan == Some(d.id))
                .and_then(|a| FormKey::parse(&a.form))
        })
}

/// Applications this receipt speaks about: those holding a document of these
/// messages, and every other application of the same sender.
fn related_applications<'a>(dump: &'a Dump, messages: &[&DumpMessage]) -> Vec<&'a DumpApplication> {
    let doc_ids: Vec<i64> = messages
        .iter()
        .flat_map(|m| m.documents.iter().map(|d| d.id))
        .collect();
    let senders = senders(messages);
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

fn senders(messages: &[&DumpMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.from.as_deref())
        .map(str::to_lowercase)
        .collect()
}

/// The applicant a document names: its own field, else the electronic version it was
/// matched to, else the application holding it; cleaned for repeating.
fn applicant_of(
    d: &DumpDocument,
    form: FormKey,
    docs: &HashMap<i64, &DumpDocument>,
    apps: &[&DumpApplication],
) -> Option<String> {
    let own = |doc: &DumpDocument| {
        doc.fields
            .get(form.applicant_key())
            .map(|v| v.display())
            .map(|s| text::clean(&s, APPLICANT_CHARS))
            .filter(|s| !s.is_empty())
    };
    own(d)
        .or_else(|| d.scan_of.and_then(|e| docs.get(&e)).and_then(|e| own(e)))
        .or_else(|| {
            apps.iter()
                .find(|a| a.electronic == Some(d.id) || a.scan == Some(d.id))
                .map(|a| text::clean(&a.applicant, APPLICANT_CHARS))
                .filter(|s| !s.is_empty())
        })
}

/// The form's printed title (`科普资源申报推荐表`), from the call file.
fn short_title(form: FormKey) -> &'static str {
    form.def().map_or(form.as_str(), |f| f.title.as_str())
}

/// The form's name as the notice prints it (the one place the receipt asks for it).
fn form_title(form: FormKey) -> &'static str {
    form.title_zh()
}

fn subject(applicants: &[String], forms: &[FormKey], when: &str, is_question: bool) -> String {
    let form_names = forms
        .iter()
        .map(|f| short_title(*f))
        .collect::<Vec<_>>()
        .join("、");
    match applicants {
        // The receipt time keeps receipts from looking identical (NetEase rejects
        // look-alike mail as spam) without repeating anything the sender wrote.
        [] if !forms.is_empty() => format!("回执：已收到您的申报材料（{form_names}，{when}）"),
        [] if is_question => format!("回执：您的咨询已收到（{when}）"),
        [] => format!("回执：已收到您的来信（{when}）"),
        [one] => format!("回执：已收到「{one}」的申报材料（{form_names}）"),
        [first, rest @ ..] => format!(
            "回执：已收到「{first}」等{}份申报材料（{form_names}）",
            rest.len() + 1
        ),
    }
}

fn human_time(rfc3339: &str) -> String {
    crate::time::parse_rfc3339(rfc3339)
        .map(|t| crate::time::fmt_human(&t))
        .unwrap_or_else(|| text::clean(rfc3339, 30))
}

/// `07-18 10:32` for subjects.
fn short_time(rfc3339: &str) -> String {
    crate::time::parse_rfc3339(rfc3339)
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn names(docs: &[&DumpDocument]) -> String {
    docs.iter()
        .map(|d| text::file_name(&d.name, NAME_CHARS))
        .collect::<Vec<_>>()
        .join("、")
}

fn documents_section(ctx: &ComposeContext<'_>, items: &[Item<'_>], is_submission: bool) -> String {
    let mut out = String::new();
    let forms: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Form(d, f, who) => Some((*d, *f, who)),
            _ => None,
        })
        .collect();
    let mut unmatched = Vec::new();
    let mut others = Vec::new();
    let mut broken = Vec::new();
    for i in items {
        match i {
            Item::UnmatchedScan(d) => unmatched.push(*d),
            Item::Other(d) => others.push(*d),
            Item::Unreadable(d) => broken.push(*d),
            Item::Form(..) => {}
        }
    }
    if !forms.is_empty() {
        out.push_str("我们在来信中收到以下申报材料（按通知附件）：\n");
        for (i, (d, form, who)) in forms.iter().enumerate() {
            let who = who
                .as_deref()
                .map(|w| format!("「{w}」"))
                .unwrap_or_else(|| "（申报单位/申报人由工作人员核对）".into());
            let what = if d.kind == DocKind::Electronic {
                "电子版".to_string()
            } else {
                match d.stamped {
                    Some(true) => "盖章扫描件（已识别到公章）".into(),
                    Some(false) if sure_unstamped(ctx, d) => "扫描件（未找到公章）".into(),
                    _ => "扫描件（是否盖章由工作人员核对）".into(),
                }
            };
            out.push_str(&format!(
                "  {}. {}：{who}，{what}（文件：{}）\n",
                i + 1,
                form_title(*form),
                text::file_name(&d.name, NAME_CHARS)
            ));
        }
    }
    if !unmatched.is_empty() {
        out.push_str(&format!(
            "以下扫描件已收到，工作人员将核对：{}\n",
            names(&unmatched)
        ));
    }
    if !others.is_empty() {
        out.push_str(&format!("以下其他附件已收到：{}\n", names(&others)));
    }
    if !broken.is_empty() {
        out.push_str(&format!(
            "以下文件无法打开（文件损坏、加密或内容为空），请检查后重新发送：{}\n",
            names(&broken)
        ));
    }
    if out.is_empty() && is_submission {
        out.push_str("您的来信已收到，工作人员将核对。\n");
    }
    out.trim_end().to_string()
}

/// A scan is surely without a seal only when the OCR read it (it knows its form) and
/// the seal detector found nothing close to a seal.
fn sure_unstamped(ctx: &ComposeContext<'_>, d: &DumpDocument) -> bool {
    ctx.ocr
        && d.stamped == Some(false)
        && d.form.is_some()
        && !d.problems.iter().any(|p| {
            p.starts_with(crate::scan::OCR_UNAVAILABLE) || p.starts_with(crate::scan::OCR_FAILED)
        })
        && d.seal_score.is_some_and(|s| s < SURE_NO_SEAL)
}

/// Signature logos and inline icons: images too small to be a scanned page.
fn is_small_image(d: &DumpDocument) -> bool {
    matches!(
        d.format,
        DocFormat::Gif | DocFormat::Png | DocFormat::Jpg | DocFormat::Bmp
    ) && d.size < 20 * 1024
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
            if let Some(Problem {
                kind: ProblemKind::CloudAttachment,
                detail,
            }) = Problem::parse(p)
            {
                let mut parts = detail.unwrap_or("").trim_start_matches(':').splitn(2, ':');
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
            "（未注明文件名）".to_string()
        } else {
            text::file_name(name, NAME_CHARS)
        };
        let expiry = text::clean(expiry, 20);
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
