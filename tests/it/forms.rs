//! Form stage end to end: every golden fixture in `fixtures/forms/` read through the
//! isolated path (`isolate::read_electronic`, converting .doc and PDF with LibreOffice
//! and poppler) and compared field by field with `<case>.expected.json`; hostile
//! documents (byte-flipped, oversized, malformed, hanging or crashing parser) end as
//! `FormError::Corrupt` within the timeout.

use kepu_intake::forms::{self, FormError, ParsedForm};
use kepu_intake::isolate::{self, IsolateOptions};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn opts() -> IsolateOptions {
    IsolateOptions::new(PathBuf::from(env!("CARGO_BIN_EXE_kepu-parse-doc")))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms")
}

fn as_json(p: &ParsedForm) -> Value {
    json!({
        "form": p.form.map(|f| f.as_str()),
        "fields": p.fields,
        "problems": p.problems,
    })
}

/// The golden form documents of `fixtures/forms` (each beside its `.expected.json`),
/// sorted by name.
pub fn golden_form_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            matches!(
                ext,
                "docx" | "xlsx" | "xlsb" | "xls" | "ods" | "doc" | "pdf"
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn golden_forms_every_field() {
    let dir = fixtures();
    let bless = std::env::var("KEPU_BLESS").is_ok_and(|v| v == "1");
    let cases = golden_form_files();
    let mut ran = 0;
    let mut failures = Vec::new();
    for doc in cases {
        let case = doc.file_stem().unwrap().to_str().unwrap().to_string();
        let expected_path = dir.join(format!("{case}.expected.json"));
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            continue;
        };
        let expected: Value = serde_json::from_str(&expected).unwrap();
        let format = doc.extension().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&doc).unwrap();
        ran += 1;
        let actual = match isolate::read_electronic(&opts(), format, &bytes) {
            Ok(p) => as_json(&p),
            Err(e) => json!({ "error": e.to_string() }),
        };
        let actual_path = dir.join(format!("{case}.actual.json"));
        if actual == expected {
            let _ = std::fs::remove_file(&actual_path);
            continue;
        }
        let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        if bless {
            std::fs::write(&expected_path, pretty).unwrap();
            continue;
        }
        std::fs::write(&actual_path, pretty).unwrap();
        let mut diff = format!("{case}.{format}:");
        for key in ["form", "problems", "error"] {
            if actual.get(key) != expected.get(key) {
                diff += &format!(
                    "\n  {key}: expected {:?} got {:?}",
                    expected.get(key),
                    actual.get(key)
                );
            }
        }
        if let (Some(a), Some(e)) = (actual["fields"].as_object(), expected["fields"].as_object()) {
            for (k, ev) in e {
                if a.get(k) != Some(ev) {
                    diff += &format!("\n  field {k}: expected {ev} got {:?}", a.get(k));
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                diff += &format!("\n  unexpected field {k}");
            }
        }
        failures.push(diff);
    }
    assert!(ran >= 17, "only {ran} golden cases ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A docx whose document.xml is `xml` (plus the minimal parts Word needs).
pub fn docx_with(xml: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        z.start_file("[Content_Types].xml", o).unwrap();
        z.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
        z.start_file("word/document.xml", o).unwrap();
        z.write_all(xml).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

pub const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

#[test]
fn byte_flipped_docx_is_corrupt_not_a_crash() {
    let good = std::fs::read(fixtures().join("expert_pydocx.docx")).unwrap();
    let name = b"word/document.xml";
    // The local header of document.xml: its compressed data follows the name.
    let at = good.windows(name.len()).position(|w| w == name).unwrap() + name.len();
    let mut docx_rs_panics = 0;
    for k in 0..8 {
        let mut bad = good.clone();
        let i = at + 40 + k * 97;
        bad[i] ^= 0xFF;
        let started = Instant::now();
        let r = isolate::read_electronic(&opts(), "docx", &bad);
        match r {
            Err(FormError::Corrupt(msg)) => assert!(msg.contains("document.xml"), "{msg}"),
            other => panic!("flip at {i}: expected Corrupt, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        if std::panic::catch_unwind(|| docx_rs::read_docx(&bad)).is_err() {
            docx_rs_panics += 1;
        }
    }
    eprintln!("docx-rs panicked on {docx_rs_panics} of 8 of these files");
}

#[test]
fn oversized_and_malformed_xml_are_corrupt() {
    // 70 MB of XML compresses to a few hundred KB: refused before any parse.
    let mut big = format!("<w:document {W}><w:body><w:p><w:r><w:t>").into_bytes();
    big.resize(big.len() + (70 << 20), b'a');
    let started = Instant::now();
    let r = isolate::read_electronic(&opts(), "docx", &docx_with(&big));
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("too large")),
        "{r:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // Mismatched and unclosed tags.
    for xml in [
        format!("<w:document {W}><w:body><w:tbl><w:tr><w:tc></w:tr></w:tbl></w:body></w:document>"),
        format!("<w:document {W}><w:body><w:p><w:r><w:t>姓名"),
        format!("<w:document {W}><w:body><w:p><w:r><w:t>&bogus;</w:t></w:r></w:p></w:body></w:document>"),
    ] {
        let r = isolate::read_electronic(&opts(), "docx", &docx_with(xml.as_bytes()));
        assert!(matches!(&r, Err(FormError::Corrupt(m)) if m.contains("document.xml")), "{r:?}");
    }
}

/// A stand-in parser binary (shell script) that misbehaves.
fn fake_exe(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn hanging_crashing_or_ballooning_parser_is_corrupt_within_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = std::fs::read(fixtures().join("district_pydocx.docx")).unwrap();
    let mut o = opts();
    o.timeout = Duration::from_millis(800);

    o.exe = fake_exe(tmp.path(), "hang", "exec sleep 30");
    let started = Instant::now();
    let r = isolate::read_electronic(&o, "docx", &doc);
    let took = started.elapsed();
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("timed out")),
        "{r:?}"
    );
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );

    o.exe = fake_exe(tmp.path(), "segv", "cat >/dev/null; kill -SEGV $$");
    let r = isolate::read_electronic(&o, "docx", &doc);
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("crashed")),
        "{r:?}"
    );

    o.exe = fake_exe(tmp.path(), "garbage", "cat >/dev/null; echo '{\"Ok\": 42'");
    let r = isolate::read_electronic(&o, "docx", &doc);
    assert!(
        matches!(&r, Err(FormError::Corrupt(m)) if m.contains("crashed")),
        "{r:?}"
    );

    // The real parser under a 12 MB address-space cap, fed a 6 MB document.xml: it
    // cannot hold the XML and its model, and dies instead of taking the machine.
    let mut xml = format!("<w:document {W}><w:body>").into_bytes();
    xml.extend_from_slice(
        "<w:p><w:r><w:t>科技教育专家服务团成员推荐表</w:t></w:r></w:p>".as_bytes(),
    );
    let para = "<w:p><w:r><w:t>科技教育专家服务团</w:t></w:r></w:p>".as_bytes();
    while xml.len() < (6 << 20) {
        xml.extend_from_slice(para);
    }
    xml.extend_from_slice(b"</w:body></w:document>");
    let mut o = opts();
    o.memory_mb = 12;
    let r = isolate::read_electronic(&o, "docx", &docx_with(&xml));
    assert!(matches!(&r, Err(FormError::Corrupt(_))), "{r:?}");
    // The same document parses with the default cap.
    let mut o = opts();
    o.timeout = Duration::from_secs(120);
    let started = Instant::now();
    let r = isolate::read_electronic(&o, "docx", &docx_with(&xml)).unwrap();
    eprintln!("6 MB document.xml parsed in {:?}", started.elapsed());
    assert_eq!(
        r.form,
        Some(kepu_intake::model::FormKey::parse("expert").unwrap())
    );
}

#[test]
fn content_control_state_beats_its_glyph_and_legacy_form_fields_count() {
    // A content control whose glyph was never updated (☐) but whose state is checked,
    // and a legacy FORMCHECKBOX ticked through w:checked.
    let w14 = r#"xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml""#;
    let cc = |on: u8, glyph: &str| {
        format!(
            r#"<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val="{on}"/></w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>"#
        )
    };
    let legacy = |on: bool| {
        format!(
            r#"<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/><w:default w:val="0"/>{}</w:checkBox></w:ffData></w:fldChar></w:r><w:r><w:instrText> FORMCHECKBOX </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>"#,
            if on { "<w:checked/>" } else { "" }
        )
    };
    let cell = |s: &str| format!("<w:tc><w:p>{s}</w:p></w:tc>");
    let t = |s: &str| format!("<w:r><w:t>{s}</w:t></w:r>");
    let xml = format!(
        "<w:document {W} {w14}><w:body><w:p>{}</w:p><w:tbl><w:tr>{}{}</w:tr><w:tr>{}{}</w:tr></w:tbl></w:body></w:document>",
        t("科普资源申报推荐表"),
        cell(&t("申报单位名称")),
        cell(&t("唐山市科技馆")),
        cell(&t("科技教育资源类别")),
        cell(&format!(
            "{}{}{}{}{}{}",
            cc(1, "☐") + &t("科普讲座"),
            cc(0, "☐") + &t("科学实践课程"),
            legacy(true) + &t("科普展示"),
            legacy(false) + &t("科学表演"),
            cc(0, "☐") + &t("线上视频资源"),
            cc(1, "☒") + &t("科普资源包"),
        )),
    );
    let p = forms::parse_electronic(
        kepu_intake::call::Call::builtin(),
        "docx",
        &docx_with(xml.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        p.fields["科技教育资源类别"],
        kepu_intake::model::FieldValue::Choices(vec![
            "科普讲座".into(),
            "科普展示".into(),
            "科普资源包".into()
        ])
    );
    assert_eq!(p.fields["申报单位名称"].display(), "唐山市科技馆");
    assert_eq!(
        forms::applicant(p.form.unwrap().def().unwrap(), &p.fields).as_deref(),
        Some("唐山市科技馆")
    );
}

#[test]
fn doc_without_libreoffice_needs_conversion() {
    let doc = std::fs::read(fixtures().join("district_word97.doc")).unwrap();
    let mut o = opts();
    o.tools.soffice = "/nonexistent/soffice".into();
    match isolate::read_electronic(&o, "doc", &doc) {
        Err(FormError::NeedsConversion(m)) => {
            assert!(m.contains("libreoffice-writer-nogui"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // A .doc named .docx: told apart from a corrupt zip, and converted like a .doc.
    assert!(matches!(
        forms::parse_electronic(kepu_intake::call::Call::builtin(), "docx", &doc),
        Err(FormError::NeedsConversion(_))
    ));
    let p = isolate::read_electronic(&opts(), "docx", &doc).unwrap();
    assert_eq!(p.fields["申报单位"].display(), "唐山市丰南区教育局");
}

#[test]
fn text_pdf_and_scan_pdf_are_told_apart() {
    let pdf = std::fs::read(fixtures().join("school_printed.pdf")).unwrap();
    let text = kepu_intake::convert::pdf_text(&pdf).expect("text layer");
    assert!(text.contains("试点学校申报表"));
    // An image-only PDF (one 1×1 image, no text operators).
    let scan = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    assert_eq!(kepu_intake::convert::pdf_text(scan), None);
}

#[test]
fn expert_pdf_fields_including_vertically_centred_labels() {
    // A PDF printed from Word: pdftotext keeps one-line cells and the checkbox line;
    // labels centred vertically in tall cells (推荐单位 / 意见, 个人简介… / 内容说明)
    // come out split around their value's lines and are rejoined.
    let pdf = std::fs::read(fixtures().join("expert_printed.pdf")).unwrap();
    let p = isolate::read_electronic(&opts(), "pdf", &pdf).unwrap();
    assert_eq!(
        p.form,
        Some(kepu_intake::model::FormKey::parse("expert").unwrap())
    );
    let get = |k: &str| p.fields[k].display();
    assert_eq!(get("推荐单位"), "唐山市路北区科学技术协会");
    assert_eq!(get("填报时间"), "2022年7月15日");
    assert_eq!(get("姓名"), "张伟");
    assert_eq!(get("性别"), "男");
    assert_eq!(get("出生年月"), "1978.05");
    assert_eq!(get("职称"), "教授");
    assert_eq!(get("E-mail"), "zhangwei@ncst.edu.cn");
    assert_eq!(get("移动电话"), "13831512345");
    assert_eq!(get("工作单位"), "华北理工大学");
    assert_eq!(get("邮编"), "063210");
    assert_eq!(get("研究专业"), "材料科学与工程");
    assert_eq!(get("提供服务方式"), "科普报告、科学秀");
    assert_eq!(get("推荐单位意见"), "同意推荐。");
    assert_eq!(
        get("个人简介及可提供服务内容说明"),
        "长期从事新材料研究，主讲“身边的新材料”系列科普报告。\n可进校开展科学秀表演，每学期4次。"
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}
