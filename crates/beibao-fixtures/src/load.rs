//! Reading `fixtures/`: every file is parsed with beibao-core's rules and every error names the
//! file (and, from the core, the entry).

use std::path::{Path, PathBuf};

use beibao_core::calendar::{CalendarError, WorkCalendar};
use beibao_core::catalog::{Catalog, CatalogError};
use beibao_core::registry::{District, Household, Registry};
use serde::de::DeserializeOwned;

/// The loaded fixtures.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The service catalog.
    pub catalog: Catalog,
    /// The working-day calendar.
    pub calendar: WorkCalendar,
    /// The district outline.
    pub district: District,
    /// The register.
    pub registry: Registry,
}

/// Why the fixtures could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file does not parse.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong (line numbers where the parser gives them).
        message: String,
    },
    /// The catalog breaks a rule.
    #[error("{path}: {source}")]
    Catalog {
        /// The file.
        path: PathBuf,
        /// The rule broken.
        source: CatalogError,
    },
    /// The calendar breaks a rule.
    #[error("{path}: {source}")]
    Calendar {
        /// The file.
        path: PathBuf,
        /// The rule broken.
        source: CalendarError,
    },
}

fn read(dir: &Path, rel: &str) -> Result<(PathBuf, String), LoadError> {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io { path: path.clone(), source })?;
    Ok((path, text))
}

fn json<T: DeserializeOwned>(dir: &Path, rel: &str) -> Result<T, LoadError> {
    let (path, text) = read(dir, rel)?;
    serde_json::from_str(&text).map_err(|e| LoadError::Parse { path, message: e.to_string() })
}

fn features<T: DeserializeOwned>(dir: &Path, rel: &str) -> Result<Vec<T>, LoadError> {
    let (path, text) = read(dir, rel)?;
    geojson::de::deserialize_feature_collection_str_to_vec(&text)
        .map_err(|e| LoadError::Parse { path, message: e.to_string() })
}

/// Load the catalog alone.
pub fn load_catalog(dir: &Path) -> Result<Catalog, LoadError> {
    let (path, text) = read(dir, "catalog/services.json")?;
    Catalog::from_json(&text).map_err(|source| LoadError::Catalog { path, source })
}

/// Load the working-day calendar alone.
pub fn load_calendar(dir: &Path) -> Result<WorkCalendar, LoadError> {
    let (path, text) = read(dir, "calendar/cn-holidays.json")?;
    WorkCalendar::from_json(&text).map_err(|source| LoadError::Calendar { path, source })
}

/// Load every fixture file under `dir`. Referential rules are checked by
/// [`Registry::validate`](beibao_core::registry::Registry::validate), which callers run with their date.
pub fn load(dir: &Path) -> Result<Fixtures, LoadError> {
    let catalog = load_catalog(dir)?;
    let calendar = load_calendar(dir)?;
    let district = features::<District>(dir, "geo/district.geojson")?.pop().ok_or_else(|| LoadError::Parse {
        path: dir.join("geo/district.geojson"),
        message: "no district feature".into(),
    })?;
    let (path, text) = read(dir, "registry/households.jsonl")?;
    let households = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str::<Household>(line)
                .map_err(|e| LoadError::Parse { path: path.clone(), message: format!("line {}: {e}", n + 1) })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let registry = Registry {
        stations: json(dir, "registry/stations.json")?,
        towns: features(dir, "geo/towns.geojson")?,
        villages: features(dir, "geo/villages.geojson")?,
        enterprises: json(dir, "registry/enterprises.json")?,
        households,
        officers: json(dir, "registry/officers.json")?,
        assignments: json(dir, "registry/assignments.json")?,
    };
    Ok(Fixtures { catalog, calendar, district, registry })
}
