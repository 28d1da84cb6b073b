//! The data every binary carries, as of its build: the 38-service catalog and the working-day
//! calendar. A tablet installs both in its store at init; a newer catalog published by the server
//! reaches it by pull. Compiled in (`include_str!`), so no binary reads `fixtures/` at run time.

use crate::calendar::{CalendarError, PublishedCalendar, WorkCalendar};
use crate::catalog::{Catalog, CatalogError};

/// The catalog's JSON as bundled.
pub const CATALOG_JSON: &str = include_str!("../../../fixtures/catalog/services.json");

/// The holiday calendar's JSON as bundled.
pub const CALENDAR_JSON: &str = include_str!("../../../fixtures/calendar/cn-holidays.json");

/// The bundled catalog.
pub fn catalog() -> Result<Catalog, CatalogError> {
    Catalog::from_json(CATALOG_JSON)
}

/// The bundled working-day calendar.
pub fn calendar() -> Result<WorkCalendar, CalendarError> {
    WorkCalendar::from_json(CALENDAR_JSON)
}

/// The bundled calendar with its version, as a server publishes it.
pub fn published_calendar() -> Result<PublishedCalendar, CalendarError> {
    PublishedCalendar::from_json(CALENDAR_JSON)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_catalog_and_calendar_parse_under_the_core_rules() {
        let catalog = super::catalog().expect("the bundled catalog breaks a rule");
        assert_eq!(catalog.services.len(), 38, "the 38 services of REFERENCE §1");
        let calendar = super::calendar().expect("the bundled calendar breaks a rule");
        let published = super::published_calendar().expect("the bundled calendar breaks a rule");
        assert_eq!(published.calendar(), calendar);
        assert!(published.version.starts_with("sha256:") && published.version.len() == 23, "{}", published.version);
        assert_eq!(published.clone().checked(), Ok(published.clone()), "its own version checks");
        let renamed = crate::calendar::PublishedCalendar { version: "sha256:0000000000000000".into(), ..published };
        assert!(renamed.checked().is_err(), "a version that does not match the years is refused");
    }
}
