//! The client engine: one pass = authenticate, ask the server's `last_seq`, push the outbox in
//! batches sized in bytes, upload blobs on their own queue, pull changes. [`Engine::drain`] repeats
//! passes with backoff and jitter until the queue is empty; a watchdog bounds each pass.

use std::time::Duration;

use std::sync::Arc;

use beibao_core::clock::{Clock, IdSource};
use beibao_core::code::Code;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;

use crate::client::{Client, LocalError, SyncError};
use crate::trust::Trust;
use crate::wire::{EnrollResponse, PullResponse, PushRequest, PushRequestV2, PushResponse, PushResponseV2, WireOp};

/// Who the tablet is, as far as sync is concerned.
#[derive(Clone)]
pub struct Identity {
    /// Device id.
    pub device_id: String,
    /// Officer id.
    pub officer_id: String,
    /// The device's Ed25519 key (absent once wiped).
    pub key: Option<SigningKey>,
    /// The server's public key, once enrolled.
    pub server_key: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("device_id", &self.device_id)
            .field("officer_id", &self.officer_id)
            .field("enrolled", &self.server_key.is_some())
            .finish()
    }
}

/// What waits on the tablet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Backlog {
    /// Ops waiting.
    pub ops: u64,
    /// Their bytes.
    pub op_bytes: u64,
    /// Blobs waiting.
    pub blobs: u64,
    /// Their bytes.
    pub blob_bytes: u64,
}

/// The tablet side of sync: its outbox, blobs, pull cursor and keys. Implemented over the
/// encrypted store by beibao-field; every method is one local transaction.
pub trait Tablet: Send {
    /// Who the tablet is.
    fn identity(&self) -> Result<Identity, LocalError>;
    /// Save the server's answer to an enrollment, with how the server is trusted over https.
    fn save_enrollment(
        &mut self,
        server_url: &str,
        trust: &Trust,
        e: &EnrollResponse,
        now: DateTime<Utc>,
    ) -> Result<(), LocalError>;
    /// The oldest pending ops, in seq order, up to `max_bytes` of payload (at least one op).
    fn batch(&mut self, max_bytes: usize) -> Result<Vec<WireOp>, LocalError>;
    /// Record an acknowledged push (results and receipt) in one transaction.
    fn acknowledge(&mut self, ack: &PushResponse, now: DateTime<Utc>) -> Result<(), LocalError>;
    /// The highest seq the tablet holds as acknowledged.
    fn last_acked(&self) -> Result<i64, LocalError>;
    /// The server holds less than the tablet thought (restored from a backup): put every op after
    /// `seq` back in the queue. Returns how many.
    fn requeue_after(&mut self, seq: i64) -> Result<u64, LocalError>;
    /// What waits.
    fn backlog(&self) -> Result<Backlog, LocalError>;
    /// The pull cursor.
    fn pull_cursor(&self) -> Result<i64, LocalError>;
    /// Apply a page and move the cursor, in one transaction.
    fn apply_pull(&mut self, page: &PullResponse, now: DateTime<Utc>) -> Result<(), LocalError>;
    /// Blobs not yet uploaded: (sha256, size).
    fn blobs_to_upload(&self) -> Result<Vec<(String, u64)>, LocalError>;
    /// A blob's bytes.
    fn blob(&self, sha256: &str) -> Result<Vec<u8>, LocalError>;
    /// Mark a blob uploaded.
    fn blob_uploaded(&mut self, sha256: &str) -> Result<(), LocalError>;
    /// The device was revoked: wipe the key material and the enrollment.
    fn wipe_keys(&mut self) -> Result<(), LocalError>;
    /// The server's clock said `server` when the tablet's said `now` (after a pass's pull).
    fn server_time(&mut self, server: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), LocalError> {
        let _ = (server, now);
        Ok(())
    }
}

/// Where the engine stands, reported as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    /// The step.
    pub phase: Phase,
    /// What waits.
    pub left: Backlog,
}

/// Steps of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Obtaining a token.
    Authenticating,
    /// Pushing records.
    Pushing,
    /// Uploading blobs.
    Blobs,
    /// Pulling changes.
    Pulling,
    /// Waiting before a retry.
    Backoff,
    /// Nothing left.
    Done,
}

/// Tuning of the engine.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Starting batch size (payload bytes).
    pub batch_bytes: usize,
    /// Smallest batch after failures.
    pub min_batch_bytes: usize,
    /// Largest batch after successes.
    pub max_batch_bytes: usize,
    /// First backoff pause.
    pub backoff_base: Duration,
    /// Longest backoff pause.
    pub backoff_max: Duration,
    /// A single request gives up after this.
    pub request_timeout: Duration,
    /// A whole pass gives up after this (the watchdog).
    pub pass_timeout: Duration,
    /// Changes per pull page.
    pub pull_page: usize,
    /// Bytes per blob chunk.
    pub blob_chunk: usize,
    /// Push with protocol v2 when the server announces it (otherwise, and when false, v1).
    pub protocol_v2: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            batch_bytes: 64 * 1024,
            min_batch_bytes: 2 * 1024,
            max_batch_bytes: 1024 * 1024,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            pass_timeout: Duration::from_secs(300),
            pull_page: 500,
            blob_chunk: 64 * 1024,
            protocol_v2: true,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Ops acknowledged as applied.
    pub applied: u64,
    /// Ops acknowledged as duplicates.
    pub duplicates: u64,
    /// Ops rejected (recorded; they do not block the queue).
    pub rejected: u64,
    /// Push requests made.
    pub pushes: u64,
    /// Blobs completed.
    pub blobs: u64,
    /// Changes pulled.
    pub pulled: u64,
    /// Ops requeued because the server was behind.
    pub requeued: u64,
}

impl PassReport {
    fn add(&mut self, o: PassReport) {
        self.applied += o.applied;
        self.duplicates += o.duplicates;
        self.rejected += o.rejected;
        self.pushes += o.pushes;
        self.blobs += o.blobs;
        self.pulled += o.pulled;
        self.requeued += o.requeued;
    }
}

/// What [`Engine::drain`] did over all its passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Sum of the passes.
    pub total: PassReport,
    /// Passes that failed and were retried.
    pub failures: u64,
}

/// A v2 batch whose body was cut on its way: sent again from what the server kept.
#[derive(Clone)]
pub struct Unfinished {
    batch: PushRequest,
    body: Vec<u8>,
    sha256: String,
}

impl std::fmt::Debug for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unfinished").field("batch", &self.batch.batch_id).field("bytes", &self.body.len()).finish()
    }
}

/// A cut batch is resumed only this soon after it was first sent: its `sent_at` is how the server
/// reads the tablet's clock, and must stay near the time it arrives.
const RESUME_WITHIN: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The sync engine of one tablet against one server.
pub struct Engine {
    client: Client,
    cut: Option<Unfinished>,
    trust: Trust,
    settings: Settings,
    batch_bytes: usize,
    rng: u64,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("server", &self.client.base()).field("batch_bytes", &self.batch_bytes).finish()
    }
}

fn local(e: LocalError) -> SyncError {
    SyncError::Local(e)
}

impl Engine {
    /// An engine; `seed` drives the backoff jitter, `clock` stamps local records, `ids` names
    /// batches (inject all three for deterministic tests).
    pub fn new(
        base_url: &str,
        settings: Settings,
        seed: u64,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> Result<Engine, SyncError> {
        Engine::with_trust(base_url, &Trust::default(), settings, seed, clock, ids)
    }

    /// [`Engine::new`] for a server trusted over https by `trust` (see [`crate::trust`]).
    pub fn with_trust(
        base_url: &str,
        trust: &Trust,
        settings: Settings,
        seed: u64,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> Result<Engine, SyncError> {
        Ok(Engine {
            client: Client::with_trust(base_url, settings.request_timeout, trust)?,
            cut: None,
            trust: trust.clone(),
            batch_bytes: settings.batch_bytes,
            settings,
            rng: seed | 1,
            clock,
            ids,
        })
    }

    /// The current batch size in bytes (shrinks after failures, grows after successes).
    pub fn batch_bytes(&self) -> usize {
        self.batch_bytes
    }

    /// The batch a cut left unfinished, if any: a later engine of the same tablet resumes it
    /// ([`Engine::resume`]) rather than send it again from its first byte.
    pub fn unfinished(&mut self) -> Option<Unfinished> {
        self.cut.take()
    }

    /// Resume a batch an earlier engine left unfinished (it is sent first, from what the server
    /// holds, if it is still the next to send and was cut minutes ago at most).
    pub fn resume(&mut self, unfinished: Option<Unfinished>) {
        self.cut = unfinished;
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Enroll the tablet with a one-time code.
    pub async fn enroll(&mut self, tablet: &mut dyn Tablet, code: &str) -> Result<EnrollResponse, SyncError> {
        let id = tablet.identity().map_err(local)?;
        let key = id.key.ok_or(SyncError::Revoked)?;
        let req = crate::wire::EnrollRequest {
            code: code.to_owned(),
            device_id: id.device_id,
            officer_id: id.officer_id,
            public_key: crate::wire::public_hex(&key),
        };
        let resp = self.client.enroll(&req).await?;
        if resp.device_id != req.device_id || resp.officer_id != req.officer_id {
            return Err(SyncError::NotOurServer("enrollment answer names another device".into()));
        }
        tablet.save_enrollment(self.client.base(), &self.trust, &resp, self.clock.now()).map_err(local)?;
        Ok(resp)
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*: enough for jitter, seeded by the caller.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The pause before retry number `failures` (1-based): exponential, capped, with full jitter
    /// in its upper half.
    pub fn backoff(&mut self, failures: u32) -> Duration {
        let exp = self.settings.backoff_base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        let cap = exp.min(self.settings.backoff_max);
        let frac = (self.next_rand() % 1000) as u32;
        cap / 2 + cap / 2 * frac / 1000
    }

    fn shrink(&mut self) {
        self.batch_bytes = (self.batch_bytes / 2).max(self.settings.min_batch_bytes);
    }

    fn grow(&mut self) {
        self.batch_bytes = (self.batch_bytes * 2).min(self.settings.max_batch_bytes);
    }

    /// One pass: push everything, upload blobs, pull. Stops at the first failure.
    pub async fn pass(
        &mut self,
        tablet: &mut dyn Tablet,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PassReport, SyncError> {
        let id = tablet.identity().map_err(local)?;
        let server_key = id.server_key.clone().ok_or(SyncError::NotEnrolled)?;
        let key = id.key.clone().ok_or(SyncError::Revoked)?;
        let mut report = PassReport::default();
        let mut report_progress = |tablet: &dyn Tablet, phase| {
            if let Ok(left) = tablet.backlog() {
                progress(Progress { phase, left });
            }
        };
        report_progress(tablet, Phase::Authenticating);
        if !self.client.has_token() {
            self.auth(tablet, &id.device_id, &key).await?;
        }
        // A reconnect asks the server's high-water mark first.
        let (last, v2) = match self.client.last_seq_negotiated().await {
            Err(SyncError::Server { status: 401, body }) => {
                self.on_unauthorized(tablet, body.code)?;
                self.auth(tablet, &id.device_id, &key).await?;
                self.client.last_seq_negotiated().await?
            }
            other => other?,
        };
        let v2 = v2 && self.settings.protocol_v2;
        if last.device_id != id.device_id {
            return Err(SyncError::NotOurServer("last-seq answer names another device".into()));
        }
        if last.last_seq < tablet.last_acked().map_err(local)? {
            report.requeued += tablet.requeue_after(last.last_seq).map_err(local)?;
        }
        loop {
            report_progress(tablet, Phase::Pushing);
            let ops = tablet.batch(self.batch_bytes).map_err(local)?;
            if ops.is_empty() {
                break;
            }
            // A v2 batch cut on its way (the link dropped) goes first, from what the server kept,
            // when it was first sent a few minutes ago at most.
            let now = self.clock.now();
            let resumed = self.cut.take().filter(|c| {
                v2 && c.batch.device_id == id.device_id
                    && c.batch.ops.first().map(|o| o.seq) == ops.first().map(|o| o.seq)
                    && c.batch.sent_at.is_some_and(|at| now - at < RESUME_WITHIN)
            });
            let (batch, kept) = match resumed {
                Some(c) => (c.batch, Some((c.body, c.sha256))),
                None => (
                    PushRequest {
                        device_id: id.device_id.clone(),
                        batch_id: self.ids.next_id().to_string(),
                        ops,
                        sent_at: Some(now),
                    },
                    None,
                ),
            };
            report.pushes += 1;
            let answer = if v2 {
                let resuming = kept.is_some();
                let (body, sha256) = kept.unwrap_or_else(|| {
                    let body = crate::wire::encode(&PushRequestV2::new(
                        &batch.device_id,
                        &batch.batch_id,
                        &batch.ops,
                        batch.sent_at,
                    ));
                    let sha = beibao_core::canonical::sha256_hex(&body);
                    (body, sha)
                });
                let sent = self.send_v2(&body, &sha256, resuming).await;
                if matches!(sent, Err(SyncError::Transport(_))) {
                    self.cut = Some(Unfinished { batch: batch.clone(), body, sha256 });
                }
                sent.map(Answer::V2)
            } else {
                self.client.push(&batch).await.map(Answer::V1)
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(SyncError::Server { status: 409, body }) if body.code == Code::SeqGap => {
                    let expect = body.expect_seq.unwrap_or(1);
                    report.requeued += tablet.requeue_after(expect - 1).map_err(local)?;
                    continue;
                }
                Err(SyncError::Server { status: 413, .. }) if batch.ops.len() > 1 => {
                    self.shrink();
                    continue;
                }
                Err(SyncError::Server { status: 401, body }) => {
                    self.on_unauthorized(tablet, body.code)?;
                    self.auth(tablet, &id.device_id, &key).await?;
                    continue;
                }
                Err(e) => {
                    self.shrink();
                    return Err(e);
                }
            };
            let ack = match answer {
                Answer::V1(ack) => {
                    check_ack(&batch, &ack, &server_key)?;
                    ack
                }
                Answer::V2(ack) => check_ack_v2(&batch, &ack, &server_key)?,
            };
            tablet.acknowledge(&ack, self.clock.now()).map_err(local)?;
            for r in &ack.results {
                match r.status {
                    crate::wire::OpStatus::Applied => report.applied += 1,
                    crate::wire::OpStatus::Duplicate => report.duplicates += 1,
                    crate::wire::OpStatus::Rejected => report.rejected += 1,
                }
            }
            self.grow();
        }
        report_progress(tablet, Phase::Blobs);
        for (sha, size) in tablet.blobs_to_upload().map_err(local)? {
            self.upload_blob(tablet, &sha, size).await?;
            report.blobs += 1;
            report_progress(tablet, Phase::Blobs);
        }
        report_progress(tablet, Phase::Pulling);
        loop {
            let cursor = tablet.pull_cursor().map_err(local)?;
            let page = self.client.pull(cursor, self.settings.pull_page).await?;
            if page.device_id != id.device_id {
                return Err(SyncError::NotOurServer("pull answer names another device".into()));
            }
            if page.changes.iter().any(|c| c.cursor <= cursor) || page.cursor < cursor {
                return Err(SyncError::NotOurServer("pull page goes backwards".into()));
            }
            report.pulled += page.changes.len() as u64;
            tablet.apply_pull(&page, self.clock.now()).map_err(local)?;
            if !page.more {
                break;
            }
        }
        if let Some(server) = self.client.server_date() {
            tablet.server_time(server, self.clock.now()).map_err(local)?;
        }
        report_progress(tablet, Phase::Done);
        Ok(report)
    }

    /// Send a v2 body: whole, or — resuming a cut one — from the offset the server holds.
    async fn send_v2(&self, body: &[u8], sha256: &str, resuming: bool) -> Result<PushResponseV2, SyncError> {
        if resuming {
            let held = self.client.blob_status(sha256).await?.offset;
            if held > 0 && held < body.len() as u64 {
                match self.client.push_v2_rest(sha256, body.len() as u64, held, &body[held as usize..]).await {
                    // The server holds another offset than it said a moment ago (another
                    // attempt got in between): the whole body again.
                    Err(SyncError::Server { status: 409, body: e }) if e.code == Code::BlobOffset => {}
                    other => return other,
                }
            }
        }
        self.client.push_v2_body(body.to_vec(), sha256).await
    }

    async fn auth(&mut self, tablet: &mut dyn Tablet, device_id: &str, key: &SigningKey) -> Result<(), SyncError> {
        match self.client.authenticate(device_id, key).await {
            Err(SyncError::Server { status: 401, body }) => {
                self.on_unauthorized(tablet, body.code)?;
                Err(SyncError::Server { status: 401, body })
            }
            other => other,
        }
    }

    fn on_unauthorized(&mut self, tablet: &mut dyn Tablet, code: Code) -> Result<(), SyncError> {
        self.client.drop_token();
        if code == Code::Revoked {
            tablet.wipe_keys().map_err(local)?;
            return Err(SyncError::Revoked);
        }
        Ok(())
    }

    async fn upload_blob(&mut self, tablet: &mut dyn Tablet, sha: &str, size: u64) -> Result<(), SyncError> {
        let mut status = self.client.blob_status(sha).await?;
        let bytes = tablet.blob(sha).map_err(local)?;
        while !status.complete {
            let from = status.offset.min(bytes.len() as u64) as usize;
            let to = (from + self.settings.blob_chunk).min(bytes.len());
            status = match self.client.blob_chunk(sha, size, from as u64, &bytes[from..to]).await {
                Ok(s) => s,
                Err(SyncError::Server { status: 409, body }) if body.code == Code::BlobOffset => {
                    crate::wire::BlobStatus {
                        sha256: sha.to_owned(),
                        offset: body.offset.unwrap_or(0),
                        complete: false,
                    }
                }
                Err(e) => return Err(e),
            };
        }
        tablet.blob_uploaded(sha).map_err(local)
    }

    /// Passes until one succeeds (the queue is drained), pausing with backoff between failures.
    /// Gives up after `max_failures` failed passes or on a failure not worth retrying.
    pub async fn drain(
        &mut self,
        tablet: &mut dyn Tablet,
        progress: &mut (dyn FnMut(Progress) + Send),
        max_failures: u64,
    ) -> Result<DrainReport, SyncError> {
        let mut out = DrainReport::default();
        loop {
            let watchdog = self.settings.pass_timeout;
            let result = match tokio::time::timeout(watchdog, self.pass(tablet, progress)).await {
                Ok(r) => r,
                Err(_) => Err(SyncError::Stalled(watchdog)),
            };
            match result {
                Ok(r) => {
                    out.total.add(r);
                    return Ok(out);
                }
                Err(e) if e.is_retryable() && out.failures < max_failures => {
                    out.failures += 1;
                    if let Ok(left) = tablet.backlog() {
                        progress(Progress { phase: Phase::Backoff, left });
                    }
                    let pause = self.backoff(out.failures.min(32) as u32);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A push's answer in the protocol it was made in.
enum Answer {
    V1(PushResponse),
    V2(PushResponseV2),
}

/// [`check_ack`] for a v2 answer: it echoes the device and batch, its ranges and rejections
/// cover exactly the seqs sent, its receipt signs the digest of the payloads as the tablet holds
/// them (so the server committed these bytes) and verifies with the server's key. Returns the
/// answer in v1's form (one result per op, with the tablet's op ids), as the tablet records it.
pub fn check_ack_v2(batch: &PushRequest, ack: &PushResponseV2, server_key: &str) -> Result<PushResponse, SyncError> {
    if ack.device_id != batch.device_id || ack.batch_id != batch.batch_id {
        return Err(SyncError::NotOurServer("the answer does not echo this device and batch".into()));
    }
    let results = ack.results_for(&batch.ops).map_err(SyncError::NotOurServer)?;
    if ack.receipt.device_id != batch.device_id || ack.receipt.batch_id != batch.batch_id {
        return Err(SyncError::Receipt("receipt names another batch".into()));
    }
    if ack.receipt.ops_sha256.as_deref() != Some(crate::wire::ops_digest(&batch.ops).as_str()) {
        return Err(SyncError::Receipt("the receipt does not sign the payloads sent".into()));
    }
    ack.receipt.verify(server_key, &results).map_err(SyncError::Receipt)?;
    Ok(PushResponse {
        device_id: ack.device_id.clone(),
        batch_id: ack.batch_id.clone(),
        last_seq: ack.last_seq,
        results,
        receipt: ack.receipt.clone(),
    })
}

/// Only an answer that echoes the device and batch, covers exactly the ops sent, and carries a
/// receipt that verifies with the server's key is an ack.
pub fn check_ack(batch: &PushRequest, ack: &PushResponse, server_key: &str) -> Result<(), SyncError> {
    if ack.device_id != batch.device_id || ack.batch_id != batch.batch_id {
        return Err(SyncError::NotOurServer("the answer does not echo this device and batch".into()));
    }
    let sent: Vec<(i64, &str)> = batch.ops.iter().map(|o| (o.seq, o.op_id.as_str())).collect();
    let got: Vec<(i64, &str)> = ack.results.iter().map(|r| (r.seq, r.op_id.as_str())).collect();
    if sent != got {
        return Err(SyncError::NotOurServer("the results do not match the ops sent".into()));
    }
    if ack.receipt.device_id != batch.device_id || ack.receipt.batch_id != batch.batch_id {
        return Err(SyncError::Receipt("receipt names another batch".into()));
    }
    ack.receipt.verify(server_key, &ack.results).map_err(SyncError::Receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    use beibao_core::clock::{FixedClock, SequentialIds};

    fn engine(seed: u64) -> Engine {
        let s = Settings {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            batch_bytes: 8192,
            min_batch_bytes: 1024,
            max_batch_bytes: 32768,
            ..Settings::default()
        };
        let clock = Arc::new(FixedClock::new(DateTime::<Utc>::UNIX_EPOCH));
        Engine::new("http://127.0.0.1:9", s, seed, clock, Arc::new(SequentialIds::default())).expect("engine")
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut e = engine(7);
        for (failures, cap) in [(1, 100), (2, 200), (3, 400), (8, 10_000), (30, 10_000)] {
            let d = e.backoff(failures).as_millis() as u64;
            assert!((cap / 2..=cap).contains(&d), "retry {failures}: {d} ms not in [{}, {cap}]", cap / 2);
        }
        let a: Vec<_> = (1..6).map(|f| engine(3).backoff(f)).collect();
        let b: Vec<_> = (1..6).map(|f| engine(3).backoff(f)).collect();
        assert_eq!(a, b, "the same seed gives the same pauses");
        let c: Vec<_> = (1..20).map(|f| engine(4).backoff(f.min(3))).collect();
        assert!(c.windows(2).any(|w| w[0] != w[1]), "jitter varies the pauses");
    }

    #[test]
    fn batches_shrink_after_failures_and_grow_after_successes_within_bounds() {
        let mut e = engine(1);
        e.shrink();
        assert_eq!(e.batch_bytes(), 4096);
        for _ in 0..10 {
            e.shrink();
        }
        assert_eq!(e.batch_bytes(), 1024);
        for _ in 0..10 {
            e.grow();
        }
        assert_eq!(e.batch_bytes(), 32768);
    }
}
