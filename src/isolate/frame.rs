//! The byte protocol between the parent and the persistent parser worker
//! (`__parse-worker`), one request and one answer at a time over the worker's stdin and
//! stdout:
//!
//! - request: `u8` format length, the format name (ASCII, at most [`MAX_FORMAT`] bytes),
//!   `u32` big-endian document length (at most [`super::MAX_INPUT`]), the document bytes;
//! - answer: `u32` big-endian length (at most [`MAX_ANSWER`]), then that much JSON of a
//!   `Result<ParsedForm, FormError>`.
//!
//! Lengths come first so neither side ever has to scan for a delimiter in untrusted
//! bytes, and both sides check every length against its cap before allocating.

use std::io::{self, Read, Write};

/// Longest format name in a request (`pdf-text` is the longest in use).
pub const MAX_FORMAT: usize = 16;
/// Largest JSON answer the parent accepts; larger means the worker misbehaves.
pub const MAX_ANSWER: usize = 32 << 20;

/// What went wrong reading a frame; the caller knows which side and which input.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended exactly at a frame boundary: the other side closed it.
    #[error("end of stream before a frame")]
    Eof,
    #[error("stream ended inside a frame: {0}")]
    Truncated(io::Error),
    #[error("bad format name in request ({0} bytes, or not ASCII)")]
    BadFormat(usize),
    #[error("frame of {len} bytes is over the {max}-byte cap")]
    TooLarge { len: usize, max: usize },
}

/// Writes one request. The caller flushes if its writer buffers.
pub fn write_request(w: &mut impl Write, format: &str, doc: &[u8]) -> io::Result<()> {
    let name = format.as_bytes();
    let name_len = u8::try_from(name.len())
        .ok()
        .filter(|n| usize::from(*n) <= MAX_FORMAT)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "format name too long"))?;
    let doc_len = u32::try_from(doc.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "document over 4 GiB"))?;
    let mut head = Vec::with_capacity(1 + name.len() + 4);
    head.push(name_len);
    head.extend_from_slice(name);
    head.extend_from_slice(&doc_len.to_be_bytes());
    w.write_all(&head)?;
    w.write_all(doc)
}

/// A request as the worker reads it.
#[derive(Debug)]
pub struct Request {
    pub format: String,
    /// The document, or `None` when its announced length was over `max_doc`; its bytes
    /// were then skipped so the stream stays in step and the worker can answer.
    pub doc: Option<Vec<u8>>,
    pub announced: usize,
}

/// Reads one request; documents longer than `max_doc` are skipped, not allocated.
pub fn read_request(r: &mut impl Read, max_doc: usize) -> Result<Request, FrameError> {
    let name_len = usize::from(first_byte(r)?);
    if name_len == 0 || name_len > MAX_FORMAT {
        return Err(FrameError::BadFormat(name_len));
    }
    let mut name = vec![0u8; name_len];
    r.read_exact(&mut name).map_err(FrameError::Truncated)?;
    let format = String::from_utf8(name)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or(FrameError::BadFormat(name_len))?;
    let announced = read_len(r)?;
    if announced > max_doc {
        let skipped = io::copy(&mut r.take(announced as u64), &mut io::sink())
            .map_err(FrameError::Truncated)?;
        if skipped != announced as u64 {
            return Err(FrameError::Truncated(io::ErrorKind::UnexpectedEof.into()));
        }
        return Ok(Request {
            format,
            doc: None,
            announced,
        });
    }
    let mut doc = vec![0u8; announced];
    r.read_exact(&mut doc).map_err(FrameError::Truncated)?;
    Ok(Request {
        format,
        doc: Some(doc),
        announced,
    })
}

/// Writes one answer frame and flushes it.
pub fn write_answer(w: &mut impl Write, json: &[u8]) -> io::Result<()> {
    let len = u32::try_from(json.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_ANSWER)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "answer over the cap"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(json)?;
    w.flush()
}

/// Reads one answer frame (the JSON bytes), refusing one over [`MAX_ANSWER`].
pub fn read_answer(r: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let first = first_byte(r)?;
    let mut rest = [0u8; 3];
    r.read_exact(&mut rest).map_err(FrameError::Truncated)?;
    let len = u32::from_be_bytes([first, rest[0], rest[1], rest[2]]) as usize;
    if len > MAX_ANSWER {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_ANSWER,
        });
    }
    let mut json = vec![0u8; len];
    r.read_exact(&mut json).map_err(FrameError::Truncated)?;
    Ok(json)
}

/// The first byte of a frame; a clean end of stream here is [`FrameError::Eof`], which
/// tells "the other side closed" apart from "cut in the middle".
fn first_byte(r: &mut impl Read) -> Result<u8, FrameError> {
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => return Err(FrameError::Eof),
            Ok(_) => return Ok(b[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Truncated(e)),
        }
    }
}

fn read_len(r: &mut impl Read) -> Result<usize, FrameError> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).map_err(FrameError::Truncated)?;
    Ok(u32::from_be_bytes(b) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_answer_round_trip() {
        let mut buf = Vec::new();
        write_request(&mut buf, "docx", b"PK\x03\x04abc").unwrap();
        write_request(&mut buf, "xlsx", b"").unwrap();
        let mut r = buf.as_slice();
        let a = read_request(&mut r, 100).unwrap();
        assert_eq!(
            (a.format.as_str(), a.doc.as_deref()),
            ("docx", Some(&b"PK\x03\x04abc"[..]))
        );
        let b = read_request(&mut r, 100).unwrap();
        assert_eq!(
            (b.format.as_str(), b.doc.as_deref()),
            ("xlsx", Some(&b""[..]))
        );
        assert!(matches!(read_request(&mut r, 100), Err(FrameError::Eof)));

        let mut out = Vec::new();
        write_answer(&mut out, br#"{"Ok":1}"#).unwrap();
        assert_eq!(read_answer(&mut out.as_slice()).unwrap(), br#"{"Ok":1}"#);
    }

    #[test]
    fn oversized_document_is_skipped_and_the_stream_stays_in_step() {
        let mut buf = Vec::new();
        write_request(&mut buf, "docx", &[7u8; 50]).unwrap();
        write_request(&mut buf, "xls", b"next").unwrap();
        let mut r = buf.as_slice();
        let big = read_request(&mut r, 10).unwrap();
        assert_eq!((big.doc, big.announced), (None, 50));
        let next = read_request(&mut r, 10).unwrap();
        assert_eq!(next.doc.as_deref(), Some(&b"next"[..]));
    }

    #[test]
    fn bad_lengths_and_truncation_are_errors() {
        // An answer announcing 4 GiB is refused before any allocation.
        let huge = [0xFFu8, 0xFF, 0xFF, 0xFF, b'{'];
        assert!(matches!(
            read_answer(&mut &huge[..]),
            Err(FrameError::TooLarge { .. })
        ));
        // Cut inside the length, and inside the body.
        assert!(matches!(
            read_answer(&mut &[0u8, 0][..]),
            Err(FrameError::Truncated(_))
        ));
        assert!(matches!(
            read_answer(&mut &[0u8, 0, 0, 9, b'{'][..]),
            Err(FrameError::Truncated(_))
        ));
        assert!(matches!(read_answer(&mut &[][..]), Err(FrameError::Eof)));
        // A zero-length or non-ASCII format name.
        assert!(matches!(
            read_request(&mut &[0u8, 0, 0, 0, 0][..], 10),
            Err(FrameError::BadFormat(0))
        ));
        assert!(matches!(
            read_request(&mut &[2u8, 0xC3, 0xA9, 0, 0, 0, 0][..], 10),
            Err(FrameError::BadFormat(2))
        ));
        assert!(write_request(&mut Vec::new(), &"x".repeat(17), b"").is_err());
    }
}
