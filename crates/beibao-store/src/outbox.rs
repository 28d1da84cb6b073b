//! The outbox: every domain write enqueues one op in the same transaction. Ops carry a monotonic
//! per-device `seq`, an `op_id`, the frozen payload and its SHA-256; they leave the queue only when
//! the server's acknowledgement is recorded.

use beibao_core::canonical::{derived_op_id, sha256_hex};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{StoreError, corrupt};

pub use beibao_core::ops::OpKind;

/// One queued op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Per-device sequence number.
    pub seq: i64,
    /// Unique op id.
    pub op_id: String,
    /// Kind.
    pub kind: String,
    /// The record it carries.
    pub entity_id: String,
    /// The frozen payload (JSON).
    pub payload: String,
    /// SHA-256 of the payload.
    pub sha256: String,
    /// `pending`, `applied`, `duplicate` or `rejected`.
    pub state: String,
}

const OP_COLUMNS: &str = "seq, op_id, kind, entity_id, payload, sha256, state";

fn op_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Op> {
    Ok(Op {
        seq: r.get(0)?,
        op_id: r.get(1)?,
        kind: r.get(2)?,
        entity_id: r.get(3)?,
        payload: r.get(4)?,
        sha256: r.get(5)?,
        state: r.get(6)?,
    })
}

/// Enqueue an op for a record; returns its `seq`. The op's id is derived from its payload
/// ([`derived_op_id`]: sync protocol v2 need not send it); should an op with the same payload be
/// queued already, `op_id` names this one apart (and travels with it).
pub fn enqueue<T: Serialize>(
    tx: &Transaction<'_>,
    op_id: Uuid,
    kind: OpKind,
    entity_id: &str,
    payload: &T,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let payload = serde_json::to_string(payload).map_err(corrupt)?;
    let sha256 = sha256_hex(payload.as_bytes());
    let derived = derived_op_id(&sha256);
    let taken: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE op_id = ?1)")?
        .query_row([&derived], |r| r.get(0))?;
    let op_id = if taken { op_id.to_string() } else { derived };
    tx.execute(
        "INSERT INTO outbox (op_id, kind, entity_id, payload, sha256, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![op_id, kind.as_str(), entity_id, payload, sha256, payload.len() as i64, now.to_rfc3339()],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Ops not yet acknowledged, oldest first.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Op>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {OP_COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1"))?;
    let rows = stmt.query_map([limit as i64], op_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every op, whatever its state, in seq order.
pub fn all(conn: &Connection) -> Result<Vec<Op>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {OP_COLUMNS} FROM outbox ORDER BY seq"))?;
    let rows = stmt.query_map([], op_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What waits to be synced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Pending {
    /// Ops waiting.
    pub ops: u64,
    /// Their payload bytes.
    pub op_bytes: u64,
    /// Blobs waiting.
    pub blobs: u64,
    /// Their bytes.
    pub blob_bytes: u64,
}

/// Counts and bytes waiting to be synced.
pub fn pending_stats(conn: &Connection) -> Result<Pending, StoreError> {
    let (ops, op_bytes): (i64, i64) =
        conn.query_row("SELECT count(*), coalesce(sum(bytes), 0) FROM outbox WHERE state = 'pending'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (blobs, blob_bytes): (i64, i64) =
        conn.query_row("SELECT count(*), coalesce(sum(size), 0) FROM blobs WHERE uploaded = 0", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(Pending { ops: ops as u64, op_bytes: op_bytes as u64, blobs: blobs as u64, blob_bytes: blob_bytes as u64 })
}

/// The op carrying a record, if any.
pub fn op_for(conn: &Connection, entity_id: &str) -> Result<Option<Op>, StoreError> {
    let sql = format!("SELECT {OP_COLUMNS} FROM outbox WHERE entity_id = ?1 ORDER BY seq LIMIT 1");
    Ok(conn.query_row(&sql, [entity_id], op_row).optional()?)
}
