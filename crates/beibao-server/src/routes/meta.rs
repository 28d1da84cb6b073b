//! Health, and the answers for what is not an endpoint.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::code::Code;

use crate::app::AppState;
use crate::http::{ApiError, Wants};

#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, description = "the server is up")))]
pub(crate) async fn health(State(state): State<AppState>, wants: Wants) -> Response {
    wants.reply(&serde_json::json!({ "status": "ok", "backend": state.storage().backend() }))
}

/// Every path that is not an endpoint.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, "no such endpoint")
}

/// A known path with a method it does not take.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, Code::MethodNotAllowed, "this endpoint does not take that method")
}
