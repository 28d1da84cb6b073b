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
-- Monthly rollups of the facts, kept by a trigger (a report of whole months reads these, the days
-- at its edges the facts): sums per month and group for the summed counts, and one row per
-- subject for the distinct counts, each with the number of facts behind it. A missing town or
-- village is '' here (a unique key ignores NULLs).
CREATE TABLE facts_monthly (
    month   TEXT COLLATE "C" NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    value   BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (month, station, town, village, officer, key)
);
CREATE TABLE facts_monthly_subjects (
    month   TEXT COLLATE "C" NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (month, station, town, village, officer, key, subject)
);
CREATE FUNCTION facts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.key IN ('households_visited', 'agreements_performed') THEN
            INSERT INTO facts_monthly_subjects AS m (month, station, town, village, officer, key, subject, n)
            VALUES (to_char(NEW.day, 'YYYY-MM'), NEW.station, coalesce(NEW.town, ''), coalesce(NEW.village, ''),
                    NEW.officer, NEW.key, coalesce(NEW.subject, ''), 1)
            ON CONFLICT (month, station, town, village, officer, key, subject) DO UPDATE SET n = m.n + 1;
        ELSE
            INSERT INTO facts_monthly AS m (month, station, town, village, officer, key, value, n)
            VALUES (to_char(NEW.day, 'YYYY-MM'), NEW.station, coalesce(NEW.town, ''), coalesce(NEW.village, ''),
                    NEW.officer, NEW.key, NEW.value, 1)
            ON CONFLICT (month, station, town, village, officer, key)
            DO UPDATE SET value = m.value + EXCLUDED.value, n = m.n + 1;
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.key IN ('households_visited', 'agreements_performed') THEN
        UPDATE facts_monthly_subjects SET n = n - 1
        WHERE month = to_char(OLD.day, 'YYYY-MM') AND station = OLD.station AND town = coalesce(OLD.town, '')
          AND village = coalesce(OLD.village, '') AND officer = OLD.officer AND key = OLD.key
          AND subject = coalesce(OLD.subject, '');
        DELETE FROM facts_monthly_subjects
        WHERE month = to_char(OLD.day, 'YYYY-MM') AND station = OLD.station AND town = coalesce(OLD.town, '')
          AND village = coalesce(OLD.village, '') AND officer = OLD.officer AND key = OLD.key
          AND subject = coalesce(OLD.subject, '') AND n <= 0;
    ELSE
        UPDATE facts_monthly SET value = value - OLD.value, n = n - 1
        WHERE month = to_char(OLD.day, 'YYYY-MM') AND station = OLD.station AND town = coalesce(OLD.town, '')
          AND village = coalesce(OLD.village, '') AND officer = OLD.officer AND key = OLD.key;
        DELETE FROM facts_monthly
        WHERE month = to_char(OLD.day, 'YYYY-MM') AND station = OLD.station AND town = coalesce(OLD.town, '')
          AND village = coalesce(OLD.village, '') AND officer = OLD.officer AND key = OLD.key AND n <= 0;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER facts_rollup AFTER INSERT OR DELETE ON facts FOR EACH ROW EXECUTE FUNCTION facts_rollup();
