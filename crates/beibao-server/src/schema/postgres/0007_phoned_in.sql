-- Version 7: services residents phoned in to a station desk, for the officer of the household's
-- village (who pulls each as a `phoned_in` change and sees it on Today until accepting it).
CREATE TABLE phoned_in (
    id        TEXT PRIMARY KEY,
    station   TEXT NOT NULL,
    officer   TEXT NOT NULL,
    village   TEXT NOT NULL,
    household TEXT NOT NULL,
    address   TEXT NOT NULL,      -- the household's, when the call was taken
    service   TEXT NOT NULL,
    applicant TEXT,
    note      TEXT NOT NULL,
    taken_by  TEXT NOT NULL,
    taken_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX phoned_in_station ON phoned_in (station, taken_at);
