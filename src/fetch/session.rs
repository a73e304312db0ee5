//! One IMAP session: connect, greeting, optional STARTTLS, LOGIN, ID, CAPABILITY,
//! EXAMINE (the read-only SELECT: nothing is ever written to the mailbox, so the
//! server is told so, and not even a `\Seen` flag can be set by accident); then
//! listing and downloading new messages by UID. Every network step has a timeout, so
//! a stalled server becomes an error (and a reconnect), never a hang.

use super::tls::{self, BoxIo};
use crate::config::{ImapConfig, TlsMode};
use crate::error::{Error, Result};
use async_imap::{Client, Session};
use chrono::{DateTime, FixedOffset};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;

/// What we tell the server in the `ID` command (RFC 2971). NetEase refuses SELECT from
/// clients that have not identified themselves.
const ID_FIELDS: [(&str, Option<&str>); 4] = [
    ("name", Some("kepu-intake")),
    ("version", Some(env!("CARGO_PKG_VERSION"))),
    (
        "vendor",
        Some("Tangshan Science and Technology Association"),
    ),
    ("support-email", Some("tsqsnkj@126.com")),
];

/// Largest total size of one `UID FETCH` of bodies, so a chunk of big mails stays bounded.
const MAX_CHUNK_BYTES: u64 = 32 * 1024 * 1024;

pub struct Connected {
    pub session: Session<BoxIo>,
    pub uidvalidity: u32,
    pub idle: bool,
    pub host: String,
}

/// A downloaded message.
pub struct Fetched {
    pub uid: u32,
    pub internal_date: Option<DateTime<FixedOffset>>,
    pub body: Vec<u8>,
}

fn imap_err(host: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Imap {
        host: host.to_string(),
        msg: format!("{what}: {e}"),
    }
}

async fn timed<T, E: std::fmt::Display>(
    host: &str,
    what: &str,
    d: Duration,
    f: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(d, f).await {
        Err(_) => Err(imap_err(
            host,
            what,
            format!("无响应 no answer within {}s", d.as_secs()),
        )),
        Ok(Err(e)) => Err(imap_err(host, what, e)),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Opens a logged-in session with the mailbox selected read-only (EXAMINE).
pub async fn open(cfg: &ImapConfig) -> Result<Connected> {
    let password = cfg.secret().resolve("imap")?;
    let password = password.as_str();
    let host = format!("{}:{}", cfg.host, cfg.port);
    let t = Duration::from_secs(cfg.io_timeout_s.max(1));
    let stream = tls::connect(&cfg.host, cfg.port, cfg.tls, cfg.ca_file.as_deref(), t).await?;
    let mut client = Client::new(stream);
    let greeting = timed(&host, "greeting", t, client.read_response()).await?;
    if greeting.is_none() {
        return Err(imap_err(
            &host,
            "greeting",
            "服务器关闭了连接 server closed the connection",
        ));
    }
    if cfg.tls == TlsMode::Starttls {
        timed(
            &host,
            "STARTTLS",
            t,
            client.run_command_and_check_ok("STARTTLS", None),
        )
        .await?;
        let inner = client.into_inner();
        let tls_cfg = tls::client_config(cfg.ca_file.as_deref())?;
        let upgraded: BoxIo = Box::new(tls::wrap(inner, &cfg.host, tls_cfg, t).await?);
        client = Client::new(upgraded);
    }
    let mut session = match tokio::time::timeout(t, client.login(&cfg.user, password)).await {
        Err(_) => return Err(imap_err(&host, "LOGIN", "no answer")),
        Ok(Err((async_imap::error::Error::No(msg), _))) => {
            return Err(Error::ImapAuth {
                host,
                user: cfg.user.clone(),
                msg: server_text(&msg),
            })
        }
        Ok(Err((e, _))) => return Err(imap_err(&host, "LOGIN", e)),
        Ok(Ok(s)) => s,
    };
    timed(&host, "ID", t, session.id(ID_FIELDS)).await?;
    let caps = timed(&host, "CAPABILITY", t, session.capabilities()).await?;
    let idle = caps.has_str("IDLE");
    let mailbox = timed(&host, "EXAMINE", t, session.examine(&cfg.mailbox)).await?;
    let uidvalidity = mailbox
        .uid_validity
        .ok_or_else(|| imap_err(&host, "EXAMINE", "server sent no UIDVALIDITY"))?;
    drain_unsolicited(&mut session);
    Ok(Connected {
        session,
        uidvalidity,
        idle,
        host,
    })
}

/// The server's human text out of async-imap's `code: …, info: Some("…")` rendering.
fn server_text(msg: &str) -> String {
    const OPEN: &str = "info: Some(\"";
    match (msg.find(OPEN), msg.rfind("\")")) {
        (Some(a), Some(b)) if b >= a + OPEN.len() => msg[a + OPEN.len()..b].to_string(),
        _ => msg.to_string(),
    }
}

/// Unsolicited responses (EXISTS, EXPUNGE …) are not needed: new mail is found by UID.
pub fn drain_unsolicited(session: &mut Session<BoxIo>) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// UIDs above `last_uid` with their sizes, ascending.
pub async fn list_new(c: &mut Connected, last_uid: u32, t: Duration) -> Result<Vec<(u32, u64)>> {
    let host = c.host.clone();
    let query = format!("{}:*", last_uid.saturating_add(1));
    let mut out = Vec::new();
    {
        let mut stream = timed(
            &host,
            "UID FETCH (sizes)",
            t,
            c.session.uid_fetch(&query, "(UID RFC822.SIZE)"),
        )
        .await?;
        loop {
            let item = match tokio::time::timeout(t, stream.next()).await {
                Err(_) => return Err(imap_err(&host, "UID FETCH (sizes)", "stalled")),
                Ok(None) => break,
                Ok(Some(r)) => r.map_err(|e| imap_err(&host, "UID FETCH (sizes)", e))?,
            };
            // `n:*` always includes the highest message even when its UID is below n.
            if let Some(uid) = item.uid.filter(|u| *u > last_uid) {
                out.push((uid, item.size.unwrap_or(0) as u64));
            }
        }
    }
    drain_unsolicited(&mut c.session);
    out.sort_unstable();
    out.dedup_by_key(|x| x.0);
    Ok(out)
}

/// Splits UIDs into chunks of at most `max_count` messages and about 32 MiB.
pub fn chunks(list: &[(u32, u64)], max_count: usize) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in list {
        if !cur.is_empty() && (cur.len() >= max_count.max(1) || bytes + size > MAX_CHUNK_BYTES) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A UID set in compact IMAP syntax: `3:7,9,12:13`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Downloads the given messages with `BODY.PEEK[]` (leaves \Seen alone).
pub async fn fetch_bodies(c: &mut Connected, uids: &[u32], t: Duration) -> Result<Vec<Fetched>> {
    let host = c.host.clone();
    let set = uid_set(uids);
    let mut out = Vec::with_capacity(uids.len());
    {
        let mut stream = timed(
            &host,
            "UID FETCH",
            t,
            c.session
                .uid_fetch(&set, "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"),
        )
        .await?;
        loop {
            let item = match tokio::time::timeout(t, stream.next()).await {
                Err(_) => return Err(imap_err(&host, "UID FETCH", "stalled mid-message")),
                Ok(None) => break,
                Ok(Some(r)) => r.map_err(|e| imap_err(&host, "UID FETCH", e))?,
            };
            let (Some(uid), Some(body)) = (item.uid, item.body()) else {
                continue;
            };
            out.push(Fetched {
                uid,
                internal_date: item.internal_date(),
                body: body.to_vec(),
            });
        }
    }
    drain_unsolicited(&mut c.session);
    out.sort_by_key(|f| f.uid);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_unwrapped() {
        let m = "code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")";
        assert_eq!(
            server_text(m),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(server_text("plain"), "plain");
    }

    #[test]
    fn compact_uid_sets() {
        assert_eq!(uid_set(&[3, 4, 5, 6, 7, 9, 12, 13]), "3:7,9,12:13");
        assert_eq!(uid_set(&[1]), "1");
    }

    #[test]
    fn chunks_bound_count_and_bytes() {
        let list: Vec<(u32, u64)> = (1..=5).map(|u| (u, 10)).collect();
        assert_eq!(chunks(&list, 2), vec![vec![1, 2], vec![3, 4], vec![5]]);
        let big = vec![(1, MAX_CHUNK_BYTES), (2, 1), (3, 1)];
        assert_eq!(chunks(&big, 100), vec![vec![1], vec![2, 3]]);
    }
}
