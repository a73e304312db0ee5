//! 待处理: everything waiting for a person, each row with the one action that
//! resolves it — unmatched scans (匹配), documents not recognised as any form (查看),
//! scans whose seal is uncertain (查看扫描件), receipts held or failed (批准 / 重发),
//! questions (回复), late applications (准许), complete applications not yet reviewed
//! (审核). Every section is a [`Section`] (title, hint, rows, each row's [`Action`])
//! drawn by the one renderer, [`Section::html`].

use super::scans::{seal_uncertain, unmatched_scans};
use super::*;

/// Rows shown per section; the section's link leads to the whole (paged) list.
const SHOWN: usize = 20;

/// The columns of a row about a document (a scan, an unrecognised file).
const DOC_COLS: &[&str] = &["编号", "文件", "发件人", "收到时间"];
/// The columns of a row about an application.
const APP_COLS: &[&str] = &["编号", "申报表", "申报单位/姓名", "发件人", "收到时间"];

/// What a row's last cell offers: the one step that resolves it.
enum Action {
    /// A link to the page where the work is done.
    Open {
        href: String,
        label: &'static str,
        class: &'static str,
    },
    /// A button that posts at once (the session's CSRF field added when drawn).
    Post {
        path: String,
        label: &'static str,
        class: &'static str,
    },
    /// A late application excused: a reason to write, then the button.
    Excuse { app: i64 },
}

impl Action {
    fn html(&self, csrf: &str) -> String {
        match self {
            Action::Open { href, label, class } => {
                format!("<a class=\"{class}\" href=\"{}\">{label}</a>", esc(href))
            }
            Action::Post { path, label, class } => button(path, csrf, label, class),
            Action::Excuse { app } => format!(
                "<form class=\"inline excuse\" method=\"post\" action=\"/apps/{app}/late\">{csrf}\
<input name=\"reason\" size=\"24\" required placeholder=\"准许理由\"> \
<button type=\"submit\">准许逾期</button></form>"
            ),
        }
    }
}

/// One thing waiting: its cells (HTML, escaped already) and its action.
struct Row {
    cells: Vec<String>,
    action: Action,
}

/// One kind of work: a heading, what to do, the first [`SHOWN`] rows and a link to
/// all of them when there are more.
struct Section {
    id: &'static str,
    title: &'static str,
    hint: &'static str,
    /// The paged list with every item of this kind.
    all: &'static str,
    /// The columns before the action's.
    header: &'static [&'static str],
    rows: Vec<Row>,
    /// How many items wait, shown or not.
    total: usize,
}

impl Section {
    fn new<T>(
        id: &'static str,
        title: &'static str,
        hint: &'static str,
        all: &'static str,
        header: &'static [&'static str],
        items: &[T],
        row: impl Fn(&T) -> Row,
    ) -> Section {
        Section {
            id,
            title,
            hint,
            all,
            header,
            rows: items.iter().take(SHOWN).map(row).collect(),
            total: items.len(),
        }
    }

    /// The section as the page shows it; an empty one says there is nothing to do.
    fn html(&self, csrf: &str) -> String {
        let mut b = format!("<section id=\"{}\"><h2>{}</h2>\n", self.id, self.title);
        if self.rows.is_empty() {
            b.push_str("<p class=\"ok\">没有待处理的。</p></section>\n");
            return b;
        }
        let _ = writeln!(b, "<p>{}</p>", esc(self.hint));
        let mut header = self.header.to_vec();
        header.push("操作");
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = r.cells.clone();
                cells.push(r.action.html(csrf));
                cells
            })
            .collect();
        b.push_str(&table(&header, &rows));
        if self.total > SHOWN {
            let _ = writeln!(
                b,
                "<p><a href=\"{}\">全部 {} 项</a></p>",
                esc(self.all),
                self.total
            );
        }
        b.push_str("</section>\n");
        b
    }
}

fn unknown_docs(dump: &Dump) -> Vec<(&DumpMessage, &DumpDocument)> {
    dump.messages
        .iter()
        .filter(|m| live(m) && m.duplicate_of.is_none())
        .flat_map(|m| m.documents.iter().map(move |d| (m, d)))
        .filter(|(_, d)| unrecognised(d))
        .collect()
}

fn receipts_waiting(dump: &Dump) -> Vec<&DumpMessage> {
    dump.messages
        .iter()
        .filter(|m| {
            live(m)
                && matches!(
                    m.receipt.status,
                    ReceiptStatus::Held | ReceiptStatus::Failed
                )
        })
        .collect()
}

fn questions(dump: &Dump) -> Vec<&DumpMessage> {
    let mut q: Vec<&DumpMessage> = dump
        .messages
        .iter()
        .filter(|m| {
            live(m)
                && m.duplicate_of.is_none()
                && m.category == Some(crate::domain::Category::Question)
        })
        .collect();
    q.sort_by(|a, b| b.received_at.cmp(&a.received_at));
    q
}

fn late_open(dump: &Dump) -> Vec<&DumpApplication> {
    dump.applications
        .iter()
        .filter(|a| a.late && a.late_excused.is_none() && a.review.state == ReviewState::Pending)
        .collect()
}

fn to_review(dump: &Dump) -> Vec<&DumpApplication> {
    dump.applications
        .iter()
        .filter(|a| {
            a.status == AppStatus::Complete && a.review.state == ReviewState::Pending && !a.late
        })
        .collect()
}

/// How many things wait in the queue (the dashboard's card).
pub fn queue_count(dump: &Dump) -> usize {
    sections(dump).iter().map(|s| s.total).sum()
}

fn sender(m: &DumpMessage) -> String {
    esc(m.from.as_deref().unwrap_or(""))
}

fn message_link(m: &DumpMessage) -> String {
    format!("<a href=\"/messages/{0}\">#{0}</a>", m.id)
}

/// A document's row: number, file name, sender, when it came.
fn doc_row((m, d): &(&DumpMessage, &DumpDocument), action: Action) -> Row {
    Row {
        cells: vec![
            d.id.to_string(),
            esc(&d.name),
            sender(m),
            esc(&fmt_minute(&m.received_at)),
        ],
        action,
    }
}

fn open(href: String, label: &'static str, class: &'static str) -> Action {
    Action::Open { href, label, class }
}

fn sections(dump: &Dump) -> Vec<Section> {
    let idx = DocIndex::new(dump);
    let app_row = |a: &&DumpApplication, action: Action| {
        let (received, from) = idx.received_and_sender(a);
        Row {
            cells: vec![
                a.id.to_string(),
                esc(&zh(Code::Form(&a.form))),
                app_link(a),
                esc(&from),
                esc(&fmt_minute(&received)),
            ],
            action,
        }
    };
    vec![
        Section::new(
            "q-unmatched",
            "未匹配的扫描件",
            "扫描件未能自动对应到电子版：打开后对照电子版内容匹配。",
            "/scans?state=unmatched",
            DOC_COLS,
            &unmatched_scans(dump),
            |l| doc_row(l, open(format!("/scans/{}", l.1.id), "匹配", "act match")),
        ),
        Section::new(
            "q-unknown",
            "未识别为申报表的文件",
            "附件不是本次征集的申报表：查看邮件，是垃圾邮件就移除。",
            "/messages?unrecognised=1",
            DOC_COLS,
            &unknown_docs(dump),
            |l| doc_row(l, open(format!("/messages/{}", l.0.id), "查看邮件", "act")),
        ),
        Section::new(
            "q-seal",
            "无法判断是否盖章的扫描件",
            "黑白或传真扫描看不出红色公章：打开扫描件亲自看。",
            "/scans?state=seal_unknown",
            DOC_COLS,
            &seal_uncertain(dump),
            |l| doc_row(l, open(format!("/scans/{}", l.1.id), "查看扫描件", "act")),
        ),
        Section::new(
            "q-receipts",
            "待批准或发送失败的回执",
            "回执暂缓发送（待批准）或发送失败：批准或重发。",
            "/receipts",
            &["邮件", "收件人", "状态", "原因"],
            &receipts_waiting(dump),
            |m| Row {
                cells: vec![
                    message_link(m),
                    sender(m),
                    esc(&zh(Code::Receipt(m.receipt.status))),
                    esc(&zh(Code::ReceiptReason(
                        m.receipt.reason.as_deref().unwrap_or(""),
                    ))),
                ],
                action: if m.receipt.status == ReceiptStatus::Held {
                    Action::Post {
                        path: format!("/messages/{}/receipt/approve", m.id),
                        label: "批准发送",
                        class: "approve",
                    }
                } else {
                    Action::Post {
                        path: format!("/messages/{}/receipt/retry", m.id),
                        label: "重发回执",
                        class: "retry",
                    }
                },
            },
        ),
        Section::new(
            "q-questions",
            "咨询",
            "申报单位的提问：阅读后用邮箱回复。",
            "/messages?category=question",
            &["邮件", "发件人", "主题", "收到时间"],
            &questions(dump),
            |m| Row {
                cells: vec![
                    message_link(m),
                    sender(m),
                    esc(m.subject.as_deref().unwrap_or("")),
                    esc(&fmt_minute(&m.received_at)),
                ],
                action: open(format!("/messages/{}", m.id), "阅读并回复", "act"),
            },
        ),
        Section::new(
            "q-late",
            "逾期、尚未处理的申报",
            "截止时间后收到：有正当理由就写明理由准许，否则在申报页面退回。",
            "/late",
            APP_COLS,
            &late_open(dump),
            |a| app_row(a, Action::Excuse { app: a.id }),
        ),
        Section::new(
            "q-review",
            "材料齐全、待审核的申报",
            "电子版和盖章扫描件都已收到：审核后受理或退回。",
            "/apps?status=complete&review=pending",
            APP_COLS,
            &to_review(dump),
            |a| app_row(a, open(format!("/apps/{}#review", a.id), "审核", "act")),
        ),
    ]
}

/// `/queue`: one section per kind of work, the empty ones said to be done.
pub fn queue(dump: &Dump, csrf: &str) -> String {
    let secs = sections(dump);
    let total: usize = secs.iter().map(|s| s.total).sum();
    let mut b = format!("<p>共 <b id=\"queue-total\">{total}</b> 项待处理。</p>\n<ul>");
    for s in &secs {
        let _ = write!(b, "<li><a href=\"#{}\">{}</a></li>", s.id, s.title);
    }
    b.push_str("</ul>\n");
    for s in &secs {
        b.push_str(&s.html(csrf));
    }
    page("待处理", &b)
}
