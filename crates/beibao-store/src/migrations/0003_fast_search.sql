-- Version 3: searches and totals that stay fast on 100k households and visits.
-- Surname and name prefixes use persons_name (GLOB with a bound pattern); ID tails of 4 and 6
-- characters use expression indexes; address fragments use a trigram full-text index.
CREATE INDEX persons_id_tail4 ON persons(substr(id_number, -4));
CREATE INDEX persons_id_tail6 ON persons(substr(id_number, -6));

CREATE VIRTUAL TABLE households_fts USING fts5(address, content='households', content_rowid='rowid', tokenize='trigram');
INSERT INTO households_fts(households_fts) VALUES ('rebuild');
CREATE TRIGGER households_fts_insert AFTER INSERT ON households BEGIN
    INSERT INTO households_fts(rowid, address) VALUES (new.rowid, new.address);
END;
CREATE TRIGGER households_fts_delete AFTER DELETE ON households BEGIN
    INSERT INTO households_fts(households_fts, rowid, address) VALUES ('delete', old.rowid, old.address);
END;
CREATE TRIGGER households_fts_update AFTER UPDATE OF address ON households BEGIN
    INSERT INTO households_fts(households_fts, rowid, address) VALUES ('delete', old.rowid, old.address);
    INSERT INTO households_fts(rowid, address) VALUES (new.rowid, new.address);
END;

-- Totals read every visit of a period from this index alone.
CREATE INDEX visits_period ON visits(started_at, target_kind, target_id, persons_met, special_group, ended_at);
