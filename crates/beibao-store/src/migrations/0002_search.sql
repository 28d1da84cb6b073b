-- Version 2: indexes for the officer's searches and day view.
CREATE INDEX persons_household ON persons(household);
CREATE INDEX persons_name ON persons(name);
CREATE INDEX persons_id_tail ON persons(id_tail);
CREATE INDEX households_village ON households(village);
CREATE INDEX visits_started ON visits(started_at);
CREATE INDEX visits_target ON visits(target_kind, target_id, started_at);
CREATE INDEX requests_state ON service_requests(state);
CREATE INDEX outbox_state ON outbox(state, seq);
