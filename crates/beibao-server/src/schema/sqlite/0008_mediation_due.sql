-- Version 8: the supervisors' list of mediation deadlines (crate::due): one row per finalized
-- case, written in the push that records it (plan::Due) and marked by its follow-up and its
-- 司法确认; dates are days in China time. The station is the officer's when the case was written,
-- the town the village code's first nine digits. Cases held before this version are listed by
-- the server in the transaction that applies it (crate::due::backfill).
CREATE TABLE mediation_due (
    mediation      TEXT PRIMARY KEY,
    station        TEXT NOT NULL,
    town           TEXT NOT NULL,
    village        TEXT NOT NULL,
    officer        TEXT NOT NULL,
    kind           TEXT NOT NULL,      -- people | public_security
    concluded_on   TEXT NOT NULL,
    performance_on TEXT,               -- the agreement's performance deadline
    follow_up_on   TEXT,               -- its follow-up (回访, the check of performance) is due
    followed_up_on TEXT,               -- the day the last follow-up checked it
    performed      INTEGER,            -- what that follow-up found (1 performed, 0 not)
    confirm_by     TEXT,               -- last day to apply for 司法确认 (a written 人民调解 agreement)
    confirmed_on   TEXT                -- the day the parties applied
) STRICT;
CREATE INDEX mediation_due_follow_up ON mediation_due (follow_up_on) WHERE followed_up_on IS NULL;
CREATE INDEX mediation_due_confirm ON mediation_due (confirm_by) WHERE confirmed_on IS NULL;
CREATE INDEX mediation_due_village ON mediation_due (station, village);
