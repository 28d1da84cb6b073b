//! The supervisors' reports, decided here for both backends: the period asked for, the level the
//! rows are grouped at and the scope they are limited to (a station supervisor's station), and the
//! report built from the aggregates a backend reads (SQL over `facts`, see
//! [`crate::storage::Reports`]) with each indicator evaluated by its one definition in
//! [`beibao_core::indicators`].

use std::collections::{BTreeMap, HashMap};

use beibao_core::code::Code;
use beibao_core::indicators::{self, CountKey, Counts, IndicatorValue};
use beibao_core::tally;
use beibao_core::text::LocalText;
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::storage::StorageError;

/// The town of a village: the first nine digits of its 12-digit code.
pub fn town_of(village: &str) -> &str {
    village.get(..9).unwrap_or(village)
}

/// The Monday of a day's ISO week.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The longest period a report covers (a bound on the work one request can ask for).
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

/// A period, first and last day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Period {
    /// A period by name: a day `2026-11-30`, an ISO week `2026-W48`, a month `2026-11`, a quarter
    /// `2026-Q4`, a year `2026`.
    pub fn parse(name: &str) -> Result<Period, String> {
        let bad = || {
            format!(
                "`{name}` is not a day (2026-11-30), week (2026-W48), month (2026-11), quarter (2026-Q4) or year (2026)"
            )
        };
        let name = name.trim();
        if let Ok(day) = NaiveDate::parse_from_str(name, "%Y-%m-%d") {
            return Ok(Period { from: day, to: day });
        }
        let (year, rest) = match name.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (name, None),
        };
        if year.len() != 4 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let span = |from: Option<NaiveDate>, months: u32| -> Result<Period, String> {
            let from = from.ok_or_else(bad)?;
            let next = from.checked_add_months(Months::new(months)).ok_or_else(bad)?;
            Ok(Period { from, to: next.pred_opt().ok_or_else(bad)? })
        };
        match rest {
            None => span(NaiveDate::from_ymd_opt(year, 1, 1), 12),
            Some(r) if r.starts_with('W') => {
                let week: u32 = r[1..].parse().map_err(|_| bad())?;
                let from = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
                Ok(Period { from, to: from + Days::new(6) })
            }
            Some(r) if r.starts_with('Q') => {
                let q: u32 = r[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                span(NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1), 3)
            }
            Some(r) if r.len() == 2 => {
                let m: u32 = r.parse().map_err(|_| bad())?;
                span(NaiveDate::from_ymd_opt(year, m, 1), 1)
            }
            Some(_) => Err(bad()),
        }
    }

    /// A custom range, checked: in order and at most [`MAX_PERIOD_DAYS`] long.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, String> {
        if to < from {
            return Err(format!("the period ends ({to}) before it starts ({from})"));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(format!("a report covers at most {MAX_PERIOD_DAYS} days"));
        }
        Ok(Period { from, to })
    }
}

/// The level rows are grouped at, from the district down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 派出所.
    Station,
    /// 镇街.
    Town,
    /// 村（社区）.
    Village,
    /// 民警.
    Officer,
}

impl Level {
    /// The `facts` column of the level.
    pub fn column(self) -> &'static str {
        match self {
            Level::Station => "station",
            Level::Town => "town",
            Level::Village => "village",
            Level::Officer => "officer",
        }
    }

    /// The level a row of this level drills down to.
    pub fn below(self) -> Option<Level> {
        match self {
            Level::Station => Some(Level::Town),
            Level::Town => Some(Level::Village),
            Level::Village => Some(Level::Officer),
            Level::Officer => None,
        }
    }

    /// Its name in the report.
    pub fn label(self) -> LocalText {
        match self {
            Level::Station => LocalText::new("派出所", "Station"),
            Level::Town => LocalText::new("镇街", "Town"),
            Level::Village => LocalText::new("村（社区）", "Village"),
            Level::Officer => LocalText::new("民警", "Officer"),
        }
    }
}

/// What a report is limited to: each given field narrows it (a drill-down names the row above).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scope {
    /// A station.
    pub station: Option<String>,
    /// A town.
    pub town: Option<String>,
    /// A village.
    pub village: Option<String>,
    /// An officer.
    pub officer: Option<String>,
}

impl Scope {
    /// The scope asked for, within what the account may see: a station supervisor's reports are
    /// of their station; asking for another answers `forbidden`.
    pub fn within(mut self, station: Option<&str>) -> Result<Scope, StorageError> {
        if let Some(own) = station {
            match self.station.as_deref() {
                Some(s) if s != own => {
                    return Err(StorageError::refused(
                        Code::Forbidden,
                        format!("this account reports on station {own} only"),
                    ));
                }
                _ => self.station = Some(own.to_owned()),
            }
        }
        Ok(self)
    }
}

/// One aggregate a backend read: a group (`None` for the scope's total), a week when by week, a
/// count key and its SQL aggregate (a sum, or a distinct count for [`tally::is_distinct`] keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The group's code (station, town, village, officer), or `None`.
    pub group: Option<String>,
    /// The Monday of the week, for a series.
    pub week: Option<NaiveDate>,
    /// The count.
    pub key: CountKey,
    /// Its aggregate.
    pub value: i64,
}

/// The SQL of the weekly trend over the day rollups (crate::rollup), the same text on both
/// backends: per week and count key, the sum of the summed counts from `tally` and the distinct
/// subjects of the distinct counts from `tally_subjects`. `from`/`to` are the period's
/// placeholders, `filter` the scope's conditions ([`scope_filter`]).
pub fn weekly_sql(from: &str, to: &str, filter: &str) -> String {
    format!(
        "SELECT week, key, CAST(sum(value) AS BIGINT) FROM tally
         WHERE day >= {from} AND day <= {to} AND key NOT IN ({DISTINCT}){filter} GROUP BY week, key
         UNION ALL
         SELECT week, key, count(DISTINCT subject) FROM tally_subjects
         WHERE key IN ({DISTINCT}) AND day >= {from} AND day <= {to}{filter} GROUP BY week, key"
    )
}

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(day) => day,
        None => NaiveDate::MIN,
    }
}

/// An empty range of days (no row's day is in it).
pub const NO_DAYS: (NaiveDate, NaiveDate) = (ymd(9999, 12, 31), ymd(1, 1, 1));

/// A period cut along the rollups' grains (crate::rollup): the whole months in it, the whole
/// years in those, and the days left at either end. Sums read the months from `tally_month` and
/// the ends from `tally`; distinct counts read the years from `tally_subjects_year`, the other
/// whole months from `tally_subjects_month` and the ends from `tally_subjects` — each subject
/// counted once over the union. Ranges are first and last row day included (a month's rows are
/// on its first day, a year's on January 1st); an unused range is [`NO_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Every whole month.
    pub months: (NaiveDate, NaiveDate),
    /// The days before the first whole month.
    pub days_before: (NaiveDate, NaiveDate),
    /// The days after the last whole month.
    pub days_after: (NaiveDate, NaiveDate),
    /// The whole years.
    pub years: (NaiveDate, NaiveDate),
    /// The whole months before the first whole year (every whole month when there is none).
    pub months_before: (NaiveDate, NaiveDate),
    /// The whole months after the last whole year.
    pub months_after: (NaiveDate, NaiveDate),
}

impl Split {
    /// Cut a period.
    pub fn of(p: Period) -> Split {
        let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let next_month = |d: NaiveDate| first_of(d) + Months::new(1);
        let jan1 = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NO_DAYS.1);
        let dec1 = |y: i32| NaiveDate::from_ymd_opt(y, 12, 1).unwrap_or(NO_DAYS.1);
        // The first whole month's first day, and the day after the last whole month.
        let start = if p.from.day() == 1 { p.from } else { next_month(p.from) };
        let end = if p.to.succ_opt().is_some_and(|d| d.day() == 1) {
            p.to
        } else {
            first_of(p.to).pred_opt().unwrap_or(p.to)
        };
        let mut out = Split {
            months: NO_DAYS,
            days_before: (p.from, p.to),
            days_after: NO_DAYS,
            years: NO_DAYS,
            months_before: NO_DAYS,
            months_after: NO_DAYS,
        };
        if start > end {
            return out;
        }
        let last_month = first_of(end);
        out.months = (start, last_month);
        out.days_before = if p.from < start { (p.from, start.pred_opt().unwrap_or(start)) } else { NO_DAYS };
        out.days_after = if end < p.to { (end.succ_opt().unwrap_or(end), p.to) } else { NO_DAYS };
        // Whole years within the whole months.
        let first_year = if start.month() == 1 { start.year() } else { start.year() + 1 };
        let last_year = if end.month() == 12 { end.year() } else { end.year() - 1 };
        if first_year > last_year {
            out.months_before = out.months;
            return out;
        }
        out.years = (jan1(first_year), jan1(last_year));
        if start < jan1(first_year) {
            out.months_before = (start, dec1(first_year - 1));
        }
        if last_month > dec1(last_year) {
            out.months_after = (jan1(last_year + 1), last_month);
        }
        out
    }

    /// The ranges in the order [`aggregate_sql`] numbers them (placeholders 1 to 12).
    pub fn params(&self) -> [NaiveDate; 12] {
        let r = [self.months, self.days_before, self.days_after, self.years, self.months_before, self.months_after];
        let mut out = [NO_DAYS.0; 12];
        for (i, (a, b)) in r.into_iter().enumerate() {
            out[2 * i] = a;
            out[2 * i + 1] = b;
        }
        out
    }
}

/// The placeholders [`Split::params`] takes; a scope's filter numbers from the next.
pub const SPLIT_PARAMS: usize = 12;

/// The SQL of a report's aggregates over the rollups (crate::rollup) for a [`Split`] period, the
/// same text on both backends (`dollar`: PostgreSQL's `$n` placeholders, else SQLite's `?n`):
/// per group (`group`: a column, or `NULL` for the scope's total) and count key, the sum of the
/// summed counts and the distinct subjects of the distinct counts. `filter` is the scope's
/// conditions ([`scope_filter`], numbered from 13). An absent town or village ('' in the
/// rollups) groups as `NULL`.
pub fn aggregate_sql(group: &str, dollar: bool, filter: &str) -> String {
    let g = match group {
        "town" | "village" => format!("nullif({group}, '')"),
        other => other.to_owned(),
    };
    let p = |n: usize| format!("{}{n}", if dollar { '$' } else { '?' });
    // One arm per table and range, each a single range on the day: an index seek on both
    // backends (an OR of ranges would read every row of the day tables).
    let arm = |table: &str, what: &str, keys: &str, first: usize| {
        format!(
            "SELECT {g} AS grp, key, {what} FROM {table} WHERE key {keys} AND day >= {} AND day <= {}{filter}",
            p(first),
            p(first + 1)
        )
    };
    let summed = format!("NOT IN ({DISTINCT})");
    let distinct = format!("IN ({DISTINCT})");
    let sums = [("tally_month", 1), ("tally", 3), ("tally", 5)]
        .map(|(t, n)| arm(t, "value", &summed, n))
        .join("\n             UNION ALL ");
    let subjects = [
        ("tally_subjects_year", 7),
        ("tally_subjects_month", 9),
        ("tally_subjects_month", 11),
        ("tally_subjects", 3),
        ("tally_subjects", 5),
    ]
    .map(|(t, n)| arm(t, "subject", &distinct, n))
    .join("\n             UNION ALL ");
    format!(
        "SELECT grp, key, CAST(sum(value) AS BIGINT) FROM (
             {sums}) s
         GROUP BY grp, key
         UNION ALL
         SELECT grp, key, count(DISTINCT subject) FROM (
             {subjects}) d
         GROUP BY grp, key"
    )
}

/// A `LIKE` pattern matching `text` anywhere, its `%`, `_` and `\\` taken literally (escape `\\`,
/// the default on PostgreSQL, named on SQLite).
pub fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The distinct counts' keys as SQL literals ([`tally::is_distinct`]).
pub const DISTINCT: &str = "'households_visited', 'agreements_performed'";

/// The `WHERE` conditions of a scope, with placeholders from `first` on (`?N` for SQLite, `$N`
/// for PostgreSQL), and the values to bind in order. `prefix` qualifies the columns.
pub fn scope_filter(scope: &Scope, first: usize, dollar: bool, columns: [&str; 4]) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    let fields = [&scope.station, &scope.town, &scope.village, &scope.officer];
    for (col, v) in columns.iter().zip(fields) {
        if let Some(v) = v {
            let n = first + values.len();
            sql.push_str(&format!(" AND {col} = {}{n}", if dollar { '$' } else { '?' }));
            values.push(v.clone());
        }
    }
    (sql, values)
}

/// One row of a report: a group, its counts and every indicator evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReportRow {
    /// The group's code (`null` for the total row, and for work outside any village).
    pub code: Option<String>,
    /// Its name.
    #[schema(value_type = Object)]
    pub name: LocalText,
    /// The counts, by key.
    #[schema(value_type = Object)]
    pub counts: BTreeMap<CountKey, u64>,
    /// The indicators, by code, in report order.
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, IndicatorValue>,
}

/// An indicator as the report's columns name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Column {
    /// Stable code.
    pub code: String,
    /// Name.
    #[schema(value_type = Object)]
    pub name: LocalText,
    /// Unit.
    #[schema(value_type = Object)]
    pub unit: LocalText,
    /// `count` or `rate`.
    pub kind: String,
}

/// A report: the indicators for a period and scope, grouped at a level, with the scope's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Report {
    /// The period.
    #[schema(value_type = Object)]
    pub period: Period,
    /// The level of the rows.
    pub level: Level,
    /// The level a row drills down to.
    pub below: Option<Level>,
    /// The scope.
    #[schema(value_type = Object)]
    pub scope: Scope,
    /// The columns, in report order.
    pub columns: Vec<Column>,
    /// The scope's total (distinct counts over the whole scope, not a sum of the rows).
    pub total: ReportRow,
    /// One row per group with any activity or any village in scope, by code.
    pub rows: Vec<ReportRow>,
}

/// A week of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrendWeek {
    /// Its Monday.
    pub week: NaiveDate,
    /// The indicators, by code.
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, IndicatorValue>,
}

/// The indicators week by week over a period and scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Trend {
    /// The period.
    #[schema(value_type = Object)]
    pub period: Period,
    /// The scope.
    #[schema(value_type = Object)]
    pub scope: Scope,
    /// Every week the period touches, empty weeks included, oldest first.
    pub weeks: Vec<TrendWeek>,
}

/// The report's columns.
pub fn columns() -> Vec<Column> {
    indicators::all()
        .into_iter()
        .map(|i| Column {
            code: i.code.to_owned(),
            name: i.name,
            unit: i.unit,
            kind: match i.formula {
                indicators::Formula::Count { .. } => "count".into(),
                _ => "rate".into(),
            },
        })
        .collect()
}

/// Counts and indicator values of one group.
pub fn evaluate(counts: Counts) -> (BTreeMap<CountKey, u64>, BTreeMap<String, IndicatorValue>) {
    let values = indicators::all().iter().map(|i| (i.code.to_owned(), i.evaluate(&counts))).collect();
    (counts, values)
}

fn counts_of(aggregates: &[Aggregate]) -> Counts {
    aggregates.iter().map(|a| (a.key, tally::finish(a.key, a.value))).collect()
}

/// Build a report from the aggregates by group (`group` `None` for the total), the villages in
/// scope by group (the denominator of police presence) and the groups' names.
pub fn build(
    period: Period,
    level: Level,
    scope: Scope,
    aggregates: Vec<Aggregate>,
    villages: Vec<(Option<String>, i64)>,
    names: &HashMap<String, LocalText>,
) -> Report {
    let mut groups: BTreeMap<Option<String>, Vec<Aggregate>> = BTreeMap::new();
    for a in aggregates {
        groups.entry(a.group.clone()).or_default().push(a);
    }
    let mut in_scope: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for (g, n) in villages {
        in_scope.insert(g, n);
    }
    let mut keys: Vec<Option<String>> = groups.keys().chain(in_scope.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let row = |code: Option<String>, total: bool| {
        let mut counts = counts_of(groups.get(&code).map(Vec::as_slice).unwrap_or_default());
        let villages = in_scope.get(&code).copied().unwrap_or(0);
        counts.insert(CountKey::VillagesInScope, villages.max(0) as u64);
        let (counts, values) = evaluate(counts);
        let name = match (&code, total) {
            (_, true) => LocalText::new("合计", "Total"),
            (Some(c), false) => names.get(c).cloned().unwrap_or_else(|| LocalText::new(c.clone(), c.clone())),
            (None, false) => LocalText::new("未归属村（社区）", "Outside any village"),
        };
        ReportRow { code: if total { None } else { code }, name, counts, values }
    };
    // The total's aggregates are stored under the group `None` with `week` unset by the caller
    // (see `Reports::aggregates`); rows are every other group.
    let total_key = Some(TOTAL.to_owned());
    let total = row(total_key.clone(), true);
    let rows = keys.into_iter().filter(|k| *k != total_key).map(|k| row(k, false)).collect();
    Report { period, level, below: level.below(), scope, columns: columns(), total, rows }
}

/// The group name a backend gives the scope's total row (no code can take it: codes are digits
/// and ASCII letters).
pub const TOTAL: &str = "*total*";

/// Build a weekly trend: every week the period touches, from the aggregates by week.
pub fn trend(period: Period, scope: Scope, aggregates: Vec<Aggregate>, villages: i64) -> Trend {
    let mut by_week: BTreeMap<NaiveDate, Vec<Aggregate>> = BTreeMap::new();
    for a in aggregates {
        if let Some(w) = a.week {
            by_week.entry(w).or_default().push(a);
        }
    }
    let mut weeks = Vec::new();
    let mut w = week_of(period.from);
    while w <= period.to {
        let mut counts = counts_of(by_week.get(&w).map(Vec::as_slice).unwrap_or_default());
        counts.insert(CountKey::VillagesInScope, villages.max(0) as u64);
        weeks.push(TrendWeek { week: w, values: evaluate(counts).1 });
        w = w + Days::new(7);
    }
    Trend { period, scope, weeks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every day of a period is read exactly once: from a day row, a month row or (distinct
    /// counts) a year row.
    #[test]
    fn a_period_is_cut_into_whole_years_months_and_the_days_left() {
        let days =
            |r: (NaiveDate, NaiveDate)| -> Vec<NaiveDate> { r.0.iter_days().take_while(|d| *d <= r.1).collect() };
        let months = |r: (NaiveDate, NaiveDate)| -> Vec<NaiveDate> {
            days(r)
                .into_iter()
                .filter(|d| d.day() == 1)
                .flat_map(|m| days((m, m + Months::new(1) - Days::new(1))))
                .collect()
        };
        let years = |r: (NaiveDate, NaiveDate)| -> Vec<NaiveDate> {
            days(r)
                .into_iter()
                .filter(|d| d.ordinal() == 1)
                .flat_map(|y| days((y, NaiveDate::from_ymd_opt(y.year(), 12, 31).unwrap())))
                .collect()
        };
        for (from, to) in [
            ("2026-01-01", "2026-12-31"),
            ("2026-11-01", "2026-11-30"),
            ("2026-11-20", "2026-11-20"),
            ("2026-11-20", "2026-12-10"),
            ("2026-10-15", "2027-02-14"),
            ("2025-07-03", "2027-03-31"),
            ("2024-12-31", "2026-01-01"),
            ("2026-02-01", "2026-02-28"),
            ("2024-02-01", "2024-02-28"),
        ] {
            let p = Period::range(d(from), d(to)).unwrap();
            let split = Split::of(p);
            let all = days((p.from, p.to));
            let mut summed = months(split.months);
            summed.extend(days(split.days_before));
            summed.extend(days(split.days_after));
            summed.sort();
            assert_eq!(summed, all, "sums of {from}..{to}: {split:?}");
            let mut distinct = years(split.years);
            distinct.extend(months(split.months_before));
            distinct.extend(months(split.months_after));
            distinct.extend(days(split.days_before));
            distinct.extend(days(split.days_after));
            distinct.sort();
            assert_eq!(distinct, all, "distinct counts of {from}..{to}: {split:?}");
        }
        let year = Split::of(Period::parse("2026").unwrap());
        assert_eq!(year.years, (d("2026-01-01"), d("2026-01-01")), "a year is one row per subject and place");
        assert_eq!((year.days_before, year.days_after, year.months_before), (NO_DAYS, NO_DAYS, NO_DAYS));
    }

    #[test]
    fn periods_by_name() {
        assert_eq!(Period::parse("2026-11-30").unwrap(), Period { from: d("2026-11-30"), to: d("2026-11-30") });
        assert_eq!(Period::parse("2026-W48").unwrap(), Period { from: d("2026-11-23"), to: d("2026-11-29") });
        assert_eq!(Period::parse("2026-02").unwrap(), Period { from: d("2026-02-01"), to: d("2026-02-28") });
        assert_eq!(Period::parse("2024-02").unwrap().to, d("2024-02-29"));
        assert_eq!(Period::parse("2026-Q4").unwrap(), Period { from: d("2026-10-01"), to: d("2026-12-31") });
        assert_eq!(Period::parse("2026").unwrap(), Period { from: d("2026-01-01"), to: d("2026-12-31") });
        // ISO week 1 of 2026 starts on Monday 2025-12-29.
        assert_eq!(Period::parse("2026-W01").unwrap().from, d("2025-12-29"));
        for bad in ["", "26", "2026-13", "2026-Q5", "2026-W54", "2026-1", "2026-11-31", "abcd", "2026-X1"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert!(Period::range(d("2026-02-01"), d("2026-01-31")).is_err());
        assert!(Period::range(d("2020-01-01"), d("2026-01-01")).is_err());
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_of(d("2026-11-30")), d("2026-11-30"));
        assert_eq!(week_of(d("2026-12-06")), d("2026-11-30"));
        assert_eq!(town_of("370406001001"), "370406001");
        assert_eq!(town_of("37"), "37");
    }

    #[test]
    fn a_station_supervisor_sees_their_station() {
        let own = Scope::default().within(Some("PCS-1")).unwrap();
        assert_eq!(own.station.as_deref(), Some("PCS-1"));
        assert!(Scope { station: Some("PCS-2".into()), ..Scope::default() }.within(Some("PCS-1")).is_err());
        assert_eq!(Scope::default().within(None).unwrap(), Scope::default());
    }

    #[test]
    fn the_total_is_its_own_aggregate_and_rates_are_undefined_without_a_denominator() {
        let agg = |g: &str, key, value| Aggregate { group: Some(g.into()), week: None, key, value };
        let report = build(
            Period { from: d("2026-11-01"), to: d("2026-11-30") },
            Level::Village,
            Scope::default(),
            vec![
                agg("V1", CountKey::HouseholdsVisited, 2),
                agg("V2", CountKey::HouseholdsVisited, 1),
                agg(TOTAL, CountKey::HouseholdsVisited, 3),
                agg("V1", CountKey::PresenceMinutes, 5400),
                agg(TOTAL, CountKey::PresenceMinutes, 5400),
            ],
            vec![(Some("V1".into()), 1), (Some("V3".into()), 1), (Some(TOTAL.into()), 2)],
            &HashMap::from([("V1".to_owned(), LocalText::new("一村", "One"))]),
        );
        assert_eq!(report.rows.iter().map(|r| r.code.clone().unwrap()).collect::<Vec<_>>(), ["V1", "V2", "V3"]);
        assert_eq!(report.rows[0].name.zh, "一村");
        assert_eq!(report.total.counts[&CountKey::HouseholdsVisited], 3);
        assert_eq!(report.total.counts[&CountKey::PresenceMinutes], 90);
        assert_eq!(
            report.total.values["police_presence"],
            IndicatorValue::Rate { numerator: 90, denominator: 2, value: Some(0.75) }
        );
        assert_eq!(
            report.rows[0].values["on_site_rate"],
            IndicatorValue::Rate { numerator: 0, denominator: 0, value: None }
        );
        assert_eq!(report.below, Some(Level::Officer));
    }
}
