//! Sync use cases: enroll the tablet, sync now, and a background mode that syncs when asked or on
//! an interval. The tablet side of the engine ([`beibao_sync::Tablet`]) is implemented here over
//! the encrypted store, each step one local transaction.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use beibao_store::StoreError;
use beibao_store::outbox;
use beibao_store::registry as reg;
use beibao_store::sync::{self as local, Acked, EnrollmentRow, Pulled};
use beibao_sync::wire::{EnrollResponse, PullResponse, PushResponse, WireOp};
use beibao_sync::{Backlog, DrainReport, Engine, Identity, Progress, Settings, SyncError, Tablet};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{FieldError, Session};

fn s(e: StoreError) -> String {
    e.to_string()
}

impl Tablet for Session {
    fn identity(&self) -> Result<Identity, String> {
        let conn = self.store.conn();
        let key = local::device_key(conn).map_err(s)?.map(|seed| beibao_sync::wire::signing_key(&seed));
        let server_key = local::enrollment(conn).map_err(s)?.map(|e| e.server_key);
        Ok(Identity { device_id: self.device_id.clone(), officer_id: self.officer_id.clone(), key, server_key })
    }

    fn save_enrollment(&mut self, server_url: &str, e: &EnrollResponse, now: DateTime<Utc>) -> Result<(), String> {
        let row = EnrollmentRow {
            server_url: server_url.to_owned(),
            server_key: e.server_key.clone(),
            enrolled_at: now,
            serial_prefix: e.serials.prefix.clone(),
            serial_next: e.serials.start,
            serial_end: e.serials.end,
        };
        let officer = self.officer_id.clone();
        self.store
            .write(|tx| {
                local::save_enrollment(tx, &row)?;
                beibao_store::records::audit(tx, now, &officer, "enroll", Some(server_url))
            })
            .map_err(s)
    }

    fn batch(&mut self, max_bytes: usize) -> Result<Vec<WireOp>, String> {
        let ops = local::batch(self.store.conn(), max_bytes, beibao_sync::wire::MAX_BATCH_OPS).map_err(s)?;
        ops.iter()
            .map(|o| WireOp::new(o.seq, &o.op_id, &o.kind, &o.sha256, &o.payload).map_err(|e| e.to_string()))
            .collect()
    }

    fn acknowledge(&mut self, ack: &PushResponse, now: DateTime<Utc>) -> Result<(), String> {
        let acked: Vec<Acked> = ack
            .results
            .iter()
            .map(|r| Acked {
                seq: r.seq,
                op_id: r.op_id.clone(),
                state: r.status.as_str().to_owned(),
                result: serde_json::to_string(r).unwrap_or_default(),
            })
            .collect();
        let receipt = serde_json::to_string(&ack.receipt).map_err(|e| e.to_string())?;
        self.store.write(|tx| local::acknowledge(tx, &acked, &ack.batch_id, &receipt, now)).map_err(s)
    }

    fn last_acked(&self) -> Result<i64, String> {
        local::last_acked(self.store.conn()).map_err(s)
    }

    fn requeue_after(&mut self, seq: i64) -> Result<u64, String> {
        self.store.write(|tx| local::requeue_after(tx, seq)).map_err(s)
    }

    fn backlog(&self) -> Result<Backlog, String> {
        let p = outbox::pending_stats(self.store.conn()).map_err(s)?;
        Ok(Backlog { ops: p.ops, op_bytes: p.op_bytes, blobs: p.blobs, blob_bytes: p.blob_bytes })
    }

    fn pull_cursor(&self) -> Result<i64, String> {
        local::pull_cursor(self.store.conn()).map_err(s)
    }

    fn apply_pull(&mut self, page: &PullResponse, now: DateTime<Utc>) -> Result<(), String> {
        let changes: Vec<Pulled> = page
            .changes
            .iter()
            .map(|c| Pulled { cursor: c.cursor, kind: c.kind.clone(), key: c.key.clone(), body: c.body.clone() })
            .collect();
        let new_catalog = self.store.write(|tx| local::apply_pull(tx, &changes, page.cursor, now)).map_err(s)?;
        if new_catalog && let Some(c) = reg::catalog(self.store.conn()).map_err(s)? {
            self.catalog = c;
        }
        Ok(())
    }

    fn blobs_to_upload(&self) -> Result<Vec<(String, u64)>, String> {
        local::blobs_to_upload(self.store.conn()).map_err(s)
    }

    fn blob(&self, sha256: &str) -> Result<Vec<u8>, String> {
        beibao_store::records::blob(self.store.conn(), sha256)
            .map_err(s)?
            .ok_or_else(|| format!("blob {sha256} is not on the tablet"))
    }

    fn blob_uploaded(&mut self, sha256: &str) -> Result<(), String> {
        self.store.write(|tx| local::blob_uploaded(tx, sha256)).map_err(s)
    }

    fn wipe_keys(&mut self) -> Result<(), String> {
        let now = self.clock.now();
        let officer = self.officer_id.clone();
        self.store
            .write(|tx| {
                local::wipe_keys(tx, now)?;
                beibao_store::records::audit(tx, now, &officer, "revoked_wipe", None)
            })
            .map_err(s)
    }
}

/// Where sync stands, for the UI.
#[derive(Debug, Clone, Serialize)]
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
    /// Highest acknowledged seq.
    pub last_acked_seq: i64,
    /// Ops the server rejected (kept, with their reasons).
    pub rejected: u64,
    /// Pull cursor.
    pub pull_cursor: i64,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Ops applied on the server.
    pub applied: u64,
    /// Ops the server had already.
    pub duplicates: u64,
    /// Ops rejected (see `sync_status`).
    pub rejected: u64,
    /// Blobs uploaded.
    pub blobs: u64,
    /// Changes pulled.
    pub pulled: u64,
    /// Failed passes retried.
    pub retries: u64,
}

impl From<DrainReport> for SyncSummary {
    fn from(r: DrainReport) -> SyncSummary {
        SyncSummary {
            applied: r.total.applied,
            duplicates: r.total.duplicates,
            rejected: r.total.rejected,
            blobs: r.total.blobs,
            pulled: r.total.pulled,
            retries: r.failures,
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, FieldError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FieldError::Sync(SyncError::Local(format!("runtime: {e}"))))
}

fn system_now() -> DateTime<Utc> {
    Utc::now()
}

impl Session {
    /// Enroll this tablet with a server using a one-time code.
    pub fn enroll(&mut self, server_url: &str, code: &str) -> Result<EnrollmentRow, FieldError> {
        let rt = runtime()?;
        let mut engine = Engine::new(server_url, Settings::default(), 1, system_now)?;
        rt.block_on(engine.enroll(self, code))?;
        local::enrollment(self.store.conn())?.ok_or_else(|| StoreError::Corrupt("enrollment not saved".into()).into())
    }

    /// Sync now with the enrolled server: push, upload blobs, pull; retry with backoff up to
    /// `max_failures` failed passes.
    pub fn sync_now(
        &mut self,
        settings: Settings,
        max_failures: u64,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SyncSummary, FieldError> {
        let server = local::enrollment(self.store.conn())?.ok_or(SyncError::NotEnrolled)?.server_url;
        let rt = runtime()?;
        let seed = self.ids.next_id().as_u128() as u64;
        let mut engine = Engine::new(&server, settings, seed, system_now)?;
        Ok(rt.block_on(engine.drain(self, progress, max_failures))?.into())
    }

    /// Where sync stands.
    pub fn sync_status(&self) -> Result<SyncStatus, FieldError> {
        let conn = self.store.conn();
        let p = outbox::pending_stats(conn)?;
        let rejected: i64 = conn
            .query_row("SELECT count(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0))
            .map_err(StoreError::from)?;
        Ok(SyncStatus {
            server_url: local::enrollment(conn)?.map(|e| e.server_url),
            revoked: reg::meta(conn, "revoked_at")?.is_some(),
            pending_ops: p.ops,
            pending_bytes: p.op_bytes,
            pending_blobs: p.blobs,
            last_acked_seq: local::last_acked(conn)?,
            rejected: rejected as u64,
            pull_cursor: local::pull_cursor(conn)?,
        })
    }
}

/// Events from the background syncer.
#[derive(Debug, Clone)]
pub enum SyncEvent {
    /// Progress of a pass.
    Progress(Progress),
    /// A drain finished.
    Done(SyncSummary),
    /// A drain failed; the syncer waits for the next trigger or interval.
    Failed {
        /// Stable code.
        code: String,
        /// Message.
        message: String,
    },
}

enum Command {
    SyncNow,
    Stop,
}

/// A background syncer: owns the session on its own thread, syncs when triggered and every
/// `interval`, reports progress; each pass is bounded by the engine's watchdog, and a failed
/// drain never ends the loop.
#[derive(Debug)]
pub struct Background {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<SyncEvent>,
    thread: Option<JoinHandle<Session>>,
}

impl Background {
    /// Start syncing `session` in the background.
    pub fn start(mut session: Session, settings: Settings, interval: Duration, max_failures: u64) -> Background {
        let (commands, rx) = mpsc::channel();
        let (tx, events) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            loop {
                match rx.recv_timeout(interval) {
                    Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return session,
                    Ok(Command::SyncNow) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
                let progress_tx = tx.clone();
                let mut progress = move |p: Progress| {
                    let _ = progress_tx.send(SyncEvent::Progress(p));
                };
                let event = match session.sync_now(settings, max_failures, &mut progress) {
                    Ok(summary) => SyncEvent::Done(summary),
                    Err(e) => SyncEvent::Failed { code: e.code().to_owned(), message: e.to_string() },
                };
                if tx.send(event).is_err() {
                    return session;
                }
            }
        });
        Background { commands, events, thread: Some(thread) }
    }

    /// Ask for a sync now (e.g. the link came back).
    pub fn trigger(&self) {
        let _ = self.commands.send(Command::SyncNow);
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<SyncEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Stop and take the session back.
    pub fn stop(mut self) -> Option<Session> {
        let _ = self.commands.send(Command::Stop);
        self.thread.take().and_then(|t| t.join().ok())
    }
}
