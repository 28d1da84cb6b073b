-- beibao-server schema version 1 (SQLite). `IF NOT EXISTS` throughout: a database made before
-- versioned migrations already has these tables and takes version 1 as it is.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'desk')),
    station       TEXT,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

-- One-time enrollment codes, kept by their SHA-256 only.
CREATE TABLE IF NOT EXISTS enrollment_codes (
    code_hash  TEXT PRIMARY KEY,
    officer_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY,
    officer_id   TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    serial_start INTEGER NOT NULL,
    serial_end   INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS challenges (
    challenge  TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- Bearer tokens, kept by their SHA-256 only.
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(id),
    expires_at TEXT NOT NULL
) STRICT;

-- Every op received, with its result, written in the same transaction as its effect.
CREATE TABLE IF NOT EXISTS ops (
    device_id   TEXT NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    op_id       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'duplicate', 'rejected')),
    code        TEXT,
    message     TEXT,
    batch_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
-- An op id is applied (or rejected) once; its later copies are stored as duplicates.
CREATE UNIQUE INDEX IF NOT EXISTS ops_op_id ON ops (op_id) WHERE status <> 'duplicate';
CREATE INDEX IF NOT EXISTS ops_rejected ON ops (received_at) WHERE status = 'rejected';

-- Records as the tablet made them (visit, mediation, mediation_followup, publicity, hazard, rating).
-- The body is the payload of the op that wrote the record last, stored once in `ops`.
CREATE TABLE IF NOT EXISTS records (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    officer_id  TEXT NOT NULL,
    village     TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX IF NOT EXISTS records_device ON records (device_id, kind, id);

CREATE TABLE IF NOT EXISTS requests (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    officer_id  TEXT NOT NULL,
    service     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    state       TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS requests_device ON requests (device_id, id);
CREATE INDEX IF NOT EXISTS requests_officer ON requests (officer_id, state);

-- Every transition, from a tablet or the desk; conflicts are kept, never dropped.
CREATE TABLE IF NOT EXISTS request_events (
    id        TEXT PRIMARY KEY,
    request   TEXT NOT NULL REFERENCES requests(id),
    outcome   TEXT NOT NULL,
    new_state TEXT,
    by        TEXT NOT NULL,
    body      TEXT NOT NULL,
    at        TEXT NOT NULL
) STRICT;

-- What devices pull: a server-assigned cursor in commit order (one writer), never a timestamp.
CREATE TABLE IF NOT EXISTS changes (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    scope  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    body   TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_scope ON changes (scope, cursor);

CREATE TABLE IF NOT EXISTS catalogs (
    version      TEXT PRIMARY KEY,
    body         TEXT NOT NULL,
    cursor       INTEGER NOT NULL,
    published_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS blobs (
    sha256     TEXT PRIMARY KEY,
    total      INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    complete   INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS blob_chunks (
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    pos    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (sha256, pos)
) STRICT;

-- Console sessions (station desk, supervisors), by the token's hash.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts(username),
    expires_at TEXT NOT NULL
) STRICT;

-- Every read of personal data and every change made from the console.
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL
) STRICT;
