//! Versioned schema migrations, applied in order; `PRAGMA user_version` holds the
//! version reached. A database from an older kepu-intake is migrated on open; one from
//! a newer version is refused (see `ARCHITECTURE.md` for the tables).

/// Fills `applications.email` and `received_at` from the application's electronic
/// version's message, else its scan's. Run by migration 3 and by every rebuild of the
/// applications (`Db::save_applications`), so the copy never goes stale.
macro_rules! fill_app_senders {
    () => {
        "UPDATE applications SET
            email = coalesce(
                (SELECT m.from_addr FROM documents d JOIN messages m ON m.id = d.message
                 WHERE d.id = applications.electronic),
                (SELECT m.from_addr FROM documents d JOIN messages m ON m.id = d.message
                 WHERE d.id = applications.scan)),
            received_at = coalesce(
                (SELECT m.received_at FROM documents d JOIN messages m ON m.id = d.message
                 WHERE d.id = applications.electronic),
                (SELECT m.received_at FROM documents d JOIN messages m ON m.id = d.message
                 WHERE d.id = applications.scan))"
    };
}
pub(crate) use fill_app_senders;

/// Each entry migrates from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the spine, documents, applications, receipts.
    r#"
CREATE TABLE mailbox_state (
    mailbox      TEXT PRIMARY KEY,
    uidvalidity  INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    last_poll_at TEXT
);
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    source             TEXT NOT NULL,            -- imap | import
    mailbox            TEXT,
    uidvalidity        INTEGER,
    uid                INTEGER,
    import_path        TEXT,
    sha256             TEXT NOT NULL,
    body_sha256        TEXT NOT NULL,
    size               INTEGER NOT NULL,
    message_id         TEXT,
    from_addr          TEXT,
    from_name          TEXT,
    subject            TEXT,
    received_at        TEXT NOT NULL,            -- RFC 3339, +08:00
    received_estimated INTEGER NOT NULL DEFAULT 0,
    date_header        TEXT,
    late               INTEGER NOT NULL,
    category           TEXT,                     -- NULL until processed
    duplicate_of       INTEGER REFERENCES messages(id),
    processed_at       TEXT,                     -- NULL = waiting for the pipeline
    problems           TEXT NOT NULL DEFAULT '[]',
    recorded_at        TEXT NOT NULL,
    UNIQUE (mailbox, uidvalidity, uid)
);
CREATE INDEX messages_sha256 ON messages(sha256);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_pending ON messages(processed_at) WHERE processed_at IS NULL;

CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    message       INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    container     INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    format        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    form          TEXT,
    applicant     TEXT,
    fields        TEXT NOT NULL DEFAULT '{}',
    stamped       INTEGER,
    seal_score    REAL,
    ocr_text      TEXT,
    scan_of       INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    match_score   REAL,
    superseded_by INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    problems      TEXT NOT NULL DEFAULT '[]',
    UNIQUE (message, seq)
);
CREATE INDEX documents_sha256 ON documents(sha256);
CREATE INDEX documents_kind ON documents(kind, form);

-- Operator decisions keyed by content, so they survive reprocessing.
CREATE TABLE manual_matches (
    scan_sha256       TEXT PRIMARY KEY,
    electronic_sha256 TEXT,                      -- NULL = "this scan matches nothing"
    decided_at        TEXT NOT NULL
);

CREATE TABLE applications (
    id            INTEGER PRIMARY KEY,
    form          TEXT NOT NULL,
    applicant     TEXT NOT NULL,
    applicant_key TEXT NOT NULL,
    status        TEXT NOT NULL,
    late          INTEGER NOT NULL,
    electronic    INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    scan          INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    problems      TEXT NOT NULL DEFAULT '[]',
    updated_at    TEXT NOT NULL,
    UNIQUE (form, applicant_key)
);

CREATE TABLE receipts (
    id              INTEGER PRIMARY KEY,
    message         INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    to_addr         TEXT NOT NULL,
    status          TEXT NOT NULL,               -- pending | sending | sent | failed | suppressed
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    our_message_id  TEXT,
    smtp_reply      TEXT,
    folded_into     INTEGER REFERENCES receipts(id),
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX receipts_status ON receipts(status);

CREATE TABLE ocr_cache (
    sha256     TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: `status` counts problems without reading every row: partial indexes holding only
    //    the messages and documents that have problems (most have none).
    r#"
CREATE INDEX messages_problems ON messages(id, problems) WHERE problems != '[]';
CREATE INDEX documents_problems ON documents(message, seq, problems) WHERE problems != '[]';
"#,
    // 3: `list` reads the applications table alone: each application carries its
    //    sender and receipt time (kept by every rebuild, see `db::applications`) instead
    //    of four joins through documents and messages per row (100 ms at 10,000). The
    //    count indexes let `status` group small indexes instead of whole tables. And a
    //    cache of parsed documents by content.
    concat!(
        r#"
ALTER TABLE applications ADD COLUMN email TEXT;
ALTER TABLE applications ADD COLUMN received_at TEXT;
CREATE INDEX messages_counts ON messages(category, duplicate_of, late);
CREATE INDEX applications_counts ON applications(form, status, late);

-- Parse answers by content (`Pipeline::read_form_cached`): the same Word 97 / WPS
-- file in another mail is not converted by LibreOffice again.
CREATE TABLE form_cache (
    key        TEXT PRIMARY KEY,               -- sha256:format:kepu-intake version
    json       TEXT NOT NULL,                  -- Result<ParsedForm, FormError>
    created_at TEXT NOT NULL
);
"#,
        fill_app_senders!(),
        ";"
    ),
    // 4 (issue 15): mailbox state keyed by (account, folder), so a second `[[imap]]`
    //    account's INBOX does not share the first one's cursor. Rows from before have
    //    account '' and are adopted by the first account that runs
    //    (`Db::adopt_legacy_mailboxes`). Messages carry their account too and are looked
    //    up by it. (The table constraint UNIQUE(mailbox, uidvalidity, uid) of migration 1
    //    stays until the messages table is next rebuilt: lifting it needs a rebuild,
    //    which must come after every other migration that adds a messages column.)
    r#"
CREATE TABLE mailbox_state_v4 (
    account      TEXT NOT NULL,                 -- user@host of the [imap] account
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    last_poll_at TEXT,
    PRIMARY KEY (account, mailbox)
);
INSERT INTO mailbox_state_v4(account, mailbox, uidvalidity, last_uid, last_poll_at)
    SELECT '', mailbox, uidvalidity, last_uid, last_poll_at FROM mailbox_state;
DROP TABLE mailbox_state;
ALTER TABLE mailbox_state_v4 RENAME TO mailbox_state;
ALTER TABLE messages ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_origin ON messages(account, mailbox, uidvalidity, uid);
"#,
    // 5 (issue 16, receipts): the per-mailbox window counts by mailbox (lower case, no
    //    `+tag`), a held receipt records who released it, a dry run's file is
    //    `previewed` with its time; indexes for the daily and per-domain caps.
    r#"
ALTER TABLE receipts ADD COLUMN to_key TEXT;
ALTER TABLE receipts ADD COLUMN approved_by TEXT;
ALTER TABLE receipts ADD COLUMN approved_at TEXT;
ALTER TABLE receipts ADD COLUMN previewed_at TEXT;
UPDATE receipts SET to_key = lower(to_addr);
CREATE INDEX receipts_to_key ON receipts(to_key);
CREATE INDEX receipts_sent_at ON receipts(sent_at) WHERE status = 'sent';
"#,
    // 6 (issue 21): files taken in by hand for a message (`import --into`), read by
    //    the pipeline beside the message's own attachments (`db::hand_files`).
    r#"
CREATE TABLE hand_files (
    id        INTEGER PRIMARY KEY,
    message   INTEGER NOT NULL REFERENCES messages(id),
    name      TEXT NOT NULL,                   -- file name on disk (metadata only)
    sha256    TEXT NOT NULL,                   -- bytes in the raw store
    size      INTEGER NOT NULL,
    source    TEXT NOT NULL,                   -- path given to import --into
    added_at  TEXT NOT NULL,
    UNIQUE (message, sha256)
);
"#,
    // 7 (issue 19): operators' roster attributions (by content, surviving reprocess) and
    //    the reminders outbox (drafts, approvals with who, sends).
    r#"
CREATE TABLE IF NOT EXISTS roster_assignments (
    form          TEXT NOT NULL,
    applicant_key TEXT NOT NULL,
    unit          TEXT,                          -- NULL: belongs to no roster unit
    by_user       TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (form, applicant_key)
);
CREATE TABLE IF NOT EXISTS reminders (
    id             INTEGER PRIMARY KEY,
    to_addr        TEXT NOT NULL,
    application    INTEGER,                      -- the application's id when computed
    app_key        TEXT,                         -- form|applicant key, stable
    unit           TEXT,
    reason         TEXT NOT NULL,                -- missing_scan | unstamped_scan | missing_electronic | unit_silent | unit_short
    status         TEXT NOT NULL,                -- due | queued | sending | sent | failed | cancelled
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    approved_by    TEXT,
    approved_at    TEXT,
    sent_at        TEXT,
    smtp_reply     TEXT,
    our_message_id TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reminders_status ON reminders(status);
"#,
    // 8 (issue 18), the office at work: the audit log of every operator write, the
    //    office's decisions (review, late excuse, soft removal) keyed by what survives
    //    `reprocess --all` (an application's form + applicant key, a message's sha256),
    //    operator accounts, their sessions (in the database so `serve` and the CLI agree)
    //    and failed logins (throttling).
    r#"
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    user   TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE reviews (
    form          TEXT NOT NULL,
    applicant_key TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    by_user       TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (form, applicant_key)
);
CREATE TABLE late_excuses (
    form          TEXT NOT NULL,
    applicant_key TEXT NOT NULL,
    reason        TEXT NOT NULL,
    by_user       TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (form, applicant_key)
);
CREATE TABLE removed_messages (
    sha256  TEXT PRIMARY KEY,
    by_user TEXT NOT NULL,
    at      TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    id_sha256  TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);
"#,
    // 9 (issue 15): a due receipt reads only the rows it speaks of (`db/receipt_view.rs`):
    //    messages by sender, applications by sender and by the documents they hold.
    r#"
CREATE INDEX IF NOT EXISTS messages_from ON messages(from_addr);
CREATE INDEX IF NOT EXISTS applications_email ON applications(email);
CREATE INDEX IF NOT EXISTS applications_electronic ON applications(electronic);
CREATE INDEX IF NOT EXISTS applications_scan ON applications(scan);
"#,
    // 10 (issue 20): the text read along a scan's seal ring, so the applications stage
    //    can tell a seal of another unit (`foreign_seal`).
    r#"
ALTER TABLE documents ADD COLUMN seal_text TEXT;
"#,
    // 11 (issue 20): what a scan's first page looks like (size, resolution, paper colour;
    //    JSON), so pages of one form sent as unrelated file names group as one scan.
    r#"
ALTER TABLE documents ADD COLUMN page_look TEXT;
"#,
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
