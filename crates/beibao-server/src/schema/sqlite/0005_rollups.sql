-- Version 5: the counts kept as rollups instead of one row per fact (crate::rollup). A push folds
-- its records' facts into a few rows: `tally` sums per day, place and count key (with the number
-- of facts); `tally_subjects` has each subject of a distinct count once per day and place (with
-- the number of facts naming it). A record keeps the facts it added (`records.facts`, JSON), to
-- take them back when it is recorded again. A missing town or village is ''.
CREATE TABLE tally (
    day     TEXT NOT NULL,      -- YYYY-MM-DD, China time
    station TEXT NOT NULL,
    town    TEXT NOT NULL,
    village TEXT NOT NULL,
    officer TEXT NOT NULL,
    key     TEXT NOT NULL,      -- beibao_core::indicators::CountKey (snake_case)
    week    TEXT NOT NULL,      -- the Monday of its ISO week
    value   INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, station, town, village, officer, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE tally_subjects (
    key     TEXT NOT NULL,
    day     TEXT NOT NULL,
    subject TEXT NOT NULL,
    station TEXT NOT NULL,
    town    TEXT NOT NULL,
    village TEXT NOT NULL,
    officer TEXT NOT NULL,
    week    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
) STRICT, WITHOUT ROWID;
INSERT INTO tally (day, station, town, village, officer, key, week, value, n)
    SELECT day, station, coalesce(town, ''), coalesce(village, ''), officer, key, min(week), sum(value), count(*)
    FROM facts GROUP BY day, station, coalesce(town, ''), coalesce(village, ''), officer, key;
INSERT INTO tally_subjects (key, day, subject, station, town, village, officer, week, n)
    SELECT key, day, coalesce(subject, ''), station, coalesce(town, ''), coalesce(village, ''), officer, min(week),
           count(*)
    FROM facts WHERE key IN ('households_visited', 'agreements_performed')
    GROUP BY key, day, coalesce(subject, ''), station, coalesce(town, ''), coalesce(village, ''), officer;
ALTER TABLE records ADD COLUMN facts TEXT;
UPDATE records SET facts = (
    SELECT json_object('station', min(f.station), 'village', coalesce(min(f.village), ''), 'officer', min(f.officer),
                       'facts', json_group_array(json_object('key', f.key, 'day', f.day, 'value', f.value,
                                                             'subject', f.subject)))
    FROM facts f WHERE f.source = records.kind || ':' || records.id)
WHERE EXISTS (SELECT 1 FROM facts f WHERE f.source = records.kind || ':' || records.id);
DROP TABLE facts;
