//! The pages operators read, rendered from a [`Dump`]: dashboard, the 待处理 queue,
//! application list and page (with the office's decisions), missing-scan and late
//! lists, mail list and page, scans and their matching, receipts, the audit log.
//! Every string that came from mail or a form passes through
//! [`crate::web::html::html_escape`]; every code a clerk reads through [`zh`].

use crate::domain::problem;
use crate::domain::{
    AppStatus, AuditAction, Category, DocFormat, DocKind, ProblemKind, ReceiptStatus, ReviewState,
};
use crate::model::FormKey;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use crate::report::export::{category_counts_raw, form_keys, size_zh, DocIndex};
use crate::time::fmt_minute;
use crate::web::html::{html_escape as esc, page, table, table_html, url_encode};
use crate::web::paging::ListQuery;
use crate::web::vocab::{zh, Code};
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::cmp::Ordering;
use std::fmt::Write as _;

mod apps;
mod audit;
mod dashboard;
mod mail;
mod queue;
mod receipts;
mod scans;

pub use apps::{app_list, app_page, late, missing_scan, AppFilter};
pub use audit::audit;
pub use dashboard::{cloud_items, dashboard, CloudItem};
pub use mail::{message_page, messages, MessageFilter};
pub use queue::{queue, queue_count};
pub use receipts::{receipts, ReceiptView};
pub use scans::{match_page, scans};

fn yes_no(b: bool) -> &'static str {
    if b {
        "<span class=\"bad\">是</span>"
    } else {
        "否"
    }
}

fn problems_html(problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| esc(&zh(Code::Problem(p))))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn app_link(app: &DumpApplication) -> String {
    format!("<a href=\"/apps/{}\">{}</a>", app.id, esc(&app.applicant))
}

fn mailto(addr: &str) -> String {
    if addr.is_empty() {
        return String::new();
    }
    format!(
        "<a href=\"mailto:{}\">{}</a>",
        esc(&url_encode_mail(addr)),
        esc(addr)
    )
}

/// Keeps `@` readable in a mailto link while encoding anything that could break it.
fn url_encode_mail(addr: &str) -> String {
    url_encode(addr).replace("%40", "@")
}

/// Messages the office removed are kept, but left out of lists and counts.
fn live(m: &DumpMessage) -> bool {
    m.removed.is_none()
}

/// The review cell: state, and who decided when.
fn review_cell(a: &DumpApplication) -> String {
    let r = &a.review;
    let mut s = esc(&zh(Code::Review(r.state)));
    if let Some(at) = &r.at {
        let _ = write!(
            s,
            "<br><span class=\"muted\">{} {}</span>",
            esc(&r.by),
            esc(&fmt_minute(at))
        );
    }
    s
}

fn late_cell(a: &DumpApplication) -> String {
    match (&a.late, &a.late_excused) {
        (true, Some(_)) => "<span class=\"ok\">逾期（已准许）</span>".to_string(),
        (late, _) => yes_no(*late).to_string(),
    }
}

fn apps_rows(apps: &[&DumpApplication], idx: &DocIndex) -> Vec<Vec<String>> {
    apps.iter()
        .map(|a| {
            let (received, sender) = idx.received_and_sender(a);
            vec![
                a.id.to_string(),
                esc(&zh(Code::Form(&a.form))),
                app_link(a),
                esc(&zh(Code::Status(a.status))),
                late_cell(a),
                esc(&fmt_minute(&received)),
                mailto(&sender),
                problems_html(&idx.all_problems(a)),
                review_cell(a),
            ]
        })
        .collect()
}

/// The application table's columns and their sort keys.
const APP_COLS: [(&str, Option<&str>); 9] = [
    ("编号", Some("id")),
    ("申报表", Some("form")),
    ("申报单位/姓名", Some("applicant")),
    ("状态", Some("status")),
    ("逾期", Some("late")),
    ("收到时间", Some("received")),
    ("发件人", Some("email")),
    ("问题", None),
    ("审核", Some("review")),
];

type AppCmp = fn(&&DumpApplication, &&DumpApplication) -> Ordering;

const APP_SORTS: [(&str, AppCmp); 8] = [
    ("id", |a, b| a.id.cmp(&b.id)),
    ("form", |a, b| a.form.cmp(&b.form)),
    ("applicant", |a, b| a.applicant.cmp(&b.applicant)),
    ("status", |a, b| a.status.cmp(&b.status)),
    ("late", |a, b| a.late.cmp(&b.late)),
    ("received", |a, b| a.received_at.cmp(&b.received_at)),
    ("email", |a, b| a.email.cmp(&b.email)),
    ("review", |a, b| a.review.state.cmp(&b.review.state)),
];

/// One page of applications, sorted as asked, with the pager.
fn apps_table(apps: &mut [&DumpApplication], idx: &DocIndex, q: &ListQuery) -> String {
    q.sort(apps, &APP_SORTS);
    let mut b = q.pager(apps.len(), "项");
    b.push_str(&table_html(
        &q.header(&APP_COLS),
        &apps_rows(q.slice(apps), idx),
    ));
    b
}

/// A document that should have been a form but was not recognised as one: Office or
/// text read without finding any of the call's forms, or flagged `unknown_form`.
fn unrecognised(d: &DumpDocument) -> bool {
    d.superseded_by.is_none()
        && ((d.kind == DocKind::Electronic && d.form.is_none())
            || (d.kind == DocKind::Other && d.format.is_office_form())
            || d.problems
                .iter()
                .any(|p| problem::is(p, ProblemKind::UnknownForm)))
}

fn is_image(doc: &DumpDocument) -> bool {
    matches!(doc.format, DocFormat::Jpg | DocFormat::Png)
}

/// A document a page can show as a picture (an image, or a PDF's first page).
fn previewable(doc: &DumpDocument) -> bool {
    !doc.path.is_empty() && (is_image(doc) || doc.format == DocFormat::Pdf)
}

fn doc_row(doc: &DumpDocument) -> Vec<String> {
    let stamped = match doc.stamped {
        Some(true) => "<span class=\"ok\">已盖章</span>",
        Some(false) => "<span class=\"bad\">未见公章</span>",
        None => "",
    };
    let link = if doc.path.is_empty() {
        esc(&doc.name)
    } else {
        format!("<a href=\"/doc/{}\">{}</a>", doc.id, esc(&doc.name))
    };
    let mut kind = esc(&zh(Code::Kind(doc.kind)));
    if doc.kind == DocKind::Scan {
        let _ = write!(
            kind,
            "<br><a class=\"match\" href=\"/scans/{}\">{}</a>",
            doc.id,
            if doc.scan_of.is_some() {
                "查看/更改匹配"
            } else {
                "匹配到电子版"
            }
        );
    }
    vec![
        doc.id.to_string(),
        link,
        kind,
        esc(doc.format.as_str()),
        esc(&size_zh(doc.size)),
        stamped.to_string(),
        problems_html(&doc.problems),
    ]
}

const DOC_HEADER: [&str; 7] = [
    "编号",
    "文件名（点击下载）",
    "类型",
    "格式",
    "大小",
    "公章",
    "问题",
];

fn preview_img(d: &DumpDocument) -> String {
    format!(
        "<img class=\"scan\" src=\"/doc/{}/preview\" alt=\"{}\">",
        d.id,
        esc(&d.name)
    )
}

fn previews(docs: &[&DumpDocument]) -> String {
    let mut b = String::new();
    for d in docs
        .iter()
        .filter(|d| d.kind == DocKind::Scan && previewable(d))
    {
        let _ = writeln!(b, "<h3>{}</h3>{}", esc(&d.name), preview_img(d));
    }
    b
}

const MSG_COLS: [(&str, Option<&str>); 8] = [
    ("编号", Some("id")),
    ("收到时间", Some("received")),
    ("发件人", Some("from")),
    ("主题", Some("subject")),
    ("类别", Some("category")),
    ("回执", Some("receipt")),
    ("逾期", Some("late")),
    ("问题", None),
];

type MsgCmp = fn(&&DumpMessage, &&DumpMessage) -> Ordering;

const MSG_SORTS: [(&str, MsgCmp); 7] = [
    ("id", |a, b| a.id.cmp(&b.id)),
    ("received", |a, b| a.received_at.cmp(&b.received_at)),
    ("from", |a, b| a.from.cmp(&b.from)),
    ("subject", |a, b| a.subject.cmp(&b.subject)),
    ("category", |a, b| a.category.cmp(&b.category)),
    ("receipt", |a, b| a.receipt.status.cmp(&b.receipt.status)),
    ("late", |a, b| a.late.cmp(&b.late)),
];

fn msg_rows(msgs: &[&DumpMessage]) -> Vec<Vec<String>> {
    msgs.iter()
        .map(|m| {
            let mut subject = format!(
                "<a href=\"/messages/{}\">{}</a>",
                m.id,
                esc(m.subject.as_deref().unwrap_or("（无主题）"))
            );
            if m.removed.is_some() {
                subject.push_str(" <span class=\"bad\">（已移除）</span>");
            }
            vec![
                format!("<a href=\"/messages/{0}\">{0}</a>", m.id),
                esc(&fmt_minute(&m.received_at)),
                esc(m.from.as_deref().unwrap_or("")),
                subject,
                esc(&zh(Code::Category(m.category))),
                esc(&zh(Code::Receipt(m.receipt.status))),
                yes_no(m.late).to_string(),
                problems_html(&m.problems),
            ]
        })
        .collect()
}

/// One page of messages, sorted as asked, with the pager.
fn msgs_table(msgs: &mut [&DumpMessage], q: &ListQuery) -> String {
    q.sort(msgs, &MSG_SORTS);
    let mut b = q.pager(msgs.len(), "封");
    b.push_str(&table_html(&q.header(&MSG_COLS), &msg_rows(q.slice(msgs))));
    b
}

/// A POST button (with the session's CSRF field) that needs no other input.
fn button(action: &str, csrf: &str, label: &str, class: &str) -> String {
    format!(
        "<form class=\"inline {class}\" method=\"post\" action=\"{}\">{csrf}\
<button type=\"submit\">{}</button></form>",
        esc(action),
        esc(label)
    )
}
