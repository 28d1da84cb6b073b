//! beibao-server: the central endpoint. Devices enroll with a one-time code and an Ed25519 key,
//! authenticate by signing a challenge, push their outbox in batches, pull what the server holds
//! for them, and upload blobs in resumable chunks; station desks log in and move carried-back
//! applications forward.
//!
//! - [`app`]: the shared state, the router and [`serve`];
//! - [`http`]: the error shape, body and auth extractors, request ids;
//! - [`routes`]: the handlers by area;
//! - [`plan`]: every rule of a push, an enrollment, a blob chunk, a desk move — decided once;
//! - [`storage`]: the storage traits by concern, implemented by [`sqlite`] and [`postgres`],
//!   whose schemas move forward by numbered [`migrations`];
//! - [`report`]: the supervisors' periods, levels, scopes and reports from SQL aggregates;
//! - [`export`]: a report as CSV and XLSX;
//! - [`detail`]: the detail exports (a line per visit, service request or mediation), masked;
//! - [`admin`]: what the `beibao-server` verbs share with the tests.

pub mod admin;
pub mod app;
pub mod buckets;
pub mod detail;
pub mod due;
pub mod export;
pub mod http;
pub mod migrations;
pub mod passwords;
pub mod plan;
pub mod postgres;
pub mod report;
pub mod rollup;
pub mod routes;
pub mod sqlite;
pub mod storage;

pub use app::{AppState, app, serve, serve_tls};
pub use routes::desk;
/// The TLS library the server's configuration is made with (see [`http::tls_config`]).
pub use rustls;
pub use sqlite::Sqlite;
pub use storage::Storage;
