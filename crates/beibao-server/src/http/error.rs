//! The one error shape of every failure: a status and `{code, message, …}`.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use beibao_core::code::Code;
use beibao_sync::wire::ErrorBody;

use crate::storage::StorageError;

/// An API failure: status and the one error shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: ErrorBody,
}

impl ApiError {
    /// An error.
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code, message: message.into(), expect_seq: None, offset: None } }
    }

    /// 400 `bad_query` (a query string that does not parse).
    pub fn bad_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Code::BadQuery, message)
    }

    /// 401 with a code.
    pub fn unauthorized(code: Code, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, message)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("request bodies are limited to {limit} bytes"),
        )
    }

    /// With `seq_gap`: the seq the server expects.
    pub fn with_expect_seq(mut self, seq: i64) -> ApiError {
        self.body.expect_seq = Some(seq);
        self
    }

    /// With `blob_offset`: the offset the server holds.
    pub fn with_offset(mut self, offset: u64) -> ApiError {
        self.body.offset = Some(offset);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::Db(m) => {
                // The details stay in the log (with the request id); the client hears "retry".
                tracing::error!(error = %m, "storage failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::StorageUnavailable,
                    "the server's storage failed; retry later",
                )
            }
            StorageError::Refused(code, m) => {
                let status = match code {
                    Code::NotFound | Code::UnknownDevice | Code::UnknownOfficer => StatusCode::NOT_FOUND,
                    Code::Forbidden => StatusCode::FORBIDDEN,
                    Code::DeviceExists | Code::AccountExists | Code::CatalogVersionExists | Code::OfficerExists => {
                        StatusCode::CONFLICT
                    }
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, code, m)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), code = %self.body.code, "answered with an error");
        } else {
            tracing::debug!(status = self.status.as_u16(), code = %self.body.code, "refused");
        }
        let mut resp = (self.status, serde_json::to_vec(&self.body).unwrap_or_default()).into_response();
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}
