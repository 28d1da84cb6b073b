//! The working-day calendar: Chinese public holidays and make-up workdays (调休), loaded from
//! `fixtures/calendar/cn-holidays.json`. Mediation time limits (3 and 7 working days) and the
//! working-day processing times of the catalog are counted with it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::text::LocalText;

/// How complete a year's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// The State Council's published schedule: holidays and make-up workdays.
    Official,
    /// Only the statutory holidays of 《全国年节及纪念日放假办法》; the year's 调休 schedule was not yet
    /// published when the file was made. Update the file when it is.
    StatutoryOnly,
}

/// One holiday period of a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// Holiday name (春节, 国庆节…).
    pub name: LocalText,
    /// Days off.
    pub days: Vec<NaiveDate>,
}

/// One year of the calendar file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarYear {
    /// The year.
    pub year: i32,
    /// How complete the data is.
    pub coverage: Coverage,
    /// The notice the data comes from.
    pub source: String,
    /// Holidays (days off, including weekend days inside a holiday period).
    pub holidays: Vec<Holiday>,
    /// Weekend days that are working days (调休上班).
    pub workdays: Vec<NaiveDate>,
}

/// A calendar as the server publishes it to tablets (pull kind `calendar`, keyed by its version):
/// the years of the calendar file and a version naming their content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedCalendar {
    /// `sha256:` and the first 16 hex digits of the years' canonical JSON: the same file is the
    /// same version on every server.
    pub version: String,
    /// The years, as in the calendar file.
    pub years: Vec<CalendarYear>,
}

impl PublishedCalendar {
    /// Check the years under every calendar rule and name their version.
    pub fn new(years: Vec<CalendarYear>) -> Result<PublishedCalendar, CalendarError> {
        WorkCalendar::from_years(&years)?;
        let hash = crate::canonical::content_hash(&years).map_err(|e| CalendarError::Malformed(e.to_string()))?;
        Ok(PublishedCalendar { version: format!("sha256:{}", &hash[..16]), years })
    }

    /// From the calendar file's text (a JSON list of [`CalendarYear`]).
    pub fn from_json(text: &str) -> Result<PublishedCalendar, CalendarError> {
        let years: Vec<CalendarYear> =
            serde_json::from_str(text).map_err(|e| CalendarError::Malformed(e.to_string()))?;
        PublishedCalendar::new(years)
    }

    /// A pulled body: the version must be the one its years give (a body edited on the way, or
    /// a server naming versions differently, is refused rather than installed under a wrong name).
    pub fn checked(self) -> Result<PublishedCalendar, CalendarError> {
        let named = self.version.clone();
        let made = PublishedCalendar::new(self.years)?;
        if made.version != named {
            return Err(CalendarError::Malformed(format!(
                "version {named} does not match its years ({})",
                made.version
            )));
        }
        Ok(made)
    }

    /// The working-day calendar.
    pub fn calendar(&self) -> WorkCalendar {
        // `new` and `checked` checked the years.
        WorkCalendar::from_years(&self.years).unwrap_or_default()
    }
}

/// A working-day calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, Coverage>,
    days_off: BTreeSet<NaiveDate>,
    make_up_workdays: BTreeSet<NaiveDate>,
}

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not JSON of the expected shape.
    #[error("calendar is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    /// A year appears twice.
    #[error("calendar year {0} appears more than once")]
    DuplicateYear(i32),
    /// A date is filed under another year.
    #[error("calendar year {year}: date {date} belongs to another year")]
    WrongYear {
        /// The year entry.
        year: i32,
        /// The date.
        date: NaiveDate,
    },
    /// A date is both a holiday and a make-up workday.
    #[error("calendar: {0} is listed both as a holiday and as a make-up workday")]
    Both(NaiveDate),
    /// A make-up workday that is not a Saturday or Sunday.
    #[error("calendar: make-up workday {0} is not a weekend day")]
    WorkdayNotWeekend(NaiveDate),
}

impl WorkCalendar {
    /// Load the calendar file (a JSON list of [`CalendarYear`]).
    pub fn from_json(text: &str) -> Result<WorkCalendar, CalendarError> {
        let years: Vec<CalendarYear> =
            serde_json::from_str(text).map_err(|e| CalendarError::Malformed(e.to_string()))?;
        WorkCalendar::from_years(&years)
    }

    /// Build from parsed years, checking each rule.
    pub fn from_years(years: &[CalendarYear]) -> Result<WorkCalendar, CalendarError> {
        let mut cal = WorkCalendar::default();
        for y in years {
            if cal.years.insert(y.year, y.coverage).is_some() {
                return Err(CalendarError::DuplicateYear(y.year));
            }
            let wrong = |date: NaiveDate| CalendarError::WrongYear { year: y.year, date };
            for date in y.holidays.iter().flat_map(|h| h.days.iter().copied()) {
                if date.year() != y.year {
                    return Err(wrong(date));
                }
                cal.days_off.insert(date);
            }
            for &date in &y.workdays {
                if date.year() != y.year {
                    return Err(wrong(date));
                }
                if !is_weekend(date) {
                    return Err(CalendarError::WorkdayNotWeekend(date));
                }
                if cal.days_off.contains(&date) {
                    return Err(CalendarError::Both(date));
                }
                cal.make_up_workdays.insert(date);
            }
        }
        Ok(cal)
    }

    /// How complete the data for `year` is; `None` when the year is not in the file (then only
    /// weekends count as days off).
    pub fn coverage(&self, year: i32) -> Option<Coverage> {
        self.years.get(&year).copied()
    }

    /// True on a working day: a weekday that is not a holiday, or a make-up workday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_workdays.contains(&date) {
            return true;
        }
        !is_weekend(date) && !self.days_off.contains(&date)
    }

    /// True on a public holiday (not an ordinary weekend).
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.days_off.contains(&date)
    }

    /// The `n`-th working day after `start` (`start` itself not counted; `n = 0` returns `start`).
    /// "Within 3 working days of accepting the case" is `add_working_days(accepted, 3)`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            date = date.succ_opt().unwrap_or(date);
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// Working days in `(from, to]`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days().skip(1).take_while(|d| *d <= to).filter(|d| self.is_working_day(*d)).count() as u32
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// China Standard Time (UTC+8), the zone every legal date of the app is counted in.
pub fn china_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The calendar date in China of an instant.
pub fn china_date(t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    t.with_timezone(&china_offset()).date_naive()
}
