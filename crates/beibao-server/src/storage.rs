//! The server's storage, behind one trait with two implementations: SQLite (embedded default)
//! and PostgreSQL. The rules (what a push does) live in [`crate::plan`]; a backend only reads the
//! facts and writes the decisions, each push in one transaction.

use async_trait::async_trait;
use beibao_core::calendar::PublishedCalendar;
use beibao_core::catalog::Catalog;
use beibao_core::catalog::Mode;
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody};
use beibao_core::code::Code;
use beibao_core::registry::{AssignmentTarget, Household, Officer, Registry, Station, Village};
use beibao_core::service_request::{MergeOutcome, RequestState, Transition};
use beibao_sync::wire::{Change, OpResult, WireOp};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::report::{Aggregate, Level, Period, Scope};
use beibao_core::text::LocalText;

pub use crate::plan::Device;
use crate::plan::{BatchError, Check};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database failed.
    #[error("database: {0}")]
    Db(String),
    /// A request the caller can fix (stable code, message).
    #[error("{1}")]
    Refused(Code, String),
}

impl StorageError {
    /// A refusal.
    pub fn refused(code: Code, msg: impl Into<String>) -> StorageError {
        StorageError::Refused(code, msg.into())
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> StorageError {
        StorageError::Db(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> StorageError {
        StorageError::Db(e.to_string())
    }
}

/// Roles of server accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administrator: accounts, enrollment, devices, catalog.
    Admin,
    /// Supervisor: totals and exports.
    Supervisor,
    /// Station desk: moves carried-back applications forward.
    Desk,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Desk => "desk",
        }
    }
}

/// An account (console login).
#[derive(Debug, Clone)]
pub struct Account {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Station, for desk accounts.
    pub station: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A one-time enrollment code being redeemed.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// SHA-256 of the code.
    pub code_hash: String,
    /// The tablet's device id.
    pub device_id: String,
    /// The tablet's officer.
    pub officer_id: String,
    /// The tablet's public key (hex).
    pub public_key: String,
}

/// Serial numbers reserved per device.
pub const SERIAL_BLOCK: i64 = 1000;

/// A push's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// One result per op.
    pub results: Vec<OpResult>,
    /// The device's last seq after the push.
    pub last_seq: i64,
}

/// What the server holds of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRow {
    /// Declared size.
    pub total: u64,
    /// Bytes received.
    pub offset: u64,
    /// Received and verified.
    pub complete: bool,
}

/// What became of an appended chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored; the blob's status now.
    Stored(BlobRow),
    /// The last byte arrived but the whole does not hash to its name: discarded, start over.
    HashMismatch,
    /// The chunk does not start where the held bytes end: resume at this offset.
    Elsewhere(u64),
}

/// A service phoned in to a station desk, as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonedInRow {
    /// What the officer pulls.
    pub call: beibao_core::change::PhonedIn,
    /// The desk's station.
    pub station: String,
    /// The officer of the household's village.
    pub officer: String,
    /// The household's village.
    pub village: String,
    /// The household's address when the call was taken.
    pub address: String,
    /// The request the officer accepted for it, once the server holds one (same officer, service
    /// and household, received after the call).
    pub request: Option<String>,
}

/// A service request as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Request id.
    pub id: String,
    /// Device that recorded it.
    pub device_id: String,
    /// Officer who accepted it.
    pub officer_id: String,
    /// Service code.
    pub service: String,
    /// Handling mode.
    pub mode: Mode,
    /// Current state.
    pub state: RequestState,
    /// The request as the tablet made it (JSON).
    pub body: String,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A device as the administrator's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceOverview {
    /// Device id.
    pub id: String,
    /// Its officer.
    pub officer_id: String,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last seq the server acknowledged.
    pub last_seq: i64,
    /// When the server last received an op from it.
    pub last_seen: Option<DateTime<Utc>>,
    /// Ops the server rejected.
    pub rejected: i64,
}

/// A console account as the administrator's list shows it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountRow {
    /// Login name.
    pub username: String,
    /// Role.
    #[schema(value_type = String)]
    pub role: Role,
    /// Station (desk accounts, station supervisors).
    pub station: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// One step of a request's history as the server received it (from a tablet or the desk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// `applied`, `already_there` or `conflict:<reason>`.
    pub outcome: String,
    /// The state it moved to, when it moved.
    pub new_state: Option<RequestState>,
    /// The transition asked for.
    pub transition: Option<Transition>,
    /// The device id, or `desk:<account>`.
    pub by: String,
    /// When the server received it.
    pub at: DateTime<Utc>,
    /// When the officer made it, by the tablet's clock (a tablet's events only).
    pub made_at: Option<DateTime<Utc>>,
}

/// One line of the audit log: who read personal data or changed something, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Server time.
    pub at: DateTime<Utc>,
    /// `desk:<username>` and so on.
    pub actor: String,
    /// What was done (`list_requests`, `read_request`, `move_request`, `login`, `login_failed`).
    pub action: String,
    /// What it was done to.
    pub subject: String,
}

/// An op the server rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedOp {
    /// Device.
    pub device_id: String,
    /// Seq.
    pub seq: i64,
    /// Op id.
    pub op_id: String,
    /// Kind as sent.
    pub kind: String,
    /// Code.
    pub code: String,
    /// Reason.
    pub message: String,
    /// When received.
    pub received_at: DateTime<Utc>,
}

/// How much the server holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Enrolled devices.
    pub devices: i64,
    /// Ops received, by status.
    pub ops_applied: i64,
    /// Duplicates.
    pub ops_duplicate: i64,
    /// Rejected.
    pub ops_rejected: i64,
    /// Records by kind.
    pub records: Vec<(String, i64)>,
    /// Service requests.
    pub requests: i64,
    /// Request events.
    pub request_events: i64,
    /// Changes offered to pull.
    pub changes: i64,
    /// Complete blobs.
    pub blobs: i64,
}

/// The storage of the server: one backend implements every concern below. A handler names the
/// concern it uses (`use crate::storage::Desk`), and a backend only reads and writes: what a push,
/// an enrollment, a blob chunk or a desk move does is decided in [`crate::plan`].
#[async_trait]
pub trait Storage:
    Accounts + Roster + Devices + Exchange + Desk + Blobs + Catalogs + Reports + Inspect + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The server's signing seed: `fresh` is stored on first use, the stored one returned after.
    async fn server_seed(&self, fresh: [u8; 32]) -> Result<[u8; 32], StorageError>;
}

/// Console accounts, their sessions, and the audit log.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Create an account; refuses an existing name (`account_exists`).
    async fn create_account(&self, a: &Account, now: DateTime<Utc>) -> Result<(), StorageError>;

    /// An account.
    async fn account(&self, username: &str) -> Result<Option<Account>, StorageError>;

    /// Every account, by name.
    async fn accounts(&self) -> Result<Vec<AccountRow>, StorageError>;

    /// Remember a console session (by its token's hash).
    async fn put_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// The account of a session, with the session's expiry.
    async fn session(&self, token_hash: &str) -> Result<Option<(Account, DateTime<Utc>)>, StorageError>;

    /// End a session.
    async fn drop_session(&self, token_hash: &str) -> Result<(), StorageError>;

    /// Append to the audit log.
    async fn audit(&self, entry: &AuditEntry) -> Result<(), StorageError>;

    /// The newest audit entries, newest first.
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StorageError>;
}

/// The registry the server keeps itself: stations and their officers. Who is at which station
/// decides what a desk sees; which officers exist decides who may get an enrollment code.
#[async_trait]
pub trait Roster: Send + Sync {
    /// Put the registry (seed): stations, officers, the villages, households and enterprises, and
    /// the assignments; new ones added, known ones replaced, and `changes` (each `(scope, body)`)
    /// offered to pull, all in one transaction.
    async fn put_registry(
        &self,
        registry: &Registry,
        changes: &[(String, ChangeBody)],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Assign a village or an enterprise to an officer: in one transaction, read the officer, the
    /// place (a village with its households, or an enterprise) and whether it is assigned, let
    /// [`crate::plan::assignment`] decide, store it and offer its changes to the officer's tablets.
    /// Returns how many changes were offered.
    async fn assign(&self, a: &AssignmentChange, now: DateTime<Utc>) -> Result<usize, StorageError>;

    /// End an assignment on `until` ([`crate::plan::unassignment`]): removed, and the ended
    /// assignment offered to the officer's tablets (which drop it from the day).
    async fn unassign(
        &self,
        officer: &str,
        kind: AssignmentKind,
        target: &str,
        until: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// An officer's assignments, villages first, by code.
    async fn assignments_of(&self, officer: &str) -> Result<Vec<AssignmentChange>, StorageError>;

    /// Add one officer (`officer_exists`, `unknown_station`); checked by [`crate::plan::new_officer`].
    async fn add_officer(&self, officer: &Officer, now: DateTime<Utc>) -> Result<(), StorageError>;

    /// Move an officer to another station (`unknown_officer`, `unknown_station`): the requests
    /// they accepted show at the new station's desk from then on.
    async fn move_officer(&self, id: &str, station: &str, now: DateTime<Utc>) -> Result<(), StorageError>;

    /// An officer.
    async fn officer(&self, id: &str) -> Result<Option<Officer>, StorageError>;

    /// A household of the registry (its members' personal data: read for a desk's audited
    /// detail only).
    async fn household(&self, id: &str) -> Result<Option<Household>, StorageError>;

    /// Every station, by code.
    async fn stations(&self) -> Result<Vec<Station>, StorageError>;

    /// Every village of the registry, by code.
    async fn villages(&self) -> Result<Vec<Village>, StorageError>;

    /// A station's officers, by id.
    async fn officers_of(&self, station: &str) -> Result<Vec<Officer>, StorageError>;
}

/// Devices: enrollment codes, enrollment, revocation, challenges and tokens.
#[async_trait]
pub trait Devices: Send + Sync {
    /// Store a one-time enrollment code (by its hash) for an officer.
    async fn issue_code(
        &self,
        code_hash: &str,
        officer_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Redeem a code: in one transaction, read the code and whether the device exists, let
    /// [`crate::plan::enrollment`] decide, bind the device to the code's officer and reserve a
    /// serial block. Returns the block.
    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<(i64, i64), StorageError>;

    /// An enrollment code as stored (by its hash), used or not.
    async fn code(&self, code_hash: &str) -> Result<Option<crate::plan::CodeFacts>, StorageError>;

    /// A device.
    async fn device(&self, id: &str) -> Result<Option<Device>, StorageError>;

    /// Every device with what the administrator checks (last seen, acked seq, rejected ops),
    /// newest enrollment first.
    async fn devices(&self) -> Result<Vec<DeviceOverview>, StorageError>;

    /// Revoke a device and its tokens; false when unknown.
    async fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError>;

    /// Remember a challenge.
    async fn put_challenge(
        &self,
        device_id: &str,
        challenge: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Use a challenge once: true when it was issued to this device and has not expired.
    async fn take_challenge(&self, device_id: &str, challenge: &str, now: DateTime<Utc>) -> Result<bool, StorageError>;

    /// Remember a token (by its hash).
    async fn put_token(&self, token_hash: &str, device_id: &str, expires_at: DateTime<Utc>)
    -> Result<(), StorageError>;

    /// The device of a token (as it is now: a revocation shows at once), with the token's expiry.
    async fn token(&self, token_hash: &str) -> Result<Option<(Device, DateTime<Utc>)>, StorageError>;
}

/// Device sync: pushes, pulls, and what is offered to pull.
#[async_trait]
pub trait Exchange: Send + Sync {
    /// Apply a batch: in one transaction, read the facts, decide with [`crate::plan::decide`]
    /// (the ops' stateless checks made beforehand with [`crate::plan::check_all`]), write the
    /// results and effects, move the device's last seq.
    async fn push(
        &self,
        device_id: &str,
        batch_id: &str,
        ops: Vec<WireOp>,
        checks: Vec<Check>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, BatchError>, StorageError>;

    /// Changes for an officer after a cursor: at most `limit`, and whether more wait.
    async fn pull(&self, officer_id: &str, cursor: i64, limit: usize) -> Result<(Vec<Change>, bool), StorageError>;

    /// Offer a change to pull: `scope` is an officer id or `*` for every device. Returns its cursor.
    async fn publish_change(&self, scope: &str, body: &ChangeBody, now: DateTime<Utc>) -> Result<i64, StorageError>;

    /// Many changes, each `(scope, body)`, in one transaction (the registry at seed).
    async fn publish_changes(&self, changes: &[(String, ChangeBody)], now: DateTime<Utc>) -> Result<(), StorageError>;
}

/// The station desk's requests.
#[async_trait]
pub trait Desk: Send + Sync {
    /// Service requests of a station's officers (in a state, when given), oldest first, at most
    /// `limit`.
    async fn requests_at(
        &self,
        station: &str,
        state: Option<RequestState>,
        limit: usize,
    ) -> Result<Vec<RequestRow>, StorageError>;

    /// One service request, with the station its officer is at now.
    async fn request(&self, id: &str) -> Result<Option<(RequestRow, Option<String>)>, StorageError>;

    /// A request's history, in the order the server received it.
    async fn request_events(&self, id: &str) -> Result<Vec<EventRow>, StorageError>;

    /// A station-desk transition of a request, decided by [`crate::plan::desk_move`]; the
    /// request's officer pulls the new state. The move's audit entry (`by`, `move_request`,
    /// `<id> <outcome>`) commits in the same transaction. `event_id` names the request event.
    async fn desk_transition(
        &self,
        request_id: &str,
        transition: &Transition,
        by: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, StorageError>;

    /// The officer a village is assigned to (the latest assignment), with their station.
    async fn village_officer(&self, village: &str) -> Result<Option<(String, String)>, StorageError>;

    /// Keep a phoned-in request and offer it to its officer (pull kind `phoned_in`), with the
    /// audit entry (`taken_by`, `phone_in`, `<id> <service> <household>`), in one transaction.
    async fn phone_in(&self, row: &PhonedInRow, now: DateTime<Utc>) -> Result<(), StorageError>;

    /// Households of a station's villages (by their town) whose registry entry contains `text`
    /// (an address fragment, a member's name, digits of an ID number), by id, at most `limit`.
    async fn households_at(&self, station: &str, text: &str, limit: usize) -> Result<Vec<Household>, StorageError>;

    /// A station's phoned-in requests, newest first, at most `limit`.
    async fn phoned_in_at(&self, station: &str, limit: usize) -> Result<Vec<PhonedInRow>, StorageError>;
}

/// The name a device's unfinished upload of a blob is kept under (in the blob tables, beside
/// the whole blobs named by their hash alone).
pub fn upload_key(sha256: &str, device: &str) -> String {
    format!("{sha256}@{device}")
}

/// Blobs, uploaded in resumable chunks.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// A blob's status for `device`: the whole blob when anyone completed it, else that device's
    /// own unfinished upload.
    async fn blob(&self, sha256: &str, device: &str) -> Result<Option<BlobRow>, StorageError>;

    /// Append a chunk of `device`'s upload at `offset` of a blob of `total` bytes, as
    /// [`crate::plan::blob_chunk`] decides. Unfinished uploads are each device's own (kept under
    /// [`upload_key`]): another device's declared size or bytes never enter this one's. When the
    /// last byte arrives the whole is hashed: a mismatch discards the upload; a match makes it the
    /// blob, for everyone. A chunk at another offset than the upload holds is refused with
    /// `blob_offset` (see [`Appended::Elsewhere`]).
    async fn blob_append(
        &self,
        sha256: &str,
        device: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Appended, StorageError>;

    /// A complete blob's bytes.
    async fn blob_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// The bytes `device`'s unfinished upload of `sha256` holds, in order (none: empty). A push
    /// body cut half-way is kept as such an upload until it is resumed to its end.
    async fn upload_bytes(&self, sha256: &str, device: &str) -> Result<Vec<u8>, StorageError>;

    /// Drop `device`'s unfinished upload of `sha256` with its chunks (a push body resumed to its
    /// end: it is decoded and committed, never kept as a blob).
    async fn drop_upload(&self, sha256: &str, device: &str) -> Result<(), StorageError>;

    /// Delete the unfinished uploads begun before `before`, with their chunks (a device that
    /// never came back to finish one: it would start again from byte 0 anyway). Whole blobs are
    /// never touched. Returns how many were deleted.
    async fn sweep_uploads(&self, before: DateTime<Utc>) -> Result<u64, StorageError>;
}

/// How long an unfinished upload is kept ([`Storage::sweep_uploads`]): a tablet resumes within
/// its next few syncs, and a blob is at most 20 MiB.
pub const UPLOAD_TTL_DAYS: i64 = 7;

/// A published calendar as a `calendar` change holds it (its version checked against its
/// years), for both backends.
pub(crate) fn stored_calendar(body: &str) -> Result<PublishedCalendar, StorageError> {
    serde_json::from_str::<PublishedCalendar>(body)
        .map_err(|e| StorageError::Db(format!("stored calendar: {e}")))?
        .checked()
        .map_err(|e| StorageError::Db(format!("stored calendar: {e}")))
}

/// Published catalog versions.
#[async_trait]
pub trait Catalogs: Send + Sync {
    /// Publish a catalog version (immutable once published): stored and offered to every device.
    async fn publish_catalog(&self, catalog: &Catalog, now: DateTime<Utc>) -> Result<i64, StorageError>;

    /// Every published catalog, oldest first.
    async fn catalogs(&self) -> Result<Vec<Catalog>, StorageError>;

    /// How many catalog versions are published (a cheap look before [`Catalogs::catalogs`]).
    async fn catalog_count(&self) -> Result<usize, StorageError>;

    /// Offer a working-day calendar to every device, unless that version was published before
    /// (then `None`): the last one published is the one tablets keep.
    async fn publish_calendar(
        &self,
        calendar: &PublishedCalendar,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StorageError>;

    /// The version of the last calendar published, if any.
    async fn calendar_version(&self) -> Result<Option<String>, StorageError>;

    /// The last calendar published, if any (the one tablets keep, and the server counts by).
    async fn calendar(&self) -> Result<Option<PublishedCalendar>, StorageError>;
}

/// The supervisors' reports: SQL aggregates over the facts each record added to the counts
/// (`facts`, written with the records), decided into a report by [`crate::report`].
#[async_trait]
pub trait Reports: Send + Sync {
    /// The aggregates of a period within a scope: by group at `level`, and for the whole scope
    /// under the group [`crate::report::TOTAL`].
    async fn aggregates(&self, period: Period, level: Level, scope: &Scope) -> Result<Vec<Aggregate>, StorageError>;

    /// The aggregates of a period within a scope, week by week (the whole scope).
    async fn weekly(&self, period: Period, scope: &Scope) -> Result<Vec<Aggregate>, StorageError>;

    /// The villages assigned to officers (police presence's denominator), by group at `level`
    /// and for the whole scope under [`crate::report::TOTAL`].
    async fn villages_in_scope(&self, level: Level, scope: &Scope) -> Result<Vec<(Option<String>, i64)>, StorageError>;

    /// Every village in scope with its last visit and its special-group households, those not
    /// visited since `since` counted (the coverage map).
    async fn coverage(&self, scope: &Scope, since: NaiveDate) -> Result<Vec<CoverageRow>, StorageError>;

    /// The mediation deadlines of a scope on day `on` looking to `until` ([`crate::due`]): per
    /// village with any, its counts; and the open cases (follow-up due by `until`, or 司法确认
    /// window closing from `on` to `until`), the earliest first, at most `limit`.
    async fn mediation_due(
        &self,
        scope: &Scope,
        on: NaiveDate,
        until: NaiveDate,
        limit: usize,
    ) -> Result<(Vec<crate::due::VillageDueRow>, Vec<crate::due::DueCaseRow>), StorageError>;

    /// The names of groups at a level, by code (unknown codes left out).
    async fn names(&self, level: Level, codes: &[String]) -> Result<HashMap<String, LocalText>, StorageError>;

    /// One page of a detail export ([`crate::detail`]): the records (or requests) of a kind whose
    /// day is in the period, within the scope, in (day, id) order after `after`, at most `limit`.
    async fn detail_page(
        &self,
        of: crate::detail::DetailKind,
        period: Period,
        scope: &Scope,
        after: Option<(NaiveDate, String)>,
        limit: usize,
    ) -> Result<Vec<crate::detail::DetailRow>, StorageError>;
}

/// What an administrator (and a test) looks at.
#[async_trait]
pub trait Inspect: Send + Sync {
    /// The most recent rejected ops.
    async fn rejected_ops(&self, limit: usize) -> Result<Vec<RejectedOp>, StorageError>;

    /// What the server holds.
    async fn counts(&self) -> Result<Counts, StorageError>;

    /// Every record of a kind from a device, as (id, body), ordered by id (tests).
    #[cfg(feature = "test-support")]
    async fn records(&self, device_id: &str, kind: &str) -> Result<Vec<(String, String)>, StorageError>;

    /// Every op result of a device, in seq order (tests).
    #[cfg(feature = "test-support")]
    async fn op_results(&self, device_id: &str) -> Result<Vec<OpResult>, StorageError>;

    /// Rows of the month and year rollups that differ from the day rows folded
    /// ([`crate::rollup::drift_sql`]); 0 when they agree (tests).
    #[cfg(feature = "test-support")]
    async fn rollup_drift(&self) -> Result<i64, StorageError>;
}

/// A value as a backend stores it (JSON text).
pub(crate) fn to_body<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Db(e.to_string()))
}

/// A value a backend stored as JSON text; `what` names it in the error.
pub(crate) fn from_body<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| StorageError::Db(format!("stored {what}: {e}")))
}

/// A code as a backend stored it (text); one written by a newer server reads as `unknown`.
pub(crate) fn stored_code(text: &str) -> Code {
    Code::parse(text).unwrap_or(Code::Unknown)
}

/// The rows of a registry's places and assignments as both backends store them.
pub(crate) struct RegistryRows {
    /// `(code, station, body)`.
    pub towns: Vec<(String, String, String)>,
    /// `(kind, code, parent, body, special)`: `special` for a household with members of the care
    /// indicator's groups.
    pub places: Vec<(&'static str, String, Option<String>, String, bool)>,
    /// `(officer, kind, target, since)`.
    pub assignments: Vec<(String, &'static str, String, NaiveDate)>,
}

/// A registry's places (villages, households, enterprises) and assignments as rows.
pub(crate) fn registry_rows(registry: &Registry) -> Result<RegistryRows, StorageError> {
    let towns = registry
        .towns
        .iter()
        .map(|t| Ok((t.code.clone(), t.station.clone(), to_body(t)?)))
        .collect::<Result<_, StorageError>>()?;
    let mut places = Vec::new();
    for v in &registry.villages {
        places.push(("village", v.code.clone(), None, to_body(v)?, false));
    }
    for h in &registry.households {
        let special = h.groups().iter().any(|g| g.counts_for_care_indicator());
        places.push(("household", h.id.clone(), Some(h.village.clone()), to_body(h)?, special));
    }
    for e in &registry.enterprises {
        places.push(("enterprise", e.code.clone(), None, to_body(e)?, false));
    }
    let assignments = registry
        .assignments
        .iter()
        .map(|a| {
            let (kind, target) = match &a.target {
                AssignmentTarget::Village(c) => ("village", c.clone()),
                AssignmentTarget::Enterprise(c) => ("enterprise", c.clone()),
            };
            (a.officer.clone(), kind, target, a.since)
        })
        .collect();
    Ok(RegistryRows { towns, places, assignments })
}

/// A place's stored bodies (the place first, then a village's households) as pull changes.
pub(crate) fn place_changes(kind: AssignmentKind, bodies: &[String]) -> Result<Option<Vec<ChangeBody>>, StorageError> {
    let Some((first, rest)) = bodies.split_first() else { return Ok(None) };
    let mut out = Vec::with_capacity(bodies.len());
    match kind {
        AssignmentKind::Village => {
            out.push(ChangeBody::Village(from_body("village", first)?));
            for h in rest {
                out.push(ChangeBody::Household(from_body("household", h)?));
            }
        }
        AssignmentKind::Enterprise => out.push(ChangeBody::Enterprise(from_body("enterprise", first)?)),
    }
    Ok(Some(out))
}

/// A village's coverage as a backend reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    /// Village code.
    pub code: String,
    /// Its stored body (name, boundary).
    pub body: String,
    /// The day of its last household visit.
    pub last_visit: Option<NaiveDate>,
    /// Households with members of the care indicator's groups.
    pub special: i64,
    /// Of those, not visited since the day asked.
    pub special_not_visited: i64,
}

/// A group's name from its stored body: a station's, town's or village's `name` (zh/en), an
/// officer's `name` (one string, the badge after it).
pub(crate) fn group_name(level: Level, body: &str) -> Option<LocalText> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    match level {
        Level::Officer => {
            let name = v.get("name")?.as_str()?;
            let badge = v.get("badge").and_then(|b| b.as_str()).unwrap_or_default();
            let text = if badge.is_empty() { name.to_owned() } else { format!("{name}（{badge}）") };
            Some(LocalText::new(text.clone(), text))
        }
        _ => serde_json::from_value(v.get("name")?.clone()).ok(),
    }
}
