//! The call as data: a made-up call (another deadline, a fifth form of its own) runs end
//! to end through `import` and `dump --json` with no code knowing it; a malformed call
//! file is refused at start with `path: line: what is wrong`; a document titled as a form
//! that is not in the call is not forced into one of the call's forms by its labels.

use crate::pipeline::{documents, kepu, root};
use kepu_intake::call::Call;
use kepu_intake::forms;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn config(dir: &Path, intake: &str) -> PathBuf {
    let cfg = dir.join("k.toml");
    std::fs::write(
        &cfg,
        format!(
            "[intake]\n{intake}\n[storage]\ndata_dir = \"{}\"\n[receipts]\nmode = \"off\"\n\
             [tools]\nocr = false\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    cfg
}

/// A mail received (topmost `Received:`) at `received`, with .docx attachments.
fn mail(id: &str, received: &str, docs: &[(&str, &[u8])]) -> String {
    let mut m = format!(
        "Received: from mx.example by mx.126.com; {received}\r\n\
         From: sunli@school.example\r\nTo: tsqsnkj@126.com\r\nSubject: =?UTF-8?B?55Sz5oql?=\r\n\
         Date: {received}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{id}\r\n"
    );
    for (name, bytes) in docs {
        m.push_str(&format!(
            "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            crate::hostile::base64(bytes)
        ));
    }
    m.push_str("--b--\r\n");
    m
}

fn doc<'a>(d: &'a Value, name: &str) -> &'a Value {
    documents(d)
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no document {name}"))
}

/// `fixtures/calls/made-up-2023.toml`: the 2022 expert form plus 附件5 科技辅导员登记表,
/// deadline 2023-06-30 18:00. A mail before that deadline (which is after 2022's) is on
/// time, one after it is late; the fifth form is read with its own fields, checks and
/// applicant; `dump --json` names the call; `list --form` takes the call's keys; the
/// exports have a sheet for it with its fields as columns.
#[test]
fn made_up_call_runs_end_to_end_through_import_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let call_file = root().join("fixtures/calls/made-up-2023.toml");
    let cfg = config(dir.path(), &format!("call = \"{}\"", call_file.display()));
    let read = |p: &str| std::fs::read(root().join(p)).unwrap();
    let tutor = read("fixtures/calls/tutor.docx");
    let volunteer = read("fixtures/calls/volunteer.docx");
    let expert = read("fixtures/forms/expert_pydocx.docx");
    let mails = dir.path().join("mails");
    std::fs::create_dir(&mails).unwrap();
    std::fs::write(
        mails.join("1.eml"),
        mail(
            "early@school.example",
            "Thu, 29 Jun 2023 10:00:00 +0800",
            &[("辅导员.docx", &tutor), ("志愿者.docx", &volunteer)],
        ),
    )
    .unwrap();
    std::fs::write(
        mails.join("2.eml"),
        mail(
            "late@school.example",
            "Sat, 01 Jul 2023 09:00:00 +0800",
            &[("专家.docx", &expert)],
        ),
    )
    .unwrap();
    let (ok, _, err) = kepu(&cfg, &["import", mails.to_str().unwrap()]);
    assert!(ok, "import failed: {err}");
    let (ok, out, err) = kepu(&cfg, &["dump", "--json"]);
    assert!(ok, "dump failed: {err}");
    let d: Value = serde_json::from_str(&out).unwrap();

    assert_eq!(
        d["call"],
        json!({
            "name": "唐山市青少年科技辅导员遴选（测试用）",
            "deadline": "2023-06-30T18:00:00+08:00",
            "forms": [
                {"key": "expert", "number": 1, "title": "科技教育专家服务团成员推荐表"},
                {"key": "tutor", "number": 5, "title": "科技辅导员登记表"},
            ]
        })
    );
    let late: Vec<(String, bool)> = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["message_id"].as_str().unwrap().to_string(),
                m["late"] == true,
            )
        })
        .collect();
    assert!(
        late.contains(&("<early@school.example>".into(), false)),
        "{late:?}"
    );
    assert!(
        late.contains(&("<late@school.example>".into(), true)),
        "{late:?}"
    );

    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/calls/tutor.expected.json")).unwrap(),
    )
    .unwrap();
    let t = doc(&d, "辅导员.docx");
    assert_eq!(t["form"], "tutor");
    assert_eq!(t["fields"], want["fields"]);
    assert_eq!(t["problems"], want["problems"]);
    let v = doc(&d, "志愿者.docx");
    assert_eq!(
        v["form"],
        Value::Null,
        "the volunteer sheet is no form: {v}"
    );
    assert_eq!(doc(&d, "专家.docx")["form"], "expert");

    let apps = d["applications"].as_array().unwrap();
    let forms: Vec<(&str, &str)> = apps
        .iter()
        .map(|a| {
            (
                a["form"].as_str().unwrap(),
                a["applicant"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(forms.contains(&("tutor", "孙丽")), "{forms:?}");
    assert!(forms.contains(&("expert", "张伟")), "{forms:?}");

    let (ok, out, err) = kepu(&cfg, &["list", "--form", "tutor", "--json"]);
    assert!(ok, "list --form tutor: {err}");
    assert!(out.contains("孙丽") && !out.contains("张伟"), "{out}");
    let (ok, _, err) = kepu(&cfg, &["list", "--form", "pilot_school"]);
    assert!(!ok, "pilot_school is not in this call");
    assert!(err.contains("expert, tutor"), "{err}");

    // Exports: one sheet per form of the call, its columns the call's fields.
    let csv = dir.path().join("csv");
    let (ok, _, err) = kepu(&cfg, &["export", "--csv", csv.to_str().unwrap()]);
    assert!(ok, "export --csv: {err}");
    let tutor_csv = std::fs::read_to_string(csv.join("科技辅导员.csv")).unwrap();
    let header = tutor_csv
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap();
    assert!(
        header.contains(",姓名,所在学校,任教学科,联系电话,辅导项目,辅导经历,"),
        "{header}"
    );
    assert!(
        tutor_csv.contains("孙丽") && tutor_csv.contains("机器人、编程"),
        "{tutor_csv}"
    );
    assert!(
        !csv.join("试点学校.csv").exists(),
        "no sheet for a form outside the call"
    );
    // The 汇总表's 单位 of a person's form is the field the call gives `role = "unit"`.
    let summary = std::fs::read_to_string(csv.join("申报汇总.csv")).unwrap();
    let row = summary.lines().find(|l| l.contains("孙丽")).unwrap();
    assert!(row.contains("唐山市路北区实验小学"), "{row}");
    // Its 40-character limit is the call's, not 2022's 1000.
    assert!(
        row.contains("超过字数限制：辅导经历") && !row.contains("1000"),
        "{row}"
    );

    // `[intake] deadline`, when set, wins over the call's.
    let cfg = config(
        dir.path(),
        &format!(
            "call = \"{}\"\ndeadline = \"2023-07-15T12:00:00+08:00\"",
            call_file.display()
        ),
    );
    let (ok, out, err) = kepu(&cfg, &["dump", "--json"]);
    assert!(ok, "dump failed: {err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["call"]["deadline"], "2023-07-15T12:00:00+08:00");
}

/// The built-in call is the 2022 one, named in the dump.
#[test]
fn the_built_in_call_is_2022_tangshan() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let (ok, out, err) = kepu(&cfg, &["dump", "--json"]);
    assert!(ok, "dump failed: {err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["call"]["deadline"], "2022-07-20T23:59:59+08:00");
    let keys: Vec<&str> = d["call"]["forms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["expert", "resource", "pilot_district", "pilot_school"]
    );
}

/// A call file with a mistake stops every command before it touches anything, naming
/// the file, the line and the fault.
#[test]
fn a_malformed_call_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(root().join("fixtures/calls/made-up-2023.toml"))
        .unwrap()
        .replace(
            "expect = [\"tutor:2\", \"expert\"]",
            "expect = [\"tutor:2\", \"pilot_school\"]",
        );
    std::fs::write(&bad, text).unwrap();
    let cfg = config(dir.path(), &format!("call = \"{}\"", bad.display()));
    let (ok, _, err) = kepu(&cfg, &["status"]);
    assert!(!ok, "a broken call file must be refused");
    let want = format!(
        "{}: 117: roster \"路北区\": expect \"pilot_school\": no form \"pilot_school\" in this call",
        bad.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing written before refusing"
    );

    let (ok, _, err) = kepu(
        &config(dir.path(), "call = \"/nonexistent/call.toml\""),
        &["status"],
    );
    assert!(!ok);
    assert!(
        err.contains("intake.call: cannot read /nonexistent/call.toml"),
        "{err}"
    );
}

/// Title first: a volunteer sign-up sheet (科技创新大赛志愿者报名表) carries 姓名, 性别,
/// 工作单位 and 移动电话 like the expert form, but its title names another form, so it
/// is no form of the 2022 call. The same labels without any title still read as the
/// expert form whose title was deleted.
#[test]
fn a_form_titled_as_another_form_is_not_forced_into_the_call() {
    let call = Call::builtin();
    let docx = std::fs::read(root().join("fixtures/calls/volunteer.docx")).unwrap();
    let p = forms::parse_electronic(call, "docx", &docx).unwrap();
    assert_eq!(p.form, None, "{p:?}");
    assert!(p.fields.is_empty());

    let body = "姓名：周涛\n性别：男\n工作单位：唐山市第十中学\n移动电话：13603150001\n";
    let titled = forms::parse_text(call, &format!("科技创新大赛志愿者报名表\n{body}"));
    assert_eq!(titled.form, None);
    let untitled = forms::parse_text(call, body);
    assert_eq!(untitled.form.map(|f| f.as_str()), Some("expert"));
}

/// The README's worked example of adding a form is a valid call file, and uses every
/// key the 2022 call file uses (so the newcomer's example cannot fall behind the schema).
#[test]
fn the_readme_example_call_parses_and_uses_every_key() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let from = readme
        .find("### Adding a form")
        .expect("README has the worked example");
    let block = &readme[from..];
    let start = block.find("```toml\n").unwrap() + "```toml\n".len();
    let text = &block[start..start + block[start..].find("```").unwrap()];

    let call = Call::parse("README.md", text).unwrap_or_else(|e| panic!("{e}"));
    let tutor = call.form("tutor").unwrap();
    assert_eq!((tutor.number, tutor.applicant_key()), (5, "姓名"));
    assert_eq!(
        tutor.field("学校意见").unwrap().then,
        ["教育局意见".to_string()]
    );
    assert!(
        tutor.field("学校意见日期").is_some(),
        "date_key adds its field"
    );

    fn keys(v: &toml::Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.insert(format!("{path}{k}"));
                    keys(v, &format!("{path}{k}."), out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| keys(v, path, out)),
            _ => {}
        }
    }
    let mut ours = Default::default();
    keys(&toml::from_str(text).unwrap(), "", &mut ours);
    let mut builtin = Default::default();
    keys(
        &toml::from_str(kepu_intake::call::BUILTIN_TEXT).unwrap(),
        "",
        &mut builtin,
    );
    let missing: Vec<&String> = builtin.difference(&ours).collect();
    assert!(missing.is_empty(), "README example lacks {missing:?}");
}
