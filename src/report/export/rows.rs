//! The rows of the office's sheets, built from a [`Dump`]: one table per form, the mail
//! log and the summary. The xlsx and CSV writers and the web page share them.

use super::labels::{category_zh, form_keys, problem_cell, receipt_zh, status_zh, STATUSES};
use crate::model::FormKey;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use std::collections::HashMap;

/// Documents by id with the message that carried them.
pub struct DocIndex<'a> {
    docs: HashMap<i64, (&'a DumpMessage, &'a DumpDocument)>,
}

impl<'a> DocIndex<'a> {
    pub fn new(dump: &'a Dump) -> DocIndex<'a> {
        let docs = dump
            .messages
            .iter()
            .flat_map(|m| m.documents.iter().map(move |d| (d.id, (m, d))))
            .collect();
        DocIndex { docs }
    }
    pub fn get(&self, id: i64) -> Option<(&'a DumpMessage, &'a DumpDocument)> {
        self.docs.get(&id).copied()
    }
    /// The electronic document of an application, else its scan.
    pub fn primary(&self, app: &DumpApplication) -> Option<(&'a DumpMessage, &'a DumpDocument)> {
        app.electronic
            .and_then(|id| self.get(id))
            .or_else(|| app.scan.and_then(|id| self.get(id)))
    }
    /// The application's own problems, then its documents', each once.
    pub fn all_problems(&self, app: &DumpApplication) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let docs = [app.electronic, app.scan]
            .into_iter()
            .flatten()
            .filter_map(|id| self.get(id));
        let doc_problems = docs.flat_map(|(_, d)| d.problems.iter());
        for p in app.problems.iter().chain(doc_problems) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
    /// When the application arrived and from whom.
    pub fn received_and_sender(&self, app: &DumpApplication) -> (String, String) {
        let msg = self.primary(app).map(|(m, _)| m);
        let received = app
            .received_at
            .clone()
            .or_else(|| msg.map(|m| m.received_at.clone()))
            .unwrap_or_default();
        let sender = app
            .email
            .clone()
            .or_else(|| msg.and_then(|m| m.from.clone()))
            .unwrap_or_default();
        (received, sender)
    }
}

/// A sheet's header and rows of text cells.
pub type Table = (Vec<String>, Vec<Vec<String>>);

/// Header and rows of one form's sheet.
pub fn form_table(dump: &Dump, form: FormKey) -> Table {
    let keys = form_keys(form);
    let mut header: Vec<String> = [
        "编号",
        "申报单位/姓名",
        "状态",
        "逾期",
        "收到时间",
        "发件人",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(keys.iter().map(|k| k.to_string()));
    header.push("问题".into());
    header.push("文件".into());

    let idx = DocIndex::new(dump);
    let mut rows = Vec::new();
    for app in dump.applications.iter().filter(|a| a.form == form.as_str()) {
        let (received, sender) = idx.received_and_sender(app);
        let mut row = vec![
            app.id.to_string(),
            app.applicant.clone(),
            status_zh(&app.status).to_string(),
            yes_no(app.late).to_string(),
            received,
            sender,
        ];
        let electronic = app.electronic.and_then(|id| idx.get(id)).map(|(_, d)| d);
        for key in &keys {
            let value = electronic
                .and_then(|d| d.fields.get(*key))
                .map(|v| v.display())
                .unwrap_or_default();
            row.push(value);
        }
        let problems: Vec<String> = idx
            .all_problems(app)
            .iter()
            .map(|p| problem_cell(p))
            .collect();
        row.push(problems.join("；"));
        let files: Vec<String> = [app.electronic, app.scan]
            .into_iter()
            .flatten()
            .filter_map(|id| idx.get(id))
            .map(|(_, d)| d.name.clone())
            .collect();
        row.push(files.join("；"));
        rows.push(row);
    }
    (header, rows)
}

/// Header and rows of the mail log.
pub fn messages_table(dump: &Dump) -> Table {
    let header = [
        "编号",
        "收到时间",
        "发件人",
        "主题",
        "类别",
        "回执",
        "逾期",
        "附件",
        "问题",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = dump
        .messages
        .iter()
        .map(|m| {
            let mut receipt = receipt_zh(&m.receipt.status).to_string();
            if let Some(r) = m.receipt.reason.as_deref().filter(|r| !r.is_empty()) {
                receipt.push_str(&format!("（{r}）"));
            }
            let problems: Vec<String> = m.problems.iter().map(|p| problem_cell(p)).collect();
            let names: Vec<&str> = m.documents.iter().map(|d| d.name.as_str()).collect();
            vec![
                m.id.to_string(),
                m.received_at.clone(),
                m.from.clone().unwrap_or_default(),
                m.subject.clone().unwrap_or_default(),
                category_zh(m.category.as_deref()).to_string(),
                receipt,
                yes_no(m.late).to_string(),
                names.join("；"),
                problems.join("；"),
            ]
        })
        .collect();
    (header, rows)
}

/// Rows of the summary: form × status counts with totals and late counts, then mail
/// by category.
pub fn summary_table(dump: &Dump) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut head = vec!["申报表".to_string()];
    head.extend(STATUSES.iter().map(|s| status_zh(s).to_string()));
    head.push("合计".into());
    head.push("逾期".into());
    rows.push(head);
    let mut totals = vec![0usize; STATUSES.len() + 2];
    for form in FormKey::all() {
        let apps: Vec<&DumpApplication> = dump
            .applications
            .iter()
            .filter(|a| a.form == form.as_str())
            .collect();
        let mut counts: Vec<usize> = STATUSES
            .iter()
            .map(|s| apps.iter().filter(|a| a.status == *s).count())
            .collect();
        counts.push(apps.len());
        counts.push(apps.iter().filter(|a| a.late).count());
        for (t, c) in totals.iter_mut().zip(&counts) {
            *t += c;
        }
        let mut row = vec![form.title_zh().to_string()];
        row.extend(counts.iter().map(|c| c.to_string()));
        rows.push(row);
    }
    let mut total_row = vec!["合计".to_string()];
    total_row.extend(totals.iter().map(|c| c.to_string()));
    rows.push(total_row);
    rows.push(Vec::new());
    rows.push(vec!["邮件类别".into(), "数量".into()]);
    for (label, n) in category_counts(dump) {
        rows.push(vec![label.to_string(), n.to_string()]);
    }
    rows.push(vec!["邮件合计".into(), dump.messages.len().to_string()]);
    rows.push(vec![
        "逾期邮件".into(),
        dump.messages.iter().filter(|m| m.late).count().to_string(),
    ]);
    rows
}

/// Messages by category (contract categories first, then pending and anything else),
/// keyed by the machine name (`None` = pending).
pub fn category_counts_raw(dump: &Dump) -> Vec<(Option<String>, usize)> {
    let mut order: Vec<Option<String>> = crate::model::Category::ALL
        .iter()
        .map(|c| Some(c.as_str().to_string()))
        .collect();
    order.push(None);
    for m in &dump.messages {
        if !order.contains(&m.category) {
            order.push(m.category.clone());
        }
    }
    order
        .into_iter()
        .map(|c| {
            let n = dump.messages.iter().filter(|m| m.category == c).count();
            (c, n)
        })
        .collect()
}

fn category_counts(dump: &Dump) -> Vec<(String, usize)> {
    category_counts_raw(dump)
        .into_iter()
        .map(|(c, n)| (category_zh(c.as_deref()).to_string(), n))
        .collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        "否"
    }
}
