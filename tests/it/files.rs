//! Issue 21, files applicants really send: Office packages found by their
//! relationships (not part names), the spreadsheet formats calamine reads, `import`
//! refusing what is not mail and `import --into` taking downloaded files for a message.
//! Fixtures are made by `fixtures/gen/make_files.py`.

use kepu_intake::extract::sniff;
use std::path::{Path, PathBuf};

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms")
}

fn files_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/files")
            .join(name),
    )
    .unwrap()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(forms_dir().join(name)).unwrap()
}

#[test]
fn office_packages_are_sniffed_by_relationships_not_part_names() {
    // Word Online: main part word/document2.xml.
    assert_eq!(sniff(&read("expert_wordonline.docx"), "表.docx"), "docx");
    // The same package under a .zip name is still the Word document it is.
    assert_eq!(
        sniff(&read("expert_wordonline.docx"), "download.zip"),
        "docx"
    );
    // Backslash entry names.
    assert_eq!(sniff(&read("resource_backslash.xlsx"), "表.xlsx"), "xlsx");
    // A macro-enabled workbook is read as a workbook.
    assert_eq!(sniff(&read("resource_macro.xlsx"), "表.xlsm"), "xlsx");
    assert_eq!(sniff(&read("resource_calc.ods"), "表.ods"), "ods");
    // A plain zip stays a zip.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("a.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut w, b"x").unwrap();
    let plain = w.finish().unwrap().into_inner();
    assert_eq!(sniff(&plain, "a.zip"), "zip");
}

use crate::support::{mail, Intake};

/// The 超大附件 workflow: a mail announces a cloud attachment; the operator downloads
/// the form and takes it in for that message. Plain `import` refuses the download
/// (it is not mail) before recording anything; `import --into` files it under the
/// message, which becomes a submission with the form read; `reprocess` reads it again.
#[test]
fn import_into_takes_a_downloaded_form_for_its_message() {
    let it = Intake::new(None);
    let eml = it.dir().join("cloud.eml");
    std::fs::write(
        &eml,
        mail(
            "<cloud-1@test>",
            "专家推荐表（超大附件）",
            "Mon, 18 Jul 2022 10:00:00 +0800",
            "推荐表太大，用超大附件发送，请下载。",
        ),
    )
    .unwrap();
    it.run_ok(&["import", eml.to_str().unwrap()]);
    let msgs = it.messages();
    assert_eq!(msgs.len(), 1);
    let mid = msgs[0]["id"].as_i64().unwrap();

    // The download, a .docx and a .zip, refused by plain import: nothing recorded.
    let form = it.dir().join("专家推荐表.docx");
    std::fs::copy(forms_dir().join("expert_wordonline.docx"), &form).unwrap();
    let zip = it.dir().join("超大附件.zip");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("专家推荐表.docx", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut w, &read("expert_wordonline.docx")).unwrap();
    std::fs::write(&zip, w.finish().unwrap().into_inner()).unwrap();
    for p in [&form, &zip] {
        let (st, _, err) = it.run(&["import", p.to_str().unwrap()]);
        assert!(!st.success());
        assert!(err.contains("不是邮件") && err.contains("--into"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(it.messages().len(), 1);

    let out = it.run_ok(&[
        "import",
        "--into",
        &format!("m{mid}"),
        form.to_str().unwrap(),
    ]);
    assert!(out.contains("专家推荐表.docx"), "{out}");
    let check = |when: &str| {
        let m = it.messages().into_iter().next().unwrap();
        assert_eq!(m["category"], "submission", "{when}: {m:#}");
        let d = m["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "专家推荐表.docx")
            .unwrap_or_else(|| panic!("{when}: no document: {m:#}"))
            .clone();
        assert_eq!(d["format"], "docx", "{when}");
        assert_eq!(d["form"], "expert", "{when}");
        assert_eq!(d["fields"]["姓名"], "张伟", "{when}");
    };
    check("after import --into");
    // The same file again is not a second document.
    it.run_ok(&["import", "--into", &mid.to_string(), form.to_str().unwrap()]);
    it.run_ok(&["reprocess", "--all"]);
    check("after reprocess");
    let m = it.messages().into_iter().next().unwrap();
    assert_eq!(m["documents"].as_array().unwrap().len(), 1, "{m:#}");

    // An unknown message is refused.
    let (st, _, err) = it.run(&["import", "--into", "m999", form.to_str().unwrap()]);
    assert!(!st.success() && err.contains("999"), "{err}");
}

/// Maildir++ subfolders (`.申报`) are read; sent/trash folders are named as skipped.
#[test]
fn maildir_plus_plus_subfolders_are_read_and_named() {
    let it = Intake::new(None);
    let md = it.dir().join("Maildir");
    for (folder, id) in [("", "top"), (".Forms", "sub"), (".Sent", "sent")] {
        let dir = md.join(folder).join("cur");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(md.join(folder).join("new")).unwrap();
        std::fs::write(
            dir.join(format!("1658110000.{id}.host:2,S")),
            mail(
                &format!("<{id}@test>"),
                "申报",
                "Mon, 18 Jul 2022 10:00:00 +0800",
                "正文",
            ),
        )
        .unwrap();
    }
    let out = it.run_ok(&["import", md.to_str().unwrap()]);
    assert!(out.contains(".Forms") && out.contains(".Sent"), "{out}");
    let ids = crate::support::message_ids(&it.messages());
    assert_eq!(ids, ["sub@test", "top@test"]);
}

fn mail_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail/files")
}

/// Imports the named cases of `fixtures/mail/files/` and returns their messages by
/// Message-ID (`<case@files.test>`).
fn import_cases(
    it: &Intake,
    cases: &[&str],
) -> std::collections::HashMap<String, serde_json::Value> {
    let dir = it.dir().join("cases");
    std::fs::create_dir_all(&dir).unwrap();
    for c in cases {
        std::fs::copy(
            mail_dir().join(format!("{c}.eml")),
            dir.join(format!("{c}.eml")),
        )
        .unwrap();
    }
    it.run_ok(&["import", dir.to_str().unwrap()]);
    it.messages()
        .into_iter()
        .map(|m| {
            let id = m["message_id"].as_str().unwrap().to_string();
            let case = id
                .trim_matches(['<', '>'])
                .trim_end_matches("@files.test")
                .to_string();
            (case, m)
        })
        .collect()
}

fn doc<'v>(m: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
    m["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no document {name}: {m:#}"))
}

fn problems(v: &serde_json::Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// A 7z made by p7zip is opened in the parser worker: the form inside is read, the
/// scan inside is a scan; a 7z bomb (80 MB of zeros in 17 KB) stops at the ratio cap.
#[test]
fn sevenz_members_are_read_and_the_bomb_is_stopped() {
    let it = Intake::new(None);
    let m = import_cases(&it, &["sevenz_form_and_scan", "sevenz_bomb"]);
    let ok = &m["sevenz_form_and_scan"];
    let archive = doc(ok, "申报材料.7z");
    assert_eq!(archive["kind"], "archive");
    assert!(problems(archive).is_empty(), "{archive:#}");
    let form = doc(ok, "专家推荐表.docx");
    assert_eq!(form["container"], archive["id"]);
    assert_eq!(form["form"], "expert");
    assert_eq!(form["fields"]["姓名"], "张伟");
    let scan = doc(ok, "盖章扫描件.png");
    assert_eq!(scan["container"], archive["id"]);
    assert_eq!(ok["category"], "submission");

    let bomb = &m["sevenz_bomb"];
    let archive = doc(bomb, "材料.7z");
    assert!(
        problems(archive).contains(&"zip_bomb".to_string()),
        "{archive:#}"
    );
    let zeros = doc(bomb, "zeros.bin");
    assert_eq!(problems(zeros), ["zip_bomb"]);
}

/// A .docx encrypted by msoffcrypto-tool (agile, as Word writes it) is opened with the
/// password in the mail body and records that it was; a wrong password leaves it
/// `encrypted_attachment`. An encrypted .xlsx opens with the password in the subject.
#[test]
fn encrypted_docx_opens_with_the_password_in_the_mail() {
    let it = Intake::new(None);
    let m = import_cases(
        &it,
        &[
            "encrypted_docx_password_in_body",
            "encrypted_docx_wrong_password",
            "encrypted_xlsx_password_in_subject",
        ],
    );
    let sheet = doc(
        &m["encrypted_xlsx_password_in_subject"],
        "科普资源申报推荐表.xlsx",
    );
    assert_eq!(sheet["form"], "resource", "{sheet:#}");
    assert_eq!(sheet["fields"]["申报单位名称"], "唐山市科技馆");
    assert!(problems(sheet).contains(&"decrypted_with_password".to_string()));
    let right = doc(&m["encrypted_docx_password_in_body"], "专家推荐表.docx");
    assert_eq!(right["form"], "expert", "{right:#}");
    assert_eq!(right["fields"]["姓名"], "张伟");
    assert!(problems(right).contains(&"decrypted_with_password".to_string()));
    assert!(!problems(right).contains(&"encrypted_attachment".to_string()));
    let wrong = doc(&m["encrypted_docx_wrong_password"], "专家推荐表.docx");
    assert_eq!(wrong["form"], serde_json::Value::Null);
    assert!(
        problems(wrong).contains(&"encrypted_attachment".to_string()),
        "{wrong:#}"
    );
}

/// A Word 97 .doc that LibreOffice saved with an open password (legacy RC4) is
/// decrypted in the parser worker with the password in the mail body and read through
/// LibreOffice like any .doc; a wrong password leaves it `encrypted_attachment`.
#[test]
fn encrypted_doc_opens_with_the_password_in_the_mail() {
    let it = Intake::new(None);
    let m = import_cases(
        &it,
        &[
            "encrypted_doc_password_in_body",
            "encrypted_doc_wrong_password",
        ],
    );
    let right = doc(&m["encrypted_doc_password_in_body"], "试点区县申报表.doc");
    assert_eq!(right["form"], "pilot_district", "{right:#}");
    assert_eq!(right["fields"]["申报单位"], "唐山市丰南区教育局");
    assert_eq!(right["fields"]["联系人"], "王强");
    assert_eq!(problems(right), ["decrypted_with_password"], "{right:#}");
    let wrong = doc(&m["encrypted_doc_wrong_password"], "试点区县申报表.doc");
    assert_eq!(wrong["form"], serde_json::Value::Null, "{wrong:#}");
    assert_eq!(problems(wrong), ["encrypted_attachment"], "{wrong:#}");
}

/// The notice with its four blank forms is a `notice` document, not an application:
/// forwarded alone the message is `other`; beside a filled form it is a submission
/// whose one application is the filled form.
#[test]
fn the_notices_blank_forms_are_not_an_application() {
    let it = Intake::new(None);
    let m = import_cases(&it, &["notice_blank_forms", "notice_with_filled_form"]);
    let alone = &m["notice_blank_forms"];
    let n = doc(alone, "关于利用科普资源助推双减工作的通知.docx");
    assert_eq!(n["kind"], "notice", "{n:#}");
    assert_eq!(n["form"], serde_json::Value::Null);
    assert!(problems(n).contains(&"notice_template".to_string()));
    assert_eq!(alone["category"], "other");
    let why = alone["receipt"]["reason"].as_str().unwrap_or_default();
    assert!(why.starts_with("notice_forward:"), "{alone:#}");
    let both = &m["notice_with_filled_form"];
    assert_eq!(doc(both, "通知.docx")["kind"], "notice");
    assert_eq!(
        doc(both, "附件4 试点学校申报表.docx")["form"],
        "pilot_school"
    );
    assert_eq!(both["category"], "submission");
    let apps = it.dump()["applications"].as_array().unwrap().clone();
    assert_eq!(apps.len(), 1, "{apps:#?}");
    assert_eq!(apps[0]["form"], "pilot_school");
}

/// Spam caught by the auditable rules is category `spam`, gets no receipt, names its
/// rule, and is still stored.
#[test]
fn spam_rules_set_mail_aside_without_a_receipt() {
    let it = Intake::new(None);
    let cases = [
        "spam_spoofed_netease",
        "spam_phishing_link",
        "spam_invoice_ad",
    ];
    let m = import_cases(&it, &cases);
    for (case, rule) in cases
        .iter()
        .zip(["display_name_spoof", "phishing", "ad_vocabulary"])
    {
        let msg = &m[*case];
        assert_eq!(msg["category"], "spam", "{case}: {msg:#}");
        assert!(
            problems(msg).contains(&format!("spam_rule:{rule}")),
            "{msg:#}"
        );
        assert_ne!(msg["receipt"]["status"], "sent");
        assert_ne!(msg["receipt"]["status"], "pending");
    }
}

/// A valid .xls with one cell at each far corner of the sheet (A1 and IV65536, saved
/// by LibreOffice Calc): read, not a killed worker.
#[test]
fn a_sparse_xls_with_far_corner_cells_is_read() {
    let opts = kepu_intake::isolate::IsolateOptions::new(PathBuf::from(env!(
        "CARGO_BIN_EXE_kepu-parse-doc"
    )));
    let started = std::time::Instant::now();
    let p = kepu_intake::isolate::read_electronic(
        &opts,
        "xls",
        &files_fixture("expert_sparse_corners.xls"),
    )
    .unwrap();
    assert_eq!(p.form.map(|f| f.as_str()), Some("expert"));
    assert_eq!(
        p.fields.get("姓名").map(|v| v.display()),
        Some("张伟".to_string())
    );
    assert!(started.elapsed().as_secs() < 60);
}

/// An .xls carrying an embedded Word object is the workbook it is (its own streams
/// are read first), not a Word 97 document.
#[test]
fn ole_files_are_sniffed_by_their_top_level_streams() {
    let b = files_fixture("xls_embedded_word.xls");
    assert_eq!(sniff(&b, "申报表.xls"), "xls");
    assert_eq!(sniff(&b, "noext"), "xls");
}

/// A password-protected 7z (AES-256, names encrypted too) is opened with the
/// password in the mail body; without one its members stay `encrypted_attachment`.
#[test]
fn encrypted_7z_opens_with_the_password_in_the_mail() {
    let it = Intake::new(None);
    let m = import_cases(&it, &["sevenz_password_in_body", "sevenz_password_missing"]);
    let open = &m["sevenz_password_in_body"];
    let archive = doc(open, "推荐表.7z");
    assert!(
        problems(archive).contains(&"decrypted_with_password".to_string()),
        "{archive:#}"
    );
    let form = doc(open, "专家推荐表.docx");
    assert_eq!(form["form"], "expert");
    assert_eq!(form["fields"]["姓名"], "张伟");
    let shut = &m["sevenz_password_missing"];
    assert!(problems(doc(shut, "推荐表.7z")).contains(&"encrypted_attachment".to_string()));
    let member = doc(shut, "专家推荐表.docx");
    assert_eq!(problems(member), ["encrypted_attachment"]);
    assert_eq!(member["form"], serde_json::Value::Null);
}

/// A RAR5 made by RARLAB's rar 7 is opened in the parser worker: the form inside is
/// read, the photographed scan inside is a scan; a RAR bomb (80 MB of zeros in 3.5 KB)
/// is refused by its size against the ratio cap, named `zip_bomb`, without being
/// decoded; a lone first volume names its cut member `unsupported_archive`. A RAR4 (stored, written by the generator and accepted by `rar t`) is read
/// through the same decoder.
#[test]
fn rar_members_are_read_and_the_bomb_is_stopped() {
    let it = Intake::new(None);
    let m = import_cases(
        &it,
        &[
            "rar_form_and_scan",
            "rar_bomb",
            "rar4_stored_form",
            "rar4_gbk_name",
            "rar_volume_part1",
        ],
    );
    let ok = &m["rar_form_and_scan"];
    let archive = doc(ok, "申报材料.rar");
    assert_eq!(archive["kind"], "archive");
    assert!(problems(archive).is_empty(), "{archive:#}");
    let form = doc(ok, "专家推荐表.docx");
    assert_eq!(form["container"], archive["id"]);
    assert_eq!(form["form"], "expert", "{form:#}");
    assert_eq!(form["fields"]["姓名"], "张伟");
    let scan = doc(ok, "盖章扫描件.jpg");
    assert_eq!(scan["container"], archive["id"]);
    assert_eq!(scan["kind"], "scan", "{scan:#}");
    assert_eq!(ok["category"], "submission");

    let bomb = &m["rar_bomb"];
    let archive = doc(bomb, "材料.rar");
    assert!(
        problems(archive).contains(&"zip_bomb".to_string()),
        "{archive:#}"
    );
    let zeros = doc(bomb, "zeros.bin");
    assert_eq!(problems(zeros), ["zip_bomb"]);
    assert_eq!(zeros["size"], 0);

    // The first volume of a two-volume set, sent alone: the member is named, not read.
    let part = &m["rar_volume_part1"];
    let member = doc(part, "专家推荐表.docx");
    assert_eq!(problems(member), ["unsupported_archive"]);
    assert_eq!(member["form"], serde_json::Value::Null);

    // RAR4 with a Unicode name, and with the GBK name alone (WinRAR on Chinese Windows).
    for case in ["rar4_stored_form", "rar4_gbk_name"] {
        let old = &m[case];
        let archive = doc(old, "推荐表.rar");
        assert!(problems(archive).is_empty(), "{archive:#}");
        let form = doc(old, "专家推荐表.docx");
        assert_eq!(form["container"], archive["id"]);
        assert_eq!(form["form"], "expert", "{case}: {form:#}");
        assert_eq!(form["fields"]["姓名"], "张伟");
    }
}

/// Password-protected RAR5 archives are opened with the password in the mail body,
/// whether rar encrypted the names too (-hp) or the contents only (-p), and record
/// that they were (a RAR4 with RAR 3.x AES too, written by the generator and checked
/// by `rar t`); without a password the members of a -p archive are listed but stay
/// `encrypted_attachment`.
#[test]
fn encrypted_rar_opens_with_the_password_in_the_mail() {
    let it = Intake::new(None);
    let m = import_cases(
        &it,
        &[
            "rar_password_names_in_body",
            "rar_password_in_body",
            "rar_password_missing",
            "rar4_password_in_body",
        ],
    );
    for case in [
        "rar_password_names_in_body",
        "rar_password_in_body",
        "rar4_password_in_body",
    ] {
        let archive = doc(&m[case], "推荐表.rar");
        assert!(
            problems(archive).contains(&"decrypted_with_password".to_string()),
            "{case}: {archive:#}"
        );
        assert!(!problems(archive).contains(&"encrypted_attachment".to_string()));
        let form = doc(&m[case], "专家推荐表.docx");
        assert_eq!(form["form"], "expert", "{case}: {form:#}");
        assert_eq!(form["fields"]["姓名"], "张伟");
    }
    let shut = &m["rar_password_missing"];
    assert!(problems(doc(shut, "推荐表.rar")).contains(&"encrypted_attachment".to_string()));
    let member = doc(shut, "专家推荐表.docx");
    assert_eq!(problems(member), ["encrypted_attachment"]);
    assert_eq!(member["form"], serde_json::Value::Null);
}

/// The filled resource form as an .xlsb written by SheetJS (short cell records and
/// merged value cells, which calamine alone loses) is read as the form it is and the
/// mail becomes a submission.
#[test]
fn xlsb_form_is_read_with_its_merged_and_short_cells() {
    assert_eq!(sniff(&read("resource_sheetjs.xlsb"), "表.xlsb"), "xlsb");
    let it = Intake::new(None);
    let m = import_cases(&it, &["xlsb_form"]);
    let msg = &m["xlsb_form"];
    let form = doc(msg, "科普资源申报推荐表.xlsb");
    assert_eq!(form["form"], "resource", "{form:#}");
    assert_eq!(form["fields"]["申报单位名称"], "唐山市科技馆");
    assert_eq!(form["fields"]["联系电话"], "0315-5912345");
    assert_eq!(msg["category"], "submission");
}
