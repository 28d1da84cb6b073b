//! The HTTP layer the handlers stand on: the one error shape ([`ApiError`]), body extractors that
//! bound and decode what a client sends ([`Json`], [`read_body_partial`]), the reply that compresses when the
//! client accepts it ([`Wants`]), auth extractors that make a handler's signature say who may call
//! it ([`DeviceAuth`], [`DeskAuth`], [`SupervisorAuth`], [`Bearer`]), and the request id every log line carries.

mod auth;
mod body;
pub(crate) mod conn;
mod error;
mod trace;

pub use auth::{AdminAuth, Bearer, DeskAuth, DeviceAuth, SupervisorAuth};
pub use body::{Json, Wants};
pub(crate) use body::{decode, encoding, json_body, octet_stream, read_body_partial};
pub use conn::{ClientAddr, tls_config};
pub use error::ApiError;
pub use trace::{REQUEST_ID, request_id};
