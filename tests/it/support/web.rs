//! The operators' page under test: an account made as the guide says (password on
//! stdin), `kepu-intake serve` on the config's `[web] listen` port, and a browser
//! logged in through the login form; a form submitted and its answer waited for, a
//! screenshot checked. Shared by the Chromium tests (`browser.rs`, `workbench*.rs`).

use super::intake::{wait_output, Intake};
use crate::browser::{artifacts_dir, wait_http, Browser, Killed};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `kepu-intake user add NAME`, the password on stdin; it must succeed.
pub fn add_user(it: &Intake, name: &str, password: &str) {
    let mut add = it
        .command(&["user", "add", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kepu-intake user add");
    writeln!(add.stdin.take().unwrap(), "{password}").unwrap();
    let (st, _, err) = wait_output(add, Duration::from_secs(60), &["user", "add"]);
    assert!(st.success(), "user add {name}: {err}");
}

/// `kepu-intake serve` with `env` added (its stderr in `serve.stderr` beside the
/// config), answering `/healthz` on `port`; killed on drop.
pub fn serve(it: &Intake, port: u16, env: &[(&str, &str)]) -> Killed {
    let mut cmd = it.command(&["serve"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let server = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(it.dir().join("serve.stderr")).unwrap())
        .spawn()
        .expect("spawn kepu-intake serve");
    let killed = Killed(server);
    wait_http(port, "/healthz", "kepu-intake serve");
    killed
}

/// Opens `url` (a page that needs a login), signs in on the login form it leads to,
/// and returns the URL the browser is sent back to.
pub fn log_in(b: &Browser, url: &str, user: &str, password: &str) -> String {
    b.goto(url);
    b.wait_url(|u| u.contains("/login"));
    b.type_text(&b.find("input[name='user']"), user);
    b.type_text(&b.find("input[name='password']"), password);
    b.click(&b.find("form.login button[type='submit']"));
    b.wait_url(|u| !u.contains("/login"))
}

/// The first column of the page's first table (one WebDriver call per row, not per
/// cell: a 50-row page read cell by cell costs seconds).
pub fn first_column(b: &Browser) -> Vec<String> {
    b.find_all("table tbody tr td:first-child", None)
        .iter()
        .map(|td| b.text(td))
        .collect()
}

/// A screenshot of the page as the clerk sees it: a real PNG with the navigation bar
/// (looked for left of where a long page's scroll bar is).
pub fn shot(b: &Browser, name: &str) {
    let path = artifacts_dir().join(format!("workbench-{name}.png"));
    let png = b.screenshot(&path);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert!(
        img.width() >= 1000 && png.len() > 10_000,
        "{}",
        path.display()
    );
    let nav = img.get_pixel(img.width() - 40, 3).0;
    assert_eq!(
        nav,
        [0x1f, 0x4e, 0x79],
        "{}: no navigation bar",
        path.display()
    );
}

/// Clicks the submit button of the first `form_css` form and waits for the page the
/// POST redirects to (303 → GET) to be there.
pub fn submit(b: &Browser, form_css: &str, expect_url: impl Fn(&str) -> bool) -> String {
    let form = b.find(form_css);
    let button = b
        .find_all("button[type='submit']", Some(&form))
        .pop()
        .unwrap_or_else(|| panic!("{form_css} has no submit button"));
    let before = b.find("h1");
    b.click(&button);
    // The old page's heading goes stale once the browser has navigated.
    let t0 = Instant::now();
    while b
        .cmd("GET", &format!("/element/{before}/text"), None)
        .is_ok()
        && t0.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = b.wait_url(expect_url);
    let title = b.title();
    assert!(
        !title.starts_with("操作未完成")
            && !title.starts_with("出错")
            && !title.starts_with("请求被拒绝"),
        "{form_css}: {title}: {}",
        b.text(&b.find("main"))
    );
    url
}
