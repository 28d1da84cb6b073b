-- Version 10: the rollups again by month and year (crate::rollup), so a report over whole months
-- or years reads a few rows per place and key instead of one per day (crate::report::Split).
-- `tally_month` sums per month (`day` is the month's first); `tally_subjects_month` and
-- `tally_subjects_year` hold each subject of a distinct count once per month or year (`day` the
-- first of the month, January 1st). Written with the day rows, in the same transaction; filled
-- here from the day rows held.
CREATE TABLE tally_month (
    day     TEXT NOT NULL,
    station TEXT NOT NULL,
    town    TEXT NOT NULL,
    village TEXT NOT NULL,
    officer TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, station, town, village, officer, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE tally_subjects_month (
    key     TEXT NOT NULL,
    day     TEXT NOT NULL,
    subject TEXT NOT NULL,
    station TEXT NOT NULL,
    town    TEXT NOT NULL,
    village TEXT NOT NULL,
    officer TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
) STRICT, WITHOUT ROWID;
CREATE TABLE tally_subjects_year (
    key     TEXT NOT NULL,
    day     TEXT NOT NULL,
    subject TEXT NOT NULL,
    station TEXT NOT NULL,
    town    TEXT NOT NULL,
    village TEXT NOT NULL,
    officer TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
) STRICT, WITHOUT ROWID;
INSERT INTO tally_month (day, station, town, village, officer, key, value, n)
    SELECT substr(day, 1, 7) || '-01', station, town, village, officer, key, sum(value), sum(n)
    FROM tally GROUP BY substr(day, 1, 7), station, town, village, officer, key;
INSERT INTO tally_subjects_month (key, day, subject, station, town, village, officer, n)
    SELECT key, substr(day, 1, 7) || '-01', subject, station, town, village, officer, sum(n)
    FROM tally_subjects GROUP BY key, substr(day, 1, 7), subject, station, town, village, officer;
INSERT INTO tally_subjects_year (key, day, subject, station, town, village, officer, n)
    SELECT key, substr(day, 1, 4) || '-01-01', subject, station, town, village, officer, sum(n)
    FROM tally_subjects GROUP BY key, substr(day, 1, 4), subject, station, town, village, officer;
