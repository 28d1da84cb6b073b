//! Blobs (signature PNGs, photos) uploaded in resumable chunks, named by their SHA-256.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::code::Code;
use beibao_sync::wire::{self, BlobStatus, ErrorBody};

use crate::app::AppState;
use crate::http::{ApiError, DeviceAuth, Wants, octet_stream, read_body_partial};
use crate::storage::Appended;

pub(crate) fn check_sha(sha: &str) -> Result<(), ApiError> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::BAD_REQUEST, Code::BadSha256, "a blob is named by 64 lower-case hex characters"))
    }
}

#[utoipa::path(get, path = "/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path, description = "SHA-256, lower-case hex", pattern = "^[0-9a-f]{64}$")),
    security(("bearer" = [])),
    responses((status = 200, body = BlobStatus), (status = 400, description = "`bad_sha256`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody)))]
pub(crate) async fn blob_status(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    check_sha(&sha)?;
    let row = state.storage().blob(&sha, &device.id).await?;
    let status =
        BlobStatus { sha256: sha, offset: row.map_or(0, |r| r.offset), complete: row.is_some_and(|r| r.complete) };
    Ok(wants.reply(&status))
}

/// Where the bytes of a body cut half-way are kept: `device`'s unfinished upload of `sha256`, a
/// whole of `total` bytes, from `offset`.
pub(crate) struct Kept {
    pub(crate) sha256: String,
    pub(crate) total: u64,
    pub(crate) offset: u64,
}

/// Read a body (a blob chunk, a push body or its rest) in a task of its own: when the link is
/// cut half-way, the connection and the handler go, the task keeps what came before the cut as
/// `kept` says — so the tablet resumes after it rather than from the start — and the cut's
/// error is the answer. Bytes that would reach or pass `kept.total` are never kept this way.
pub(crate) async fn read_keeping(
    state: &AppState,
    device: &str,
    kept: Option<Kept>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, ApiError> {
    let (storage, limits, now, device) = (state.storage().clone(), state.limits(), state.now(), device.to_owned());
    tokio::spawn(async move {
        let (bytes, short) = read_body_partial(body, &headers, limits).await;
        let Some(short) = short else { return Ok(bytes) };
        if let Some(k) = kept
            && !bytes.is_empty()
            && k.offset.saturating_add(bytes.len() as u64) < k.total
        {
            // Kept whatever it answers: a tablet asks the offset held before it resumes.
            let _ = storage.blob_append(&k.sha256, &device, k.total, k.offset, &bytes, now).await;
        }
        Err(short)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, format!("body: {e}")))?
}

/// A chunk's bytes, as the document names them (a string of bytes, not an array of numbers).
#[derive(Debug)]
pub struct ChunkBytes;

impl utoipa::PartialSchema for ChunkBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("The chunk's bytes, from `offset`."))
            .into()
    }
}

impl utoipa::ToSchema for ChunkBytes {}

/// Query of a chunk upload.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChunkQuery {
    /// Where the chunk starts.
    pub offset: u64,
    /// The blob's whole size (1 byte to 20 MiB).
    #[param(minimum = 1, maximum = 20_971_520)]
    pub size: u64,
}

#[utoipa::path(put, path = "/blobs/{sha256}", tag = "blobs",
    params(("sha256" = String, Path, description = "SHA-256, lower-case hex", pattern = "^[0-9a-f]{64}$"), ChunkQuery),
    request_body(content = inline(ChunkBytes), content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, body = BlobStatus),
        (status = 409, description = "`blob_offset` with the `offset` held", body = ErrorBody),
        (status = 422, description = "`blob_hash_mismatch`, `blob_size`", body = ErrorBody), (status = 401, description = "`unauthenticated`, `token_expired`, `revoked`", body = ErrorBody), (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`", body = ErrorBody), (status = 413, description = "`payload_too_large`", body = ErrorBody), (status = 415, description = "`unsupported_media_type`, `unsupported_encoding`", body = ErrorBody), (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub(crate) async fn blob_put(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    wants: Wants,
    Path(sha): Path<String>,
    query: Result<Query<ChunkQuery>, QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    check_sha(&sha)?;
    let Query(q) =
        query.map_err(|e| ApiError::bad_query(format!("a chunk needs ?offset=<n>&size=<total>: {}", e.body_text())))?;
    if q.size == 0 || q.size > wire::MAX_BLOB_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("blobs are 1 to {} bytes", wire::MAX_BLOB_BYTES),
        ));
    }
    let (parts, body) = request.into_parts();
    octet_stream(&parts.headers)?;
    let kept = Kept { sha256: sha.clone(), total: q.size, offset: q.offset };
    let bytes = read_keeping(&state, &device.id, Some(kept), parts.headers, body).await?;
    let appended = state.storage().blob_append(&sha, &device.id, q.size, q.offset, &bytes, state.now()).await?;
    match appended {
        Appended::Stored(row) => {
            Ok(wants.reply(&BlobStatus { sha256: sha, offset: row.offset, complete: row.complete }))
        }
        Appended::HashMismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::BlobHashMismatch,
            "the bytes do not hash to the blob's name; upload it again from offset 0",
        )),
        Appended::Elsewhere(held) => Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::BlobOffset,
            format!("the server holds {held} bytes; resume there"),
        )
        .with_offset(held)),
    }
}
