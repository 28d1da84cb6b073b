-- Version 3: the server keeps the villages, households and enterprises officers are assigned to,
-- and the assignments themselves (seeded by `seed`, changed by `assign` / `unassign`, each change
-- offered to the officer's tablets by pull).
CREATE TABLE places (
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('village', 'household', 'enterprise')),
    code       TEXT COLLATE "C" NOT NULL,
    parent     TEXT COLLATE "C",
    body       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, code)
);
CREATE INDEX places_parent ON places (kind, parent);

CREATE TABLE assignments (
    officer    TEXT COLLATE "C" NOT NULL REFERENCES officers(id),
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('village', 'enterprise')),
    target     TEXT COLLATE "C" NOT NULL,
    since      DATE NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (officer, kind, target)
);
