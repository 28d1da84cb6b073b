//! Sync use cases: enroll the tablet, sync now, and a background syncer. All of it runs on the
//! caller's tokio runtime (no runtime is built here, nothing blocks on a future) and on its own
//! connection to the store ([`Syncer`]), so the officer's screens keep reading and writing while a
//! sync runs. A syncer stops when its session locks or is dropped.

use std::sync::Arc;
use std::time::Duration;

use beibao_core::clock::{Clock, IdSource};
use beibao_core::code::Code;
use beibao_store::registry as reg;
use beibao_store::sync::{self as local, Acked, EnrollmentRow, Pulled};
use beibao_store::{Store, StoreError, outbox};
use beibao_sync::trust::Trust;
use beibao_sync::wire::{EnrollResponse, PullResponse, PushResponse, WireOp};
use beibao_sync::{Backlog, DrainReport, Engine, Identity, LocalError, Progress, Settings, SyncError, Tablet};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{FieldError, Problem, Session, SharedCalendar, SharedCatalog};

fn local(e: StoreError) -> LocalError {
    LocalError::new(e.code(), e.to_string())
}

/// The tablet's side of sync on a connection of its own. Made by [`Session::syncer`]; owned, so a
/// sync can run as a task while the session serves the screens.
pub struct Syncer {
    store: Store,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    catalog: SharedCatalog,
    calendar: SharedCalendar,
    officer_id: String,
    device_id: String,
    locked: watch::Receiver<bool>,
    /// A batch cut on its way in an earlier sync, resumed by the next (see
    /// [`beibao_sync::Engine::unfinished`]).
    unfinished: Option<beibao_sync::engine::Unfinished>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer").field("device_id", &self.device_id).finish()
    }
}

impl Tablet for Syncer {
    fn identity(&self) -> Result<Identity, LocalError> {
        let conn = self.store.conn();
        let key = local::device_key(conn).map_err(local)?.map(|seed| beibao_sync::wire::signing_key(&seed));
        let server_key = local::enrollment(conn).map_err(local)?.map(|e| e.server_key);
        Ok(Identity { device_id: self.device_id.clone(), officer_id: self.officer_id.clone(), key, server_key })
    }

    fn save_enrollment(
        &mut self,
        server_url: &str,
        trust: &Trust,
        e: &EnrollResponse,
        now: DateTime<Utc>,
    ) -> Result<(), LocalError> {
        let row = EnrollmentRow {
            server_url: server_url.to_owned(),
            server_key: e.server_key.clone(),
            enrolled_at: now,
            serial_prefix: e.serials.prefix.clone(),
            serial_next: e.serials.start,
            serial_end: e.serials.end,
            tls_pin: trust.pin_sha256.clone(),
            tls_ca: trust.ca_pem.clone(),
        };
        let officer = self.officer_id.clone();
        self.store
            .write(|tx| {
                local::save_enrollment(tx, &row)?;
                beibao_store::records::audit(tx, now, &officer, "enroll", Some(server_url))
            })
            .map_err(local)
    }

    fn batch(&mut self, max_bytes: usize) -> Result<Vec<WireOp>, LocalError> {
        let ops = local::batch(self.store.conn(), max_bytes, beibao_sync::wire::MAX_BATCH_OPS).map_err(local)?;
        ops.iter()
            .map(|o| {
                WireOp::new(o.seq, &o.op_id, &o.kind, &o.sha256, &o.payload)
                    .map_err(|e| LocalError::new(Code::StoreCorrupt, format!("op {}: {e}", o.seq)))
            })
            .collect()
    }

    fn acknowledge(&mut self, ack: &PushResponse, now: DateTime<Utc>) -> Result<(), LocalError> {
        let mut acked = Vec::with_capacity(ack.results.len());
        for r in &ack.results {
            let result =
                serde_json::to_string(r).map_err(|e| LocalError::new(Code::StoreCorrupt, format!("result: {e}")))?;
            acked.push(Acked { seq: r.seq, op_id: r.op_id.clone(), state: r.status.as_str().to_owned(), result });
        }
        let receipt = serde_json::to_string(&ack.receipt)
            .map_err(|e| LocalError::new(Code::StoreCorrupt, format!("receipt: {e}")))?;
        self.store.write(|tx| local::acknowledge(tx, &acked, &ack.batch_id, &receipt, now)).map_err(local)
    }

    fn last_acked(&self) -> Result<i64, LocalError> {
        local::last_acked(self.store.conn()).map_err(local)
    }

    fn requeue_after(&mut self, seq: i64) -> Result<u64, LocalError> {
        self.store.write(|tx| local::requeue_after(tx, seq)).map_err(local)
    }

    fn backlog(&self) -> Result<Backlog, LocalError> {
        let p = outbox::pending_stats(self.store.conn()).map_err(local)?;
        Ok(Backlog { ops: p.ops, op_bytes: p.op_bytes, blobs: p.blobs, blob_bytes: p.blob_bytes })
    }

    fn pull_cursor(&self) -> Result<i64, LocalError> {
        local::pull_cursor(self.store.conn()).map_err(local)
    }

    fn apply_pull(&mut self, page: &PullResponse, now: DateTime<Utc>) -> Result<(), LocalError> {
        let changes: Vec<Pulled> = page
            .changes
            .iter()
            .map(|c| Pulled { cursor: c.cursor, kind: c.kind.clone(), key: c.key.clone(), body: c.body.clone() })
            .collect();
        let installed = self.store.write(|tx| local::apply_pull(tx, &changes, page.cursor, now)).map_err(local)?;
        if installed.catalog
            && let Some(c) = reg::catalog(self.store.conn()).map_err(local)?
        {
            *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(c);
        }
        if installed.calendar
            && let Some((c, _)) = reg::calendar(self.store.conn()).map_err(local)?
        {
            *self.calendar.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(c);
        }
        Ok(())
    }

    fn server_time(&mut self, server: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), LocalError> {
        self.store.write(|tx| local::server_time(tx, server, now)).map_err(local)
    }

    fn blobs_to_upload(&self) -> Result<Vec<(String, u64)>, LocalError> {
        local::blobs_to_upload(self.store.conn()).map_err(local)
    }

    fn blob(&self, sha256: &str) -> Result<Vec<u8>, LocalError> {
        beibao_store::records::blob(self.store.conn(), sha256)
            .map_err(local)?
            .ok_or_else(|| LocalError::new(Code::NotFound, format!("blob {sha256} is not on the tablet")))
    }

    fn blob_uploaded(&mut self, sha256: &str) -> Result<(), LocalError> {
        self.store.write(|tx| local::blob_uploaded(tx, sha256)).map_err(local)
    }

    fn wipe_keys(&mut self) -> Result<(), LocalError> {
        let now = self.clock.now();
        let officer = self.officer_id.clone();
        self.store
            .write(|tx| {
                local::wipe_keys(tx, now)?;
                beibao_store::records::audit(tx, now, &officer, "revoked_wipe", None)
            })
            .map_err(local)
    }
}

/// What a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

impl Session {
    /// The tablet's side of sync on a connection of its own, for a sync that runs beside the
    /// screens. It stops when this session locks or is dropped.
    pub fn syncer(&self) -> Result<Syncer, FieldError> {
        Ok(Syncer {
            store: self.store.reopen()?,
            clock: self.clock.clone(),
            ids: self.ids.clone(),
            catalog: self.catalog.clone(),
            calendar: self.calendar.clone(),
            officer_id: self.officer_id.clone(),
            device_id: self.device_id.clone(),
            locked: self.locked.subscribe(),
            unfinished: None,
        })
    }

    /// Where sync stands.
    pub fn sync_status(&self) -> Result<local::SyncStatus, FieldError> {
        Ok(local::status(self.store.conn(), self.clock.now())?)
    }
}

impl Syncer {
    fn engine(&self, server_url: &str, trust: &Trust, settings: Settings) -> Result<Engine, FieldError> {
        // The jitter's seed comes from the injected ids, so a test's backoff is reproducible.
        let seed = self.ids.next_id().as_u128() as u64;
        Ok(Engine::with_trust(server_url, trust, settings, seed, self.clock.clone(), self.ids.clone())?)
    }

    /// Run `work` unless the session locks first; a lock (or the session dropped) ends it with
    /// [`FieldError::Locked`], its local transactions committed or rolled back whole.
    async fn until_locked<T>(
        locked: &mut watch::Receiver<bool>,
        work: impl Future<Output = Result<T, FieldError>>,
    ) -> Result<T, FieldError> {
        tokio::select! {
            biased;
            _ = locked.wait_for(|l| *l) => Err(FieldError::Locked),
            r = work => r,
        }
    }

    /// Enroll this tablet with a server using a one-time code; an https server is trusted by
    /// `trust` from then on (kept with the enrollment).
    pub async fn enroll(&mut self, server_url: &str, code: &str, trust: &Trust) -> Result<EnrollmentRow, FieldError> {
        let mut engine = self.engine(server_url, trust, Settings::default())?;
        let mut locked = self.locked.clone();
        Syncer::until_locked(&mut locked, async {
            engine.enroll(self, code).await?;
            Ok(())
        })
        .await?;
        local::enrollment(self.store.conn())?.ok_or_else(|| StoreError::Corrupt("enrollment not saved".into()).into())
    }

    /// Sync now with the enrolled server: push, upload blobs, pull; retry with backoff up to
    /// `max_failures` failed passes.
    pub async fn sync_now(
        &mut self,
        settings: Settings,
        max_failures: u64,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SyncSummary, FieldError> {
        let enrolled = local::enrollment(self.store.conn())?.ok_or(SyncError::NotEnrolled)?;
        let trust = Trust { pin_sha256: enrolled.tls_pin, ca_pem: enrolled.tls_ca };
        let mut engine = self.engine(&enrolled.server_url, &trust, settings)?;
        engine.resume(self.unfinished.take());
        let mut locked = self.locked.clone();
        let report =
            Syncer::until_locked(&mut locked, async { Ok(engine.drain(self, progress, max_failures).await?) }).await;
        self.unfinished = engine.unfinished();
        let report = report?;
        let now = self.clock.now();
        self.store.write(|tx| local::synced(tx, now))?;
        Ok(report.into())
    }
}

/// Events from the background syncer, as the UI receives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    /// Progress of a pass: its phase and what is left.
    Progress {
        /// Where the pass stands.
        progress: Progress,
    },
    /// A sync finished.
    Done {
        /// What it did.
        summary: SyncSummary,
    },
    /// A sync failed; the syncer waits for the next trigger or interval.
    Failed {
        /// Stable code.
        code: Code,
        /// Message.
        message: String,
    },
    /// The syncer stopped (asked to, or the tablet locked).
    Stopped,
}

enum Command {
    SyncNow(Option<oneshot::Sender<PassResult>>),
    Stop,
}

/// A background syncer: a task on the caller's runtime that syncs when triggered and every
/// `interval`, reports each step through the event callback, and stops when asked or when the
/// session locks. Each pass is bounded by the engine's watchdog; a failed sync never ends it.
#[derive(Debug)]
pub struct Background {
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

/// What a sync pass asked for through [`SyncHandle::sync_now`] answers: the summary, or the
/// failure as the UI receives it (the same code as the `failed` event).
pub type PassResult = Result<SyncSummary, Problem>;

fn stopped() -> Problem {
    Problem::from(&FieldError::Locked)
}

/// A handle on a running [`Background`] syncer, cheap to clone: ask for a pass without holding
/// whatever owns the syncer.
#[derive(Debug, Clone)]
pub struct SyncHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl SyncHandle {
    /// Ask for a sync now (e.g. the link came back); the answer comes as events.
    pub fn trigger(&self) {
        let _ = self.commands.send(Command::SyncNow(None));
    }

    /// Ask for a sync now and wait for its result (one pass answers every ask made before it
    /// started, so a tap while a pass runs waits for the next one). `locked` when the syncer
    /// stopped first.
    pub async fn sync_now(&self) -> PassResult {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::SyncNow(Some(tx))).is_err() {
            return Err(stopped());
        }
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }
}

impl Background {
    /// Start syncing in the background on `runtime`.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        mut syncer: Syncer,
        settings: Settings,
        interval: Duration,
        max_failures: u64,
        events: impl Fn(SyncEvent) + Send + Sync + 'static,
    ) -> Background {
        let (commands, mut rx) = mpsc::unbounded_channel();
        let events = Arc::new(events);
        let task = runtime.spawn(async move {
            let mut locked = syncer.locked.clone();
            'passes: loop {
                let mut waiting = Vec::new();
                tokio::select! {
                    biased;
                    _ = locked.wait_for(|l| *l) => break,
                    cmd = rx.recv() => match cmd {
                        None | Some(Command::Stop) => break,
                        Some(Command::SyncNow(reply)) => waiting.extend(reply),
                    },
                    _ = tokio::time::sleep(interval) => {}
                }
                // Every ask already queued is answered by this one pass.
                while let Ok(cmd) = rx.try_recv() {
                    match cmd {
                        Command::SyncNow(reply) => waiting.extend(reply),
                        Command::Stop => break 'passes,
                    }
                }
                let progress_events = events.clone();
                let mut progress = move |p: Progress| progress_events(SyncEvent::Progress { progress: p });
                let result = syncer.sync_now(settings, max_failures, &mut progress).await;
                // The event first, then the answers: a screen that asked sees the pass's event
                // before its answer.
                let answer: PassResult = result.as_ref().map(|s| *s).map_err(Problem::from);
                match &result {
                    Ok(summary) => events(SyncEvent::Done { summary: *summary }),
                    Err(FieldError::Locked) => {}
                    Err(e) => events(SyncEvent::Failed { code: e.code(), message: e.to_string() }),
                }
                for w in waiting {
                    let _ = w.send(answer.clone());
                }
                if matches!(result, Err(FieldError::Locked)) {
                    break;
                }
            }
            events(SyncEvent::Stopped);
        });
        Background { commands, task }
    }

    /// A handle to ask for passes.
    pub fn handle(&self) -> SyncHandle {
        SyncHandle { commands: self.commands.clone() }
    }

    /// Ask for a sync now (e.g. the link came back); the answer comes as events.
    pub fn trigger(&self) {
        self.handle().trigger();
    }

    /// Ask for a sync now and wait for its result (see [`SyncHandle::sync_now`]).
    pub async fn sync_now(&self) -> PassResult {
        self.handle().sync_now().await
    }

    /// Stop after the current step and wait for the task to end.
    pub async fn stop(self) {
        let _ = self.commands.send(Command::Stop);
        let _ = self.task.await;
    }
}
