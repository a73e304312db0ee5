//! End to end through the binary: the sample mailbox imported, then every stage's
//! result read back from `dump --json` — categories, duplicates, lateness, documents out
//! of a GBK zip, seals, a scan matched across mails, applications and their statuses;
//! then `reprocess`, a manual `match`, `show`, `list` and `backup` on the same data.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kepu-intake")
}

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn kepu(cfg: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env("KEPU_LOG", "warn")
        .output()
        .expect("run kepu-intake");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dump(cfg: &Path) -> Value {
    let (ok, out, err) = kepu(cfg, &["dump", "--json"]);
    assert!(ok, "dump failed: {err}");
    serde_json::from_str(&out).expect("dump is JSON")
}

fn msg(d: &Value, id: i64) -> &Value {
    d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
}

/// Every document of every message in a dump.
pub(crate) fn documents(d: &Value) -> impl Iterator<Item = &Value> {
    d["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["documents"].as_array().into_iter().flatten())
}

fn app<'a>(d: &'a Value, applicant: &str) -> &'a Value {
    d["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["applicant"] == applicant)
        .unwrap_or_else(|| panic!("no application of {applicant}: {}", d["applications"]))
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("k.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    (dir, cfg)
}

#[test]
fn sample_mailbox_end_to_end() {
    let (dir, cfg) = setup();
    let mailbox = root().join("fixtures/sample-mailbox");
    let (ok, out, err) = kepu(&cfg, &["import", mailbox.to_str().unwrap()]);
    assert!(ok, "import failed: {err}");
    assert!(
        out.contains("10 封读取") && out.contains("9 封新邮件") && out.contains("1 封重复"),
        "{out}"
    );

    let d = dump(&cfg);
    let msgs = d["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 10);
    let cats: Vec<&str> = msgs
        .iter()
        .map(|m| m["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        [
            "submission",
            "submission",
            "submission",
            "submission",
            "submission",
            "submission",
            "question",
            "autoreply",
            "bounce",
            "submission"
        ]
    );
    // The second delivery of mail 1 is a duplicate and carries no documents.
    assert_eq!(msg(&d, 6)["duplicate_of"], 1);
    assert_eq!(msg(&d, 6)["documents"].as_array().unwrap().len(), 0);
    // One second after the deadline by the server's clock is late; the Date header said earlier.
    assert_eq!(msg(&d, 5)["late"], true);
    assert_eq!(msg(&d, 5)["date_header"], "2022-07-20T23:58:30+08:00");
    assert_eq!(msg(&d, 4)["late"], false);

    // The zip's GBK member names decoded, both members with the zip as container.
    let docs5 = msg(&d, 5)["documents"].as_array().unwrap();
    let zip_id = &docs5[0]["id"];
    assert_eq!(docs5[0]["kind"], "archive");
    assert_eq!(docs5[1]["name"], "丰南区试点县区申报表.docx");
    assert_eq!(docs5[1]["container"], *zip_id);
    assert_eq!(docs5[2]["name"], "丰南区试点县区申报表（盖章）.jpg");
    assert_eq!(docs5[2]["stamped"], true);

    // Fields of a form, with the checkbox list in form order.
    let e1 = &msg(&d, 1)["documents"][0];
    assert_eq!(e1["form"], "resource");
    assert_eq!(e1["fields"]["申报单位名称"], "唐山市科技馆");
    assert_eq!(
        e1["fields"]["科技教育资源类别"],
        serde_json::json!(["科普讲座", "科普展示", "科普资源包"])
    );

    // Applications and statuses.
    assert_eq!(d["applications"].as_array().unwrap().len(), 4);
    assert_eq!(app(&d, "唐山市科技馆")["status"], "complete");
    assert_eq!(app(&d, "唐山市第一中学")["status"], "unstamped_scan");
    let district = app(&d, "唐山市丰南区教育局");
    assert_eq!(district["late"], true);
    // The expert's scan came two days later from another address under a camera file
    // name; it is matched to his electronic form.
    let expert = app(&d, "张伟");
    assert_eq!(expert["status"], "complete");
    let scan_doc = &msg(&d, 3)["documents"][0];
    assert_eq!(scan_doc["kind"], "scan");
    assert_eq!(scan_doc["scan_of"], msg(&d, 2)["documents"][0]["id"]);
    assert_eq!(expert["scan"], scan_doc["id"]);

    // Cloud attachments are documents with an expiry problem on the message.
    let cloud = msg(&d, 10);
    assert_eq!(cloud["documents"][0]["kind"], "cloud_link");
    assert!(cloud["problems"][0]
        .as_str()
        .unwrap()
        .starts_with("cloud_attachment:"));

    // Receipts are off by default: recorded as suppressed, never sent.
    assert!(msgs.iter().all(|m| m["receipt"]["status"] == "suppressed"));

    // Importing the same folder again records nothing.
    let (ok, out, _) = kepu(&cfg, &["import", mailbox.to_str().unwrap()]);
    assert!(ok);
    assert!(
        out.contains("0 封新邮件") && out.contains("10 封已导入过"),
        "{out}"
    );
    assert_eq!(dump(&cfg)["messages"].as_array().unwrap().len(), 10);

    // An operator undoes the expert's scan match: the application loses its scan, and the
    // decision survives reprocessing of everything.
    let scan_id = scan_doc["id"].as_i64().unwrap().to_string();
    let (ok, _, err) = kepu(&cfg, &["match", &scan_id, "--unmatch"]);
    assert!(ok, "{err}");
    let (ok, _, err) = kepu(&cfg, &["reprocess", "--all"]);
    assert!(ok, "{err}");
    let d2 = dump(&cfg);
    assert_eq!(app(&d2, "张伟")["status"], "missing_scan");
    // The unmatched scan now stands alone as an expert form without its electronic version.
    let lone: Vec<&Value> = d2["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "missing_electronic")
        .collect();
    assert_eq!(lone.len(), 1);
    assert_eq!(lone[0]["scan"], scan_doc["id"]);
    assert_eq!(d2["messages"].as_array().unwrap().len(), 10);
    // Application and document ids are stable across the rebuild.
    assert_eq!(
        msg(&d2, 1)["documents"][0]["id"],
        msg(&d, 1)["documents"][0]["id"]
    );
    assert_eq!(
        app(&d2, "唐山市科技馆")["id"],
        app(&d, "唐山市科技馆")["id"]
    );

    // list filters and show.
    let (ok, out, _) = kepu(&cfg, &["list", "--status", "missing_scan", "--json"]);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["applicant"], "张伟");
    let (ok, _, err) = kepu(&cfg, &["list", "--status", "lost"]);
    assert!(!ok && err.contains("--status lost"), "{err}");
    let id = app(&d2, "唐山市科技馆")["id"].to_string();
    let (ok, out, _) = kepu(&cfg, &["show", &id, "--json"]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let file = shown["documents"][0]["file"].as_str().unwrap();
    assert!(
        Path::new(file).is_file(),
        "show names the stored file: {file}"
    );

    // A backup restores to the same status.
    let bk = dir.path().join("backup");
    let (ok, _, err) = kepu(&cfg, &["backup", bk.to_str().unwrap()]);
    assert!(ok, "{err}");
    let cfg2 = dir.path().join("k2.toml");
    std::fs::write(
        &cfg2,
        format!("[storage]\ndata_dir = \"{}\"\n", bk.display()),
    )
    .unwrap();
    let strip = |s: String| {
        s.lines()
            .filter(|l| !l.contains("last_poll"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let a = strip(kepu(&cfg, &["status", "--json"]).1);
    let b = strip(kepu(&cfg2, &["status", "--json"]).1);
    assert!(a.contains("\"applications\": 5"), "{a}");
    assert_eq!(a, b);
}

/// The same Word 97 file in two different mails is converted by LibreOffice once: the
/// second takes the recognised form from `form_cache`. `reprocess` parses both again.
/// Conversions are counted by a wrapper around the real `soffice`.
#[test]
fn a_form_sent_again_in_another_mail_is_not_converted_again() {
    let (dir, cfg) = setup();
    let real = ["/usr/bin/soffice", "/usr/bin/libreoffice"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("LibreOffice is installed by scripts/setup");
    let calls = dir.path().join("soffice-calls.log");
    let wrapper = dir.path().join("soffice");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec {real} \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "{text}\n[tools]\nocr = false\nsoffice = \"{}\"\n",
            wrapper.display()
        ),
    )
    .unwrap();
    // Two mails from different senders, each with its own Message-ID and text, carrying
    // the same Word 97 form.
    let doc = std::fs::read(root().join("fixtures/forms/district_word97.doc")).unwrap();
    let mail = |from: &str, id: &str| {
        format!(
            "From: {from}\r\nTo: tsqsnkj@126.com\r\nSubject: =?UTF-8?B?55Sz5oql?=\r\n\
             Date: Mon, 18 Jul 2022 10:31:40 +0800\r\nMessage-ID: <{id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{id}\r\n\
             --b\r\nContent-Type: application/msword; name=\"district.doc\"\r\n\
             Content-Disposition: attachment; filename=\"district.doc\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            crate::hostile::base64(&doc)
        )
    };
    let first = mail("office@district.example", "first@district.example");
    let second = mail("clerk@district.example", "again@district.example");
    let mails = dir.path().join("mails");
    std::fs::create_dir(&mails).unwrap();
    std::fs::write(mails.join("1.eml"), &first).unwrap();
    std::fs::write(mails.join("2.eml"), &second).unwrap();
    let (ok, _, err) = kepu(&cfg, &["import", mails.to_str().unwrap()]);
    assert!(ok, "import failed: {err}");
    let conversions = || {
        std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let d = dump(&cfg);
    let docs: Vec<&Value> = documents(&d)
        .filter(|x| x["name"] == "district.doc")
        .collect();
    assert_eq!(docs.len(), 2, "{d}");
    assert_eq!(docs[0]["form"], "pilot_district", "{d}");
    assert_eq!(docs[0]["form"], docs[1]["form"]);
    assert_eq!(docs[0]["fields"], docs[1]["fields"]);
    assert!(docs[0]["fields"].as_object().is_some_and(|f| !f.is_empty()));
    assert_eq!(
        conversions(),
        1,
        "LibreOffice ran once per mail, not once per file"
    );

    // A file LibreOffice cannot load, in two mails: one conversion, the same problem on
    // both (that answer is cached too; a timeout would not be).
    // (raw GBK headers: handled as bytes)
    let broken = std::fs::read(root().join("fixtures/mail/foxmail_gbk_raw_headers.eml")).unwrap();
    let id = b"<202207200802331963125@tslb.gov.cn>";
    let at = broken
        .windows(id.len())
        .position(|w| w == id)
        .expect("the fixture's Message-ID");
    let resent = [
        &broken[..at],
        b"<resent.20220719@foxmail.example>".as_slice(),
        &broken[at + id.len()..],
    ]
    .concat();
    let more = dir.path().join("more");
    std::fs::create_dir(&more).unwrap();
    std::fs::write(more.join("1.eml"), &broken).unwrap();
    std::fs::write(more.join("2.eml"), &resent).unwrap();
    let (ok, _, err) = kepu(&cfg, &["import", more.to_str().unwrap()]);
    assert!(ok, "import failed: {err}");
    assert_eq!(
        conversions(),
        2,
        "the unreadable file was converted more than once"
    );
    let d = dump(&cfg);
    let unreadable: Vec<&Value> = documents(&d)
        .filter(|x| x["format"] == "doc" && x["name"] != "district.doc")
        .collect();
    assert_eq!(unreadable.len(), 2, "{d}");
    for x in &unreadable {
        assert!(
            x["problems"].to_string().contains("could not be loaded"),
            "{x}"
        );
    }

    let (ok, _, err) = kepu(&cfg, &["reprocess", "--all"]);
    assert!(ok, "reprocess failed: {err}");
    assert_eq!(
        conversions(),
        6,
        "reprocess must parse again, not read the cache"
    );
    let again = dump(&cfg);
    let fields: Vec<&Value> = documents(&again)
        .filter(|x| x["name"] == "district.doc")
        .map(|x| &x["fields"])
        .collect();
    assert_eq!(fields, vec![&docs[0]["fields"], &docs[0]["fields"]]);
}
