//! The indicator counts as the server keeps them: each record's facts (beibao_core::tally)
//! placed where they count (station, town, village, officer), then folded per push into two
//! rollups that reports aggregate in SQL:
//! - `tally`: per day, place and count key, the sum of the facts' values and how many facts;
//! - `tally_subjects`: per day, place and distinct count key, each subject counted once, with the
//!   number of facts naming it (so a record recorded again can take its share back).
//!
//! A push writes a handful of rollup rows, not one row per fact: a day's 25 visits of one officer
//! in one village are one row per summed key. A record keeps the facts it added (`records.facts`,
//! JSON), so a record recorded again (a hazard fixed, a 司法确认 ruled) first takes them back.
//! Both backends place and fold with this module; they differ only in how they read what it asks
//! ([`Lookup`]) and how they write the rows.

use std::collections::{BTreeMap, HashMap};

use beibao_core::indicators::CountKey;
use beibao_core::ops::OpKind;
use beibao_core::tally::{self, Fact};
use chrono::{Datelike as _, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::plan::{Decision, Due, Effect};
use crate::storage::StorageError;

/// A fact where it counts: the officer's station when it was written, the town (the village
/// code's first nine digits) and the village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The count.
    pub key: CountKey,
    /// The day it counts on.
    pub day: NaiveDate,
    /// How much.
    pub value: i64,
    /// What a distinct count counts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Station ('' when the officer has none).
    pub station: String,
    /// Village ('' when the record has none).
    #[serde(default)]
    pub village: String,
    /// Officer.
    pub officer: String,
}

impl Placed {
    /// Town: the village code's first nine digits ('' without a village).
    pub fn town(&self) -> &str {
        crate::report::town_of(&self.village)
    }
}

/// Place a record's facts.
pub fn place(facts: &[Fact], officer: &str, station: &str, village: Option<&str>) -> Vec<Placed> {
    facts
        .iter()
        .map(|f| Placed {
            key: f.key,
            day: f.day,
            value: f.value,
            subject: f.subject.clone(),
            station: station.to_owned(),
            village: village.unwrap_or_default().to_owned(),
            officer: officer.to_owned(),
        })
        .collect()
}

/// The key of a `tally` row: day, station, town, village, officer, count key.
pub type SumKey = (NaiveDate, String, String, String, String, CountKey);
/// The key of a `tally_subjects` row: count key, day, subject, station, town, village, officer.
pub type SubjectKey = (CountKey, NaiveDate, String, String, String, String, String);
/// A sums table's change: per row, (value, facts) to add.
pub type Sums = BTreeMap<SumKey, (i64, i64)>;
/// A distinct counts table's change: per row, facts to add.
pub type Subjects = BTreeMap<SubjectKey, i64>;

/// What a push (or a desk move) changes in the rollups, in key order (so two transactions touch
/// shared rows in the same order). Each fact counts in its day's rows and again in its month's
/// (`tally_month`, `tally_subjects_month`: the key's day is the month's first) and, for a
/// distinct count, its year's (`tally_subjects_year`: January 1st), so a report over whole
/// months or years reads a few rows per place instead of one per day ([`crate::report::Split`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rollup {
    /// Per row: (value, facts) to add.
    pub sums: Sums,
    /// Per row: facts to add.
    pub subjects: Subjects,
    /// `sums` by month.
    pub month_sums: Sums,
    /// `subjects` by month.
    pub month_subjects: Subjects,
    /// `subjects` by year.
    pub year_subjects: Subjects,
}

/// The first day of a day's month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// January 1st of a day's year.
pub fn year_of(day: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day)
}

impl Rollup {
    /// Add (`sign` 1) or take back (`sign` -1) facts.
    pub fn add(&mut self, facts: &[Placed], sign: i64) {
        for p in facts {
            let town = p.town().to_owned();
            let sum =
                |day: NaiveDate| (day, p.station.clone(), town.clone(), p.village.clone(), p.officer.clone(), p.key);
            for (rows, day) in [(&mut self.sums, p.day), (&mut self.month_sums, month_of(p.day))] {
                let s = rows.entry(sum(day)).or_default();
                s.0 += sign * p.value;
                s.1 += sign;
            }
            if tally::is_distinct(p.key) {
                let subject = |day: NaiveDate| {
                    (
                        p.key,
                        day,
                        p.subject.clone().unwrap_or_default(),
                        p.station.clone(),
                        town.clone(),
                        p.village.clone(),
                        p.officer.clone(),
                    )
                };
                for (rows, day) in [
                    (&mut self.subjects, p.day),
                    (&mut self.month_subjects, month_of(p.day)),
                    (&mut self.year_subjects, year_of(p.day)),
                ] {
                    *rows.entry(subject(day)).or_default() += sign;
                }
            }
        }
        for rows in [&mut self.sums, &mut self.month_sums] {
            rows.retain(|_, v| *v != (0, 0));
        }
        for rows in [&mut self.subjects, &mut self.month_subjects, &mut self.year_subjects] {
            rows.retain(|_, n| *n != 0);
        }
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.sum_tables().iter().all(|(_, rows)| rows.is_empty())
            && self.subject_tables().iter().all(|(_, rows)| rows.is_empty())
    }

    /// Some row loses facts: rows left with none are to be deleted.
    pub fn takes_back(&self) -> bool {
        self.sum_tables().iter().any(|(_, rows)| rows.values().any(|v| v.1 < 0))
            || self.subject_tables().iter().any(|(_, rows)| rows.values().any(|n| *n < 0))
    }

    /// The sums' tables with their rows: `tally` (by day), `tally_month`.
    pub fn sum_tables(&self) -> [(&'static str, &Sums); 2] {
        [("tally", &self.sums), ("tally_month", &self.month_sums)]
    }

    /// The distinct counts' tables with their rows: by day, month and year.
    pub fn subject_tables(&self) -> [(&'static str, &Subjects); 3] {
        [
            ("tally_subjects", &self.subjects),
            ("tally_subjects_month", &self.month_subjects),
            ("tally_subjects_year", &self.year_subjects),
        ]
    }
}

/// How many rows of the month and year rollups differ from the day rows folded to their month
/// or year (either way round): 0 when they agree, as every write keeps them (a tests' check).
pub fn drift_sql(postgres: bool) -> String {
    let month = if postgres { "date_trunc('month', day)::date" } else { "substr(day, 1, 7) || '-01'" };
    let year = if postgres { "date_trunc('year', day)::date" } else { "substr(day, 1, 4) || '-01-01'" };
    let place = "station, town, village, officer";
    let differ = |folded: String, kept: String| {
        format!("(SELECT count(*) FROM ({folded} EXCEPT {kept}) a) + (SELECT count(*) FROM ({kept} EXCEPT {folded}) b)")
    };
    let sums = differ(
        format!("SELECT {month} AS d, {place}, key, sum(value), sum(n) FROM tally GROUP BY {month}, {place}, key"),
        format!("SELECT day, {place}, key, value, n FROM tally_month"),
    );
    let subjects = |grain: &str, table: &str| {
        differ(
            format!(
                "SELECT key, {grain} AS d, subject, {place}, sum(n) FROM tally_subjects \
                 GROUP BY key, {grain}, subject, {place}"
            ),
            format!("SELECT key, day, subject, {place}, n FROM {table}"),
        )
    };
    format!("SELECT {sums} + {} + {}", subjects(month, "tally_subjects_month"), subjects(year, "tally_subjects_year"))
}

/// What placing a batch needs from the database as it stood before the batch.
pub trait Lookup {
    /// An officer's station ('' when none).
    fn station(&mut self, officer: &str) -> Result<String, StorageError>;
    /// The village of a household of the registry.
    fn household_village(&mut self, household: &str) -> Result<Option<String>, StorageError>;
    /// The village of a record or request (what a rating is about).
    fn village_about(&mut self, id: &str) -> Result<Option<String>, StorageError>;
    /// A request's officer and village.
    fn request_place(&mut self, id: &str) -> Result<Option<(String, Option<String>)>, StorageError>;
    /// The facts a record holds (what it added when last recorded), if it is held.
    fn record_facts(&mut self, kind: OpKind, id: &str) -> Result<Option<Vec<Placed>>, StorageError>;
}

/// A batch placed: each record's facts to keep with it (JSON, by kind and id) and the rollups'
/// change.
#[derive(Debug, Default)]
pub struct PlacedBatch {
    /// What each record the batch writes keeps of its facts (its last write's; none without
    /// facts).
    pub records: HashMap<(OpKind, String), KeptRecord>,
    /// The village each new request counts in (its household's).
    pub request_villages: HashMap<String, Option<String>>,
    /// The station of each new request's officer ('' when none).
    pub request_stations: HashMap<String, String>,
    /// The rollups' change.
    pub rollup: Rollup,
    /// The changes to the list of mediation deadlines, in the batch's order.
    pub due: Vec<PlacedDue>,
}

/// What a record keeps of its facts: `records.facts` (JSON), and the day it counts on (its first
/// fact's) and its station, by which the detail exports page and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRecord {
    /// `records.facts`.
    pub facts: String,
    /// `records.day`.
    pub day: NaiveDate,
    /// `records.station` ('' when the officer has none).
    pub station: String,
}

/// A change to the list of mediation deadlines (`mediation_due`) with where its case is listed:
/// its village, its officer and the officer's station when it was written (a follow-up or a
/// 司法确认 only marks its case, wherever that is listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedDue {
    /// The mediation.
    pub mediation: String,
    /// Station ('' when the officer has none).
    pub station: String,
    /// Village.
    pub village: String,
    /// Officer.
    pub officer: String,
    /// The change.
    pub change: Due,
}

impl PlacedDue {
    /// Town: the village code's first nine digits.
    pub fn town(&self) -> &str {
        crate::report::town_of(&self.village)
    }
}

/// Place every fact of the batch's fresh decisions, pushed by `officer`'s device: records count
/// in their village (a rating in its subject's, a request in its household's), a request's
/// events where the request counts, each under its officer's station. A record recorded again
/// (earlier, or earlier in this batch) takes back what it added before.
pub fn place_batch<L: Lookup>(
    officer: &str,
    decisions: &[Decision],
    look: &mut L,
) -> Result<PlacedBatch, StorageError> {
    let mut out = PlacedBatch::default();
    // Each officer's station read once per batch.
    let mut stations: HashMap<String, String> = HashMap::new();
    let mut station = |look: &mut L, o: &str| -> Result<String, StorageError> {
        if let Some(s) = stations.get(o) {
            return Ok(s.clone());
        }
        let s = look.station(o)?;
        stations.insert(o.to_owned(), s.clone());
        Ok(s)
    };
    // What this batch placed, for later ops of it: facts by record, villages by id, requests.
    let mut held: HashMap<(OpKind, String), Vec<Placed>> = HashMap::new();
    let mut villages: HashMap<String, Option<String>> = HashMap::new();
    let mut requests: HashMap<String, (String, Option<String>)> = HashMap::new();
    for d in decisions.iter().filter(|d| !d.replay) {
        for e in &d.effects {
            match e {
                Effect::Record { kind, id, village, facts, about, due } => {
                    let village = match (village, about) {
                        (None, Some(about)) => match villages.get(about) {
                            Some(v) => v.clone(),
                            None => look.village_about(about)?,
                        },
                        _ => village.clone(),
                    };
                    let s = station(look, officer)?;
                    let placed = place(facts, officer, &s, village.as_deref());
                    let key = (*kind, id.clone());
                    let before = match held.remove(&key) {
                        Some(b) => Some(b),
                        None => look.record_facts(*kind, id)?,
                    };
                    if let Some(before) = before {
                        out.rollup.add(&before, -1);
                    }
                    out.rollup.add(&placed, 1);
                    if let Some(change) = due {
                        let mediation = match change {
                            Due::Case { .. } => id.clone(),
                            Due::FollowedUp { mediation, .. } | Due::Confirmed { mediation, .. } => mediation.clone(),
                        };
                        out.due.push(PlacedDue {
                            mediation,
                            station: s.clone(),
                            village: village.clone().unwrap_or_default(),
                            officer: officer.to_owned(),
                            change: change.clone(),
                        });
                    }
                    if village.is_some() {
                        villages.insert(id.clone(), village);
                    }
                    match (keep(&placed)?, placed.first()) {
                        (Some(facts), Some(first)) => out
                            .records
                            .insert(key.clone(), KeptRecord { facts, day: first.day, station: first.station.clone() }),
                        _ => out.records.remove(&key),
                    };
                    held.insert(key, placed);
                }
                Effect::Request { id, household, facts, .. } => {
                    let village = match household {
                        Some(h) => look.household_village(h)?,
                        None => None,
                    };
                    let s = station(look, officer)?;
                    out.rollup.add(&place(facts, officer, &s, village.as_deref()), 1);
                    villages.insert(id.clone(), village.clone());
                    requests.insert(id.clone(), (officer.to_owned(), village.clone()));
                    out.request_villages.insert(id.clone(), village);
                    out.request_stations.insert(id.clone(), s);
                }
                Effect::RequestEvent { request, facts, .. } => {
                    if facts.is_empty() {
                        continue;
                    }
                    let (o, village) = match requests.get(request) {
                        Some(p) => p.clone(),
                        None => look
                            .request_place(request)?
                            .ok_or_else(|| StorageError::Db(format!("no request {request} to count under")))?,
                    };
                    let s = station(look, &o)?;
                    out.rollup.add(&place(facts, &o, &s, village.as_deref()), 1);
                }
            }
        }
    }
    Ok(out)
}

/// What a record keeps of the facts it added (`records.facts`): one place, its facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Kept {
    station: String,
    #[serde(default)]
    village: String,
    officer: String,
    facts: Vec<Fact>,
}

/// A record's placed facts as it keeps them (they share one place).
pub fn keep(placed: &[Placed]) -> Result<Option<String>, StorageError> {
    let Some(first) = placed.first() else { return Ok(None) };
    let kept = Kept {
        station: first.station.clone(),
        village: first.village.clone(),
        officer: first.officer.clone(),
        facts: placed
            .iter()
            .map(|p| Fact { key: p.key, day: p.day, value: p.value, subject: p.subject.clone() })
            .collect(),
    };
    serde_json::to_string(&kept).map(Some).map_err(|e| StorageError::Db(e.to_string()))
}

/// Read a record's kept facts.
pub fn parse_facts(json: &str) -> Result<Vec<Placed>, StorageError> {
    let k: Kept = serde_json::from_str(json).map_err(|e| StorageError::Db(format!("stored facts: {e}")))?;
    Ok(place(&k.facts, &k.officer, &k.station, Some(&k.village)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(key: CountKey, day: &str, value: i64, subject: Option<&str>) -> Placed {
        Placed {
            key,
            day: day.parse().unwrap(),
            value,
            subject: subject.map(str::to_owned),
            station: "S1".into(),
            village: "370406102001".into(),
            officer: "OF-1".into(),
        }
    }

    #[test]
    fn facts_fold_into_one_row_per_place_and_day_and_taking_back_leaves_nothing() {
        let visits: Vec<Placed> = (0..25)
            .flat_map(|i| {
                [
                    fact(CountKey::HouseholdsVisited, "2026-11-02", 1, Some(&format!("H{}", i % 20))),
                    fact(CountKey::PersonsMet, "2026-11-02", 2, None),
                ]
            })
            .collect();
        let mut r = Rollup::default();
        r.add(&visits, 1);
        assert_eq!(r.sums.len(), 2, "one row per count key");
        let persons = r.sums.iter().find(|(k, _)| k.5 == CountKey::PersonsMet).unwrap().1;
        assert_eq!(*persons, (50, 25));
        assert_eq!(r.sums.keys().next().unwrap().2, "370406102", "the town is the village's first nine digits");
        assert_eq!(r.subjects.len(), 20, "each household once, with the facts naming it");
        assert_eq!(r.subjects.values().sum::<i64>(), 25);
        assert!(!r.takes_back());
        r.add(&visits, -1);
        assert!(r.is_empty());
    }

    #[test]
    fn kept_facts_read_back_as_written() {
        let p = vec![
            fact(CountKey::HazardsFound, "2026-11-02", 1, None),
            fact(CountKey::HazardsFixed, "2026-11-03", 1, None),
            fact(CountKey::HouseholdsVisited, "2026-11-03", 1, Some("H1")),
        ];
        let json = keep(&p).unwrap().expect("kept");
        assert_eq!(parse_facts(&json).unwrap(), p);
        assert_eq!(keep(&[]).unwrap(), None, "nothing kept without facts");
        assert!(parse_facts("{").is_err());
    }
}
