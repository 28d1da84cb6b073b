//! Migrations: appended only, never edited; each runs with the `user_version` bump in one
//! IMMEDIATE transaction, so a database is at one version or the next, never between. A database
//! newer than the binary is refused.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// The migrations, in order; migration `i` takes the database to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_base.sql"),
    include_str!("migrations/0002_search.sql"),
    include_str!("migrations/0003_fast_search.sql"),
    include_str!("migrations/0004_sync.sql"),
    include_str!("migrations/0005_drafts.sql"),
    include_str!("migrations/0006_screens.sql"),
    include_str!("migrations/0007_rating_comment.sql"),
    include_str!("migrations/0008_agreement_document.sql"),
    include_str!("migrations/0009_after_agreement.sql"),
    include_str!("migrations/0010_collection_and_clues.sql"),
    include_str!("migrations/0011_phoned_in.sql"),
    include_str!("migrations/0012_enrollment_trust.sql"),
];

/// The schema version this binary writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// The database's `user_version`.
pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the database to the latest version; refuse one that is newer.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] over a given list (tests use it to prove a failing migration changes nothing).
pub fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let found = version(conn)?;
    let latest = migrations.len() as i64;
    if found > latest {
        return Err(StoreError::TooNew { found, supported: latest });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The connection settings applied on every open (not part of migrations): WAL, `synchronous=FULL`
/// so a committed write survives power loss, foreign keys enforced.
pub fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}
