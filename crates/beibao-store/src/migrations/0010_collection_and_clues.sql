-- 一标三实 corrections proposed at the door (the station reviews them) and clue reports.
CREATE TABLE registry_proposals (
    id          TEXT PRIMARY KEY,
    village     TEXT NOT NULL,
    household   TEXT,
    category    TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX registry_proposals_by_time ON registry_proposals (proposed_at);
CREATE INDEX registry_proposals_by_household ON registry_proposals (household, proposed_at);
CREATE TABLE clue_reports (
    id          TEXT PRIMARY KEY,
    village     TEXT NOT NULL,
    category    TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX clue_reports_by_time ON clue_reports (reported_at);
