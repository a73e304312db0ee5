//! Named problems: a code (`ProblemKind`) and an optional detail, written `kind` or
//! `kind:detail` (`over_limit:FIELD`, `duplicate_of:12`). Each kind's Chinese label
//! and operator hint are defined here, once; the CLI, the page, the sheets and the
//! receipts all read them from here. The parsers of the pure core (`extract/`,
//! `forms/`) still write the code text; [`Problem::parse`] reads it back.

use std::fmt;

crate::domain_codes! {
    /// What is wrong, without its detail.
    pub enum ProblemKind {
        MissingField = "missing_field", "必填项为空", "请申报单位补填后重新发送电子版";
        OverLimit = "over_limit", "超过字数限制", "请申报单位删减后重新发送电子版";
        BadFormat = "bad_format", "格式有误", "请核对该项（邮箱、电话、邮编）";
        CloudAttachment = "cloud_attachment", "含超大附件，需在网页邮箱中下载", "在网页邮箱中下载后用 import --into 导入";
        MissingScan = "missing_scan", "缺盖章扫描件", "等待或提醒申报单位发送盖章扫描件";
        UnstampedScan = "unstamped_scan", "扫描件未见公章", "查看扫描件；确未盖章则请申报单位重新盖章扫描";
        MissingElectronic = "missing_electronic", "缺电子版", "等待或提醒申报单位发送电子版";
        Late = "late", "逾期（截止时间后收到）", "由办公室决定是否接受（late --excuse）";
        CorruptAttachment = "corrupt_attachment", "附件已损坏，无法打开", "请申报单位重新发送该附件";
        EncryptedAttachment = "encrypted_attachment", "附件有密码，无法打开", "请申报单位发送无密码的文件";
        NeedsConversion = "needs_conversion", "需转换格式后才能读取", "安装 LibreOffice 后运行 reprocess";
        UnsupportedFormat = "unsupported_format", "不支持的文件格式", "请申报单位另存为 docx 或 pdf 后重发";
        UnsupportedArchive = "unsupported_archive", "不支持的压缩包格式", "手工解压后用 import --into 导入";
        UnsupportedCompression = "unsupported_compression", "压缩包使用了不支持的压缩方式", "手工解压后用 import --into 导入";
        ZipBomb = "zip_bomb", "压缩包解压后过大，已拒绝", "请申报单位直接发送附件";
        TooManyEntries = "too_many_entries", "压缩包内文件过多，已拒绝", "请申报单位直接发送附件";
        TooManyParts = "too_many_parts", "邮件分段过多，只读取了一部分", "在网页邮箱中查看原邮件";
        TooDeep = "too_deep", "嵌套过深（转发或压缩包套压缩包），未再展开", "在网页邮箱中查看原邮件";
        MalformedMime = "malformed_mime", "邮件格式不规范", "在网页邮箱中核对原邮件";
        HugeHeaders = "huge_headers", "邮件头过大", "在网页邮箱中核对原邮件";
        SubjectUndecodable = "subject_undecodable", "邮件主题无法解码", "在网页邮箱中核对原邮件";
        UnsafeName = "unsafe_name", "附件文件名不安全，已改名";
        NameUndecodable = "name_undecodable", "附件文件名无法解码", "按格式和内容核对附件";
        EmptyAttachment = "empty_attachment", "附件为空（0 字节）", "请申报单位重新发送该附件";
        FormatMismatch = "format_mismatch", "文件扩展名与实际格式不符", "按实际格式打开核对";
        UnparseableMessage = "unparseable_message", "邮件无法解析", "在网页邮箱中查看原邮件";
        OverSize = "over_size", "附件超过大小上限", "请申报单位压缩后重发";
        ParserPanic = "parser_panic", "附件解析出错，需人工查看", "打开附件人工核对";
        ReceivedTimeEstimated = "received_time_estimated", "收到时间为估计值", "核对邮件的实际收到时间";
        ProcessingFailed = "processing_failed", "自动处理失败，需人工查看", "查看日志后运行 reprocess";
        UnknownForm = "unknown_form", "未识别为申报表", "打开附件人工核对";
        SealUnknown = "seal_unknown", "无法判断是否盖章（黑白或传真扫描）", "打开扫描件人工核对公章";
        OcrUnavailable = "ocr_unavailable", "未做文字识别（未安装 Tesseract）", "安装 tesseract-ocr 后运行 reprocess --all";
        OcrFailed = "ocr_failed", "文字识别失败", "查看日志后运行 reprocess";
        ScanUnreadable = "scan_unreadable", "扫描件无法读取", "请申报单位重新扫描发送";
        TooManyPages = "too_many_pages", "扫描件页数过多，只检查了前几页", "打开扫描件人工核对";
        SealUncertain = "seal_uncertain", "公章无法自动确认", "请打开扫描件人工查看是否盖章；确认前不要通知申报单位补章";
        MislabelledScan = "mislabelled_scan", "扫描件文件名与内容不符", "已按扫描件内容归属；请核对文件名所写单位是否另有申报";
        ForeignSeal = "foreign_seal", "公章为其他单位", "请核对公章单位与申报单位是否一致，不一致时请申报单位重新盖章";
        /// A scan PDF page larger than A0 on a side: not rendered. Detail: page and size.
        PageTooLarge = "page_too_large", "扫描件页面尺寸异常（大于 A0），未处理", "请申报单位按 A4 纸重新扫描后发送；如确需查看，可下载原文件人工核对";
        Duplicate = "duplicate", "重复提交";
        DuplicateOf = "duplicate_of", "重复收到的邮件";
        Superseded = "superseded", "已被新版本替代";
        NoAttachment = "no_attachment", "邮件无附件";
        DecryptedWithPassword = "decrypted_with_password", "附件有密码，已用邮件中给出的密码打开", "无需处理；如内容不对，请向申报单位核实密码";
        NoticeTemplate = "notice_template", "通知或空白申报表，不是申报材料", "无需处理；如确为申报，请联系发件人重新发送填好的表";
        SpamRule = "spam_rule", "垃圾邮件或钓鱼邮件（按规则判定），不回执", "核对规则说明；误判时可按普通邮件处理";
    }
}

impl ProblemKind {
    /// Field-level problems: they make an electronic form `invalid`.
    pub fn is_field_problem(self) -> bool {
        matches!(
            self,
            ProblemKind::MissingField | ProblemKind::BadFormat | ProblemKind::OverLimit
        )
    }

    /// The attachment itself could not be read (the sender must send it again). An
    /// archive member kept out by the bomb cap or cut at a volume boundary has no
    /// bytes to read either: it is not parsed as an empty file.
    pub fn is_unreadable_attachment(self) -> bool {
        matches!(
            self,
            ProblemKind::EncryptedAttachment
                | ProblemKind::CorruptAttachment
                | ProblemKind::OverSize
                | ProblemKind::ZipBomb
                | ProblemKind::UnsupportedArchive
        )
    }

    /// A problem of this kind with a detail (`kind:detail`), as recorded.
    pub fn with(self, detail: impl fmt::Display) -> String {
        format!("{}:{detail}", self.as_str())
    }
}

/// A parsed problem: its kind and what follows the first `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem<'a> {
    pub kind: ProblemKind,
    pub detail: Option<&'a str>,
}

impl<'a> Problem<'a> {
    /// Reads a recorded code; `None` for a code this build does not know.
    pub fn parse(code: &'a str) -> Option<Problem<'a>> {
        let (kind, detail) = match code.split_once(':') {
            Some((k, d)) => (k, Some(d)),
            None => (code, None),
        };
        Some(Problem {
            kind: ProblemKind::parse(kind)?,
            detail,
        })
    }

    /// The Chinese wording with its detail.
    pub fn label_zh(&self) -> String {
        match (self.kind, self.detail) {
            (ProblemKind::CloudAttachment, Some(d)) => match split_cloud(d) {
                (name, Some(date)) => format!("超大附件需在{date}前下载：{name}"),
                (name, None) => format!("超大附件需在网页邮箱中下载：{name}"),
            },
            (ProblemKind::DuplicateOf, Some(d)) => format!("与邮件 #{d} 重复"),
            (
                ProblemKind::MissingField | ProblemKind::OverLimit | ProblemKind::BadFormat,
                Some(d),
            ) => format!("{}：{d}", self.kind.label_zh()),
            _ => self.kind.label_zh().to_string(),
        }
    }
}

/// True when the recorded code is of the given kind (with or without a detail).
pub fn is(code: &str, kind: ProblemKind) -> bool {
    Problem::parse(code).is_some_and(|p| p.kind == kind)
}

/// Chinese wording of a recorded code. Unknown codes are returned unchanged so nothing
/// recorded is ever hidden from the office.
pub fn label_zh(code: &str) -> String {
    Problem::parse(code).map_or_else(|| code.to_string(), |p| p.label_zh())
}

/// What an operator should do about a recorded code, if anything is known.
pub fn hint_zh(code: &str) -> Option<&'static str> {
    Problem::parse(code).and_then(|p| p.kind.hint_zh())
}

/// A problem as the office reads it in sheets and tables: Chinese words with the code
/// kept in parentheses, so a question about a row can be traced to the record.
pub fn cell(code: &str) -> String {
    let zh = label_zh(code);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_label_and_round_trips() {
        for k in ProblemKind::ALL {
            assert!(!k.label_zh().is_empty(), "{k} has no label");
            assert_ne!(k.label_zh(), k.as_str(), "{k}'s label is its code");
            assert_eq!(ProblemKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn details_are_kept_and_read_in_chinese() {
        assert_eq!(label_zh("missing_field:姓名"), "必填项为空：姓名");
        assert_eq!(
            label_zh("cloud_attachment:申报表.zip:2022-08-01T10:00:00+08:00"),
            "超大附件需在2022-08-01T10:00:00+08:00前下载：申报表.zip"
        );
        assert_eq!(cell("late"), "逾期（截止时间后收到）（late）");
        assert_eq!(cell("something_new"), "something_new");
        assert!(is("over_limit:备注", ProblemKind::OverLimit));
        assert!(!is("over_limited", ProblemKind::OverLimit));
        assert_eq!(ProblemKind::DuplicateOf.with(12), "duplicate_of:12");
    }

    /// Every problem code written anywhere in `src/` (a string literal passed to one of
    /// the ways problems are recorded) must be a known kind, so it has a label and a
    /// hint. Fails when a new code is added without its line in `ProblemKind`.
    #[test]
    fn every_code_written_in_src_has_a_label() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for code in written_codes(&text) {
                        found.push((p.display().to_string(), code));
                    }
                }
            }
        }
        assert!(found.len() > 20, "the scan found too few codes: {found:?}");
        let unknown: Vec<_> = found
            .iter()
            .filter(|(_, c)| ProblemKind::parse(c).is_none())
            .collect();
        assert!(
            unknown.is_empty(),
            "problem codes without a label: {unknown:?}"
        );
    }

    /// The code literals after the recording calls: `problem("…`, `doc_problem(idx, "…`,
    /// `Failed("…`, `problems.push("…`, `format!("…:` in a problem position.
    fn written_codes(text: &str) -> Vec<String> {
        const CALLS: [&str; 6] = [
            "problem(\"",
            "doc_problem(idx, \"",
            "Failed(\"",
            "problems.push(\"",
            "problems: vec![\"",
            "push_unique(&mut problems, \"",
        ];
        // Test modules hold other things in the same shapes (`AuthVerdict::Failed("spf=…")`).
        let text = text.split("#[cfg(test)]").next().unwrap_or(text);
        let mut out = Vec::new();
        for call in CALLS {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                let code: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !code.is_empty() {
                    out.push(code);
                }
            }
        }
        out
    }
}
