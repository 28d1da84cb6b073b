//! The tablet's store: one SQLCipher database per officer's tablet, opened with the officer's PIN.
//!
//! - [`Store::create`] makes a random database key, wraps it under the PIN ([`key`]) and migrates
//!   the schema ([`schema`]); [`Store::unlock`] unwraps it, counting wrong PINs on disk.
//! - Reads take `&Connection`; writes take a `&Transaction` ([`Store::write`]), so the types show
//!   what mutates. Every domain write enqueues its outbox op in the same transaction ([`outbox`]).
//! - [`queries`] answers the officer's day, searches and totals.

pub mod drafts;
pub mod error;
pub mod key;
pub mod outbox;
pub mod queries;
pub mod records;
pub mod registry;
pub mod schema;
pub mod sync;
pub mod system;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use crate::error::StoreError;
use crate::key::{DbKey, Entropy, KdfParams, KeyFile, Moment, SoftwareGuard, guard_path, key_path, unlock_key};

/// An open, unlocked store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    // Held while unlocked so a second connection (the background syncer's) can be opened; zeroed
    // when the store locks or is dropped.
    key: DbKey,
}

/// Every file of a store: the database, its key file, its guard's file, and SQLite's WAL and
/// shared-memory files.
fn store_files(path: &Path) -> [PathBuf; 5] {
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_owned(), key_path(path), guard_path(path), beside("-wal"), beside("-shm")]
}

impl Store {
    /// Create a new encrypted store at `path`, its key wrapped under `pin`.
    pub fn create(path: &Path, pin: &str, kdf: KdfParams, entropy: &mut dyn Entropy) -> Result<Store, StoreError> {
        key::check_pin_format(pin)?;
        if path.exists() || key_path(path).exists() {
            return Err(StoreError::AlreadyExists(path.to_owned()));
        }
        let mut raw = [0u8; key::KEY_LEN];
        entropy.fill(&mut raw);
        let db_key = DbKey(raw);
        raw.iter_mut().for_each(|b| *b = 0);
        let guard = SoftwareGuard::for_store(path, entropy)?;
        let file = KeyFile::wrap(&db_key, pin, kdf, entropy, &guard)?;
        let store = Store::open_with_key(path, &db_key, true)?;
        // The key file is written last: a crash before it leaves a database nobody can open, which
        // `create` refuses to overwrite, rather than a key without its database.
        file.save(path)?;
        Ok(store)
    }

    /// Move a store aside, to `<name>.<suffix>` with its key file and WAL: a revoked tablet
    /// starts a new first run, and what it held stays on disk, encrypted, openable with the PIN
    /// at the new path. Returns that path.
    pub fn set_aside(path: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(suffix);
        let to = PathBuf::from(name);
        for (from, to) in store_files(path).iter().zip(store_files(&to)) {
            match std::fs::rename(from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Io(format!("{}: {e}", from.display()))),
            }
        }
        Ok(to)
    }

    /// Remove a store's files (database, key file, WAL): a first run whose enrollment was refused
    /// leaves nothing behind, so the officer can start again. Missing files are not an error.
    pub fn remove(path: &Path) -> Result<(), StoreError> {
        for p in store_files(path) {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Io(format!("{}: {e}", p.display()))),
            }
        }
        Ok(())
    }

    /// Unlock with the officer's PIN. A wrong PIN is counted; five in a row lock the store (the
    /// lockout waited out in the platform's uptime: see [`key`]).
    pub fn unlock(path: &Path, pin: &str, now: DateTime<Utc>) -> Result<Store, StoreError> {
        Store::unlock_at(path, pin, &Moment::at(now))
    }

    /// [`Store::unlock`] at a given moment (both clocks injected: tests of the lockout).
    pub fn unlock_at(path: &Path, pin: &str, m: &Moment) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        let db_key = unlock_key(path, pin, m, &*key::guard(path)?)?;
        Store::open_with_key(path, &db_key, false)
    }

    /// When the store accepts a PIN again, if wrong ones locked it (no PIN needed: the unlock
    /// screen shows the time left, also after a restart).
    pub fn lockout(path: &Path, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        // No key file, no store: nothing is made beside it (the guard would be).
        if !key_path(path).exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        key::lockout(path, &Moment::at(now), &*key::guard(path)?)
    }

    /// Re-wrap the key under a new PIN (the database itself is not rewritten).
    pub fn change_pin(
        path: &Path,
        old_pin: &str,
        new_pin: &str,
        now: DateTime<Utc>,
        entropy: &mut dyn Entropy,
    ) -> Result<(), StoreError> {
        key::check_pin_format(new_pin)?;
        let guard = key::guard(path)?;
        let db_key = unlock_key(path, old_pin, &Moment::at(now), &*guard)?;
        let kdf = KeyFile::load(path)?.kdf;
        KeyFile::wrap(&db_key, new_pin, kdf, entropy, &*guard)?.save(path)
    }

    fn open_with_key(path: &Path, db_key: &DbKey, create: bool) -> Result<Store, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.execute_batch(&format!("PRAGMA key = {};", db_key.pragma_literal()))?;
        // The first read proves the key: SQLCipher reports "file is not a database" otherwise.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|e| StoreError::KeyFile(format!("the key does not open the database: {e}")))?;
        schema::prepare(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn, path: path.to_owned(), key: DbKey(db_key.0) })
    }

    /// A second connection to the same unlocked database (WAL: it reads while this one writes, and
    /// writes wait for each other). The background syncer works on one, so the officer's screens
    /// keep reading and writing during a sync.
    pub fn reopen(&self) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch(&format!("PRAGMA key = {};", self.key.pragma_literal()))?;
        schema::prepare(&conn)?;
        let found = schema::version(&conn)?;
        if found != schema::latest() {
            return Err(StoreError::Corrupt(format!("schema {found} changed under an open store")));
        }
        Ok(Store { conn, path: self.path.clone(), key: DbKey(self.key.0) })
    }

    /// Open with the raw key (crash tests and tools that already hold the key).
    #[doc(hidden)]
    pub fn open_with_raw_key(path: &Path, raw: [u8; key::KEY_LEN]) -> Result<Store, StoreError> {
        Store::open_with_key(path, &DbKey(raw), false)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` in one IMMEDIATE transaction and commit; roll back on error.
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Lock: close the database. The key leaves memory with the connection.
    pub fn lock(self) -> Result<(), StoreError> {
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }
}
