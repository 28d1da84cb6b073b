//! The station desk's API: an account logs in (Argon2id) for a session token, lists its station's
//! service requests (applicant masked), opens one (in full), and moves it forward by the merge
//! rule; the request's officer pulls the new state. Every read of personal data and every move
//! is written to the audit log before the answer.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::Mode;
use beibao_core::code::Code;
use beibao_core::identity::{mask_applicant, mask_name};
use beibao_core::service_request::{
    ConflictReason, MergeOutcome, RequestState, ServiceRequest, Transition, next_states,
};
use beibao_core::text::LocalText;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::{ApiError, Bearer, ClientAddr, DeskAuth, Json, Wants};
use crate::storage::{AuditEntry, RequestRow, Role, StorageError};

/// Login.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The known-client token this browser was given at its last login here: it lets the
    /// browser past the account's attempt limit, which a stranger guessing may have emptied.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client: Option<String>,
}

/// A console session.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LoginResponse {
    /// Bearer token for the console endpoints.
    pub token: String,
    /// Account name.
    pub username: String,
    /// `admin`, `supervisor` or `desk`.
    #[schema(value_type = String)]
    pub role: Role,
    /// The desk's station code.
    pub station: Option<String>,
    /// Its name, as the registry holds it (absent before a registry is published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    #[schema(value_type = Option<Object>)]
    pub station_name: Option<LocalText>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// A known-client token to give at the next login (kept by the browser for this account).
    pub client: String,
}

/// A request in the desk's list: the applicant masked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskRequest {
    /// Request id.
    pub id: String,
    /// Service code.
    pub service: String,
    /// `on_site`, `carry_back`, `appointment`, `referral`.
    #[schema(value_type = String)]
    pub mode: Mode,
    /// Current state.
    #[schema(value_type = String)]
    pub state: RequestState,
    /// The service's name (the newest catalog's).
    #[schema(value_type = Option<Object>)]
    pub service_name: Option<LocalText>,
    /// The officer who accepted it.
    pub officer_id: String,
    /// Their name, as the server's roster holds it.
    pub officer_name: Option<String>,
    /// The applicant, masked (ID number: first 6 and last 4; name: surname).
    pub applicant: String,
    /// When the officer accepted it (tablet clock).
    pub accepted_at: DateTime<Utc>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The desk's list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskRequests {
    /// The station.
    pub station: String,
    /// Its name.
    #[schema(value_type = Option<Object>)]
    pub station_name: Option<LocalText>,
    /// Oldest first.
    pub requests: Vec<DeskRequest>,
}

/// One request, in full (the read is audited).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskRequestDetail {
    /// Current state.
    #[schema(value_type = String)]
    pub state: RequestState,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The request as the officer made it (applicant unmasked), with the state at acceptance.
    #[schema(value_type = Object)]
    pub request: ServiceRequest,
    /// The service's name (the newest catalog's).
    #[schema(value_type = Option<Object>)]
    pub service_name: Option<LocalText>,
    /// The name of the officer who accepted it, as the server's roster holds it.
    pub officer_name: Option<String>,
    /// The materials received, by the catalog's names (the code where it has none).
    #[schema(value_type = Vec<Object>)]
    pub material_names: Vec<LocalText>,
    /// The applicant as the registry knows them (name, ID number, phone), when the request
    /// names a member of its household.
    pub applicant_person: Option<DeskPerson>,
    /// The household's address.
    pub address: Option<String>,
    /// Its history as the server received it, oldest first.
    pub events: Vec<DeskEvent>,
    /// The steps the desk may take from here (delivery is the officer's, with the recipient's
    /// signature at the door).
    #[schema(value_type = Vec<String>)]
    pub next: Vec<RequestState>,
}

/// An applicant from the registry (read in full by the desk that handles the application; the
/// read is audited).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskPerson {
    /// Name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Phone.
    pub phone: Option<String>,
}

/// One step of a request's history.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskEvent {
    /// `applied`, `already_there` or `conflict:<reason>`.
    pub outcome: String,
    /// The state it moved to, when it moved.
    #[schema(value_type = Option<String>)]
    pub new_state: Option<RequestState>,
    /// The step asked for (from → to, a reason).
    #[schema(value_type = Option<Object>)]
    pub transition: Option<Transition>,
    /// `desk:<account>` for the station's moves; the officer's device otherwise.
    pub by: String,
    /// When the server received it.
    pub at: DateTime<Utc>,
    /// When the officer made it, by the tablet's clock (a tablet's steps only).
    pub made_at: Option<DateTime<Utc>>,
}

/// The steps a station desk may take on a request: the rule's next states, without the
/// officer's own (delivery at the door, completion on site).
pub fn desk_steps(mode: Mode, state: RequestState) -> Vec<RequestState> {
    next_states(mode, state)
        .into_iter()
        .filter(|s| !matches!(s, RequestState::Delivered | RequestState::CompletedOnSite))
        .collect()
}

fn material_names(state: &AppState, service: &str, codes: &[String]) -> Vec<LocalText> {
    let catalogs = state.catalogs();
    let known = catalogs.last().and_then(|c| c.service(service));
    codes
        .iter()
        .map(|code| {
            known
                .and_then(|s| s.materials.iter().find(|m| &m.code == code))
                .map_or_else(|| LocalText::new(code.clone(), code.clone()), |m| m.name.clone())
        })
        .collect()
}

/// A station's name, as the registry holds it.
async fn station_name(state: &AppState, station: &str) -> Result<Option<LocalText>, ApiError> {
    Ok(state.storage().stations().await?.into_iter().find(|s| s.code == station).map(|s| s.name))
}

/// A station's name and its officers' names by id (lists name officers, not their ids).
async fn roster(state: &AppState, station: &str) -> Result<(Option<LocalText>, HashMap<String, String>), ApiError> {
    let officers = state.storage().officers_of(station).await?;
    let name = station_name(state, station).await?;
    Ok((name, officers.into_iter().map(|o| (o.id, o.name)).collect()))
}

fn service_name(state: &AppState, code: &str) -> Option<LocalText> {
    state.catalogs().last().and_then(|c| c.service(code)).map(|s| s.name.clone())
}

/// A step asked by the desk.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskMove {
    /// The state the desk saw.
    pub from: RequestState,
    /// The state to move to.
    pub to: RequestState,
    /// Why (required to reject).
    #[serde(default)]
    pub reason: Option<String>,
}

/// How the merge rule read a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MoveOutcome {
    /// The request moved.
    Applied,
    /// It was in that state already.
    AlreadyThere,
    /// It could not move (the reason is in `conflict`); kept in the request's history.
    Conflict,
}

/// What became of a step.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskMoved {
    /// Request id.
    pub id: String,
    /// How the merge rule read it.
    pub outcome: MoveOutcome,
    /// Why it could not move, with `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub conflict: Option<ConflictReason>,
    /// The state now.
    #[schema(value_type = String)]
    pub state: RequestState,
}

/// Query of the desk's list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state (e.g. `carried_back`).
    pub state: Option<RequestState>,
    /// At most this many (default 200, at most 1,000).
    pub limit: Option<usize>,
}

/// Sessions last a desk shift.
pub const SESSION_HOURS: i64 = 10;

async fn audit(state: &AppState, actor: &str, action: &str, subject: &str) -> Result<(), ApiError> {
    let entry =
        AuditEntry { at: state.now(), actor: actor.to_owned(), action: action.to_owned(), subject: subject.to_owned() };
    Ok(state.storage().audit(&entry).await?)
}

fn parse(row: &RequestRow) -> Result<ServiceRequest, ApiError> {
    serde_json::from_str(&row.body)
        .map_err(|e| ApiError::from(StorageError::Db(format!("stored request {}: {e}", row.id))))
}

/// The request if it belongs to the station (else `not_found`: another station's requests are
/// not shown to exist).
async fn station_request(state: &AppState, station: &str, id: &str) -> Result<RequestRow, ApiError> {
    match state.storage().request(id).await? {
        Some((r, Some(at))) if at == station => Ok(r),
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, format!("no request {id} at this station"))),
    }
}

#[utoipa::path(post, path = "/accounts/login", tag = "console", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "`bad_credentials`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody),
        (status = 503, description = "`busy`: password checks queued past their deadline", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    wants: Wants,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    // Guessing passwords: a browser that logged in to this account before (its known-client
    // token) has an allowance of its own; any other attempt counts against its address
    // (`Limits::login_address_*`: 30 at once, then one every 5 s — password spraying across
    // accounts) and the account (10, then one every 6 s). A stranger emptying the account's allowance does not lock out its
    // owner's browser.
    let known = body.client.as_deref().and_then(|t| state.known_client(&body.username, t));
    let limits = state.limits();
    let admitted = match &known {
        Some(client) => state.admit_at(crate::app::Limited::KnownClient(client), 1.0 / 6.0, 10.0),
        None => {
            state.admit_at(crate::app::Limited::Address(addr), limits.login_address_rate, limits.login_address_burst)
                && state.admit_at(crate::app::Limited::Login(&body.username), 1.0 / 6.0, 10.0)
        }
    };
    if !admitted {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::RateLimited,
            "too many attempts; wait a minute",
        ));
    }
    let account = state.storage().account(&body.username).await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    // Argon2id is slow and memory-hard on purpose: a bounded number at once, off the workers.
    let ok = state
        .passwords()
        .verify(stored, body.password.clone())
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Code::Busy, e.to_string()))?;
    let Some(account) = account.filter(|_| ok) else {
        audit(&state, &format!("login:{}", body.username), "login_failed", &body.username).await?;
        return Err(ApiError::unauthorized(Code::BadCredentials, "wrong username or password"));
    };
    let token = state.random_hex(32);
    let expires_at = state.now() + chrono::Duration::hours(SESSION_HOURS);
    state.storage().put_session(&sha256_hex(token.as_bytes()), &account.username, expires_at).await?;
    audit(&state, &format!("{}:{}", account.role.as_str(), account.username), "login", &account.username).await?;
    let client = state.known_client_token(&account.username);
    let station_name = match &account.station {
        Some(code) => station_name(&state, code).await?,
        None => None,
    };
    Ok(wants.reply(&LoginResponse {
        token,
        username: account.username,
        role: account.role,
        station: account.station,
        station_name,
        expires_at,
        client,
    }))
}

#[utoipa::path(post, path = "/accounts/logout", tag = "console", security(("bearer" = [])),
    responses((status = 200, description = "the session is ended"), (status = 401, description = "`unauthenticated`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Bearer(token): Bearer,
    wants: Wants,
) -> Result<Response, ApiError> {
    // A token that names no session is refused like everywhere else (an expired one still ends).
    let hash = sha256_hex(token.as_bytes());
    if state.storage().session(&hash).await?.is_none() {
        return Err(ApiError::unauthorized(Code::Unauthenticated, "unknown or ended session"));
    }
    state.storage().drop_session(&hash).await?;
    Ok(wants.reply(&serde_json::json!({ "ended": true })))
}

#[utoipa::path(get, path = "/desk/requests", tag = "console", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = DeskRequests),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_query(format!("?state=<state>&limit=<n>: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let rows = state.storage().requests_at(&desk.station, q.state, limit).await?;
    // The applicant by name (masked): the households named, each read once.
    let mut households: std::collections::HashMap<String, Option<beibao_core::registry::Household>> =
        std::collections::HashMap::new();
    let mut parsed = Vec::with_capacity(rows.len());
    for r in &rows {
        let req = parse(r)?;
        if let Some(h) = &req.household
            && !households.contains_key(h)
        {
            households.insert(h.clone(), state.storage().household(h).await?);
        }
        parsed.push(req);
    }
    let (station_name, officers) = roster(&state, &desk.station).await?;
    let requests = rows
        .iter()
        .zip(parsed)
        .map(|(r, req)| {
            let person = req
                .household
                .as_ref()
                .and_then(|h| households.get(h).and_then(Option::as_ref))
                .and_then(|h| h.members.iter().find(|m| m.id == req.applicant));
            Ok(DeskRequest {
                id: r.id.clone(),
                service: r.service.clone(),
                service_name: service_name(&state, &r.service),
                mode: r.mode,
                state: r.state,
                officer_id: r.officer_id.clone(),
                officer_name: officers.get(&r.officer_id).cloned(),
                applicant: person.map_or_else(|| mask_applicant(&req.applicant), |p| mask_name(&p.name)),
                accepted_at: req.accepted_at,
                received_at: r.received_at,
                updated_at: r.updated_at,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let shown = q.state.map_or_else(|| "*".to_owned(), crate::sqlite::name);
    let subject = format!("{} state={shown} n={}", desk.station, requests.len());
    audit(&state, &desk.actor(), "list_requests", &subject).await?;
    Ok(wants.reply(&DeskRequests { station: desk.station, station_name, requests }))
}

#[utoipa::path(get, path = "/desk/requests/{id}", tag = "console", params(("id" = String, Path, description = "request id")), security(("bearer" = [])),
    responses((status = 200, body = DeskRequestDetail),
        (status = 404, description = "`not_found` (or another station's)", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = station_request(&state, &desk.station, &id).await?;
    let request = parse(&row)?;
    let events = state
        .storage()
        .request_events(&id)
        .await?
        .into_iter()
        .map(|e| DeskEvent {
            outcome: e.outcome,
            new_state: e.new_state,
            transition: e.transition,
            by: e.by,
            at: e.at,
            made_at: e.made_at,
        })
        .collect();
    let household = match &request.household {
        Some(h) => state.storage().household(h).await?,
        None => None,
    };
    let applicant_person = household
        .as_ref()
        .and_then(|h| h.members.iter().find(|m| m.id == request.applicant))
        .map(|m| DeskPerson { name: m.name.clone(), id_number: m.id_number.clone(), phone: m.phone.clone() });
    // Written before the personal data leaves.
    audit(&state, &desk.actor(), "read_request", &id).await?;
    Ok(wants.reply(&DeskRequestDetail {
        state: row.state,
        received_at: row.received_at,
        updated_at: row.updated_at,
        service_name: service_name(&state, &row.service),
        officer_name: state.storage().officer(&row.officer_id).await?.map(|o| o.name),
        material_names: material_names(&state, &row.service, &request.materials),
        applicant_person,
        address: household.map(|h| h.address),
        next: desk_steps(row.mode, row.state),
        events,
        request,
    }))
}

#[utoipa::path(post, path = "/desk/requests/{id}/moves", tag = "console", params(("id" = String, Path, description = "request id")), request_body = DeskMove, security(("bearer" = [])),
    responses((status = 200, description = "the outcome by the merge rule; a conflict is kept, not applied", body = DeskMoved),
        (status = 404, description = "`not_found` (or another station's)", body = beibao_sync::wire::ErrorBody),
        (status = 422, description = "`reason_required`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn moves(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
    Path(id): Path<String>,
    Json(body): Json<DeskMove>,
) -> Result<Response, ApiError> {
    if body.to == RequestState::Rejected && body.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::ReasonRequired,
            "rejecting an application needs the reason the resident will be told",
        ));
    }
    station_request(&state, &desk.station, &id).await?;
    let step = Transition { from: body.from, to: body.to, reason: body.reason, recipient_signature: None };
    // The move and its audit entry commit together.
    let event_id = state.random_hex(16);
    let merged = state.storage().desk_transition(&id, &step, &desk.actor(), &event_id, state.now()).await?;
    let (outcome, conflict) = match merged {
        MergeOutcome::Apply { .. } => (MoveOutcome::Applied, None),
        MergeOutcome::AlreadyThere => (MoveOutcome::AlreadyThere, None),
        MergeOutcome::Conflict { reason } => (MoveOutcome::Conflict, Some(reason)),
    };
    let now = station_request(&state, &desk.station, &id).await?;
    Ok(wants.reply(&DeskMoved { id, outcome, conflict, state: now.state }))
}

/// A service a resident asked for by telephone.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskPhoneIn {
    /// The service's code (the newest catalog's).
    pub service: String,
    /// The household (registry id).
    pub household: String,
    /// The member applying, when the caller said (registry member id).
    #[serde(default)]
    pub applicant: Option<String>,
    /// What the caller said (when to come, what they have ready); at most 500 characters.
    #[serde(default)]
    pub note: String,
}

/// A phoned-in request as the desk lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskPhonedIn {
    /// Its id.
    pub id: String,
    /// The service's code.
    pub service: String,
    /// Its name (the newest catalog's).
    #[schema(value_type = Option<Object>)]
    pub service_name: Option<LocalText>,
    /// The household.
    pub household: String,
    /// The household's village.
    pub village: String,
    /// The household's address.
    pub address: String,
    /// The officer it went to (the village's).
    pub officer_id: String,
    /// Their name.
    pub officer_name: Option<String>,
    /// What the caller said.
    pub note: String,
    /// When the desk took the call.
    pub taken_at: DateTime<Utc>,
    /// Who took it.
    pub taken_by: String,
    /// The request the officer accepted for it, once synced.
    pub request: Option<String>,
}

/// A station's phoned-in requests, newest first, and the services a call may ask for.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskPhonedInList {
    /// The desk's station.
    pub station: String,
    /// Its name.
    #[schema(value_type = Option<Object>)]
    pub station_name: Option<LocalText>,
    /// The calls.
    pub calls: Vec<DeskPhonedIn>,
    /// The newest catalog's services, in its order.
    pub services: Vec<ServiceChoice>,
}

/// A service of the catalog, as a form offers it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ServiceChoice {
    /// Code.
    pub code: String,
    /// Name.
    #[schema(value_type = Object)]
    pub name: LocalText,
}

/// Households found for a call: names masked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskHouseholds {
    /// At most [`MAX_HOUSEHOLD_HITS`], by id.
    pub households: Vec<DeskHousehold>,
}

/// A household as the desk's search shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskHousehold {
    /// Registry id.
    pub id: String,
    /// Village code.
    pub village: String,
    /// Village name.
    pub village_name: Option<String>,
    /// Address.
    pub address: String,
    /// Members, head first, names masked (surname kept).
    pub members: Vec<DeskMember>,
}

/// A member as the search shows them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeskMember {
    /// Registry member id.
    pub id: String,
    /// Name, masked.
    pub name: String,
}

/// The most households one search answers.
pub const MAX_HOUSEHOLD_HITS: usize = 20;

/// A search's text.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HouseholdQuery {
    /// 2 to 50 characters: an address fragment, a member's name, digits of an ID number.
    #[param(min_length = 2, max_length = 50)]
    pub q: String,
}

/// The longest note a phoned-in request keeps.
pub const MAX_PHONE_NOTE: usize = 500;

fn phoned_in_view(
    state: &AppState,
    officers: &HashMap<String, String>,
    r: crate::storage::PhonedInRow,
) -> DeskPhonedIn {
    DeskPhonedIn {
        officer_name: officers.get(&r.officer).cloned(),
        service_name: service_name(state, &r.call.service),
        id: r.call.id,
        service: r.call.service,
        household: r.call.household,
        village: r.village,
        address: r.address,
        officer_id: r.officer,
        note: r.call.note,
        taken_at: r.call.taken_at,
        taken_by: r.call.taken_by,
        request: r.request,
    }
}

#[utoipa::path(post, path = "/desk/phoned-in", tag = "console", request_body = DeskPhoneIn, security(("bearer" = [])),
    responses((status = 200, description = "kept, and offered to the village's officer by pull", body = DeskPhonedIn),
        (status = 422, description = "`unknown_service`, `unknown_place` (no such household), `invalid` (applicant not of the household, note too long), `not_assigned` (the village has no officer)", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden` (another station's village)", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn phone_in(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
    Json(body): Json<DeskPhoneIn>,
) -> Result<Response, ApiError> {
    let unprocessable = |code: Code, message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    // A service unknown here may be in a version published a moment ago through another
    // instance: look before refusing.
    let known = service_name(&state, &body.service).is_some() || {
        state.refresh_catalogs().await?;
        service_name(&state, &body.service).is_some()
    };
    if !known {
        return Err(unprocessable(Code::UnknownService, format!("no service {} in the catalog", body.service)));
    }
    if body.note.chars().count() > MAX_PHONE_NOTE {
        return Err(unprocessable(Code::Invalid, format!("a note has at most {MAX_PHONE_NOTE} characters")));
    }
    let household = state
        .storage()
        .household(&body.household)
        .await?
        .ok_or_else(|| unprocessable(Code::UnknownPlace, format!("no household {}", body.household)))?;
    if let Some(a) = &body.applicant
        && !household.members.iter().any(|m| &m.id == a)
    {
        return Err(unprocessable(Code::Invalid, format!("{a} is not a member of household {}", household.id)));
    }
    let (officer, station) = state
        .storage()
        .village_officer(&household.village)
        .await?
        .ok_or_else(|| unprocessable(Code::NotAssigned, format!("village {} has no officer", household.village)))?;
    if station != desk.station {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            format!("village {} is another station's", household.village),
        ));
    }
    let row = crate::storage::PhonedInRow {
        call: beibao_core::change::PhonedIn {
            id: state.random_hex(16),
            service: body.service,
            household: household.id.clone(),
            applicant: body.applicant,
            note: body.note.trim().to_owned(),
            taken_at: state.now(),
            taken_by: desk.actor(),
        },
        station: desk.station.clone(),
        officer,
        village: household.village,
        address: household.address,
        request: None,
    };
    state.storage().phone_in(&row, state.now()).await?;
    let (_, officers) = roster(&state, &desk.station).await?;
    Ok(wants.reply(&phoned_in_view(&state, &officers, row)))
}

#[utoipa::path(get, path = "/desk/phoned-in", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = DeskPhonedInList),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn phoned_in(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
) -> Result<Response, ApiError> {
    let rows = state.storage().phoned_in_at(&desk.station, 200).await?;
    let (station_name, officers) = roster(&state, &desk.station).await?;
    let calls = rows.into_iter().map(|r| phoned_in_view(&state, &officers, r)).collect();
    let services = state
        .catalogs()
        .last()
        .map(|c| c.services.iter().map(|s| ServiceChoice { code: s.code.clone(), name: s.name.clone() }).collect())
        .unwrap_or_default();
    Ok(wants.reply(&DeskPhonedInList { station: desk.station, station_name, calls, services }))
}

#[utoipa::path(get, path = "/desk/households", tag = "console", params(HouseholdQuery), security(("bearer" = [])),
    responses((status = 200, description = "households of the desk's station, names masked; the search is audited", body = DeskHouseholds),
        (status = 422, description = "`query_too_short` (under 2 characters), `invalid` (over 50)", body = beibao_sync::wire::ErrorBody),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn households(
    State(state): State<AppState>,
    desk: DeskAuth,
    wants: Wants,
    q: Result<Query<HouseholdQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_query(e.body_text()))?;
    let text = q.q.trim();
    let n = text.chars().count();
    if n < 2 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::QueryTooShort, "at least 2 characters"));
    }
    if n > 50 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, "at most 50 characters"));
    }
    let found = state.storage().households_at(&desk.station, text, MAX_HOUSEHOLD_HITS).await?;
    let villages: Vec<String> = found.iter().map(|h| h.village.clone()).collect();
    let names = state.storage().names(crate::report::Level::Village, &villages).await?;
    // The search is a read of the registry: audited (its length, not its text: an ID number's
    // digits are personal data), before the answer.
    audit(&state, &desk.actor(), "search_households", &format!("{} chars={n} hits={}", desk.station, found.len()))
        .await?;
    let households = found
        .into_iter()
        .map(|h| DeskHousehold {
            village_name: names.get(&h.village).map(|n| n.zh.clone()),
            members: h.members.iter().map(|m| DeskMember { id: m.id.clone(), name: mask_name(&m.name) }).collect(),
            id: h.id,
            village: h.village,
            address: h.address,
        })
        .collect();
    Ok(wants.reply(&DeskHouseholds { households }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_masks_id_numbers_and_names() {
        assert_eq!(mask_applicant("370406199001010011"), "370406********0011");
        assert_eq!(mask_applicant(" 37040619900101001X "), "370406********001X");
        assert_eq!(mask_applicant("张明"), "张*");
        assert_eq!(mask_applicant("欧阳志明"), "欧**明");
    }
}
