//! The store's errors, each with a stable code for the UI.

use beibao_core::code::Code;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No store at this path.
    #[error("no store at {0}")]
    NotFound(PathBuf),
    /// A store already exists at this path.
    #[error("a store already exists at {0}")]
    AlreadyExists(PathBuf),
    /// A PIN is 6 to 12 digits.
    #[error("the PIN must be 6 to 12 digits")]
    PinFormat,
    /// Wrong PIN.
    #[error("wrong PIN; {attempts_left} attempts left before the store locks")]
    WrongPin {
        /// Attempts left before the lockout.
        attempts_left: u32,
    },
    /// Too many wrong PINs.
    #[error("too many wrong PINs; try again after {until}")]
    LockedOut {
        /// When the next attempt is accepted.
        until: DateTime<Utc>,
    },
    /// The key file is damaged.
    #[error("the key file is damaged: {0}")]
    KeyFile(String),
    /// The database was written by a newer app.
    #[error("the database has schema version {found}, newer than this app's {supported}: update the app")]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
    /// A record refers to something the store does not hold.
    #[error("{kind} `{id}` is not in the store")]
    Missing {
        /// Record kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A finalized record cannot change.
    #[error("{0} is finalized and read-only")]
    ReadOnly(String),
    /// A stored value could not be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("file error: {0}")]
    Io(String),
}

impl StoreError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            StoreError::NotFound(_) => Code::StoreNotFound,
            StoreError::AlreadyExists(_) => Code::StoreExists,
            StoreError::PinFormat => Code::PinFormat,
            StoreError::WrongPin { .. } => Code::PinWrong,
            StoreError::LockedOut { .. } => Code::PinLockedOut,
            StoreError::KeyFile(_) => Code::KeyFileDamaged,
            StoreError::TooNew { .. } => Code::StoreTooNew,
            StoreError::Missing { .. } => Code::NotFound,
            StoreError::ReadOnly(_) => Code::ReadOnly,
            StoreError::Corrupt(_) => Code::StoreCorrupt,
            StoreError::Sqlite(_) => Code::StoreSqlite,
            StoreError::Io(_) => Code::StoreIo,
        }
    }
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
