//! The Shanting fixtures: a deterministic generator of the district's synthetic register, the
//! loader every other crate uses to read `fixtures/`, and a printed summary for the demo.
//!
//! Hand-authored data (`catalog/services.json`, `calendar/cn-holidays.json`) is read as it is.
//! Generated data (`geo/`, `registry/`) comes from [`generate::generate`] with a fixed seed; a test
//! regenerates it and compares it byte for byte with the committed files.

pub mod generate;
pub mod load;
pub mod summary;

pub use load::{Fixtures, LoadError, load};

/// The `fixtures/` directory of this repository.
pub fn default_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}
