//! beibao-core's rules, table-tested through the public API. One test binary for the crate.

mod calendar;
mod canonical;
mod catalog;
mod identity;
mod indicators;
mod mediation;
mod service_request;
mod visit;

use beibao_core::calendar::WorkCalendar;
use beibao_core::catalog::Catalog;
use chrono::{DateTime, NaiveDate, Utc};

pub const CATALOG_JSON: &str = include_str!("../../../../fixtures/catalog/services.json");
pub const CALENDAR_JSON: &str = include_str!("../../../../fixtures/calendar/cn-holidays.json");

pub fn catalog() -> Catalog {
    Catalog::from_json(CATALOG_JSON).expect("the committed catalog loads")
}

pub fn calendar() -> WorkCalendar {
    WorkCalendar::from_json(CALENDAR_JSON).expect("the committed calendar loads")
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_else(|e| panic!("bad test instant {s}: {e}"))
}
