//! Application pages: the filtered list, one application with the office's decisions
//! (审核 and the late excuse, each shown with who and when), the missing-scan list for
//! chasing applicants, and the late list.

use super::*;

/// Filters of the application list (all optional).
#[derive(Debug, Default, Clone)]
pub struct AppFilter {
    pub form: Option<String>,
    pub status: Option<String>,
    pub late: bool,
    pub q: Option<String>,
    /// The office's decision: pending | accepted | returned.
    pub review: Option<String>,
}

impl AppFilter {
    fn matches(&self, app: &DumpApplication, idx: &DocIndex) -> bool {
        if self.form.as_deref().is_some_and(|f| app.form != f) {
            return false;
        }
        if self.status.as_deref().is_some_and(|s| app.status != s) {
            return false;
        }
        if self
            .review
            .as_deref()
            .is_some_and(|r| app.review.state != r)
        {
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

fn select(name: &str, options: &[(&str, String)], chosen: Option<&str>) -> String {
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

/// The application list with its filter form, one page of it, sortable.
pub fn app_list(dump: &Dump, f: &AppFilter, q: &ListQuery) -> String {
    let idx = DocIndex::new(dump);
    let forms: Vec<(&str, String)> = FormKey::all()
        .iter()
        .map(|k| (k.as_str(), zh(Code::Form(k.as_str()))))
        .collect();
    let statuses: Vec<(&str, String)> = AppStatus::ALL
        .iter()
        .map(|s| (s.as_str(), zh(Code::Status(*s))))
        .collect();
    let reviews: Vec<(&str, String)> = crate::office::ReviewState::ALL
        .iter()
        .map(|r| (r.as_str(), zh(Code::Review(*r))))
        .collect();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"/apps\">申报表 {} 状态 {} 审核 {} \
<label><input type=\"checkbox\" name=\"late\" value=\"1\"{}>只看逾期</label>\
<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"单位、姓名、邮箱、内容\">\
<button type=\"submit\">筛选</button></form>",
        select("form", &forms, f.form.as_deref()),
        select("status", &statuses, f.status.as_deref()),
        select("review", &reviews, f.review.as_deref()),
        if f.late { " checked" } else { "" },
        esc(f.q.as_deref().unwrap_or(""))
    );
    let mut apps: Vec<&DumpApplication> = dump
        .applications
        .iter()
        .filter(|a| f.matches(a, &idx))
        .collect();
    b.push_str(&apps_table(&mut apps, &idx, q));
    page("申报列表", &b)
}

/// The decision forms of an application page: 审核 (with a note) and the late excuse.
fn decisions(app: &DumpApplication, csrf: &str) -> String {
    let mut b = String::from("<h2>审核</h2>\n<div class=\"box\" id=\"review\">");
    let r = &app.review;
    let _ = write!(
        b,
        "<p>当前：<b id=\"review-state\">{}</b>",
        esc(&zh(Code::Review(r.state)))
    );
    if let Some(at) = &r.at {
        let _ = write!(b, "（{} 于 {} 决定）", esc(&r.by), esc(&fmt_minute(at)));
    }
    if !r.note.is_empty() {
        let _ = write!(b, "　备注：{}", esc(&r.note));
    }
    b.push_str("</p>");
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/apps/{}/review\" class=\"review\">{csrf}<p>",
        app.id
    );
    for s in crate::office::ReviewState::ALL {
        let checked = if s == r.state { " checked" } else { "" };
        let _ = write!(
            b,
            "<label><input type=\"radio\" name=\"state\" value=\"{}\"{checked}>{}</label> ",
            s.as_str(),
            esc(&zh(Code::Review(s)))
        );
    }
    let _ = write!(
        b,
        "</p><p><label>备注（退回时必填，会告诉申报单位缺什么）<br>\
<textarea name=\"note\" rows=\"2\" cols=\"60\">{}</textarea></label></p>\
<p><button type=\"submit\">保存审核结果</button></p></form></div>",
        esc(&r.note)
    );
    if app.late || app.late_excused.is_some() {
        b.push_str("<h2>逾期</h2>\n<div class=\"box\" id=\"late\">");
        match &app.late_excused {
            Some(e) => {
                let _ = write!(
                    b,
                    "<p class=\"ok\" id=\"late-state\">逾期，已准许：{}（{} 于 {}）</p>",
                    esc(&e.reason),
                    esc(&e.by),
                    esc(&fmt_minute(&e.at))
                );
                let _ = write!(
                    b,
                    "<form method=\"post\" action=\"/apps/{}/late\" class=\"unexcuse\">{csrf}\
<input type=\"hidden\" name=\"unexcuse\" value=\"1\">\
<button type=\"submit\">撤销准许</button></form>",
                    app.id
                );
            }
            None => {
                let _ = write!(
                    b,
                    "<p class=\"bad\" id=\"late-state\">截止时间后收到，尚未准许。</p>\
<form method=\"post\" action=\"/apps/{}/late\" class=\"excuse\">{csrf}\
<p><label>准许理由 <input name=\"reason\" size=\"50\" required \
placeholder=\"例如：23:58 发出，服务器 00:00:01 收到\"></label> \
<button type=\"submit\">准许逾期</button></p></form>",
                    app.id
                );
            }
        }
        b.push_str("</div>\n");
    }
    b
}

/// One application: summary, decisions, form fields, documents, scan preview, and the
/// audit entries about it.
pub fn app_page(dump: &Dump, id: i64, csrf: &str) -> Option<String> {
    let app = dump.applications.iter().find(|a| a.id == id)?;
    let idx = DocIndex::new(dump);
    let (received, sender) = idx.received_and_sender(app);
    let form_title = FormKey::parse(&app.form)
        .map(|f| f.title_zh())
        .unwrap_or(app.form.as_str());
    let mut b = String::new();
    let summary = vec![
        vec!["申报表".into(), esc(form_title)],
        vec!["状态".into(), esc(&zh(Code::Status(app.status)))],
        vec!["审核".into(), review_cell(app)],
        vec!["逾期".into(), late_cell(app)],
        vec!["收到时间".into(), esc(&fmt_minute(&received))],
        vec!["发件人".into(), mailto(&sender)],
        vec!["问题".into(), problems_html(&idx.all_problems(app))],
    ];
    b.push_str(&table(&["项目", "内容"], &summary));
    b.push_str(&decisions(app, csrf));
    let docs: Vec<(&DumpMessage, &DumpDocument)> = [app.electronic, app.scan]
        .into_iter()
        .flatten()
        .filter_map(|i| idx.get(i))
        .collect();
    if let Some((_, e)) = app.electronic.and_then(|i| idx.get(i)) {
        b.push_str("<h2>填报内容</h2>\n");
        b.push_str(&fields_table(e, &app.form));
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
    let target = format!("a{}", app.id);
    b.push_str(&super::audit::entries_about(dump, &[target.as_str()]));
    Some(page(&format!("申报 #{} {}", app.id, app.applicant), &b))
}

/// The fields of an electronic form in the order of its form's definition, then any
/// other key it carries (nothing parsed is hidden).
pub(super) fn fields_table(e: &DumpDocument, form: &str) -> String {
    let keys: Vec<&str> = FormKey::parse(form).map(form_keys).unwrap_or_default();
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
    table(&["栏目", "填写内容"], &rows)
}

/// Applications still waiting for a (stamped) scan, with addresses to chase. An
/// applicant whose scan may be among the unmatched ones is named, so nobody is chased
/// for a scan that arrived.
pub fn missing_scan(dump: &Dump, q: &ListQuery) -> String {
    let idx = DocIndex::new(dump);
    let mut apps: Vec<&DumpApplication> = dump
        .applications
        .iter()
        .filter(|a| a.status.needs_scan())
        .collect();
    let unmatched = super::scans::unmatched_scans(dump);
    // A sender who also sent a scan nobody has matched yet is probably not missing
    // one: that address is left out of the chasing list until the scan is looked at.
    let scan_senders: Vec<String> = unmatched
        .iter()
        .filter_map(|(m, _)| m.from.as_deref().map(str::to_lowercase))
        .collect();
    let mut b = String::from(
        "<p>以下申报已收到电子版，但缺少盖章扫描件或扫描件上未见公章，请联系补交。</p>\n",
    );
    if !unmatched.is_empty() {
        let _ = writeln!(
            b,
            "<p class=\"bad\">另有 <a href=\"/scans?state=unmatched\">{} 份扫描件尚未匹配</a>：\
催交前请先查看，其中可能有这些申报的扫描件。</p>",
            unmatched.len()
        );
    }
    let mut emails: Vec<String> = apps
        .iter()
        .map(|a| idx.received_and_sender(a).1)
        .filter(|e| !e.is_empty())
        .collect();
    b.push_str(&apps_table(&mut apps, &idx, q));
    emails.sort();
    emails.dedup();
    let (held, chase): (Vec<String>, Vec<String>) = emails
        .into_iter()
        .partition(|e| scan_senders.contains(&e.to_lowercase()));
    let _ = writeln!(
        b,
        "<h2>收件人地址（可复制到邮箱）</h2><textarea rows=\"4\" cols=\"80\" readonly>{}</textarea>",
        esc(&chase.join("; "))
    );
    if !held.is_empty() {
        let _ = writeln!(
            b,
            "<p id=\"held-back\">以下地址发来过尚未匹配的扫描件，未列入上面的催交名单，\
请先<a href=\"/scans?state=unmatched\">匹配扫描件</a>：{}</p>",
            esc(&held.join("; "))
        );
    }
    page("缺盖章扫描件", &b)
}

/// Late applications (each with its excuse, if any) and late mail.
pub fn late(dump: &Dump, q: &ListQuery) -> String {
    let idx = DocIndex::new(dump);
    let mut apps: Vec<&DumpApplication> = dump.applications.iter().filter(|a| a.late).collect();
    let open = apps.iter().filter(|a| a.late_excused.is_none()).count();
    let mut b = format!(
        "<h2>逾期申报（共 {} 项，未准许 {open} 项）</h2>\n<p>在申报页面可写明理由准许逾期；逾期标记保留。</p>\n",
        apps.len()
    );
    b.push_str(&apps_table(&mut apps, &idx, q));
    let msgs: Vec<&DumpMessage> = dump.messages.iter().filter(|m| m.late && live(m)).collect();
    let _ = writeln!(b, "<h2>逾期邮件（共 {} 封）</h2>", msgs.len());
    b.push_str(&table(&MSG_COLS.map(|(l, _)| l), &msg_rows(&msgs)));
    page("逾期", &b)
}
