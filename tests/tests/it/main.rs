//! The cross-crate tests as one binary, a module per area (see `tests/Cargo.toml` for why one).
//! Run one area with a filter: `cargo nextest run -p beibao-tests --test it faults::` (or
//! `cargo test -p beibao-tests --test it faults::`).

mod admin;
mod adversary;
mod api;
mod clocks;
mod conformance;
mod console;
mod desk;
mod details;
mod faults;
mod floods;
mod http_layer;
mod instances;
mod mediations;
mod phoned_in;
mod protocols;
mod reports;
mod schemathesis;
mod tls;
mod ts_types;
