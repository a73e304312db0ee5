//! 待处理: everything waiting for a person, each row with the one action that
//! resolves it — unmatched scans (匹配), documents not recognised as any form (查看),
//! scans whose seal is uncertain (查看扫描件), receipts held or failed (批准 / 重发),
//! questions (回复), late applications (准许), complete applications not yet reviewed
//! (审核).

use super::scans::{seal_uncertain, unmatched_scans};
use super::*;

/// Rows shown per section; the section's link leads to the whole (paged) list.
const SHOWN: usize = 20;

struct Section {
    id: &'static str,
    title: &'static str,
    hint: &'static str,
    all: Option<String>,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
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
    unmatched_scans(dump).len()
        + unknown_docs(dump).len()
        + seal_uncertain(dump).len()
        + receipts_waiting(dump).len()
        + questions(dump).len()
        + late_open(dump).len()
        + to_review(dump).len()
}

fn sender(m: &DumpMessage) -> String {
    esc(m.from.as_deref().unwrap_or(""))
}

fn sections(dump: &Dump, csrf: &str) -> Vec<Section> {
    let idx = DocIndex::new(dump);
    let scan_row = |(m, d): &(&DumpMessage, &DumpDocument)| {
        vec![
            d.id.to_string(),
            esc(&d.name),
            sender(m),
            esc(&fmt_minute(&m.received_at)),
            format!("<a class=\"act match\" href=\"/scans/{}\">匹配</a>", d.id),
        ]
    };
    let unmatched = unmatched_scans(dump);
    let seal = seal_uncertain(dump);
    let unknown = unknown_docs(dump);
    let receipts = receipts_waiting(dump);
    let asks = questions(dump);
    let late = late_open(dump);
    let review = to_review(dump);
    let app_row = |a: &&DumpApplication, action: String| {
        let (received, from) = idx.received_and_sender(a);
        vec![
            a.id.to_string(),
            esc(&zh(Code::Form(&a.form))),
            app_link(a),
            esc(&from),
            esc(&fmt_minute(&received)),
            action,
        ]
    };
    vec![
        Section {
            id: "q-unmatched",
            title: "未匹配的扫描件",
            hint: "扫描件未能自动对应到电子版：打开后对照电子版内容匹配。",
            all: Some("/scans?state=unmatched".into()),
            header: vec!["编号", "文件", "发件人", "收到时间", "操作"],
            rows: unmatched.iter().take(SHOWN).map(scan_row).collect(),
        },
        Section {
            id: "q-unknown",
            title: "未识别为申报表的文件",
            hint: "附件不是本次征集的申报表：查看邮件，是垃圾邮件就移除。",
            all: Some("/messages?unrecognised=1".into()),
            header: vec!["编号", "文件", "发件人", "收到时间", "操作"],
            rows: unknown
                .iter()
                .take(SHOWN)
                .map(|(m, d)| {
                    vec![
                        d.id.to_string(),
                        esc(&d.name),
                        sender(m),
                        esc(&fmt_minute(&m.received_at)),
                        format!("<a class=\"act\" href=\"/messages/{}\">查看邮件</a>", m.id),
                    ]
                })
                .collect(),
        },
        Section {
            id: "q-seal",
            title: "无法判断是否盖章的扫描件",
            hint: "黑白或传真扫描看不出红色公章：打开扫描件亲自看。",
            all: Some("/scans?state=seal_unknown".into()),
            header: vec!["编号", "文件", "发件人", "收到时间", "操作"],
            rows: seal
                .iter()
                .take(SHOWN)
                .map(|l| {
                    let mut r = scan_row(l);
                    r[4] = format!("<a class=\"act\" href=\"/scans/{}\">查看扫描件</a>", l.1.id);
                    r
                })
                .collect(),
        },
        Section {
            id: "q-receipts",
            title: "待批准或发送失败的回执",
            hint: "回执暂缓发送（待批准）或发送失败：批准或重发。",
            all: Some("/receipts".into()),
            header: vec!["邮件", "收件人", "状态", "原因", "操作"],
            rows: receipts
                .iter()
                .take(SHOWN)
                .map(|m| {
                    let action = if m.receipt.status == ReceiptStatus::Held {
                        button(
                            &format!("/messages/{}/receipt/approve", m.id),
                            csrf,
                            "批准发送",
                            "approve",
                        )
                    } else {
                        button(
                            &format!("/messages/{}/receipt/retry", m.id),
                            csrf,
                            "重发回执",
                            "retry",
                        )
                    };
                    vec![
                        format!("<a href=\"/messages/{0}\">#{0}</a>", m.id),
                        sender(m),
                        esc(&zh(Code::Receipt(m.receipt.status))),
                        esc(&zh(Code::ReceiptReason(
                            m.receipt.reason.as_deref().unwrap_or(""),
                        ))),
                        action,
                    ]
                })
                .collect(),
        },
        Section {
            id: "q-questions",
            title: "咨询",
            hint: "申报单位的提问：阅读后用邮箱回复。",
            all: Some("/messages?category=question".into()),
            header: vec!["邮件", "发件人", "主题", "收到时间", "操作"],
            rows: asks
                .iter()
                .take(SHOWN)
                .map(|m| {
                    vec![
                        format!("<a href=\"/messages/{0}\">#{0}</a>", m.id),
                        sender(m),
                        esc(m.subject.as_deref().unwrap_or("")),
                        esc(&fmt_minute(&m.received_at)),
                        format!("<a class=\"act\" href=\"/messages/{}\">阅读并回复</a>", m.id),
                    ]
                })
                .collect(),
        },
        Section {
            id: "q-late",
            title: "逾期、尚未处理的申报",
            hint: "截止时间后收到：有正当理由就写明理由准许，否则在申报页面退回。",
            all: Some("/late".into()),
            header: vec!["编号", "申报表", "申报单位/姓名", "发件人", "收到时间", "操作"],
            rows: late
                .iter()
                .take(SHOWN)
                .map(|a| {
                    let form = format!(
                        "<form class=\"inline excuse\" method=\"post\" action=\"/apps/{}/late\">{csrf}\
<input name=\"reason\" size=\"24\" required placeholder=\"准许理由\"> \
<button type=\"submit\">准许逾期</button></form>",
                        a.id
                    );
                    app_row(a, form)
                })
                .collect(),
        },
        Section {
            id: "q-review",
            title: "材料齐全、待审核的申报",
            hint: "电子版和盖章扫描件都已收到：审核后受理或退回。",
            all: Some("/apps?status=complete&review=pending".into()),
            header: vec!["编号", "申报表", "申报单位/姓名", "发件人", "收到时间", "操作"],
            rows: review
                .iter()
                .take(SHOWN)
                .map(|a| app_row(a, format!("<a class=\"act\" href=\"/apps/{}#review\">审核</a>", a.id)))
                .collect(),
        },
    ]
    .into_iter()
    .zip([
        unmatched.len(),
        unknown.len(),
        seal.len(),
        receipts.len(),
        asks.len(),
        late.len(),
        review.len(),
    ])
    .map(|(mut s, n)| {
        if n <= SHOWN {
            s.all = None;
        } else if let Some(all) = &s.all {
            s.all = Some(format!(
                "<a href=\"{}\">全部 {n} 项</a>",
                esc(all)
            ));
        }
        s
    })
    .collect()
}

/// `/queue`: one section per kind of work, the empty ones said to be done.
pub fn queue(dump: &Dump, csrf: &str) -> String {
    let secs = sections(dump, csrf);
    let total: usize = queue_count(dump);
    let mut b = format!("<p>共 <b id=\"queue-total\">{total}</b> 项待处理。</p>\n<ul>");
    for s in &secs {
        let _ = write!(b, "<li><a href=\"#{}\">{}</a></li>", s.id, s.title);
    }
    b.push_str("</ul>\n");
    for s in secs {
        let _ = writeln!(b, "<section id=\"{}\"><h2>{}</h2>", s.id, s.title);
        if s.rows.is_empty() {
            b.push_str("<p class=\"ok\">没有待处理的。</p></section>\n");
            continue;
        }
        let _ = writeln!(b, "<p>{}</p>", esc(s.hint));
        b.push_str(&table(&s.header, &s.rows));
        if let Some(all) = s.all {
            let _ = writeln!(b, "<p>{all}</p>");
        }
        b.push_str("</section>\n");
    }
    page("待处理", &b)
}
