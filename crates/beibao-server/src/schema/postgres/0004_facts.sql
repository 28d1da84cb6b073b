-- Version 4: what each record adds to the indicator counts (beibao_core::tally), one row per
-- contribution, written in the transaction of the op (or desk move) it comes from. Supervisors'
-- totals are SQL aggregates over `facts_period`; the station is the officer's when the fact was
-- written, the town the village code's first nine digits.
CREATE TABLE facts (
    source  TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    day     DATE NOT NULL,
    week    DATE NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C",
    village TEXT COLLATE "C",
    officer TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C",
    value   BIGINT NOT NULL
);
CREATE INDEX facts_source ON facts (source);
CREATE INDEX facts_period ON facts (day, station, town, village, officer, key) INCLUDE (subject, value);
CREATE INDEX facts_week ON facts (week, station, town, village, key) INCLUDE (subject, value);

CREATE TABLE towns (
    code       TEXT COLLATE "C" PRIMARY KEY,
    station    TEXT COLLATE "C" NOT NULL,
    body       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE requests ADD COLUMN accepted_on DATE;
ALTER TABLE requests ADD COLUMN due_on DATE;
ALTER TABLE requests ADD COLUMN village TEXT COLLATE "C";
-- Requests held before this version: the day of their acceptance in China time (UTC+8).
UPDATE requests SET accepted_on = ((((body::jsonb) ->> 'accepted_at')::timestamptz AT TIME ZONE 'UTC') + interval '8 hours')::date;
-- A request's history, read by the desk's detail, in the order received (events of one push
-- share its time).
ALTER TABLE request_events ADD COLUMN n BIGSERIAL;
CREATE INDEX request_events_request ON request_events (request, at, n);
-- The administrator's device list counts each device's rejected ops.
CREATE INDEX ops_device_rejected ON ops (device_id) WHERE status = 'rejected';
-- Coverage: a household with members of the care indicator's groups (孤寡老人, 留守儿童, 残疾人,
-- 特困), kept when the registry is put; the last visit of a village and of a household by index.
ALTER TABLE places ADD COLUMN special INTEGER NOT NULL DEFAULT 0;
CREATE INDEX places_special ON places (parent) WHERE kind = 'household' AND special = 1;
CREATE INDEX facts_village_visits ON facts (village, day) WHERE key = 'households_visited';
CREATE INDEX facts_subject_visits ON facts (subject, day) WHERE key = 'households_visited';
