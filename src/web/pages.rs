//! The pages operators read, rendered from a [`Dump`]: dashboard, application list and
//! page, missing-scan and late lists, mail list and page. Every string that came from
//! mail or a form passes through [`crate::web::html::html_escape`].

use crate::model::FormKind;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use crate::report::export::{
    category_counts_raw, category_zh, form_keys, form_name_zh, problem_cell, receipt_zh,
    split_cloud, status_zh, DocIndex, STATUSES,
};
use crate::web::html::{html_escape as esc, page, table, url_encode};
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::fmt::Write as _;

mod apps;
mod dashboard;
mod mail;

pub use apps::{app_list, app_page, late, missing_scan, AppFilter};
pub use dashboard::{cloud_items, dashboard, CloudItem};
pub use mail::{message_page, messages};

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
        .map(|p| esc(&problem_cell(p)))
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

fn apps_rows(apps: &[&DumpApplication], idx: &DocIndex) -> Vec<Vec<String>> {
    apps.iter()
        .map(|a| {
            let (received, sender) = idx.received_and_sender(a);
            vec![
                a.id.to_string(),
                esc(form_name_zh(&a.form)),
                app_link(a),
                esc(status_zh(&a.status)),
                yes_no(a.late).to_string(),
                esc(&received),
                mailto(&sender),
                problems_html(&idx.all_problems(a)),
            ]
        })
        .collect()
}

const APP_HEADER: [&str; 8] = [
    "编号",
    "申报表",
    "申报单位/姓名",
    "状态",
    "逾期",
    "收到时间",
    "发件人",
    "问题",
];

fn is_image(doc: &DumpDocument) -> bool {
    matches!(doc.format.as_str(), "jpg" | "jpeg" | "png")
}

fn doc_row(doc: &DumpDocument) -> Vec<String> {
    let kind = match doc.kind.as_str() {
        "electronic" => "电子版",
        "scan" => "扫描件",
        "archive" => "压缩包",
        "cloud_link" => "超大附件链接",
        "notice" => "通知/空白表",
        _ => "其他",
    };
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
    vec![
        doc.id.to_string(),
        link,
        esc(kind),
        esc(&doc.format),
        doc.size.to_string(),
        stamped.to_string(),
        problems_html(&doc.problems),
    ]
}

const DOC_HEADER: [&str; 7] = [
    "编号",
    "文件名（点击下载）",
    "类型",
    "格式",
    "字节",
    "公章",
    "问题",
];

fn previews(docs: &[&DumpDocument]) -> String {
    let mut b = String::new();
    for d in docs.iter().filter(|d| is_image(d) && !d.path.is_empty()) {
        let _ = writeln!(
            b,
            "<h3>{}</h3><img class=\"scan\" src=\"/doc/{}?inline=1\" alt=\"{}\">",
            esc(&d.name),
            d.id,
            esc(&d.name)
        );
    }
    b
}

const MSG_HEADER: [&str; 8] = [
    "编号",
    "收到时间",
    "发件人",
    "主题",
    "类别",
    "回执",
    "逾期",
    "问题",
];

fn msg_rows(msgs: &[&DumpMessage]) -> Vec<Vec<String>> {
    msgs.iter()
        .map(|m| {
            vec![
                format!("<a href=\"/messages/{0}\">{0}</a>", m.id),
                esc(&m.received_at),
                esc(m.from.as_deref().unwrap_or("")),
                format!(
                    "<a href=\"/messages/{}\">{}</a>",
                    m.id,
                    esc(m.subject.as_deref().unwrap_or("（无主题）"))
                ),
                esc(category_zh(m.category.as_deref())),
                esc(receipt_zh(&m.receipt.status)),
                yes_no(m.late).to_string(),
                problems_html(&m.problems),
            ]
        })
        .collect()
}
