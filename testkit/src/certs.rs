//! Per-run test PKI: a throwaway CA and a leaf certificate for 127.0.0.1/localhost,
//! made with the `openssl` command. A CA plus a leaf is needed because rustls rejects
//! a self-signed leaf used as its own root (UnknownIssuer).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of the generated PEM files.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub ca_cert: PathBuf,
    pub leaf_cert: PathBuf,
    pub leaf_key: PathBuf,
}

/// Writes `ca.pem`, `leaf.pem` and `leaf.key` into `dir`. EC P-256 keys keep this
/// well under a second.
pub fn make_pki(dir: &Path) -> io::Result<TestPki> {
    let ca_key = dir.join("ca.key");
    let ca_cert = dir.join("ca.pem");
    let leaf_key = dir.join("leaf.key");
    let leaf_csr = dir.join("leaf.csr");
    let leaf_cert = dir.join("leaf.pem");
    let ext = dir.join("leaf.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "3",
        "-subj",
        "/CN=kepu-intake test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        p(&ca_key),
        "-out",
        p(&ca_cert),
    ])?;
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        p(&leaf_key),
        "-out",
        p(&leaf_csr),
    ])?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        p(&leaf_csr),
        "-CA",
        p(&ca_cert),
        "-CAkey",
        p(&ca_key),
        "-CAcreateserial",
        "-days",
        "3",
        "-extfile",
        p(&ext),
        "-out",
        p(&leaf_cert),
    ])?;
    Ok(TestPki {
        ca_cert,
        leaf_cert,
        leaf_key,
    })
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn openssl(args: &[&str]) -> io::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|e| io::Error::other(format!("cannot run openssl (install it): {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
