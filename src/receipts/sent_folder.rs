//! A copy of each receipt sent, appended over IMAP to the mailbox's Sent folder
//! (`smtp.sent_folder`), so the office sees in webmail what went out. Best effort: a
//! failure here is logged and never changes a receipt's status. It cannot settle the
//! SMTP crash window either (the copy is made only after the server's `250`).

use crate::config::{Config, TlsMode};
use crate::error::{Error, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Longest time for the whole copy (connect, login, every APPEND).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The byte stream under an IMAP session (TLS or, for tests on loopback, plain).
pub trait Io: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send> Io for T {}
type ImapSession = async_imap::Session<Box<dyn Io>>;

fn imap_error(cfg: &Config, msg: String) -> Error {
    Error::Imap {
        host: cfg.imap.host.clone(),
        msg,
    }
}

/// Appends `copies` (whole RFC 5322 messages) to `smtp.sent_folder` with `\Seen`, using
/// the `[imap]` account. Returns how many were stored.
pub async fn append_copies(cfg: &Config, copies: &[Vec<u8>]) -> Result<usize> {
    if cfg.smtp.sent_folder.is_empty() || copies.is_empty() {
        return Ok(0);
    }
    let work = async {
        let mut session = login(cfg).await?;
        let folder = mutf7(&cfg.smtp.sent_folder);
        let mut stored = 0;
        for bytes in copies {
            session
                .append(&folder, Some("(\\Seen)"), None, bytes)
                .await
                .map_err(|e| imap_error(cfg, format!("APPEND to {}: {e}", cfg.smtp.sent_folder)))?;
            stored += 1;
        }
        let _ = session.logout().await;
        Ok(stored)
    };
    with_timeout(cfg, work).await
}

/// For each Message-ID, whether a message carrying it is in `smtp.sent_folder` (a copy
/// the SMTP server filed itself proves it accepted the message).
pub async fn find_message_ids(cfg: &Config, ids: &[String]) -> Result<Vec<bool>> {
    let work = async {
        let mut session = login(cfg).await?;
        session
            .examine(mutf7(&cfg.smtp.sent_folder))
            .await
            .map_err(|e| imap_error(cfg, format!("EXAMINE {}: {e}", cfg.smtp.sent_folder)))?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            // Our ids are `<receipt-N-hex@kepu-intake.local>`: nothing to escape.
            let safe: String = id.chars().filter(|c| !matches!(c, '"' | '\\')).collect();
            let hits = session
                .uid_search(format!("HEADER Message-ID \"{safe}\""))
                .await
                .map_err(|e| imap_error(cfg, format!("SEARCH for {id}: {e}")))?;
            found.push(!hits.is_empty());
        }
        let _ = session.logout().await;
        Ok(found)
    };
    with_timeout(cfg, work).await
}

async fn with_timeout<T>(
    cfg: &Config,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(TIMEOUT, work).await.map_err(|_| {
        imap_error(
            cfg,
            format!("Sent folder work took longer than {} s", TIMEOUT.as_secs()),
        )
    })?
}

async fn login(cfg: &Config) -> Result<ImapSession> {
    let imap = &cfg.imap;
    let tcp = tokio::net::TcpStream::connect((imap.host.as_str(), imap.port))
        .await
        .map_err(|e| imap_error(cfg, format!("connect port {}: {e}", imap.port)))?;
    let stream: Box<dyn Io> =
        match imap.tls {
            TlsMode::Implicit => {
                let tls = tls_connector(cfg)?;
                let name = ServerName::try_from(imap.host.clone())
                    .map_err(|e| imap_error(cfg, format!("bad host name: {e}")))?;
                Box::new(
                    tls.connect(name, tcp)
                        .await
                        .map_err(|e| imap_error(cfg, format!("TLS: {e}")))?,
                )
            }
            TlsMode::None => Box::new(tcp),
            TlsMode::Starttls => return Err(imap_error(
                cfg,
                "imap.tls = \"starttls\" is not supported for the Sent folder; use \"implicit\""
                    .into(),
            )),
        };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(|e| imap_error(cfg, format!("greeting: {e}")))?
        .ok_or_else(|| imap_error(cfg, "closed before the greeting".into()))?;
    let password = imap.secret().resolve("imap")?;
    let mut session = client
        .login(&imap.user, &password)
        .await
        .map_err(|(e, _)| Error::ImapAuth {
            host: imap.host.clone(),
            user: imap.user.clone(),
            msg: e.to_string(),
        })?;
    // NetEase refuses mailbox commands from clients that did not identify themselves.
    let ident = [
        ("name", Some("kepu-intake")),
        ("version", Some(env!("CARGO_PKG_VERSION"))),
        ("vendor", Some("kepu-intake")),
    ];
    if let Err(e) = session.id(ident).await {
        tracing::debug!(error = %e, "IMAP ID refused; continuing");
    }
    Ok(session)
}

fn tls_connector(cfg: &Config) -> Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &cfg.imap.ca_file {
        let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| Error::Config(format!("imap.ca_file {}: {e}", ca.display())))?;
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("imap.ca_file {}: {e}", ca.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): `已发送` → `&XfJT0ZAB-`.
pub fn mutf7(name: &str) -> String {
    fn flush(units: &mut Vec<u16>, out: &mut String) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&base64_mutf7(&bytes));
        out.push('-');
        units.clear();
    }
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut units, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut b = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut b));
        }
    }
    flush(&mut units, &mut out);
    out
}

/// Base64 with `,` for `/` and no padding, as modified UTF-7 wants.
fn base64_mutf7(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}
