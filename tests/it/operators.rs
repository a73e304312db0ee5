//! Operators' views over a hand-made Dump: the xlsx workbook read back (calamine and,
//! when installed, LibreOffice), the CSV files, the text tables and the web page
//! (login, sessions, CSRF, escaping, downloads by id only, metrics).

use kepu_intake::model::{FieldValue, Fields};
use kepu_intake::report::dump::{Dump, DumpApplication, DumpDocument, DumpMessage, DumpReceipt};
use kepu_intake::report::{export, table};
use kepu_intake::web;
use std::path::Path;
use std::sync::Arc;

const TOKEN: &str = "s3cret-token-for-tests";
const EVIL: &str = "<script>alert(1)</script>张三";
const TRICKY: &str = "他说\"好\",唐山\n第二行";
const SCAN_BYTES: &[u8] = b"\xff\xd8\xff\xe0fake-jpeg-bytes";

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_string())
}

fn doc(
    id: i64,
    name: &str,
    kind: &str,
    format: &str,
    form: Option<&str>,
    path: &str,
) -> DumpDocument {
    DumpDocument {
        id,
        name: name.into(),
        container: None,
        sha256: format!("{id:064}"),
        format: format.parse().unwrap(),
        kind: kind.parse().unwrap(),
        form: form.map(str::to_string),
        fields: Fields::new(),
        stamped: None,
        scan_of: None,
        superseded_by: None,
        problems: vec![],
        size: 100,
        seal_score: None,
        match_score: None,
        path: path.into(),
        message: 0,
        applicant: None,
        ocr_text: None,
        seal_text: None,
        look: None,
    }
}

fn message(
    id: i64,
    from: &str,
    subject: &str,
    category: Option<&str>,
    docs: Vec<DumpDocument>,
) -> DumpMessage {
    DumpMessage {
        id,
        message_id: Some(format!("<m{id}@example>")),
        from: Some(from.into()),
        subject: Some(subject.into()),
        received_at: format!("2022-07-1{id}T10:00:00+08:00"),
        date_header: None,
        late: false,
        category: category.map(|c| c.parse().unwrap()),
        duplicate_of: None,
        receipt: DumpReceipt {
            status: "sent".parse().unwrap(),
            reason: None,
        },
        problems: vec![],
        documents: crate::support::dump::in_message(id, docs),
        sha256: "0".repeat(64),
        size: 2048,
        mailbox: Some("INBOX".into()),
        uidvalidity: Some(1),
        uid: Some(id),
        source: "imap".into(),
        removed: None,
    }
}

/// Three messages: a complete 科普资源 application (electronic + stamped jpg scan), an
/// expert form with a hostile name and no scan (late), and a question whose
/// "document" points outside the data dir.
fn sample(data_dir: &Path) -> Dump {
    std::fs::create_dir_all(data_dir.join("docs")).unwrap();
    std::fs::write(data_dir.join("docs/scan35.jpg"), SCAN_BYTES).unwrap();
    std::fs::write(data_dir.join("docs/e31.docx"), b"PK-docx").unwrap();
    std::fs::write(data_dir.parent().unwrap().join("secret.txt"), b"TOP-SECRET").unwrap();

    let mut e = doc(
        31,
        "科普资源申报推荐表-唐山一中.docx",
        "electronic",
        "docx",
        Some("resource"),
        "docs/e31.docx",
    );
    e.fields
        .insert("申报单位名称".into(), text("唐山市第一中学"));
    e.fields.insert("申报联系人".into(), text("王芳"));
    e.fields.insert("联系电话".into(), text("13812345678"));
    e.fields.insert(
        "科技教育资源类别".into(),
        FieldValue::Choices(vec!["科普讲座".into(), "科普展示".into()]),
    );
    e.fields
        .insert("2019-2021年青少年科技教育工作情况".into(), text(TRICKY));
    let mut s = doc(
        35,
        "盖章扫描件.jpg",
        "scan",
        "jpg",
        Some("resource"),
        "docs/scan35.jpg",
    );
    s.stamped = Some(true);
    s.scan_of = Some(31);
    let mut m1 = message(
        1,
        "office@school.example",
        "科普资源申报",
        Some("submission"),
        vec![e, s],
    );
    m1.problems
        .push("cloud_attachment:宣传视频.mp4:2022-08-01".into());

    let mut x = doc(
        41,
        "专家推荐表.docx",
        "electronic",
        "docx",
        Some("expert"),
        "docs/e31.docx",
    );
    x.fields.insert("姓名".into(), text(EVIL));
    x.fields.insert("移动电话".into(), text("1381234"));
    x.problems.push("bad_format:移动电话".into());
    let mut m2 = message(
        2,
        "expert@uni.example",
        "专家推荐",
        Some("submission"),
        vec![x],
    );
    m2.late = true;
    m2.receipt.status = "failed".parse().unwrap();

    let evil = doc(51, "passwd", "other", "txt", None, "../secret.txt");
    let m3 = message(
        3,
        "asker@example.org",
        "请问截止时间？",
        Some("question"),
        vec![evil],
    );

    Dump {
        call: Default::default(),
        messages: vec![m1, m2, m3],
        applications: vec![
            DumpApplication {
                id: 4,
                form: "resource".into(),
                applicant: "唐山市第一中学".into(),
                status: "complete".parse().unwrap(),
                late: false,
                electronic: Some(31),
                scan: Some(35),
                problems: vec![],
                email: Some("office@school.example".into()),
                received_at: Some("2022-07-11T10:00:00+08:00".into()),
                review: Default::default(),
                late_excused: None,
            },
            DumpApplication {
                id: 5,
                form: "expert".into(),
                applicant: EVIL.into(),
                status: "missing_scan".parse().unwrap(),
                late: true,
                electronic: Some(41),
                scan: None,
                problems: vec!["missing_scan".into(), "late".into()],
                email: Some("expert@uni.example".into()),
                received_at: Some("2022-07-21T09:00:00+08:00".into()),
                review: Default::default(),
                late_excused: None,
            },
        ],
        ..Default::default()
    }
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, Dump) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dump = sample(&data);
    (dir, data, dump)
}

// ---------------------------------------------------------------- xlsx / csv

#[test]
fn xlsx_reads_back_with_chinese_sheets_headers_and_values() {
    use calamine::{open_workbook_auto, Data, Reader};
    let (dir, _data, dump) = setup();
    let path = dir.path().join("申报汇总.xlsx");
    export::write_xlsx(&dump, &path).unwrap();

    let mut wb = open_workbook_auto(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec![
            "申报汇总",
            "汇总",
            "专家推荐",
            "科普资源",
            "试点县区",
            "试点学校",
            "名单",
            "邮件"
        ]
    );
    let r = wb.worksheet_range("科普资源").unwrap();
    let header: Vec<String> = r
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &header[..6],
        &[
            "编号",
            "申报单位/姓名",
            "状态",
            "逾期",
            "收到时间",
            "发件人"
        ]
    );
    assert_eq!(header[6], "申报单位名称");
    assert_eq!(header[11], "科技教育资源类别");
    assert_eq!(header.last().unwrap(), "文件");
    let row: Vec<&Data> = r.rows().nth(1).unwrap().iter().collect();
    assert_eq!(*row[0], Data::Float(4.0));
    assert_eq!(row[1].to_string(), "唐山市第一中学");
    assert_eq!(row[2].to_string(), "齐全");
    assert_eq!(row[3].to_string(), "否");
    assert_eq!(row[11].to_string(), "科普讲座、科普展示");
    assert_eq!(row[12].to_string(), TRICKY);
    assert_eq!(
        row.last().unwrap().to_string(),
        "科普资源申报推荐表-唐山一中.docx；盖章扫描件.jpg"
    );

    let r = wb.worksheet_range("专家推荐").unwrap();
    let row: Vec<String> = r
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(row[1], EVIL);
    assert_eq!(row[2], "缺盖章扫描件");
    assert_eq!(row[3], "是");
    let problems = &row[row.len() - 2];
    assert!(
        problems.contains("缺盖章扫描件（missing_scan）"),
        "{problems}"
    );
    assert!(
        problems.contains("格式有误：移动电话（bad_format:移动电话）"),
        "{problems}"
    );

    let r = wb.worksheet_range("汇总").unwrap();
    let rows: Vec<Vec<String>> = r
        .rows()
        .map(|x| x.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][1], "齐全");
    assert_eq!(rows[2][0], "附件2 科普资源申报推荐表");
    assert_eq!(rows[2][1], "1"); // one complete resource application
    assert_eq!(rows[1][2], "1"); // one expert missing its scan
    assert_eq!(rows[5][7], "1"); // total late

    let r = wb.worksheet_range("邮件").unwrap();
    let rows: Vec<Vec<String>> = r
        .rows()
        .map(|x| x.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3][3], "请问截止时间？");
    assert_eq!(rows[3][4], "咨询");
    assert_eq!(rows[2][5], "发送失败");
    assert!(
        rows[1][8].contains("超大附件需在2022-08-01前下载：宣传视频.mp4"),
        "{}",
        rows[1][8]
    );

    // Frozen header row and autofilter, read from the sheet XML itself.
    let f = std::fs::File::open(&path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut z.by_name("xl/worksheets/sheet4.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(
        xml.contains("<pane ySplit=\"1\" topLeftCell=\"A2\""),
        "{xml}"
    );
    assert!(xml.contains("<autoFilter ref=\"A1:"), "no autofilter");
}

#[test]
fn xlsx_converts_with_libreoffice_when_installed() {
    let Some(soffice) = ["soffice", "libreoffice"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        eprintln!("SKIP: LibreOffice not installed (CI installs libreoffice-calc-nogui)");
        return;
    };
    let (dir, _data, dump) = setup();
    let path = dir.path().join("export.xlsx");
    export::write_xlsx(&dump, &path).unwrap();
    let out = dir.path().join("lo");
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.path().join("profile").display()
    );
    // Filter options: comma, double quote, UTF-8 (76), from line 1; last -1 = every sheet.
    let status = std::process::Command::new(soffice)
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
        ])
        .arg(&out)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let sheet = out.join("export-科普资源.csv");
    let text = std::fs::read_to_string(&sheet).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; dir has {:?}",
            sheet.display(),
            std::fs::read_dir(&out).map(|d| d.count())
        )
    });
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("编号,申报单位/姓名,状态,逾期,收到时间,发件人,申报单位名称"));
    let row = lines.next().unwrap();
    assert!(row.starts_with("4,唐山市第一中学,齐全,否,"), "{row}");
    assert!(row.contains("科普讲座、科普展示"), "{row}");
}

#[test]
fn csv_has_bom_and_rfc4180_quoting() {
    let (dir, _data, dump) = setup();
    let out = dir.path().join("csv");
    let files = export::write_csv(&dump, &out).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "申报汇总.csv",
            "专家推荐.csv",
            "科普资源.csv",
            "试点县区.csv",
            "试点学校.csv",
            "邮件.csv",
            "名单.csv"
        ]
    );
    let bytes = std::fs::read(out.join("科普资源.csv")).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("编号,申报单位/姓名,状态,逾期,收到时间,发件人,申报单位名称,"));
    assert!(text.contains(",\"他说\"\"好\"\",唐山\n第二行\","), "{text}");
    assert!(text
        .contains("\r\n4,唐山市第一中学,齐全,否,2022-07-11T10:00:00+08:00,office@school.example,"));
    let mail = std::fs::read_to_string(out.join("邮件.csv")).unwrap();
    assert_eq!(mail.lines().count(), 4);
    assert!(mail.contains(
        "3,2022-07-13T10:00:00+08:00,asker@example.org,请问截止时间？,咨询,已发送,否,passwd,"
    ));
}

// ---------------------------------------------------------------- text tables

#[test]
fn text_tables_show_applications_and_messages() {
    let (_dir, data, dump) = setup();
    let apps: Vec<&DumpApplication> = dump.applications.iter().collect();
    let t = table::applications_table(&apps, apps.len());
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[0],
        "编号  申报表    申报单位/姓名                  状态          逾期  收到时间          问题"
    );
    assert!(lines[1].starts_with("4     科普资源  唐山市第一中学                 齐全          否    2022-07-11 10:00  0"), "{}", lines[1]);
    assert_eq!(lines.last().unwrap(), &"共 2 项");
    let cut = table::applications_table(&apps[..1], 2);
    assert_eq!(cut.lines().count(), 3);
    assert_eq!(
        cut.lines().last().unwrap(),
        "共 2 项，显示前 1 项（全部: list --all，或 export --xlsx 导出 Excel）"
    );

    let s = table::show_application(&dump, 4, &data).unwrap();
    assert!(
        s.contains("申报表          附件2 科普资源申报推荐表"),
        "{s}"
    );
    assert!(s.contains("科技教育资源类别  科普讲座、科普展示"), "{s}");
    assert!(
        s.contains(&format!("文件：{}", data.join("docs/scan35.jpg").display())),
        "{s}"
    );
    assert!(s.contains("已盖章，对应电子版 #31"), "{s}");
    assert!(s.ends_with("问题：无\n"), "{s}");
    let s = table::show_application(&dump, 5, &data).unwrap();
    assert!(s.contains("  - 缺盖章扫描件（missing_scan）\n"), "{s}");
    assert!(table::show_application(&dump, 99, &data).is_none());

    let m = table::show_message(&dump, 1, &data).unwrap();
    assert!(m.contains("类别            申报材料"), "{m}");
    assert!(
        m.contains("超大附件需在2022-08-01前下载：宣传视频.mp4"),
        "{m}"
    );
    assert!(table::show_message(&dump, 42, &data).is_none());
}

// ---------------------------------------------------------------- web

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A bare HTTP/1.0 client, so the test sees exactly what went over the wire.
async fn get(addr: std::net::SocketAddr, target: &str, extra: &[(&str, &str)]) -> Reply {
    request(addr, "GET", target, extra, "").await
}

/// A form POST (`application/x-www-form-urlencoded` body given as is).
async fn post(
    addr: std::net::SocketAddr,
    target: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut h = extra.to_vec();
    h.push(("Content-Type", "application/x-www-form-urlencoded"));
    let len = body.len().to_string();
    h.push(("Content-Length", &len));
    request(addr, "POST", target, &h, body).await
}

async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {target} HTTP/1.0\r\nHost: localhost\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// A logged-in session the tests send as a cookie: an account `tester` and a session
/// stored under a known id (the login itself is tested on its own below).
const SESSION: &str = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55";
const CSRF: &str = "c5rfc5rfc5rfc5rf";
const AUTH: (&str, &str) = (
    "Cookie",
    "kepu_session=5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55",
);

fn seed_session(db_path: &Path) {
    let mut db = kepu_intake::db::Db::open(db_path).unwrap();
    let _ = kepu_intake::office::accounts::add_user(&mut db, "tester", "tester-password", "test");
    db.session_insert(
        &kepu_intake::store::sha256_hex(SESSION.as_bytes()),
        &kepu_intake::db::accounts::SessionRow {
            user: "tester".into(),
            csrf: CSRF.into(),
            expires_at: "2099-01-01T00:00:00+08:00".into(),
        },
        "2022-07-21T09:00:00+08:00",
    )
    .unwrap();
}

async fn spawn(data: &Path, dump: Dump) -> std::net::SocketAddr {
    let dump = Arc::new(dump);
    let db_path = data.join("intake.db");
    seed_session(&db_path);
    let state = web::WebState {
        load: Arc::new(move || Ok(dump.clone())),
        last_poll: Some(Arc::new(|| Ok(Some(1_658_284_800)))),
        token: Some(TOKEN.into()),
        data_dir: data.to_path_buf(),
        db_path,
        secure_cookies: false,
        match_threshold: 0.4,
        scan: Default::default(),
        cfg: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            web::router(state).into_make_service_with_connect_info::<web::tls::Peer>(),
        )
        .await
        .unwrap()
    });
    addr
}

const METRICS_AUTH: (&str, &str) = ("Authorization", "Bearer s3cret-token-for-tests");

#[tokio::test]
async fn web_requires_a_login_except_healthz() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;

    let r = get(addr, "/healthz", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    for path in [
        "/",
        "/apps",
        "/apps/4",
        "/doc/35",
        "/metrics",
        "/missing-scan",
    ] {
        assert_eq!(get(addr, path, &[]).await.status, 401, "{path}");
    }
    // A browser is sent to the login form, and back afterwards.
    let r = get(addr, "/apps?late=1", &[("Accept", "text/html")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?next=%2Fapps%3Flate%3D1")
    );
    // The old shared token opens no page any more, in the URL or as a bearer.
    assert_eq!(
        get(addr, &format!("/?token={TOKEN}"), &[]).await.status,
        401
    );
    assert_eq!(get(addr, "/", &[METRICS_AUTH]).await.status, 401);
    // … only /metrics, for scrapers.
    assert_eq!(get(addr, "/metrics", &[METRICS_AUTH]).await.status, 200);
    assert_eq!(
        get(addr, "/metrics", &[("Authorization", "Bearer wrong")])
            .await
            .status,
        401
    );

    let r = get(addr, "/login", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("name=\"password\""), "{}", r.text());
    // Wrong password: 401 and the form again.
    let r = post(
        addr,
        "/login",
        &[],
        "user=tester&password=wrong-one&next=%2Fapps",
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("账号或密码不对"), "{}", r.text());
    assert!(r.header("set-cookie").is_none());
    // Right password: 303 to `next` with a session cookie.
    let r = post(
        addr,
        "/login",
        &[],
        "user=tester&password=tester-password&next=%2Fapps",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/apps"));
    let cookie = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    assert_eq!(pair.len(), "kepu_session=".len() + 64, "{pair}");
    let r = get(addr, "/apps/4", &[("Cookie", &pair)]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("唐山市第一中学"));
    assert!(r.text().contains("退出登录"));
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    // A login posted from another site is refused before the password is looked at.
    let r = post(
        addr,
        "/login",
        &[("Origin", "http://evil.example")],
        "user=tester&password=tester-password",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    let r = post(
        addr,
        "/login",
        &[("Origin", "null")],
        "user=tester&password=tester-password",
    )
    .await;
    assert_eq!(r.status, 403, "an opaque origin is not ours either");
    // An open redirect is refused: `next` stays on this site.
    let r = post(
        addr,
        "/login",
        &[],
        "user=tester&password=tester-password&next=%2F%2Fevil.example",
    )
    .await;
    assert_eq!(r.header("location").as_deref(), Some("/"));

    // Logging out needs the session's CSRF token; then the cookie opens nothing.
    let r = get(addr, "/logout", &[("Cookie", &pair)]).await;
    let page = r.text();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("the logout form carries the CSRF token")
        .to_string();
    let r = post(addr, "/logout", &[("Cookie", &pair)], "csrf=forged").await;
    assert_eq!(r.status, 403);
    let r = post(
        addr,
        "/logout",
        &[("Cookie", &pair)],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(get(addr, "/apps/4", &[("Cookie", &pair)]).await.status, 401);
}

/// Guessing is throttled per account (and the right password then waits too) and per
/// client address, in the database, so every `serve` process agrees.
#[tokio::test]
async fn web_login_is_throttled() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;
    for i in 0..kepu_intake::office::accounts::MAX_FAILS_PER_USER {
        let r = post(
            addr,
            "/login",
            &[],
            &format!("user=tester&password=guess{i}"),
        )
        .await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = post(addr, "/login", &[], "user=tester&password=tester-password").await;
    assert_eq!(r.status, 429);
    assert!(r.text().contains("分钟后再试"), "{}", r.text());
    assert!(r.header("set-cookie").is_none());
    // The same address guessing other accounts is stopped too.
    for i in 0..kepu_intake::office::accounts::MAX_FAILS_PER_ADDR {
        let _ = post(addr, "/login", &[], &format!("user=nobody{i}&password=x")).await;
    }
    let mut db = kepu_intake::db::Db::open(&data.join("intake.db")).unwrap();
    kepu_intake::office::accounts::add_user(&mut db, "fresh", "fresh-password", "test").unwrap();
    let r = post(addr, "/login", &[], "user=fresh&password=fresh-password").await;
    assert_eq!(r.status, 429, "per-address throttling");
}

/// The office's actions on the page: POST forms with the session's CSRF token call the
/// audited library functions under the logged-in user.
#[tokio::test]
async fn web_actions_need_csrf_and_are_audited() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;
    let db_path = data.join("intake.db");
    // A real application row for the action to find (the page's dump is hand-made).
    {
        let db = kepu_intake::db::Db::open(&db_path).unwrap();
        db.conn
            .execute(
                "INSERT INTO applications(id, form, applicant, applicant_key, status, late, problems, updated_at)
                 VALUES (4, 'pilot_school', '唐山市第一中学', 'k', 'complete', 1, '[]', 'x')",
                [],
            )
            .unwrap();
    }
    let r = post(addr, "/apps/4/review", &[AUTH], "state=accepted").await;
    assert_eq!(r.status, 403, "no CSRF token");
    // The workbench's receipt actions likewise (issue 18): refused without the token,
    // a plain answer when the message has no receipt.
    for path in ["/messages/1/receipt/retry", "/messages/1/receipt/approve"] {
        assert_eq!(post(addr, path, &[AUTH], "").await.status, 403, "{path}");
        let r = post(addr, path, &[AUTH], &format!("csrf={CSRF}")).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.text().contains("没有回执"), "{path}: {}", r.text());
    }
    let r = post(addr, "/apps/4/review", &[AUTH], "state=accepted&csrf=wrong").await;
    assert_eq!(r.status, 403, "wrong CSRF token");
    let r = post(
        addr,
        "/apps/4/review",
        &[],
        &format!("state=accepted&csrf={CSRF}"),
    )
    .await;
    assert_eq!(r.status, 401, "no session");
    let r = post(
        addr,
        "/apps/4/review",
        &[AUTH],
        &format!("state=returned&csrf={CSRF}"),
    )
    .await;
    assert_eq!(r.status, 400, "退回 needs a note");
    let r = post(
        addr,
        "/apps/4/review",
        &[AUTH],
        &format!("state=accepted&note=%E9%BD%90&csrf={CSRF}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/apps/4"));
    let r = post(
        addr,
        "/apps/4/late",
        &[AUTH],
        &format!("reason=%E6%9C%8D%E5%8A%A1%E5%99%A8%E5%BB%B6%E8%BF%9F&csrf={CSRF}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let db = kepu_intake::db::Db::open(&db_path).unwrap();
    let app = &db.load_applications().unwrap()[0];
    assert_eq!(app.review.state, "accepted");
    assert_eq!(
        (app.review.note.as_str(), app.review.by.as_str()),
        ("齐", "tester")
    );
    assert_eq!(app.late_excused.as_ref().unwrap().reason, "服务器延迟");
    let log = db.audit_log().unwrap();
    let mine: Vec<_> = log.iter().filter(|a| a.target == "a4").collect();
    assert_eq!(mine.len(), 2, "{log:?}");
    assert!(mine.iter().all(|a| a.user == "tester"));
    assert_eq!(mine[0].detail, "待审核 → 已受理（备注：齐）");

    // A failed receipt queued again from the page.
    db.conn
        .execute_batch(
            "INSERT INTO messages(id, source, sha256, body_sha256, size, received_at, late, recorded_at)
             VALUES (9, 'import', 's', 'b', 1, '2022-07-18T10:00:00+08:00', 0, 'x');
             INSERT INTO receipts(id, message, to_addr, status, created_at)
             VALUES (3, 9, 'office@school.example', 'failed', 'x');",
        )
        .unwrap();
    let r = post(
        addr,
        "/receipts/3/retry",
        &[AUTH],
        &format!("back=%2Fmessages%2F9&csrf={CSRF}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/messages/9"));
    assert_eq!(db.receipt(3).unwrap().unwrap().status, "pending");
    let last = db.audit_log().unwrap().pop().unwrap();
    assert_eq!(
        (
            last.action.as_str(),
            last.target.as_str(),
            last.user.as_str()
        ),
        ("receipt_retry", "r3", "tester")
    );
}

#[tokio::test]
async fn web_pages_escape_applicant_text_and_filter() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;

    let r = get(addr, "/apps/5", &[AUTH]).await;
    assert_eq!(r.status, 200);
    let body = r.text();
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;张三"),
        "{body}"
    );
    assert!(!body.contains("<script>"), "unescaped script in page");
    assert!(body.contains("缺盖章扫描件（missing_scan）"));

    let list = get(addr, "/apps?status=missing_scan", &[AUTH]).await.text();
    assert!(
        list.contains("共 1 项，第 1 / 1 页") && list.contains("/apps/5"),
        "{list}"
    );
    assert!(!list.contains("/apps/4\""));
    let found = get(addr, "/apps?q=%E4%B8%80%E4%B8%AD", &[AUTH])
        .await
        .text(); // q=一中
    assert!(
        found.contains("共 1 项，第 1 / 1 页") && found.contains("/apps/4\""),
        "{found}"
    );
    let late = get(addr, "/apps?late=1&form=expert", &[AUTH]).await.text();
    assert!(late.contains("共 1 项，第 1 / 1 页") && late.contains("/apps/5\""));

    let chase = get(addr, "/missing-scan", &[AUTH]).await.text();
    assert!(chase.contains("mailto:expert@uni.example"), "{chase}");
    assert!(!chase.contains("office@school.example"));

    let dash = get(addr, "/", &[AUTH]).await.text();
    assert!(
        dash.contains("宣传视频.mp4") && dash.contains("2022-08-01"),
        "{dash}"
    );

    let page = get(addr, "/apps/4", &[AUTH]).await.text();
    assert!(
        page.contains("<img class=\"scan\" src=\"/doc/35/preview\""),
        "{page}"
    );
    assert!(page.contains("科普讲座、科普展示"));
    assert_eq!(page.matches("href=\"/messages/1\"").count(), 1, "{page}");
    assert_eq!(get(addr, "/apps/999", &[AUTH]).await.status, 404);
    assert_eq!(get(addr, "/apps/abc", &[AUTH]).await.status, 404);
}

#[tokio::test]
async fn web_downloads_by_id_only() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;

    let r = get(addr, "/doc/35", &[AUTH]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SCAN_BYTES);
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(
        r.header("content-disposition").as_deref(),
        Some("attachment; filename=\"_____.jpg\"; filename*=UTF-8''%E7%9B%96%E7%AB%A0%E6%89%AB%E6%8F%8F%E4%BB%B6.jpg")
    );
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let r = get(addr, "/doc/35?inline=1", &[AUTH]).await;
    assert!(r
        .header("content-disposition")
        .unwrap()
        .starts_with("inline;"));

    // The office workbook straight from the page.
    let r = get(addr, "/export.xlsx", &[AUTH]).await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("filename*=UTF-8''%E7%94%B3%E6%8A%A5%E6%B1%87%E6%80%BB-"));
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(r.body)).unwrap();
    use calamine::Reader;
    let range = wb.worksheet_range("科普资源").unwrap();
    assert_eq!(
        range.rows().nth(1).unwrap()[1].to_string(),
        "唐山市第一中学"
    );

    // A stored path that climbs out of the data dir is never served.
    let r = get(addr, "/doc/51", &[AUTH]).await;
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("TOP-SECRET"));
    for target in [
        "/doc/../secret.txt",
        "/doc/..%2F..%2Fsecret.txt",
        "/doc/%2e%2e%2fsecret.txt",
        "/../secret.txt",
    ] {
        let r = get(addr, target, &[AUTH]).await;
        assert_ne!(r.status, 200, "{target}");
        assert!(!r.text().contains("TOP-SECRET"), "{target}");
    }
}

/// Issue 17: a download is typed and named by its sniffed bytes, always as an
/// attachment: HTML or an executable under any name is `application/octet-stream`
/// named `.bin`; a Word file named `.html` is offered as the `.docx` it is.
#[tokio::test]
async fn web_downloads_active_content_as_a_safe_type_and_name() {
    let (_dir, data, mut dump) = setup();
    std::fs::write(data.join("docs/h90"), b"<script>alert(1)</script>").unwrap();
    std::fs::write(data.join("docs/x91"), b"MZ\x90\x00").unwrap();
    std::fs::write(data.join("docs/w92"), b"PK-docx").unwrap();
    dump.messages.push(message(
        9,
        "sender@example.org",
        "附件",
        Some("submission"),
        vec![
            doc(90, "通知.html", "other", "html", None, "docs/h90"),
            doc(91, "setup.exe", "other", "unknown", None, "docs/x91"),
            doc(92, "申报表.html", "electronic", "docx", None, "docs/w92"),
        ],
    ));
    let addr = spawn(&data, dump).await;
    for (id, name) in [(90, "通知.bin"), (91, "setup.bin")] {
        for q in ["", "?inline=1"] {
            let r = get(addr, &format!("/doc/{id}{q}"), &[AUTH]).await;
            assert_eq!(r.status, 200);
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/octet-stream")
            );
            let disp = r.header("content-disposition").unwrap();
            assert!(disp.starts_with("attachment;"), "{disp}");
            assert!(disp.ends_with(&web::files::content_disposition("attachment", name)[12..]));
        }
    }
    let r = get(addr, "/doc/92", &[AUTH]).await;
    assert!(r
        .header("content-type")
        .unwrap()
        .contains("wordprocessingml"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("%E7%94%B3%E6%8A%A5%E8%A1%A8.docx"));
}

#[tokio::test]
async fn web_metrics_count_the_dump() {
    let (_dir, data, dump) = setup();
    let addr = spawn(&data, dump).await;
    let r = get(addr, "/metrics", &[AUTH]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let m = r.text();
    for line in [
        "kepu_messages_total{category=\"submission\"} 2",
        "kepu_messages_total{category=\"question\"} 1",
        "kepu_messages_total{category=\"spam\"} 0",
        "kepu_applications{form=\"resource\",status=\"complete\"} 1",
        "kepu_applications{form=\"expert\",status=\"missing_scan\"} 1",
        "kepu_applications{form=\"pilot_school\",status=\"complete\"} 0",
        "kepu_problems{kind=\"missing_scan\"} 1",
        "kepu_problems{kind=\"cloud_attachment\"} 1",
        "kepu_problems{kind=\"bad_format\"} 1",
        "kepu_receipts{status=\"sent\"} 2",
        "kepu_receipts{status=\"failed\"} 1",
        "kepu_last_poll_timestamp_seconds 1658284800",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line} in\n{m}");
    }
}

#[test]
fn metrics_token_comes_from_env_or_file_and_says_how_to_set_it() {
    let cfg = kepu_intake::config::WebConfig {
        listen: "127.0.0.1:0".into(),
        token_env: Some("KEPU_TEST_TOKEN_THAT_IS_NEVER_SET".into()),
        ..Default::default()
    };
    let e = web::resolve_token(&cfg).unwrap_err().to_string();
    assert!(
        e.contains("未设置 /metrics 的访问令牌") && e.contains("KEPU_TEST_TOKEN_THAT_IS_NEVER_SET"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, "from-file\n").unwrap();
    let cfg = kepu_intake::config::WebConfig {
        token_file: Some(f),
        ..cfg
    };
    assert_eq!(web::resolve_token(&cfg).unwrap(), "from-file");
}

#[tokio::test]
async fn serve_reads_the_real_database_and_stops_on_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // A free port: bind, note it, release it for the server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = kepu_intake::config::Config::default();
    cfg.storage.data_dir = dir.path().join("data");
    cfg.web.listen = format!("127.0.0.1:{port}");
    cfg.web.token_env = None;
    cfg.web.token_file = Some(token_file);
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let (cfg, stop) = (cfg.clone(), stop.clone());
        tokio::spawn(async move { web::serve(&cfg, stop).await })
    };
    let addr: std::net::SocketAddr = cfg.web.listen.parse().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");
    assert_eq!(get(addr, "/", &[]).await.status, 401);
    seed_session(&cfg.storage.db_path());
    let r = get(addr, "/", &[AUTH]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("邮件<b>0</b>"), "{}", r.text());
    let m = get(addr, "/metrics", &[METRICS_AUTH]).await.text();
    assert!(
        m.lines()
            .any(|l| l == "kepu_messages_total{category=\"submission\"} 0"),
        "{m}"
    );
    assert!(cfg.storage.db_path().exists());
    stop.cancel();
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("server did not stop on cancel")
        .unwrap();
    assert!(res.is_ok(), "{res:?}");
}

#[test]
fn xlsx_export_survives_text_beyond_excels_cell_limit() {
    use calamine::{open_workbook_auto, Reader};
    let (dir, _data, mut dump) = setup();
    let huge = "长".repeat(40_000);
    dump.messages[0].documents[0]
        .fields
        .insert("通讯地址".into(), FieldValue::Text(huge));
    let path = dir.path().join("huge.xlsx");
    export::write_xlsx(&dump, &path).unwrap();
    let mut wb = open_workbook_auto(&path).unwrap();
    let r = wb.worksheet_range("科普资源").unwrap();
    let cell = r.rows().nth(1).unwrap()[10].to_string();
    assert!(cell.starts_with("长长长"));
    assert!(
        cell.ends_with("…（超长，已截断）"),
        "{}",
        &cell[cell.len() - 40..]
    );
    assert!(cell.chars().count() <= 32_767);
}

// ---------------------------------------------------------------- over the real pipeline

/// The sample mailbox imported by the binary, then read back through the real loader:
/// the workbook and the web page must show what `dump --json` holds, and a download
/// must return the stored bytes.
#[tokio::test]
async fn real_database_feeds_the_workbook_and_the_page() {
    use crate::support::intake::Intake;
    use sha2::{Digest, Sha256};
    let it = Intake::new(None);
    let mailbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-mailbox");
    // OCR and LibreOffice can take over run_ok's 60 s on a loaded machine.
    crate::browser::import_slowly(&it, &[&mailbox]);

    // `status` speaks the office's words: receipt statuses and problems by their labels
    // (code kept in brackets), cloud attachments as sentences, no bare codes.
    let status = it.run_ok(&["status"]);
    assert!(status.contains("不发送(suppressed)"), "{status}");
    assert!(status.contains("超大附件需在2022-08-03前下载"), "{status}");
    assert!(!status.contains("问题：cloud_attachment"), "{status}");

    let mut cfg = kepu_intake::config::Config::default();
    cfg.storage.data_dir = it.data_dir.clone();
    let db = kepu_intake::db::Db::open(&cfg.storage.db_path()).unwrap();
    let dump = db.load_dump().unwrap();
    let museum = dump
        .applications
        .iter()
        .find(|a| a.applicant == "唐山市科技馆")
        .expect("the sample's resource application");

    // Workbook from the real state.
    use calamine::Reader;
    let xlsx = it.dir().join("real.xlsx");
    export::write_xlsx(&dump, &xlsx).unwrap();
    let mut wb = calamine::open_workbook_auto(&xlsx).unwrap();
    let r = wb.worksheet_range("科普资源").unwrap();
    let row: Vec<String> = r
        .rows()
        .find(|row| row[1] == calamine::Data::String("唐山市科技馆".into()))
        .expect("row of 唐山市科技馆")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(row[0], museum.id.to_string());
    assert_eq!(row[2], "齐全");
    assert_eq!(row[11], "科普讲座、科普展示、科普资源包");

    // The page over the same database.
    seed_session(&cfg.storage.db_path());
    let state = web::db_state(&cfg, Some(TOKEN.to_string()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, web::router(state)).await.unwrap() });
    let page = get(addr, &format!("/apps/{}", museum.id), &[AUTH]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("唐山市科技馆"));
    let scan_id = museum.scan.expect("the museum's scan");
    let scan = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .find(|d| d.id == scan_id)
        .unwrap();
    let r = get(addr, &format!("/doc/{scan_id}"), &[AUTH]).await;
    assert_eq!(r.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&r.body)), scan.sha256);
    let metrics = get(addr, "/metrics", &[AUTH]).await.text();
    let apps = dump.applications.len();
    let sum: usize = metrics
        .lines()
        .filter(|l| l.starts_with("kepu_applications{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(sum, apps);
    assert!(
        metrics.contains("kepu_messages_total{category=\"bounce\"} 1"),
        "{metrics}"
    );
}

/// `status` counts with SQL and `list` reads only the applications; both must report
/// exactly what the whole-state loader (`dump --json`, the web page) holds, and the
/// problem query must use its partial indexes instead of reading every row.
#[test]
fn status_and_list_queries_agree_with_the_dump() {
    use crate::support::intake::Intake;
    use kepu_intake::report::status;
    let it = Intake::new(None);
    let mailbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-mailbox");
    crate::browser::import_slowly(&it, &[&mailbox]);
    let db = kepu_intake::db::Db::open(&it.data_dir.join("intake.db")).unwrap();
    let dump = db.load_dump().unwrap();
    assert!(dump.applications.len() >= 3 && dump.messages.len() >= 5);

    let slow = status::compute(&dump, Some("2022-07-21T08:00:00+08:00".into()), true);
    let counts = db.status_counts().unwrap();
    let quick = status::from_counts(&counts, Some("2022-07-21T08:00:00+08:00".into()), true);
    assert_eq!(
        serde_json::to_value(&quick).unwrap(),
        serde_json::to_value(&slow).unwrap()
    );
    assert!(!slow.problems.is_empty() && !slow.cloud_attachments.is_empty());

    // Each application's copied sender and receipt time are those of its electronic
    // version's message, else its scan's (worked out here from the messages).
    let apps = db.load_applications().unwrap();
    assert_eq!(apps.len(), dump.applications.len());
    let origin = |doc: Option<i64>| {
        dump.messages
            .iter()
            .find(|m| doc.is_some_and(|d| m.documents.iter().any(|x| x.id == d)))
    };
    for a in &apps {
        let (e, s) = (origin(a.electronic), origin(a.scan));
        let want_email = e
            .and_then(|m| m.from.clone())
            .or(s.and_then(|m| m.from.clone()));
        let want_time = e.or(s).map(|m| m.received_at.clone());
        assert_eq!(
            (&a.email, &a.received_at),
            (&want_email, &want_time),
            "{a:?}"
        );
        assert!(a.email.is_some(), "application {} without a sender", a.id);
    }
    assert_eq!(
        serde_json::to_value(&apps).unwrap(),
        serde_json::to_value(&dump.applications).unwrap()
    );

    // Filters run in SQL; each combination equals filtering the whole list here.
    use kepu_intake::db::dump::AppQuery;
    let forms = [None, Some("expert"), Some("resource"), Some("pilot_school")];
    let statuses = [
        None,
        Some("complete"),
        Some("missing_scan"),
        Some("missing_electronic"),
    ];
    let mut nonempty = 0;
    for form in forms {
        for st in statuses {
            for late in [false, true] {
                let q = AppQuery {
                    form: form.map(str::to_string),
                    status: st.map(str::to_string),
                    late,
                    limit: None,
                };
                let want: Vec<i64> = apps
                    .iter()
                    .filter(|a| form.is_none_or(|f| a.form == f))
                    .filter(|a| st.is_none_or(|s| a.status == s))
                    .filter(|a| !late || a.late)
                    .map(|a| a.id)
                    .collect();
                let (got, total) = db.query_applications(&q).unwrap();
                let got: Vec<i64> = got.iter().map(|a| a.id).collect();
                assert_eq!((&got, total), (&want, want.len()), "{q:?}");
                nonempty += usize::from(!want.is_empty() && (form.is_some() || st.is_some()));
            }
        }
    }
    assert!(
        nonempty >= 2,
        "the filters were only tried on empty results"
    );
    // A limit cuts the rows, not the total; the table says that it was cut.
    let (first, total) = db
        .query_applications(&AppQuery {
            limit: Some(1),
            ..AppQuery::default()
        })
        .unwrap();
    assert_eq!((first.len(), total), (1, apps.len()));
    assert_eq!(first[0].id, apps[0].id);
    let cut = it.run_ok(&["list", "--limit", "1"]);
    assert!(
        cut.trim_end().ends_with(&format!(
            "共 {} 项，显示前 1 项（全部: list --all，或 export --xlsx 导出 Excel）",
            apps.len()
        )),
        "{cut}"
    );
    assert_eq!(cut.lines().count(), 3, "{cut}");
    let all = it.run_ok(&["list", "--all"]);
    assert_eq!(all.lines().count(), apps.len() + 2, "{all}");
    assert!(
        all.trim_end().ends_with(&format!("共 {} 项", apps.len())),
        "{all}"
    );
    // The CLI prints the same: status --json and list --json over this database.
    let cli: serde_json::Value = serde_json::from_str(&it.run_ok(&["status", "--json"])).unwrap();
    assert_eq!(
        cli["by_form_status"],
        serde_json::to_value(&slow.by_form_status).unwrap()
    );
    assert_eq!(
        cli["problems"],
        serde_json::to_value(&slow.problems).unwrap()
    );
    let listed: serde_json::Value = serde_json::from_str(&it.run_ok(&["list", "--json"])).unwrap();
    assert_eq!(listed, serde_json::to_value(&dump.applications).unwrap());

    let plan: Vec<String> = db
        .conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT message, problems, seq FROM documents WHERE problems != '[]'",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter().any(|p| p.contains("documents_problems")),
        "{plan:?}"
    );

    // A database from before migration 3 (no copied senders): opening it migrates
    // and fills them, so `list` shows addresses at once, before any rebuild.
    drop(db);
    let path = it.data_dir.join("intake.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            // Migrations 11 (page look), 10 (seal text), 9 (receipt view indexes), 8
            // (office), 7 (roster), 6 (hand files), 5 (receipts) and 4 (accounts) undone,
            // then 3.
            "ALTER TABLE documents DROP COLUMN page_look;
             ALTER TABLE documents DROP COLUMN seal_text;
             DROP INDEX messages_from; DROP INDEX applications_email;
             DROP INDEX applications_electronic; DROP INDEX applications_scan;
             DROP TABLE audit; DROP TABLE reviews; DROP TABLE late_excuses;
             DROP TABLE removed_messages; DROP TABLE sessions; DROP TABLE users;
             DROP TABLE login_failures;
             DROP TABLE reminders; DROP TABLE roster_assignments;
             DROP TABLE hand_files;
             DROP INDEX receipts_to_key; DROP INDEX receipts_sent_at;
             ALTER TABLE receipts DROP COLUMN to_key;
             ALTER TABLE receipts DROP COLUMN approved_by;
             ALTER TABLE receipts DROP COLUMN approved_at;
             ALTER TABLE receipts DROP COLUMN previewed_at;
             DROP INDEX messages_origin; ALTER TABLE messages DROP COLUMN account;
             DROP TABLE mailbox_state;
             CREATE TABLE mailbox_state (mailbox TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL,
                 last_uid INTEGER NOT NULL, last_poll_at TEXT);
             DROP INDEX messages_counts; DROP INDEX applications_counts;
             DROP TABLE form_cache;
             ALTER TABLE applications DROP COLUMN email;
             ALTER TABLE applications DROP COLUMN received_at;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let db = kepu_intake::db::Db::open(&path).unwrap();
    assert_eq!(
        db.schema_version().unwrap(),
        kepu_intake::db::schema::latest()
    );
    assert_eq!(
        serde_json::to_value(db.load_applications().unwrap()).unwrap(),
        serde_json::to_value(&apps).unwrap()
    );
}

/// The web page keeps its last dump until another connection commits: a read-only
/// command leaves it in place, an import replaces it with one that holds the new mail
/// and equals a fresh load.
#[test]
fn web_cache_reloads_only_after_a_commit() {
    use crate::support::intake::Intake;
    let it = Intake::new(None);
    let mail = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail");
    let import = |name: &str| {
        let path = mail.join(name);
        it.run_ok(&["import", path.to_str().unwrap()]);
    };
    import("netease_126_gbk.eml");
    let db_path = it.data_dir.join("intake.db");
    let cache = web::cache::DumpCache::new(db_path.clone());
    let first = cache.load().unwrap();
    assert_eq!(first.messages.len(), 1);
    assert!(
        Arc::ptr_eq(&first, &cache.load().unwrap()),
        "reloaded although nothing was committed"
    );
    it.run_ok(&["status"]);
    assert!(
        Arc::ptr_eq(&first, &cache.load().unwrap()),
        "a read-only command made it reload"
    );
    import("forwarded_rfc822.eml");
    let second = cache.load().unwrap();
    assert!(!Arc::ptr_eq(&first, &second), "an import was not noticed");
    assert_eq!(second.messages.len(), 2);
    let fresh = kepu_intake::db::Db::open(&db_path)
        .unwrap()
        .load_dump()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&*second).unwrap(),
        serde_json::to_value(&fresh).unwrap()
    );
}
