-- Requests phoned in to the station desk for this officer (pull kind `phoned_in`): on Today
-- until the officer accepts that service for that household (`request` then names it).
CREATE TABLE phoned_in (
    id        TEXT PRIMARY KEY,
    service   TEXT NOT NULL,
    household TEXT NOT NULL,
    applicant TEXT,
    note      TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    taken_by  TEXT NOT NULL,
    request   TEXT
);
CREATE INDEX phoned_in_open ON phoned_in (household, service) WHERE request IS NULL;
