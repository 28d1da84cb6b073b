//! Administration shared by the `beibao-server` verbs and the tests: opening storage from a
//! `--database` argument, accounts with Argon2id password hashes, the registry offered to pull.

use beibao_core::code::Code;
use std::path::Path;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, SaltString};
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody};
use beibao_core::registry::{AssignmentTarget, Registry};
use chrono::{DateTime, Utc};

use crate::storage::{Account, Role, Storage, StorageError};

/// Open the storage a `--database` argument names: a `postgres://` URL, or a SQLite file path.
pub async fn open_storage(database: &str, pg_pool: Option<usize>) -> Result<Arc<dyn Storage>, StorageError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let pool = pg_pool.unwrap_or_else(crate::postgres::default_pool_size);
        Ok(Arc::new(crate::postgres::Postgres::connect(database, pool).await?))
    } else {
        Ok(Arc::new(crate::sqlite::Sqlite::open(Path::new(database))?))
    }
}

/// An account with its password hashed (Argon2id, PHC string). Passwords of fewer than 10
/// characters are refused.
pub fn new_account(username: &str, role: Role, station: Option<&str>, password: &str) -> Result<Account, StorageError> {
    if username.trim().is_empty() || username.len() > 64 {
        return Err(StorageError::refused(Code::BadUsername, "a username is 1–64 characters"));
    }
    if password.chars().count() < 10 {
        return Err(StorageError::refused(Code::WeakPassword, "a password needs at least 10 characters"));
    }
    if role == Role::Desk && station.is_none() {
        return Err(StorageError::refused(Code::StationRequired, "a station desk account names its station"));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StorageError::Db(format!("randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StorageError::Db(e.to_string()))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StorageError::Db(e.to_string()))?
        .to_string();
    Ok(Account { username: username.to_owned(), role, station: station.map(str::to_owned), password_hash: hash })
}

/// The registry as pull changes, `(scope, body)`: towns for every device (`*`); to each officer
/// the villages, households and enterprises of their assignments, and the assignments themselves.
pub fn registry_changes(registry: &Registry) -> Vec<(String, ChangeBody)> {
    let mut out = Vec::new();
    for t in &registry.towns {
        out.push(("*".to_owned(), ChangeBody::Town(t.clone())));
    }
    for officer in &registry.officers {
        let scope = officer.id.clone();
        let villages = registry.villages_of(&officer.id);
        for v in registry.villages.iter().filter(|v| villages.contains(&v.code.as_str())) {
            out.push((scope.clone(), ChangeBody::Village(v.clone())));
        }
        for h in registry.households.iter().filter(|h| villages.contains(&h.village.as_str())) {
            out.push((scope.clone(), ChangeBody::Household(h.clone())));
        }
        for a in registry.assignments.iter().filter(|a| a.officer == officer.id) {
            let (kind, target) = match &a.target {
                AssignmentTarget::Village(c) => (AssignmentKind::Village, c),
                AssignmentTarget::Enterprise(c) => (AssignmentKind::Enterprise, c),
            };
            if let AssignmentTarget::Enterprise(code) = &a.target
                && let Some(e) = registry.enterprises.iter().find(|e| &e.code == code)
            {
                out.push((scope.clone(), ChangeBody::Enterprise(e.clone())));
            }
            let body = AssignmentChange {
                officer: a.officer.clone(),
                kind,
                target: target.clone(),
                since: a.since,
                until: None,
            };
            out.push((scope.clone(), ChangeBody::Assignment(body)));
        }
    }
    out
}

/// Seed the server from a registry: its stations and officers kept (desk scopes, enrollment
/// checks) and its contents offered to pull. Returns the number of changes offered.
pub async fn seed(storage: &dyn Storage, registry: &Registry, now: DateTime<Utc>) -> Result<usize, StorageError> {
    let changes = registry_changes(registry);
    storage.put_registry(registry, &changes, now).await?;
    Ok(changes.len())
}
