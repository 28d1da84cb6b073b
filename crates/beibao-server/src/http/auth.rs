//! Who is calling: a handler that takes [`DeviceAuth`] serves enrolled, unrevoked devices with a
//! live token; one that takes [`DeskAuth`] serves a station desk's session (and knows its
//! station), [`SupervisorAuth`] a supervisor's (and the station they report on, if one). Each is
//! rate limited per caller before the handler runs.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use beibao_core::canonical::sha256_hex;
use beibao_core::code::Code;

use super::ApiError;
use crate::app::AppState;
use crate::plan::Device;
use crate::storage::{Account, Role};

/// The bearer token of a request.
#[derive(Debug, Clone)]
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Bearer, ApiError> {
        parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Bearer(t.to_owned()))
            .ok_or_else(|| ApiError::unauthorized(Code::Unauthenticated, "a bearer token is required"))
    }
}

/// An enrolled device behind a live token (as the device is now: a revocation shows at once).
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<DeviceAuth, ApiError> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let (device, expires) = state
            .storage()
            .token(&sha256_hex(token.as_bytes()))
            .await?
            .ok_or_else(|| ApiError::unauthorized(Code::Unauthenticated, "unknown token"))?;
        if device.revoked {
            return Err(ApiError::unauthorized(Code::Revoked, "this device was revoked; wipe its keys"));
        }
        if expires < state.now() {
            return Err(ApiError::unauthorized(Code::TokenExpired, "the token expired; sign a new challenge"));
        }
        if !state.admit(crate::app::Limited::Device(&device.id)) {
            return Err(ApiError::rate_limited("too many requests; slow down"));
        }
        tracing::Span::current().record("caller", tracing::field::display(&device.id));
        Ok(DeviceAuth(device))
    }
}

/// A station desk's session: the account and its station.
#[derive(Debug, Clone)]
pub struct DeskAuth {
    /// The account.
    pub account: Account,
    /// Its station.
    pub station: String,
}

impl DeskAuth {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("desk:{}", self.account.username)
    }
}

/// The account of a console session (a bearer token of `POST /accounts/login`), not expired,
/// within its request allowance.
async fn console_account(parts: &mut Parts, state: &AppState) -> Result<Account, ApiError> {
    let token = Bearer::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::unauthorized(Code::Unauthenticated, "log in first: a bearer token is required"))?;
    let (account, expires) = state
        .storage()
        .session(&sha256_hex(token.0.as_bytes()))
        .await?
        .ok_or_else(|| ApiError::unauthorized(Code::Unauthenticated, "unknown or ended session; log in again"))?;
    if expires < state.now() {
        return Err(ApiError::unauthorized(Code::SessionExpired, "the session ended; log in again"));
    }
    if !state.admit(crate::app::Limited::Account(&account.username)) {
        return Err(ApiError::rate_limited("too many requests; slow down"));
    }
    tracing::Span::current()
        .record("caller", tracing::field::display(format_args!("{}:{}", account.role.as_str(), account.username)));
    Ok(account)
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, Code::Forbidden, message)
}

impl FromRequestParts<AppState> for DeskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<DeskAuth, ApiError> {
        let account = console_account(parts, state).await?;
        if account.role != Role::Desk {
            return Err(forbidden("these endpoints are for station desk accounts"));
        }
        let Some(station) = account.station.clone() else {
            return Err(forbidden("this desk account names no station"));
        };
        Ok(DeskAuth { account, station })
    }
}

/// A supervisor's session: the account, and its station for a station supervisor (`None`: the
/// bureau's, who sees the district).
#[derive(Debug, Clone)]
pub struct SupervisorAuth {
    /// The account.
    pub account: Account,
    /// The station it reports on, if only one.
    pub station: Option<String>,
}

impl SupervisorAuth {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("supervisor:{}", self.account.username)
    }
}

impl FromRequestParts<AppState> for SupervisorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SupervisorAuth, ApiError> {
        let account = console_account(parts, state).await?;
        if account.role != Role::Supervisor {
            return Err(forbidden("these endpoints are for supervisor accounts"));
        }
        let station = account.station.clone();
        Ok(SupervisorAuth { account, station })
    }
}

/// An administrator's session.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// The account.
    pub account: Account,
}

impl AdminAuth {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.account.username)
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AdminAuth, ApiError> {
        let account = console_account(parts, state).await?;
        if account.role != Role::Admin {
            return Err(forbidden("these endpoints are for administrator accounts"));
        }
        Ok(AdminAuth { account })
    }
}
