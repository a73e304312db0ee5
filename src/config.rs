//! Configuration: a TOML file (found as [`ConfigSource::find`] says) over
//! built-in defaults that work with no file at all. Secrets never live in the file:
//! they come from an environment variable, a file or a command. `validate` reports
//! every problem as `path: error` so an operator can fix them in one go.

use crate::error::{Error, Result};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG_PATH: &str = "config/kepu-intake.toml";

mod lookup;
pub use lookup::{ConfigSource, CONFIG_ENV, SYSTEM_CONFIG_PATH};
mod secret;
pub use secret::SecretSource;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    pub receipts: ReceiptsConfig,
    pub intake: IntakeConfig,
    pub storage: StorageConfig,
    pub web: WebConfig,
    pub tools: ToolsConfig,
    pub log: LogConfig,
    /// `[remind]`: when reminders are due (issue 19).
    pub remind: crate::remind::RemindConfig,
    /// Which file this came from (not a key of the file).
    #[serde(skip)]
    pub source: ConfigSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    #[default]
    Implicit,
    Starttls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Extra CA certificate (PEM) trusted besides the system and web roots.
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<Vec<String>>,
    pub mailbox: String,
    /// UIDs fetched per `UID FETCH` command.
    pub fetch_chunk: u32,
    /// Seconds between polls when the server offers no IDLE.
    pub poll_interval_s: u64,
    /// Seconds before an IDLE is renewed (RFC 2177 asks for less than 29 minutes).
    pub idle_timeout_s: u64,
    /// Cap of the reconnect backoff, seconds.
    pub max_backoff_s: u64,
    /// Seconds a single network read may stall before the connection is dropped.
    pub io_timeout_s: u64,
}

impl ImapConfig {
    /// The account this mailbox belongs to in the database's mailbox state:
    /// `user@host`, so a second account's INBOX keeps a cursor of its own.
    pub fn account(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            host: String::new(),
            port: 993,
            tls: TlsMode::Implicit,
            ca_file: None,
            user: String::new(),
            password_env: None,
            password_file: None,
            password_command: None,
            mailbox: "INBOX".into(),
            fetch_chunk: 200,
            poll_interval_s: 60,
            idle_timeout_s: 25 * 60,
            max_backoff_s: 300,
            io_timeout_s: 120,
        }
    }
}

impl ImapConfig {
    pub fn secret(&self) -> SecretSource {
        SecretSource {
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
            password_command: self.password_command.clone(),
        }
    }
    pub fn is_configured(&self) -> bool {
        !self.host.is_empty()
    }
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_s.max(1))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<Vec<String>>,
    /// The address receipts come from; also "our own address" that is never answered.
    pub from: String,
    /// Folder receipts are copied to over IMAP so they show in webmail (empty = none).
    pub sent_folder: String,
}

impl SmtpConfig {
    pub fn secret(&self) -> SecretSource {
        SecretSource {
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
            password_command: self.password_command.clone(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 465,
            tls: TlsMode::Implicit,
            ca_file: None,
            user: String::new(),
            password_env: None,
            password_file: None,
            password_command: None,
            from: "tsqsnkj@126.com".into(),
            sent_folder: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptMode {
    #[default]
    Off,
    DryRun,
    Send,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiptsConfig {
    pub mode: ReceiptMode,
    /// Global cap; 0 = no limit.
    pub max_per_minute: u32,
    /// At most one receipt per sender in this window; 0 = none.
    pub per_sender_window_s: u64,
    /// First retry after a failed send, seconds; doubles per attempt up to an hour.
    pub retry_after_s: u64,
    /// Folder for `dry-run` receipts (default `<data_dir>/receipts-dry-run`).
    pub dry_run_dir: Option<PathBuf>,
    /// Office contact printed at the end of each receipt.
    pub contact: String,
    /// Optional template file replacing the built-in receipt text.
    pub template_file: Option<PathBuf>,
    /// At most this many receipts per calendar day (Beijing time); 0 = no limit.
    /// Receipts over it wait for the next day, never dropped.
    pub max_per_day: u32,
    /// At most this many receipts per hour to one recipient domain; 0 = no limit.
    pub max_per_domain_per_hour: u32,
    /// The receiving server's authserv-id whose `Authentication-Results:` headers are
    /// trusted (e.g. "126.com"); empty = trust none (receipts answer `From:` unverified).
    pub authserv_id: String,
}

impl Default for ReceiptsConfig {
    fn default() -> Self {
        ReceiptsConfig {
            mode: ReceiptMode::Off,
            max_per_minute: 20,
            per_sender_window_s: 600,
            retry_after_s: 60,
            dry_run_dir: None,
            contact: "唐山市科协青少年科技中心（唐山市西山道9号340房间），联系电话 2830734，邮箱 tsqsnkj@126.com".into(),
            template_file: None,
            max_per_day: 300,
            max_per_domain_per_hour: 60,
            authserv_id: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// RFC 3339; mail received after this instant is late. Unset: the call's deadline.
    pub deadline: Option<String>,
    /// The call definition file (`config/calls/*.toml`); unset: the built-in 2022 call.
    pub call: Option<PathBuf>,
    /// Addresses that are ours (never answered, never counted as applicants).
    pub own_addresses: Vec<String>,
    /// Largest attachment taken, bytes.
    pub max_attachment_bytes: u64,
    /// Seconds a document parser child may run.
    pub parse_timeout_s: u64,
    /// Address-space cap of a document parser child, MiB.
    pub parse_memory_mb: u64,
    /// Minimum score for an automatic scan ↔ electronic match (0–1).
    pub match_threshold: f64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            deadline: None,
            call: None,
            own_addresses: vec!["tsqsnkj@126.com".into()],
            max_attachment_bytes: 64 * 1024 * 1024,
            parse_timeout_s: 30,
            parse_memory_mb: 1024,
            match_threshold: 0.4,
        }
    }
}

impl IntakeConfig {
    /// `[intake] deadline` when set, else the deadline of the installed call.
    pub fn deadline(&self) -> Result<DateTime<FixedOffset>> {
        let Some(d) = &self.deadline else {
            return Ok(crate::call::current().deadline);
        };
        crate::time::parse_rfc3339(d).ok_or_else(|| {
            Error::Config(format!(
                "intake.deadline: '{d}' is not an RFC 3339 time such as 2022-07-20T23:59:59+08:00"
            ))
        })
    }

    /// Reads `[intake] call` (the built-in call when unset), refusing a malformed file
    /// with `path: line: what is wrong`.
    pub fn load_call(&self) -> Result<crate::call::Call> {
        match &self.call {
            None => Ok(crate::call::Call::builtin().clone()),
            Some(p) => load_call_file(p),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
        }
    }
}

impl StorageConfig {
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("intake.db")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// `127.0.0.1:8080` (this machine only), or a LAN address such as
    /// `192.168.1.20:8443` / `0.0.0.0:8443` so clerks at other PCs reach the page.
    pub listen: String,
    /// Environment variable holding the `/metrics` scrapers' token (pages need a login).
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    /// PEM certificate chain and private key: `serve` speaks HTTPS itself.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Session cookies marked `Secure` (default: when `tls_cert` is set). Set true
    /// behind an HTTPS reverse proxy.
    pub secure_cookies: Option<bool>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: "127.0.0.1:8080".into(),
            token_env: Some("KEPU_WEB_TOKEN".into()),
            token_file: None,
            tls_cert: None,
            tls_key: None,
            secure_cookies: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// OCR of scans (false = seal detection only, no Tesseract even when installed):
    /// OCR costs seconds a page, which a bulk re-run or a slow machine may not afford.
    pub ocr: bool,
    /// LibreOffice binary for .doc/.wps/.rtf/.odt (empty = look for `soffice` on PATH).
    pub soffice: String,
    /// Tesseract binary for OCR of scans (empty = look for `tesseract` on PATH).
    pub tesseract: String,
    /// pdftotext / pdftoppm directory (empty = PATH).
    pub poppler_dir: String,
    /// Scans analysed at once, each running one Tesseract at a time (0 = number of
    /// cores, which is also the sensible maximum: OCR is CPU-bound).
    pub workers: usize,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        ToolsConfig {
            ocr: true,
            soffice: String::new(),
            tesseract: String::new(),
            poppler_dir: String::new(),
            workers: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
        }
    }
}

impl Config {
    /// Loads `path`, or the default path when it exists, or built-in defaults.
    /// Relative `data_dir`, `ca_file` and other paths in a file are taken relative to
    /// the working directory, as operators type them.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let source = ConfigSource::find(path);
        let mut cfg = match source.path() {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                Config::from_toml(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
        };
        cfg.source = source;
        cfg.validate()?;
        let mut call = cfg.intake.load_call()?;
        // `[intake] deadline` wins over the call's: one deadline for every reader.
        if cfg.intake.deadline.is_some() {
            call.deadline = cfg.intake.deadline()?;
        }
        crate::call::install(call);
        Ok(cfg)
    }

    pub fn from_toml(text: &str) -> std::result::Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))
    }

    /// Every problem as `path: error`, joined; Ok when none.
    pub fn validate(&self) -> Result<()> {
        let mut errs: Vec<String> = Vec::new();
        if let Err(Error::Config(m)) = self.intake.deadline() {
            errs.push(m);
        }
        if self.imap.is_configured() {
            if self.imap.user.is_empty() {
                errs.push("imap.user: required when imap.host is set".into());
            }
            if !self.imap.secret().is_set() {
                errs.push("imap.password_env: set password_env, password_file or password_command (the 126.com 客户端授权码)".into());
            }
            if self.imap.port == 0 {
                errs.push("imap.port: must be 1–65535".into());
            }
            if self.imap.fetch_chunk == 0 {
                errs.push("imap.fetch_chunk: must be at least 1".into());
            }
            if let Some(ca) = &self.imap.ca_file {
                if !ca.exists() {
                    errs.push(format!("imap.ca_file: {} does not exist", ca.display()));
                }
            }
        }
        if self.receipts.mode == ReceiptMode::Send {
            if self.smtp.host.is_empty() {
                errs.push("smtp.host: required when receipts.mode = \"send\"".into());
            }
            if self.smtp.from.is_empty() {
                errs.push("smtp.from: required when receipts.mode = \"send\"".into());
            }
            if let Some(ca) = &self.smtp.ca_file {
                if !ca.exists() {
                    errs.push(format!("smtp.ca_file: {} does not exist", ca.display()));
                }
            }
        }
        if !(0.0..=1.0).contains(&self.intake.match_threshold) {
            errs.push("intake.match_threshold: must be between 0 and 1".into());
        }
        if self.web.listen.parse::<std::net::SocketAddr>().is_err() {
            errs.push(format!(
                "web.listen: '{}' is not an address such as 127.0.0.1:8080",
                self.web.listen
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            errs.push("log.format: must be \"text\" or \"json\"".into());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(errs.join("; ")))
        }
    }

    /// Our own addresses, lower-cased: the configured ones plus the SMTP sender.
    pub fn own_addresses(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .intake
            .own_addresses
            .iter()
            .map(|a| a.trim().to_lowercase())
            .collect();
        if !self.smtp.from.is_empty() {
            v.push(self.smtp.from.trim().to_lowercase());
        }
        if !self.imap.user.is_empty() && self.imap.user.contains('@') {
            v.push(self.imap.user.trim().to_lowercase());
        }
        v.sort();
        v.dedup();
        v
    }
}

/// Reads a call definition file ([`crate::call`]); its absolute path is kept so that
/// parser child processes read the same file.
pub fn load_call_file(path: &Path) -> Result<crate::call::Call> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Config(format!(
            "intake.call: cannot read {}: {e} (give the path of a call file such as config/calls/2022-tangshan.toml)",
            path.display()
        ))
    })?;
    let mut call = crate::call::Call::parse(&path.display().to_string(), &text)?;
    call.source = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    Ok(call)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod example_tests;
