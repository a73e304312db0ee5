//! The dashboard: counts by form, status and category, and what needs doing now
//! (cloud attachments about to expire, failed processing, failed receipts).

use super::*;

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
            let Some(p) = problem::Problem::parse(code) else {
                continue;
            };
            if p.kind != ProblemKind::CloudAttachment {
                continue;
            }
            if seen.contains(&code.as_str()) {
                continue;
            }
            seen.push(code);
            let (name, expires) = problem::split_cloud(p.detail.unwrap_or(""));
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
    let complete = apps
        .iter()
        .filter(|a| a.status == AppStatus::Complete)
        .count();
    let late = apps.iter().filter(|a| a.late).count();
    let chase = apps.iter().filter(|a| a.status.needs_scan()).count();
    let _ = writeln!(
        b,
        "<div class=\"cards\"><div class=\"card\">邮件<b>{}</b></div>\
<div class=\"card\">申报<b>{}</b></div><div class=\"card\">材料齐全<b>{complete}</b></div>\
<div class=\"card\"><a href=\"/missing-scan\">待补扫描件</a><b>{chase}</b></div>\
<div class=\"card\"><a href=\"/late\">逾期申报</a><b>{late}</b></div>\
<div class=\"card\"><a href=\"/queue\">待处理</a><b>{}</b></div></div>",
        dump.messages.iter().filter(|m| live(m)).count(),
        apps.len(),
        super::queue_count(dump)
    );

    b.push_str("<h2>申报情况（按申报表和状态）</h2>\n");
    let mut header = vec!["申报表"];
    let labels: Vec<String> = AppStatus::ALL
        .iter()
        .map(|s| zh(Code::Status(*s)))
        .collect();
    header.extend(labels.iter().map(String::as_str));
    header.push("合计");
    header.push("逾期");
    let mut rows = Vec::new();
    for form in FormKey::all() {
        let fa: Vec<&DumpApplication> = apps.iter().filter(|a| a.form == form.as_str()).collect();
        let mut row = vec![format!(
            "<a href=\"/apps?form={}\">{}</a>",
            form.as_str(),
            esc(form.title_zh())
        )];
        for s in AppStatus::ALL {
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
            let key = c.map_or(crate::domain::kinds::PENDING_CODE, Category::as_str);
            vec![
                format!(
                    "<a href=\"/messages?category={}\">{}</a>",
                    esc(&url_encode(key)),
                    esc(&zh(Code::Category(c)))
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
                    esc(&fmt_minute(c.expires.as_deref().unwrap_or(""))),
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
            let failed = |p: &String| problem::is(p, ProblemKind::ProcessingFailed);
            m.problems.iter().any(failed)
                || m.documents.iter().any(|d| d.problems.iter().any(failed))
        })
        .collect();
    let receipt_failed = dump
        .messages
        .iter()
        .filter(|m| m.receipt.status == ReceiptStatus::Failed)
        .count();
    let receipt_held = dump
        .messages
        .iter()
        .filter(|m| m.receipt.status == crate::receipts::ReceiptStatus::Held.as_str())
        .count();
    if receipt_held > 0 {
        let _ = writeln!(
            b,
            "<p class=\"bad\">回执待审核 {receipt_held} 封（发件人未通过认证，不会自动发出）：\
核对后在<a href=\"/queue#q-receipts\">待处理</a>中批准发送（或 <code>kepu-intake receipts --approve 编号</code>）。</p>"
        );
    }
    let pending = dump
        .messages
        .iter()
        .filter(|m| m.category.is_none())
        .count();
    let questions = dump
        .messages
        .iter()
        .filter(|m| live(m) && m.category == Some(crate::domain::Category::Question))
        .count();
    let _ = writeln!(
        b,
        "<ul><li>自动处理失败、需人工查看的邮件：{}</li><li>回执发送失败：{receipt_failed}</li>\
<li>尚未处理的邮件：{pending}</li>\
<li><a href=\"/queue#q-questions\">咨询邮件</a>：{questions}</li></ul>",
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
