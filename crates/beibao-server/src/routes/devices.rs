//! Enrollment (a one-time code and the tablet's key) and device auth (a signed challenge for a
//! short-lived bearer token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::canonical::sha256_hex;
use beibao_core::code::Code;
use beibao_sync::wire::{
    self, ChallengeRequest, ChallengeResponse, EnrollCheckRequest, EnrollCheckResponse, EnrollRequest, EnrollResponse,
    ErrorBody, SerialBlock, TokenRequest, TokenResponse,
};

use crate::app::{AppState, code_hash};
use crate::http::{ApiError, Json, Wants};
use crate::storage::Enrollment;

#[utoipa::path(post, path = "/devices/enroll", tag = "devices", request_body = EnrollRequest,
    responses((status = 200, body = EnrollResponse),
        (status = 422, description = "`enrollment_code_invalid`, `enrollment_code_used`, `enrollment_code_expired`, `officer_mismatch`", body = ErrorBody),
        (status = 409, description = "`device_exists`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub(crate) async fn enroll(
    State(state): State<AppState>,
    wants: Wants,
    Json(body): Json<EnrollRequest>,
) -> Result<Response, ApiError> {
    if !state.admit(crate::app::Limited::Enrollment) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many enrollment attempts"));
    }
    // Not 64 hex digits is a malformed body (400, as the schema says); 64 hex digits that are
    // not a point of the curve are a key the server cannot take (422).
    let hex_shaped = body.public_key.len() == 64 && body.public_key.bytes().all(|b| b.is_ascii_hexdigit());
    let status = if hex_shaped { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
    wire::public_key(&body.public_key).map_err(|e| ApiError::new(status, Code::BadPublicKey, e))?;
    if body.device_id.trim().is_empty() || body.device_id.chars().count() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::BadDeviceId, "device id must be 1–100 characters"));
    }
    let e = Enrollment {
        code_hash: code_hash(&body.code),
        device_id: body.device_id.clone(),
        officer_id: body.officer_id.clone(),
        public_key: body.public_key.clone(),
    };
    let (start, end) = state.storage().enroll(&e, state.now()).await?;
    let year = state.now().format("%Y");
    let resp = EnrollResponse {
        device_id: body.device_id,
        officer_id: body.officer_id,
        server_key: state.public_key(),
        serials: SerialBlock { prefix: format!("SHT-{year}-"), start, end },
    };
    Ok(wants.reply(&resp))
}

#[utoipa::path(post, path = "/devices/enroll/check", tag = "devices", request_body = EnrollCheckRequest,
    responses((status = 200, body = EnrollCheckResponse),
        (status = 422, description = "`enrollment_code_invalid`, `enrollment_code_used`, `enrollment_code_expired`", body = ErrorBody),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
/// Whom a usable code is for, so the officer confirms it is them before the tablet makes its
/// store; the code stays unused. Shares the enrollment rate limit (codes cannot be guessed
/// faster through it).
pub(crate) async fn enroll_check(
    State(state): State<AppState>,
    wants: Wants,
    Json(body): Json<EnrollCheckRequest>,
) -> Result<Response, ApiError> {
    if !state.admit(crate::app::Limited::Enrollment) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many enrollment attempts"));
    }
    let code = state.storage().code(&code_hash(&body.code)).await?;
    let code = crate::plan::usable_code(code.as_ref(), state.now())?;
    let officer = state.storage().officer(&code.officer_id).await?.ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::UnknownOfficer, "the code's officer left the registry")
    })?;
    let stations = state.storage().stations().await?;
    let station_name = stations
        .iter()
        .find(|s| s.code == officer.station)
        .map_or_else(|| officer.station.clone(), |s| s.name.zh.clone());
    let resp = EnrollCheckResponse {
        officer_id: officer.id,
        officer_name: officer.name,
        badge: officer.badge,
        station_name,
        expires_at: code.expires_at,
    };
    Ok(wants.reply(&resp))
}

#[utoipa::path(post, path = "/auth/challenge", tag = "auth", request_body = ChallengeRequest,
    responses((status = 200, body = ChallengeResponse), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub(crate) async fn challenge(
    State(state): State<AppState>,
    wants: Wants,
    Json(body): Json<ChallengeRequest>,
) -> Result<Response, ApiError> {
    let device = state.storage().device(&body.device_id).await?;
    match device {
        None => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, Code::Unauthenticated, "unknown device; enroll first"));
        }
        Some(d) if d.revoked => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Code::Revoked,
                "this device was revoked; wipe its keys",
            ));
        }
        Some(_) => {}
    }
    if !state.admit(crate::app::Limited::Device(&body.device_id)) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many requests; slow down"));
    }
    let challenge = state.random_hex(32);
    let expires_at = state.now() + state.limits().challenge_ttl;
    state.storage().put_challenge(&body.device_id, &challenge, expires_at).await?;
    Ok(wants.reply(&ChallengeResponse { challenge, expires_at }))
}

#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, description = "`unauthenticated`, `revoked`, `bad_challenge`, `bad_signature`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub(crate) async fn token(
    State(state): State<AppState>,
    wants: Wants,
    Json(body): Json<TokenRequest>,
) -> Result<Response, ApiError> {
    let unauth = |code: Code, m: &str| ApiError::unauthorized(code, m);
    let device = state
        .storage()
        .device(&body.device_id)
        .await?
        .ok_or_else(|| unauth(Code::Unauthenticated, "unknown device"))?;
    if device.revoked {
        return Err(unauth(Code::Revoked, "this device was revoked; wipe its keys"));
    }
    if !state.storage().take_challenge(&device.id, &body.challenge, state.now()).await? {
        return Err(unauth(Code::BadChallenge, "the challenge is unknown, used or expired"));
    }
    wire::verify(&device.public_key, &wire::auth_message(&device.id, &body.challenge), &body.signature)
        .map_err(|e| unauth(Code::BadSignature, &e))?;
    let token = state.random_hex(32);
    let expires_at = state.now() + state.limits().token_ttl;
    state.storage().put_token(&sha256_hex(token.as_bytes()), &device.id, expires_at).await?;
    Ok(wants.reply(&TokenResponse { token, expires_at }))
}
