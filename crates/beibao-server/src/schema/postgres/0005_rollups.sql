-- Version 5: the counts kept as rollups instead of one row per fact (crate::rollup). A push folds
-- its records' facts into a few rows: `tally` sums per day, place and count key (with the number
-- of facts); `tally_subjects` has each subject of a distinct count once per day and place (with
-- the number of facts naming it). A record keeps the facts it added (`records.facts`, JSON), to
-- take them back when it is recorded again. A missing town or village is ''.
CREATE TABLE tally (
    day     DATE NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    week    DATE NOT NULL,
    value   BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (day, station, town, village, officer, key)
);
CREATE TABLE tally_subjects (
    key     TEXT COLLATE "C" NOT NULL,
    day     DATE NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    week    DATE NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
);
INSERT INTO tally (day, station, town, village, officer, key, week, value, n)
    SELECT day, station, coalesce(town, ''), coalesce(village, ''), officer, key, min(week), sum(value), count(*)
    FROM facts GROUP BY day, station, coalesce(town, ''), coalesce(village, ''), officer, key;
INSERT INTO tally_subjects (key, day, subject, station, town, village, officer, week, n)
    SELECT key, day, coalesce(subject, ''), station, coalesce(town, ''), coalesce(village, ''), officer, min(week),
           count(*)
    FROM facts WHERE key IN ('households_visited', 'agreements_performed')
    GROUP BY key, day, coalesce(subject, ''), station, coalesce(town, ''), coalesce(village, ''), officer;
ALTER TABLE records ADD COLUMN facts TEXT;
UPDATE records r SET facts = f.facts
FROM (SELECT source,
             json_build_object('station', min(station), 'village', coalesce(min(village), ''),
                               'officer', min(officer),
                               'facts', json_agg(json_build_object('key', key, 'day', day, 'value', value,
                                                                   'subject', subject)))::text AS facts
      FROM facts GROUP BY source) f
WHERE f.source = r.kind || ':' || r.id;
DROP TABLE facts;
