-- Beibao tablet store, version 1. Never edit: append a new migration instead.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE catalog_versions (
    version      TEXT PRIMARY KEY,
    published_on TEXT NOT NULL,
    body         TEXT NOT NULL,
    installed_at TEXT NOT NULL
) STRICT;

CREATE TABLE towns (
    code     TEXT PRIMARY KEY,
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    station  TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;

CREATE TABLE villages (
    code     TEXT PRIMARY KEY,
    town     TEXT NOT NULL REFERENCES towns(code),
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;

CREATE TABLE households (
    id       TEXT PRIMARY KEY,
    village  TEXT NOT NULL REFERENCES villages(code),
    address  TEXT NOT NULL,
    lat      REAL,
    lon      REAL,
    groups   TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    household  TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    id_number  TEXT NOT NULL,
    id_tail    TEXT NOT NULL,
    phone      TEXT,
    relation   TEXT NOT NULL,
    groups     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE enterprises (
    code     TEXT PRIMARY KEY,
    village  TEXT NOT NULL REFERENCES villages(code),
    name     TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;

CREATE TABLE assignments (
    officer  TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('village', 'enterprise')),
    target   TEXT NOT NULL,
    since    TEXT NOT NULL,
    PRIMARY KEY (officer, kind, target)
) STRICT;

CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL,
    officer_id    TEXT NOT NULL,
    village       TEXT NOT NULL,
    target_kind   TEXT NOT NULL CHECK (target_kind IN ('household', 'enterprise')),
    target_id     TEXT NOT NULL,
    purposes      TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    persons_met   INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT NOT NULL,
    special_group INTEGER NOT NULL,
    verdict       TEXT NOT NULL,
    body          TEXT NOT NULL
) STRICT;

CREATE TABLE service_requests (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    officer_id   TEXT NOT NULL,
    service      TEXT NOT NULL,
    mode         TEXT NOT NULL,
    household    TEXT,
    applicant    TEXT NOT NULL,
    state        TEXT NOT NULL,
    payable_fen  INTEGER NOT NULL,
    accepted_at  TEXT NOT NULL,
    closed_at    TEXT,
    body         TEXT NOT NULL
) STRICT;

CREATE TABLE request_events (
    id          TEXT PRIMARY KEY,
    request     TEXT NOT NULL REFERENCES service_requests(id),
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    at          TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE mediations (
    id            TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL,
    officer_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    village       TEXT NOT NULL,
    accepted_on   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'ended')),
    outcome       TEXT,
    eligibility   TEXT NOT NULL,
    agreement     TEXT NOT NULL,
    content_hash  TEXT,
    finalized_at  TEXT,
    opened_at     TEXT NOT NULL
) STRICT;

-- A finalized agreement is immutable: corrections are new records.
CREATE TRIGGER mediations_final_update BEFORE UPDATE ON mediations WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'finalized mediation is read-only'); END;
CREATE TRIGGER mediations_final_delete BEFORE DELETE ON mediations WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'finalized mediation is read-only'); END;

CREATE TABLE mediation_followups (
    id            TEXT PRIMARY KEY,
    mediation     TEXT NOT NULL REFERENCES mediations(id),
    performed     INTEGER NOT NULL,
    checked_on    TEXT NOT NULL,
    note          TEXT NOT NULL
) STRICT;

CREATE TABLE publicity_sessions (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    officer_id  TEXT NOT NULL,
    village     TEXT NOT NULL,
    topic       TEXT NOT NULL,
    held_at     TEXT NOT NULL,
    attendees   INTEGER NOT NULL,
    leaflets    INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE hazards (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    officer_id  TEXT NOT NULL,
    village     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    found_at    TEXT NOT NULL,
    deadline    TEXT,
    fixed_at    TEXT,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE ratings (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    officer_id   TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    rating       TEXT NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    rated_at     TEXT NOT NULL
) STRICT;

-- Content-addressed blobs (signature PNGs, photos); uploaded on their own queue.
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    uploaded    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Every domain write commits with its op here, in one transaction. seq is monotonic per device.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id       TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'duplicate', 'rejected')),
    created_at  TEXT NOT NULL,
    result      TEXT
);

CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pull_cursor     TEXT,
    last_acked_seq  INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO sync_state (id) VALUES (1);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT
) STRICT;
