-- Version 4: what each record adds to the indicator counts (beibao_core::tally), one row per
-- contribution, written in the transaction of the op (or desk move) it comes from. Supervisors'
-- totals are SQL aggregates over `facts_period`; the station is the officer's when the fact was
-- written, the town the village code's first nine digits.
CREATE TABLE facts (
    source  TEXT NOT NULL,      -- `<kind>:<id>` of the record or event it comes from
    key     TEXT NOT NULL,      -- beibao_core::indicators::CountKey (snake_case)
    day     TEXT NOT NULL,      -- YYYY-MM-DD, China time
    week    TEXT NOT NULL,      -- the Monday of its ISO week
    station TEXT NOT NULL,
    town    TEXT,
    village TEXT,
    officer TEXT NOT NULL,
    subject TEXT,               -- what a distinct count counts once (a household, an agreement)
    value   INTEGER NOT NULL
) STRICT;
CREATE INDEX facts_source ON facts (source);
CREATE INDEX facts_period ON facts (day, station, town, village, officer, key, subject, value);
CREATE INDEX facts_week ON facts (week, station, town, village, key, subject, value);

-- Towns (镇街) of the registry, for the names of the console's groups.
CREATE TABLE towns (
    code       TEXT PRIMARY KEY,
    station    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- The day a request was accepted and the last day it closes on time (what its later moves count).
ALTER TABLE requests ADD COLUMN accepted_on TEXT;
ALTER TABLE requests ADD COLUMN due_on TEXT;
-- The village its facts count in (its household's).
ALTER TABLE requests ADD COLUMN village TEXT;
-- Requests held before this version: the day of their acceptance in China time (UTC+8).
UPDATE requests SET accepted_on = date(json_extract(body, '$.accepted_at'), '+8 hours');
-- A request's history, read by the desk's detail.
CREATE INDEX request_events_request ON request_events (request, at);
-- The administrator's device list counts each device's rejected ops.
CREATE INDEX ops_device_rejected ON ops (device_id) WHERE status = 'rejected';
-- Coverage: a household with members of the care indicator's groups (孤寡老人, 留守儿童, 残疾人,
-- 特困), kept when the registry is put; the last visit of a village and of a household by index.
ALTER TABLE places ADD COLUMN special INTEGER NOT NULL DEFAULT 0;
CREATE INDEX places_special ON places (parent) WHERE kind = 'household' AND special = 1;
CREATE INDEX facts_village_visits ON facts (village, day) WHERE key = 'households_visited';
CREATE INDEX facts_subject_visits ON facts (subject, day) WHERE key = 'households_visited';
