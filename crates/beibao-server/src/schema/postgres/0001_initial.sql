-- beibao-server schema version 1 (PostgreSQL). `IF NOT EXISTS` throughout: a database made before
-- versioned migrations already has these tables and takes version 1 as it is.
-- Identifiers (ids, hashes, kinds) are compared byte-wise (COLLATE "C"): their order carries no
-- language, and a locale-aware comparison costs every index insert and lookup.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT COLLATE "C" PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'desk')),
    station       TEXT,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS enrollment_codes (
    code_hash  TEXT COLLATE "C" PRIMARY KEY,
    officer_id TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    device_id  TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    id           TEXT COLLATE "C" PRIMARY KEY,
    officer_id   TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    last_seq     BIGINT NOT NULL DEFAULT 0,
    enrolled_at  TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    serial_start BIGINT NOT NULL,
    serial_end   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS challenges (
    challenge  TEXT COLLATE "C" PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    device_id  TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ops (
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    seq         BIGINT NOT NULL,
    op_id       TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'duplicate', 'rejected')),
    code        TEXT,
    message     TEXT,
    batch_id    TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS ops_op_id ON ops (op_id) WHERE status <> 'duplicate';
CREATE INDEX IF NOT EXISTS ops_rejected ON ops (received_at) WHERE status = 'rejected';

-- The body of a record is the payload of the op that wrote it last, stored once in `ops`.
CREATE TABLE IF NOT EXISTS records (
    kind        TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    device_id   TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    officer_id  TEXT NOT NULL,
    village     TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS records_device ON records (device_id, kind, id);

CREATE TABLE IF NOT EXISTS requests (
    id          TEXT COLLATE "C" PRIMARY KEY,
    device_id   TEXT COLLATE "C" NOT NULL,
    officer_id  TEXT NOT NULL,
    service     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    state       TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_device ON requests (device_id, id);
CREATE INDEX IF NOT EXISTS requests_officer ON requests (officer_id, state);

CREATE TABLE IF NOT EXISTS request_events (
    id        TEXT COLLATE "C" PRIMARY KEY,
    request   TEXT COLLATE "C" NOT NULL REFERENCES requests(id),
    outcome   TEXT NOT NULL,
    new_state TEXT,
    by        TEXT NOT NULL,
    body      TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);

-- Writers of changes take an advisory transaction lock first, so cursors are handed out and
-- committed in the same order: a reader never skips a cursor that commits later.
CREATE TABLE IF NOT EXISTS changes (
    cursor BIGSERIAL PRIMARY KEY,
    scope  TEXT COLLATE "C" NOT NULL,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    body   TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_scope ON changes (scope, cursor);

CREATE TABLE IF NOT EXISTS catalogs (
    version      TEXT COLLATE "C" PRIMARY KEY,
    body         TEXT NOT NULL,
    cursor       BIGINT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS blobs (
    sha256     TEXT COLLATE "C" PRIMARY KEY,
    total      BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    complete   BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_chunks (
    sha256 TEXT COLLATE "C" NOT NULL REFERENCES blobs(sha256),
    pos    BIGINT NOT NULL,
    bytes  BYTEA NOT NULL,
    PRIMARY KEY (sha256, pos)
);

-- Console sessions (station desk, supervisors), by the token's hash.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts(username),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Every read of personal data and every change made from the console.
CREATE TABLE IF NOT EXISTS audit (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL
);
