//! Issue 21, files applicants really send: Office packages found by their
//! relationships (not part names), the spreadsheet formats calamine reads, `import`
//! refusing what is not mail and `import --into` taking downloaded files for a message.
//! Fixtures are made by `fixtures/gen/make_files.py`.

use kepu_intake::extract::sniff;
use std::path::{Path, PathBuf};

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms")
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
