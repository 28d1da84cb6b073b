//! Sync protocols v1 (see `shared/DESIGN.md`) and v2 (the same batch without a seq, a hash or a
//! derived op id per op, results as ranges plus exceptions, a receipt that signs the payloads'
//! digest; negotiated by the `beibao-sync` header of `last-seq`): the wire types shared by tablet
//! and server ([`wire`]), the HTTP client ([`client`]) and the client engine ([`engine`]): batches sized in
//! bytes that shrink after failures and grow after successes, backoff with jitter, a reconnect
//! that asks the server's `last_seq` first, acks only when the answer echoes the device and batch
//! and its receipt verifies, blobs on their own queue, progress events and a watchdog.

pub mod client;
pub mod engine;
pub mod trust;
pub mod wire;

pub use client::{Client, LocalError, SyncError};
pub use engine::{Backlog, DrainReport, Engine, Identity, PassReport, Phase, Progress, Settings, Tablet};
