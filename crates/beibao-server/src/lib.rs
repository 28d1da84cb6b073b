//! beibao-server: the central endpoint. Devices enroll with a one-time code and an Ed25519 key,
//! authenticate by signing a challenge, push their outbox in batches, pull what the server holds
//! for them, and upload blobs in resumable chunks. Storage is SQLite (embedded default) or
//! PostgreSQL behind one trait; the rules of a push are decided once in [`plan`].

pub mod api;
pub mod buckets;
pub mod desk;
pub mod plan;
pub mod postgres;
pub mod sqlite;
pub mod storage;

pub use api::{AppState, app, serve};
pub use sqlite::Sqlite;
pub use storage::Storage;
pub mod admin;
