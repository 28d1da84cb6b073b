-- Sync protocol v1: the device's Ed25519 signature over a finalized agreement's hash, the
-- enrollment with the server, the server's signed receipts, what pull delivered.
ALTER TABLE mediations ADD COLUMN device_signature TEXT;

CREATE TABLE enrollment (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    server_url    TEXT NOT NULL,
    server_key    TEXT NOT NULL,
    enrolled_at   TEXT NOT NULL,
    serial_prefix TEXT NOT NULL,
    serial_next   INTEGER NOT NULL,
    serial_end    INTEGER NOT NULL
) STRICT;

-- One row per acknowledged batch: the server-signed receipt, kept as proof of delivery.
CREATE TABLE receipts (
    batch_id    TEXT PRIMARY KEY,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

-- Server-side changes pulled (status changes made at the station desk, assignments, registry),
-- kept as delivered; their effect is applied to the tables above in the same transaction.
CREATE TABLE pulled (
    cursor  INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    body    TEXT NOT NULL,
    applied TEXT NOT NULL
) STRICT;
