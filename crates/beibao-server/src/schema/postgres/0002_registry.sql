-- Version 2: the server keeps the registry's stations and officers itself (seeded by `seed`,
-- changed by `add-officer` / `move-officer`); the desk's station and enrollment checks read them.
CREATE TABLE stations (
    code       TEXT COLLATE "C" PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE officers (
    id         TEXT COLLATE "C" PRIMARY KEY,
    station    TEXT COLLATE "C" NOT NULL REFERENCES stations(code),
    body       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX officers_station ON officers (station, id);
