//! The reference data on the tablet: catalog versions, the district's towns and villages, and the
//! households and enterprises of the officer's villages.

use beibao_core::calendar::{PublishedCalendar, WorkCalendar};
use beibao_core::catalog::Catalog;
use beibao_core::registry::{
    AssignmentTarget, Enterprise, GeoPoint, Household, Person, Registry, SpecialGroup, Town, Village,
};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{StoreError, corrupt};

/// Read a `meta` value.
pub fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Set a `meta` value.
pub fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        [key, value],
    )?;
    Ok(())
}

/// Install a catalog version (published versions are immutable: a second install of the same
/// version with other content is refused).
pub fn install_catalog(tx: &Transaction<'_>, catalog: &Catalog, now: DateTime<Utc>) -> Result<(), StoreError> {
    let body = serde_json::to_string(catalog).map_err(corrupt)?;
    let existing: Option<String> = tx
        .query_row("SELECT body FROM catalog_versions WHERE version = ?1", [&catalog.version], |r| r.get(0))
        .optional()?;
    match existing {
        Some(old) if old == body => Ok(()),
        Some(_) => Err(StoreError::ReadOnly(format!("catalog version {}", catalog.version))),
        None => {
            tx.execute(
                "INSERT INTO catalog_versions (version, published_on, body, installed_at) VALUES (?1, ?2, ?3, ?4)",
                params![catalog.version, catalog.published_on.to_string(), body, now.to_rfc3339()],
            )?;
            Ok(())
        }
    }
}

/// Where the store keeps its working-day calendar: the years (JSON, as published) and their version.
const CALENDAR_META: &str = "calendar_json";
const CALENDAR_VERSION_META: &str = "calendar_version";

/// Install a working-day calendar (the newest pulled replaces the one before).
pub fn install_calendar(tx: &Transaction<'_>, calendar: &PublishedCalendar) -> Result<(), StoreError> {
    set_meta(tx, CALENDAR_META, &serde_json::to_string(&calendar.years).map_err(corrupt)?)?;
    set_meta(tx, CALENDAR_VERSION_META, &calendar.version)
}

/// The installed working-day calendar and its version (`None` in a store made before the
/// calendar was kept in it).
pub fn calendar(conn: &Connection) -> Result<Option<(WorkCalendar, Option<String>)>, StoreError> {
    let Some(json) = meta(conn, CALENDAR_META)? else { return Ok(None) };
    let calendar = WorkCalendar::from_json(&json).map_err(|e| StoreError::Corrupt(format!("the calendar: {e}")))?;
    Ok(Some((calendar, meta(conn, CALENDAR_VERSION_META)?)))
}

/// The newest installed catalog.
pub fn catalog(conn: &Connection) -> Result<Option<Catalog>, StoreError> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM catalog_versions ORDER BY published_on DESC, version DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

fn groups_text(groups: impl IntoIterator<Item = SpecialGroup>) -> String {
    groups
        .into_iter()
        .map(|g| serde_json::to_value(g).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_groups(text: &str) -> Result<Vec<SpecialGroup>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(corrupt))
        .collect()
}

/// Insert or replace one household and its members.
pub fn put_household(tx: &Transaction<'_>, h: &Household) -> Result<(), StoreError> {
    tx.execute("DELETE FROM persons WHERE household = ?1", [&h.id])?;
    tx.execute(
        "INSERT INTO households (id, village, address, lat, lon, groups) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET village = ?2, address = ?3, lat = ?4, lon = ?5, groups = ?6",
        params![
            h.id,
            h.village,
            h.address,
            h.location.map(|l| l.lat),
            h.location.map(|l| l.lon),
            groups_text(h.groups())
        ],
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO persons (id, household, name, id_number, id_tail, phone, relation, groups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for m in &h.members {
        let relation = serde_json::to_value(m.relation).map_err(corrupt)?;
        let tail = &m.id_number[m.id_number.len().saturating_sub(6)..];
        stmt.execute(params![
            m.id,
            h.id,
            m.name,
            m.id_number,
            tail,
            m.phone,
            relation.as_str().unwrap_or_default(),
            groups_text(m.groups.iter().copied())
        ])?;
    }
    Ok(())
}

/// Seed the tablet for one officer: every town and village (for the map and proof of visit), the
/// households and enterprises of the officer's villages, and the officer's assignments.
pub fn seed_for_officer(tx: &Transaction<'_>, registry: &Registry, officer: &str) -> Result<SeedCounts, StoreError> {
    for t in &registry.towns {
        put_town(tx, t)?;
    }
    for v in &registry.villages {
        put_village(tx, v)?;
    }
    let villages = registry.villages_of(officer);
    let mut counts = SeedCounts { villages: villages.len(), ..SeedCounts::default() };
    for h in registry.households.iter().filter(|h| villages.contains(&h.village.as_str())) {
        put_household(tx, h)?;
        counts.households += 1;
        counts.persons += h.members.len();
    }
    for a in registry.assignments.iter().filter(|a| a.officer == officer) {
        let (kind, target) = match &a.target {
            AssignmentTarget::Village(c) => ("village", c),
            AssignmentTarget::Enterprise(c) => ("enterprise", c),
        };
        tx.execute(
            "INSERT OR REPLACE INTO assignments (officer, kind, target, since) VALUES (?1, ?2, ?3, ?4)",
            params![officer, kind, target, a.since.to_string()],
        )?;
        if let AssignmentTarget::Enterprise(code) = &a.target
            && let Some(e) = registry.enterprises.iter().find(|e| &e.code == code)
        {
            put_enterprise(tx, e)?;
            counts.enterprises += 1;
        }
    }
    Ok(counts)
}

/// What a seed wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedCounts {
    /// Villages assigned to the officer.
    pub villages: usize,
    /// Households seeded.
    pub households: usize,
    /// People seeded.
    pub persons: usize,
    /// Enterprises seeded.
    pub enterprises: usize,
}

/// Insert or replace a town.
pub fn put_town(tx: &Transaction<'_>, t: &Town) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO towns (code, name_zh, name_en, station, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![t.code, t.name.zh, t.name.en, t.station, serde_json::to_string(t).map_err(corrupt)?],
    )?;
    Ok(())
}

/// Insert or replace a village.
pub fn put_village(tx: &Transaction<'_>, v: &Village) -> Result<(), StoreError> {
    let kind = serde_json::to_value(v.kind).map_err(corrupt)?;
    tx.execute(
        "INSERT OR REPLACE INTO villages (code, town, name_zh, name_en, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![v.code, v.town, v.name.zh, v.name.en, kind.as_str(), serde_json::to_string(v).map_err(corrupt)?],
    )?;
    Ok(())
}

/// Insert or replace an enterprise.
pub fn put_enterprise(tx: &Transaction<'_>, e: &Enterprise) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO enterprises (code, village, name, body) VALUES (?1, ?2, ?3, ?4)",
        params![e.code, e.village, e.name, serde_json::to_string(e).map_err(corrupt)?],
    )?;
    Ok(())
}

/// A village with its boundary.
pub fn village(conn: &Connection, code: &str) -> Result<Option<Village>, StoreError> {
    let body: Option<String> =
        conn.query_row("SELECT body FROM villages WHERE code = ?1", [code], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

/// An enterprise.
pub fn enterprise(conn: &Connection, code: &str) -> Result<Option<Enterprise>, StoreError> {
    let body: Option<String> =
        conn.query_row("SELECT body FROM enterprises WHERE code = ?1", [code], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

/// A household with its members.
pub fn household(conn: &Connection, id: &str) -> Result<Option<Household>, StoreError> {
    let row: Option<(String, String, Option<f64>, Option<f64>)> = conn
        .query_row("SELECT village, address, lat, lon FROM households WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((village, address, lat, lon)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, id_number, phone, relation, groups FROM persons WHERE household = ?1 ORDER BY rowid",
    )?;
    let members = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .map(|row| {
            let (id, name, id_number, phone, relation, groups) = row?;
            Ok(Person {
                id,
                name,
                id_number,
                phone,
                relation: serde_json::from_value(serde_json::Value::String(relation)).map_err(corrupt)?,
                groups: parse_groups(&groups)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let location = lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon });
    Ok(Some(Household { id: id.to_owned(), village, address, location, members }))
}
