-- What follows an agreement: the 司法确认 application of a people's-mediation agreement (one per
-- mediation, updated when the court rules) and recurrences (反弹, 民转刑) of a mediated dispute.
CREATE TABLE judicial_confirmations (
    id          TEXT PRIMARY KEY,
    mediation   TEXT NOT NULL UNIQUE REFERENCES mediations(id),
    applied_on  TEXT NOT NULL,
    ruling      TEXT,
    ruled_on    TEXT,
    body        TEXT NOT NULL
);
CREATE TABLE recurrences (
    id          TEXT PRIMARY KEY,
    mediation   TEXT NOT NULL REFERENCES mediations(id),
    kind        TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX recurrences_by_mediation ON recurrences (mediation, occurred_on);
