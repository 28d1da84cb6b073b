//! The tablet's side of sync, each function one step inside the caller's transaction: the device
//! key, the enrollment, batches of pending ops, acknowledgements with their receipts, requeueing
//! when the server is behind, applying pulled changes together with the cursor, and the blob queue.

use beibao_core::change::{AssignmentKind, ChangeBody};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, corrupt};
use crate::outbox::Op;
use crate::registry as reg;

/// The device's Ed25519 seed (kept inside the encrypted database).
pub fn device_key(conn: &Connection) -> Result<Option<[u8; 32]>, StoreError> {
    let Some(hex) = reg::meta(conn, "device_key")? else { return Ok(None) };
    let bytes = decode_hex(&hex).ok_or_else(|| StoreError::Corrupt("device key is not hex".into()))?;
    Ok(Some(bytes.try_into().map_err(|_| StoreError::Corrupt("device key is not 32 bytes".into()))?))
}

/// Store the device's Ed25519 seed.
pub fn set_device_key(tx: &Transaction<'_>, seed: &[u8; 32]) -> Result<(), StoreError> {
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    reg::set_meta(tx, "device_key", &hex)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The tablet's enrollment with a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentRow {
    /// Server address.
    pub server_url: String,
    /// Server public key (hex).
    pub server_key: String,
    /// When enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// 协议书 serial prefix.
    pub serial_prefix: String,
    /// Next serial to hand out.
    pub serial_next: i64,
    /// Last serial of the block.
    pub serial_end: i64,
    /// The https server's certificate fingerprint pinned at enrollment (SHA-256, hex).
    #[serde(default)]
    pub tls_pin: Option<String>,
    /// The bureau's CA given at enrollment (PEM).
    #[serde(default)]
    pub tls_ca: Option<String>,
}

/// The enrollment, if any.
pub fn enrollment(conn: &Connection) -> Result<Option<EnrollmentRow>, StoreError> {
    let row = conn
        .query_row(
            "SELECT server_url, server_key, enrolled_at, serial_prefix, serial_next, serial_end, tls_pin, tls_ca
             FROM enrollment WHERE id = 1",
            [],
            |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                    (r.get::<_, String>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?),
                    (r.get::<_, Option<String>>(6)?, r.get::<_, Option<String>>(7)?),
                ))
            },
        )
        .optional()?;
    row.map(|((server_url, server_key, at), (serial_prefix, serial_next, serial_end), (tls_pin, tls_ca))| {
        Ok(EnrollmentRow {
            server_url,
            server_key,
            enrolled_at: at.parse().map_err(corrupt)?,
            serial_prefix,
            serial_next,
            serial_end,
            tls_pin,
            tls_ca,
        })
    })
    .transpose()
}

/// Save (or replace) the enrollment.
pub fn save_enrollment(tx: &Transaction<'_>, e: &EnrollmentRow) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO enrollment
           (id, server_url, server_key, enrolled_at, serial_prefix, serial_next, serial_end, tls_pin, tls_ca)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.server_url,
            e.server_key,
            e.enrolled_at.to_rfc3339(),
            e.serial_prefix,
            e.serial_next,
            e.serial_end,
            e.tls_pin,
            e.tls_ca
        ],
    )?;
    Ok(())
}

/// Take the next 协议书 serial of the device's block (`None` when the block is used up).
pub fn next_serial(tx: &Transaction<'_>) -> Result<Option<String>, StoreError> {
    let Some(e) = enrollment(tx)? else { return Ok(None) };
    if e.serial_next > e.serial_end {
        return Ok(None);
    }
    tx.execute("UPDATE enrollment SET serial_next = serial_next + 1 WHERE id = 1", [])?;
    Ok(Some(format!("{}{:06}", e.serial_prefix, e.serial_next)))
}

/// The device was revoked: drop the key and the enrollment. The records stay (encrypted).
pub fn wipe_keys(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    tx.execute("DELETE FROM meta WHERE key = 'device_key'", [])?;
    tx.execute("DELETE FROM enrollment", [])?;
    reg::set_meta(tx, "revoked_at", &now.to_rfc3339())
}

/// The oldest pending ops in seq order, up to `max_bytes` of payload (always at least one op
/// when any is pending) and at most `max_ops`.
pub fn batch(conn: &Connection, max_bytes: usize, max_ops: usize) -> Result<Vec<Op>, StoreError> {
    let ops = crate::outbox::pending(conn, max_ops)?;
    let mut total = 0usize;
    let mut out = Vec::new();
    for op in ops {
        total += op.payload.len();
        if !out.is_empty() && total > max_bytes {
            break;
        }
        out.push(op);
    }
    Ok(out)
}

/// One op's acknowledged result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// Seq.
    pub seq: i64,
    /// Op id (must match the outbox row).
    pub op_id: String,
    /// `applied`, `duplicate` or `rejected`.
    pub state: String,
    /// The server's result as JSON.
    pub result: String,
}

/// Record an acknowledgement: each op's state and result, the receipt, the high-water mark.
pub fn acknowledge(
    tx: &Transaction<'_>,
    acked: &[Acked],
    batch_id: &str,
    receipt: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached("UPDATE outbox SET state = ?3, result = ?4 WHERE seq = ?1 AND op_id = ?2")?;
    for a in acked {
        if stmt.execute(params![a.seq, a.op_id, a.state, a.result])? != 1 {
            return Err(StoreError::Corrupt(format!(
                "ack for seq {} names op {} the outbox does not hold",
                a.seq, a.op_id
            )));
        }
    }
    let (first, last) = match (acked.first(), acked.last()) {
        (Some(f), Some(l)) => (f.seq, l.seq),
        _ => return Ok(()),
    };
    tx.execute(
        "INSERT OR IGNORE INTO receipts (batch_id, first_seq, last_seq, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![batch_id, first, last, receipt, now.to_rfc3339()],
    )?;
    tx.execute("UPDATE sync_state SET last_acked_seq = max(last_acked_seq, ?1) WHERE id = 1", [last])?;
    Ok(())
}

/// The highest acknowledged seq.
pub fn last_acked(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT last_acked_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?)
}

/// Put every op after `seq` back in the queue (the server holds less than the tablet thought).
pub fn requeue_after(tx: &Transaction<'_>, seq: i64) -> Result<u64, StoreError> {
    let n =
        tx.execute("UPDATE outbox SET state = 'pending', result = NULL WHERE seq > ?1 AND state <> 'pending'", [seq])?;
    tx.execute("UPDATE sync_state SET last_acked_seq = min(last_acked_seq, ?1) WHERE id = 1", [seq])?;
    Ok(n as u64)
}

/// The pull cursor (0 before the first pull).
pub fn pull_cursor(conn: &Connection) -> Result<i64, StoreError> {
    let c: Option<String> = conn.query_row("SELECT pull_cursor FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    c.map_or(Ok(0), |c| c.parse().map_err(corrupt))
}

/// One pulled change.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    /// Its cursor.
    pub cursor: i64,
    /// Kind.
    pub kind: String,
    /// Key.
    pub key: String,
    /// Body.
    pub body: serde_json::Value,
}

/// Apply a page of changes and move the cursor, in the caller's transaction. A request with ops
/// still pending on the tablet keeps its local state (the server's answer to those ops decides).
/// Says whether a new catalog or calendar arrived (the session reloads them).
pub fn apply_pull(
    tx: &Transaction<'_>,
    changes: &[Pulled],
    cursor: i64,
    now: DateTime<Utc>,
) -> Result<Installed, StoreError> {
    let mut installed = Installed::default();
    for c in changes {
        let body = ChangeBody::decode(&c.kind, &c.body)
            .map_err(|e| StoreError::Corrupt(format!("pulled {} {}: {e}", c.kind, c.key)))?;
        let applied = match body {
            Some(ChangeBody::Catalog(catalog)) => {
                reg::install_catalog(tx, &catalog, now)?;
                installed.catalog = true;
                "installed"
            }
            Some(ChangeBody::Calendar(calendar)) => {
                reg::install_calendar(tx, &calendar)?;
                installed.calendar = true;
                "installed"
            }
            Some(ChangeBody::Town(t)) => {
                reg::put_town(tx, &t)?;
                "stored"
            }
            Some(ChangeBody::Village(v)) => {
                reg::put_village(tx, &v)?;
                "stored"
            }
            Some(ChangeBody::Household(h)) => {
                reg::put_household(tx, &h)?;
                "stored"
            }
            Some(ChangeBody::Enterprise(e)) => {
                reg::put_enterprise(tx, &e)?;
                "stored"
            }
            Some(ChangeBody::Assignment(a)) => {
                let kind = match a.kind {
                    AssignmentKind::Village => "village",
                    AssignmentKind::Enterprise => "enterprise",
                };
                if a.until.is_some() {
                    tx.execute(
                        "DELETE FROM assignments WHERE officer = ?1 AND kind = ?2 AND target = ?3",
                        params![a.officer, kind, a.target],
                    )?;
                    "ended"
                } else {
                    tx.execute(
                        "INSERT OR REPLACE INTO assignments (officer, kind, target, since) VALUES (?1, ?2, ?3, ?4)",
                        params![a.officer, kind, a.target, a.since.to_string()],
                    )?;
                    "stored"
                }
            }
            Some(ChangeBody::RequestState(s)) => {
                let pending: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND
                        (entity_id = ?1 OR (kind = 'request_event' AND json_extract(payload, '$.request') = ?1)))",
                    [&s.request],
                    |r| r.get(0),
                )?;
                if pending {
                    "kept_local"
                } else {
                    let state = serde_json::to_value(s.state).map_err(corrupt)?;
                    tx.execute(
                        "UPDATE service_requests SET state = ?2,
                                closed_at = CASE WHEN ?3 THEN coalesce(closed_at, ?4) ELSE closed_at END
                         WHERE id = ?1",
                        params![s.request, state.as_str(), s.state.is_terminal(), now.to_rfc3339()],
                    )?;
                    "stored"
                }
            }
            Some(ChangeBody::PhonedIn(p)) => {
                tx.execute(
                    "INSERT OR IGNORE INTO phoned_in (id, service, household, applicant, note, taken_at, taken_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![p.id, p.service, p.household, p.applicant, p.note, p.taken_at.to_rfc3339(), p.taken_by],
                )?;
                "stored"
            }
            None => "ignored_unknown_kind",
        };
        tx.execute(
            "INSERT OR REPLACE INTO pulled (cursor, kind, key, body, applied) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.cursor, c.kind, c.key, c.body.to_string(), applied],
        )?;
    }
    tx.execute("UPDATE sync_state SET pull_cursor = ?1 WHERE id = 1", [cursor.to_string()])?;
    Ok(installed)
}

/// What a page of pulled changes installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Installed {
    /// A catalog version.
    pub catalog: bool,
    /// A working-day calendar.
    pub calendar: bool,
}

/// Blobs not yet uploaded, oldest first: (sha256, size).
pub fn blobs_to_upload(conn: &Connection) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT sha256, size FROM blobs WHERE uploaded = 0 ORDER BY created_at, sha256")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Mark a blob uploaded.
pub fn blob_uploaded(tx: &Transaction<'_>, sha256: &str) -> Result<(), StoreError> {
    tx.execute("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?1", [sha256])?;
    Ok(())
}

/// Where sync stands, for the UI: one read of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// Enrolled with this server, if any.
    pub server_url: Option<String>,
    /// Revoked (keys wiped).
    pub revoked: bool,
    /// Ops waiting.
    pub pending_ops: u64,
    /// Their bytes.
    pub pending_bytes: u64,
    /// Blobs waiting.
    pub pending_blobs: u64,
    /// Their bytes.
    pub pending_blob_bytes: u64,
    /// Highest acknowledged seq.
    pub last_acked_seq: i64,
    /// Ops the server rejected (kept, with their reasons).
    pub rejected: u64,
    /// Pull cursor.
    pub pull_cursor: i64,
    /// When a sync last completed (pushed, uploaded and pulled everything).
    pub last_success: Option<DateTime<Utc>>,
    /// How far the tablet's clock is off, as far as the tablet can tell (server minus tablet, in
    /// seconds; see [`clock_error`]); `None` when nothing says it is wrong.
    pub clock_error_seconds: Option<i64>,
}

/// Where sync stands, with the tablet's clock showing `now`.
pub fn status(conn: &Connection, now: DateTime<Utc>) -> Result<SyncStatus, StoreError> {
    let p = crate::outbox::pending_stats(conn)?;
    let rejected: i64 = conn.query_row("SELECT count(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0))?;
    let last_success = reg::meta(conn, "last_sync_at")?
        .map(|t| DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)).map_err(corrupt))
        .transpose()?;
    Ok(SyncStatus {
        server_url: enrollment(conn)?.map(|e| e.server_url),
        revoked: reg::meta(conn, "revoked_at")?.is_some(),
        pending_ops: p.ops,
        pending_bytes: p.op_bytes,
        pending_blobs: p.blobs,
        pending_blob_bytes: p.blob_bytes,
        last_acked_seq: last_acked(conn)?,
        rejected: rejected as u64,
        pull_cursor: pull_cursor(conn)?,
        last_success,
        clock_error_seconds: clock_error(conn, now)?,
    })
}

/// The server's clock said `server` when the tablet's said `now` (a sync's last answer): kept,
/// with the clock's error then.
pub fn server_time(tx: &Transaction<'_>, server: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StoreError> {
    reg::set_meta(tx, "clock_offset_seconds", &(server - now).num_seconds().to_string())?;
    reg::set_meta(tx, "server_time_last", &server.to_rfc3339())
}

/// How far the tablet's clock is off (server minus tablet, seconds), as far as the tablet can
/// tell with its clock showing `now`: what the last sync measured, when beyond the tolerance the
/// server allows ([`beibao_core::clock::CLOCK_TOLERANCE`]); else, when the clock shows a time
/// before the server's at that sync (set back, or back at 1970 after a flat battery since), at
/// least that much. `None` when nothing says it is wrong.
pub fn clock_error(conn: &Connection, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
    let tolerance = beibao_core::clock::CLOCK_TOLERANCE;
    let offset = reg::meta(conn, "clock_offset_seconds")?.and_then(|v| v.parse::<i64>().ok());
    if let Some(o) = offset
        && o.abs() > tolerance.num_seconds()
    {
        return Ok(Some(o));
    }
    let seen = reg::meta(conn, "server_time_last")?
        .map(|t| DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)).map_err(corrupt))
        .transpose()?;
    Ok(seen.filter(|seen| now < *seen - tolerance).map(|seen| (seen - now).num_seconds()))
}

/// Record that a sync completed.
pub fn synced(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    reg::set_meta(tx, "last_sync_at", &now.to_rfc3339())
}
