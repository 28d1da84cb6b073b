//! Push (a batch of ops for per-op results and a signed receipt), pull (changes after a cursor)
//! and the device's last seq.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::clock::Received;
use beibao_core::code::Code;
use beibao_sync::wire::{
    self, ErrorBody, LastSeqResponse, OpResult, PullResponse, PushRequest, PushRequestV2, PushResponse, PushResponseV2,
    Receipt, WireOp,
};

use crate::app::AppState;
use crate::http::{ApiError, DeviceAuth, Json, Wants, decode, encoding, json_body, octet_stream};
use crate::plan::{BatchError, Device};
use crate::routes::blobs::{Kept, read_keeping};

#[utoipa::path(get, path = "/sync/last-seq", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = LastSeqResponse,
            headers(("beibao-sync" = String, description = "The sync protocols the server speaks: `1, 2`. A tablet pushes with `POST /sync/v2/push` only when `2` is named here."))),
        (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
pub(crate) async fn last_seq(DeviceAuth(device): DeviceAuth, wants: Wants) -> Result<Response, ApiError> {
    let mut resp = wants.reply(&LastSeqResponse { device_id: device.id, last_seq: device.last_seq });
    resp.headers_mut().insert(wire::PROTOCOLS_HEADER, axum::http::HeaderValue::from_static(wire::PROTOCOLS));
    Ok(resp)
}

#[utoipa::path(post, path = "/sync/push", tag = "sync", request_body = PushRequest, security(("bearer" = [])),
    responses((status = 200, description = "per-op results and the signed receipt", body = PushResponse),
        (status = 403, description = "`wrong_device`", body = ErrorBody),
        (status = 409, description = "`seq_gap` with `expect_seq`", body = ErrorBody),
        (status = 400, description = "`invalid_batch`: no ops, more than 5,000, a seq below 1", body = ErrorBody), (status = 422, description = "`invalid_batch`: seqs not contiguous", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub(crate) async fn push(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    Json(batch): Json<PushRequest>,
) -> Result<Response, ApiError> {
    let (device_id, batch_id) = (device.id.clone(), batch.batch_id.clone());
    let (results, last_seq, now) =
        commit(&state, device, &batch.device_id, &batch.batch_id, batch.ops, batch.sent_at).await?;
    let receipt = Receipt::sign(state.key(), &device_id, &batch_id, &results, now);
    Ok(wants.reply(&PushResponse { device_id, batch_id, last_seq, results, receipt }))
}

#[utoipa::path(post, path = "/sync/v2/push", tag = "sync", request_body = PushRequestV2, security(("bearer" = [])),
    params(("beibao-body" = Option<String>, Header, description = "The SHA-256 (hex) of the body's bytes as sent: a body cut half-way is then kept, and the tablet sends the rest with `PUT /sync/v2/push/{sha256}`.")),
    responses((status = 200, description = "the results as ranges of seqs applied and of duplicates and the rejections one by one, and the signed receipt with the digest of the payloads committed", body = PushResponseV2),
        (status = 403, description = "`wrong_device`", body = ErrorBody),
        (status = 409, description = "`seq_gap` with `expect_seq`", body = ErrorBody),
        (status = 400, description = "`invalid_batch`: no ops, more than 5,000, `first_seq` below 1", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`, `incomplete_body`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
/// Protocol v2: the same batch without a seq, an op id or a hash per op (see [`PushRequestV2`]);
/// checked and committed exactly as a v1 batch. A body named by its hash (`beibao-body`) and cut
/// half-way is kept as the device's unfinished upload of that hash: the tablet resumes it with
/// [`push_v2_resume`] instead of sending it again from its first byte.
pub(crate) async fn push_v2(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    json_body(&parts.headers)?;
    let encoding = encoding(&parts.headers);
    // Only a zstd body is kept for resuming (the rest route decodes zstd).
    let named = parts
        .headers
        .get(wire::PUSH_BODY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| crate::routes::blobs::check_sha(s).is_ok() && encoding.as_deref() == Some("zstd"))
        .map(str::to_owned);
    let declared =
        parts.headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let kept = named.zip(declared.filter(|&d| d <= state.limits().max_body as u64)).map(|(sha256, total)| Kept {
        sha256,
        total,
        offset: 0,
    });
    let bytes = read_keeping(&state, &device.id, kept, parts.headers, body).await?;
    let batch: PushRequestV2 = decode(encoding, bytes).await?;
    push_v2_batch(&state, device, wants, batch).await
}

/// Query of a push body's rest.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RestQuery {
    /// Where the rest starts: the bytes the server holds (`GET /blobs/{sha256}` says).
    pub offset: u64,
    /// The body's whole size (1 byte to 4 MiB).
    #[param(minimum = 1, maximum = 4_194_304)]
    pub size: u64,
}

#[utoipa::path(put, path = "/sync/v2/push/{sha256}", tag = "sync",
    params(("sha256" = String, Path, description = "SHA-256 (hex) of the whole body as first sent", pattern = "^[0-9a-f]{64}$"), RestQuery),
    request_body(content = inline(crate::routes::blobs::ChunkBytes), content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, description = "the body is whole: the batch's answer, as `POST /sync/v2/push` gives it", body = PushResponseV2),
        (status = 409, description = "`blob_offset` with the `offset` held (the rest starts elsewhere, or more is still to come); `seq_gap` with `expect_seq`", body = ErrorBody),
        (status = 422, description = "`blob_hash_mismatch`: the whole does not hash to its name (send the batch again); `blob_size`: more bytes than the body's size", body = ErrorBody),
        (status = 403, description = "`wrong_device`", body = ErrorBody),
        (status = 400, description = "`bad_sha256`, `bad_query`, `invalid_batch`, `malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`, `incomplete_body`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
/// The rest of a v2 push body (zstd JSON) that was cut half-way: appended to what the server
/// kept; once whole and hashing to its name, decoded and committed as [`push_v2`] does.
pub(crate) async fn push_v2_resume(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    Path(sha): Path<String>,
    query: Result<Query<RestQuery>, QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    crate::routes::blobs::check_sha(&sha)?;
    let Query(q) = query
        .map_err(|e| ApiError::bad_query(format!("the rest needs ?offset=<n>&size=<total>: {}", e.body_text())))?;
    if q.size == 0 || q.size > state.limits().max_body as u64 {
        return Err(ApiError::too_large(state.limits().max_body));
    }
    let (parts, body) = request.into_parts();
    octet_stream(&parts.headers)?;
    let storage = state.storage().clone();
    let held = storage.upload_bytes(&sha, &device.id).await?;
    if held.len() as u64 != q.offset {
        return Err(offset_held(held.len() as u64, q.size));
    }
    let kept = Kept { sha256: sha.clone(), total: q.size, offset: q.offset };
    let piece = read_keeping(&state, &device.id, Some(kept), parts.headers, body).await?;
    let reached = q.offset.saturating_add(piece.len() as u64);
    if reached > q.size {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::BlobSize,
            format!("{reached} bytes for a body of {}", q.size),
        ));
    }
    if reached < q.size {
        // Not cut, but not whole yet: kept, and the tablet told where to go on.
        if !piece.is_empty() {
            storage.blob_append(&sha, &device.id, q.size, q.offset, &piece, state.now()).await?;
        }
        return Err(offset_held(reached, q.size));
    }
    let mut whole = held;
    whole.extend_from_slice(&piece);
    // Decoded or refused, the kept bytes go: a body is resumed once.
    storage.drop_upload(&sha, &device.id).await?;
    if beibao_core::canonical::sha256_hex(&whole) != sha {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::BlobHashMismatch,
            "the body does not hash to its name; send the batch again",
        ));
    }
    let whole = axum::body::Bytes::from(whole);
    let batch: PushRequestV2 = decode(Some("zstd".to_owned()), whole).await?;
    push_v2_batch(&state, device, wants, batch).await
}

/// 409 `blob_offset`: the server holds `held` bytes of a body of `size`.
fn offset_held(held: u64, size: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        Code::BlobOffset,
        format!("the server holds {held} of {size} bytes; send from there"),
    )
    .with_offset(held)
}

/// Check, commit and answer a v2 batch.
async fn push_v2_batch(
    state: &AppState,
    device: Device,
    wants: Wants,
    batch: PushRequestV2,
) -> Result<Response, ApiError> {
    if batch.first_seq < 1 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, "first_seq starts at 1"));
    }
    if batch.ops.iter().any(|o| o.op_id.as_ref().is_some_and(|id| id.is_empty() || id.chars().count() > 100)) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, "an op_id must be 1–100 characters"));
    }
    let (device_id, batch_id, claimed, sent_at) =
        (device.id.clone(), batch.batch_id.clone(), batch.device_id.clone(), batch.sent_at);
    let ops = batch.into_ops().ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, "the batch's seqs pass the largest integer")
    })?;
    let digest = wire::ops_digest(&ops);
    let (results, last_seq, now) = commit(state, device, &claimed, &batch_id, ops, sent_at).await?;
    let receipt = Receipt::sign_v2(state.key(), &device_id, &batch_id, &results, &digest, now);
    Ok(wants.reply(&PushResponseV2::new(device_id, batch_id, last_seq, &results, receipt)))
}

/// Check a batch (either protocol's, as ops) and commit it: its results, the device's last seq
/// after it, and the server time of the commit.
async fn commit(
    state: &AppState,
    device: Device,
    claimed_device: &str,
    batch_id: &str,
    ops: Vec<WireOp>,
    sent_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(Vec<OpResult>, i64, chrono::DateTime<chrono::Utc>), ApiError> {
    if claimed_device != device.id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, Code::WrongDevice, "the batch names another device"));
    }
    if batch_id.is_empty() || batch_id.chars().count() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, "batch_id must be 1–100 characters"));
    }
    if let Err(BatchError::Invalid(m)) = crate::plan::check_shape(&ops) {
        // What the schema states (1 to 5,000 ops, seqs from 1) is a malformed body; seqs that
        // are not contiguous are a batch of the right shape the server cannot take.
        let shape = ops.is_empty() || ops.len() > beibao_sync::wire::MAX_BATCH_OPS || ops.iter().any(|o| o.seq < 1);
        let status = if shape { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        return Err(ApiError::new(status, Code::InvalidBatch, m));
    }
    let now = state.now();
    // Everything an op can be judged on alone (payload hashes, agreement signatures, catalog
    // rules) is checked outside the storage transaction and off the async workers: up to 5,000
    // ops of CPU work.
    let held = state.catalogs().len();
    let received = Received { at: now, device_now: sent_at, enrolled_at: device.enrolled_at };
    let (mut ops, mut checks) = check(state, &device, ops, received).await?;
    // A refusal by the catalog may only mean this process has not yet looked at a version
    // published a moment ago (through another instance, or `publish-catalog`), one a tablet may
    // already hold: a rejection is final, so look before giving it.
    if checks.iter().any(|c| c.as_ref().is_err_and(|r| crate::plan::by_catalog(r.code)))
        && state.refresh_catalogs().await?.len() > held
    {
        (ops, checks) = check(state, &device, ops, received).await?;
    }
    let first_seq = ops[0].seq;
    match state.storage().push(&device.id, batch_id, ops, checks, now).await? {
        Ok(p) => Ok((p.results, p.last_seq, now)),
        Err(BatchError::Gap { expect_seq }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::SeqGap,
            format!("the batch starts at seq {first_seq}; the server expects {expect_seq}"),
        )
        .with_expect_seq(expect_seq)),
        Err(BatchError::Invalid(m)) => Err(ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidBatch, m)),
    }
}

/// [`crate::plan::check_all`] off the async workers, against the catalogs held now.
async fn check(
    state: &AppState,
    device: &Device,
    ops: Vec<WireOp>,
    received: Received,
) -> Result<(Vec<WireOp>, Vec<crate::plan::Check>), ApiError> {
    let (catalogs, calendar, checked) = (state.catalogs(), state.calendar(), device.clone());
    tokio::task::spawn_blocking(move || {
        let checks = crate::plan::check_all(&ops, &checked, &catalogs, &calendar, &received);
        (ops, checks)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, format!("checker: {e}")))
}

/// Query of a pull.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// Cursor to read after.
    #[param(minimum = 0)]
    pub cursor: i64,
    /// Page size (1 to the server's largest page; outside it, the nearest).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/sync/pull", tag = "sync", params(PullQuery), security(("bearer" = [])),
    responses((status = 200, body = PullResponse), (status = 400, description = "`bad_query`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
pub(crate) async fn pull(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query
        .map_err(|e| ApiError::bad_query(format!("pull needs ?cursor=<integer>[&limit=<n>]: {}", e.body_text())))?;
    if q.cursor < 0 {
        return Err(ApiError::bad_query("cursor is never negative"));
    }
    let limit = q.limit.unwrap_or(500).clamp(1, state.limits().max_pull);
    let (changes, more) = state.storage().pull(&device.officer_id, q.cursor, limit).await?;
    let cursor = changes.last().map_or(q.cursor, |c| c.cursor);
    Ok(wants.reply(&PullResponse { device_id: device.id, cursor, changes, more }))
}
