//! The administrator's API: the enrolled devices (officer, enrolled, last seen, last acked seq,
//! rejected ops) and their revocation, one-time enrollment codes for an officer's tablet (the
//! console shows each as a QR code too), and the console accounts. Every change is written to the
//! audit log with who made it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::code::Code;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::{AdminAuth, ApiError, Json, Wants};
use crate::storage::{AccountRow, AuditEntry, DeviceOverview, Role, StorageError};

/// The devices, with their officers' names and stations.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminDevices {
    /// Newest enrollment first.
    pub devices: Vec<AdminDevice>,
}

/// A device and its officer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminDevice {
    /// What the server holds of it.
    #[serde(flatten)]
    pub device: DeviceOverview,
    /// The officer's name (`null` for an officer no longer in the registry).
    pub officer_name: Option<String>,
    /// The officer's station.
    pub station: Option<String>,
}

/// An enrollment code asked for.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The officer whose tablet it enrolls.
    pub officer_id: String,
    /// Hours it stays valid (1–72; default 24).
    #[schema(minimum = 1, maximum = 72)]
    #[serde(default, deserialize_with = "beibao_sync::wire::integral::option_i64")]
    pub hours: Option<i64>,
}

/// A one-time enrollment code (shown once: the server keeps only its hash).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IssuedCode {
    /// The code to type, or to scan as `beibao:enroll?server=…&code=…[&pin=…]`.
    pub code: String,
    /// Its officer.
    pub officer_id: String,
    /// The officer's name.
    pub officer_name: String,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The SHA-256 fingerprint of the server's https certificate, for the QR: the tablet pins it
    /// (none when the server was not told its certificate).
    pub server_pin: Option<String>,
}

/// A revocation's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Revoked {
    /// The device.
    pub id: String,
    /// When it was revoked (the first revocation's time, if it was already).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The console accounts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminAccounts {
    /// By name.
    pub accounts: Vec<AccountRow>,
}

/// An account to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Login name (1–64 characters).
    pub username: String,
    /// `admin`, `supervisor` or `desk`.
    #[schema(value_type = String)]
    pub role: Role,
    /// The station (required for a desk; a supervisor with one sees only it).
    #[serde(default)]
    pub station: Option<String>,
    /// At least 10 characters.
    pub password: String,
}

async fn audit(state: &AppState, who: &AdminAuth, action: &str, subject: String) -> Result<(), ApiError> {
    let entry = AuditEntry { at: state.now(), actor: who.actor(), action: action.to_owned(), subject };
    Ok(state.storage().audit(&entry).await?)
}

#[utoipa::path(get, path = "/admin/devices", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = AdminDevices),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn devices(
    State(state): State<AppState>,
    _who: AdminAuth,
    wants: Wants,
) -> Result<Response, ApiError> {
    let storage = state.storage();
    let mut out = Vec::new();
    let mut officers = std::collections::HashMap::new();
    for device in storage.devices().await? {
        if !officers.contains_key(&device.officer_id) {
            officers.insert(device.officer_id.clone(), storage.officer(&device.officer_id).await?);
        }
        let officer = officers.get(&device.officer_id).and_then(Option::as_ref);
        out.push(AdminDevice {
            officer_name: officer.map(|o| o.name.clone()),
            station: officer.map(|o| o.station.clone()),
            device,
        });
    }
    Ok(wants.reply(&AdminDevices { devices: out }))
}

#[utoipa::path(post, path = "/admin/devices/{id}/revoke", tag = "console", params(("id" = String, Path, description = "device id")), security(("bearer" = [])),
    responses((status = 200, body = Revoked),
        (status = 404, description = "`not_found`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !state.storage().revoke(&id, state.now()).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, format!("no device {id}")));
    }
    audit(&state, &who, "revoke_device", id.clone()).await?;
    let revoked_at = state.storage().devices().await?.into_iter().find(|d| d.id == id).and_then(|d| d.revoked_at);
    Ok(wants.reply(&Revoked { id, revoked_at }))
}

#[utoipa::path(post, path = "/admin/enrollment-codes", tag = "console", request_body = CodeRequest, security(("bearer" = [])),
    responses((status = 200, body = IssuedCode),
        (status = 404, description = "`unknown_officer`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn issue_code(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Json(body): Json<CodeRequest>,
) -> Result<Response, ApiError> {
    let hours = body.hours.unwrap_or(24);
    if !(1..=72).contains(&hours) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBody, "a code is valid 1–72 hours"));
    }
    let officer = state.storage().officer(&body.officer_id).await?.ok_or_else(|| {
        ApiError::from(StorageError::refused(Code::UnknownOfficer, format!("no officer {}", body.officer_id)))
    })?;
    let ttl = Duration::hours(hours);
    let code = state.issue_enrollment_code(&officer.id, ttl).await?;
    audit(&state, &who, "issue_enrollment_code", officer.id.clone()).await?;
    Ok(wants.reply(&IssuedCode {
        code,
        officer_id: officer.id,
        officer_name: officer.name,
        expires_at: state.now() + ttl,
        server_pin: state.tls_pin(),
    }))
}

#[utoipa::path(get, path = "/admin/accounts", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = AdminAccounts),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn accounts(
    State(state): State<AppState>,
    _who: AdminAuth,
    wants: Wants,
) -> Result<Response, ApiError> {
    Ok(wants.reply(&AdminAccounts { accounts: state.storage().accounts().await? }))
}

#[utoipa::path(post, path = "/admin/accounts", tag = "console", request_body = NewAccount, security(("bearer" = [])),
    responses((status = 200, body = AccountRow),
        (status = 409, description = "`account_exists`", body = beibao_sync::wire::ErrorBody),
        (status = 422, description = "`bad_username`, `weak_password`, `station_required`, `unknown_station`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn create_account(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Json(body): Json<NewAccount>,
) -> Result<Response, ApiError> {
    if let Some(code) = &body.station
        && !state.storage().stations().await?.iter().any(|s| &s.code == code)
    {
        return Err(StorageError::refused(Code::UnknownStation, format!("no station {code}")).into());
    }
    let (username, role, station, password) = (body.username, body.role, body.station, body.password);
    // Argon2id hashing is slow on purpose: off the async workers.
    let account = tokio::task::spawn_blocking(move || {
        crate::admin::new_account(username.trim(), role, station.as_deref(), &password)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, format!("hashing: {e}")))??;
    let now = state.now();
    state.storage().create_account(&account, now).await?;
    audit(&state, &who, "create_account", format!("{} {}", account.username, account.role.as_str())).await?;
    Ok(wants.reply(&AccountRow {
        username: account.username,
        role: account.role,
        station: account.station,
        created_at: now,
    }))
}

/// The district's stations, officers with the villages they serve, and every village: what the
/// assignment page and the enrollment code's officer picker show.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminOfficers {
    /// Stations, by code.
    pub stations: Vec<Choice>,
    /// Officers, by station then id.
    pub officers: Vec<AdminOfficer>,
    /// Villages, by code.
    pub villages: Vec<Choice>,
}

/// A code and its name.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Choice {
    /// Code.
    pub code: String,
    /// Name (zh-CN).
    pub name: String,
}

/// An officer and the villages they serve now.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminOfficer {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Station code.
    pub station: String,
    /// Villages assigned, by code, with the day each began.
    pub villages: Vec<AssignedVillage>,
}

/// A village an officer serves.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssignedVillage {
    /// Village code.
    pub code: String,
    /// Since when.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub since: chrono::NaiveDate,
}

/// Give a village to an officer, or end it (`POST /admin/assignments`, `…/end`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AssignmentAsked {
    /// The officer.
    pub officer_id: String,
    /// The village's code.
    pub village: String,
    /// The first (or, ending, the last) day; today (China time) when absent.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub day: Option<chrono::NaiveDate>,
}

/// What an assignment change offered to the officer's tablets.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssignmentDone {
    /// The officer.
    pub officer_id: String,
    /// The village.
    pub village: String,
    /// Changes offered to pull (the village, its households, the assignment; or the ended one).
    pub changes: usize,
}

#[utoipa::path(get, path = "/admin/officers", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = AdminOfficers),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn officers(
    State(state): State<AppState>,
    _who: AdminAuth,
    wants: Wants,
) -> Result<Response, ApiError> {
    let storage = state.storage();
    let stations = storage.stations().await?;
    let mut officers = Vec::new();
    for s in &stations {
        for o in storage.officers_of(&s.code).await? {
            let villages = storage
                .assignments_of(&o.id)
                .await?
                .into_iter()
                .filter(|a| a.kind == beibao_core::change::AssignmentKind::Village)
                .map(|a| AssignedVillage { code: a.target, since: a.since })
                .collect();
            officers.push(AdminOfficer { id: o.id, name: o.name, station: o.station, villages });
        }
    }
    let villages = storage.villages().await?.into_iter().map(|v| Choice { code: v.code, name: v.name.zh }).collect();
    let stations = stations.into_iter().map(|s| Choice { code: s.code, name: s.name.zh }).collect();
    Ok(wants.reply(&AdminOfficers { stations, officers, villages }))
}

#[utoipa::path(post, path = "/admin/assignments", tag = "console", request_body = AssignmentAsked, security(("bearer" = [])),
    responses((status = 200, description = "assigned; the village and its households offered to the officer's tablets", body = AssignmentDone),
        (status = 422, description = "`unknown_officer`, `unknown_place`, `already_assigned`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn assign(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Json(body): Json<AssignmentAsked>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let a = beibao_core::change::AssignmentChange {
        officer: body.officer_id.trim().to_owned(),
        kind: beibao_core::change::AssignmentKind::Village,
        target: body.village.trim().to_owned(),
        since: body.day.unwrap_or_else(|| beibao_core::calendar::china_date(now)),
        until: None,
    };
    let changes = state.storage().assign(&a, now).await?;
    audit(&state, &who, "assign_village", format!("{} {} {}", a.officer, a.target, a.since)).await?;
    Ok(wants.reply(&AssignmentDone { officer_id: a.officer, village: a.target, changes }))
}

#[utoipa::path(post, path = "/admin/assignments/end", tag = "console", request_body = AssignmentAsked, security(("bearer" = [])),
    responses((status = 200, description = "ended; the ended assignment offered to the officer's tablets (what was recorded stays)", body = AssignmentDone),
        (status = 422, description = "`not_assigned`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn unassign(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Json(body): Json<AssignmentAsked>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let (officer, village) = (body.officer_id.trim().to_owned(), body.village.trim().to_owned());
    let until = body.day.unwrap_or_else(|| beibao_core::calendar::china_date(now));
    state.storage().unassign(&officer, beibao_core::change::AssignmentKind::Village, &village, until, now).await?;
    audit(&state, &who, "unassign_village", format!("{officer} {village} {until}")).await?;
    Ok(wants.reply(&AssignmentDone { officer_id: officer, village, changes: 1 }))
}

/// The published catalog versions.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminCatalogs {
    /// Oldest first (ops are checked against the newest, and earlier ones for work done offline).
    pub catalogs: Vec<CatalogVersion>,
}

/// A catalog version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CatalogVersion {
    /// Version.
    pub version: String,
    /// The day it says it was published.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub published_on: chrono::NaiveDate,
    /// How many services.
    pub services: usize,
}

fn catalog_version(c: &beibao_core::catalog::Catalog) -> CatalogVersion {
    CatalogVersion { version: c.version.clone(), published_on: c.published_on, services: c.services.len() }
}

#[utoipa::path(get, path = "/admin/catalogs", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = AdminCatalogs),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn catalogs(
    State(state): State<AppState>,
    _who: AdminAuth,
    wants: Wants,
) -> Result<Response, ApiError> {
    state.refresh_catalogs().await?;
    let catalogs = state.catalogs().iter().map(catalog_version).collect();
    Ok(wants.reply(&AdminCatalogs { catalogs }))
}

#[utoipa::path(post, path = "/admin/catalogs", tag = "console", request_body(content = Object, description = "a catalog (services.json), checked as the CLI's publish-catalog checks it"), security(("bearer" = [])),
    responses((status = 200, description = "published: this server checks ops with it at once, the tablets pull it", body = CatalogVersion),
        (status = 409, description = "`catalog_version_exists`", body = beibao_sync::wire::ErrorBody),
        (status = 422, description = "`bad_catalog`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `invalid_body`", body = beibao_sync::wire::ErrorBody),
        (status = 413, description = "`payload_too_large`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn publish_catalog(
    State(state): State<AppState>,
    who: AdminAuth,
    wants: Wants,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let catalog = beibao_core::catalog::Catalog::from_json(&body.to_string())
        .map_err(|e| ApiError::from(StorageError::refused(Code::BadCatalog, e.to_string())))?;
    state.storage().publish_catalog(&catalog, state.now()).await?;
    state.refresh_catalogs().await?;
    audit(&state, &who, "publish_catalog", catalog.version.clone()).await?;
    Ok(wants.reply(&catalog_version(&catalog)))
}
