//! Mail pages: the list of all messages (by category) and one message.

use super::*;

/// All mail, optionally one category (`pending` = not yet processed).
pub fn messages(dump: &Dump, category: Option<&str>) -> String {
    let msgs: Vec<&DumpMessage> = dump
        .messages
        .iter()
        .filter(|m| match category {
            None | Some("") => true,
            Some("pending") => m.category.is_none(),
            Some(c) => m.category.is_some_and(|k| k == c),
        })
        .collect();
    let mut b = format!("<p>共 {} 封</p>\n", msgs.len());
    b.push_str(&table(&MSG_HEADER, &msg_rows(&msgs)));
    page("全部邮件", &b)
}

/// One message: headers, receipt, attachments.
pub fn message_page(dump: &Dump, id: i64) -> Option<String> {
    let m = dump.messages.iter().find(|m| m.id == id)?;
    let mut receipt = m.receipt.status.label_zh().to_string();
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
        vec!["类别".into(), esc(category_label_zh(m.category))],
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
