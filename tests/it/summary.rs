//! The 汇总表 (issue 19): the workbook read back with calamine (one summary sheet with
//! the same columns for every form, phone numbers and postcodes as text, only the
//! problems that matter), its print setup in the sheet XML, and LibreOffice printing it
//! to PDF (page count, first page's text); the CSV keeps digit strings as text.

use crate::roster::{call, corpus};
use calamine::{open_workbook_auto, Data, Reader};
use kepu_intake::domain::{DocFormat, DocKind, ReviewState};
use kepu_intake::model::FieldValue;
use kepu_intake::report::export::{self, summary};
use kepu_intake::roster;

fn dump() -> kepu_intake::report::dump::Dump {
    let mut d = corpus();
    // 丰南区's district form: a landline, a postcode-like number, a tool problem.
    let e = &mut d.messages[0].documents[0];
    e.fields
        .insert("电话".into(), FieldValue::Text("03158123456".into()));
    e.fields
        .insert("通讯地址".into(), FieldValue::Text("063300".into()));
    e.problems.push("ocr_unavailable".into());
    e.problems.push("bad_format:邮箱".into());
    d
}

#[test]
fn the_summary_sheet_reads_back_with_the_same_columns_for_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dump();
    let r = roster::build(&call(), &d, &[]);
    let path = dir.path().join("汇总表.xlsx");
    export::write_xlsx_with(&d, &r, &path).unwrap();

    let mut wb = open_workbook_auto(&path).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names[0], "申报汇总");
    assert!(names.contains(&"名单".to_string()), "{names:?}");
    let s = wb.worksheet_range("申报汇总").unwrap();
    let rows: Vec<Vec<Data>> = s.rows().map(|r| r.to_vec()).collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header, summary::SUMMARY_HEADER.map(String::from).to_vec());
    assert_eq!(rows.len(), 1 + d.applications.len());
    // Row 1: 附件3 of 丰南区 (附件 order, then id).
    let first = &rows[1];
    assert_eq!(first[0], Data::Float(1.0));
    assert_eq!(first[1].to_string(), "丰南区教育局");
    assert_eq!(first[2].to_string(), "附件3 科技教育试点县（市）区申报表");
    assert_eq!(first[3].to_string(), "李四同志");
    assert_eq!(
        first[4],
        Data::String("03158123456".into()),
        "phone stays text"
    );
    assert_eq!(first[6].to_string(), "已收到");
    assert_eq!(first[7].to_string(), "缺");
    assert_eq!(first[8].to_string(), "否");
    assert_eq!(first[9].to_string(), "齐全");
    let problems = first[11].to_string();
    assert!(problems.contains("bad_format:邮箱"), "{problems}");
    assert!(!problems.contains("ocr_unavailable"), "{problems}");
    assert_eq!(first[12].to_string(), "丰南区");
    assert_eq!(first[13].to_string(), "a1");
    // Every form's rows have the same columns filled the same way.
    let school = rows.iter().find(|r| r[13] == "a5").unwrap();
    assert_eq!(school[2].to_string(), "附件4 科技教育试点学校申报表");
    assert_eq!(school[5].to_string(), "kjk@lubei.example");
    assert_eq!(school[9].to_string(), "缺盖章扫描件");

    // The per-form sheet keeps the postcode-like value as text too.
    let f = wb.worksheet_range("试点县区").unwrap();
    let cells: Vec<Data> = f.rows().flat_map(|r| r.to_vec()).collect();
    assert!(cells.contains(&Data::String("063300".into())));
    let roster_sheet = wb.worksheet_range("名单").unwrap();
    let lines: Vec<Vec<String>> = roster_sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(lines.len(), 19);
    let lb = lines.iter().find(|l| l[0] == "路北区").unwrap();
    assert_eq!(lb[3], "试点县区 1/1，试点学校 1/2");

    // Print setup, from the sheet XML and the workbook's defined names.
    let mut z = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let read = |z: &mut zip::ZipArchive<std::fs::File>, n: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(n).unwrap(), &mut s).unwrap();
        s
    };
    let sheet = read(&mut z, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("orientation=\"landscape\""), "{sheet}");
    assert!(sheet.contains("fitToHeight=\"0\""), "{sheet}");
    assert!(sheet.contains("fitToPage=\"1\""), "{sheet}");
    let book = read(&mut z, "xl/workbook.xml");
    assert!(book.contains("_xlnm.Print_Titles"), "{book}");
    assert!(book.contains("申报汇总!$1:$1"), "{book}");
}

#[test]
fn csv_keeps_phone_numbers_and_postcodes_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let files = export::write_csv(&dump(), dir.path()).unwrap();
    assert!(files[0].ends_with("申报汇总.csv"));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains(",=\"03158123456\","), "{text}");
    let district = std::fs::read_to_string(dir.path().join("试点县区.csv")).unwrap();
    assert!(district.contains("=\"063300\""), "{district}");
}

#[test]
fn libreoffice_prints_the_summary_landscape_with_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dump();
    // Enough rows for a second page of the summary.
    for i in 0..200 {
        crate::roster::add(
            &mut d,
            100 + i,
            "pilot_school",
            &format!("迁安市第{i}中学"),
            "complete",
            "qa@qianan.example",
            &[],
        );
    }
    let r = roster::build(&call(), &d, &[]);
    let path = dir.path().join("summary.xlsx");
    export::write_xlsx_with(&d, &r, &path).unwrap();
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.path().join("p").display()
    );
    let out = dir.path().join("pdf");
    let status = std::process::Command::new("soffice")
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(&out)
        .arg(&path)
        .status()
        .expect("soffice (scripts/setup test installs LibreOffice)");
    assert!(status.success());
    let pdf = out.join("summary.pdf");
    assert!(pdf.exists(), "LibreOffice wrote no PDF");
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(info.contains("841.89 x 595.3"), "A4 landscape: {info}");
    let first = std::process::Command::new("pdftotext")
        .args(["-f", "1", "-l", "1", "-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(first.contains("申报汇总表"), "page header: {first}");
    for h in ["序号", "单位", "盖章扫描件", "审核状态", "问题"] {
        assert!(first.contains(h), "{h} on page 1: {first}");
    }
    assert!(first.contains("丰南区教育局"), "{first}");
    // The header row repeats on page 2 (the summary has 207 rows).
    let second = std::process::Command::new("pdftotext")
        .args(["-f", "2", "-l", "2", "-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let second = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(
        second.contains("序号") && second.contains("盖章扫描件"),
        "{second}"
    );
    // Summary (2+) + counts + four form sheets + roster + mail log, each ≥ 1 page.
    assert!((9..40).contains(&pages), "{pages} pages");
}

#[test]
fn the_zip_holds_each_accepted_applications_files_by_unit_and_form() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("docs")).unwrap();
    let mut d = corpus();
    // A second 附件3 from the same unit name, and a stamped scan for application 2.
    crate::roster::add(
        &mut d,
        8,
        "pilot_district",
        "丰南区教育局",
        "complete",
        "a@b.example",
        &[],
    );
    let mut scan = d.messages[0].documents[0].clone();
    scan.id = 999;
    scan.kind = DocKind::Scan;
    scan.format = DocFormat::Jpg;
    scan.path = "docs/999".into();
    d.messages[1].documents.push(scan);
    d.applications[1].scan = Some(999);
    for m in &d.messages {
        for doc in &m.documents {
            std::fs::write(data.join(&doc.path), format!("bytes of {}", doc.id)).unwrap();
        }
    }
    // The office's decisions: a1, a2, a8 accepted and a5 accepted without its scan;
    // a3 complete but not reviewed yet, a4 complete but returned.
    for a in &mut d.applications {
        a.review.state = match a.id {
            1 | 2 | 5 | 8 => ReviewState::Accepted,
            4 => ReviewState::Returned,
            _ => ReviewState::Pending,
        };
    }
    assert!(
        d.applications
            .iter()
            .any(|a| a.id == 3 && a.status == kepu_intake::domain::AppStatus::Complete),
        "a3 is complete: left out only for want of acceptance"
    );
    let out = dir.path().join("申报材料.zip");
    let n = export::bundle::write_zip(&call(), &d, &data, &out).unwrap();
    let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut names: Vec<String> = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(n, names.len());
    names.sort();
    assert_eq!(
        names,
        vec![
            "丰南区教育局/附件3-科技教育试点县（市）区申报表-2-电子版.docx",
            "丰南区教育局/附件3-科技教育试点县（市）区申报表-电子版.docx",
            "唐山市丰南区第一中学/附件4-科技教育试点学校申报表-电子版.docx",
            "唐山市丰南区第一中学/附件4-科技教育试点学校申报表-盖章扫描件.jpg",
            "路北区第二小学/附件4-科技教育试点学校申报表-电子版.docx",
        ],
        "accepted applications only (a3 waits for review, a4 was returned, a6 and a7 undecided)"
    );
    let mut s = String::new();
    std::io::Read::read_to_string(
        &mut z
            .by_name("唐山市丰南区第一中学/附件4-科技教育试点学校申报表-盖章扫描件.jpg")
            .unwrap(),
        &mut s,
    )
    .unwrap();
    assert_eq!(s, "bytes of 999");
    assert_eq!(export::bundle::safe_component("../a/b:c"), "_a_b_c");
}
