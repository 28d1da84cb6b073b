-- The Today screen asks, for each of the officer's villages, when it was last visited: an index
-- on (village, started_at) answers that without reading every visit.
CREATE INDEX visits_village ON visits(village, started_at);
