-- Work under way that must survive an app kill or a flat battery: a visit being filled in. (A
-- mediation being edited is already a row of `mediations` with status 'draft'.) A draft is not
-- an outbox op: it never leaves the tablet until it is recorded.
CREATE TABLE drafts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('visit')),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX drafts_started ON drafts(started_at);
