//! Tablets whose clocks are wrong (DESIGN.md: the server's receive time is the truth, the
//! device's times are evidence). An officer's tablet is enrolled with a right clock on Tuesday
//! 2026-12-01; on Wednesday its clock goes wrong — back at 1970 after a flat battery (from the
//! morning, or at noon: a jump back mid-day), a year ahead, a year behind, or at 1970 and set
//! right again before it syncs — while the officer visits, rates, fixes hazards, holds publicity
//! and accepts a service carried back (HZ07: one working day); that evening it syncs. On Thursday,
//! its clock right again, the officer moves the service along to closed and syncs.
//!
//! On a real server (SQLite), for every case: nothing lost, duplicated or stuck, in the device's
//! order; the request's history in the order it happened; Wednesday's work counted on Wednesday
//! (the same numbers as the tablet's own totals over the days its clock showed), nothing counted
//! on the days the clock showed; the service's working-day deadline run from Wednesday, so
//! Thursday's close is on time. Where the clock was set right before the sync, the evidence of
//! when is gone: the work is counted no earlier than the enrollment and no later than receipt.
//! The tablet itself learns its clock's error from the server's answers (`Date`) and shows it
//! (`SyncStatus::clock_error_seconds`), also offline once the clock shows a time before the server
//! was last seen at.

use std::collections::BTreeMap;

use beibao_core::indicators::{CountKey, IndicatorValue};
use beibao_core::service_request::RequestState;
use beibao_field::{AcceptInput, AdvanceInput, DeliverInput};
use beibao_server::admin::new_account;
use beibao_server::report::{Level, Period, Report, Scope};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0, work};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `h` o'clock in Shanting on `day` of December 2026.
fn shanting(day: u32, h: u32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(2026, 12, day).expect("day").and_hms_opt(h, 0, 0).expect("time");
    local.and_utc() - Duration::hours(8)
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// What the tablet's clock shows on Wednesday at the true instant `t`.
#[derive(Debug, Clone, Copy)]
enum Wrong {
    /// Back at 1970 from 07:00 (the battery ran flat overnight and the clock restarted).
    FlatBattery,
    /// Right in the morning, back at 1970 from 12:00.
    FlatAtNoon,
    /// A year ahead all day.
    YearAhead,
    /// A year behind all day.
    YearBehind,
    /// Back at 1970 from 07:00, and set right before the evening's sync.
    SetRightBeforeSync,
}

impl Wrong {
    fn shows(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let from_epoch = |since: DateTime<Utc>| DateTime::<Utc>::UNIX_EPOCH + (t - since);
        match self {
            Wrong::FlatBattery | Wrong::SetRightBeforeSync => from_epoch(shanting(2, 7)),
            Wrong::FlatAtNoon if t < shanting(2, 12) => t,
            Wrong::FlatAtNoon => from_epoch(shanting(2, 12)),
            Wrong::YearAhead => t + Duration::days(365),
            Wrong::YearBehind => t - Duration::days(365),
        }
    }

    /// What it shows when the evening's sync starts.
    fn at_sync(self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Wrong::SetRightBeforeSync => t,
            _ => self.shows(t),
        }
    }

    /// The days the tablet's clock showed for Wednesday's work.
    fn shown_days(self) -> (NaiveDate, NaiveDate) {
        match self {
            Wrong::FlatBattery | Wrong::SetRightBeforeSync => (day("1970-01-01"), day("1970-01-01")),
            Wrong::FlatAtNoon => (day("1970-01-01"), day("2026-12-02")),
            Wrong::YearAhead => (day("2027-12-02"), day("2027-12-02")),
            Wrong::YearBehind => (day("2025-12-02"), day("2025-12-02")),
        }
    }

    /// The day the server counts Wednesday's work on.
    fn counted_on(self) -> NaiveDate {
        match self {
            // No reading of the times is possible: no earlier than the enrollment.
            Wrong::SetRightBeforeSync => day("2026-12-01"),
            _ => day("2026-12-02"),
        }
    }
}

/// The indicators as comparable values: counts, and rates as numerator and denominator.
fn comparable(values: &BTreeMap<String, IndicatorValue>) -> BTreeMap<String, (u64, u64)> {
    values
        .iter()
        .map(|(code, v)| {
            let v = match v {
                IndicatorValue::Count { value } => (*value, 0),
                IndicatorValue::Rate { numerator, denominator, .. } => (*numerator, *denominator),
            };
            (code.clone(), v)
        })
        .collect()
}

/// The officer's non-zero counts on the server over a period (no limit on its length).
fn counted(server: &Server, rt: &tokio::runtime::Runtime, from: NaiveDate, to: NaiveDate) -> BTreeMap<CountKey, i64> {
    let scope = Scope { officer: Some(OFFICER.into()), ..Scope::default() };
    let rows = rt.block_on(server.state.storage().aggregates(Period { from, to }, Level::Officer, &scope));
    rows.expect("aggregates")
        .into_iter()
        .filter(|a| a.group.as_deref() == Some(OFFICER) && a.value != 0)
        .map(|a| (a.key, a.value))
        .collect()
}

fn wrong_clock(wrong: Wrong, seed: u64) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), seed);
    rt.block_on(server.state.storage().put_registry(&fixtures().registry, &[], t0())).expect("registry");
    let account = new_account("chief", Role::Supervisor, None, "chief-password-1").expect("account");
    rt.block_on(server.state.storage().create_account(&account, t0())).expect("create");
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };

    // Tuesday: enrolled, the clocks agree.
    let mut t = Tablet::new(OFFICER, seed);
    server.clock.set(shanting(1, 9));
    t.clock.set(shanting(1, 9));
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    t.sync(&rt, fast, 0, &mut |_| {}).expect("the registry");

    // Wednesday: the work, stamped by a wrong clock.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut hz07 = None;
    for hour in 8..18 {
        t.clock.set(wrong.shows(shanting(2, hour)));
        let visit = work::visit(&mut t, &mut rng);
        work::rating(&mut t, beibao_core::activity::RatingSubject::Visit(visit), &mut rng);
        match hour {
            9 => work::hazard(&mut t, &mut rng, true),
            10 => work::publicity(&mut t, &mut rng),
            15 => {
                let h = work::households_of(OFFICER)[0];
                let accepted = t.session.accept_service(AcceptInput {
                    service: "HZ07".into(),
                    mode: None,
                    household: Some(h.id.clone()),
                    applicant: h.members[0].id.clone(),
                    materials: vec!["death_proof".into(), "hukou_book".into(), "deceased_id".into()],
                    fee_option: None,
                    attachments: vec![],
                });
                let id = accepted.expect("HZ07 accepted").id;
                let back = AdvanceInput { id, to: RequestState::CarriedBack, reason: None };
                t.session.advance_service(back).expect("carried back");
                hz07 = Some(id);
            }
            _ => {}
        }
    }
    let hz07 = hz07.expect("accepted");
    server.clock.set(shanting(2, 20));
    t.clock.set(wrong.at_sync(shanting(2, 20)));
    t.sync(&rt, fast, 0, &mut |_| {}).expect("Wednesday's sync");
    // The tablet knows its clock is off (the server's answers carry its time), and says so.
    let error = t.session.sync_status().expect("status").clock_error_seconds;
    let off = (shanting(2, 20) - wrong.at_sync(shanting(2, 20))).num_seconds();
    match wrong {
        Wrong::SetRightBeforeSync => assert_eq!(error, None),
        _ => assert_eq!(error, Some(off), "{wrong:?}"),
    }

    // Thursday, the clock right: the service moved along to closed.
    server.clock.set(shanting(3, 10));
    t.clock.set(shanting(3, 10));
    for to in [RequestState::Submitted, RequestState::Approved, RequestState::Made, RequestState::ReadyToDeliver] {
        t.session.advance_service(AdvanceInput { id: hz07, to, reason: None }).expect("advance");
    }
    t.session.deliver_service(DeliverInput { id: hz07, signature_png: work::png(7) }).expect("delivered");
    t.session.advance_service(AdvanceInput { id: hz07, to: RequestState::Closed, reason: None }).expect("closed");
    server.clock.set(shanting(3, 20));
    t.clock.set(shanting(3, 20));
    t.sync(&rt, fast, 0, &mut |_| {}).expect("Thursday's sync");
    assert_eq!(t.session.sync_status().expect("status").clock_error_seconds, None, "{wrong:?}: right again");
    // Back at 1970 after the sync, offline: the clock shows a time before the server was last
    // seen at, so it is wrong by at least that much.
    t.clock.set(DateTime::<Utc>::UNIX_EPOCH);
    let behind = t.session.sync_status().expect("status").clock_error_seconds;
    assert_eq!(behind, Some((shanting(3, 20) - DateTime::<Utc>::UNIX_EPOCH).num_seconds()), "{wrong:?}");
    t.clock.set(shanting(3, 21));

    // Nothing lost, duplicated or stuck, in the device's order.
    let verdict = work::check(&rt, &t, &server, 0);
    assert!(verdict.clean(), "{wrong:?}: {verdict:?}");
    // The request's history in the order it happened, whatever the clock said.
    let events = rt.block_on(server.state.storage().request_events(&hz07.to_string())).expect("events");
    let states: Vec<_> = events.iter().filter_map(|e| e.new_state).collect();
    assert_eq!(
        states,
        vec![
            RequestState::CarriedBack,
            RequestState::Submitted,
            RequestState::Approved,
            RequestState::Made,
            RequestState::ReadyToDeliver,
            RequestState::Delivered,
            RequestState::Closed
        ],
        "{wrong:?}"
    );

    // Wednesday's work counted on the day it was done: the tablet's own totals over the days its
    // clock showed.
    let wednesday = wrong.counted_on();
    let c = Console::new(&rt, server.url());
    let chief = c.login("chief", "chief-password-1").token;
    let report: Report =
        c.ok("GET", &format!("/supervisor/report?from={wednesday}&to=2026-12-02&level=officer"), &chief, None);
    let row = report.rows.iter().find(|r| r.code.as_deref() == Some(OFFICER)).expect("the officer's row");
    let (from, to) = wrong.shown_days();
    let tablet: BTreeMap<String, IndicatorValue> = t
        .session
        .totals(from, to)
        .expect("totals")
        .into_iter()
        .map(|x| (x.indicator.code.to_owned(), x.value))
        .collect();
    assert_eq!(comparable(&row.values), comparable(&tablet), "{wrong:?}: the server's Wednesday, the tablet's days");
    assert!(row.counts.get(&CountKey::HouseholdsVisited).copied().unwrap_or(0) > 0, "{wrong:?}: visits counted");
    // Nothing on the days the clock showed, nor on any other.
    let before = counted(&server, &rt, day("1900-01-01"), wednesday.pred_opt().expect("a day"));
    assert!(before.is_empty(), "{wrong:?}: counted before {wednesday}: {before:?}");
    let after = counted(&server, &rt, day("2026-12-04"), day("2100-12-31"));
    assert!(after.is_empty(), "{wrong:?}: counted after Thursday: {after:?}");
    // The deadline ran from the day the service was accepted: HZ07 takes one working day, so
    // closing it on Thursday is on time (from the enrollment day, Tuesday, it is a day late).
    let thursday = counted(&server, &rt, day("2026-12-03"), day("2026-12-03"));
    assert_eq!(thursday.get(&CountKey::ServicesClosed), Some(&1), "{wrong:?}: {thursday:?}");
    let on_time = thursday.get(&CountKey::ServicesClosedOnTime).copied();
    match wrong {
        Wrong::SetRightBeforeSync => assert_eq!(on_time, None, "{thursday:?}"),
        _ => assert_eq!(on_time, Some(1), "{wrong:?}: closed within its working day"),
    }
    drop(dir);
}

#[test]
fn a_clock_back_at_1970_after_a_flat_battery() {
    wrong_clock(Wrong::FlatBattery, 51);
}

#[test]
fn a_clock_that_jumps_back_at_noon() {
    wrong_clock(Wrong::FlatAtNoon, 52);
}

#[test]
fn a_clock_a_year_ahead() {
    wrong_clock(Wrong::YearAhead, 53);
}

#[test]
fn a_clock_a_year_behind() {
    wrong_clock(Wrong::YearBehind, 54);
}

#[test]
fn a_clock_set_right_before_the_sync() {
    wrong_clock(Wrong::SetRightBeforeSync, 55);
}
