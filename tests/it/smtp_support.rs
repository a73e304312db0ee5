//! A throwaway SMTP receiver for tests: `tests/it/smtp_server.py` (aiosmtpd) on
//! 127.0.0.1 with implicit TLS from a test CA made by openssl, optional AUTH, and
//! 451/550 failure modes. The server stops when the handle drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A CA and a leaf certificate for 127.0.0.1 signed by it.
pub struct TestCerts {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn make_certs(dir: &Path) -> TestCerts {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend(ec);
    ca_args.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kepu-intake test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca_args);
    let mut csr_args = vec!["req"];
    csr_args.extend(ec);
    csr_args.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr_args);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    );
    TestCerts {
        ca: dir.join("ca.pem"),
        cert: dir.join("leaf.pem"),
        key: dir.join("leaf.key"),
    }
}

#[derive(Default)]
pub struct ServerOpts {
    pub tls: bool,
    /// With `tls`: a plain port that requires STARTTLS instead of implicit TLS.
    pub starttls: bool,
    pub auth: Option<(String, String)>,
    /// Answer 451 to the first N messages.
    pub tempfail: u32,
    /// Answer 550 to every message.
    pub reject: bool,
    /// Store the first message, then exit without answering.
    pub exit_after_data: bool,
    /// Listen on this port (0 = any free one): a server that comes back after an outage.
    pub port: u16,
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    /// Where received messages land.
    pub inbox: PathBuf,
    /// The CA to trust (when TLS is on).
    pub ca: Option<PathBuf>,
    _tmp: tempfile::TempDir,
}

fn python() -> &'static str {
    // The Debian interpreter sees python3-aiosmtpd; a pyenv shim on PATH may not.
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl SmtpServer {
    pub fn start(opts: ServerOpts) -> SmtpServer {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = tmp.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let port_file = tmp.path().join("port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
        let mut cmd = Command::new(python());
        cmd.arg(&script)
            .arg("--dir")
            .arg(&inbox)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--tempfail")
            .arg(opts.tempfail.to_string())
            .arg("--port")
            .arg(opts.port.to_string())
            .stdin(Stdio::null());
        let mut ca = None;
        if opts.tls {
            let certs = make_certs(tmp.path());
            cmd.arg("--cert")
                .arg(&certs.cert)
                .arg("--key")
                .arg(&certs.key);
            ca = Some(certs.ca);
            if opts.starttls {
                cmd.arg("--starttls");
            }
        }
        if let Some((u, p)) = &opts.auth {
            cmd.arg("--auth").arg(format!("{u}:{p}"));
        }
        if opts.reject {
            cmd.arg("--reject");
        }
        if opts.exit_after_data {
            cmd.arg("--exit-after-data");
        }
        let mut child = cmd.spawn().expect("start tests/it/smtp_server.py");
        let t0 = Instant::now();
        let port = loop {
            if let Ok(s) = std::fs::read_to_string(&port_file) {
                break s.trim().parse::<u16>().unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "smtp_server.py exited early with {status} (is python3-aiosmtpd installed?)"
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "smtp_server.py did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        SmtpServer {
            child,
            port,
            inbox,
            ca,
            _tmp: tmp,
        }
    }

    /// Every message received so far, in arrival order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.inbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// Envelope recipients of every message received so far.
    pub fn recipients(&self) -> Vec<Vec<String>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.inbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                v["rcpt_tos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
