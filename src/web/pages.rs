//! The pages operators read, rendered from a [`Dump`]: dashboard, application list and
//! page, missing-scan and late lists, mail list and page. Every string that came from
//! mail or a form passes through [`html_escape`].

use crate::model::FormKind;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use crate::report::export::{
    category_counts_raw, category_zh, form_keys, form_name_zh, problem_cell, receipt_zh,
    split_cloud, status_zh, DocIndex, STATUSES,
};
use crate::web::html::{html_escape as esc, page, table, url_encode};
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::fmt::Write as _;

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

/// A cloud attachment that must be downloaded before its link expires.
pub struct CloudItem<'a> {
    pub message: &'a DumpMessage,
    pub name: String,
    pub expires: Option<String>,
    /// Days left until expiry (negative = expired), when the date could be read.
    pub days_left: Option<i64>,
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(crate::time::to_shanghai(&t).date_naive());
    }
    let head: String = s.chars().take(10).collect();
    NaiveDate::parse_from_str(&head, "%Y-%m-%d").ok()
}

/// Every `cloud_attachment:…` problem on messages and their documents, soonest first.
pub fn cloud_items(dump: &Dump, now: DateTime<FixedOffset>) -> Vec<CloudItem<'_>> {
    let today = now.date_naive();
    let mut items = Vec::new();
    for m in &dump.messages {
        let codes = m
            .problems
            .iter()
            .chain(m.documents.iter().flat_map(|d| d.problems.iter()));
        let mut seen: Vec<&str> = Vec::new();
        for code in codes {
            if !(code == "cloud_attachment" || code.starts_with("cloud_attachment:")) {
                continue;
            }
            if seen.contains(&code.as_str()) {
                continue;
            }
            seen.push(code);
            let detail = code.strip_prefix("cloud_attachment:").unwrap_or("");
            let (name, expires) = split_cloud(detail);
            let days_left = expires.and_then(parse_day).map(|d| (d - today).num_days());
            items.push(CloudItem {
                message: m,
                name: name.to_string(),
                expires: expires.map(str::to_string),
                days_left,
            });
        }
    }
    items.sort_by_key(|i| (i.days_left.is_none(), i.days_left));
    items
}

/// The dashboard: counts and the things someone has to act on.
pub fn dashboard(dump: &Dump, now: DateTime<FixedOffset>) -> String {
    let mut b = String::new();
    let apps = &dump.applications;
    let complete = apps.iter().filter(|a| a.status == "complete").count();
    let late = apps.iter().filter(|a| a.late).count();
    let chase = apps
        .iter()
        .filter(|a| matches!(a.status.as_str(), "missing_scan" | "unstamped_scan"))
        .count();
    let _ = writeln!(
        b,
        "<div class=\"cards\"><div class=\"card\">邮件<b>{}</b></div>\
<div class=\"card\">申报<b>{}</b></div><div class=\"card\">材料齐全<b>{complete}</b></div>\
<div class=\"card\"><a href=\"/missing-scan\">待补扫描件</a><b>{chase}</b></div>\
<div class=\"card\"><a href=\"/late\">逾期申报</a><b>{late}</b></div></div>",
        dump.messages.len(),
        apps.len()
    );

    b.push_str("<h2>申报情况（按申报表和状态）</h2>\n");
    let mut header = vec!["申报表"];
    header.extend(STATUSES.iter().map(|s| status_zh(s)));
    header.push("合计");
    header.push("逾期");
    let mut rows = Vec::new();
    for form in FormKind::ALL {
        let fa: Vec<&DumpApplication> = apps.iter().filter(|a| a.form == form.as_str()).collect();
        let mut row = vec![format!(
            "<a href=\"/apps?form={}\">{}</a>",
            form.as_str(),
            esc(form.title_zh())
        )];
        for s in STATUSES {
            let n = fa.iter().filter(|a| a.status == s).count();
            row.push(format!(
                "<a href=\"/apps?form={}&amp;status={s}\">{n}</a>",
                form.as_str()
            ));
        }
        row.push(fa.len().to_string());
        row.push(format!(
            "<a href=\"/apps?form={}&amp;late=1\">{}</a>",
            form.as_str(),
            fa.iter().filter(|a| a.late).count()
        ));
        rows.push(row);
    }
    b.push_str(&table(&header, &rows));

    b.push_str("<h2>邮件（按类别）</h2>\n");
    let rows: Vec<Vec<String>> = category_counts_raw(dump)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| {
            let key = c.clone().unwrap_or_else(|| "pending".into());
            vec![
                format!(
                    "<a href=\"/messages?category={}\">{}</a>",
                    esc(&url_encode(&key)),
                    esc(category_zh(c.as_deref()))
                ),
                n.to_string(),
            ]
        })
        .collect();
    b.push_str(&table(&["类别", "数量"], &rows));

    b.push_str("<h2>需要处理</h2>\n");
    let clouds = cloud_items(dump, now);
    if clouds.is_empty() {
        b.push_str("<p>没有超大附件待下载。</p>\n");
    } else {
        b.push_str("<p>以下超大附件只能在网页邮箱中下载，链接到期后无法取回：</p>\n");
        let rows: Vec<Vec<String>> = clouds
            .iter()
            .map(|c| {
                let due = match c.days_left {
                    Some(d) if d < 0 => "<span class=\"bad\">已过期</span>".to_string(),
                    Some(0) => "<span class=\"bad\">今天到期</span>".to_string(),
                    Some(d) if d <= 3 => format!("<span class=\"bad\">{d} 天后到期</span>"),
                    Some(d) => format!("{d} 天后到期"),
                    None => "到期日未知".to_string(),
                };
                vec![
                    esc(&c.name),
                    esc(c.expires.as_deref().unwrap_or("")),
                    due,
                    format!(
                        "<a href=\"/messages/{}\">#{} {}</a>",
                        c.message.id,
                        c.message.id,
                        esc(c.message.from.as_deref().unwrap_or(""))
                    ),
                ]
            })
            .collect();
        b.push_str(&table(&["文件", "到期时间", "状态", "邮件"], &rows));
    }
    let failed: Vec<&DumpMessage> = dump
        .messages
        .iter()
        .filter(|m| {
            m.problems.iter().any(|p| p == "processing_failed")
                || m.documents
                    .iter()
                    .any(|d| d.problems.iter().any(|p| p == "processing_failed"))
        })
        .collect();
    let receipt_failed = dump
        .messages
        .iter()
        .filter(|m| m.receipt.status == "failed")
        .count();
    let pending = dump
        .messages
        .iter()
        .filter(|m| m.category.is_none())
        .count();
    let _ = writeln!(
        b,
        "<ul><li>自动处理失败、需人工查看的邮件：{}</li><li>回执发送失败：{receipt_failed}</li>\
<li>尚未处理的邮件：{pending}</li></ul>",
        if failed.is_empty() {
            "0".to_string()
        } else {
            failed
                .iter()
                .map(|m| format!("<a href=\"/messages/{0}\">#{0}</a>", m.id))
                .collect::<Vec<_>>()
                .join(" ")
        }
    );
    page("申报收件概览", &b)
}

/// Filters of the application list (all optional).
#[derive(Debug, Default, Clone)]
pub struct AppFilter {
    pub form: Option<String>,
    pub status: Option<String>,
    pub late: bool,
    pub q: Option<String>,
}

impl AppFilter {
    fn matches(&self, app: &DumpApplication, idx: &DocIndex) -> bool {
        if self.form.as_deref().is_some_and(|f| app.form != f) {
            return false;
        }
        if self.status.as_deref().is_some_and(|s| app.status != s) {
            return false;
        }
        if self.late && !app.late {
            return false;
        }
        match self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            None => true,
            Some(q) => {
                let q = q.to_lowercase();
                let mut hay = vec![app.id.to_string(), app.applicant.to_lowercase()];
                hay.extend(app.email.iter().map(|e| e.to_lowercase()));
                for id in [app.electronic, app.scan].into_iter().flatten() {
                    if let Some((m, d)) = idx.get(id) {
                        hay.push(d.name.to_lowercase());
                        hay.extend(m.from.iter().map(|f| f.to_lowercase()));
                        hay.extend(d.fields.values().map(|v| v.display().to_lowercase()));
                    }
                }
                hay.iter().any(|h| h.contains(&q))
            }
        }
    }
}

fn select(name: &str, options: &[(&str, &str)], chosen: Option<&str>) -> String {
    let mut s = format!("<select name=\"{name}\"><option value=\"\">全部</option>");
    for (value, label) in options {
        let sel = if chosen == Some(*value) {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, "<option value=\"{value}\"{sel}>{}</option>", esc(label));
    }
    s.push_str("</select>");
    s
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

/// The application list with its filter form.
pub fn app_list(dump: &Dump, f: &AppFilter) -> String {
    let idx = DocIndex::new(dump);
    let forms: Vec<(&str, &str)> = FormKind::ALL
        .iter()
        .map(|k| (k.as_str(), crate::report::export::form_short_zh(*k)))
        .collect();
    let statuses: Vec<(&str, &str)> = STATUSES.iter().map(|s| (*s, status_zh(s))).collect();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"/apps\">申报表 {} 状态 {} \
<label><input type=\"checkbox\" name=\"late\" value=\"1\"{}>只看逾期</label>\
<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"单位、姓名、邮箱、内容\">\
<button type=\"submit\">筛选</button></form>",
        select("form", &forms, f.form.as_deref()),
        select("status", &statuses, f.status.as_deref()),
        if f.late { " checked" } else { "" },
        esc(f.q.as_deref().unwrap_or(""))
    );
    let apps: Vec<&DumpApplication> = dump
        .applications
        .iter()
        .filter(|a| f.matches(a, &idx))
        .collect();
    let _ = writeln!(b, "<p>共 {} 项</p>", apps.len());
    b.push_str(&table(&APP_HEADER, &apps_rows(&apps, &idx)));
    page("申报列表", &b)
}

fn is_image(doc: &DumpDocument) -> bool {
    matches!(doc.format.as_str(), "jpg" | "jpeg" | "png")
}

fn doc_row(doc: &DumpDocument) -> Vec<String> {
    let kind = match doc.kind.as_str() {
        "electronic" => "电子版",
        "scan" => "扫描件",
        "archive" => "压缩包",
        "cloud_link" => "超大附件链接",
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

/// One application: summary, form fields, documents with downloads and scan preview.
pub fn app_page(dump: &Dump, id: i64) -> Option<String> {
    let app = dump.applications.iter().find(|a| a.id == id)?;
    let idx = DocIndex::new(dump);
    let (received, sender) = idx.received_and_sender(app);
    let form_title = FormKind::parse(&app.form)
        .map(|f| f.title_zh())
        .unwrap_or(app.form.as_str());
    let mut b = String::new();
    let summary = vec![
        vec!["申报表".into(), esc(form_title)],
        vec!["状态".into(), esc(status_zh(&app.status))],
        vec!["逾期".into(), yes_no(app.late).into()],
        vec!["收到时间".into(), esc(&received)],
        vec!["发件人".into(), mailto(&sender)],
        vec!["问题".into(), problems_html(&idx.all_problems(app))],
    ];
    b.push_str(&table(&["项目", "内容"], &summary));
    let docs: Vec<(&DumpMessage, &DumpDocument)> = [app.electronic, app.scan]
        .into_iter()
        .flatten()
        .filter_map(|i| idx.get(i))
        .collect();
    if let Some((_, e)) = app.electronic.and_then(|i| idx.get(i)) {
        b.push_str("<h2>填报内容</h2>\n");
        let keys: Vec<&str> = FormKind::parse(&app.form)
            .map(|f| form_keys(f).to_vec())
            .unwrap_or_default();
        let mut rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                let v = e.fields.get(*k).map(|v| v.display()).unwrap_or_default();
                vec![esc(k), format!("<pre>{}</pre>", esc(&v))]
            })
            .collect();
        rows.extend(
            e.fields
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| vec![esc(k), format!("<pre>{}</pre>", esc(&v.display()))]),
        );
        b.push_str(&table(&["栏目", "填写内容"], &rows));
    }
    b.push_str("<h2>文件</h2>\n");
    let rows: Vec<Vec<String>> = docs.iter().map(|(_, d)| doc_row(d)).collect();
    b.push_str(&table(&DOC_HEADER, &rows));
    let mut ids: Vec<i64> = docs.iter().map(|(m, _)| m.id).collect();
    ids.dedup();
    let msgs: Vec<String> = ids
        .iter()
        .map(|id| format!("<a href=\"/messages/{id}\">邮件 #{id}</a>"))
        .collect();
    let _ = writeln!(b, "<p>来自：{}</p>", msgs.join(" "));
    let only_docs: Vec<&DumpDocument> = docs.iter().map(|(_, d)| *d).collect();
    b.push_str(&previews(&only_docs));
    Some(page(&format!("申报 #{} {}", app.id, app.applicant), &b))
}

/// Applications still waiting for a (stamped) scan, with addresses to chase.
pub fn missing_scan(dump: &Dump) -> String {
    let idx = DocIndex::new(dump);
    let apps: Vec<&DumpApplication> = dump
        .applications
        .iter()
        .filter(|a| matches!(a.status.as_str(), "missing_scan" | "unstamped_scan"))
        .collect();
    let mut b = String::from(
        "<p>以下申报已收到电子版，但缺少盖章扫描件或扫描件上未见公章，请联系补交。</p>\n",
    );
    let _ = writeln!(b, "<p>共 {} 项</p>", apps.len());
    b.push_str(&table(&APP_HEADER, &apps_rows(&apps, &idx)));
    let mut emails: Vec<String> = apps
        .iter()
        .map(|a| idx.received_and_sender(a).1)
        .filter(|e| !e.is_empty())
        .collect();
    emails.sort();
    emails.dedup();
    let _ = writeln!(
        b,
        "<h2>收件人地址（可复制到邮箱）</h2><textarea rows=\"4\" cols=\"80\" readonly>{}</textarea>",
        esc(&emails.join("; "))
    );
    page("缺盖章扫描件", &b)
}

/// Late applications and late mail.
pub fn late(dump: &Dump) -> String {
    let idx = DocIndex::new(dump);
    let apps: Vec<&DumpApplication> = dump.applications.iter().filter(|a| a.late).collect();
    let mut b = format!("<h2>逾期申报（共 {} 项）</h2>\n", apps.len());
    b.push_str(&table(&APP_HEADER, &apps_rows(&apps, &idx)));
    let msgs: Vec<&DumpMessage> = dump.messages.iter().filter(|m| m.late).collect();
    let _ = writeln!(b, "<h2>逾期邮件（共 {} 封）</h2>", msgs.len());
    b.push_str(&table(&MSG_HEADER, &msg_rows(&msgs)));
    page("逾期", &b)
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

/// All mail, optionally one category (`pending` = not yet processed).
pub fn messages(dump: &Dump, category: Option<&str>) -> String {
    let msgs: Vec<&DumpMessage> = dump
        .messages
        .iter()
        .filter(|m| match category {
            None | Some("") => true,
            Some("pending") => m.category.is_none(),
            Some(c) => m.category.as_deref() == Some(c),
        })
        .collect();
    let mut b = format!("<p>共 {} 封</p>\n", msgs.len());
    b.push_str(&table(&MSG_HEADER, &msg_rows(&msgs)));
    page("全部邮件", &b)
}

/// One message: headers, receipt, attachments.
pub fn message_page(dump: &Dump, id: i64) -> Option<String> {
    let m = dump.messages.iter().find(|m| m.id == id)?;
    let mut receipt = receipt_zh(&m.receipt.status).to_string();
    if let Some(r) = m.receipt.reason.as_deref().filter(|r| !r.is_empty()) {
        receipt.push_str(&format!("（{r}）"));
    }
    let mut rows = vec![
        vec!["发件人".into(), mailto(m.from.as_deref().unwrap_or(""))],
        vec!["主题".into(), esc(m.subject.as_deref().unwrap_or(""))],
        vec!["收到时间".into(), esc(&m.received_at)],
        vec![
            "信头日期（发件人自称）".into(),
            esc(m.date_header.as_deref().unwrap_or("")),
        ],
        vec!["逾期".into(), yes_no(m.late).into()],
        vec!["类别".into(), esc(category_zh(m.category.as_deref()))],
        vec!["回执".into(), esc(&receipt)],
        vec![
            "Message-ID".into(),
            esc(m.message_id.as_deref().unwrap_or("")),
        ],
        vec!["问题".into(), problems_html(&m.problems)],
    ];
    if let Some(d) = m.duplicate_of {
        rows.push(vec![
            "重复".into(),
            format!("与 <a href=\"/messages/{d}\">邮件 #{d}</a> 相同"),
        ]);
    }
    let mut b = table(&["项目", "内容"], &rows);
    b.push_str("<h2>附件</h2>\n");
    let rows: Vec<Vec<String>> = m.documents.iter().map(doc_row).collect();
    b.push_str(&table(&DOC_HEADER, &rows));
    let apps: Vec<String> = dump
        .applications
        .iter()
        .filter(|a| {
            m.documents
                .iter()
                .any(|d| Some(d.id) == a.electronic || Some(d.id) == a.scan)
        })
        .map(app_link)
        .collect();
    if !apps.is_empty() {
        let _ = writeln!(b, "<p>相关申报：{}</p>", apps.join(" "));
    }
    let docs: Vec<&DumpDocument> = m.documents.iter().collect();
    b.push_str(&previews(&docs));
    Some(page(&format!("邮件 #{}", m.id), &b))
}
