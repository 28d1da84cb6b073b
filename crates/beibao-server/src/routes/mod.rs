//! The handlers, by area. Each takes the extractors of [`crate::http`] that say who may call it
//! and what it reads; none imports another.

pub mod admin;
pub mod blobs;
pub mod console;
pub mod desk;
pub mod devices;
pub mod meta;
pub mod supervisor;
pub mod sync;
