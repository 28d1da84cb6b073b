//! PostgreSQL storage (`--database postgres://…`): a pool of connections (deadpool-postgres over
//! tokio-postgres), each push one transaction with the device row locked, ops and records
//! written in bulk with `UNNEST`. Writers of pull changes serialize on an advisory lock so the
//! `BIGSERIAL` cursor is in commit order.

use beibao_core::code::Code;
use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use beibao_core::calendar::PublishedCalendar;
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::Catalog;
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody};
use beibao_core::ops::{MediationCase, OpKind};
use beibao_core::registry::{Household, Officer, Registry, Station, Village};
use beibao_core::service_request::{MergeOutcome, RequestState, Transition};
use beibao_core::tally;
use beibao_sync::wire::{Change, OpResult, OpStatus, WireOp};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::detail;
use crate::due;
use crate::migrations;
use crate::plan::{self, BatchError, Decision, Effect, Facts, MediationFacts, RequestFacts};
use crate::report::{self, Aggregate, Level, Period, Scope};
use crate::rollup::{self, Placed, Rollup};
use crate::sqlite::{from_name, name};
use crate::storage::{
    Account, AccountRow, Accounts, Appended, AuditEntry, BlobRow, Blobs, Catalogs, Counts, CoverageRow, Desk, Device,
    DeviceOverview, Devices, Enrollment, EventRow, Exchange, Inspect, PhonedInRow, Pushed, RejectedOp, Reports,
    RequestRow, Roster, Storage, StorageError, from_body, place_changes, registry_rows, stored_code, to_body,
};
use beibao_core::text::LocalText;

/// The advisory lock taken by every writer of `changes`.
const CHANGES_LOCK: i64 = 0x6265_6962_616f;

/// PostgreSQL storage.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Postgres(..)")
    }
}

fn pool_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Db(format!("pool: {e}"))
}

async fn get_device(c: &impl GenericClient, id: &str) -> Result<Option<Device>, StorageError> {
    let sql =
        "SELECT id, officer_id, public_key, last_seq, revoked_at IS NOT NULL, enrolled_at FROM devices WHERE id = $1";
    let row = c.query_opt(sql, &[&id]).await?;
    Ok(row.map(|r| device_of(&r)))
}

/// A [`Device`] from the first six columns: id, officer, key, last seq, revoked, enrolled at.
fn device_of(r: &tokio_postgres::Row) -> Device {
    Device {
        id: r.get(0),
        officer_id: r.get(1),
        public_key: r.get(2),
        last_seq: r.get(3),
        revoked: r.get(4),
        enrolled_at: r.get(5),
    }
}

async fn insert_change(
    c: &impl GenericClient,
    scope: &str,
    kind: &str,
    key: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, StorageError> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).await?;
    let row = c
        .query_one(
            "INSERT INTO changes (scope, kind, key, body, at) VALUES ($1, $2, $3, $4, $5) RETURNING cursor",
            &[&scope, &kind, &key, &body, &now],
        )
        .await?;
    Ok(row.get(0))
}

/// Connections to keep by default: 4 per core, 4 to 32. Pushes are CPU-bound on the database
/// side; more connections than that only make the backends fight for the cores (measured with
/// `make bench-server` on 2 cores: 8 connections 21.5k ops/s, 16 → 18k, 32 → 18.5k).
pub fn default_pool_size() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (cores * 4).clamp(4, 32)
}

impl Postgres {
    /// Connect with a pool of `pool` connections and bring the schema up to date.
    pub async fn connect(url: &str, pool: usize) -> Result<Postgres, StorageError> {
        let cfg = tokio_postgres::Config::from_str(url).map_err(|e| StorageError::Db(format!("database URL: {e}")))?;
        let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr).max_size(pool.max(1)).build().map_err(pool_err)?;
        let me = Postgres { pool };
        let mut c = me.pool.get().await.map_err(pool_err)?;
        // One migrator at a time: servers starting together wait for each other's migrations.
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(CHANGES_LOCK + 1)]).await?;
        tx.batch_execute(migrations::VERSION_TABLE).await?;
        let current: i64 =
            tx.query_one("SELECT coalesce(max(version), 0)::bigint FROM schema_version", &[]).await?.get(0);
        for m in migrations::pending(current)? {
            let legacy = m.version == 1
                && tx
                    .query_opt(
                        "SELECT 1 FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = 'records' AND column_name = 'body'",
                        &[],
                    )
                    .await?
                    .is_some();
            if legacy {
                tx.batch_execute(MIGRATE_V1)
                    .await
                    .map_err(|e| StorageError::Db(format!("migrating records to schema 2: {e}")))?;
            }
            tx.batch_execute(m.postgres)
                .await
                .map_err(|e| StorageError::Db(format!("schema migration {} ({}): {e}", m.version, m.name)))?;
            if m.version == 8 {
                let rows = tx
                    .query(due::BACKFILL_SELECT, &[])
                    .await?
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                    .collect();
                write_due(&tx, &due::backfill(rows)?).await?;
            }
            tx.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                &[&m.version, &m.name, &Utc::now().to_rfc3339()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(me)
    }

    /// Connections the pool holds now (idle or in use).
    pub fn connections(&self) -> usize {
        self.pool.status().size
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StorageError> {
        self.pool.get().await.map_err(pool_err)
    }
}

const DEVICE_FOR_UPDATE: &str = "SELECT id, officer_id, public_key, last_seq, revoked_at IS NOT NULL, enrolled_at,
            coalesce((SELECT station FROM officers o WHERE o.id = d.officer_id), '')
     FROM devices d WHERE id = $1 FOR UPDATE";
const STORED_RESULTS: &str = "SELECT seq, op_id, status, code, message FROM ops WHERE device_id = $1 AND seq = ANY($2)";
const SEEN_OP_IDS: &str = "SELECT op_id FROM ops WHERE device_id = $2 AND op_id = ANY($1) AND status <> 'duplicate'";
const HELD_EVENTS: &str = "SELECT id FROM request_events WHERE id = ANY($1)";
const REQUEST_FACTS: &str = "SELECT id, mode, state, service, accepted_on, due_on, officer_id, village,
            coalesce((SELECT station FROM officers o WHERE o.id = r.officer_id), '')
     FROM requests r WHERE id = ANY($1)";
/// Where facts count (crate::rollup): households' villages, what ratings are about, the facts
/// records hold.
const HOUSEHOLD_VILLAGES: &str = "SELECT code, parent FROM places WHERE kind = 'household' AND code = ANY($1)";
const ABOUT_VILLAGES: &str = "SELECT id, village FROM records
     WHERE kind IN ('visit', 'mediation') AND id = ANY($1) AND village IS NOT NULL
     UNION ALL SELECT id, village FROM requests WHERE id = ANY($1) AND village IS NOT NULL";
const RECORD_FACTS: &str = "SELECT r.kind, r.id, r.facts, r.officer_id FROM records r
     JOIN UNNEST($1::text[], $2::text[]) AS u(kind, id) ON r.kind = u.kind AND r.id = u.id";

/// A row of [`REQUEST_FACTS`] (or the same columns): the request as the rules read it, with
/// its officer and village.
fn request_facts(r: &tokio_postgres::Row) -> Result<(RequestFacts, String, Option<String>), StorageError> {
    let (mode, state): (String, String) = (r.get(1), r.get(2));
    let accepted_on: Option<NaiveDate> = r.get(4);
    let held = RequestFacts {
        mode: from_name(&mode)?,
        state: from_name(&state)?,
        service: r.get(3),
        accepted_on: accepted_on.ok_or_else(|| StorageError::Db("a request without accepted_on".into()))?,
        due: r.get(5),
        officer: r.get(6),
    };
    Ok((held, r.get(6), r.get(7)))
}
/// A named mediation's owner and village, and the payload it was recorded with (its deadline).
const MEDIATION_OWNERS: &str = "SELECT r.id, r.device_id, r.village, o.payload FROM records r
     JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq WHERE r.kind = 'mediation' AND r.id = ANY($1)";
/// The rollups' change in bulk (crate::rollup): every table in one statement (all but `tally` in
/// data-modifying CTEs) — the day rows ($1–$18), then `tally_month` ($19–$26) and the distinct
/// counts by month ($27–$34) and year ($35–$42).
const UPSERT_ROLLUPS: &str = "WITH subjects AS (
         INSERT INTO tally_subjects (key, day, subject, station, town, village, officer, week, n)
         SELECT * FROM UNNEST($10::text[], $11::date[], $12::text[], $13::text[], $14::text[], $15::text[],
                              $16::text[], $17::date[], $18::bigint[])
         ON CONFLICT (key, day, subject, station, town, village, officer) DO UPDATE SET n = tally_subjects.n + excluded.n),
     months AS (
         INSERT INTO tally_month (day, station, town, village, officer, key, value, n)
         SELECT * FROM UNNEST($19::date[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[],
                              $25::bigint[], $26::bigint[])
         ON CONFLICT (day, station, town, village, officer, key)
         DO UPDATE SET value = tally_month.value + excluded.value, n = tally_month.n + excluded.n),
     month_subjects AS (
         INSERT INTO tally_subjects_month (key, day, subject, station, town, village, officer, n)
         SELECT * FROM UNNEST($27::text[], $28::date[], $29::text[], $30::text[], $31::text[], $32::text[],
                              $33::text[], $34::bigint[])
         ON CONFLICT (key, day, subject, station, town, village, officer)
         DO UPDATE SET n = tally_subjects_month.n + excluded.n),
     year_subjects AS (
         INSERT INTO tally_subjects_year (key, day, subject, station, town, village, officer, n)
         SELECT * FROM UNNEST($35::text[], $36::date[], $37::text[], $38::text[], $39::text[], $40::text[],
                              $41::text[], $42::bigint[])
         ON CONFLICT (key, day, subject, station, town, village, officer)
         DO UPDATE SET n = tally_subjects_year.n + excluded.n)
     INSERT INTO tally (day, station, town, village, officer, key, week, value, n)
     SELECT * FROM UNNEST($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[],
                          $8::bigint[], $9::bigint[])
     ON CONFLICT (day, station, town, village, officer, key)
     DO UPDATE SET value = tally.value + excluded.value, n = tally.n + excluded.n";
const INSERT_OPS: &str =
    "INSERT INTO ops (device_id, seq, op_id, kind, sha256, payload, status, code, message, batch_id, received_at)
     SELECT $1, u.* , $10, $11 FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                                           $7::text[], $8::text[], $9::text[]) AS u";
const UPSERT_RECORDS: &str =
    "INSERT INTO records (kind, id, device_id, seq, officer_id, village, received_at, facts, day, station)
     SELECT u.kind, u.id, $5, u.seq, $6, u.village, $7, u.facts, u.day, u.station
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $8::text[], $9::date[], $10::text[])
          AS u(kind, id, village, seq, facts, day, station)
     ON CONFLICT (kind, id) DO UPDATE SET device_id = excluded.device_id, seq = excluded.seq,
                                          received_at = excluded.received_at, facts = excluded.facts,
                                          day = excluded.day, station = excluded.station";
/// A device's records of a kind with their bodies (the payload of the op that wrote each last).
#[cfg(feature = "test-support")]
const RECORDS_OF_DEVICE: &str =
    "SELECT r.id, o.payload FROM records r JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq
     WHERE r.device_id = $1 AND r.kind = $2 ORDER BY r.id";
/// Schema 1 kept a second copy of each record's body in `records`; schema 2 points at the op.
const MIGRATE_V1: &str = "
ALTER TABLE records ADD COLUMN seq BIGINT;
UPDATE records r SET seq = (SELECT max(o.seq) FROM ops o WHERE o.device_id = r.device_id AND o.payload = r.body);
ALTER TABLE records ALTER COLUMN seq SET NOT NULL;
ALTER TABLE records DROP COLUMN body;
";
const INSERT_REQUEST: &str =
    "INSERT INTO requests (id, device_id, officer_id, service, mode, state, body, received_at, updated_at, due_on,
                           village, accepted_on, station)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, (SELECT parent FROM places WHERE kind = 'household' AND code = $10),
             $11, $12)";
const INSERT_REQUEST_EVENT: &str = "INSERT INTO request_events (id, request, outcome, new_state, by, body, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const MOVE_REQUEST: &str = "UPDATE requests SET state = $2, updated_at = $3 WHERE id = $1";
const MOVE_LAST_SEQ: &str = "UPDATE devices SET last_seq = $2 WHERE id = $1";

/// Open the push's transaction, lock the device and read every fact the batch could need, in one
/// round trip: the statements are pipelined on the connection and run in order, so the reads
/// (each its own snapshot under READ COMMITTED) see everything committed before the lock was
/// granted. The reads are a superset — every seq and request of the batch — because the device's
/// `last_seq` is not known before the lock.
async fn begin_lock_and_read(
    c: &deadpool_postgres::Object,
    device_id: &str,
    ops: &[WireOp],
    checks: &[plan::Check],
) -> Result<Option<(Device, Facts, Prefetched)>, StorageError> {
    let all = plan::Needs::superset(ops, checks);
    let (lock, stored, seen, requests, owners, households, abouts, record_facts, held_events) = tokio::try_join!(
        c.prepare_cached(DEVICE_FOR_UPDATE),
        c.prepare_cached(STORED_RESULTS),
        c.prepare_cached(SEEN_OP_IDS),
        c.prepare_cached(REQUEST_FACTS),
        c.prepare_cached(MEDIATION_OWNERS),
        c.prepare_cached(HOUSEHOLD_VILLAGES),
        c.prepare_cached(ABOUT_VILLAGES),
        c.prepare_cached(RECORD_FACTS),
        c.prepare_cached(HELD_EVENTS),
    )?;
    let no_rows = || async { Ok::<_, tokio_postgres::Error>(Vec::new()) };
    let (record_kinds, record_ids): (Vec<&str>, Vec<&str>) =
        all.records.iter().map(|(k, id)| (k.as_str(), id.as_str())).unzip();
    // `biased`: polled — hence sent — in this order: BEGIN, the lock, the reads.
    let (_, device, stored, seen, requests, owners, households, abouts, record_facts, held_events) = tokio::try_join!(
        biased;
        async { c.batch_execute("BEGIN").await },
        async { c.query_opt(&lock, &[&device_id]).await },
        async { c.query(&stored, &[&device_id, &all.seqs]).await },
        async { c.query(&seen, &[&all.op_ids, &device_id]).await },
        async {
            if all.requests.is_empty() { no_rows().await } else { c.query(&requests, &[&all.requests]).await }
        },
        async {
            if all.mediations.is_empty() { no_rows().await } else { c.query(&owners, &[&all.mediations]).await }
        },
        async {
            if all.households.is_empty() { no_rows().await } else { c.query(&households, &[&all.households]).await }
        },
        async { if all.abouts.is_empty() { no_rows().await } else { c.query(&abouts, &[&all.abouts]).await } },
        async {
            if record_ids.is_empty() {
                no_rows().await
            } else {
                c.query(&record_facts, &[&record_kinds, &record_ids]).await
            }
        },
        async { if all.events.is_empty() { no_rows().await } else { c.query(&held_events, &[&all.events]).await } },
    )?;
    let Some(r) = device else { return Ok(None) };
    let device = device_of(&r);
    let mut known = Prefetched::default();
    known.stations.insert(device.officer_id.clone(), r.get(6));
    for r in households {
        known.households.insert(r.get(0), r.get(1));
    }
    for r in abouts {
        known.abouts.entry(r.get(0)).or_insert(r.get(1));
    }
    let mut facts = Facts::default();
    for r in record_facts {
        let kind: String = r.get(0);
        let key: (OpKind, String) = (from_name(&kind)?, r.get(1));
        let kept: Option<String> = r.get(2);
        facts.owners.insert(key.clone(), r.get(3));
        known.records.insert(key, kept.as_deref().map(rollup::parse_facts).transpose()?);
    }
    for r in held_events {
        facts.events.insert(r.get(0));
    }
    for r in stored {
        let status: String = r.get(2);
        let status = OpStatus::parse(&status).ok_or_else(|| StorageError::Db(format!("status `{status}`")))?;
        let seq: i64 = r.get(0);
        facts.stored.insert(
            seq,
            OpResult {
                seq,
                op_id: r.get(1),
                status,
                code: r.get::<_, Option<&str>>(3).map(stored_code),
                message: r.get(4),
            },
        );
    }
    for r in seen {
        facts.seen_op_ids.insert(r.get(0));
    }
    for r in requests {
        let (held, officer, village) = request_facts(&r)?;
        known.stations.insert(officer.clone(), r.get(8));
        known.requests.insert(r.get(0), (officer, village));
        facts.requests.insert(r.get(0), held);
    }
    for r in owners {
        let case: MediationCase = crate::storage::from_body("mediation", r.get(3))?;
        let village: Option<String> = r.get(2);
        facts.mediations.insert(
            r.get(0),
            MediationFacts {
                device: r.get(1),
                village: village.unwrap_or_else(|| case.village.clone()),
                deadline: tally::performance_deadline(&case),
            },
        );
    }
    Ok(Some((device, facts, known)))
}

/// [`rollup::Lookup`] from what [`begin_lock_and_read`] read (a superset of what the batch asks).
#[derive(Default)]
struct Prefetched {
    stations: HashMap<String, String>,
    households: HashMap<String, Option<String>>,
    abouts: HashMap<String, String>,
    requests: HashMap<String, (String, Option<String>)>,
    records: HashMap<(OpKind, String), Option<Vec<Placed>>>,
}

impl rollup::Lookup for Prefetched {
    fn station(&mut self, officer: &str) -> Result<String, StorageError> {
        self.stations.get(officer).cloned().ok_or_else(|| StorageError::Db(format!("station of {officer} not read")))
    }

    fn household_village(&mut self, household: &str) -> Result<Option<String>, StorageError> {
        Ok(self.households.get(household).cloned().flatten())
    }

    fn village_about(&mut self, id: &str) -> Result<Option<String>, StorageError> {
        Ok(self.abouts.get(id).cloned())
    }

    fn request_place(&mut self, id: &str) -> Result<Option<(String, Option<String>)>, StorageError> {
        Ok(self.requests.get(id).cloned())
    }

    fn record_facts(&mut self, kind: OpKind, id: &str) -> Result<Option<Vec<Placed>>, StorageError> {
        Ok(self.records.get(&(kind, id.to_owned())).cloned().flatten())
    }
}

/// Write a batch's results and effects and commit. The ops, the records, the rollups' change
/// and the device's `last_seq` are independent statements sent in one pipeline, with the COMMIT
/// behind them when the batch has no service requests (a failed statement aborts the
/// transaction, so that COMMIT rolls back, and the error is returned). Service requests and their
/// events go in order (an event refers to its request), then the COMMIT.
async fn write_and_commit(
    c: &deadpool_postgres::Object,
    device: &Device,
    batch_id: &str,
    decisions: &[Decision],
    known: &mut Prefetched,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let placed = rollup::place_batch(&device.officer_id, decisions, known)?;
    let fresh: Vec<&Decision> = decisions.iter().filter(|d| !d.replay).collect();
    let seqs: Vec<i64> = fresh.iter().map(|d| d.seq).collect();
    let op_ids: Vec<&str> = fresh.iter().map(|d| d.op_id.as_str()).collect();
    let kinds: Vec<&str> = fresh.iter().map(|d| d.kind.as_str()).collect();
    let shas: Vec<&str> = fresh.iter().map(|d| d.sha256.as_str()).collect();
    let payloads: Vec<&str> = fresh.iter().map(|d| d.payload.as_str()).collect();
    let statuses: Vec<&str> = fresh.iter().map(|d| d.result.status.as_str()).collect();
    let codes: Vec<Option<&str>> = fresh.iter().map(|d| d.result.code.map(Code::as_str)).collect();
    let messages: Vec<Option<&str>> = fresh.iter().map(|d| d.result.message.as_deref()).collect();
    // Records in bulk; a record named twice in one batch (a hazard and its fix) keeps the last.
    let mut records: Vec<(OpKind, &str, Option<&str>, i64)> = Vec::new();
    let mut index: HashMap<(OpKind, &str), usize> = HashMap::new();
    for d in &fresh {
        for e in &d.effects {
            if let Effect::Record { kind, id, village, .. } = e {
                let key = (*kind, id.as_str());
                let row = (*kind, id.as_str(), village.as_deref(), d.seq);
                match index.get(&key) {
                    Some(&i) => records[i] = row,
                    None => {
                        index.insert(key, records.len());
                        records.push(row);
                    }
                }
            }
        }
    }
    let r_kinds: Vec<&str> = records.iter().map(|r| r.0.as_str()).collect();
    let r_ids: Vec<&str> = records.iter().map(|r| r.1).collect();
    let r_villages: Vec<Option<&str>> = records.iter().map(|r| r.2).collect();
    let r_seqs: Vec<i64> = records.iter().map(|r| r.3).collect();
    let kept: Vec<Option<&rollup::KeptRecord>> =
        records.iter().map(|r| placed.records.get(&(r.0, r.1.to_owned()))).collect();
    let r_facts: Vec<Option<&str>> = kept.iter().map(|k| k.map(|k| k.facts.as_str())).collect();
    let r_days: Vec<Option<NaiveDate>> = kept.iter().map(|k| k.map(|k| k.day)).collect();
    let r_stations: Vec<Option<&str>> = kept.iter().map(|k| k.map(|k| k.station.as_str())).collect();
    let last = decisions.iter().map(|d| d.seq).max().unwrap_or(device.last_seq).max(device.last_seq);
    let (insert_ops, upsert_records, move_last_seq) = tokio::try_join!(
        c.prepare_cached(INSERT_OPS),
        c.prepare_cached(UPSERT_RECORDS),
        c.prepare_cached(MOVE_LAST_SEQ),
    )?;
    let none = || async { Ok::<u64, tokio_postgres::Error>(0) };
    let in_order =
        !placed.due.is_empty() || fresh.iter().any(|d| d.effects.iter().any(|e| !matches!(e, Effect::Record { .. })));
    tokio::try_join!(
        biased;
        async {
            if fresh.is_empty() {
                return none().await;
            }
            c.execute(
                &insert_ops,
                &[&device.id, &seqs, &op_ids, &kinds, &shas, &payloads, &statuses, &codes, &messages, &batch_id, &now],
            )
            .await
        },
        async {
            if records.is_empty() {
                return none().await;
            }
            c.execute(
                &upsert_records,
                &[&r_kinds, &r_ids, &r_villages, &r_seqs, &device.id, &device.officer_id, &now, &r_facts, &r_days, &r_stations],
            )
            .await
        },
        async { c.execute(&move_last_seq, &[&device.id, &last]).await },
        async { write_rollup(c, &placed.rollup).await.map(|()| 0) },
        async { if in_order { Ok(()) } else { c.batch_execute("COMMIT").await } },
    )?;
    if !in_order {
        return Ok(());
    }
    for d in &fresh {
        for e in &d.effects {
            match e {
                Effect::Record { .. } => {}
                Effect::Request { id, service, mode, state, body, household, accepted_on, due_on, .. } => {
                    let st = c.prepare_cached(INSERT_REQUEST).await?;
                    c.execute(
                        &st,
                        &[
                            id,
                            &device.id,
                            &device.officer_id,
                            service,
                            mode,
                            state,
                            body,
                            &now,
                            due_on,
                            household,
                            accepted_on,
                            &placed.request_stations.get(id),
                        ],
                    )
                    .await?;
                }
                Effect::RequestEvent { id, request, outcome, new_state, body, .. } => {
                    let st = c.prepare_cached(INSERT_REQUEST_EVENT).await?;
                    c.execute(&st, &[id, request, outcome, new_state, &device.id, body, &now]).await?;
                    if let Some(state) = new_state {
                        let st = c.prepare_cached(MOVE_REQUEST).await?;
                        c.execute(&st, &[request, state, &now]).await?;
                    }
                }
            }
        }
    }
    write_due(c, &placed.due).await?;
    c.batch_execute("COMMIT").await?;
    Ok(())
}

/// Changes to the list of mediation deadlines, in order ([`crate::due`]).
async fn write_due(c: &impl GenericClient, changes: &[rollup::PlacedDue]) -> Result<(), StorageError> {
    use crate::due::write;
    for p in changes {
        match &p.change {
            plan::Due::Case { kind, concluded_on, deadlines } => {
                let st = c.prepare_cached(&write::dollars(write::CASE)).await?;
                c.execute(
                    &st,
                    &[
                        &p.mediation,
                        &p.station,
                        &p.town(),
                        &p.village,
                        &p.officer,
                        &name(*kind),
                        concluded_on,
                        &deadlines.performance,
                        &deadlines.follow_up,
                        &deadlines.judicial_confirmation,
                    ],
                )
                .await?;
            }
            plan::Due::FollowedUp { on, performed, .. } => {
                let st = c.prepare_cached(&write::dollars(write::FOLLOWED_UP)).await?;
                c.execute(&st, &[&p.mediation, on, performed]).await?;
            }
            plan::Due::Confirmed { on, .. } => {
                let st = c.prepare_cached(&write::dollars(write::CONFIRMED)).await?;
                c.execute(&st, &[&p.mediation, on]).await?;
            }
        }
    }
    Ok(())
}

/// A sums table's rows as columns (for UNNEST).
#[derive(Default)]
struct SumColumns<'a> {
    day: Vec<NaiveDate>,
    station: Vec<&'a str>,
    town: Vec<&'a str>,
    village: Vec<&'a str>,
    officer: Vec<&'a str>,
    key: Vec<String>,
    week: Vec<NaiveDate>,
    value: Vec<i64>,
    n: Vec<i64>,
}

impl<'a> SumColumns<'a> {
    fn of(rows: &'a rollup::Sums) -> SumColumns<'a> {
        let mut c = SumColumns::default();
        for ((d, s, t, v, o, k), (val, count)) in rows {
            c.day.push(*d);
            c.station.push(s.as_str());
            c.town.push(t.as_str());
            c.village.push(v.as_str());
            c.officer.push(o.as_str());
            c.key.push(name(k));
            c.week.push(crate::report::week_of(*d));
            c.value.push(*val);
            c.n.push(*count);
        }
        c
    }
}

/// A distinct counts table's rows as columns (for UNNEST).
#[derive(Default)]
struct SubjectColumns<'a> {
    key: Vec<String>,
    day: Vec<NaiveDate>,
    subject: Vec<&'a str>,
    station: Vec<&'a str>,
    town: Vec<&'a str>,
    village: Vec<&'a str>,
    officer: Vec<&'a str>,
    week: Vec<NaiveDate>,
    n: Vec<i64>,
}

impl<'a> SubjectColumns<'a> {
    fn of(rows: &'a rollup::Subjects) -> SubjectColumns<'a> {
        let mut c = SubjectColumns::default();
        for ((k, d, subject, s, t, v, o), count) in rows {
            c.key.push(name(k));
            c.day.push(*d);
            c.subject.push(subject.as_str());
            c.station.push(s.as_str());
            c.town.push(t.as_str());
            c.village.push(v.as_str());
            c.officer.push(o.as_str());
            c.week.push(crate::report::week_of(*d));
            c.n.push(*count);
        }
        c
    }
}

/// Rows of a sums table left with no facts, deleted.
fn drop_empty_sums(table: &str) -> String {
    format!(
        "DELETE FROM {table} t
         USING UNNEST($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
               AS u(day, station, town, village, officer, key)
         WHERE t.day = u.day AND t.station = u.station AND t.town = u.town AND t.village = u.village
           AND t.officer = u.officer AND t.key = u.key AND t.n <= 0"
    )
}

/// Rows of a distinct counts table left with no facts, deleted.
fn drop_empty_subjects(table: &str) -> String {
    format!(
        "DELETE FROM {table} t
         USING UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
               AS u(key, day, subject, station, town, village, officer)
         WHERE t.key = u.key AND t.day = u.day AND t.subject = u.subject AND t.station = u.station
           AND t.town = u.town AND t.village = u.village AND t.officer = u.officer AND t.n <= 0"
    )
}

/// Fold a push's (or a desk move's) facts into the rollups, in bulk; rows left with no facts go.
/// Statements are sent one after another on the connection (pipelined when awaited together).
async fn write_rollup(c: &impl GenericClient, r: &Rollup) -> Result<(), tokio_postgres::Error> {
    if r.is_empty() {
        return Ok(());
    }
    let (d, s) = (SumColumns::of(&r.sums), SubjectColumns::of(&r.subjects));
    let m = SumColumns::of(&r.month_sums);
    let (sm, sy) = (SubjectColumns::of(&r.month_subjects), SubjectColumns::of(&r.year_subjects));
    let st = c.prepare_cached(UPSERT_ROLLUPS).await?;
    c.execute(
        &st,
        &[
            &d.day,
            &d.station,
            &d.town,
            &d.village,
            &d.officer,
            &d.key,
            &d.week,
            &d.value,
            &d.n,
            &s.key,
            &s.day,
            &s.subject,
            &s.station,
            &s.town,
            &s.village,
            &s.officer,
            &s.week,
            &s.n,
            &m.day,
            &m.station,
            &m.town,
            &m.village,
            &m.officer,
            &m.key,
            &m.value,
            &m.n,
            &sm.key,
            &sm.day,
            &sm.subject,
            &sm.station,
            &sm.town,
            &sm.village,
            &sm.officer,
            &sm.n,
            &sy.key,
            &sy.day,
            &sy.subject,
            &sy.station,
            &sy.town,
            &sy.village,
            &sy.officer,
            &sy.n,
        ],
    )
    .await?;
    if r.takes_back() {
        for (table, cols) in [("tally", &d), ("tally_month", &m)] {
            let st = c.prepare_cached(&drop_empty_sums(table)).await?;
            c.execute(&st, &[&cols.day, &cols.station, &cols.town, &cols.village, &cols.officer, &cols.key]).await?;
        }
        for (table, cols) in [("tally_subjects", &s), ("tally_subjects_month", &sm), ("tally_subjects_year", &sy)] {
            let st = c.prepare_cached(&drop_empty_subjects(table)).await?;
            c.execute(
                &st,
                &[&cols.key, &cols.day, &cols.subject, &cols.station, &cols.town, &cols.village, &cols.officer],
            )
            .await?;
        }
    }
    Ok(())
}

async fn blob_row(c: &impl GenericClient, sha: &str) -> Result<Option<BlobRow>, StorageError> {
    let row = c.query_opt("SELECT total, received, complete FROM blobs WHERE sha256 = $1", &[&sha]).await?;
    Ok(row.map(|r| BlobRow { total: r.get::<_, i64>(0) as u64, offset: r.get::<_, i64>(1) as u64, complete: r.get(2) }))
}

async fn assemble(c: &impl GenericClient, sha: &str) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    for r in c.query("SELECT bytes FROM blob_chunks WHERE sha256 = $1 ORDER BY pos", &[&sha]).await? {
        out.extend_from_slice(r.get::<_, &[u8]>(0));
    }
    Ok(out)
}

/// A connection with a push under way. Dropped unfinished — an error on the way, or the client
/// gone and the handler's future with it, at any await — it leaves the pool and is closed, so
/// PostgreSQL rolls its transaction back and no half-done push is ever committed by the next
/// user of the connection.
struct Unfinished(Option<deadpool_postgres::Object>);

impl Unfinished {
    /// The transaction is closed: the connection goes back to the pool.
    fn finished(mut self) {
        self.0.take();
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            drop(deadpool_postgres::Object::take(c));
        }
    }
}

/// A push on one connection: BEGIN + lock + reads in one round trip, writes + COMMIT in another.
async fn push_in(
    c: &deadpool_postgres::Object,
    device_id: &str,
    batch_id: &str,
    ops: &[WireOp],
    checks: &[plan::Check],
    now: DateTime<Utc>,
) -> Result<Result<Pushed, BatchError>, StorageError> {
    let (device, facts, mut known) = begin_lock_and_read(c, device_id, ops, checks)
        .await?
        .ok_or_else(|| StorageError::refused(Code::UnknownDevice, format!("no device {device_id}")))?;
    // The gap check needs the locked `last_seq`; the facts read are a superset of what it needs.
    if let Err(e) = plan::check_gap(ops, device.last_seq) {
        return Ok(Err(e));
    }
    let decisions = plan::decide(ops, checks, &device, &facts);
    write_and_commit(c, &device, batch_id, &decisions, &mut known, now).await?;
    let last_seq = decisions.iter().map(|d| d.seq).max().unwrap_or(0).max(device.last_seq);
    Ok(Ok(Pushed { results: decisions.into_iter().map(|d| d.result).collect(), last_seq }))
}

/// The columns of a [`RequestRow`].
const REQUEST_ROW: &str = "SELECT id, device_id, officer_id, service, mode, state, body, received_at, updated_at,
     (SELECT station FROM officers o WHERE o.id = requests.officer_id) FROM requests";

fn request_row(r: &tokio_postgres::Row) -> Result<RequestRow, StorageError> {
    Ok(RequestRow {
        id: r.get(0),
        device_id: r.get(1),
        officer_id: r.get(2),
        service: r.get(3),
        mode: from_name(r.get(4))?,
        state: from_name(r.get(5))?,
        body: r.get(6),
        received_at: r.get(7),
        updated_at: r.get(8),
    })
}

fn unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

#[async_trait]
impl Storage for Postgres {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn server_seed(&self, fresh: [u8; 32]) -> Result<[u8; 32], StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ('server_seed', $1) ON CONFLICT (key) DO NOTHING",
            &[&hex::encode(fresh)],
        )
        .await?;
        let v: String = c.query_one("SELECT value FROM meta WHERE key = 'server_seed'", &[]).await?.get(0);
        hex::decode(&v)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| StorageError::Db("stored server seed is not 32 bytes".into()))
    }
}

#[async_trait]
impl Accounts for Postgres {
    async fn create_account(&self, a: &Account, now: DateTime<Utc>) -> Result<(), StorageError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO accounts (username, role, station, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (username) DO NOTHING",
                &[&a.username, &a.role.as_str(), &a.station, &a.password_hash, &now],
            )
            .await?;
        if n == 0 {
            return Err(StorageError::refused(Code::AccountExists, format!("account `{}` exists", a.username)));
        }
        Ok(())
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StorageError> {
        let c = self.client().await?;
        let rows = c.query("SELECT username, role, station, created_at FROM accounts ORDER BY username", &[]).await?;
        rows.iter()
            .map(|r| {
                let role: String = r.get(1);
                Ok(AccountRow { username: r.get(0), role: from_name(&role)?, station: r.get(2), created_at: r.get(3) })
            })
            .collect()
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT username, role, station, password_hash FROM accounts WHERE username = $1", &[&username])
            .await?;
        row.map(|r| {
            Ok(Account {
                username: r.get(0),
                role: from_name(r.get::<_, &str>(1))?,
                station: r.get(2),
                password_hash: r.get(3),
            })
        })
        .transpose()
    }

    async fn put_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO sessions (token_hash, username, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &username, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<(Account, DateTime<Utc>)>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT a.username, a.role, a.station, a.password_hash, s.expires_at
                 FROM sessions s JOIN accounts a ON a.username = s.username WHERE s.token_hash = $1",
                &[&token_hash],
            )
            .await?;
        row.map(|r| {
            Ok((
                Account {
                    username: r.get(0),
                    role: from_name(r.get::<_, &str>(1))?,
                    station: r.get(2),
                    password_hash: r.get(3),
                },
                r.get(4),
            ))
        })
        .transpose()
    }

    async fn drop_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.client().await?.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await?;
        Ok(())
    }

    async fn audit(&self, e: &AuditEntry) -> Result<(), StorageError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO audit (at, actor, action, subject) VALUES ($1, $2, $3, $4)",
                &[&e.at, &e.actor, &e.action, &e.subject],
            )
            .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT at, actor, action, subject FROM audit ORDER BY id DESC LIMIT $1", &[&(limit as i64)])
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry { at: r.get(0), actor: r.get(1), action: r.get(2), subject: r.get(3) })
            .collect())
    }
}

async fn get_code(
    c: &impl GenericClient,
    code_hash: &str,
    lock: bool,
) -> Result<Option<plan::CodeFacts>, StorageError> {
    let sql = if lock {
        "SELECT officer_id, expires_at, used_at IS NOT NULL FROM enrollment_codes WHERE code_hash = $1 FOR UPDATE"
    } else {
        "SELECT officer_id, expires_at, used_at IS NOT NULL FROM enrollment_codes WHERE code_hash = $1"
    };
    let row = c.query_opt(sql, &[&code_hash]).await?;
    Ok(row.map(|r| plan::CodeFacts { officer_id: r.get(0), expires_at: r.get(1), used: r.get(2) }))
}

async fn get_assignment(
    c: &impl GenericClient,
    officer: &str,
    kind: AssignmentKind,
    target: &str,
    lock: bool,
) -> Result<Option<AssignmentChange>, StorageError> {
    let sql = if lock {
        "SELECT since FROM assignments WHERE officer = $1 AND kind = $2 AND target = $3 FOR UPDATE"
    } else {
        "SELECT since FROM assignments WHERE officer = $1 AND kind = $2 AND target = $3"
    };
    let row = c.query_opt(sql, &[&officer, &plan::kind_name(kind), &target]).await?;
    Ok(row.map(|r| AssignmentChange {
        officer: officer.to_owned(),
        kind,
        target: target.to_owned(),
        since: r.get(0),
        until: None,
    }))
}

/// A place's bodies: the village or enterprise, then a village's households by id.
async fn place_bodies(c: &impl GenericClient, kind: AssignmentKind, code: &str) -> Result<Vec<String>, StorageError> {
    let kind = plan::kind_name(kind);
    let Some(place) = c.query_opt("SELECT body FROM places WHERE kind = $1 AND code = $2", &[&kind, &code]).await?
    else {
        return Ok(Vec::new());
    };
    let mut out = vec![place.get::<_, String>(0)];
    if kind == "village" {
        let rows =
            c.query("SELECT body FROM places WHERE kind = 'household' AND parent = $1 ORDER BY code", &[&code]).await?;
        out.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    Ok(out)
}

async fn has_station(c: &impl GenericClient, code: &str) -> Result<bool, StorageError> {
    Ok(c.query_one("SELECT EXISTS (SELECT 1 FROM stations WHERE code = $1)", &[&code]).await?.get(0))
}

async fn get_officer(c: &impl GenericClient, id: &str, lock: bool) -> Result<Option<Officer>, StorageError> {
    let sql = if lock {
        "SELECT body FROM officers WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM officers WHERE id = $1"
    };
    let row = c.query_opt(sql, &[&id]).await?;
    row.map(|r| from_body("officer", r.get(0))).transpose()
}

const UPSERT_STATION: &str = "INSERT INTO stations (code, body, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (code) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at";
const UPSERT_OFFICER: &str = "INSERT INTO officers (id, station, body, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET station = excluded.station, body = excluded.body, updated_at = excluded.updated_at";

#[async_trait]
impl Roster for Postgres {
    async fn put_registry(
        &self,
        registry: &Registry,
        changes: &[(String, ChangeBody)],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let rows = registry_rows(registry)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        for s in &registry.stations {
            tx.execute(UPSERT_STATION, &[&s.code, &to_body(s)?, &now]).await?;
        }
        for o in &registry.officers {
            tx.execute(UPSERT_OFFICER, &[&o.id, &o.station, &to_body(o)?, &now]).await?;
        }
        for (code, station, body) in &rows.towns {
            tx.execute(
                "INSERT INTO towns (code, station, body, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET station = excluded.station, body = excluded.body,
                 updated_at = excluded.updated_at",
                &[code, station, body, &now],
            )
            .await?;
        }
        for (kind, code, parent, body, special) in &rows.places {
            tx.execute(
                "INSERT INTO places (kind, code, parent, body, updated_at, special) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (kind, code) DO UPDATE SET parent = excluded.parent, body = excluded.body,
                 updated_at = excluded.updated_at, special = excluded.special",
                &[kind, code, parent, body, &now, &i32::from(*special)],
            )
            .await?;
        }
        for (officer, kind, target, since) in &rows.assignments {
            tx.execute(
                "INSERT INTO assignments (officer, kind, target, since, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (officer, kind, target) DO UPDATE SET since = excluded.since,
                 updated_at = excluded.updated_at",
                &[officer, kind, target, since, &now],
            )
            .await?;
        }
        for (scope, body) in changes {
            insert_change(&tx, scope, body.kind(), &body.key(), &body.to_json(), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn assign(&self, a: &AssignmentChange, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let officer_known = get_officer(&tx, &a.officer, true).await?.is_some();
        let already = get_assignment(&tx, &a.officer, a.kind, &a.target, true).await?.is_some();
        let place = place_changes(a.kind, &place_bodies(&tx, a.kind, &a.target).await?)?;
        let changes = plan::assignment(a, officer_known, already, place)?;
        let n = tx
            .execute(
                "INSERT INTO assignments (officer, kind, target, since, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (officer, kind, target) DO NOTHING",
                &[&a.officer, &plan::kind_name(a.kind), &a.target, &a.since, &now],
            )
            .await?;
        if n == 0 {
            // Assigned by a concurrent transaction since the read above.
            plan::assignment(a, true, true, Some(Vec::new()))?;
        }
        for c in &changes {
            insert_change(&tx, &a.officer, c.kind(), &c.key(), &c.to_json(), now).await?;
        }
        tx.commit().await?;
        Ok(changes.len())
    }

    async fn unassign(
        &self,
        officer: &str,
        kind: AssignmentKind,
        target: &str,
        until: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let current = get_assignment(&tx, officer, kind, target, true).await?;
        let change = plan::unassignment(current, until, (officer, kind, target))?;
        tx.execute(
            "DELETE FROM assignments WHERE officer = $1 AND kind = $2 AND target = $3",
            &[&officer, &plan::kind_name(kind), &target],
        )
        .await?;
        insert_change(&tx, officer, change.kind(), &change.key(), &change.to_json(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn assignments_of(&self, officer: &str) -> Result<Vec<AssignmentChange>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT kind, target, since FROM assignments WHERE officer = $1 ORDER BY kind DESC, target",
                &[&officer],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AssignmentChange {
                    officer: officer.to_owned(),
                    kind: from_name(r.get(0))?,
                    target: r.get(1),
                    since: r.get(2),
                    until: None,
                })
            })
            .collect()
    }

    async fn add_officer(&self, officer: &Officer, now: DateTime<Utc>) -> Result<(), StorageError> {
        plan::new_officer(officer)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if !has_station(&tx, &officer.station).await? {
            return Err(StorageError::refused(Code::UnknownStation, format!("no station `{}`", officer.station)));
        }
        let n = tx
            .execute(
                "INSERT INTO officers (id, station, body, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                &[&officer.id, &officer.station, &to_body(officer)?, &now],
            )
            .await?;
        if n == 0 {
            return Err(StorageError::refused(Code::OfficerExists, format!("officer {} exists", officer.id)));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn move_officer(&self, id: &str, station: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if !has_station(&tx, station).await? {
            return Err(StorageError::refused(Code::UnknownStation, format!("no station `{station}`")));
        }
        let Some(mut o) = get_officer(&tx, id, true).await? else {
            return Err(StorageError::refused(Code::UnknownOfficer, format!("no officer {id}")));
        };
        station.clone_into(&mut o.station);
        tx.execute(UPSERT_OFFICER, &[&o.id, &o.station, &to_body(&o)?, &now]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn officer(&self, id: &str) -> Result<Option<Officer>, StorageError> {
        get_officer(&self.client().await?, id, false).await
    }

    async fn household(&self, id: &str) -> Result<Option<Household>, StorageError> {
        let c = self.client().await?;
        let row = c.query_opt("SELECT body FROM places WHERE kind = 'household' AND code = $1", &[&id]).await?;
        row.map(|r| from_body("household", r.get(0))).transpose()
    }

    async fn stations(&self) -> Result<Vec<Station>, StorageError> {
        let rows = self.client().await?.query("SELECT body FROM stations ORDER BY code", &[]).await?;
        rows.iter().map(|r| from_body("station", r.get(0))).collect()
    }

    async fn villages(&self) -> Result<Vec<Village>, StorageError> {
        let rows =
            self.client().await?.query("SELECT body FROM places WHERE kind = 'village' ORDER BY code", &[]).await?;
        rows.iter().map(|r| from_body("village", r.get(0))).collect()
    }

    async fn officers_of(&self, station: &str) -> Result<Vec<Officer>, StorageError> {
        let rows =
            self.client().await?.query("SELECT body FROM officers WHERE station = $1 ORDER BY id", &[&station]).await?;
        rows.iter().map(|r| from_body("officer", r.get(0))).collect()
    }
}

#[async_trait]
impl Devices for Postgres {
    async fn issue_code(
        &self,
        code_hash: &str,
        officer_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO enrollment_codes (code_hash, officer_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
            &[&code_hash, &officer_id, &expires_at, &now],
        )
        .await?;
        Ok(())
    }

    async fn code(&self, code_hash: &str) -> Result<Option<plan::CodeFacts>, StorageError> {
        get_code(&self.client().await?, code_hash, false).await
    }

    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<(i64, i64), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let code = get_code(&tx, &e.code_hash, true).await?;
        let exists = get_device(&tx, &e.device_id).await?.is_some();
        plan::enrollment(code.as_ref(), exists, e, now)?;
        tx.execute("LOCK TABLE devices IN SHARE ROW EXCLUSIVE MODE", &[]).await?;
        let max_end: i64 = tx.query_one("SELECT coalesce(max(serial_end), 0)::bigint FROM devices", &[]).await?.get(0);
        let (start, end) = plan::serial_block(max_end);
        tx.execute(
            "INSERT INTO devices (id, officer_id, public_key, last_seq, enrolled_at, serial_start, serial_end)
             VALUES ($1, $2, $3, 0, $4, $5, $6)",
            &[&e.device_id, &e.officer_id, &e.public_key, &now, &start, &end],
        )
        .await?;
        tx.execute(
            "UPDATE enrollment_codes SET used_at = $2, device_id = $3 WHERE code_hash = $1",
            &[&e.code_hash, &now, &e.device_id],
        )
        .await?;
        tx.commit().await?;
        Ok((start, end))
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, StorageError> {
        get_device(&self.client().await?, id).await
    }

    async fn devices(&self) -> Result<Vec<DeviceOverview>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT d.id, d.officer_id, d.enrolled_at, d.revoked_at, d.last_seq,
                        (SELECT received_at FROM ops o WHERE o.device_id = d.id ORDER BY seq DESC LIMIT 1),
                        (SELECT count(*) FROM ops o WHERE o.device_id = d.id AND status = 'rejected')
                 FROM devices d ORDER BY d.enrolled_at DESC, d.id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceOverview {
                id: r.get(0),
                officer_id: r.get(1),
                enrolled_at: r.get(2),
                revoked_at: r.get(3),
                last_seq: r.get(4),
                last_seen: r.get(5),
                rejected: r.get(6),
            })
            .collect())
    }

    async fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n =
            tx.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1", &[&id, &now]).await?;
        tx.execute("DELETE FROM tokens WHERE device_id = $1", &[&id]).await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn put_challenge(
        &self,
        device_id: &str,
        challenge: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute("DELETE FROM challenges WHERE expires_at < $1", &[&(expires_at - chrono::Duration::hours(1))])
            .await?;
        c.execute(
            "INSERT INTO challenges (challenge, device_id, expires_at) VALUES ($1, $2, $3)",
            &[&challenge, &device_id, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn take_challenge(&self, device_id: &str, challenge: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "DELETE FROM challenges WHERE challenge = $1 AND device_id = $2 RETURNING expires_at",
                &[&challenge, &device_id],
            )
            .await?;
        Ok(row.is_some_and(|r| r.get::<_, DateTime<Utc>>(0) >= now))
    }

    async fn put_token(
        &self,
        token_hash: &str,
        device_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO tokens (token_hash, device_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &device_id, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(Device, DateTime<Utc>)>, StorageError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT d.id, d.officer_id, d.public_key, d.last_seq, d.revoked_at IS NOT NULL, d.enrolled_at, t.expires_at
                 FROM tokens t JOIN devices d ON d.id = t.device_id WHERE t.token_hash = $1",
            )
            .await?;
        let row = c.query_opt(&st, &[&token_hash]).await?;
        Ok(row.map(|r| (device_of(&r), r.get(6))))
    }
}

#[async_trait]
impl Exchange for Postgres {
    async fn push(
        &self,
        device_id: &str,
        batch_id: &str,
        ops: Vec<WireOp>,
        checks: Vec<plan::Check>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, BatchError>, StorageError> {
        let guard = Unfinished(Some(self.client().await?));
        let Some(c) = guard.0.as_ref() else { return Err(StorageError::Db("no connection".into())) };
        let done = push_in(c, device_id, batch_id, &ops, &checks, now).await;
        if !matches!(done, Ok(Ok(_))) {
            // Not committed: end the transaction (a warning only, when a pipelined COMMIT already
            // rolled it back). If even that fails, the guard drops the connection.
            c.batch_execute("ROLLBACK").await?;
        }
        guard.finished();
        done
    }

    async fn pull(&self, officer_id: &str, cursor: i64, limit: usize) -> Result<(Vec<Change>, bool), StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT cursor, kind, key, body FROM changes WHERE cursor > $1 AND scope IN ('*', $2)
                 ORDER BY cursor LIMIT $3",
                &[&cursor, &officer_id, &(limit as i64 + 1)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let body: &str = r.get(3);
            let body = serde_json::from_str(body).map_err(|e| StorageError::Db(format!("change body: {e}")))?;
            out.push(Change { cursor: r.get(0), kind: r.get(1), key: r.get(2), body });
        }
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }

    async fn publish_change(&self, scope: &str, body: &ChangeBody, now: DateTime<Utc>) -> Result<i64, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let cursor = insert_change(&tx, scope, body.kind(), &body.key(), &body.to_json(), now).await?;
        tx.commit().await?;
        Ok(cursor)
    }

    async fn publish_changes(&self, changes: &[(String, ChangeBody)], now: DateTime<Utc>) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).await?;
        let scopes: Vec<&str> = changes.iter().map(|c| c.0.as_str()).collect();
        let kinds: Vec<&str> = changes.iter().map(|c| c.1.kind()).collect();
        let keys: Vec<String> = changes.iter().map(|c| c.1.key()).collect();
        let bodies: Vec<String> = changes.iter().map(|c| c.1.to_json()).collect();
        tx.execute(
            "INSERT INTO changes (scope, kind, key, body, at)
             SELECT u.scope, u.kind, u.key, u.body, $5
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(scope, kind, key, body, n)
             ORDER BY u.n",
            &[&scopes, &kinds, &keys, &bodies, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Desk for Postgres {
    async fn requests_at(
        &self,
        station: &str,
        state: Option<RequestState>,
        limit: usize,
    ) -> Result<Vec<RequestRow>, StorageError> {
        let c = self.client().await?;
        let state = state.map(name);
        let rows = c
            .query(
                &format!(
                    "{REQUEST_ROW} WHERE officer_id IN (SELECT id FROM officers WHERE station = $1)
                     AND ($2::text IS NULL OR state = $2) ORDER BY received_at, id LIMIT $3"
                ),
                &[&station, &state, &(limit as i64)],
            )
            .await?;
        rows.iter().map(request_row).collect()
    }

    async fn request(&self, id: &str) -> Result<Option<(RequestRow, Option<String>)>, StorageError> {
        let c = self.client().await?;
        let sql = format!("{REQUEST_ROW} WHERE id = $1");
        match c.query_opt(&sql, &[&id]).await? {
            Some(r) => Ok(Some((request_row(&r)?, r.get(9)))),
            None => Ok(None),
        }
    }

    async fn request_events(&self, id: &str) -> Result<Vec<EventRow>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT outcome, new_state, by, at, body FROM request_events WHERE request = $1 ORDER BY at, n",
                &[&id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let new_state: Option<String> = r.get(1);
                let body: String = r.get(4);
                crate::sqlite::event_row(r.get(0), new_state.as_deref(), r.get(2), r.get(3), &body)
            })
            .collect()
    }

    async fn desk_transition(
        &self,
        request_id: &str,
        transition: &Transition,
        by: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT id, mode, state, service, accepted_on, due_on, officer_id, village,
                        coalesce((SELECT station FROM officers o WHERE o.id = r.officer_id), '')
                 FROM requests r WHERE id = $1 FOR UPDATE",
                &[&request_id],
            )
            .await?;
        let Some(row) = row else {
            return Err(StorageError::refused(Code::NotFound, format!("no request {request_id}")));
        };
        let (held, officer, village) = request_facts(&row)?;
        let w = plan::desk_move(request_id, &held, transition, by, now);
        let station: String = row.get(8);
        let mut moved = Rollup::default();
        moved.add(&rollup::place(&w.facts, &officer, &station, village.as_deref()), 1);
        write_rollup(&tx, &moved).await?;
        tx.execute(
            "INSERT INTO request_events (id, request, outcome, new_state, by, body, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&event_id, &request_id, &w.stored, &w.new_state.map(name), &by, &w.event_body, &now],
        )
        .await?;
        if let (Some(to), Some(change)) = (w.new_state, &w.change) {
            tx.execute(
                "UPDATE requests SET state = $2, updated_at = $3 WHERE id = $1",
                &[&request_id, &name(to), &now],
            )
            .await?;
            let change = ChangeBody::RequestState(change.clone());
            insert_change(&tx, &officer, change.kind(), &change.key(), &change.to_json(), now).await?;
        }
        tx.execute(
            "INSERT INTO audit (at, actor, action, subject) VALUES ($1, $2, 'move_request', $3)",
            &[&now, &by, &w.audit_subject],
        )
        .await?;
        tx.commit().await?;
        Ok(w.outcome)
    }

    async fn village_officer(&self, village: &str) -> Result<Option<(String, String)>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT a.officer, o.station FROM assignments a JOIN officers o ON o.id = a.officer
                 WHERE a.kind = 'village' AND a.target = $1 ORDER BY a.since DESC, a.officer LIMIT 1",
                &[&village],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn phone_in(&self, row: &PhonedInRow, now: DateTime<Utc>) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let p = &row.call;
        tx.execute(
            "INSERT INTO phoned_in (id, station, officer, village, household, address, service, applicant, note, taken_by,
                                    taken_at)
             VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, $10)",
            &[
                &p.id,
                &row.station,
                &row.officer,
                &row.village,
                &p.household,
                &p.service,
                &p.applicant,
                &p.note,
                &p.taken_by,
                &p.taken_at,
                &row.address,
            ],
        )
        .await?;
        let change = ChangeBody::PhonedIn(p.clone());
        insert_change(&tx, &row.officer, change.kind(), &change.key(), &change.to_json(), now).await?;
        tx.execute(
            "INSERT INTO audit (at, actor, action, subject) VALUES ($1, $2, 'phone_in', $3)",
            &[&now, &p.taken_by, &format!("{} {} {}", p.id, p.service, p.household)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn households_at(&self, station: &str, text: &str, limit: usize) -> Result<Vec<Household>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT h.body FROM places h
                 WHERE h.kind = 'household' AND h.body LIKE $2
                   AND (SELECT station FROM towns t WHERE t.code = left(h.parent, 9)) = $1
                 ORDER BY h.code LIMIT $3",
                &[&station, &report::like_pattern(text), &(limit as i64)],
            )
            .await?;
        rows.iter().map(|r| from_body("household", r.get::<_, &str>(0))).collect()
    }

    async fn phoned_in_at(&self, station: &str, limit: usize) -> Result<Vec<PhonedInRow>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT p.id, p.service, p.household, p.applicant, p.note, p.taken_at, p.taken_by, p.officer, p.village,
                        (SELECT r.id FROM requests r WHERE r.officer_id = p.officer AND r.service = p.service
                            AND r.body::json->>'household' = p.household AND r.received_at >= p.taken_at
                         ORDER BY r.received_at LIMIT 1),
                        p.address
                 FROM phoned_in p WHERE p.station = $1 ORDER BY p.taken_at DESC, p.id LIMIT $2",
                &[&station, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PhonedInRow {
                call: beibao_core::change::PhonedIn {
                    id: r.get(0),
                    service: r.get(1),
                    household: r.get(2),
                    applicant: r.get(3),
                    note: r.get(4),
                    taken_at: r.get(5),
                    taken_by: r.get(6),
                },
                station: station.to_owned(),
                officer: r.get(7),
                village: r.get(8),
                request: r.get(9),
                address: r.get(10),
            })
            .collect())
    }
}

#[async_trait]
impl Blobs for Postgres {
    async fn blob(&self, sha256: &str, device: &str) -> Result<Option<BlobRow>, StorageError> {
        let c = self.client().await?;
        match blob_row(&c, sha256).await? {
            Some(whole) if whole.complete => Ok(Some(whole)),
            _ => blob_row(&c, &crate::storage::upload_key(sha256, device)).await,
        }
    }

    async fn blob_append(
        &self,
        whole: &str,
        device: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Appended, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(row) = blob_row(&tx, whole).await?.filter(|r| r.complete) {
            return Ok(Appended::Stored(row));
        }
        // This device's unfinished upload.
        let key = crate::storage::upload_key(whole, device);
        let sha256 = key.as_str();
        // Made (and locked) first so two first chunks of one blob queue on its row; a refusal
        // rolls the new row back.
        tx.execute(
            "INSERT INTO blobs (sha256, total, received, complete, created_at) VALUES ($1, $2, 0, false, $3)
             ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &(total as i64), &now],
        )
        .await?;
        let row = tx
            .query_one("SELECT total, received, complete FROM blobs WHERE sha256 = $1 FOR UPDATE", &[&sha256])
            .await?;
        let row =
            BlobRow { total: row.get::<_, i64>(0) as u64, offset: row.get::<_, i64>(1) as u64, complete: row.get(2) };
        let (received, last) = match plan::blob_chunk(Some(row), total, offset, chunk.len() as u64)? {
            plan::Chunk::Whole(row) => {
                tx.commit().await?;
                return Ok(Appended::Stored(row));
            }
            plan::Chunk::Elsewhere(held) => return Ok(Appended::Elsewhere(held)),
            plan::Chunk::Write { restart, received, last, .. } => {
                if restart {
                    tx.execute("DELETE FROM blob_chunks WHERE sha256 = $1", &[&sha256]).await?;
                    tx.execute(
                        "UPDATE blobs SET total = $2, received = 0 WHERE sha256 = $1",
                        &[&sha256, &(total as i64)],
                    )
                    .await?;
                }
                (received, last)
            }
        };
        if !chunk.is_empty() {
            tx.execute(
                "INSERT INTO blob_chunks (sha256, pos, bytes) VALUES ($1, $2, $3)",
                &[&sha256, &(offset as i64), &chunk],
            )
            .await?;
        }
        if last {
            let bytes = assemble(&tx, sha256).await?;
            // Hashing up to a whole blob is CPU work: off the async workers.
            let hash = tokio::task::spawn_blocking(move || sha256_hex(&bytes))
                .await
                .map_err(|e| StorageError::Db(format!("worker: {e}")))?;
            if hash != whole {
                tx.execute("DELETE FROM blob_chunks WHERE sha256 = $1", &[&sha256]).await?;
                tx.execute("DELETE FROM blobs WHERE sha256 = $1", &[&sha256]).await?;
                tx.commit().await?;
                return Ok(Appended::HashMismatch);
            }
            // The upload becomes the blob under its hash, unless another device's did at the
            // same moment (then this one's bytes go); an unfinished upload kept under the hash
            // from before uploads were per device gives way.
            tx.execute(
                "DELETE FROM blob_chunks WHERE sha256 = $1 AND EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1 AND NOT complete)",
                &[&whole],
            )
            .await?;
            tx.execute("DELETE FROM blobs WHERE sha256 = $1 AND NOT complete", &[&whole]).await?;
            let made = tx
                .execute(
                    "INSERT INTO blobs (sha256, total, received, complete, created_at) VALUES ($1, $2, $2, true, $3)
                     ON CONFLICT (sha256) DO NOTHING",
                    &[&whole, &(total as i64), &now],
                )
                .await?;
            if made == 1 {
                tx.execute("UPDATE blob_chunks SET sha256 = $1 WHERE sha256 = $2", &[&whole, &sha256]).await?;
            }
            // Every device's unfinished upload of it goes, this one's too when another device's
            // made the blob (their keys sort between these).
            let (from, to) = (format!("{whole}@"), format!("{whole}A"));
            tx.execute("DELETE FROM blob_chunks WHERE sha256 > $1 AND sha256 < $2", &[&from, &to]).await?;
            tx.execute("DELETE FROM blobs WHERE sha256 > $1 AND sha256 < $2", &[&from, &to]).await?;
            tx.commit().await?;
            return Ok(Appended::Stored(BlobRow { total, offset: total, complete: true }));
        }
        tx.execute(
            "UPDATE blobs SET received = $2, complete = $3 WHERE sha256 = $1",
            &[&sha256, &(received as i64), &last],
        )
        .await?;
        tx.commit().await?;
        Ok(Appended::Stored(BlobRow { total, offset: received, complete: last }))
    }

    async fn sweep_uploads(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "DELETE FROM blob_chunks WHERE sha256 IN (SELECT sha256 FROM blobs WHERE NOT complete AND created_at < $1)",
            &[&before],
        )
        .await?;
        let n = tx.execute("DELETE FROM blobs WHERE NOT complete AND created_at < $1", &[&before]).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn upload_bytes(&self, sha256: &str, device: &str) -> Result<Vec<u8>, StorageError> {
        let c = self.client().await?;
        assemble(&c, &crate::storage::upload_key(sha256, device)).await
    }

    async fn drop_upload(&self, sha256: &str, device: &str) -> Result<(), StorageError> {
        let key = crate::storage::upload_key(sha256, device);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("DELETE FROM blob_chunks WHERE sha256 = $1", &[&key]).await?;
        tx.execute("DELETE FROM blobs WHERE sha256 = $1 AND NOT complete", &[&key]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn blob_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let c = self.client().await?;
        match blob_row(&c, sha256).await? {
            Some(r) if r.complete => Ok(Some(assemble(&c, sha256).await?)),
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl Catalogs for Postgres {
    async fn publish_catalog(&self, catalog: &Catalog, now: DateTime<Utc>) -> Result<i64, StorageError> {
        let text = serde_json::to_value(catalog).map_err(|e| StorageError::Db(e.to_string()))?.to_string();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).await?;
        let existing =
            tx.query_opt("SELECT body, cursor FROM catalogs WHERE version = $1", &[&catalog.version]).await?;
        let cursor = match existing {
            Some(r) if r.get::<_, &str>(0) == text => r.get(1),
            Some(_) => {
                return Err(StorageError::refused(
                    Code::CatalogVersionExists,
                    format!("catalog {} is published with other content; publish a new version", catalog.version),
                ));
            }
            None => {
                let cursor = insert_change(&tx, "*", "catalog", &catalog.version, &text, now).await?;
                match tx
                    .execute(
                        "INSERT INTO catalogs (version, body, cursor, published_at) VALUES ($1, $2, $3, $4)",
                        &[&catalog.version, &text, &cursor, &now],
                    )
                    .await
                {
                    Err(e) if unique_violation(&e) => {
                        return Err(StorageError::refused(Code::CatalogVersionExists, "published concurrently"));
                    }
                    other => other?,
                };
                cursor
            }
        };
        tx.commit().await?;
        Ok(cursor)
    }

    async fn publish_calendar(
        &self,
        calendar: &PublishedCalendar,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The changes lock (taken again by insert_change) also orders two concurrent publishers.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).await?;
        let known: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE kind = 'calendar' AND key = $1)",
                &[&calendar.version],
            )
            .await?
            .get(0);
        if known {
            return Ok(None);
        }
        let cursor = insert_change(&tx, "*", "calendar", &calendar.version, &to_body(calendar)?, now).await?;
        tx.commit().await?;
        Ok(Some(cursor))
    }

    async fn calendar_version(&self) -> Result<Option<String>, StorageError> {
        let c = self.client().await?;
        let row =
            c.query_opt("SELECT key FROM changes WHERE kind = 'calendar' ORDER BY cursor DESC LIMIT 1", &[]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn calendar(&self) -> Result<Option<PublishedCalendar>, StorageError> {
        let c = self.client().await?;
        let row =
            c.query_opt("SELECT body FROM changes WHERE kind = 'calendar' ORDER BY cursor DESC LIMIT 1", &[]).await?;
        row.map(|r| crate::storage::stored_calendar(r.get(0))).transpose()
    }

    async fn catalogs(&self) -> Result<Vec<Catalog>, StorageError> {
        let c = self.client().await?;
        c.query("SELECT body FROM catalogs ORDER BY cursor", &[])
            .await?
            .iter()
            .map(|r| Catalog::from_json(r.get(0)).map_err(|e| StorageError::Db(format!("stored catalog: {e}"))))
            .collect()
    }

    async fn catalog_count(&self) -> Result<usize, StorageError> {
        let c = self.client().await?;
        let n: i64 = c.query_one("SELECT count(*) FROM catalogs", &[]).await?.get(0);
        Ok(n as usize)
    }
}

/// Bind a period and a scope's values (`$1`, `$2`, then the scope's).
fn period_params<'a>(
    from: &'a NaiveDate,
    to: &'a NaiveDate,
    values: &'a [String],
) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    let mut p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![from, to];
    p.extend(values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
    p
}

#[async_trait]
impl Reports for Postgres {
    async fn aggregates(&self, period: Period, level: Level, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        let c = self.client().await?;
        let (filter, values) =
            report::scope_filter(scope, report::SPLIT_PARAMS + 1, true, ["station", "town", "village", "officer"]);
        let days = report::Split::of(period).params();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            days.iter().map(|d| d as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        params.extend(values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
        let mut out = Vec::new();
        for group in [Some(level.column()), None] {
            let sql = report::aggregate_sql(group.unwrap_or("NULL::text"), true, &filter);
            let st = c.prepare_cached(&sql).await?;
            for r in c.query(&st, &params).await? {
                let key: String = r.get(1);
                out.push(Aggregate {
                    group: if group.is_some() { r.get(0) } else { Some(report::TOTAL.to_owned()) },
                    week: None,
                    key: from_name(&key)?,
                    value: r.get(2),
                });
            }
        }
        Ok(out)
    }

    async fn weekly(&self, period: Period, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        let c = self.client().await?;
        let (filter, values) = report::scope_filter(scope, 3, true, ["station", "town", "village", "officer"]);
        let sql = report::weekly_sql("$1", "$2", &filter);
        let st = c.prepare_cached(&sql).await?;
        let mut out = Vec::new();
        for r in c.query(&st, &period_params(&period.from, &period.to, &values)).await? {
            let key: String = r.get(1);
            out.push(Aggregate { group: None, week: Some(r.get(0)), key: from_name(&key)?, value: r.get(2) });
        }
        Ok(out)
    }

    async fn villages_in_scope(&self, level: Level, scope: &Scope) -> Result<Vec<(Option<String>, i64)>, StorageError> {
        let c = self.client().await?;
        let (filter, values) =
            report::scope_filter(scope, 1, true, ["o.station", "left(a.target, 9)", "a.target", "a.officer"]);
        let group = match level {
            Level::Station => "o.station",
            Level::Town => "left(a.target, 9)",
            Level::Village => "a.target",
            Level::Officer => "a.officer",
        };
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let mut out = Vec::new();
        for (col, total) in [(group, false), ("NULL::text", true)] {
            let sql = format!(
                "SELECT {col}, count(DISTINCT a.target) FROM assignments a JOIN officers o ON o.id = a.officer
                 WHERE a.kind = 'village'{filter} GROUP BY {col}"
            );
            let st = c.prepare_cached(&sql).await?;
            for r in c.query(&st, &params).await? {
                let g: Option<String> = r.get(0);
                out.push((if total { Some(report::TOTAL.to_owned()) } else { g }, r.get(1)));
            }
        }
        Ok(out)
    }

    async fn coverage(&self, scope: &Scope, since: NaiveDate) -> Result<Vec<CoverageRow>, StorageError> {
        let c = self.client().await?;
        let (filter, values) = report::scope_filter(
            scope,
            2,
            true,
            // Villages have no officer: an officer's scope matches none (the route refuses it).
            ["(SELECT station FROM towns t WHERE t.code = left(p.code, 9))", "left(p.code, 9)", "p.code", "NULL"],
        );
        let sql = format!(
            "SELECT p.code, p.body, lv.last,
                (SELECT count(*) FROM places h WHERE h.kind = 'household' AND h.parent = p.code AND h.special = 1),
                (SELECT count(*) FROM places h WHERE h.kind = 'household' AND h.parent = p.code AND h.special = 1
                    AND h.code NOT IN (SELECT subject FROM tally_subjects
                                       WHERE key = 'households_visited' AND day >= $1))
             FROM places p
             LEFT JOIN (SELECT village, max(day) AS last FROM tally WHERE key = 'households_visited'
                        GROUP BY village) lv ON lv.village = p.code
             WHERE p.kind = 'village'{filter} ORDER BY p.code"
        );
        let st = c.prepare_cached(&sql).await?;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&since];
        params.extend(values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
        Ok(c.query(&st, &params)
            .await?
            .iter()
            .map(|r| CoverageRow {
                code: r.get(0),
                body: r.get(1),
                last_visit: r.get(2),
                special: r.get(3),
                special_not_visited: r.get(4),
            })
            .collect())
    }

    async fn mediation_due(
        &self,
        scope: &Scope,
        on: NaiveDate,
        until: NaiveDate,
        limit: usize,
    ) -> Result<(Vec<due::VillageDueRow>, Vec<due::DueCaseRow>), StorageError> {
        let c = self.client().await?;
        let (filter, values) = report::scope_filter(scope, 3, true, ["station", "town", "village", "officer"]);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&on, &until];
        params.extend(values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
        let st = c.prepare_cached(&due::villages_sql(&filter, true)).await?;
        let villages = c
            .query(&st, &params)
            .await?
            .iter()
            .map(|r| due::VillageDueRow {
                village: r.get(0),
                overdue: r.get(1),
                due_soon: r.get(2),
                closing: r.get(3),
                not_performed: r.get(4),
            })
            .collect();
        params.push(&limit);
        let st = c.prepare_cached(&due::cases_sql(&filter, true, params.len())).await?;
        let cases = c
            .query(&st, &params)
            .await?
            .iter()
            .map(|r| {
                Ok(due::DueCaseRow {
                    mediation: r.get(0),
                    village: r.get(1),
                    officer: r.get(2),
                    kind: from_name(r.get::<_, &str>(3))?,
                    concluded_on: r.get(4),
                    performance_on: r.get(5),
                    follow_up_on: r.get(6),
                    confirm_by: r.get(7),
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok((villages, cases))
    }

    async fn detail_page(
        &self,
        of: detail::DetailKind,
        period: Period,
        scope: &Scope,
        after: Option<(NaiveDate, String)>,
        limit: usize,
    ) -> Result<Vec<detail::DetailRow>, StorageError> {
        let c = self.client().await?;
        let (filter, values) = report::scope_filter(scope, 5, true, detail::scope_columns(of));
        let (day, id) = after.unwrap_or((period.from, String::new()));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&period.from, &period.to, &day, &id];
        for v in &values {
            params.push(v);
        }
        params.push(&limit);
        let stmt = c.prepare_cached(&detail::page_sql(of, &filter, true, params.len())).await?;
        Ok(c.query(&stmt, &params)
            .await?
            .into_iter()
            .map(|r| detail::DetailRow {
                day: r.get(0),
                id: r.get(1),
                station: r.get(2),
                village: r.get(3),
                officer: r.get(4),
                body: r.get(5),
                household: r.get(6),
                state: r.get(7),
                due_on: r.get(8),
            })
            .collect())
    }

    async fn names(&self, level: Level, codes: &[String]) -> Result<HashMap<String, LocalText>, StorageError> {
        let c = self.client().await?;
        let sql = match level {
            Level::Station => "SELECT code, body FROM stations WHERE code = ANY($1)",
            Level::Town => "SELECT code, body FROM towns WHERE code = ANY($1)",
            Level::Village => "SELECT code, body FROM places WHERE kind = 'village' AND code = ANY($1)",
            Level::Officer => "SELECT id, body FROM officers WHERE id = ANY($1)",
        };
        let mut out = HashMap::new();
        for r in c.query(sql, &[&codes]).await? {
            let (code, body): (String, String) = (r.get(0), r.get(1));
            if let Some(name) = crate::storage::group_name(level, &body) {
                out.insert(code, name);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Inspect for Postgres {
    async fn rejected_ops(&self, limit: usize) -> Result<Vec<RejectedOp>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT device_id, seq, op_id, kind, coalesce(code, ''), coalesce(message, ''), received_at
                 FROM ops WHERE status = 'rejected' ORDER BY received_at DESC, device_id, seq LIMIT $1",
                &[&(limit as i64)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RejectedOp {
                device_id: r.get(0),
                seq: r.get(1),
                op_id: r.get(2),
                kind: r.get(3),
                code: r.get(4),
                message: r.get(5),
                received_at: r.get(6),
            })
            .collect())
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        let c = self.client().await?;
        let one = |row: tokio_postgres::Row| row.get::<_, i64>(0);
        let records = c
            .query("SELECT kind, count(*) FROM records GROUP BY kind ORDER BY kind", &[])
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut by_status: HashMap<String, i64> = HashMap::new();
        for r in c.query("SELECT status, count(*) FROM ops GROUP BY status", &[]).await? {
            by_status.insert(r.get(0), r.get(1));
        }
        Ok(Counts {
            devices: one(c.query_one("SELECT count(*) FROM devices", &[]).await?),
            ops_applied: by_status.get("applied").copied().unwrap_or(0),
            ops_duplicate: by_status.get("duplicate").copied().unwrap_or(0),
            ops_rejected: by_status.get("rejected").copied().unwrap_or(0),
            records,
            requests: one(c.query_one("SELECT count(*) FROM requests", &[]).await?),
            request_events: one(c.query_one("SELECT count(*) FROM request_events", &[]).await?),
            changes: one(c.query_one("SELECT count(*) FROM changes", &[]).await?),
            blobs: one(c.query_one("SELECT count(*) FROM blobs WHERE complete", &[]).await?),
        })
    }

    #[cfg(feature = "test-support")]
    async fn records(&self, device_id: &str, kind: &str) -> Result<Vec<(String, String)>, StorageError> {
        let c = self.client().await?;
        let rows = if kind == "service_request" {
            c.query("SELECT id, body FROM requests WHERE device_id = $1 ORDER BY id", &[&device_id]).await?
        } else {
            c.query(RECORDS_OF_DEVICE, &[&device_id, &kind]).await?
        };
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    #[cfg(feature = "test-support")]
    async fn rollup_drift(&self) -> Result<i64, StorageError> {
        let c = self.client().await?;
        Ok(c.query_one(&rollup::drift_sql(true), &[]).await?.get(0))
    }

    #[cfg(feature = "test-support")]
    async fn op_results(&self, device_id: &str) -> Result<Vec<OpResult>, StorageError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT seq, op_id, status, code, message FROM ops WHERE device_id = $1 ORDER BY seq", &[&device_id])
            .await?;
        rows.into_iter()
            .map(|r| {
                let status: String = r.get(2);
                let status = OpStatus::parse(&status).ok_or_else(|| StorageError::Db(format!("status `{status}`")))?;
                Ok(OpResult {
                    seq: r.get(0),
                    op_id: r.get(1),
                    status,
                    code: r.get::<_, Option<&str>>(3).map(stored_code),
                    message: r.get(4),
                })
            })
            .collect()
    }
}
