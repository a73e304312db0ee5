//! The receipt as a MIME message: our Message-ID, threading headers, and the headers
//! that keep robots from answering it (RFC 3834).

use super::compose::Receipt;
use crate::error::{Error, Result};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;
use sha2::{Digest, Sha256};

/// The display name receipts are signed with.
pub const SENDER_NAME: &str = "唐山市科协青少年科技中心";

/// Our Message-ID for receipt row `row_id`: derived from the row alone, so a retry after
/// a crash sends the same id and mail clients can recognise the copy.
pub fn our_message_id(row_id: i64, message_row: i64, created_at: &str) -> String {
    let digest = Sha256::digest(format!("{row_id}|{message_row}|{created_at}").as_bytes());
    let sha8 = hex::encode(&digest[..4]);
    format!("<receipt-{row_id}-{sha8}@kepu-intake.local>")
}

/// Headers of the receipt besides the usual ones.
pub struct Threading<'a> {
    /// Message-IDs of the mails answered (the first is `In-Reply-To`).
    pub answers: &'a [String],
    pub our_message_id: &'a str,
    pub date: std::time::SystemTime,
}

/// Builds the MIME message: plain UTF-8 text, `Auto-Submitted: auto-replied` and
/// `X-Auto-Response-Suppress: All` so auto-responders do not answer it.
pub fn build_message(r: &Receipt, from: &str, to: &str, th: &Threading<'_>) -> Result<Message> {
    let from_addr = from
        .parse()
        .map_err(|e| Error::Smtp(format!("smtp.from '{from}' is not an address: {e}")))?;
    let to_addr = to
        .parse()
        .map_err(|e| Error::Smtp(format!("recipient '{to}' is not an address: {e}")))?;
    let mut b = Message::builder()
        .from(Mailbox::new(Some(SENDER_NAME.into()), from_addr))
        .to(Mailbox::new(None, to_addr))
        .subject(r.subject.clone())
        .date(th.date)
        .message_id(Some(th.our_message_id.to_string()))
        .raw_header(raw("Auto-Submitted", "auto-replied")?)
        .raw_header(raw("X-Auto-Response-Suppress", "All")?);
    let ids: Vec<&str> = th
        .answers
        .iter()
        .map(|s| s.trim())
        .filter(|s| s.starts_with('<') && s.ends_with('>') && s.is_ascii())
        .collect();
    if let Some(first) = ids.first() {
        b = b
            .in_reply_to((*first).to_string())
            .references(ids.join(" "));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(r.body.clone())
        .map_err(|e| Error::Smtp(format!("cannot build receipt to {to}: {e}")))
}

fn raw(name: &str, value: &str) -> Result<HeaderValue> {
    let n = HeaderName::new_from_ascii(name.to_string())
        .map_err(|e| Error::Smtp(format!("header name {name}: {e}")))?;
    Ok(HeaderValue::new(n, value.to_string()))
}
