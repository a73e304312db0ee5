//! A private Dovecot IMAP server for the receipts' Sent-folder copy: implicit TLS on a
//! loopback port, one user, a `已发送` folder created on first login. Stopped by pid
//! when the handle drops.

use crate::smtp_support::make_certs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "kepu";
pub const PASSWORD: &str = "imap-secret";
pub const SENT: &str = "已发送";

pub struct Dovecot {
    child: Child,
    pub port: u16,
    pub ca: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("kd")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let certs = make_certs(d);
        std::fs::set_permissions(&certs.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(
            d.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let mail = d.join("mail");
        std::fs::create_dir(&mail).unwrap();
        let _ = Command::new("chown").arg("mail:mail").arg(&mail).status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = d.display();
        let conf = format!(
            r#"base_dir = {p}/run
log_path = {p}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{p}/leaf.pem
ssl_key = <{p}/leaf.key
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{p}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {p}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={p}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox {SENT} {{
    auto = create
    special_use = \Sent
  }}
}}
"#
        );
        let conf_path = d.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .spawn()
            .expect("start dovecot (Debian dovecot-imapd)");
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "dovecot did not listen: {}",
                std::fs::read_to_string(d.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Dovecot {
            child,
            port,
            ca: certs.ca,
            dir,
        }
    }

    /// Raw messages stored in the Sent folder (Maildir++ names it in modified UTF-7).
    pub fn sent_messages(&self) -> Vec<Vec<u8>> {
        let folder = self.dir.path().join("mail").join(USER).join(".&XfJT0ZAB-");
        let mut out = Vec::new();
        for sub in ["cur", "new"] {
            if let Ok(rd) = std::fs::read_dir(folder.join(sub)) {
                for e in rd {
                    out.push(std::fs::read(e.unwrap().path()).unwrap());
                }
            }
        }
        out
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
