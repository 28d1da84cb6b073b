//! SQLite storage (the embedded default): one connection in WAL mode with `synchronous=FULL`,
//! driven from a blocking thread. SQLite has one writer at a time, so the change cursor
//! (`INTEGER PRIMARY KEY AUTOINCREMENT`) is in commit order by construction.

use beibao_core::code::Code;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

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
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::detail;
use crate::due;
use crate::migrations;
use crate::plan::{self, BatchError, Decision, Effect, Facts, MediationFacts, RequestFacts};
use crate::report::{self, Aggregate, Level, Period, Scope};
use crate::rollup::{self, Lookup as _, Placed, Rollup};
use crate::storage::{
    Account, AccountRow, Accounts, Appended, AuditEntry, BlobRow, Blobs, Catalogs, Counts, CoverageRow, Desk, Device,
    DeviceOverview, Devices, Enrollment, EventRow, Exchange, Inspect, PhonedInRow, Pushed, RejectedOp, Reports,
    RequestRow, Roster, Storage, StorageError, from_body, place_changes, registry_rows, stored_code, to_body,
};
use beibao_core::text::LocalText;

/// SQLite storage: one writer thread that owns the writer connection and commits in groups, and a
/// few reader connections so that reads (token and device lookups of every request, pulls) never
/// queue behind writes (WAL lets them run beside the writer).
///
/// Group commit: the writer takes every write waiting (up to [`GROUP`]), runs each inside its own
/// savepoint of one transaction — a failing write rolls back to its savepoint only — commits once,
/// and only then answers each caller. A push's results and effects still commit together, and
/// nobody hears "done" before the commit.
#[derive(Debug, Clone)]
pub struct Sqlite {
    jobs: std::sync::mpsc::Sender<Job>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<std::sync::atomic::AtomicUsize>,
}

const READERS: usize = 4;
/// The most writes committed together.
const GROUP: usize = 64;

/// What a write tells its caller once the group's commit is known.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write: run inside the group's transaction (or told it could not start) and return how to
/// answer after the commit.
type Job = Box<dyn FnOnce(Option<&Transaction<'_>>) -> Finish + Send>;

fn writer_loop(mut conn: Connection, jobs: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => {
                let finishes: Vec<Finish> = group.into_iter().map(|job| job(Some(&tx))).collect();
                let committed = tx.commit().map_err(|e| e.to_string());
                for finish in finishes {
                    finish(committed.clone());
                }
            }
            Err(e) => {
                for job in group {
                    job(None)(Err(e.to_string()));
                }
            }
        }
    }
}

fn connect(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A push alone prepares some twenty statements (ops, records, requests, five rollup tables,
    // the mediation list, lookups): keep them all prepared.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    s.parse().map_err(|e| StorageError::Db(format!("bad timestamp `{s}`: {e}")))
}

pub(crate) fn name<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) fn from_name<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StorageError::Db(format!("bad stored name `{s}`: {e}")))
}

/// The columns of a [`RequestRow`].
const REQUEST_ROW: &str = "SELECT id, device_id, officer_id, service, mode, state, body, received_at, updated_at,
     (SELECT station FROM officers o WHERE o.id = requests.officer_id) FROM requests";

/// A request row and the station its officer is at now.
type RowAndStation = (RequestRow, Option<String>);

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RowAndStation, StorageError>> {
    let texts: [String; 4] = [r.get(4)?, r.get(5)?, r.get(7)?, r.get(8)?];
    let (id, device_id, officer_id, service, body, station) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(6)?, r.get(9)?);
    let row = || -> Result<RowAndStation, StorageError> {
        let row = RequestRow {
            id,
            device_id,
            officer_id,
            service,
            mode: from_name(&texts[0])?,
            state: from_name(&texts[1])?,
            body,
            received_at: parse_ts(&texts[2])?,
            updated_at: parse_ts(&texts[3])?,
        };
        Ok((row, station))
    };
    Ok(row())
}

/// A device's records of a kind with their bodies (the payload of the op that wrote each last).
#[cfg(feature = "test-support")]
const RECORDS_OF_DEVICE: &str =
    "SELECT r.id, o.payload FROM records r JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq
     WHERE r.device_id = ?1 AND r.kind = ?2 ORDER BY r.id";

/// Schema 1 kept a second copy of each record's body in `records`; schema 2 points at the op. The
/// old table is set aside, the current schema made, and every record moved over pointing at the
/// op whose payload is its body.
const SET_V1_ASIDE: &str = "ALTER TABLE records RENAME TO records_v1; DROP INDEX IF EXISTS records_device;";
const MOVE_V1_RECORDS: &str = "
INSERT INTO records (kind, id, device_id, seq, officer_id, village, received_at)
    SELECT r.kind, r.id, r.device_id,
           (SELECT max(o.seq) FROM ops o WHERE o.device_id = r.device_id AND o.payload = r.body),
           r.officer_id, r.village, r.received_at
    FROM records_v1 r;
DROP TABLE records_v1;
";

/// Bring the database to [`migrations::LATEST`]: each missing migration in its own transaction
/// with its `schema_version` row. Before migration 1 on a database that predates versioning, the
/// schema-1 records layout is moved over (a record whose op cannot be found fails the migration
/// and leaves the file as it was).
fn migrate(c: &mut Connection, now: DateTime<Utc>) -> Result<(), StorageError> {
    c.execute_batch(migrations::VERSION_TABLE)?;
    let current: i64 = c.query_row("SELECT coalesce(max(version), 0) FROM schema_version", [], |r| r.get(0))?;
    for m in migrations::pending(current)? {
        let tx = c.transaction()?;
        let legacy = m.version == 1
            && tx.query_row("SELECT count(*) FROM pragma_table_info('records') WHERE name = 'body'", [], |r| {
                r.get::<_, i64>(0)
            })? > 0;
        let step = if legacy {
            tx.execute_batch(SET_V1_ASIDE)
                .and_then(|()| tx.execute_batch(m.sqlite))
                .and_then(|()| tx.execute_batch(MOVE_V1_RECORDS))
        } else {
            tx.execute_batch(m.sqlite)
        };
        step.map_err(|e| StorageError::Db(format!("schema migration {} ({}): {e}", m.version, m.name)))?;
        if m.version == 8 {
            let mut stmt = tx.prepare(due::BACKFILL_SELECT)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                .collect::<Result<Vec<due::BackfillRow>, _>>()?;
            drop(stmt);
            write_due(&tx, &due::backfill(rows)?)?;
        }
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, ts(now)],
        )?;
        tx.commit()?;
    }
    Ok(())
}

impl Sqlite {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Sqlite, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Db(format!("{}: {e}", dir.display())))?;
        }
        let mut writer = connect(path)?;
        migrate(&mut writer, Utc::now())?;
        let readers = (0..READERS).map(|_| connect(path).map(Mutex::new)).collect::<Result<Vec<_>, _>>()?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("beibao-sqlite-writer".into())
            .spawn(move || writer_loop(writer, queue))
            .map_err(|e| StorageError::Db(format!("writer thread: {e}")))?;
        Ok(Sqlite { jobs, readers: Arc::new(readers), next_reader: Arc::new(std::sync::atomic::AtomicUsize::new(0)) })
    }

    /// A read on one of the reader connections (each read is its own snapshot).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let readers = self.readers.clone();
        let first = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // A free reader if there is one, else wait for the next in turn.
            let mut guard = (0..readers.len())
                .find_map(|i| readers[(first + i) % readers.len()].try_lock().ok())
                .map_or_else(|| readers[first % readers.len()].lock(), Ok)
                .map_err(|_| StorageError::Db("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Db(format!("worker: {e}")))?
    }

    /// A write, in its own savepoint of the writer's next group transaction; answered after the
    /// commit.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (done, answer) = tokio::sync::oneshot::channel::<Result<T, StorageError>>();
        let job: Job = Box::new(move |tx: Option<&Transaction<'_>>| -> Finish {
            let result = match tx {
                None => Err(StorageError::Db("the write transaction could not start".into())),
                Some(tx) => match tx.execute_batch("SAVEPOINT job") {
                    Err(e) => Err(e.into()),
                    Ok(()) => match f(tx) {
                        Ok(v) => tx.execute_batch("RELEASE job").map(|()| v).map_err(StorageError::from),
                        Err(e) => {
                            // Undo this write only; the rest of the group goes on.
                            let _ = tx.execute_batch("ROLLBACK TO job; RELEASE job");
                            Err(e)
                        }
                    },
                },
            };
            Box::new(move |committed: Result<(), String>| {
                let out = match committed {
                    Ok(()) => result,
                    Err(m) => Err(StorageError::Db(format!("commit: {m}"))),
                };
                let _ = done.send(out);
            })
        });
        self.jobs.send(job).map_err(|_| StorageError::Db("the writer thread stopped".into()))?;
        answer.await.map_err(|_| StorageError::Db("the writer thread stopped".into()))?
    }
}

/// A request event as stored: its body is a tablet's `RequestEvent` or the desk's `Transition`.
pub(crate) fn event_row(
    outcome: String,
    new_state: Option<&str>,
    by: String,
    at: DateTime<Utc>,
    body: &str,
) -> Result<EventRow, StorageError> {
    let v: serde_json::Value = from_body("request event", body)?;
    let made_at = v.get("at").and_then(|a| serde_json::from_value(a.clone()).ok());
    let t = v.get("transition").cloned().unwrap_or(v);
    Ok(EventRow {
        outcome,
        new_state: new_state.map(from_name).transpose()?,
        transition: serde_json::from_value(t).ok(),
        by,
        at,
        made_at,
    })
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        officer_id: r.get(1)?,
        public_key: r.get(2)?,
        last_seq: r.get(3)?,
        revoked: r.get::<_, Option<String>>(4)?.is_some(),
        enrolled_at: {
            let at: String = r.get(5)?;
            at.parse()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e)))?
        },
    })
}

fn get_device(c: &Connection, id: &str) -> Result<Option<Device>, StorageError> {
    Ok(c.query_row(
        "SELECT id, officer_id, public_key, last_seq, revoked_at, enrolled_at FROM devices WHERE id = ?1",
        [id],
        device_row,
    )
    .optional()?)
}

fn get_code(c: &Connection, code_hash: &str) -> Result<Option<plan::CodeFacts>, StorageError> {
    let code: Option<(String, String, Option<String>)> = c
        .query_row(
            "SELECT officer_id, expires_at, used_at FROM enrollment_codes WHERE code_hash = ?1",
            [code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    code.map(|(officer_id, expires, used)| {
        Ok(plan::CodeFacts { officer_id, expires_at: parse_ts(&expires)?, used: used.is_some() })
    })
    .transpose()
}

fn get_assignment(
    c: &Connection,
    officer: &str,
    kind: AssignmentKind,
    target: &str,
) -> Result<Option<AssignmentChange>, StorageError> {
    let since: Option<String> = c
        .query_row(
            "SELECT since FROM assignments WHERE officer = ?1 AND kind = ?2 AND target = ?3",
            params![officer, plan::kind_name(kind), target],
            |r| r.get(0),
        )
        .optional()?;
    since.map(|s| assignment_row(officer, plan::kind_name(kind), target.to_owned(), &s)).transpose()
}

fn assignment_row(officer: &str, kind: &str, target: String, since: &str) -> Result<AssignmentChange, StorageError> {
    let kind = from_name::<AssignmentKind>(kind)?;
    let since = since.parse().map_err(|e| StorageError::Db(format!("stored assignment date {since}: {e}")))?;
    Ok(AssignmentChange { officer: officer.to_owned(), kind, target, since, until: None })
}

/// A place's bodies: the village or enterprise, then a village's households by id.
fn place_bodies(c: &Connection, kind: AssignmentKind, code: &str) -> Result<Vec<String>, StorageError> {
    let kind = plan::kind_name(kind);
    let Some(place) = c
        .query_row("SELECT body FROM places WHERE kind = ?1 AND code = ?2", params![kind, code], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    else {
        return Ok(Vec::new());
    };
    let mut out = vec![place];
    if kind == "village" {
        let mut stmt =
            c.prepare_cached("SELECT body FROM places WHERE kind = 'household' AND parent = ?1 ORDER BY code")?;
        out.extend(stmt.query_map([code], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?);
    }
    Ok(out)
}

fn insert_change(
    tx: &Transaction<'_>,
    scope: &str,
    kind: &str,
    key: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, StorageError> {
    tx.prepare_cached("INSERT INTO changes (scope, kind, key, body, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![scope, kind, key, body, ts(now)])?;
    Ok(tx.last_insert_rowid())
}

fn write_decisions(
    tx: &Transaction<'_>,
    device: &Device,
    batch_id: &str,
    decisions: &[Decision],
    kept: Kept,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let at = ts(now);
    // Placed before anything is written: the lookups see the database as it was.
    let placed = rollup::place_batch(&device.officer_id, decisions, &mut Live(tx, kept))?;
    let mut op_stmt = tx.prepare_cached(
        "INSERT INTO ops (device_id, seq, op_id, kind, sha256, payload, status, code, message, batch_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for d in decisions.iter().filter(|d| !d.replay) {
        op_stmt.execute(params![
            device.id,
            d.seq,
            d.op_id,
            d.kind,
            d.sha256,
            d.payload,
            d.result.status.as_str(),
            d.result.code.map(Code::as_str),
            d.result.message,
            batch_id,
            at
        ])?;
        for e in &d.effects {
            match e {
                Effect::Record { kind, id, village, .. } => {
                    let kept = placed.records.get(&(*kind, id.clone()));
                    tx.prepare_cached(
                        "INSERT INTO records (kind, id, device_id, seq, officer_id, village, received_at, facts, day, station)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT(kind, id) DO UPDATE SET device_id = excluded.device_id, seq = excluded.seq,
                                                              received_at = excluded.received_at, facts = excluded.facts,
                                                              day = excluded.day, station = excluded.station",
                    )?
                    .execute(params![
                        kind.as_str(),
                        id,
                        device.id,
                        d.seq,
                        device.officer_id,
                        village,
                        at,
                        kept.map(|k| &k.facts),
                        kept.map(|k| k.day.to_string()),
                        kept.map(|k| &k.station)
                    ])?;
                }
                Effect::Request { id, service, mode, state, body, accepted_on, due_on, .. } => {
                    let village = placed.request_villages.get(id).cloned().flatten();
                    tx.prepare_cached(
                        "INSERT INTO requests (id, device_id, officer_id, service, mode, state, body, received_at,
                                               updated_at, due_on, village, accepted_on, station)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12)",
                    )?
                    .execute(params![
                        id,
                        device.id,
                        device.officer_id,
                        service,
                        mode,
                        state,
                        body,
                        at,
                        due_on.map(|d| d.to_string()),
                        village,
                        accepted_on.to_string(),
                        placed.request_stations.get(id)
                    ])?;
                }
                Effect::RequestEvent { id, request, outcome, new_state, body, .. } => {
                    tx.prepare_cached(
                        "INSERT INTO request_events (id, request, outcome, new_state, by, body, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![id, request, outcome, new_state, device.id, body, at])?;
                    if let Some(state) = new_state {
                        tx.prepare_cached("UPDATE requests SET state = ?2, updated_at = ?3 WHERE id = ?1")?
                            .execute(params![request, state, at])?;
                    }
                }
            }
        }
    }
    write_rollup(tx, &placed.rollup)?;
    write_due(tx, &placed.due)?;
    let last = decisions.iter().map(|d| d.seq).max().unwrap_or(device.last_seq).max(device.last_seq);
    tx.prepare_cached("UPDATE devices SET last_seq = ?2 WHERE id = ?1")?.execute(params![device.id, last])?;
    Ok(())
}

/// [`rollup::Lookup`] by queries in the push's transaction.
/// The facts the batch's records keep were read with their owners ([`read_facts`]); a record
/// not among them is read here.
struct Live<'a, 'c>(&'a Transaction<'c>, HashMap<(OpKind, String), Option<String>>);

impl rollup::Lookup for Live<'_, '_> {
    fn station(&mut self, officer: &str) -> Result<String, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT station FROM officers WHERE id = ?1")?
            .query_row([officer], |r| r.get::<_, String>(0))
            .optional()?
            .unwrap_or_default())
    }

    fn household_village(&mut self, household: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT parent FROM places WHERE kind = 'household' AND code = ?1")?
            .query_row([household], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    fn village_about(&mut self, id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT village FROM records WHERE kind IN ('visit', 'mediation') AND id = ?1 AND village IS NOT NULL
                 UNION ALL SELECT village FROM requests WHERE id = ?1 AND village IS NOT NULL LIMIT 1",
            )?
            .query_row([id], |r| r.get::<_, String>(0))
            .optional()?)
    }

    fn request_place(&mut self, id: &str) -> Result<Option<(String, Option<String>)>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT officer_id, village FROM requests WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn record_facts(&mut self, kind: OpKind, id: &str) -> Result<Option<Vec<Placed>>, StorageError> {
        if let Some(kept) = self.1.get(&(kind, id.to_owned())) {
            return kept.as_deref().map(rollup::parse_facts).transpose();
        }
        let held: Option<Option<String>> = self
            .0
            .prepare_cached("SELECT facts FROM records WHERE kind = ?1 AND id = ?2")?
            .query_row([kind.as_str(), id], |r| r.get(0))
            .optional()?;
        held.flatten().as_deref().map(rollup::parse_facts).transpose()
    }
}

/// Fold a push's (or a desk move's) facts into the rollups; rows left with no facts go.
/// Changes to the list of mediation deadlines, in order ([`crate::due`]).
fn write_due(tx: &Transaction<'_>, changes: &[rollup::PlacedDue]) -> Result<(), StorageError> {
    use crate::due::write;
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    for p in changes {
        match &p.change {
            plan::Due::Case { kind, concluded_on, deadlines } => {
                tx.prepare_cached(write::CASE)?.execute(params![
                    p.mediation,
                    p.station,
                    p.town(),
                    p.village,
                    p.officer,
                    name(*kind),
                    concluded_on.to_string(),
                    day(deadlines.performance),
                    day(deadlines.follow_up),
                    day(deadlines.judicial_confirmation)
                ])?;
            }
            plan::Due::FollowedUp { on, performed, .. } => {
                tx.prepare_cached(write::FOLLOWED_UP)?.execute(params![p.mediation, on.to_string(), performed])?;
            }
            plan::Due::Confirmed { on, .. } => {
                tx.prepare_cached(write::CONFIRMED)?.execute(params![p.mediation, on.to_string()])?;
            }
        }
    }
    Ok(())
}

fn write_rollup(tx: &Transaction<'_>, r: &Rollup) -> Result<(), StorageError> {
    // The day tables carry the ISO week (the trend reads it); the month and year tables do not.
    for (table, rows) in r.sum_tables() {
        let by_day = table == "tally";
        let mut sums = tx.prepare_cached(&format!(
            "INSERT INTO {table} (day, station, town, village, officer, key, value, n{week})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8{week_value})
             ON CONFLICT (day, station, town, village, officer, key)
             DO UPDATE SET value = value + excluded.value, n = n + excluded.n",
            week = if by_day { ", week" } else { "" },
            week_value = if by_day { ", ?9" } else { "" },
        ))?;
        for ((day, station, town, village, officer, key), (value, n)) in rows {
            let week = report::week_of(*day).to_string();
            let mut p: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(9);
            let (day, key) = (day.to_string(), name(key));
            p.extend([&day as &dyn rusqlite::ToSql, station, town, village, officer, &key, value, n]);
            if by_day {
                p.push(&week);
            }
            sums.execute(p.as_slice())?;
        }
    }
    for (table, rows) in r.subject_tables() {
        let by_day = table == "tally_subjects";
        let mut subjects = tx.prepare_cached(&format!(
            "INSERT INTO {table} (key, day, subject, station, town, village, officer, n{week})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8{week_value})
             ON CONFLICT (key, day, subject, station, town, village, officer) DO UPDATE SET n = n + excluded.n",
            week = if by_day { ", week" } else { "" },
            week_value = if by_day { ", ?9" } else { "" },
        ))?;
        for ((key, day, subject, station, town, village, officer), n) in rows {
            let week = report::week_of(*day).to_string();
            let (day, key) = (day.to_string(), name(key));
            let mut p: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(9);
            p.extend([&key as &dyn rusqlite::ToSql, &day, subject, station, town, village, officer, n]);
            if by_day {
                p.push(&week);
            }
            subjects.execute(p.as_slice())?;
        }
    }
    // Only the rows that lost facts can be left with none.
    for (table, rows) in r.sum_tables() {
        let mut drop_sum = tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE day = ?1 AND station = ?2 AND town = ?3 AND village = ?4 AND officer = ?5
                                     AND key = ?6 AND n <= 0"
        ))?;
        for ((day, station, town, village, officer, key), _) in rows.iter().filter(|(_, v)| v.1 < 0) {
            drop_sum.execute(params![day.to_string(), station, town, village, officer, name(key)])?;
        }
    }
    for (table, rows) in r.subject_tables() {
        let mut drop_subject = tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE key = ?1 AND day = ?2 AND subject = ?3 AND station = ?4 AND town = ?5
                                     AND village = ?6 AND officer = ?7 AND n <= 0"
        ))?;
        for ((key, day, subject, station, town, village, officer), _) in rows.iter().filter(|(_, n)| **n < 0) {
            drop_subject.execute(params![name(key), day.to_string(), subject, station, town, village, officer])?;
        }
    }
    Ok(())
}

/// A request as the rules read it, with its officer and village.
fn request_facts(c: &Connection, id: &str) -> Result<Option<(RequestFacts, String, Option<String>)>, StorageError> {
    type Row = (String, String, String, Option<String>, Option<String>, String, Option<String>);
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT mode, state, service, accepted_on, due_on, officer_id, village FROM requests WHERE id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .optional()?;
    let Some((mode, state, service, accepted_on, due, officer, village)) = row else { return Ok(None) };
    let day = |d: &str| d.parse::<NaiveDate>().map_err(|e| StorageError::Db(format!("stored day `{d}`: {e}")));
    let held = RequestFacts {
        mode: from_name(&mode)?,
        state: from_name(&state)?,
        service,
        accepted_on: day(accepted_on.as_deref().unwrap_or_default())?,
        due: due.as_deref().map(day).transpose()?,
        officer: officer.clone(),
    };
    Ok(Some((held, officer, village)))
}

/// The facts the batch needs, and the facts its records already held keep (for [`Live`]).
type Kept = HashMap<(OpKind, String), Option<String>>;

fn read_facts(tx: &Transaction<'_>, device: &Device, needs: &plan::Needs) -> Result<(Facts, Kept), StorageError> {
    let mut kept = Kept::new();
    let mut facts = Facts::default();
    {
        let mut stmt =
            tx.prepare_cached("SELECT op_id, status, code, message FROM ops WHERE device_id = ?1 AND seq = ?2")?;
        for &seq in &needs.seqs {
            if let Some((op_id, status, code, message)) = stmt
                .query_row(params![device.id, seq], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?))
                })
                .optional()?
            {
                let status = OpStatus::parse(&status).ok_or_else(|| StorageError::Db(format!("status `{status}`")))?;
                let code = code.as_deref().map(stored_code);
                facts.stored.insert(seq, OpResult { seq, op_id, status, code, message });
            }
        }
    }
    {
        let mut stmt =
            tx.prepare_cached("SELECT 1 FROM ops WHERE device_id = ?1 AND op_id = ?2 AND status <> 'duplicate'")?;
        for id in &needs.op_ids {
            if stmt.exists([&device.id, id])? {
                facts.seen_op_ids.insert(id.clone());
            }
        }
    }
    {
        let mut stmt = tx.prepare_cached("SELECT officer_id, facts FROM records WHERE kind = ?1 AND id = ?2")?;
        for (kind, id) in &needs.records {
            let row = stmt
                .query_row([kind.as_str(), id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
                .optional()?;
            // A record not held keeps nothing: noted, so placing it reads nothing more.
            let held = row.map(|(officer, held)| {
                facts.owners.insert((*kind, id.clone()), officer);
                held
            });
            kept.insert((*kind, id.clone()), held.flatten());
        }
        let mut stmt = tx.prepare_cached("SELECT 1 FROM request_events WHERE id = ?1")?;
        for id in &needs.events {
            if stmt.exists([id])? {
                facts.events.insert(id.clone());
            }
        }
    }
    for id in &needs.requests {
        if let Some((held, _, _)) = request_facts(tx, id)? {
            facts.requests.insert(id.clone(), held);
        }
    }
    // A mediation's deadline is read from the payload of the op that recorded it.
    let mut stmt = tx.prepare_cached(
        "SELECT r.device_id, r.village, o.payload FROM records r JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq
         WHERE r.kind = 'mediation' AND r.id = ?1",
    )?;
    for id in &needs.mediations {
        if let Some((device, village, payload)) = stmt
            .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)))
            .optional()?
        {
            let case: MediationCase = from_body("mediation", &payload)?;
            facts.mediations.insert(
                id.clone(),
                MediationFacts {
                    device,
                    village: village.unwrap_or(case.village.clone()),
                    deadline: tally::performance_deadline(&case),
                },
            );
        }
    }
    Ok((facts, kept))
}

#[async_trait]
impl Storage for Sqlite {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn server_seed(&self, fresh: [u8; 32]) -> Result<[u8; 32], StorageError> {
        self.write(move |tx| {
            tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('server_seed', ?1)", [hex::encode(fresh)])?;
            let v: String = tx.query_row("SELECT value FROM meta WHERE key = 'server_seed'", [], |r| r.get(0))?;
            hex::decode(&v)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StorageError::Db("stored server seed is not 32 bytes".into()))
        })
        .await
    }
}

#[async_trait]
impl Accounts for Sqlite {
    async fn create_account(&self, a: &Account, now: DateTime<Utc>) -> Result<(), StorageError> {
        let a = a.clone();
        self.write(move |tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO accounts (username, role, station, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.username, a.role.as_str(), a.station, a.password_hash, ts(now)],
            )?;
            if n == 0 {
                return Err(StorageError::refused(Code::AccountExists, format!("account `{}` exists", a.username)));
            }
            Ok(())
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StorageError> {
        self.run(|c| {
            let mut stmt =
                c.prepare_cached("SELECT username, role, station, created_at FROM accounts ORDER BY username")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (username, role, station, created_at) = row?;
                out.push(AccountRow { username, role: from_name(&role)?, station, created_at: parse_ts(&created_at)? });
            }
            Ok(out)
        })
        .await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StorageError> {
        let username = username.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT username, role, station, password_hash FROM accounts WHERE username = ?1",
                [&username],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .map(|(username, role, station, password_hash)| {
                Ok(Account { username, role: from_name(&role)?, station, password_hash })
            })
            .transpose()
        })
        .await
    }

    async fn put_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (h, u) = (token_hash.to_owned(), username.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, username, expires_at) VALUES (?1, ?2, ?3)",
                params![h, u, ts(expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<(Account, DateTime<Utc>)>, StorageError> {
        let h = token_hash.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT a.username, a.role, a.station, a.password_hash, s.expires_at
                 FROM sessions s JOIN accounts a ON a.username = s.username WHERE s.token_hash = ?1",
                [&h],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?
            .map(|(username, role, station, password_hash, expires)| {
                Ok((Account { username, role: from_name(&role)?, station, password_hash }, parse_ts(&expires)?))
            })
            .transpose()
        })
        .await
    }

    async fn drop_session(&self, token_hash: &str) -> Result<(), StorageError> {
        let h = token_hash.to_owned();
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        let e = entry.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO audit (at, actor, action, subject) VALUES (?1, ?2, ?3, ?4)",
                params![ts(e.at), e.actor, e.action, e.subject],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StorageError> {
        self.run(move |c| {
            let mut stmt = c.prepare("SELECT at, actor, action, subject FROM audit ORDER BY id DESC LIMIT ?1")?;
            let rows =
                stmt.query_map([limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.map(|r| {
                let (at, actor, action, subject) = r?;
                Ok(AuditEntry { at: parse_ts(&at)?, actor, action, subject })
            })
            .collect()
        })
        .await
    }
}

fn has_station(c: &Connection, code: &str) -> Result<bool, StorageError> {
    Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM stations WHERE code = ?1)", [code], |r| r.get(0))?)
}

fn get_officer(c: &Connection, id: &str) -> Result<Option<Officer>, StorageError> {
    let body: Option<String> = c.query_row("SELECT body FROM officers WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    body.map(|b| from_body("officer", &b)).transpose()
}

const UPSERT_STATION: &str = "INSERT INTO stations (code, body, updated_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (code) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at";
const UPSERT_OFFICER: &str = "INSERT INTO officers (id, station, body, updated_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (id) DO UPDATE SET station = excluded.station, body = excluded.body, updated_at = excluded.updated_at";

#[async_trait]
impl Roster for Sqlite {
    async fn put_registry(
        &self,
        registry: &Registry,
        changes: &[(String, ChangeBody)],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let stations: Vec<(String, String)> =
            registry.stations.iter().map(|s| Ok((s.code.clone(), to_body(s)?))).collect::<Result<_, StorageError>>()?;
        let officers: Vec<(String, String, String)> = registry
            .officers
            .iter()
            .map(|o| Ok((o.id.clone(), o.station.clone(), to_body(o)?)))
            .collect::<Result<_, StorageError>>()?;
        let rows = registry_rows(registry)?;
        let changes: Vec<(String, &'static str, String, String)> =
            changes.iter().map(|(scope, b)| (scope.clone(), b.kind(), b.key(), b.to_json())).collect();
        self.write(move |tx| {
            for (code, body) in &stations {
                tx.execute(UPSERT_STATION, params![code, body, ts(now)])?;
            }
            for (id, station, body) in &officers {
                tx.execute(UPSERT_OFFICER, params![id, station, body, ts(now)])?;
            }
            for (code, station, body) in &rows.towns {
                tx.execute(
                    "INSERT INTO towns (code, station, body, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (code) DO UPDATE SET station = excluded.station, body = excluded.body,
                     updated_at = excluded.updated_at",
                    params![code, station, body, ts(now)],
                )?;
            }
            for (kind, code, parent, body, special) in &rows.places {
                tx.execute(
                    "INSERT INTO places (kind, code, parent, body, updated_at, special) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (kind, code) DO UPDATE SET parent = excluded.parent, body = excluded.body,
                     updated_at = excluded.updated_at, special = excluded.special",
                    params![kind, code, parent, body, ts(now), i64::from(*special)],
                )?;
            }
            for (officer, kind, target, since) in &rows.assignments {
                tx.execute(
                    "INSERT INTO assignments (officer, kind, target, since, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (officer, kind, target) DO UPDATE SET since = excluded.since,
                     updated_at = excluded.updated_at",
                    params![officer, kind, target, since.to_string(), ts(now)],
                )?;
            }
            for (scope, kind, key, body) in &changes {
                insert_change(tx, scope, kind, key, body, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn assign(&self, a: &AssignmentChange, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let a = a.clone();
        self.write(move |tx| {
            let officer_known = get_officer(tx, &a.officer)?.is_some();
            let already = get_assignment(tx, &a.officer, a.kind, &a.target)?.is_some();
            let place = place_changes(a.kind, &place_bodies(tx, a.kind, &a.target)?)?;
            let changes = plan::assignment(&a, officer_known, already, place)?;
            tx.execute(
                "INSERT INTO assignments (officer, kind, target, since, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.officer, plan::kind_name(a.kind), a.target, a.since.to_string(), ts(now)],
            )?;
            for c in &changes {
                insert_change(tx, &a.officer, c.kind(), &c.key(), &c.to_json(), now)?;
            }
            Ok(changes.len())
        })
        .await
    }

    async fn unassign(
        &self,
        officer: &str,
        kind: AssignmentKind,
        target: &str,
        until: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (officer, target) = (officer.to_owned(), target.to_owned());
        self.write(move |tx| {
            let current = get_assignment(tx, &officer, kind, &target)?;
            let change = plan::unassignment(current, until, (&officer, kind, &target))?;
            tx.execute(
                "DELETE FROM assignments WHERE officer = ?1 AND kind = ?2 AND target = ?3",
                params![officer, plan::kind_name(kind), target],
            )?;
            insert_change(tx, &officer, change.kind(), &change.key(), &change.to_json(), now)?;
            Ok(())
        })
        .await
    }

    async fn assignments_of(&self, officer: &str) -> Result<Vec<AssignmentChange>, StorageError> {
        let officer = officer.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, target, since FROM assignments WHERE officer = ?1 ORDER BY kind DESC, target",
            )?;
            let rows = stmt
                .query_map([&officer], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|(kind, target, since)| assignment_row(&officer, &kind, target, &since)).collect()
        })
        .await
    }

    async fn add_officer(&self, officer: &Officer, now: DateTime<Utc>) -> Result<(), StorageError> {
        plan::new_officer(officer)?;
        let (o, body) = (officer.clone(), to_body(officer)?);
        self.write(move |tx| {
            if !has_station(tx, &o.station)? {
                return Err(StorageError::refused(Code::UnknownStation, format!("no station `{}`", o.station)));
            }
            if get_officer(tx, &o.id)?.is_some() {
                return Err(StorageError::refused(Code::OfficerExists, format!("officer {} exists", o.id)));
            }
            tx.execute(UPSERT_OFFICER, params![o.id, o.station, body, ts(now)])?;
            Ok(())
        })
        .await
    }

    async fn move_officer(&self, id: &str, station: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        let (id, station) = (id.to_owned(), station.to_owned());
        self.write(move |tx| {
            if !has_station(tx, &station)? {
                return Err(StorageError::refused(Code::UnknownStation, format!("no station `{station}`")));
            }
            let Some(mut o) = get_officer(tx, &id)? else {
                return Err(StorageError::refused(Code::UnknownOfficer, format!("no officer {id}")));
            };
            o.station = station;
            tx.execute(UPSERT_OFFICER, params![o.id, o.station, to_body(&o)?, ts(now)])?;
            Ok(())
        })
        .await
    }

    async fn officer(&self, id: &str) -> Result<Option<Officer>, StorageError> {
        let id = id.to_owned();
        self.run(move |c| get_officer(c, &id)).await
    }

    async fn household(&self, id: &str) -> Result<Option<Household>, StorageError> {
        let id = id.to_owned();
        self.run(move |c| {
            let body: Option<String> = c
                .prepare_cached("SELECT body FROM places WHERE kind = 'household' AND code = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            body.map(|b| from_body("household", &b)).transpose()
        })
        .await
    }

    async fn stations(&self) -> Result<Vec<Station>, StorageError> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT body FROM stations ORDER BY code")?;
            let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| from_body("station", b)).collect()
        })
        .await
    }

    async fn villages(&self) -> Result<Vec<Village>, StorageError> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT body FROM places WHERE kind = 'village' ORDER BY code")?;
            let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| from_body("village", b)).collect()
        })
        .await
    }

    async fn officers_of(&self, station: &str) -> Result<Vec<Officer>, StorageError> {
        let station = station.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached("SELECT body FROM officers WHERE station = ?1 ORDER BY id")?;
            let bodies = stmt.query_map([station], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| from_body("officer", b)).collect()
        })
        .await
    }
}

#[async_trait]
impl Devices for Sqlite {
    async fn issue_code(
        &self,
        code_hash: &str,
        officer_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (h, o) = (code_hash.to_owned(), officer_id.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO enrollment_codes (code_hash, officer_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![h, o, ts(expires_at), ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn code(&self, code_hash: &str) -> Result<Option<plan::CodeFacts>, StorageError> {
        let h = code_hash.to_owned();
        self.run(move |c| get_code(c, &h)).await
    }

    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<(i64, i64), StorageError> {
        let e = e.clone();
        self.write(move |tx| {
            let code = get_code(tx, &e.code_hash)?;
            let exists = get_device(tx, &e.device_id)?.is_some();
            plan::enrollment(code.as_ref(), exists, &e, now)?;
            let max_end: i64 = tx.query_row("SELECT coalesce(max(serial_end), 0) FROM devices", [], |r| r.get(0))?;
            let (start, end) = plan::serial_block(max_end);
            tx.execute(
                "INSERT INTO devices (id, officer_id, public_key, last_seq, enrolled_at, serial_start, serial_end)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                params![e.device_id, e.officer_id, e.public_key, ts(now), start, end],
            )?;
            tx.execute(
                "UPDATE enrollment_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                params![e.code_hash, ts(now), e.device_id],
            )?;
            Ok((start, end))
        })
        .await
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, StorageError> {
        let id = id.to_owned();
        self.run(move |c| get_device(c, &id)).await
    }

    async fn devices(&self) -> Result<Vec<DeviceOverview>, StorageError> {
        self.run(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.officer_id, d.enrolled_at, d.revoked_at, d.last_seq,
                        (SELECT received_at FROM ops o WHERE o.device_id = d.id ORDER BY seq DESC LIMIT 1),
                        (SELECT count(*) FROM ops o WHERE o.device_id = d.id AND status = 'rejected')
                 FROM devices d ORDER BY d.enrolled_at DESC, d.id",
            )?;
            type Row = (String, String, String, Option<String>, i64, Option<String>, i64);
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, officer_id, enrolled_at, revoked_at, last_seq, last_seen, rejected): Row = row?;
                out.push(DeviceOverview {
                    id,
                    officer_id,
                    enrolled_at: parse_ts(&enrolled_at)?,
                    revoked_at: revoked_at.as_deref().map(parse_ts).transpose()?,
                    last_seq,
                    last_seen: last_seen.as_deref().map(parse_ts).transpose()?,
                    rejected,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![id, ts(now)],
            )?;
            tx.execute("DELETE FROM tokens WHERE device_id = ?1", [&id])?;
            Ok(n == 1)
        })
        .await
    }

    async fn put_challenge(
        &self,
        device_id: &str,
        challenge: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (d, c) = (device_id.to_owned(), challenge.to_owned());
        self.write(move |tx| {
            tx.execute("DELETE FROM challenges WHERE expires_at < ?1", [ts(expires_at - chrono::Duration::hours(1))])?;
            tx.execute(
                "INSERT INTO challenges (challenge, device_id, expires_at) VALUES (?1, ?2, ?3)",
                params![c, d, ts(expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_challenge(&self, device_id: &str, challenge: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        let (d, c) = (device_id.to_owned(), challenge.to_owned());
        self.write(move |tx| {
            let exp: Option<String> = tx
                .query_row(
                    "DELETE FROM challenges WHERE challenge = ?1 AND device_id = ?2 RETURNING expires_at",
                    params![c, d],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match exp {
                Some(e) => parse_ts(&e)? >= now,
                None => false,
            })
        })
        .await
    }

    async fn put_token(
        &self,
        token_hash: &str,
        device_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let (h, d) = (token_hash.to_owned(), device_id.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tokens (token_hash, device_id, expires_at) VALUES (?1, ?2, ?3)",
                params![h, d, ts(expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(Device, DateTime<Utc>)>, StorageError> {
        let h = token_hash.to_owned();
        self.run(move |c| {
            let row = c
                .prepare_cached(
                    "SELECT d.id, d.officer_id, d.public_key, d.last_seq, d.revoked_at, d.enrolled_at, t.expires_at
                     FROM tokens t JOIN devices d ON d.id = t.device_id WHERE t.token_hash = ?1",
                )?
                .query_row([h], |r| Ok((device_row(r)?, r.get::<_, String>(6)?)))
                .optional()?;
            row.map(|(d, e)| Ok((d, parse_ts(&e)?))).transpose()
        })
        .await
    }
}

#[async_trait]
impl Exchange for Sqlite {
    async fn push(
        &self,
        device_id: &str,
        batch_id: &str,
        ops: Vec<WireOp>,
        checks: Vec<plan::Check>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, BatchError>, StorageError> {
        let (device_id, batch_id) = (device_id.to_owned(), batch_id.to_owned());
        self.write(move |tx| {
            let device = get_device(tx, &device_id)?
                .ok_or_else(|| StorageError::refused(Code::UnknownDevice, format!("no device {device_id}")))?;
            let needs = match plan::needs(&ops, &checks, device.last_seq) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            let (facts, kept) = read_facts(tx, &device, &needs)?;
            let decisions = plan::decide(&ops, &checks, &device, &facts);
            write_decisions(tx, &device, &batch_id, &decisions, kept, now)?;
            let last_seq = decisions.iter().map(|d| d.seq).max().unwrap_or(0).max(device.last_seq);
            Ok(Ok(Pushed { results: decisions.into_iter().map(|d| d.result).collect(), last_seq }))
        })
        .await
    }

    async fn pull(&self, officer_id: &str, cursor: i64, limit: usize) -> Result<(Vec<Change>, bool), StorageError> {
        let officer = officer_id.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT cursor, kind, key, body FROM changes WHERE cursor > ?1 AND scope IN ('*', ?2)
                 ORDER BY cursor LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![cursor, officer, limit as i64 + 1], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (cursor, kind, key, body) = row?;
                let body = serde_json::from_str(&body).map_err(|e| StorageError::Db(format!("change body: {e}")))?;
                out.push(Change { cursor, kind, key, body });
            }
            let more = out.len() > limit;
            out.truncate(limit);
            Ok((out, more))
        })
        .await
    }

    async fn publish_change(&self, scope: &str, body: &ChangeBody, now: DateTime<Utc>) -> Result<i64, StorageError> {
        let (s, k, key, b) = (scope.to_owned(), body.kind(), body.key(), body.to_json());
        self.write(move |tx| insert_change(tx, &s, k, &key, &b, now)).await
    }

    async fn publish_changes(&self, changes: &[(String, ChangeBody)], now: DateTime<Utc>) -> Result<(), StorageError> {
        let rows: Vec<(String, &'static str, String, String)> =
            changes.iter().map(|(scope, b)| (scope.clone(), b.kind(), b.key(), b.to_json())).collect();
        self.write(move |tx| {
            for (scope, kind, key, body) in &rows {
                insert_change(tx, scope, kind, key, body, now)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Desk for Sqlite {
    async fn requests_at(
        &self,
        station: &str,
        state: Option<RequestState>,
        limit: usize,
    ) -> Result<Vec<RequestRow>, StorageError> {
        let (station, state) = (station.to_owned(), state.map(name));
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{REQUEST_ROW} WHERE officer_id IN (SELECT id FROM officers WHERE station = ?1)
                 AND (?2 IS NULL OR state = ?2) ORDER BY received_at, id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![station, state, limit as i64], request_row)?;
            rows.map(|r| Ok(r??.0)).collect()
        })
        .await
    }

    async fn request(&self, id: &str) -> Result<Option<(RequestRow, Option<String>)>, StorageError> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_row(&format!("{REQUEST_ROW} WHERE id = ?1"), [&id], request_row).optional()?.transpose()
        })
        .await
    }

    async fn request_events(&self, id: &str) -> Result<Vec<EventRow>, StorageError> {
        let id = id.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT outcome, new_state, by, at, body FROM request_events WHERE request = ?1 ORDER BY at, rowid",
            )?;
            let rows = stmt.query_map([&id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (outcome, new_state, by, at, body) = row?;
                out.push(event_row(outcome, new_state.as_deref(), by, parse_ts(&at)?, &body)?);
            }
            Ok(out)
        })
        .await
    }

    async fn desk_transition(
        &self,
        request_id: &str,
        transition: &Transition,
        by: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, StorageError> {
        let (id, t, by, event_id) = (request_id.to_owned(), transition.clone(), by.to_owned(), event_id.to_owned());
        self.write(move |tx| {
            let Some((held, officer, village)) = request_facts(tx, &id)? else {
                return Err(StorageError::refused(Code::NotFound, format!("no request {id}")));
            };
            let w = plan::desk_move(&id, &held, &t, &by, now);
            let station = Live(tx, Kept::new()).station(&officer)?;
            let mut moved = Rollup::default();
            moved.add(&rollup::place(&w.facts, &officer, &station, village.as_deref()), 1);
            write_rollup(tx, &moved)?;
            tx.execute(
                "INSERT INTO request_events (id, request, outcome, new_state, by, body, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![event_id, id, w.stored, w.new_state.map(name), by, w.event_body, ts(now)],
            )?;
            if let (Some(to), Some(change)) = (w.new_state, &w.change) {
                tx.execute(
                    "UPDATE requests SET state = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, name(to), ts(now)],
                )?;
                let change = ChangeBody::RequestState(change.clone());
                insert_change(tx, &officer, change.kind(), &change.key(), &change.to_json(), now)?;
            }
            tx.execute(
                "INSERT INTO audit (at, actor, action, subject) VALUES (?1, ?2, 'move_request', ?3)",
                params![ts(now), by, w.audit_subject],
            )?;
            Ok(w.outcome)
        })
        .await
    }

    async fn village_officer(&self, village: &str) -> Result<Option<(String, String)>, StorageError> {
        let village = village.to_owned();
        self.run(move |c| {
            Ok(c.prepare_cached(
                "SELECT a.officer, o.station FROM assignments a JOIN officers o ON o.id = a.officer
                 WHERE a.kind = 'village' AND a.target = ?1 ORDER BY a.since DESC, a.officer LIMIT 1",
            )?
            .query_row([&village], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await
    }

    async fn phone_in(&self, row: &PhonedInRow, now: DateTime<Utc>) -> Result<(), StorageError> {
        let row = row.clone();
        self.write(move |tx| {
            let p = &row.call;
            tx.execute(
                "INSERT INTO phoned_in (id, station, officer, village, household, address, service, applicant, note,
                                        taken_by, taken_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?11, ?6, ?7, ?8, ?9, ?10)",
                params![
                    p.id,
                    row.station,
                    row.officer,
                    row.village,
                    p.household,
                    p.service,
                    p.applicant,
                    p.note,
                    p.taken_by,
                    ts(p.taken_at),
                    row.address
                ],
            )?;
            let change = ChangeBody::PhonedIn(p.clone());
            insert_change(tx, &row.officer, change.kind(), &change.key(), &change.to_json(), now)?;
            tx.execute(
                "INSERT INTO audit (at, actor, action, subject) VALUES (?1, ?2, 'phone_in', ?3)",
                params![ts(now), p.taken_by, format!("{} {} {}", p.id, p.service, p.household)],
            )?;
            Ok(())
        })
        .await
    }

    async fn households_at(&self, station: &str, text: &str, limit: usize) -> Result<Vec<Household>, StorageError> {
        let (station, pattern) = (station.to_owned(), report::like_pattern(text));
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT h.body FROM places h
                 WHERE h.kind = 'household' AND h.body LIKE ?2 ESCAPE '\\'
                   AND (SELECT station FROM towns t WHERE t.code = substr(h.parent, 1, 9)) = ?1
                 ORDER BY h.code LIMIT ?3",
            )?;
            let bodies = stmt
                .query_map(params![station, pattern, limit as i64], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| from_body("household", b)).collect()
        })
        .await
    }

    async fn phoned_in_at(&self, station: &str, limit: usize) -> Result<Vec<PhonedInRow>, StorageError> {
        let station = station.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT p.id, p.service, p.household, p.applicant, p.note, p.taken_at, p.taken_by, p.officer, p.village,
                        (SELECT r.id FROM requests r WHERE r.officer_id = p.officer AND r.service = p.service
                            AND json_extract(r.body, '$.household') = p.household AND r.received_at >= p.taken_at
                         ORDER BY r.received_at LIMIT 1),
                        p.address
                 FROM phoned_in p WHERE p.station = ?1 ORDER BY p.taken_at DESC, p.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![station, limit as i64], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    (r.get::<_, String>(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
                    r.get::<_, String>(10)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let ((id, service, household, applicant, note), (at, taken_by, officer, village, request), address) =
                    row?;
                out.push(PhonedInRow {
                    call: beibao_core::change::PhonedIn {
                        id,
                        service,
                        household,
                        applicant,
                        note,
                        taken_at: parse_ts(&at)?,
                        taken_by,
                    },
                    station: station.clone(),
                    officer,
                    village,
                    address,
                    request,
                });
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Blobs for Sqlite {
    async fn blob(&self, sha256: &str, device: &str) -> Result<Option<BlobRow>, StorageError> {
        let (sha, key) = (sha256.to_owned(), crate::storage::upload_key(sha256, device));
        self.run(move |c| match blob_row(c, &sha)? {
            Some(whole) if whole.complete => Ok(Some(whole)),
            _ => blob_row(c, &key),
        })
        .await
    }

    async fn blob_append(
        &self,
        sha256: &str,
        device: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Appended, StorageError> {
        let (whole, chunk) = (sha256.to_owned(), chunk.to_vec());
        let sha = crate::storage::upload_key(sha256, device);
        self.write(move |tx| {
            if let Some(row) = blob_row(tx, &whole)?.filter(|r| r.complete) {
                return Ok(Appended::Stored(row));
            }
            let (create, received, last) =
                match plan::blob_chunk(blob_row(tx, &sha)?, total, offset, chunk.len() as u64)? {
                    plan::Chunk::Whole(row) => return Ok(Appended::Stored(row)),
                    plan::Chunk::Elsewhere(held) => return Ok(Appended::Elsewhere(held)),
                    plan::Chunk::Write { create, restart, received, last } => {
                        if restart {
                            tx.execute("DELETE FROM blob_chunks WHERE sha256 = ?1", [&sha])?;
                            tx.execute(
                                "UPDATE blobs SET total = ?2, received = 0 WHERE sha256 = ?1",
                                params![sha, total as i64],
                            )?;
                        }
                        (create, received, last)
                    }
                };
            if create {
                tx.execute(
                    "INSERT INTO blobs (sha256, total, received, complete, created_at) VALUES (?1, ?2, 0, 0, ?3)",
                    params![sha, total as i64, ts(now)],
                )?;
            }
            if !chunk.is_empty() {
                tx.execute(
                    "INSERT INTO blob_chunks (sha256, pos, bytes) VALUES (?1, ?2, ?3)",
                    params![sha, offset as i64, chunk],
                )?;
            }
            if last && sha256_hex(&assemble(tx, &sha)?) != whole {
                tx.execute("DELETE FROM blob_chunks WHERE sha256 = ?1", [&sha])?;
                tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [&sha])?;
                return Ok(Appended::HashMismatch);
            }
            if last {
                // The upload becomes the blob under its hash (an unfinished upload kept there
                // from before uploads were per device gives way).
                tx.execute("DELETE FROM blob_chunks WHERE sha256 = ?1", [&whole])?;
                tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [&whole])?;
                tx.execute(
                    "INSERT INTO blobs (sha256, total, received, complete, created_at) VALUES (?1, ?2, ?2, 1, ?3)",
                    params![whole, total as i64, ts(now)],
                )?;
                tx.execute("UPDATE blob_chunks SET sha256 = ?1 WHERE sha256 = ?2", [&whole, &sha])?;
                // Every device's unfinished upload of it goes (their keys sort between these).
                let (from, to) = (format!("{whole}@"), format!("{whole}A"));
                tx.execute("DELETE FROM blob_chunks WHERE sha256 > ?1 AND sha256 < ?2", [&from, &to])?;
                tx.execute("DELETE FROM blobs WHERE sha256 > ?1 AND sha256 < ?2", [&from, &to])?;
                return Ok(Appended::Stored(BlobRow { total, offset: total, complete: true }));
            }
            tx.execute(
                "UPDATE blobs SET received = ?2, complete = ?3 WHERE sha256 = ?1",
                params![sha, received as i64, last],
            )?;
            Ok(Appended::Stored(BlobRow { total, offset: received, complete: last }))
        })
        .await
    }

    async fn sweep_uploads(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        self.write(move |tx| {
            let before = ts(before);
            tx.execute(
                "DELETE FROM blob_chunks WHERE sha256 IN (SELECT sha256 FROM blobs WHERE complete = 0 AND created_at < ?1)",
                [&before],
            )?;
            Ok(tx.execute("DELETE FROM blobs WHERE complete = 0 AND created_at < ?1", [&before])? as u64)
        })
        .await
    }

    async fn upload_bytes(&self, sha256: &str, device: &str) -> Result<Vec<u8>, StorageError> {
        let key = crate::storage::upload_key(sha256, device);
        self.run(move |c| assemble(c, &key)).await
    }

    async fn drop_upload(&self, sha256: &str, device: &str) -> Result<(), StorageError> {
        let key = crate::storage::upload_key(sha256, device);
        self.write(move |tx| {
            tx.execute("DELETE FROM blob_chunks WHERE sha256 = ?1", [&key])?;
            tx.execute("DELETE FROM blobs WHERE sha256 = ?1 AND complete = 0", [&key])?;
            Ok(())
        })
        .await
    }

    async fn blob_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let sha = sha256.to_owned();
        self.run(move |c| match blob_row(c, &sha)? {
            Some(r) if r.complete => Ok(Some(assemble(c, &sha)?)),
            _ => Ok(None),
        })
        .await
    }
}

#[async_trait]
impl Catalogs for Sqlite {
    async fn publish_catalog(&self, catalog: &Catalog, now: DateTime<Utc>) -> Result<i64, StorageError> {
        let body = serde_json::to_value(catalog).map_err(|e| StorageError::Db(e.to_string()))?;
        let version = catalog.version.clone();
        self.write(move |tx| {
            let existing: Option<String> =
                tx.query_row("SELECT body FROM catalogs WHERE version = ?1", [&version], |r| r.get(0)).optional()?;
            let text = body.to_string();
            match existing {
                Some(b) if b == text => {
                    Ok(tx.query_row("SELECT cursor FROM catalogs WHERE version = ?1", [&version], |r| r.get(0))?)
                }
                Some(_) => Err(StorageError::refused(
                    Code::CatalogVersionExists,
                    format!("catalog {version} is published with other content; publish a new version"),
                )),
                None => {
                    let cursor = insert_change(tx, "*", "catalog", &version, &text, now)?;
                    tx.execute(
                        "INSERT INTO catalogs (version, body, cursor, published_at) VALUES (?1, ?2, ?3, ?4)",
                        params![version, text, cursor, ts(now)],
                    )?;
                    Ok(cursor)
                }
            }
        })
        .await
    }

    async fn publish_calendar(
        &self,
        calendar: &PublishedCalendar,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StorageError> {
        let (version, body) = (calendar.version.clone(), to_body(calendar)?);
        self.write(move |tx| {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE kind = 'calendar' AND key = ?1)",
                [&version],
                |r| r.get(0),
            )?;
            if known {
                return Ok(None);
            }
            Ok(Some(insert_change(tx, "*", "calendar", &version, &body, now)?))
        })
        .await
    }

    async fn calendar_version(&self) -> Result<Option<String>, StorageError> {
        self.run(|c| {
            Ok(c.query_row("SELECT key FROM changes WHERE kind = 'calendar' ORDER BY cursor DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()?)
        })
        .await
    }

    async fn calendar(&self) -> Result<Option<PublishedCalendar>, StorageError> {
        let body: Option<String> = self
            .run(|c| {
                Ok(c.query_row(
                    "SELECT body FROM changes WHERE kind = 'calendar' ORDER BY cursor DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        body.map(|b| crate::storage::stored_calendar(&b)).transpose()
    }

    async fn catalogs(&self) -> Result<Vec<Catalog>, StorageError> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT body FROM catalogs ORDER BY cursor")?;
            let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            bodies
                .iter()
                .map(|b| Catalog::from_json(b).map_err(|e| StorageError::Db(format!("stored catalog: {e}"))))
                .collect()
        })
        .await
    }

    async fn catalog_count(&self) -> Result<usize, StorageError> {
        self.run(|c| Ok(c.query_row("SELECT count(*) FROM catalogs", [], |r| r.get::<_, i64>(0))? as usize)).await
    }
}

#[async_trait]
impl Reports for Sqlite {
    async fn aggregates(&self, period: Period, level: Level, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(
                &scope,
                report::SPLIT_PARAMS + 1,
                false,
                ["station", "town", "village", "officer"],
            );
            let days: Vec<String> = report::Split::of(period).params().iter().map(ToString::to_string).collect();
            let mut params: Vec<&dyn rusqlite::ToSql> = days.iter().map(|d| d as &dyn rusqlite::ToSql).collect();
            for v in &values {
                params.push(v);
            }
            let mut out = Vec::new();
            for group in [Some(level.column()), None] {
                let sql = report::aggregate_sql(group.unwrap_or("NULL"), false, &filter);
                let mut stmt = c.prepare_cached(&sql)?;
                let mut rows = stmt.query(params.as_slice())?;
                while let Some(r) = rows.next()? {
                    let g: Option<String> = r.get(0)?;
                    let key: String = r.get(1)?;
                    out.push(Aggregate {
                        group: if group.is_some() { g } else { Some(report::TOTAL.to_owned()) },
                        week: None,
                        key: from_name(&key)?,
                        value: r.get(2)?,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn weekly(&self, period: Period, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(&scope, 3, false, ["station", "town", "village", "officer"]);
            let sql = report::weekly_sql("?1", "?2", &filter);
            let mut stmt = c.prepare_cached(&sql)?;
            let (from, to) = (period.from.to_string(), period.to.to_string());
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&from, &to];
            for v in &values {
                params.push(v);
            }
            let mut out = Vec::new();
            let mut rows = stmt.query(params.as_slice())?;
            while let Some(r) = rows.next()? {
                let (week, key): (String, String) = (r.get(0)?, r.get(1)?);
                out.push(Aggregate {
                    group: None,
                    week: Some(week.parse().map_err(|e| StorageError::Db(format!("stored week `{week}`: {e}")))?),
                    key: from_name(&key)?,
                    value: r.get(2)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn villages_in_scope(&self, level: Level, scope: &Scope) -> Result<Vec<(Option<String>, i64)>, StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(
                &scope,
                1,
                false,
                ["o.station", "substr(a.target, 1, 9)", "a.target", "a.officer"],
            );
            let group = match level {
                Level::Station => "o.station",
                Level::Town => "substr(a.target, 1, 9)",
                Level::Village => "a.target",
                Level::Officer => "a.officer",
            };
            let mut out = Vec::new();
            for (col, total) in [(group, false), ("NULL", true)] {
                let sql = format!(
                    "SELECT {col}, count(DISTINCT a.target) FROM assignments a JOIN officers o ON o.id = a.officer
                     WHERE a.kind = 'village'{filter} GROUP BY {col}"
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
                let mut rows = stmt.query(params.as_slice())?;
                while let Some(r) = rows.next()? {
                    let g: Option<String> = r.get(0)?;
                    out.push((if total { Some(report::TOTAL.to_owned()) } else { g }, r.get(1)?));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn coverage(&self, scope: &Scope, since: NaiveDate) -> Result<Vec<CoverageRow>, StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(
                &scope,
                2,
                false,
                // Villages have no officer: an officer's scope matches none (the route refuses it).
                [
                    "(SELECT station FROM towns t WHERE t.code = substr(p.code, 1, 9))",
                    "substr(p.code, 1, 9)",
                    "p.code",
                    "NULL",
                ],
            );
            let sql = format!(
                "SELECT p.code, p.body, lv.last,
                    (SELECT count(*) FROM places h WHERE h.kind = 'household' AND h.parent = p.code AND h.special = 1),
                    (SELECT count(*) FROM places h WHERE h.kind = 'household' AND h.parent = p.code AND h.special = 1
                        AND h.code NOT IN (SELECT subject FROM tally_subjects
                                           WHERE key = 'households_visited' AND day >= ?1))
                 FROM places p
                 LEFT JOIN (SELECT village, max(day) AS last FROM tally WHERE key = 'households_visited'
                            GROUP BY village) lv ON lv.village = p.code
                 WHERE p.kind = 'village'{filter} ORDER BY p.code"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let since = since.to_string();
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&since];
            for v in &values {
                params.push(v);
            }
            let mut rows = stmt.query(params.as_slice())?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let last: Option<String> = r.get(2)?;
                out.push(CoverageRow {
                    code: r.get(0)?,
                    body: r.get(1)?,
                    last_visit: last
                        .map(|d| d.parse().map_err(|e| StorageError::Db(format!("stored day `{d}`: {e}"))))
                        .transpose()?,
                    special: r.get(3)?,
                    special_not_visited: r.get(4)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn mediation_due(
        &self,
        scope: &Scope,
        on: NaiveDate,
        until: NaiveDate,
        limit: usize,
    ) -> Result<(Vec<due::VillageDueRow>, Vec<due::DueCaseRow>), StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(&scope, 3, false, ["station", "town", "village", "officer"]);
            let (on, until, limit) = (on.to_string(), until.to_string(), i64::try_from(limit).unwrap_or(i64::MAX));
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&on, &until];
            for v in &values {
                params.push(v);
            }
            let mut villages = Vec::new();
            let mut stmt = c.prepare_cached(&due::villages_sql(&filter, false))?;
            let mut rows = stmt.query(params.as_slice())?;
            while let Some(r) = rows.next()? {
                villages.push(due::VillageDueRow {
                    village: r.get(0)?,
                    overdue: r.get(1)?,
                    due_soon: r.get(2)?,
                    closing: r.get(3)?,
                    not_performed: r.get(4)?,
                });
            }
            drop(rows);
            params.push(&limit);
            let mut cases = Vec::new();
            let mut stmt = c.prepare_cached(&due::cases_sql(&filter, false, params.len()))?;
            let mut rows = stmt.query(params.as_slice())?;
            let day = |d: Option<String>| {
                d.map(|d| d.parse().map_err(|e| StorageError::Db(format!("stored day `{d}`: {e}")))).transpose()
            };
            while let Some(r) = rows.next()? {
                cases.push(due::DueCaseRow {
                    mediation: r.get(0)?,
                    village: r.get(1)?,
                    officer: r.get(2)?,
                    kind: from_name(&r.get::<_, String>(3)?)?,
                    concluded_on: day(r.get(4)?)?.ok_or_else(|| StorageError::Db("a case without its day".into()))?,
                    performance_on: day(r.get(5)?)?,
                    follow_up_on: day(r.get(6)?)?,
                    confirm_by: day(r.get(7)?)?,
                });
            }
            Ok((villages, cases))
        })
        .await
    }

    async fn detail_page(
        &self,
        of: detail::DetailKind,
        period: Period,
        scope: &Scope,
        after: Option<(NaiveDate, String)>,
        limit: usize,
    ) -> Result<Vec<detail::DetailRow>, StorageError> {
        let scope = scope.clone();
        self.run(move |c| {
            let (filter, values) = report::scope_filter(&scope, 5, false, detail::scope_columns(of));
            let (day, id) = after.unwrap_or((period.from, String::new()));
            let (from, to, day, limit) = (
                period.from.to_string(),
                period.to.to_string(),
                day.to_string(),
                i64::try_from(limit).unwrap_or(i64::MAX),
            );
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&from, &to, &day, &id];
            for v in &values {
                params.push(v);
            }
            params.push(&limit);
            let mut stmt = c.prepare_cached(&detail::page_sql(of, &filter, false, params.len()))?;
            let mut rows = stmt.query(params.as_slice())?;
            let date =
                |d: String| d.parse::<NaiveDate>().map_err(|e| StorageError::Db(format!("stored day `{d}`: {e}")));
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(detail::DetailRow {
                    day: date(r.get(0)?)?,
                    id: r.get(1)?,
                    station: r.get(2)?,
                    village: r.get(3)?,
                    officer: r.get(4)?,
                    body: r.get(5)?,
                    household: r.get(6)?,
                    state: r.get(7)?,
                    due_on: r.get::<_, Option<String>>(8)?.map(date).transpose()?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn names(&self, level: Level, codes: &[String]) -> Result<HashMap<String, LocalText>, StorageError> {
        let codes = codes.to_vec();
        self.run(move |c| {
            let sql = match level {
                Level::Station => "SELECT body FROM stations WHERE code = ?1",
                Level::Town => "SELECT body FROM towns WHERE code = ?1",
                Level::Village => "SELECT body FROM places WHERE kind = 'village' AND code = ?1",
                Level::Officer => "SELECT body FROM officers WHERE id = ?1",
            };
            let mut stmt = c.prepare_cached(sql)?;
            let mut out = HashMap::new();
            for code in codes {
                if let Some(body) = stmt.query_row([&code], |r| r.get::<_, String>(0)).optional()?
                    && let Some(name) = crate::storage::group_name(level, &body)
                {
                    out.insert(code, name);
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Inspect for Sqlite {
    async fn rejected_ops(&self, limit: usize) -> Result<Vec<RejectedOp>, StorageError> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT device_id, seq, op_id, kind, code, message, received_at FROM ops WHERE status = 'rejected'
                 ORDER BY received_at DESC, device_id, seq LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (device_id, seq, op_id, kind, code, message, at) = row?;
                out.push(RejectedOp {
                    device_id,
                    seq,
                    op_id,
                    kind,
                    code: code.unwrap_or_default(),
                    message: message.unwrap_or_default(),
                    received_at: parse_ts(&at)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        self.run(|c| {
            let one = |sql: &str| -> Result<i64, StorageError> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
            let mut records = Vec::new();
            let mut stmt = c.prepare("SELECT kind, count(*) FROM records GROUP BY kind ORDER BY kind")?;
            for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
                records.push(row?);
            }
            let mut by_status: HashMap<String, i64> = HashMap::new();
            let mut stmt = c.prepare("SELECT status, count(*) FROM ops GROUP BY status")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
                let (k, v) = row?;
                by_status.insert(k, v);
            }
            Ok(Counts {
                devices: one("SELECT count(*) FROM devices")?,
                ops_applied: by_status.get("applied").copied().unwrap_or(0),
                ops_duplicate: by_status.get("duplicate").copied().unwrap_or(0),
                ops_rejected: by_status.get("rejected").copied().unwrap_or(0),
                records,
                requests: one("SELECT count(*) FROM requests")?,
                request_events: one("SELECT count(*) FROM request_events")?,
                changes: one("SELECT count(*) FROM changes")?,
                blobs: one("SELECT count(*) FROM blobs WHERE complete = 1")?,
            })
        })
        .await
    }

    #[cfg(feature = "test-support")]
    async fn records(&self, device_id: &str, kind: &str) -> Result<Vec<(String, String)>, StorageError> {
        let (d, k) = (device_id.to_owned(), kind.to_owned());
        self.run(move |c| {
            let pair = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
            let rows: Vec<(String, String)> = if k == "service_request" {
                let mut stmt = c.prepare("SELECT id, body FROM requests WHERE device_id = ?1 ORDER BY id")?;
                stmt.query_map([&d], pair)?.collect::<Result<_, _>>()?
            } else {
                let mut stmt = c.prepare(RECORDS_OF_DEVICE)?;
                stmt.query_map(params![d, k], pair)?.collect::<Result<_, _>>()?
            };
            Ok(rows)
        })
        .await
    }

    #[cfg(feature = "test-support")]
    async fn rollup_drift(&self) -> Result<i64, StorageError> {
        self.run(|c| Ok(c.query_row(&rollup::drift_sql(false), [], |r| r.get(0))?)).await
    }

    #[cfg(feature = "test-support")]
    async fn op_results(&self, device_id: &str) -> Result<Vec<OpResult>, StorageError> {
        let d = device_id.to_owned();
        self.run(move |c| {
            let mut stmt =
                c.prepare("SELECT seq, op_id, status, code, message FROM ops WHERE device_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([d], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, op_id, status, code, message) = row?;
                let code = code.as_deref().map(stored_code);
                let status = OpStatus::parse(&status).ok_or_else(|| StorageError::Db(format!("status `{status}`")))?;
                out.push(OpResult { seq, op_id, status, code, message });
            }
            Ok(out)
        })
        .await
    }
}

fn blob_row(c: &Connection, sha: &str) -> Result<Option<BlobRow>, StorageError> {
    Ok(c.query_row("SELECT total, received, complete FROM blobs WHERE sha256 = ?1", [sha], |r| {
        Ok(BlobRow { total: r.get::<_, i64>(0)? as u64, offset: r.get::<_, i64>(1)? as u64, complete: r.get(2)? })
    })
    .optional()?)
}

fn assemble(c: &Connection, sha: &str) -> Result<Vec<u8>, StorageError> {
    let mut stmt = c.prepare_cached("SELECT bytes FROM blob_chunks WHERE sha256 = ?1 ORDER BY pos")?;
    let mut out = Vec::new();
    for chunk in stmt.query_map([sha], |r| r.get::<_, Vec<u8>>(0))? {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}
