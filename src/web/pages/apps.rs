//! Application pages: the filtered list, one application, the missing-scan list for
//! chasing applicants, and the late list.

use super::*;

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

/// The application list with its filter form.
pub fn app_list(dump: &Dump, f: &AppFilter) -> String {
    let idx = DocIndex::new(dump);
    let forms: Vec<(&str, &str)> = FormKey::all()
        .iter()
        .map(|k| (k.as_str(), crate::report::export::form_short_zh(*k)))
        .collect();
    let statuses: Vec<(&str, &str)> = AppStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label_zh()))
        .collect();
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

/// One application: summary, form fields, documents with downloads and scan preview.
pub fn app_page(dump: &Dump, id: i64) -> Option<String> {
    let app = dump.applications.iter().find(|a| a.id == id)?;
    let idx = DocIndex::new(dump);
    let (received, sender) = idx.received_and_sender(app);
    let form_title = FormKey::parse(&app.form)
        .map(|f| f.title_zh())
        .unwrap_or(app.form.as_str());
    let mut b = String::new();
    let summary = vec![
        vec!["申报表".into(), esc(form_title)],
        vec!["状态".into(), esc(app.status.label_zh())],
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
        let keys: Vec<&str> = FormKey::parse(&app.form).map(form_keys).unwrap_or_default();
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
        .filter(|a| a.status.needs_scan())
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
