-- Version 10: the rollups again by month and year (crate::rollup), so a report over whole months
-- or years reads a few rows per place and key instead of one per day (crate::report::Split).
-- `tally_month` sums per month (`day` is the month's first); `tally_subjects_month` and
-- `tally_subjects_year` hold each subject of a distinct count once per month or year (`day` the
-- first of the month, January 1st). Written with the day rows, in the same transaction; filled
-- here from the day rows held.
CREATE TABLE tally_month (
    day     DATE NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    value   BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (day, station, town, village, officer, key)
);
CREATE TABLE tally_subjects_month (
    key     TEXT COLLATE "C" NOT NULL,
    day     DATE NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
);
CREATE TABLE tally_subjects_year (
    key     TEXT COLLATE "C" NOT NULL,
    day     DATE NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    station TEXT COLLATE "C" NOT NULL,
    town    TEXT COLLATE "C" NOT NULL,
    village TEXT COLLATE "C" NOT NULL,
    officer TEXT COLLATE "C" NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (key, day, subject, station, town, village, officer)
);
INSERT INTO tally_month (day, station, town, village, officer, key, value, n)
    SELECT date_trunc('month', day)::date, station, town, village, officer, key, sum(value), sum(n)
    FROM tally GROUP BY date_trunc('month', day)::date, station, town, village, officer, key;
INSERT INTO tally_subjects_month (key, day, subject, station, town, village, officer, n)
    SELECT key, date_trunc('month', day)::date, subject, station, town, village, officer, sum(n)
    FROM tally_subjects GROUP BY key, date_trunc('month', day)::date, subject, station, town, village, officer;
INSERT INTO tally_subjects_year (key, day, subject, station, town, village, officer, n)
    SELECT key, date_trunc('year', day)::date, subject, station, town, village, officer, sum(n)
    FROM tally_subjects GROUP BY key, date_trunc('year', day)::date, subject, station, town, village, officer;
