//! Mail pages: the list of all messages (by category, problem, removed or not) and one
//! message, with its text when it is a question, its receipt (retry), and the soft
//! removal of junk (remove / restore).

use super::*;

/// Filters of the mail list.
#[derive(Debug, Default, Clone)]
pub struct MessageFilter {
    /// A category; `pending` = not processed yet.
    pub category: Option<String>,
    /// A problem code (its kind, before any `:`) on the message or one of its documents.
    pub problem: Option<String>,
    /// Show the removed messages instead of the others.
    pub removed: bool,
    /// Only messages with a document not recognised as any form.
    pub unrecognised: bool,
    /// Text in the sender, subject or a file name.
    pub q: Option<String>,
}

impl MessageFilter {
    fn matches(&self, m: &DumpMessage) -> bool {
        if self.removed != m.removed.is_some() {
            return false;
        }
        let cat_ok = match self.category.as_deref() {
            None | Some("") => true,
            Some("pending") => m.category.is_none(),
            Some(c) => m.category.is_some_and(|k| k.as_str() == c),
        };
        let kind = |p: &String| p.split(':').next() == self.problem.as_deref();
        let problem_ok = self.problem.is_none()
            || m.problems.iter().any(kind)
            || m.documents.iter().any(|d| d.problems.iter().any(kind));
        let q_ok = match self.q.as_deref() {
            None => true,
            Some(q) => {
                let q = q.to_lowercase();
                let mut hay: Vec<String> = [m.from.as_deref(), m.subject.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::to_lowercase)
                    .collect();
                hay.extend(m.documents.iter().map(|d| d.name.to_lowercase()));
                hay.push(m.id.to_string());
                hay.iter().any(|h| h.contains(&q))
            }
        };
        let unrecognised_ok = !self.unrecognised || m.documents.iter().any(unrecognised);
        cat_ok && problem_ok && q_ok && unrecognised_ok
    }
}

/// All mail (not removed, unless asked), filtered, one page of it, sortable.
pub fn messages(dump: &Dump, f: &MessageFilter, q: &ListQuery) -> String {
    let mut msgs: Vec<&DumpMessage> = dump.messages.iter().filter(|m| f.matches(m)).collect();
    let removed = dump.messages.iter().filter(|m| !live(m)).count();
    let mut b = format!(
        "<form class=\"filters\" method=\"get\" action=\"/messages\">\
{}<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"发件人、主题、文件名\">\
<button type=\"submit\">搜索</button></form>\n",
        f.category
            .as_deref()
            .map(|c| format!(
                "<input type=\"hidden\" name=\"category\" value=\"{}\">",
                esc(c)
            ))
            .unwrap_or_default(),
        esc(f.q.as_deref().unwrap_or(""))
    );
    if f.removed {
        b.push_str("<p>以下是已移除的邮件（原件仍保存，不计入统计）。<a href=\"/messages\">返回全部邮件</a></p>\n");
    } else if removed > 0 {
        let _ = writeln!(
            b,
            "<p><a href=\"/messages?removed=1\">已移除的邮件（{removed} 封）</a></p>"
        );
    }
    b.push_str(&msgs_table(&mut msgs, q));
    page(
        if f.removed {
            "已移除的邮件"
        } else {
            "全部邮件"
        },
        &b,
    )
}

/// One message: headers, its text when it is a question (`text`), receipt with its
/// retry, attachments, removal or restore, and the audit entries about it.
pub fn message_page(dump: &Dump, id: i64, text: Option<&str>, csrf: &str) -> Option<String> {
    let m = dump.messages.iter().find(|m| m.id == id)?;
    let mut receipt = esc(&zh(Code::Receipt(m.receipt.status)));
    if let Some(r) = m.receipt.reason.as_deref().filter(|r| !r.is_empty()) {
        let _ = write!(receipt, "（{}）", esc(&zh(Code::ReceiptReason(r))));
    }
    if m.receipt.status == ReceiptStatus::Held {
        receipt.push(' ');
        receipt.push_str(&button(
            &format!("/messages/{}/receipt/approve", m.id),
            csrf,
            "批准发送",
            "approve",
        ));
    }
    if matches!(
        m.receipt.status,
        ReceiptStatus::Failed | ReceiptStatus::Suppressed
    ) {
        receipt.push(' ');
        receipt.push_str(&button(
            &format!("/messages/{}/receipt/retry", m.id),
            csrf,
            "重发回执",
            "retry",
        ));
    }
    let mut rows = vec![
        vec!["发件人".into(), mailto(m.from.as_deref().unwrap_or(""))],
        vec!["主题".into(), esc(m.subject.as_deref().unwrap_or(""))],
        vec!["收到时间".into(), esc(&fmt_minute(&m.received_at))],
        vec![
            "信头日期（发件人自称）".into(),
            esc(&fmt_minute(m.date_header.as_deref().unwrap_or(""))),
        ],
        vec!["逾期".into(), yes_no(m.late).into()],
        vec!["类别".into(), esc(&zh(Code::Category(m.category)))],
        vec!["回执".into(), receipt],
        vec!["大小".into(), esc(&size_zh(m.size))],
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
    let mut b = String::new();
    if let Some(r) = &m.removed {
        let _ = write!(
            b,
            "<div class=\"box\" id=\"removed\"><p class=\"bad\">此邮件已移除（{} 于 {}，理由：{}），\
不计入统计和申报；原件仍保存。</p>{}</div>",
            esc(&r.by),
            esc(&fmt_minute(&r.at)),
            esc(&r.reason),
            button(&format!("/messages/{}/restore", m.id), csrf, "恢复此邮件", "restore")
        );
    }
    b.push_str(&table(&["项目", "内容"], &rows));
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        let _ = writeln!(
            b,
            "<h2>{}</h2><pre class=\"box\" id=\"body-text\">{}</pre>",
            if m.category == Some(crate::domain::Category::Question) {
                "咨询内容"
            } else {
                "正文"
            },
            esc(t)
        );
        if let Some(from) = m.from.as_deref().filter(|f| !f.is_empty()) {
            let subject = format!("回复：{}", m.subject.as_deref().unwrap_or(""));
            let _ = writeln!(
                b,
                "<p><a href=\"mailto:{}?subject={}\">用邮箱回复</a></p>",
                esc(&url_encode_mail(from)),
                esc(&url_encode(&subject))
            );
        }
    }
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
    if m.removed.is_none() && m.duplicate_of.is_none() {
        // The page's `import --into`: files the applicant sent another way.
        let _ = write!(
            b,
            "<h2>补充文件</h2><form method=\"post\" action=\"/messages/{}/import\" \
enctype=\"multipart/form-data\" class=\"import box\">{csrf}\
<p>申报单位用网盘链接、U 盘等方式另外提供的文件，可加入这封邮件，与附件一起处理（同 <code>import --into</code>，单次不超过 64 MB）。</p>\
<p><input type=\"file\" name=\"file\" multiple required> \
<button type=\"submit\">加入此邮件</button></p></form>",
            m.id
        );
    }
    if m.removed.is_none() {
        let _ = write!(
            b,
            "<h2>移除</h2><form method=\"post\" action=\"/messages/{}/remove\" class=\"remove box\">{csrf}\
<p>垃圾邮件、测试邮件可移除：不计入统计和申报，原件仍保存，可随时恢复。</p>\
<p><label>理由 <input name=\"reason\" size=\"40\" placeholder=\"例如：垃圾邮件\"></label> \
<button type=\"submit\">移除此邮件</button></p></form>",
            m.id
        );
    }
    let target = format!("m{}", m.id);
    let doc_targets: Vec<String> = m.documents.iter().map(|d| format!("d{}", d.id)).collect();
    let mut targets = vec![target.as_str()];
    targets.extend(doc_targets.iter().map(String::as_str));
    b.push_str(&super::audit::entries_about(dump, &targets));
    Some(page(&format!("邮件 #{}", m.id), &b))
}
