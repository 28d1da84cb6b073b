-- Version 2: the server keeps the registry's stations and officers itself (seeded by `seed`,
-- changed by `add-officer` / `move-officer`); the desk's station and enrollment checks read them.
CREATE TABLE stations (
    code       TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE officers (
    id         TEXT PRIMARY KEY,
    station    TEXT NOT NULL REFERENCES stations(code),
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX officers_station ON officers (station, id);
