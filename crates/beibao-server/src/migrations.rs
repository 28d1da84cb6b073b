//! Numbered schema migrations, the same numbers on both backends. A database records the versions
//! applied in `schema_version`; opening it applies the missing ones in order, each recorded in the
//! transaction that applies it (SQLite: one transaction per migration; PostgreSQL: all pending ones
//! in one, under an advisory lock), and refuses a database whose version this build does not know
//! (made by a newer server: running on it could undo what the newer build relies on).
//!
//! A database made before versioned migrations has no `schema_version` table and reads as version
//! 0; migration 1 (`IF NOT EXISTS` throughout) adopts its tables as they are, after the one older
//! layout change (records kept a copy of their body) is moved over by the backend.

use beibao_core::code::Code;

use crate::storage::StorageError;

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number: 1, 2, … with no gaps.
    pub version: i64,
    /// What it does, in a word.
    pub name: &'static str,
    /// The SQLite statements.
    pub sqlite: &'static str,
    /// The PostgreSQL statements.
    pub postgres: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("schema/sqlite/0001_initial.sql"),
        postgres: include_str!("schema/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "registry",
        sqlite: include_str!("schema/sqlite/0002_registry.sql"),
        postgres: include_str!("schema/postgres/0002_registry.sql"),
    },
    Migration {
        version: 3,
        name: "assignments",
        sqlite: include_str!("schema/sqlite/0003_assignments.sql"),
        postgres: include_str!("schema/postgres/0003_assignments.sql"),
    },
    Migration {
        version: 4,
        name: "facts",
        sqlite: include_str!("schema/sqlite/0004_facts.sql"),
        postgres: include_str!("schema/postgres/0004_facts.sql"),
    },
    Migration {
        version: 5,
        name: "rollups",
        sqlite: include_str!("schema/sqlite/0005_rollups.sql"),
        postgres: include_str!("schema/postgres/0005_rollups.sql"),
    },
    Migration {
        version: 6,
        name: "op_ids_per_device",
        sqlite: include_str!("schema/sqlite/0006_op_ids_per_device.sql"),
        postgres: include_str!("schema/postgres/0006_op_ids_per_device.sql"),
    },
    Migration {
        version: 7,
        name: "phoned_in",
        sqlite: include_str!("schema/sqlite/0007_phoned_in.sql"),
        postgres: include_str!("schema/postgres/0007_phoned_in.sql"),
    },
    Migration {
        version: 8,
        name: "mediation_due",
        sqlite: include_str!("schema/sqlite/0008_mediation_due.sql"),
        postgres: include_str!("schema/postgres/0008_mediation_due.sql"),
    },
    Migration {
        version: 9,
        name: "detail",
        sqlite: include_str!("schema/sqlite/0009_detail.sql"),
        postgres: include_str!("schema/postgres/0009_detail.sql"),
    },
    Migration {
        version: 10,
        name: "coarse_rollups",
        sqlite: include_str!("schema/sqlite/0010_coarse_rollups.sql"),
        postgres: include_str!("schema/postgres/0010_coarse_rollups.sql"),
    },
];

/// The version this build brings a database to.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// The version table (both backends take this statement as it is).
pub const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The migrations a database at `current` still needs, in order; a database newer than this
/// build is refused with `schema_too_new`.
pub fn pending(current: i64) -> Result<&'static [Migration], StorageError> {
    if current > LATEST {
        return Err(StorageError::refused(
            Code::SchemaTooNew,
            format!(
                "the database is at schema version {current}, this beibao-server knows versions up to {LATEST}: \
                 run the newer build that wrote it"
            ),
        ));
    }
    let from = usize::try_from(current.max(0)).unwrap_or(0);
    Ok(&MIGRATIONS[from..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty(), "{}", m.name);
        }
    }

    #[test]
    fn a_fresh_database_takes_every_migration_a_current_one_none_a_newer_one_is_refused() {
        assert_eq!(pending(0).expect("fresh").len(), MIGRATIONS.len());
        assert_eq!(pending(1).expect("v1")[0].version, 2);
        assert!(pending(LATEST).expect("current").is_empty());
        match pending(LATEST + 1) {
            Err(StorageError::Refused(Code::SchemaTooNew, m)) => assert!(m.contains(&LATEST.to_string()), "{m}"),
            other => panic!("expected schema_too_new, got {other:?}"),
        }
    }
}
