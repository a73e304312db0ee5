//! One SMTP session for the outbox, driven command by command so the outbox can record
//! `sending` between RCPT and DATA, and so every server reply is kept word for word.
//! 465 is implicit TLS, 587 STARTTLS, `none` plain (tests on loopback only).

use crate::config::{SmtpConfig, TlsMode};
use crate::error::{Error, Result};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use std::time::Duration;

/// Longest wait for connect+login and for each reply: lettre sets no read timeout on
/// async streams, and a stalled server must not stall the daemon.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How one message fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered 250 to the end of DATA: the reply.
    Accepted(String),
    /// A 4xx reply or a network failure before the message was complete: not delivered.
    Transient(String),
    /// A 5xx reply: not delivered, and retrying will not help.
    Permanent(String),
    /// The connection failed after the message body started: it may have been delivered.
    Uncertain(String),
}

/// An open, authenticated SMTP session.
pub struct Session {
    conn: AsyncSmtpConnection,
    broken: bool,
}

fn reply_text(r: &Response) -> String {
    format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" "))
}

/// `550 5.7.1 text` for a reply error, the error text otherwise.
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(src)) => format!("{code} {src}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| Error::Smtp(format!("smtp.ca_file {}: {e}", ca.display())))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| Error::Smtp(format!("TLS setup for {}: {e}", cfg.host)))
}

impl Session {
    /// Connects, secures and logs in, within [`TIMEOUT`]. Errors name the server and
    /// the step.
    pub async fn connect(cfg: &SmtpConfig) -> Result<Session> {
        tokio::time::timeout(TIMEOUT, Self::connect_inner(cfg))
            .await
            .map_err(|_| {
                Error::Smtp(format!(
                    "{}:{} did not complete connect/TLS/login within {} s",
                    cfg.host,
                    cfg.port,
                    TIMEOUT.as_secs()
                ))
            })?
    }

    async fn connect_inner(cfg: &SmtpConfig) -> Result<Session> {
        let hello = ClientId::Domain("kepu-intake.local".into());
        let addr = (cfg.host.as_str(), cfg.port);
        let fail = |step: &str, e: lettre::transport::smtp::Error| {
            Error::Smtp(format!(
                "{step} {}:{} failed: {}",
                cfg.host,
                cfg.port,
                error_text(&e)
            ))
        };
        let mut conn = match cfg.tls {
            TlsMode::Implicit => {
                let tls = tls_parameters(cfg)?;
                AsyncSmtpConnection::connect_tokio1(addr, Some(TIMEOUT), &hello, Some(tls), None)
                    .await
                    .map_err(|e| fail("connect (TLS)", e))?
            }
            TlsMode::Starttls => {
                let tls = tls_parameters(cfg)?;
                let mut c =
                    AsyncSmtpConnection::connect_tokio1(addr, Some(TIMEOUT), &hello, None, None)
                        .await
                        .map_err(|e| fail("connect", e))?;
                c.starttls(tls, &hello)
                    .await
                    .map_err(|e| fail("STARTTLS", e))?;
                c
            }
            TlsMode::None => {
                AsyncSmtpConnection::connect_tokio1(addr, Some(TIMEOUT), &hello, None, None)
                    .await
                    .map_err(|e| fail("connect", e))?
            }
        };
        if !cfg.user.is_empty() {
            let password = cfg.secret().resolve("smtp")?;
            let creds = Credentials::new(cfg.user.clone(), password);
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(|e| {
                    Error::Smtp(format!(
                        "SMTP 登录失败 login as {} at {} failed: {} — 请检查用户名和客户端授权码",
                        cfg.user,
                        cfg.host,
                        error_text(&e)
                    ))
                })?;
        }
        Ok(Session {
            conn,
            broken: false,
        })
    }

    /// False once the connection can no longer be trusted: open a new session.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.conn.has_broken()
    }

    /// Sends one message. `before_data` runs after the recipients were accepted and
    /// before `DATA`: the outbox makes `sending` durable there. Its error aborts the
    /// message (nothing was sent) and is returned as is.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        before_data: impl FnOnce() -> Result<()>,
    ) -> Result<Outcome> {
        if let Some(o) = self.step(Mail::new(envelope.from().cloned(), vec![])).await {
            return Ok(o);
        }
        for to in envelope.to() {
            if let Some(o) = self.step(Rcpt::new(to.clone(), vec![])).await {
                return Ok(o);
            }
        }
        if let Err(e) = before_data() {
            self.reset().await;
            return Err(e);
        }
        // A failure here is still definite: without DATA's 354 no message exists.
        if let Some(o) = self.step(Data).await {
            return Ok(o);
        }
        let sent = tokio::time::timeout(TIMEOUT, self.conn.message(message)).await;
        let Ok(sent) = sent else {
            self.broken = true;
            return Ok(Outcome::Uncertain(format!(
                "no reply to the end of DATA within {} s",
                TIMEOUT.as_secs()
            )));
        };
        match sent {
            Ok(r) => Ok(Outcome::Accepted(reply_text(&r))),
            Err(e) if e.is_transient() => {
                self.reset().await;
                Ok(Outcome::Transient(error_text(&e)))
            }
            Err(e) if e.is_permanent() => {
                self.reset().await;
                Ok(Outcome::Permanent(error_text(&e)))
            }
            Err(e) => {
                self.broken = true;
                Ok(Outcome::Uncertain(error_text(&e)))
            }
        }
    }

    /// One command before the body; `Some` ends the message with that outcome.
    async fn step<C: std::fmt::Display>(&mut self, cmd: C) -> Option<Outcome> {
        let Ok(reply) = tokio::time::timeout(TIMEOUT, self.conn.command(cmd)).await else {
            self.broken = true;
            return Some(Outcome::Transient(format!(
                "no reply within {} s",
                TIMEOUT.as_secs()
            )));
        };
        match reply {
            Ok(_) => None,
            Err(e) if e.is_permanent() => {
                self.reset().await;
                Some(Outcome::Permanent(error_text(&e)))
            }
            Err(e) => {
                if e.is_transient() {
                    self.reset().await;
                } else {
                    self.broken = true;
                }
                Some(Outcome::Transient(error_text(&e)))
            }
        }
    }

    /// RSET after a refusal so the session can carry the next message.
    async fn reset(&mut self) {
        let r = tokio::time::timeout(TIMEOUT, self.conn.command(Rset)).await;
        if !matches!(r, Ok(Ok(_))) {
            self.broken = true;
        }
    }

    /// Says QUIT (unless the connection is already broken) and closes it.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(TIMEOUT, self.conn.abort()).await;
    }
}
