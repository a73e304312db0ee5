//! Connections to the mail server: TCP with a timeout, then implicit TLS, STARTTLS or
//! (loopback tests only) plain text. Trust = Mozilla's roots + the system's + an
//! optional `ca_file`, so a private CA works without touching the system store.

use crate::config::TlsMode;
use crate::error::{Error, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Any byte stream the IMAP client can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

pub type BoxIo = Box<dyn Io>;

/// The rustls client configuration for `host`, trusting `ca_file` as well.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // System roots are a bonus (a corporate proxy CA, say); failures to read some are fine.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| Error::Config(format!("ca_file {}: {e}", path.display())))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Config(format!("ca_file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(Error::Config(format!(
                "ca_file {}: no PEM certificate in it",
                path.display()
            )));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| Error::Config(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

pub async fn tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let fail = |msg: String| Error::Imap {
        host: format!("{host}:{port}"),
        msg,
    };
    let s = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| {
            fail(format!(
                "连接超时 connect timed out after {}s",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| fail(format!("无法连接 cannot connect: {e}")))?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Wraps `stream` in TLS for `host`.
pub async fn wrap<S>(
    stream: S,
    host: &str,
    cfg: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let fail = |msg: String| Error::Imap {
        host: host.to_string(),
        msg,
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| fail(format!("bad server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(cfg);
    tokio::time::timeout(timeout, connector.connect(name, stream))
        .await
        .map_err(|_| fail("TLS 握手超时 handshake timed out".into()))?
        .map_err(|e| fail(format!("TLS 失败 handshake failed (证书不受信任? certificate not trusted? set ca_file): {e}")))
}

/// Opens a stream per `mode`. STARTTLS is completed by the caller after the greeting.
pub async fn connect(
    host: &str,
    port: u16,
    mode: TlsMode,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<BoxIo> {
    let tcp = tcp(host, port, timeout).await?;
    match mode {
        TlsMode::Implicit => {
            let cfg = client_config(ca_file)?;
            Ok(Box::new(wrap(tcp, host, cfg, timeout).await?))
        }
        TlsMode::Starttls | TlsMode::None => Ok(Box::new(tcp)),
    }
}
