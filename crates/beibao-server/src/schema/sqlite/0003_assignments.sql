-- Version 3: the server keeps the villages, households and enterprises officers are assigned to,
-- and the assignments themselves (seeded by `seed`, changed by `assign` / `unassign`, each change
-- offered to the officer's tablets by pull).
CREATE TABLE places (
    kind       TEXT NOT NULL CHECK (kind IN ('village', 'household', 'enterprise')),
    code       TEXT NOT NULL,
    parent     TEXT,            -- a household's village
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, code)
) STRICT;
CREATE INDEX places_parent ON places (kind, parent);

CREATE TABLE assignments (
    officer    TEXT NOT NULL REFERENCES officers(id),
    kind       TEXT NOT NULL CHECK (kind IN ('village', 'enterprise')),
    target     TEXT NOT NULL,
    since      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (officer, kind, target)
) STRICT;
