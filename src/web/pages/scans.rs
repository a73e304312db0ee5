//! Scans: the list (unmatched, seal uncertain, all) and the matching page, where the
//! scan's picture stands beside the fields of an electronic form and one click matches
//! them (or says the scan matches nothing, or hands it back to automatic matching).

use super::*;

/// Where a document is: its message and itself.
type Located<'d> = (&'d DumpMessage, &'d DumpDocument);

fn counted(m: &DumpMessage) -> bool {
    live(m) && m.duplicate_of.is_none()
}

/// Whether the office's last word on scan `id` was "matches nothing" (it then leaves
/// the queue although `scan_of` stays empty).
fn declared_unmatched(dump: &Dump, id: i64) -> bool {
    let target = format!("d{id}");
    dump.audit
        .iter()
        .rev()
        .find(|e| e.action == AuditAction::Match && e.target == target)
        .is_some_and(|e| e.detail.ends_with("不匹配任何电子版"))
}

/// Scans matched to no electronic version, that nobody has declared unmatched.
pub(super) fn unmatched_scans(dump: &Dump) -> Vec<Located<'_>> {
    current_scans(dump)
        .filter(|(_, d)| d.scan_of.is_none() && !declared_unmatched(dump, d.id))
        .collect()
}

/// The scans of counted messages that no later document superseded.
fn current_scans(dump: &Dump) -> impl Iterator<Item = Located<'_>> {
    dump.messages
        .iter()
        .filter(|m| counted(m))
        .flat_map(|m| m.documents.iter().map(move |d| (m, d)))
        .filter(|(_, d)| d.kind == DocKind::Scan && d.superseded_by.is_none())
}

/// Scans whose seal could not be judged (black-and-white or fax scans).
pub(super) fn seal_uncertain(dump: &Dump) -> Vec<Located<'_>> {
    current_scans(dump)
        .filter(|(_, d)| {
            d.stamped.is_none()
                || d.problems
                    .iter()
                    .any(|p| problem::is(p, ProblemKind::SealUnknown))
        })
        .collect()
}

fn scan_rows(dump: &Dump, scans: &[Located<'_>]) -> Vec<Vec<String>> {
    scans
        .iter()
        .map(|(m, d)| {
            let matched = d.scan_of.map_or_else(
                || "<span class=\"bad\">未匹配</span>".to_string(),
                |e| {
                    dump.applications
                        .iter()
                        .find(|a| a.electronic == Some(e))
                        .map_or_else(|| format!("电子版 #{e}"), app_link)
                },
            );
            let stamped = match d.stamped {
                Some(true) => "<span class=\"ok\">已盖章</span>",
                Some(false) => "<span class=\"bad\">未见公章</span>",
                None => "无法判断",
            };
            vec![
                d.id.to_string(),
                format!("<a href=\"/scans/{}\">{}</a>", d.id, esc(&d.name)),
                esc(m.from.as_deref().unwrap_or("")),
                esc(&fmt_minute(&m.received_at)),
                stamped.to_string(),
                matched,
                format!("<a class=\"match\" href=\"/scans/{}\">匹配</a>", d.id),
            ]
        })
        .collect()
}

const COLS: [(&str, Option<&str>); 7] = [
    ("编号", Some("id")),
    ("文件", Some("name")),
    ("发件人", Some("from")),
    ("收到时间", Some("received")),
    ("公章", Some("stamped")),
    ("对应申报", None),
    ("操作", None),
];

type Cmp = fn(&Located<'_>, &Located<'_>) -> Ordering;

const SORTS: [(&str, Cmp); 5] = [
    ("id", |a, b| a.1.id.cmp(&b.1.id)),
    ("name", |a, b| a.1.name.cmp(&b.1.name)),
    ("from", |a, b| a.0.from.cmp(&b.0.from)),
    ("received", |a, b| a.0.received_at.cmp(&b.0.received_at)),
    ("stamped", |a, b| a.1.stamped.cmp(&b.1.stamped)),
];

/// One page of scans as a table.
pub(super) fn scans_table(dump: &Dump, scans: &mut [Located<'_>], q: &ListQuery) -> String {
    q.sort(scans, &SORTS);
    let mut b = q.pager(scans.len(), "份");
    b.push_str(&table_html(
        &q.header(&COLS),
        &scan_rows(dump, q.slice(scans)),
    ));
    b
}

/// `/scans?state=unmatched|seal_unknown` (default: every scan).
pub fn scans(dump: &Dump, state: Option<&str>, q: &ListQuery) -> String {
    let (title, mut list) = match state {
        Some("unmatched") => ("未匹配的扫描件", unmatched_scans(dump)),
        Some("seal_unknown") => ("无法判断公章的扫描件", seal_uncertain(dump)),
        _ => (
            "全部扫描件",
            dump.messages
                .iter()
                .filter(|m| counted(m))
                .flat_map(|m| m.documents.iter().map(move |d| (m, d)))
                .filter(|(_, d)| d.kind == DocKind::Scan && d.superseded_by.is_none())
                .collect(),
        ),
    };
    let mut b = String::from(
        "<p><a href=\"/scans?state=unmatched\">未匹配</a> · \
<a href=\"/scans?state=seal_unknown\">无法判断公章</a> · <a href=\"/scans\">全部</a></p>\n",
    );
    b.push_str(&scans_table(dump, &mut list, q));
    page(title, &b)
}

fn domain(addr: Option<&str>) -> &str {
    addr.and_then(|a| a.rsplit_once('@')).map_or("", |(_, d)| d)
}

/// `/scans/{id}`: the scan's picture beside the fields of electronic form `shown`
/// (the current match, else the most likely candidate), and the candidates.
pub fn match_page(dump: &Dump, id: i64, shown: Option<i64>, csrf: &str) -> Option<String> {
    let (sm, scan) = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter().map(move |d| (m, d)))
        .find(|(_, d)| d.id == id && d.kind == DocKind::Scan)?;
    let app_of = |e: i64| dump.applications.iter().find(|a| a.electronic == Some(e));
    let sender = sm.from.as_deref();
    // Candidates: the scan's sender first, then its domain, then forms still without a
    // scan; newest first within each.
    let mut cands: Vec<Located<'_>> = dump
        .messages
        .iter()
        .filter(|m| counted(m))
        .flat_map(|m| m.documents.iter().map(move |d| (m, d)))
        .filter(|(_, d)| {
            d.kind == DocKind::Electronic && d.form.is_some() && d.superseded_by.is_none()
        })
        .collect();
    let rank = |(m, d): &Located<'_>| {
        (
            m.from.as_deref() != sender,
            domain(m.from.as_deref()) != domain(sender) || domain(sender).is_empty(),
            app_of(d.id).is_some_and(|a| a.scan.is_some()),
            std::cmp::Reverse(d.id),
        )
    };
    cands.sort_by_key(rank);
    let shown = shown
        .or(scan.scan_of)
        .or_else(|| cands.first().map(|(_, d)| d.id));
    let mut b = String::new();
    let current = match scan.scan_of {
        Some(e) => format!(
            "已匹配到电子版 #{e}{}",
            app_of(e).map_or(String::new(), |a| format!("（{}）", app_link(a)))
        ),
        None if declared_unmatched(dump, id) => "已标记为不匹配任何电子版".into(),
        None => "<span class=\"bad\">尚未匹配</span>".into(),
    };
    let _ = writeln!(
        b,
        "<p id=\"match-state\">当前：{current}　来自 <a href=\"/messages/{}\">邮件 #{}</a> {}，{}</p>",
        sm.id,
        sm.id,
        esc(sender.unwrap_or("")),
        esc(&fmt_minute(&sm.received_at))
    );
    let back = format!("/scans/{id}");
    let choice = |value: &str, label: &str, class: &str| {
        format!(
            "<form class=\"inline {class}\" method=\"post\" action=\"/match\">{csrf}\
<input type=\"hidden\" name=\"scan\" value=\"{id}\"><input type=\"hidden\" name=\"electronic\" value=\"{}\">\
<input type=\"hidden\" name=\"back\" value=\"{}\"><button type=\"submit\">{}</button></form>",
            esc(value),
            esc(&back),
            esc(label)
        )
    };
    b.push_str("<div class=\"side\"><div>\n<h2>扫描件</h2>");
    let _ = write!(
        b,
        "<p><a href=\"/doc/{}\">{}</a>（{}）</p>",
        scan.id,
        esc(&scan.name),
        esc(&size_zh(scan.size))
    );
    if previewable(scan) {
        b.push_str(&preview_img(scan));
    } else {
        b.push_str("<p>此格式无法预览，请下载查看。</p>");
    }
    b.push_str("</div><div>\n");
    match shown.and_then(|e| cands.iter().find(|(_, d)| d.id == e)) {
        Some((em, e)) => {
            let _ = writeln!(
                b,
                "<h2>电子版 #{} {}</h2><p>{} · 来自 <a href=\"/messages/{}\">邮件 #{}</a> {}</p>",
                e.id,
                esc(&e.name),
                esc(&zh(Code::Form(e.form.as_deref().unwrap_or("")))),
                em.id,
                em.id,
                esc(em.from.as_deref().unwrap_or(""))
            );
            if scan.scan_of != Some(e.id) {
                b.push_str(&choice(&e.id.to_string(), "匹配到此电子版", "match-this"));
            }
            b.push_str(&super::apps::fields_table(
                e,
                e.form.as_deref().unwrap_or(""),
            ));
        }
        None => b.push_str("<h2>电子版</h2><p>还没有可匹配的电子版申报表。</p>"),
    }
    b.push_str("</div></div>\n<h2>其他操作</h2><p>");
    b.push_str(&choice("none", "不匹配任何电子版", "match-none"));
    b.push(' ');
    b.push_str(&choice("auto", "交回自动匹配", "match-auto"));
    b.push_str("</p>\n<h2>候选电子版</h2>\n");
    let rows: Vec<Vec<String>> = cands
        .iter()
        .take(50)
        .map(|(m, d)| {
            let a = app_of(d.id);
            vec![
                d.id.to_string(),
                esc(&zh(Code::Form(d.form.as_deref().unwrap_or("")))),
                a.map_or_else(|| esc(&d.name), app_link),
                esc(m.from.as_deref().unwrap_or("")),
                esc(&fmt_minute(&m.received_at)),
                a.map_or(String::new(), |a| esc(&zh(Code::Status(a.status)))),
                format!(
                    "<a class=\"show\" href=\"/scans/{id}?e={}\">对照查看</a> {}",
                    d.id,
                    if scan.scan_of == Some(d.id) {
                        "（当前）".to_string()
                    } else {
                        choice(&d.id.to_string(), "匹配", "match-row")
                    }
                ),
            ]
        })
        .collect();
    b.push_str(&table(
        &[
            "编号",
            "申报表",
            "申报单位/姓名",
            "发件人",
            "收到时间",
            "状态",
            "操作",
        ],
        &rows,
    ));
    if cands.len() > rows.len() {
        let _ = writeln!(
            b,
            "<p>只列出最可能的 {} 个（共 {} 个）。</p>",
            rows.len(),
            cands.len()
        );
    }
    b.push_str(&super::audit::entries_about(
        dump,
        &[format!("d{id}").as_str()],
    ));
    Some(page(&format!("匹配扫描件 #{id}"), &b))
}
