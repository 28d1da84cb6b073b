-- Version 6: an op id is unique per device, not across devices (one device must not be able to
-- claim another's op ids before it pushes them).
DROP INDEX IF EXISTS ops_op_id;
CREATE UNIQUE INDEX ops_device_op_id ON ops (device_id, op_id) WHERE status <> 'duplicate';
