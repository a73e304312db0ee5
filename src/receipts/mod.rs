//! Receipt stage: the Chinese auto-reply to each applicant, sent once by SMTP through an
//! outbox in SQLite, never to robots (RFC 3834).
