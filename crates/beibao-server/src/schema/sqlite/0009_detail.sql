-- Version 9: the detail exports (crate::detail) page through records and requests by day. A
-- record keeps the day it counts on (its first fact's: a visit's day, the day a case was opened)
-- and its officer's station when it was written (as its facts do); a request its officer's
-- station when it was accepted. Rows held before this version take them from the facts they
-- keep; a request from its officer's station at the upgrade.
ALTER TABLE records ADD COLUMN day TEXT;
ALTER TABLE records ADD COLUMN station TEXT;
UPDATE records SET day = json_extract(facts, '$.facts[0].day'), station = json_extract(facts, '$.station')
WHERE facts IS NOT NULL;
CREATE INDEX records_day ON records (kind, day, id) WHERE day IS NOT NULL;
ALTER TABLE requests ADD COLUMN station TEXT;
UPDATE requests SET station = (SELECT o.station FROM officers o WHERE o.id = requests.officer_id);
CREATE INDEX requests_accepted ON requests (accepted_on, id);
