//! The operators' page under test: an account made as the guide says (password on
//! stdin), `kepu-intake serve` on the config's `[web] listen` port, and a browser
//! logged in through the login form. Shared by the Chromium tests (`browser.rs`,
//! `workbench*.rs`).

use super::intake::{wait_output, Intake};
use crate::browser::{wait_http, Browser, Killed};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

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
