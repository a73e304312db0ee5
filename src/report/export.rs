//! The office's summary sheets: an .xlsx workbook (one sheet per form, a summary and
//! the mail log) and the same rows as UTF-8 CSV files, plus the Chinese labels for
//! statuses, categories and problem codes that every operator view shares.

use crate::error::Error;
use crate::model::FormKind;
use crate::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthStr;

/// Application statuses in the order the office reads them.
pub const STATUSES: [&str; 5] = [
    "complete",
    "missing_scan",
    "missing_electronic",
    "unstamped_scan",
    "invalid",
];

/// Receipt statuses of the contract, in display order.
pub const RECEIPT_STATUSES: [&str; 5] = ["sent", "pending", "failed", "suppressed", "none"];

/// Chinese label of an application status; an unknown code is shown as it is.
pub fn status_zh(status: &str) -> &str {
    match status {
        "complete" => "齐全",
        "missing_scan" => "缺盖章扫描件",
        "missing_electronic" => "缺电子版",
        "unstamped_scan" => "扫描件未见公章",
        "invalid" => "内容有误",
        other => other,
    }
}

/// Chinese label of a mail category; `None` is mail still waiting to be processed.
pub fn category_zh(category: Option<&str>) -> &str {
    match category {
        None => "待处理",
        Some("submission") => "申报材料",
        Some("question") => "咨询",
        Some("autoreply") => "自动回复",
        Some("bounce") => "退信",
        Some("bulk") => "群发邮件",
        Some("spam") => "垃圾邮件",
        Some("other") => "其他",
        Some(other) => other,
    }
}

/// Chinese label of a receipt status.
pub fn receipt_zh(status: &str) -> &str {
    match status {
        "sent" => "已发送",
        "pending" => "待发送",
        "sending" => "发送中",
        "failed" => "发送失败",
        "suppressed" => "不发送",
        "none" => "无",
        other => other,
    }
}

/// Sheet (and CSV file) name of a form.
pub fn form_short_zh(form: FormKind) -> &'static str {
    match form {
        FormKind::Expert => "专家推荐",
        FormKind::Resource => "科普资源",
        FormKind::PilotDistrict => "试点县区",
        FormKind::PilotSchool => "试点学校",
    }
}

/// Short Chinese name of a form given by its machine name (unknown names as they are).
pub fn form_name_zh(form: &str) -> &str {
    FormKind::parse(form).map(form_short_zh).unwrap_or(form)
}

/// The canonical field keys of a form, in the order of `forms.md`.
pub fn form_keys(form: FormKind) -> &'static [&'static str] {
    match form {
        FormKind::Expert => &[
            "推荐单位",
            "填报时间",
            "姓名",
            "性别",
            "出生年月",
            "学历",
            "职务",
            "职称",
            "E-mail",
            "固定电话",
            "移动电话",
            "工作单位",
            "邮编",
            "研究专业",
            "提供服务方式",
            "个人简介及可提供服务内容说明",
            "推荐单位意见",
        ],
        FormKind::Resource => &[
            "申报单位名称",
            "申报联系人",
            "联系电话",
            "电子邮箱",
            "通讯地址",
            "科技教育资源类别",
            "2019-2021年青少年科技教育工作情况",
            "落实“科普赋能”助推“双减”专项行动活动策划",
        ],
        FormKind::PilotDistrict => &[
            "申报单位",
            "通讯地址",
            "联系人",
            "电话",
            "邮箱",
            "基本情况",
            "申报单位意见",
            "备注",
        ],
        FormKind::PilotSchool => &[
            "申报学校",
            "通讯地址",
            "联系人",
            "电话",
            "邮箱",
            "学校基本情况",
            "申报单位意见",
            "教育局意见",
            "备注",
        ],
    }
}

/// Chinese wording of a problem code (`kind` or `kind:detail…`). Unknown codes are
/// returned unchanged so nothing recorded is ever hidden from the office.
pub fn problem_zh(code: &str) -> String {
    let (kind, detail) = match code.split_once(':') {
        Some((k, d)) => (k, Some(d)),
        None => (code, None),
    };
    match (kind, detail) {
        ("missing_field", Some(k)) => format!("必填项为空：{k}"),
        ("over_limit", Some(k)) => format!("超过1000字：{k}"),
        ("bad_format", Some(k)) => format!("格式有误：{k}"),
        ("cloud_attachment", Some(d)) => match split_cloud(d) {
            (name, Some(date)) => format!("超大附件需在{date}前下载：{name}"),
            (name, None) => format!("超大附件需在网页邮箱中下载：{name}"),
        },
        ("cloud_attachment", None) => "含超大附件，需在网页邮箱中下载".into(),
        ("missing_scan", _) => "缺盖章扫描件".into(),
        ("unstamped_scan", _) => "扫描件未见公章".into(),
        ("missing_electronic", _) => "缺电子版".into(),
        ("late", _) => "逾期（截止时间后收到）".into(),
        ("corrupt_attachment", _) => "附件已损坏，无法打开".into(),
        ("encrypted_attachment", _) => "附件有密码，无法打开".into(),
        ("needs_conversion", _) => "需转换格式后才能读取".into(),
        ("unsupported_archive", _) => "不支持的压缩包格式".into(),
        ("zip_bomb", _) => "压缩包解压后过大，已拒绝".into(),
        ("unsafe_name", _) => "附件文件名不安全，已改名".into(),
        ("over_size", _) => "附件超过大小上限".into(),
        ("received_time_estimated", _) => "收到时间为估计值".into(),
        ("processing_failed", _) => "自动处理失败，需人工查看".into(),
        ("unknown_form", _) => "未识别为申报表".into(),
        ("seal_unknown", _) => "无法判断是否盖章（黑白或传真扫描）".into(),
        ("duplicate", _) => "重复提交".into(),
        ("superseded", _) => "已被新版本替代".into(),
        ("no_attachment", _) => "邮件无附件".into(),
        _ => code.to_string(),
    }
}

/// A problem as the office reads it in sheets: Chinese words with the code kept in
/// parentheses, so a question about a row can be traced to the record.
pub fn problem_cell(code: &str) -> String {
    let zh = problem_zh(code);
    if zh == code {
        zh
    } else {
        format!("{zh}（{code}）")
    }
}

/// Splits the detail of `cloud_attachment:<name>:<date>` into name and date. The date
/// may itself contain `:` (a time), so it is found as the last `:` followed by a year.
pub fn split_cloud(detail: &str) -> (&str, Option<&str>) {
    let bytes = detail.as_bytes();
    let mut found = None;
    for (i, _) in detail.match_indices(':') {
        let rest = &bytes[i + 1..];
        if rest.len() >= 5 && rest[..4].iter().all(u8::is_ascii_digit) && rest[4] == b'-' {
            found = Some(i);
        }
    }
    match found.or_else(|| detail.rfind(':')) {
        Some(i) => (&detail[..i], Some(&detail[i + 1..])),
        None => (detail, None),
    }
}

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
pub fn form_table(dump: &Dump, form: FormKind) -> Table {
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
        for key in keys {
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
    for form in FormKind::ALL {
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

/// Display width of a cell as a spreadsheet column needs it: the widest line, CJK
/// characters counting two.
pub fn text_width(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// Excel's cell limit, in UTF-16 units.
const EXCEL_MAX_CELL: usize = 32_767;
const CUT_MARK: &str = "…（超长，已截断）";

/// `s` cut to fit one Excel cell; an applicant's oversized text must not make the
/// whole export fail.
pub fn excel_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.encode_utf16().count() <= EXCEL_MAX_CELL {
        return std::borrow::Cow::Borrowed(s);
    }
    let budget = EXCEL_MAX_CELL - CUT_MARK.encode_utf16().count();
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push_str(CUT_MARK);
    std::borrow::Cow::Owned(out)
}

fn xlsx_err(path: &Path, e: XlsxError) -> Error {
    Error::Other(format!("写入 Excel 文件失败 {}: {e}", path.display()))
}

/// Writes a header plus rows as a filtered table with a frozen, bold header and column
/// widths that fit the text (capped so long narratives wrap instead).
fn write_sheet(
    ws: &mut Worksheet,
    header: &[String],
    rows: &[Vec<String>],
    numeric_first: bool,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v.parse::<i64>() {
                Ok(n) if c == 0 && numeric_first => {
                    ws.write_number(r, c, n as f64)?;
                }
                _ if v.contains('\n') => {
                    ws.write_string_with_format(r, c, excel_text(v), &wrap)?;
                }
                _ => {
                    ws.write_string(r, c, excel_text(v))?;
                }
            }
        }
    }
    set_widths(ws, header, rows)?;
    if !header.is_empty() {
        ws.set_freeze_panes(1, 0)?;
        ws.autofilter(0, 0, rows.len() as u32, (header.len() - 1) as u16)?;
    }
    Ok(())
}

fn set_widths(
    ws: &mut Worksheet,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(), XlsxError> {
    let ncols = rows
        .iter()
        .map(Vec::len)
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    for c in 0..ncols {
        let widest = header
            .get(c)
            .into_iter()
            .chain(rows.iter().filter_map(|r| r.get(c)))
            .map(|s| text_width(s))
            .max()
            .unwrap_or(0);
        // +2 leaves room for the autofilter arrow in the header.
        let width = (widest + 2).clamp(6, 60);
        ws.set_column_width(c as u16, width as f64)?;
    }
    Ok(())
}

/// The office workbook: 汇总, one sheet per form, 邮件.
fn build_workbook(dump: &Dump) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("汇总")?;
        let rows = summary_table(dump);
        let (head, body) = rows
            .split_first()
            .map(|(h, b)| (h.clone(), b.to_vec()))
            .unwrap_or_default();
        let bold = Format::new().set_bold();
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in body.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = ((r + 1) as u32, c as u16);
                match v.parse::<f64>() {
                    Ok(n) if c > 0 => ws.write_number(r, c, n)?,
                    _ => ws.write_string(r, c, excel_text(v))?,
                };
            }
        }
        set_widths(ws, &head, &body)?;
        ws.set_freeze_panes(1, 0)?;
    }
    for form in FormKind::ALL {
        let (header, rows) = form_table(dump, form);
        let ws = wb.add_worksheet();
        ws.set_name(form_short_zh(form))?;
        write_sheet(ws, &header, &rows, true)?;
    }
    {
        let (header, rows) = messages_table(dump);
        let ws = wb.add_worksheet();
        ws.set_name("邮件")?;
        write_sheet(ws, &header, &rows, true)?;
    }
    Ok(wb)
}

/// Writes the office workbook to `path`.
pub fn write_xlsx(dump: &Dump, path: &Path) -> Result<(), Error> {
    build_workbook(dump)
        .and_then(|mut wb| wb.save(path))
        .map_err(|e| xlsx_err(path, e))
}

/// The office workbook as bytes (the web page's download).
pub fn xlsx_bytes(dump: &Dump) -> Result<Vec<u8>, Error> {
    build_workbook(dump)
        .and_then(|mut wb| wb.save_to_buffer())
        .map_err(|e| {
            Error::Other(format!(
                "生成 Excel 文件失败 / building the workbook failed: {e}"
            ))
        })
}

/// One CSV field, quoted per RFC 4180 when it holds a separator, quote or line break.
/// A leading `= + - @` (a formula to Excel) is defused with an apostrophe, since the
/// text comes from applicants.
pub fn csv_field(v: &str) -> String {
    let mut v = std::borrow::Cow::Borrowed(v);
    if v.len() > 1 && v.starts_with(['=', '+', '-', '@']) {
        v = std::borrow::Cow::Owned(format!("'{v}"));
    }
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.into_owned()
    }
}

/// A whole CSV document: UTF-8 with a byte-order mark (so Excel reads Chinese), CRLF
/// line ends.
pub fn csv_text(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("\u{feff}");
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let line: Vec<String> = row.iter().map(|v| csv_field(v)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Writes `<表名>.csv` for each form and `邮件.csv` into `dir` (created when missing);
/// returns the files written.
pub fn write_csv(dump: &Dump, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tables: Vec<(String, Table)> = FormKind::ALL
        .iter()
        .map(|f| (form_short_zh(*f).to_string(), form_table(dump, *f)))
        .collect();
    tables.push(("邮件".into(), messages_table(dump)));
    let mut written = Vec::new();
    for (name, (header, rows)) in tables {
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, csv_text(&header, &rows)).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_codes_read_in_chinese() {
        assert_eq!(problem_zh("missing_field:姓名"), "必填项为空：姓名");
        assert_eq!(
            problem_zh("cloud_attachment:申报表.zip:2022-08-01T10:00:00+08:00"),
            "超大附件需在2022-08-01T10:00:00+08:00前下载：申报表.zip"
        );
        assert_eq!(problem_cell("late"), "逾期（截止时间后收到）（late）");
        assert_eq!(problem_cell("something_new"), "something_new");
    }

    #[test]
    fn csv_quoting_follows_rfc4180() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("他说\"好\""), "\"他说\"\"好\"\"\"");
        assert_eq!(csv_field("一\n二"), "\"一\n二\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-"), "-");
        assert_eq!(csv_field("唐山"), "唐山");
    }

    #[test]
    fn oversized_cells_are_cut_to_excels_limit() {
        let long = "𠀀字".repeat(20_000); // astral characters take two UTF-16 units
        let cut = excel_text(&long);
        assert!(cut.ends_with(CUT_MARK));
        assert!(cut.encode_utf16().count() <= EXCEL_MAX_CELL);
        assert!(cut.encode_utf16().count() > EXCEL_MAX_CELL - 20);
        assert_eq!(excel_text("短"), "短");
    }

    #[test]
    fn cjk_counts_double() {
        assert_eq!(text_width("唐山ab"), 6);
        assert_eq!(text_width("短\n长一些"), 6);
    }
}
