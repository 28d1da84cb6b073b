//! A storage that kills its server right after a push commits, before the answer is written:
//! the "server killed between commit and ack" fault, exactly in its window. Every other call
//! goes straight to the real storage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use beibao_core::calendar::PublishedCalendar;
use beibao_core::catalog::Catalog;
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody};
use beibao_core::registry::{Household, Officer, Registry, Station, Village};
use beibao_core::service_request::{MergeOutcome, RequestState, Transition};
use beibao_core::text::LocalText;
use beibao_server::plan::{BatchError, Check};
use beibao_server::report::{Aggregate, Level, Period, Scope};
use beibao_server::storage::{
    Account, Accounts, Appended, AuditEntry, BlobRow, Blobs, Catalogs, Counts, Desk, Device, Devices, Enrollment,
    EventRow, Exchange, Inspect, PhonedInRow, Pushed, RejectedOp, Reports, RequestRow, Roster, Storage, StorageError,
};
use beibao_sync::wire::{Change, OpResult, WireOp};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

use crate::KillSwitch;

/// The real storage, with a wire that fires on the n-th committed push.
pub struct Tripwire {
    inner: Arc<dyn Storage>,
    switch: KillSwitch,
    /// Pushes left before firing; 0 = disarmed.
    countdown: AtomicU64,
    fired: AtomicBool,
}

impl std::fmt::Debug for Tripwire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tripwire").field("countdown", &self.countdown).field("fired", &self.fired).finish()
    }
}

impl Tripwire {
    /// Wrap `inner`; `switch` kills the server that serves it.
    pub fn new(inner: Arc<dyn Storage>, switch: KillSwitch) -> Tripwire {
        Tripwire { inner, switch, countdown: AtomicU64::new(0), fired: AtomicBool::new(false) }
    }

    /// Fire on the `n`-th push committed from now (n ≥ 1).
    pub fn arm(&self, n: u64) {
        self.countdown.store(n.max(1), Ordering::SeqCst);
    }

    /// Whether it fired.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Storage for Tripwire {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn server_seed(&self, fresh: [u8; 32]) -> Result<[u8; 32], StorageError> {
        self.inner.server_seed(fresh).await
    }
}

#[async_trait]
impl Accounts for Tripwire {
    async fn create_account(&self, a: &Account, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.inner.create_account(a, now).await
    }

    async fn accounts(&self) -> Result<Vec<beibao_server::storage::AccountRow>, StorageError> {
        self.inner.accounts().await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StorageError> {
        self.inner.account(username).await
    }

    async fn put_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.put_session(token_hash, username, expires_at).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<(Account, DateTime<Utc>)>, StorageError> {
        self.inner.session(token_hash).await
    }

    async fn drop_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.inner.drop_session(token_hash).await
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.inner.audit(entry).await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StorageError> {
        self.inner.audit_log(limit).await
    }
}

#[async_trait]
impl Roster for Tripwire {
    async fn put_registry(
        &self,
        registry: &Registry,
        changes: &[(String, ChangeBody)],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.put_registry(registry, changes, now).await
    }

    async fn assign(&self, a: &AssignmentChange, now: DateTime<Utc>) -> Result<usize, StorageError> {
        self.inner.assign(a, now).await
    }

    async fn unassign(
        &self,
        officer: &str,
        kind: AssignmentKind,
        target: &str,
        until: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.unassign(officer, kind, target, until, now).await
    }

    async fn assignments_of(&self, officer: &str) -> Result<Vec<AssignmentChange>, StorageError> {
        self.inner.assignments_of(officer).await
    }

    async fn add_officer(&self, officer: &Officer, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.inner.add_officer(officer, now).await
    }

    async fn move_officer(&self, id: &str, station: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.inner.move_officer(id, station, now).await
    }

    async fn officer(&self, id: &str) -> Result<Option<Officer>, StorageError> {
        self.inner.officer(id).await
    }

    async fn household(&self, id: &str) -> Result<Option<beibao_core::registry::Household>, StorageError> {
        self.inner.household(id).await
    }

    async fn stations(&self) -> Result<Vec<Station>, StorageError> {
        self.inner.stations().await
    }

    async fn villages(&self) -> Result<Vec<Village>, StorageError> {
        self.inner.villages().await
    }

    async fn officers_of(&self, station: &str) -> Result<Vec<Officer>, StorageError> {
        self.inner.officers_of(station).await
    }
}

#[async_trait]
impl Devices for Tripwire {
    async fn issue_code(
        &self,
        code_hash: &str,
        officer_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.issue_code(code_hash, officer_id, expires_at, now).await
    }

    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<(i64, i64), StorageError> {
        self.inner.enroll(e, now).await
    }

    async fn code(&self, code_hash: &str) -> Result<Option<beibao_server::plan::CodeFacts>, StorageError> {
        self.inner.code(code_hash).await
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, StorageError> {
        self.inner.device(id).await
    }

    async fn devices(&self) -> Result<Vec<beibao_server::storage::DeviceOverview>, StorageError> {
        self.inner.devices().await
    }

    async fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        self.inner.revoke(id, now).await
    }

    async fn put_challenge(
        &self,
        device_id: &str,
        challenge: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.put_challenge(device_id, challenge, expires_at).await
    }

    async fn take_challenge(&self, device_id: &str, challenge: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
        self.inner.take_challenge(device_id, challenge, now).await
    }

    async fn put_token(
        &self,
        token_hash: &str,
        device_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.inner.put_token(token_hash, device_id, expires_at).await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(Device, DateTime<Utc>)>, StorageError> {
        self.inner.token(token_hash).await
    }
}

#[async_trait]
impl Exchange for Tripwire {
    async fn push(
        &self,
        device_id: &str,
        batch_id: &str,
        ops: Vec<WireOp>,
        checks: Vec<Check>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, BatchError>, StorageError> {
        let pushed = self.inner.push(device_id, batch_id, ops, checks, now).await;
        if matches!(pushed, Ok(Ok(_)))
            && self.countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) == Ok(1)
        {
            // Committed. The server dies now: its runtime is shut down, this answer is never
            // written, every connection is closed.
            self.fired.store(true, Ordering::SeqCst);
            self.switch.fire();
            std::future::pending::<()>().await;
        }
        pushed
    }

    async fn pull(&self, officer_id: &str, cursor: i64, limit: usize) -> Result<(Vec<Change>, bool), StorageError> {
        self.inner.pull(officer_id, cursor, limit).await
    }

    async fn publish_change(&self, scope: &str, body: &ChangeBody, now: DateTime<Utc>) -> Result<i64, StorageError> {
        self.inner.publish_change(scope, body, now).await
    }

    async fn publish_changes(&self, changes: &[(String, ChangeBody)], now: DateTime<Utc>) -> Result<(), StorageError> {
        self.inner.publish_changes(changes, now).await
    }
}

#[async_trait]
impl Desk for Tripwire {
    async fn requests_at(
        &self,
        station: &str,
        state: Option<RequestState>,
        limit: usize,
    ) -> Result<Vec<RequestRow>, StorageError> {
        self.inner.requests_at(station, state, limit).await
    }

    async fn request(&self, id: &str) -> Result<Option<(RequestRow, Option<String>)>, StorageError> {
        self.inner.request(id).await
    }

    async fn request_events(&self, id: &str) -> Result<Vec<EventRow>, StorageError> {
        self.inner.request_events(id).await
    }

    async fn desk_transition(
        &self,
        request_id: &str,
        transition: &Transition,
        by: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, StorageError> {
        self.inner.desk_transition(request_id, transition, by, event_id, now).await
    }

    async fn village_officer(&self, village: &str) -> Result<Option<(String, String)>, StorageError> {
        self.inner.village_officer(village).await
    }

    async fn phone_in(&self, row: &PhonedInRow, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.inner.phone_in(row, now).await
    }

    async fn households_at(&self, station: &str, text: &str, limit: usize) -> Result<Vec<Household>, StorageError> {
        self.inner.households_at(station, text, limit).await
    }

    async fn phoned_in_at(&self, station: &str, limit: usize) -> Result<Vec<PhonedInRow>, StorageError> {
        self.inner.phoned_in_at(station, limit).await
    }
}

#[async_trait]
impl Blobs for Tripwire {
    async fn blob(&self, sha256: &str, device: &str) -> Result<Option<BlobRow>, StorageError> {
        self.inner.blob(sha256, device).await
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
        self.inner.blob_append(sha256, device, total, offset, chunk, now).await
    }

    async fn blob_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.blob_bytes(sha256).await
    }

    async fn upload_bytes(&self, sha256: &str, device: &str) -> Result<Vec<u8>, StorageError> {
        self.inner.upload_bytes(sha256, device).await
    }

    async fn drop_upload(&self, sha256: &str, device: &str) -> Result<(), StorageError> {
        self.inner.drop_upload(sha256, device).await
    }

    async fn sweep_uploads(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        self.inner.sweep_uploads(before).await
    }
}

#[async_trait]
impl Catalogs for Tripwire {
    async fn publish_catalog(&self, catalog: &Catalog, now: DateTime<Utc>) -> Result<i64, StorageError> {
        self.inner.publish_catalog(catalog, now).await
    }

    async fn catalogs(&self) -> Result<Vec<Catalog>, StorageError> {
        self.inner.catalogs().await
    }

    async fn catalog_count(&self) -> Result<usize, StorageError> {
        self.inner.catalog_count().await
    }

    async fn calendar(&self) -> Result<Option<beibao_core::calendar::PublishedCalendar>, StorageError> {
        self.inner.calendar().await
    }

    async fn publish_calendar(
        &self,
        calendar: &PublishedCalendar,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StorageError> {
        self.inner.publish_calendar(calendar, now).await
    }

    async fn calendar_version(&self) -> Result<Option<String>, StorageError> {
        self.inner.calendar_version().await
    }
}

#[async_trait]
impl Reports for Tripwire {
    async fn aggregates(&self, period: Period, level: Level, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        self.inner.aggregates(period, level, scope).await
    }

    async fn weekly(&self, period: Period, scope: &Scope) -> Result<Vec<Aggregate>, StorageError> {
        self.inner.weekly(period, scope).await
    }

    async fn villages_in_scope(&self, level: Level, scope: &Scope) -> Result<Vec<(Option<String>, i64)>, StorageError> {
        self.inner.villages_in_scope(level, scope).await
    }

    async fn mediation_due(
        &self,
        scope: &Scope,
        on: NaiveDate,
        until: NaiveDate,
        limit: usize,
    ) -> Result<(Vec<beibao_server::due::VillageDueRow>, Vec<beibao_server::due::DueCaseRow>), StorageError> {
        self.inner.mediation_due(scope, on, until, limit).await
    }

    async fn coverage(
        &self,
        scope: &Scope,
        since: NaiveDate,
    ) -> Result<Vec<beibao_server::storage::CoverageRow>, StorageError> {
        self.inner.coverage(scope, since).await
    }

    async fn names(&self, level: Level, codes: &[String]) -> Result<HashMap<String, LocalText>, StorageError> {
        self.inner.names(level, codes).await
    }

    async fn detail_page(
        &self,
        of: beibao_server::detail::DetailKind,
        period: Period,
        scope: &Scope,
        after: Option<(NaiveDate, String)>,
        limit: usize,
    ) -> Result<Vec<beibao_server::detail::DetailRow>, StorageError> {
        self.inner.detail_page(of, period, scope, after, limit).await
    }
}

#[async_trait]
impl Inspect for Tripwire {
    async fn rejected_ops(&self, limit: usize) -> Result<Vec<RejectedOp>, StorageError> {
        self.inner.rejected_ops(limit).await
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        self.inner.counts().await
    }

    async fn records(&self, device_id: &str, kind: &str) -> Result<Vec<(String, String)>, StorageError> {
        self.inner.records(device_id, kind).await
    }

    async fn op_results(&self, device_id: &str) -> Result<Vec<OpResult>, StorageError> {
        self.inner.op_results(device_id).await
    }

    async fn rollup_drift(&self) -> Result<i64, StorageError> {
        self.inner.rollup_drift().await
    }
}
