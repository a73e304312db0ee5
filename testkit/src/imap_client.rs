//! A tiny blocking IMAP client for seeding and reshaping the test mailbox (LOGIN,
//! CREATE, DELETE, APPEND with INTERNALDATE, MULTIAPPEND, SELECT). It speaks over the
//! plaintext loopback port so the harness does not depend on the TLS stack under test.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct AdminClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

/// One message for `append_many`: raw bytes and an
/// IMAP date-time such as `20-Jul-2022 23:58:59 +0800`.
pub struct AppendItem<'a> {
    pub raw: &'a [u8],
    pub internaldate: &'a str,
}

impl AdminClient {
    pub fn connect(port: u16, user: &str, password: &str) -> io::Result<AdminClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        let mut c = AdminClient {
            reader: BufReader::new(stream),
            writer,
            tag: 0,
        };
        let greeting = c.read_line()?;
        if !greeting.starts_with("* OK") {
            return Err(io::Error::other(format!("unexpected greeting: {greeting}")));
        }
        c.command(&format!("LOGIN {} {}", quote(user), quote(password)))?;
        Ok(c)
    }

    /// Runs a command without literals; returns the untagged lines. A NO/BAD is an error.
    pub fn command(&mut self, cmd: &str) -> io::Result<Vec<String>> {
        let tag = self.next_tag();
        self.writer
            .write_all(format!("{tag} {cmd}\r\n").as_bytes())?;
        self.read_until_tagged(&tag, cmd)
    }

    pub fn create(&mut self, mailbox: &str) -> io::Result<()> {
        self.command(&format!("CREATE {}", quote(mailbox)))
            .map(drop)
    }

    pub fn delete(&mut self, mailbox: &str) -> io::Result<()> {
        self.command(&format!("DELETE {}", quote(mailbox)))
            .map(drop)
    }

    /// SELECTs the mailbox and returns (EXISTS, UIDVALIDITY).
    pub fn select(&mut self, mailbox: &str) -> io::Result<(u32, u32)> {
        let lines = self.command(&format!("SELECT {}", quote(mailbox)))?;
        let mut exists = 0;
        let mut uidvalidity = 0;
        for l in &lines {
            let words: Vec<&str> = l.split_whitespace().collect();
            if words.len() >= 3 && words[2].eq_ignore_ascii_case("EXISTS") {
                exists = words[1].parse().unwrap_or(0);
            }
            if let Some(i) = l.find("[UIDVALIDITY ") {
                let rest = &l[i + 13..];
                uidvalidity = rest
                    .split(']')
                    .next()
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
            }
        }
        Ok((exists, uidvalidity))
    }

    /// APPENDs several messages in one MULTIAPPEND command using non-synchronising
    /// literals (LITERAL+, which Dovecot offers), so a big batch costs one round trip.
    pub fn append_many(&mut self, mailbox: &str, items: &[AppendItem<'_>]) -> io::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let tag = self.next_tag();
        let mut buf = Vec::with_capacity(items.iter().map(|i| i.raw.len() + 64).sum());
        buf.extend_from_slice(format!("{tag} APPEND {}", quote(mailbox)).as_bytes());
        for item in items {
            buf.extend_from_slice(
                format!(" \"{}\" {{{}+}}\r\n", item.internaldate, item.raw.len()).as_bytes(),
            );
            buf.extend_from_slice(item.raw);
        }
        buf.extend_from_slice(b"\r\n");
        self.writer.write_all(&buf)?;
        self.read_until_tagged(&tag, "APPEND").map(drop)
    }

    pub fn append(&mut self, mailbox: &str, raw: &[u8], internaldate: &str) -> io::Result<()> {
        self.append_many(mailbox, &[AppendItem { raw, internaldate }])
    }

    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("k{}", self.tag)
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "IMAP server closed the connection",
            ));
        }
        Ok(line.trim_end().to_string())
    }

    fn read_until_tagged(&mut self, tag: &str, what: &str) -> io::Result<Vec<String>> {
        let mut untagged = Vec::new();
        loop {
            let line = self.read_line()?;
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                if rest.starts_with("OK") {
                    return Ok(untagged);
                }
                let short: String = what.chars().take(60).collect();
                return Err(io::Error::other(format!("IMAP `{short}` failed: {rest}")));
            }
            untagged.push(line);
        }
    }
}

/// IMAP quoted string (our names and passwords hold no CR/LF).
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
