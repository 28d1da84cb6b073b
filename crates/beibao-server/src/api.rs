//! The HTTP API (axum 0.8), versioned under `/api/v1`. Every failure answers with the one error
//! shape `{code, message}`; bodies are JSON, zstd-compressed when the client says so.

use beibao_core::code::Code;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::Catalog;
use beibao_core::clock::Clock;
use beibao_core::registry::Registry;
use beibao_sync::wire::{
    self, BlobStatus, ChallengeRequest, ChallengeResponse, EnrollRequest, EnrollResponse, ErrorBody, LastSeqResponse,
    PullResponse, PushRequest, PushResponse, Receipt, SerialBlock, TokenRequest, TokenResponse,
};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::plan::{BatchError, Device};
use crate::storage::{Appended, Enrollment, Storage, StorageError};

/// Where random bytes come from (tokens, challenges, codes); injected for deterministic tests.
pub trait Random: Send + Sync {
    /// Fill the buffer.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's randomness.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS source failing is not recoverable for a server that mints credentials.
        if let Err(e) = getrandom::fill(buf) {
            panic!("operating system randomness failed: {e}");
        }
    }
}

/// Limits and lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (compressed), bytes.
    pub max_body: usize,
    /// Requests per device per second (token bucket refill).
    pub rate_per_s: f64,
    /// Bucket size.
    pub burst: f64,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Challenge lifetime.
    pub challenge_ttl: Duration,
    /// Largest pull page.
    pub max_pull: usize,
    /// How often [`serve`] looks for a catalog published while it runs.
    pub catalog_poll: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: wire::MAX_BODY_BYTES,
            rate_per_s: 50.0,
            burst: 100.0,
            token_ttl: Duration::minutes(15),
            challenge_ttl: Duration::minutes(2),
            max_pull: 2_000,
            catalog_poll: std::time::Duration::from_secs(30),
        }
    }
}

/// The shared state of the app.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    /// The published catalogs ops are checked against, oldest first (see
    /// [`crate::plan::check_op`]); [`AppState::refresh_catalogs`] picks up new versions.
    catalogs: std::sync::RwLock<Arc<Vec<Catalog>>>,
    limits: Limits,
    buckets: Mutex<crate::buckets::Buckets>,
    /// Officer id → station code, from the registry the server was started with.
    stations: HashMap<String, String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("backend", &self.inner.storage.backend()).finish()
    }
}

impl AppState {
    /// Build the state: the server key comes from storage (made on first start), the catalog is
    /// the newest published one, or `catalog` published now when none is.
    pub async fn new(
        storage: Arc<dyn Storage>,
        catalog: &Catalog,
        registry: &Registry,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        limits: Limits,
    ) -> Result<AppState, StorageError> {
        let mut fresh = [0u8; 32];
        random.fill(&mut fresh);
        let seed = storage.server_seed(fresh).await?;
        let mut catalogs = storage.catalogs().await?;
        if catalogs.is_empty() {
            storage.publish_catalog(catalog, clock.now()).await?;
            catalogs.push(catalog.clone());
        }
        Ok(AppState {
            inner: Arc::new(Inner {
                storage,
                key: SigningKey::from_bytes(&seed),
                clock,
                random,
                catalogs: std::sync::RwLock::new(Arc::new(catalogs)),
                limits,
                buckets: Mutex::new(crate::buckets::Buckets::new(MAX_BUCKETS)),
                stations: registry.officers.iter().map(|o| (o.id.clone(), o.station.clone())).collect(),
            }),
        })
    }

    /// The station of an officer.
    pub fn station_of(&self, officer_id: &str) -> Option<&str> {
        self.inner.stations.get(officer_id).map(String::as_str)
    }

    /// The officers of a station.
    pub fn officers_of(&self, station: &str) -> Vec<String> {
        let mut v: Vec<String> =
            self.inner.stations.iter().filter(|(_, s)| s.as_str() == station).map(|(o, _)| o.clone()).collect();
        v.sort();
        v
    }

    /// The catalog versions ops are checked against, oldest first.
    pub fn catalogs(&self) -> Arc<Vec<Catalog>> {
        match self.inner.catalogs.read() {
            Ok(c) => Arc::clone(&c),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Take in catalogs published since the last look (by `beibao-server publish-catalog`, from
    /// another process). Returns the versions now held, oldest first.
    pub async fn refresh_catalogs(&self) -> Result<Vec<String>, StorageError> {
        let stored = self.inner.storage.catalogs().await?;
        let held = self.catalogs();
        if stored.len() > held.len() {
            let fresh = Arc::new(stored);
            match self.inner.catalogs.write() {
                Ok(mut c) => *c = fresh,
                Err(p) => *p.into_inner() = fresh,
            }
        }
        Ok(self.catalogs().iter().map(|c| c.version.clone()).collect())
    }

    /// The storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    /// The server's public key (hex): receipts verify with it.
    pub fn public_key(&self) -> String {
        wire::public_hex(&self.inner.key)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn random_hex(&self, n: usize) -> String {
        let mut buf = vec![0u8; n];
        self.inner.random.fill(&mut buf);
        hex::encode(buf)
    }

    /// Make a one-time enrollment code for an officer, valid for `ttl`. Only its hash is stored.
    pub async fn issue_enrollment_code(&self, officer_id: &str, ttl: Duration) -> Result<String, StorageError> {
        const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        let mut raw = [0u8; 12];
        self.inner.random.fill(&mut raw);
        let chars: String = raw.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect();
        let code = format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]);
        let now = self.now();
        self.inner.storage.issue_code(&code_hash(&code), officer_id, now + ttl, now).await?;
        Ok(code)
    }

    /// Take a token from the device's bucket; false when it is empty.
    pub(crate) fn admit(&self, key: &str) -> bool {
        let Limits { rate_per_s, burst, .. } = self.inner.limits;
        self.admit_at(key, rate_per_s, burst)
    }

    /// Take a token from a bucket of its own rate; false when it is empty.
    pub(crate) fn admit_at(&self, key: &str, rate_per_s: f64, burst: f64) -> bool {
        let now = self.now();
        let mut buckets = self.inner.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.admit(key, now, rate_per_s, burst)
    }
}

/// The most rate-limit buckets held (devices and login names); past it, refilled buckets are
/// dropped and, while all are live, new keys are refused (a flood of made-up names stays bounded).
const MAX_BUCKETS: usize = 100_000;

/// The canonical form of a code (upper case, no separators), hashed.
pub fn code_hash(code: &str) -> String {
    let norm: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    sha256_hex(norm.as_bytes())
}

/// An API failure: status and the one error shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error.
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code, message: message.into(), expect_seq: None, offset: None } }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::Db(m) => {
                eprintln!("beibao-server: storage error: {m}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::StorageUnavailable,
                    "the server's storage failed; retry later",
                )
            }
            StorageError::Refused(code, m) => {
                let status = match code {
                    Code::NotFound | Code::UnknownDevice => StatusCode::NOT_FOUND,
                    Code::DeviceExists | Code::AccountExists | Code::CatalogVersionExists => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, code, m)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, serde_json::to_vec(&self.body).unwrap_or_default()).into_response();
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

fn wants_zstd(headers: &HeaderMap) -> bool {
    headers
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "zstd"))
}

/// A JSON answer, compressed when the client accepts zstd.
pub(crate) fn reply<T: Serialize>(headers: &HeaderMap, value: &T) -> Response {
    let mut resp = if wants_zstd(headers) {
        let mut r = Response::new(Body::from(wire::encode(value)));
        r.headers_mut().insert(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        r
    } else {
        Response::new(Body::from(serde_json::to_vec(value).unwrap_or_default()))
    };
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A refused body is still read (and dropped) up to this much, so a client that is still sending
/// gets the 413 rather than a connection reset under its feet.
const DRAIN_MAX: usize = 64 * 1024 * 1024;

async fn read_body(state: &AppState, req: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    use http_body_util::BodyExt;
    let (parts, mut body) = req.into_parts();
    let limit = state.inner.limits.max_body;
    let declared = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, Code::IncompleteBody, format!("reading the body: {e}"))
        })?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen > DRAIN_MAX {
            break;
        }
        if seen <= limit && declared.is_none_or(|d| d <= limit) {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit || declared.is_some_and(|d| d > limit) {
        return Err(too_large(limit));
    }
    Ok((parts.headers, Bytes::from(buf)))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge,
        format!("request bodies are limited to {limit} bytes"),
    )
}

/// Read a JSON body (zstd or plain), with a clear error for each way it can be wrong.
pub(crate) async fn json_body<T: DeserializeOwned>(state: &AppState, req: Request) -> Result<(HeaderMap, T), ApiError> {
    let (headers, bytes) = read_body(state, req).await?;
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            format!("expected Content-Type application/json, got `{ct}`"),
        ));
    }
    let json = match headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
        None | Some("identity") => bytes.to_vec(),
        Some("zstd") => wire::decompress(&bytes, wire::MAX_JSON_BYTES).map_err(|e| {
            if e.contains("exceeds") {
                too_large(wire::MAX_JSON_BYTES)
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, Code::BadEncoding, e)
            }
        })?,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedEncoding,
                format!("Content-Encoding `{other}` is not supported (use zstd)"),
            ));
        }
    };
    let value = serde_json::from_slice(&json).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.contains("unknown field") {
            Code::UnknownField
        } else if e.is_syntax() || e.is_eof() {
            Code::MalformedJson
        } else {
            Code::InvalidBody
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, msg)
    })?;
    Ok((headers, value))
}

/// The device behind a bearer token, rate limited.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let unauth = |code: Code, m: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, m);
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauth(Code::Unauthenticated, "a bearer token is required"))?;
    let (device, expires) = state
        .inner
        .storage
        .token(&sha256_hex(token.as_bytes()))
        .await?
        .ok_or_else(|| unauth(Code::Unauthenticated, "unknown token"))?;
    if device.revoked {
        return Err(unauth(Code::Revoked, "this device was revoked; wipe its keys"));
    }
    if expires < state.now() {
        return Err(unauth(Code::TokenExpired, "the token expired; sign a new challenge"));
    }
    if !state.admit(&device.id) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many requests; slow down"));
    }
    Ok(device)
}

#[utoipa::path(post, path = "/devices/enroll", tag = "devices", request_body = EnrollRequest,
    responses((status = 200, body = EnrollResponse),
        (status = 422, description = "`enrollment_code_invalid`, `enrollment_code_used`, `enrollment_code_expired`, `officer_mismatch`", body = ErrorBody),
        (status = 409, description = "`device_exists`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn enroll(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (headers, body): (_, EnrollRequest) = json_body(&state, req).await?;
    if !state.admit("enroll") {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many enrollment attempts"));
    }
    wire::public_key(&body.public_key).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, Code::BadPublicKey, e))?;
    if body.device_id.trim().is_empty() || body.device_id.len() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::BadDeviceId, "device id must be 1–100 characters"));
    }
    let e = Enrollment {
        code_hash: code_hash(&body.code),
        device_id: body.device_id.clone(),
        officer_id: body.officer_id.clone(),
        public_key: body.public_key.clone(),
    };
    let (start, end) = state.inner.storage.enroll(&e, state.now()).await?;
    let year = state.now().format("%Y");
    let resp = EnrollResponse {
        device_id: body.device_id,
        officer_id: body.officer_id,
        server_key: state.public_key(),
        serials: SerialBlock { prefix: format!("SHT-{year}-"), start, end },
    };
    Ok(reply(&headers, &resp))
}

#[utoipa::path(post, path = "/auth/challenge", tag = "auth", request_body = ChallengeRequest,
    responses((status = 200, body = ChallengeResponse), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn challenge(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (headers, body): (_, ChallengeRequest) = json_body(&state, req).await?;
    let device = state.inner.storage.device(&body.device_id).await?;
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
    if !state.admit(&body.device_id) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, "too many requests; slow down"));
    }
    let challenge = state.random_hex(32);
    let expires_at = state.now() + state.inner.limits.challenge_ttl;
    state.inner.storage.put_challenge(&body.device_id, &challenge, expires_at).await?;
    Ok(reply(&headers, &ChallengeResponse { challenge, expires_at }))
}

#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, description = "`unauthenticated`, `revoked`, `bad_challenge`, `bad_signature`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn token(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (headers, body): (_, TokenRequest) = json_body(&state, req).await?;
    let unauth = |code: Code, m: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, m);
    let device = state
        .inner
        .storage
        .device(&body.device_id)
        .await?
        .ok_or_else(|| unauth(Code::Unauthenticated, "unknown device"))?;
    if device.revoked {
        return Err(unauth(Code::Revoked, "this device was revoked; wipe its keys"));
    }
    if !state.inner.storage.take_challenge(&device.id, &body.challenge, state.now()).await? {
        return Err(unauth(Code::BadChallenge, "the challenge is unknown, used or expired"));
    }
    wire::verify(&device.public_key, &wire::auth_message(&device.id, &body.challenge), &body.signature)
        .map_err(|e| unauth(Code::BadSignature, &e))?;
    let token = state.random_hex(32);
    let expires_at = state.now() + state.inner.limits.token_ttl;
    state.inner.storage.put_token(&sha256_hex(token.as_bytes()), &device.id, expires_at).await?;
    Ok(reply(&headers, &TokenResponse { token, expires_at }))
}

#[utoipa::path(get, path = "/sync/last-seq", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = LastSeqResponse), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
async fn last_seq(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let device = authenticate(&state, &headers).await?;
    Ok(reply(&headers, &LastSeqResponse { device_id: device.id, last_seq: device.last_seq }))
}

#[utoipa::path(post, path = "/sync/push", tag = "sync", request_body = PushRequest, security(("bearer" = [])),
    responses((status = 200, description = "per-op results and the signed receipt", body = PushResponse),
        (status = 403, description = "`wrong_device`", body = ErrorBody),
        (status = 409, description = "`seq_gap` with `expect_seq`", body = ErrorBody),
        (status = 400, description = "`invalid_batch`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn push(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let device = authenticate(&state, req.headers()).await?;
    let (headers, batch): (_, PushRequest) = json_body(&state, req).await?;
    if batch.device_id != device.id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, Code::WrongDevice, "the batch names another device"));
    }
    if batch.batch_id.is_empty() || batch.batch_id.len() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, "batch_id must be 1–100 characters"));
    }
    if let Err(BatchError::Invalid(m)) = crate::plan::check_shape(&batch.ops) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, m));
    }
    let now = state.now();
    // Everything an op can be judged on alone is checked here, outside the storage transaction.
    let checks = crate::plan::check_all(&batch.ops, &device, &state.catalogs());
    let first_seq = batch.ops[0].seq;
    let pushed = match state.inner.storage.push(&device.id, &batch.batch_id, batch.ops, checks, now).await? {
        Ok(p) => p,
        Err(BatchError::Gap { expect_seq }) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                Code::SeqGap,
                format!("the batch starts at seq {first_seq}; the server expects {expect_seq}"),
            );
            e.body.expect_seq = Some(expect_seq);
            return Err(e);
        }
        Err(BatchError::Invalid(m)) => return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, m)),
    };
    let receipt = Receipt::sign(&state.inner.key, &device.id, &batch.batch_id, &pushed.results, now);
    let resp = PushResponse {
        device_id: device.id,
        batch_id: batch.batch_id,
        last_seq: pushed.last_seq,
        results: pushed.results,
        receipt,
    };
    Ok(reply(&headers, &resp))
}

/// Query of a pull.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// Cursor to read after.
    pub cursor: i64,
    /// Page size.
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/sync/pull", tag = "sync", params(PullQuery), security(("bearer" = [])),
    responses((status = 200, body = PullResponse), (status = 400, description = "`bad_query`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let device = authenticate(&state, &headers).await?;
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::BadQuery,
            format!("pull needs ?cursor=<integer>[&limit=<n>]: {}", e.body_text()),
        )
    })?;
    if q.cursor < 0 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::BadQuery, "cursor is never negative"));
    }
    let limit = q.limit.unwrap_or(500).clamp(1, state.inner.limits.max_pull);
    let (changes, more) = state.inner.storage.pull(&device.officer_id, q.cursor, limit).await?;
    let cursor = changes.last().map_or(q.cursor, |c| c.cursor);
    Ok(reply(&headers, &PullResponse { device_id: device.id, cursor, changes, more }))
}

fn check_sha(sha: &str) -> Result<(), ApiError> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::BAD_REQUEST, Code::BadSha256, "a blob is named by 64 lower-case hex characters"))
    }
}

#[utoipa::path(get, path = "/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path, description = "SHA-256, lower-case hex")),
    security(("bearer" = [])),
    responses((status = 200, body = BlobStatus), (status = 400, description = "`bad_sha256`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
async fn blob_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers).await?;
    check_sha(&sha)?;
    let row = state.inner.storage.blob(&sha).await?;
    let status =
        BlobStatus { sha256: sha, offset: row.map_or(0, |r| r.offset), complete: row.is_some_and(|r| r.complete) };
    Ok(reply(&headers, &status))
}

/// Query of a chunk upload.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChunkQuery {
    /// Where the chunk starts.
    pub offset: u64,
    /// The blob's whole size.
    pub size: u64,
}

#[utoipa::path(put, path = "/blobs/{sha256}", tag = "blobs",
    params(("sha256" = String, Path, description = "SHA-256, lower-case hex"), ChunkQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, body = BlobStatus),
        (status = 409, description = "`blob_offset` with the `offset` held", body = ErrorBody),
        (status = 422, description = "`blob_hash_mismatch`, `blob_size`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn blob_put(
    State(state): State<AppState>,
    Path(sha): Path<String>,
    query: Result<Query<ChunkQuery>, QueryRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    authenticate(&state, req.headers()).await?;
    check_sha(&sha)?;
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::BadQuery,
            format!("a chunk needs ?offset=<n>&size=<total>: {}", e.body_text()),
        )
    })?;
    if q.size == 0 || q.size > wire::MAX_BLOB_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("blobs are 1 to {} bytes", wire::MAX_BLOB_BYTES),
        ));
    }
    let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if ct != "application/octet-stream" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            format!("expected application/octet-stream, got `{ct}`"),
        ));
    }
    let (headers, bytes) = read_body(&state, req).await?;
    match state.inner.storage.blob_append(&sha, q.size, q.offset, &bytes, state.now()).await {
        Ok(Appended::Stored(row)) => {
            Ok(reply(&headers, &BlobStatus { sha256: sha, offset: row.offset, complete: row.complete }))
        }
        Ok(Appended::HashMismatch) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::BlobHashMismatch,
            "the bytes do not hash to the blob's name; upload it again from offset 0",
        )),
        Err(StorageError::Refused(Code::BlobOffset, held)) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                Code::BlobOffset,
                format!("the server holds {held} bytes; resume there"),
            );
            e.body.offset = held.parse().ok();
            Err(e)
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, description = "the server is up")))]
async fn health(State(state): State<AppState>, headers: HeaderMap) -> Response {
    reply(&headers, &serde_json::json!({ "status": "ok", "backend": state.inner.storage.backend() }))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, Code::MethodNotAllowed, "this endpoint does not take that method")
}

/// The OpenAPI document's frame; the paths come from the handlers as they are routed.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Beibao API", version = "1", description = "Sync protocol v1 (enrollment, device auth, push, pull, blobs) and the station desk (login, requests, moves). Every failure answers `{code, message}`."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document describing exactly them (utoipa-axum registers each
/// handler and its documentation together, so they cannot drift apart).
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    let api = OpenApiRouter::<AppState>::new()
        .routes(routes!(health))
        .routes(routes!(enroll))
        .routes(routes!(challenge))
        .routes(routes!(token))
        .routes(routes!(last_seq))
        .routes(routes!(push))
        .routes(routes!(pull))
        .routes(routes!(blob_status, blob_put))
        .routes(routes!(crate::desk::login))
        .routes(routes!(crate::desk::logout))
        .routes(routes!(crate::desk::list))
        .routes(routes!(crate::desk::detail))
        .routes(routes!(crate::desk::moves));
    let (router, mut doc) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(wire::API_PREFIX, api).split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    (router, doc)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The router, every route under `/api/v1`, and the OpenAPI document at `/api/v1/openapi.json`.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes();
    let doc = Arc::new(doc.to_json().unwrap_or_default());
    router
        .route(
            &format!("{}/openapi.json", wire::API_PREFIX),
            get(move || {
                let doc = doc.clone();
                async move { ([(CONTENT_TYPE, "application/json")], doc.as_ref().clone()) }
            }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// Serve the app on a bound listener until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    // Catalogs published while serving are taken in every `catalog_poll`; a failed look (the
    // database away for a moment) is retried at the next tick.
    let watcher = state.clone();
    let poll = tokio::spawn(async move {
        let every = watcher.inner.limits.catalog_poll;
        // The first look one period after start (the state was built with the current list).
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = watcher.refresh_catalogs().await {
                eprintln!("beibao-server: catalog refresh: {e}");
            }
        }
    });
    let served = axum::serve(listener, app(state)).await;
    poll.abort();
    served
}
