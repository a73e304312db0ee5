//! The operators' web page as a user sees it: `kepu-intake serve` over a database built
//! by importing the sample mailbox plus an expert form whose name is
//! `<script>alert(1)</script>张三`, driven in headless Chromium through chromedriver's
//! WebDriver HTTP API. Checks the login (redirect without one, a wrong password, the
//! clerk's account made with `user add`), the dashboard counts
//! against `dump --json`, a search typed into the filter form, the hostile name shown
//! as text with no script element or alert, the missing-scan list with its addresses,
//! and saves screenshots under `target/test-artifacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/setup test` installs them).
//! It fails when they are missing; only `KEPU_SKIP_BROWSER=1` skips it, so CI cannot
//! pass it by accident.

use crate::support::intake::{wait_output, Intake};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-test-token-8f3a";
const CLERK_PASSWORD: &str = "clerk-password-2022";
const TOKEN_ENV: &str = "KEPU_BROWSER_TEST_TOKEN";
const EVIL: &str = "<script>alert(1)</script>张三";
const EVIL_SENDER: &str = "expert-li@ncst.example";

/// The flags this machine needs: no sandbox (root in a container), and nothing that
/// reaches out to the network (the closed network refuses it and Chromium then stalls).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
    "--lang=zh-CN",
];

// ---------------------------------------------------------------- small helpers

use crate::support::base64::encode as b64_encode;

fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A free loopback port: bind, note it, release it for the child.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request with `Connection: close`: (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    // chromedriver keeps the connection open despite `Connection: close`, so the body
    // is read by its Content-Length, not to the end of the stream.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16384];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the header end",
            ));
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    let mut body = raw.split_off(split + 4);
    match length {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            s.read_to_end(&mut body)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

pub(crate) fn wait_http(port: u16, path: &str, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if matches!(http(port, "GET", path, None), Ok((200, _))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not answer {path} on port {port} within 30 s");
}

/// A child process killed on drop, so a failing assertion leaves nothing running.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------- WebDriver

/// A WebDriver session on a chromedriver child; the session is deleted (closing
/// Chromium) before chromedriver is killed.
pub(crate) struct Browser {
    port: u16,
    session: String,
    _driver: Killed,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run chromedriver ({e}): install chromium and chromium-driver (scripts/setup test), or set KEPU_SKIP_BROWSER=1 to skip")
            });
        let driver = Killed(driver);
        wait_http(port, "/status", "chromedriver");
        // A new empty profile per run: nothing left from an earlier run can matter.
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium_binary(), "args": args}
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&caps.to_string()))
            .expect("POST /session to chromedriver");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session ({status}): {body}"))
            .to_string();
        Browser {
            port,
            session,
            _driver: driver,
            _profile: profile,
        }
    }

    /// A command on the session: Ok(value) or Err((error code, message)).
    pub(crate) fn cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, String)> {
        let body = body.map(|b| b.to_string());
        let full = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.port, method, &full, body.as_deref())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON ({e}): {text}"));
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status == 200 {
            Ok(value)
        } else {
            Err((
                value["error"].as_str().unwrap_or("").to_string(),
                value["message"].as_str().unwrap_or("").to_string(),
            ))
        }
    }

    pub(crate) fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.cmd(method, path, body)
            .unwrap_or_else(|(code, msg)| panic!("WebDriver {method} {path}: {code}: {msg}"))
    }

    pub(crate) fn goto(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({ "url": url })));
    }

    pub(crate) fn url(&self) -> String {
        self.ok("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The URL once `done` holds for it (a click on a submit button can return before
    /// the navigation it starts has committed), or the last one seen after 15 s.
    pub(crate) fn wait_url(&self, done: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let url = self.url();
            if done(&url) || t0.elapsed() > Duration::from_secs(15) {
                return url;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn title(&self) -> String {
        self.ok("GET", "/title", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Element ids matching a CSS selector, under `from` (an element) or the document.
    pub(crate) fn find_all(&self, css: &str, from: Option<&str>) -> Vec<String> {
        let path = match from {
            Some(e) => format!("/element/{e}/elements"),
            None => "/elements".to_string(),
        };
        let v = self.ok(
            "POST",
            &path,
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_object()?.values().next()?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the first element matching `css` once `done` holds for it (a form
    /// post that returns to the same URL gives no URL to wait for), or the last seen.
    fn wait_text(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            // The page may be replaced between finding and reading: errors just retry.
            let text = self
                .cmd(
                    "POST",
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .ok()
                .and_then(|v| {
                    let id = v.as_object()?.values().next()?.as_str()?.to_string();
                    let t = self.cmd("GET", &format!("/element/{id}/text"), None).ok()?;
                    t.as_str().map(String::from)
                })
                .unwrap_or_default();
            if done(&text) || t0.elapsed() > Duration::from_secs(15) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn find(&self, css: &str) -> String {
        let mut all = self.find_all(css, None);
        assert!(!all.is_empty(), "no element {css} on {}", self.url());
        all.swap_remove(0)
    }

    /// The rendered text of an element, as the user reads it.
    pub(crate) fn text(&self, el: &str) -> String {
        self.ok("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) fn property(&self, el: &str, name: &str) -> String {
        self.ok("GET", &format!("/element/{el}/property/{name}"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) fn click(&self, el: &str) {
        self.ok("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    pub(crate) fn type_text(&self, el: &str, s: &str) {
        self.ok(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": s })),
        );
    }

    /// Rows of the first table under the page: each a list of cell texts.
    pub(crate) fn table_rows(&self, table: &str) -> Vec<Vec<String>> {
        self.find_all("tbody tr", Some(table))
            .iter()
            .map(|tr| {
                self.find_all("td", Some(tr))
                    .iter()
                    .map(|td| self.text(td))
                    .collect()
            })
            .collect()
    }

    pub(crate) fn header_cells(&self, table: &str) -> Vec<String> {
        self.find_all("thead th", Some(table))
            .iter()
            .map(|th| self.text(th))
            .collect()
    }

    /// A PNG of the viewport, written to `path`.
    pub(crate) fn screenshot(&self, path: &Path) -> Vec<u8> {
        let v = self.ok("GET", "/screenshot", None);
        let png = b64_decode(v.as_str().unwrap_or(""));
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn chromium_binary() -> String {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/usr/bin/chromium")
        .to_string()
}

// ---------------------------------------------------------------- the data

/// The golden expert form with its name (张伟) replaced by the hostile one, re-zipped.
fn evil_docx() -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/forms/expert_pydocx.docx");
    let mut zin = zip::ZipArchive::new(std::fs::File::open(&src).unwrap()).unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zout = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut replaced = false;
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            if name == "word/document.xml" {
                let xml = String::from_utf8(bytes).unwrap();
                let from = "<w:t>张伟</w:t>";
                assert!(xml.contains(from), "the fixture's name cell changed");
                replaced = true;
                bytes = xml
                    .replacen(
                        from,
                        "<w:t>&lt;script&gt;alert(1)&lt;/script&gt;张三</w:t>",
                        1,
                    )
                    .into_bytes();
            }
            zout.start_file(name, o).unwrap();
            zout.write_all(&bytes).unwrap();
        }
        assert!(replaced, "no word/document.xml in the fixture");
        zout.finish().unwrap();
    }
    buf.into_inner()
}

/// A submission mail carrying the hostile expert form and no scan.
fn evil_mail() -> Vec<u8> {
    let mut raw = format!(
        "Received: from mail.ncst.example by mx.126.com; Mon, 18 Jul 2022 10:32:05 +0800\r\n\
         From: =?UTF-8?B?{}?= <{EVIL_SENDER}>\r\n\
         To: tsqsnkj@126.com\r\n\
         Subject: =?UTF-8?B?{}?=\r\n\
         Date: Mon, 18 Jul 2022 10:31:40 +0800\r\n\
         Message-ID: <browser-evil@ncst.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {}\r\n\
         --b1\r\n\
         Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
         Content-Disposition: attachment; filename*=UTF-8''%E4%B8%93%E5%AE%B6%E6%8E%A8%E8%8D%90%E8%A1%A8.docx\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n",
        b64_encode("李老师".as_bytes()),
        b64_encode("附件1 专家推荐表申报".as_bytes()),
        b64_encode("您好，附件是专家推荐表，盖章扫描件随后补交。".as_bytes()),
    )
    .into_bytes();
    for line in b64_encode(&evil_docx()).as_bytes().chunks(76) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--b1--\r\n");
    raw
}

/// `import` with a generous deadline: the sample mailbox's OCR and LibreOffice
/// conversions take a minute on a loaded 2-core machine, past `run_ok`'s 60 s.
pub fn import_slowly(it: &Intake, paths: &[&Path]) {
    let mut args = vec!["import".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let child = it
        .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kepu-intake import");
    let (status, out, err) = wait_output(child, Duration::from_secs(600), &["import"]);
    assert!(status.success(), "import failed ({status}):\n{err}\n{out}");
}

pub(crate) fn artifacts_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; artefacts go beside it, in the target dir.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real screenshot, not an empty or broken one: PNG signature, the window's width,
/// many colours (anti-aliased text), and the navigation bar's blue at the top.
fn assert_real_png(png: &[u8], path: &Path) {
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        (1000..=1280).contains(&w) && (800..=1600).contains(&h),
        "{}: {w}×{h}",
        path.display()
    );
    assert!(
        png.len() > 10_000,
        "{}: only {} bytes",
        path.display(),
        png.len()
    );
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let colours: BTreeSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 20,
        "{}: only {} colours",
        path.display(),
        colours.len()
    );
    // nav{background:#1f4e79}: the first rows of pixels are the navigation bar.
    let nav = img.get_pixel(w - 5, 5).0;
    assert_eq!(
        nav,
        [0x1f, 0x4e, 0x79],
        "{}: no navigation bar",
        path.display()
    );
}

// ---------------------------------------------------------------- the test

#[test]
fn web_page_in_headless_chromium() {
    if std::env::var("KEPU_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SKIP: KEPU_SKIP_BROWSER=1");
        return;
    }

    // The database: the sample mailbox plus the hostile expert form.
    let it = Intake::new(None);
    let extra = it.dir().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("evil.eml"), evil_mail()).unwrap();
    let mailbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-mailbox");
    import_slowly(&it, &[&mailbox, &extra]);
    let dump = it.dump();
    let apps = dump["applications"].as_array().unwrap().clone();
    let msgs = dump["messages"].as_array().unwrap().clone();
    let evil: Vec<&Value> = apps.iter().filter(|a| a["applicant"] == EVIL).collect();
    assert_eq!(
        evil.len(),
        1,
        "the hostile form is one application: {apps:#?}"
    );
    assert_eq!(evil[0]["status"], "missing_scan");
    let count = |pred: &dyn Fn(&Value) -> bool| apps.iter().filter(|a| pred(a)).count();

    // The server, as an operator starts it.
    let port = free_port();
    let mut cfg = std::fs::read_to_string(&it.config).unwrap();
    cfg.push_str(&format!(
        "\n[web]\nlisten = \"127.0.0.1:{port}\"\ntoken_env = \"{TOKEN_ENV}\"\n"
    ));
    std::fs::write(&it.config, cfg).unwrap();
    // The clerk's account, made as the guide says (password on stdin).
    crate::support::web::add_user(&it, "clerk", CLERK_PASSWORD);
    let _server = crate::support::web::serve(&it, port, &[(TOKEN_ENV, TOKEN)]);
    let base = format!("http://127.0.0.1:{port}");

    let b = Browser::start();
    let shots = artifacts_dir();

    // 1. Without a login (a shared token in the URL opens nothing any more) the user
    //    is sent to the login form and sees no data.
    for url in [format!("{base}/"), format!("{base}/apps?token={TOKEN}")] {
        b.goto(&url);
        let at = b.wait_url(|u| u.contains("/login"));
        assert!(at.contains("/login?next="), "{url} → {at}");
        assert!(b.title().starts_with("登录"), "{url}: {}", b.title());
        let body = b.text(&b.find("body"));
        assert!(
            !body.contains("申报收件概览") && !body.contains("张三"),
            "{url}: {body}"
        );
        assert!(
            b.find_all("table", None).is_empty(),
            "{url}: a table without a login"
        );
    }
    // A wrong password: the form again, with the reason.
    b.type_text(&b.find("input[name='user']"), "clerk");
    b.type_text(&b.find("input[name='password']"), "not-the-password");
    b.click(&b.find("form.login button[type='submit']"));
    let err = b.wait_text("#login-error", |t| t.contains("账号或密码不对"));
    assert!(err.contains("账号或密码不对"), "{err:?}");
    let path = shots.join("web-login.png");
    let png = b.screenshot(&path);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // 2. Logged in with the clerk's account: the dashboard's cards and table equal the
    //    database.
    b.goto(&format!("{base}/"));
    b.wait_url(|u| u.contains("/login"));
    b.type_text(&b.find("input[name='user']"), "clerk");
    b.type_text(&b.find("input[name='password']"), CLERK_PASSWORD);
    b.click(&b.find("form.login button[type='submit']"));
    let url = b.wait_url(|u| !u.contains("/login"));
    assert!(
        url.ends_with(&format!("{base}/")) || url.ends_with('/'),
        "{url}"
    );
    assert!(b.title().starts_with("申报收件概览"), "{}", b.title());
    let mut cards = std::collections::BTreeMap::new();
    for card in b.find_all(".card", None) {
        let t = b.text(&card);
        let (label, n) = t.rsplit_once('\n').unwrap_or_else(|| panic!("card {t:?}"));
        cards.insert(label.trim().to_string(), n.trim().parse::<usize>().unwrap());
    }
    let chase = count(&|a| a["status"] == "missing_scan" || a["status"] == "unstamped_scan");
    let want = [
        ("邮件", msgs.len()),
        ("申报", apps.len()),
        ("材料齐全", count(&|a| a["status"] == "complete")),
        ("待补扫描件", chase),
        ("逾期申报", count(&|a| a["late"] == true)),
    ];
    for (label, n) in want {
        assert_eq!(cards.get(label), Some(&n), "card {label}: {cards:?}");
    }
    assert!(
        chase >= 1 && apps.len() >= 3,
        "too little data to show anything"
    );
    let table = b.find("table");
    let header = b.header_cells(&table);
    let rows = b.table_rows(&table);
    assert_eq!(rows.len(), 4, "one row per form: {rows:?}");
    for form in kepu_intake::model::FormKey::all() {
        let row = rows
            .iter()
            .find(|r| r[0] == form.title_zh())
            .unwrap_or_else(|| panic!("no row {} in {rows:?}", form.title_zh()));
        for status in kepu_intake::domain::AppStatus::ALL {
            let col = header
                .iter()
                .position(|h| h == status.label_zh())
                .unwrap_or_else(|| panic!("no column {status} in {header:?}"));
            let n = count(&|a| a["form"] == form.as_str() && a["status"] == status.as_str());
            assert_eq!(row[col], n.to_string(), "{} × {status}", form.title_zh());
        }
    }
    let path = shots.join("web-dashboard.png");
    let png = b.screenshot(&path);
    assert_real_png(&png, &path);

    // 3. The list, reached by clicking the navigation (the session cookie goes along),
    //    then a search typed into the filter form with a status picked.
    b.click(&b.find("nav a[href='/apps']"));
    let url = b.wait_url(|u| u.ends_with("/apps"));
    assert!(url.ends_with("/apps"), "{url}");
    let list = b.find("table");
    assert_eq!(b.table_rows(&list).len(), apps.len());
    assert!(b
        .text(&b.find("main"))
        .contains(&format!("共 {} 项", apps.len())));
    b.type_text(&b.find("input[name='q']"), "script");
    b.click(&b.find("select[name='status'] option[value='missing_scan']"));
    b.click(&b.find("form.filters button[type='submit']"));
    let url = b.wait_url(|u| u.contains("status=missing_scan"));
    assert!(
        url.contains("status=missing_scan") && url.contains("q=script"),
        "{url}"
    );
    let rows = b.table_rows(&b.find("table"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(b.text(&b.find("main")).contains("共 1 项"));
    // The name cell reads exactly as the form gave it: the markup is text.
    assert_eq!(rows[0][2], EVIL, "{rows:?}");
    assert_eq!(rows[0][3], "缺盖章扫描件");
    assert_eq!(rows[0][6], EVIL_SENDER);
    assert!(
        b.find_all("script", None).is_empty(),
        "a script element exists"
    );
    match b.cmd("GET", "/alert/text", None) {
        Err((code, _)) => assert_eq!(code, "no such alert"),
        Ok(text) => panic!("an alert is open: {text}"),
    }
    let path = shots.join("web-apps-search.png");
    let png = b.screenshot(&path);
    assert_real_png(&png, &path);

    // 4. Its page: the heading carries the name as text too.
    b.click(&b.find("tbody tr td a[href^='/apps/']"));
    let url = b.wait_url(|u| u.contains("/apps/"));
    assert!(url.contains("/apps/"), "{url}");
    let h1 = b.text(&b.find("h1"));
    assert!(h1.ends_with(EVIL), "{h1}");
    assert!(b.find_all("script", None).is_empty());
    assert!(b.cmd("GET", "/alert/text", None).is_err());

    // 4b. The office's decision, clicked on that page: 退回 needs a note; saved under
    //     the logged-in clerk, shown with who, in the database and the audit log.
    let app_url = url.clone();
    b.click(&b.find("form.review input[name='state'][value='returned']"));
    b.type_text(
        &b.find("form.review textarea[name='note']"),
        "请补盖章扫描件",
    );
    b.click(&b.find("form.review button[type='submit']"));
    let state = b.wait_text("#review p", |t| t.contains("退回"));
    assert!(
        state.contains("退回") && state.contains("clerk") && state.contains("请补盖章扫描件"),
        "{state}"
    );
    assert_eq!(b.url(), app_url, "back on the application's page");
    let d = it.dump();
    let app = d["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["applicant"] == EVIL)
        .unwrap();
    assert_eq!(app["review"]["state"], "returned");
    assert_eq!(app["review"]["by"], "clerk");
    let audit = d["audit"].as_array().unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "review" && a["user"] == "clerk"),
        "{audit:?}"
    );
    // The audit log page, reached from the navigation bar.
    b.click(&b.find("nav a[href='/audit']"));
    b.wait_url(|u| u.ends_with("/audit"));
    let rows = b.table_rows(&b.find("table"));
    assert!(
        rows.first()
            .is_some_and(|r| r[1] == "clerk" && r[2] == "审核" && r[4].contains("待审核 → 退回")),
        "{rows:?}"
    );
    b.goto(&app_url); // from the top, for the picture
    let path = shots.join("web-review.png");
    let png = b.screenshot(&path);
    // A long page (its scroll bar covers the corner `assert_real_png` looks at).
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);

    // 5. Missing scans: every application to chase, with the addresses to write to.
    b.click(&b.find("nav a[href='/missing-scan']"));
    let url = b.wait_url(|u| u.ends_with("/missing-scan"));
    assert!(url.ends_with("/missing-scan"), "{url}");
    let rows = b.table_rows(&b.find("table"));
    let mut want_ids: Vec<String> = apps
        .iter()
        .filter(|a| a["status"] == "missing_scan" || a["status"] == "unstamped_scan")
        .map(|a| a["id"].to_string())
        .collect();
    let mut got_ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    want_ids.sort();
    got_ids.sort();
    assert_eq!(got_ids, want_ids);
    let want_mail: BTreeSet<String> = apps
        .iter()
        .filter(|a| a["status"] == "missing_scan" || a["status"] == "unstamped_scan")
        .filter_map(|a| a["email"].as_str().map(String::from))
        .collect();
    assert!(want_mail.contains(EVIL_SENDER), "{want_mail:?}");
    let shown: BTreeSet<String> = b
        .property(&b.find("textarea"), "value")
        .split("; ")
        .map(String::from)
        .collect();
    assert_eq!(shown, want_mail);
    for r in &rows {
        assert!(want_mail.contains(&r[6]), "row sender {r:?}");
    }
    let path = shots.join("web-missing-scan.png");
    let png = b.screenshot(&path);
    assert_real_png(&png, &path);
}
