//! The supervisors' reports on a real server, on SQLite and on PostgreSQL: two officers of two
//! stations do some days of field work on their tablets and sync; the bureau supervisor's report,
//! its drill-down, the weekly trend, the CSV and the XLSX (read back with `calamine`) give the
//! same numbers as each tablet's own totals. A station supervisor sees their station only; a
//! desk account, a stranger and bad queries are refused with their codes; every export is in the
//! audit log.

use std::collections::BTreeMap;
use std::io::Cursor;

use beibao_core::activity::{ClueCategory, InfoCategory};
use beibao_core::catalog::Mode;
use beibao_core::clock::Clock;
use beibao_core::code::Code;
use beibao_core::indicators::{CountKey, IndicatorValue};
use beibao_core::mediation::after::CourtRuling;
use beibao_core::mediation::after::RecurrenceKind;
use beibao_core::service_request::RequestState;
use beibao_field::{AcceptInput, AdvanceInput, ClueInput, JudicialInput, ProposalInput, RecurrenceInput};
use beibao_server::admin::new_account;
use beibao_server::export;
use beibao_server::report::{Level, Report, Trend};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_sync::wire::ErrorBody;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0, work};
use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const PASSWORD: &str = "window-password-1";

/// The first and last day of the report: the work happens from 2026-11-20 on, agreements fall
/// due a week after.
fn period() -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap())
}

struct Console<'a> {
    rt: &'a Runtime,
    http: reqwest::Client,
    base: String,
}

impl Console<'_> {
    fn get(&self, path: &str, token: Option<&str>) -> (u16, Option<String>, Vec<u8>) {
        self.rt.block_on(async {
            let mut req = self.http.get(format!("{}/api/v1{path}", self.base));
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
            (status, ct, resp.bytes().await.expect("body").to_vec())
        })
    }

    fn ok<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let (status, _, body) = self.get(path, Some(token));
        assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("answer shape")
    }

    fn fails(&self, path: &str, token: Option<&str>) -> (u16, Code) {
        let (status, _, body) = self.get(path, token);
        let e: ErrorBody = serde_json::from_slice(&body).expect("the one error shape");
        assert!(!e.message.is_empty());
        (status, e.code)
    }

    fn login(&self, username: &str) -> String {
        self.rt.block_on(async {
            let resp = self
                .http
                .post(format!("{}/api/v1/accounts/login", self.base))
                .header("content-type", "application/json")
                .body(json!({ "username": username, "password": PASSWORD }).to_string())
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status().as_u16(), 200);
            let v: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("session");
            v["token"].as_str().expect("token").to_owned()
        })
    }
}

/// An officer of another station than the demo officer's, with villages of their own.
fn other_officer() -> (&'static str, String) {
    let f = fixtures();
    let mine = &f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station;
    let o = f
        .registry
        .officers
        .iter()
        .find(|o| &o.station != mine && !f.registry.villages_of(&o.id).is_empty())
        .expect("an officer of another station");
    (o.id.as_str(), o.station.clone())
}

/// A service accepted on site and completed there.
fn on_site(t: &mut Tablet, service: &str, materials: &[&str]) {
    let h = work::households()[0];
    let r = t
        .session
        .accept_service(AcceptInput {
            service: service.into(),
            mode: Some(Mode::OnSite),
            household: Some(h.id.clone()),
            applicant: h.members[0].id.clone(),
            materials: materials.iter().map(|m| (*m).to_owned()).collect(),
            fee_option: None,
            attachments: vec![],
        })
        .expect("accept on site");
    t.session
        .advance_service(AdvanceInput { id: r.id, to: RequestState::CompletedOnSite, reason: None })
        .expect("done");
}

/// Days of work on the demo officer's tablet: the seeded mix of visits, services, hazards,
/// publicity, signed mediations and ratings, plus services done on site, an agreement checked,
/// confirmed by a court and come back, a clue and a 一标三实 correction.
fn field_work(t: &mut Tablet, seed: u64, days: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..days {
        work::day(t, &mut rng, 20);
        t.clock.advance(Duration::days(1));
    }
    work::service(t, &mut rng, 1); // carried back, for the desk to move
    work::service(t, &mut rng, 6); // delivered to the door
    on_site(t, "WA01", &["phone"]);
    on_site(t, "ZA06", &[]);
    let case = work::signed_mediation(t, &mut rng);
    t.session.record_performance(case, true, "已履行".into()).expect("followup");
    let today = t.session.today();
    t.session
        .record_judicial_confirmation(JudicialInput {
            mediation: case,
            applied_on: today,
            court: "山亭区人民法院".into(),
            ruling: Some(CourtRuling::Confirmed),
            ruled_on: Some(today),
            note: String::new(),
        })
        .expect("confirmed");
    t.session
        .record_recurrence(RecurrenceInput {
            mediation: case,
            kind: RecurrenceKind::Rebound,
            occurred_on: today,
            note: "双方又因排水沟争吵".into(),
        })
        .expect("recurrence");
    let village = fixtures().registry.villages_of(OFFICER)[0].to_owned();
    t.session
        .report_clue(ClueInput {
            village: village.clone(),
            category: ClueCategory::Gambling,
            summary: "村东头废弃厂房夜间有人聚集赌博".into(),
            place: "村东废弃厂房".into(),
        })
        .expect("clue");
    let h = fixtures().registry.households.iter().find(|h| h.village == village).expect("household");
    t.session
        .propose_correction(ProposalInput {
            village,
            category: InfoCategory::Resident,
            household: Some(h.id.clone()),
            subject: "张三".into(),
            proposed: "已于本月迁出".into(),
            note: String::new(),
        })
        .expect("proposal");
}

/// A few visits on the other officer's tablet.
fn visits_elsewhere(t: &mut Tablet, officer: &str, n: usize) {
    use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
    let f = fixtures();
    let villages = f.registry.villages_of(officer);
    let homes: Vec<_> = f
        .registry
        .households
        .iter()
        .filter(|h| villages.contains(&h.village.as_str()) && h.location.is_some())
        .collect();
    for h in homes.iter().take(n) {
        let home = h.location.expect("located");
        let draft = t
            .session
            .start_visit(VisitTarget::Household(h.id.clone()), vec![VisitPurpose::HazardCheck])
            .expect("start");
        t.clock.advance(Duration::minutes(17));
        let now = t.clock.now();
        t.session
            .record_visit(beibao_field::VisitInput {
                id: Some(draft.id),
                target: draft.target,
                purposes: draft.purposes,
                started_at: draft.started_at,
                ended_at: now,
                outcome: VisitOutcome::Met,
                persons_met: 3,
                fix: Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 8.0, taken_at: now }),
                pin: None,
                note: "走访".into(),
            })
            .expect("visit");
    }
}

/// The same indicators: counts equal, rates of equal numerator and denominator (their value as
/// JSON carries it: serde_json's default float parsing may differ in the last bit).
fn same_values(server: &BTreeMap<String, IndicatorValue>, tablet: &BTreeMap<String, IndicatorValue>, who: &str) {
    assert_eq!(server.keys().collect::<Vec<_>>(), tablet.keys().collect::<Vec<_>>());
    for (code, s) in server {
        match (s, &tablet[code]) {
            (
                IndicatorValue::Rate { numerator: n1, denominator: d1, value: v1 },
                IndicatorValue::Rate { numerator: n2, denominator: d2, value: v2 },
            ) => {
                assert_eq!((n1, d1), (n2, d2), "{who} {code}");
                assert_eq!(v1.is_some(), v2.is_some(), "{who} {code}");
                assert!((v1.unwrap_or(0.0) - v2.unwrap_or(0.0)).abs() < 1e-9, "{who} {code}: {v1:?} {v2:?}");
            }
            (a, b) => assert_eq!(a, b, "{who} {code}: the server's report and the tablet's own totals"),
        }
    }
}

fn tablet_values(t: &Tablet) -> BTreeMap<String, IndicatorValue> {
    let (from, to) = period();
    tablet_values_in(t, from, to)
}

fn tablet_values_in(t: &Tablet, from: NaiveDate, to: NaiveDate) -> BTreeMap<String, IndicatorValue> {
    t.session.totals(from, to).expect("totals").into_iter().map(|x| (x.indicator.code.to_owned(), x.value)).collect()
}

fn query(level: &str, extra: &str) -> String {
    let (from, to) = period();
    format!("from={from}&to={to}&level={level}{extra}")
}

fn the_reports_agree_with_the_tablets(server: &Server, rt: &Runtime) {
    let storage = server.state.storage();
    rt.block_on(storage.put_registry(&fixtures().registry, &[], t0())).expect("the whole registry");
    let (other, other_station) = other_officer();
    let station = fixtures().registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    for (name, role, st) in [
        ("chief", Role::Supervisor, None),
        ("station-chief", Role::Supervisor, Some(station.as_str())),
        ("desk", Role::Desk, Some(station.as_str())),
    ] {
        let a = new_account(name, role, st, PASSWORD).expect("account");
        rt.block_on(storage.create_account(&a, t0())).expect("create");
    }

    // Two officers of two stations work and sync; the desk moves carried-back applications.
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    let mut a = Tablet::new(OFFICER, 21);
    a.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
    field_work(&mut a, 21, 3);
    let mut b = Tablet::new(other, 22);
    b.enroll(rt, &server.url(), &server.code(rt, other)).expect("enroll");
    visits_elsewhere(&mut b, other, 6);
    // The tablets sync when the days of work are done: the server's clock has moved on too (it
    // counts no record stamped after it received it).
    server.clock.set(a.clock.now());
    a.sync(rt, fast, 0, &mut |_| {}).expect("sync a");
    b.sync(rt, fast, 0, &mut |_| {}).expect("sync b");
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    assert!(work::desk_move(rt, server, &mut rng), "a carried-back application to move");
    // Its history as the desk's detail reads it, in the order received on either backend.
    let submitted = rt.block_on(storage.requests_at(&station, Some(RequestState::Submitted), 100)).expect("requests");
    let histories: Vec<Vec<_>> = submitted
        .iter()
        .map(|r| {
            let events = rt.block_on(storage.request_events(&r.id)).expect("events");
            events.iter().map(|e| (e.new_state, e.by.starts_with("desk:"))).collect()
        })
        .collect();
    assert!(
        histories.contains(&vec![(Some(RequestState::CarriedBack), false), (Some(RequestState::Submitted), true)]),
        "{histories:?}"
    );
    a.sync(rt, fast, 0, &mut |_| {}).expect("pull the move");

    let c = Console { rt, http: reqwest::Client::new(), base: server.url() };
    let chief = c.login("chief");

    // Each officer's row is their tablet's own totals, indicator by indicator.
    for (t, officer, st) in [(&a, OFFICER, &station), (&b, other, &other_station)] {
        let report: Report =
            c.ok(&format!("/supervisor/report?{}", query("officer", &format!("&station={st}"))), &chief);
        let row = report.rows.iter().find(|r| r.code.as_deref() == Some(officer)).expect("the officer's row");
        let tablet = tablet_values(t);
        same_values(&row.values, &tablet, officer);
        assert!(row.name.zh.contains(&fixtures().registry.officers.iter().find(|o| o.id == officer).unwrap().name));
    }
    // Periods with ragged edges and one inside a month: the same numbers as the tablet's.
    for (from, to) in [("2026-10-15", "2026-12-10"), ("2026-11-21", "2026-11-27")] {
        let (from, to): (NaiveDate, NaiveDate) = (from.parse().unwrap(), to.parse().unwrap());
        let report: Report =
            c.ok(&format!("/supervisor/report?from={from}&to={to}&level=officer&station={station}"), &chief);
        let row = report.rows.iter().find(|r| r.code.as_deref() == Some(OFFICER)).expect("row");
        same_values(&row.values, &tablet_values_in(&a, from, to), &format!("{OFFICER} {from}..{to}"));
    }
    let a_values = tablet_values(&a);
    for code in [
        "households_visited",
        "services_on_site",
        "door_deliveries",
        "disputes_resolved",
        "judicial_confirmations",
        "recurrences",
        "publicity_sessions",
        "hazards_fixed",
        "information_collected",
        "clue_reports",
        "anti_fraud_installs",
        "agreement_performance_rate",
        "on_time_rate",
    ] {
        let counted = match a_values[code] {
            IndicatorValue::Count { value } => value,
            IndicatorValue::Rate { numerator, .. } => numerator,
        };
        assert!(counted > 0, "the dataset exercises {code}");
    }

    // The district by station: one row per station with work or villages; the total is the
    // scope's own aggregate.
    let district: Report = c.ok(&format!("/supervisor/report?{}", query("station", "")), &chief);
    assert_eq!(district.below, Some(Level::Town));
    let count = |r: &beibao_server::report::ReportRow, k: CountKey| r.counts.get(&k).copied().unwrap_or(0);
    let mine = district.rows.iter().find(|r| r.code.as_deref() == Some(station.as_str())).expect("station row");
    assert_eq!(mine.name.zh, fixtures().registry.stations.iter().find(|s| s.code == station).unwrap().name.zh);
    for k in [CountKey::HouseholdsVisited, CountKey::PersonsMet, CountKey::ServicesAccepted, CountKey::Ratings] {
        let sum: u64 = district.rows.iter().map(|r| count(r, k)).sum();
        assert_eq!(count(&district.total, k), sum, "{k:?}: disjoint households, so the rows add up");
    }
    assert_eq!(
        count(&district.total, CountKey::VillagesInScope),
        fixtures()
            .registry
            .assignments
            .iter()
            .filter(|a| matches!(a.target, beibao_core::registry::AssignmentTarget::Village(_)))
            .map(|a| format!("{:?}", a.target))
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64
    );

    // Drill-down: station → towns → villages → officers, each row's code narrowing the scope.
    let towns: Report = c.ok(&format!("/supervisor/report?{}", query("town", &format!("&station={station}"))), &chief);
    assert!(towns.rows.iter().all(|r| r.code.as_deref().is_some_and(|t| t.len() == 9)));
    let town = towns.rows.iter().find(|r| count(r, CountKey::HouseholdsVisited) > 0).expect("a town with visits");
    let town_code = town.code.clone().unwrap();
    assert!(town.name.zh.ends_with('镇') || town.name.zh.ends_with("街道"), "{}", town.name.zh);
    let villages: Report = c.ok(
        &format!("/supervisor/report?{}", query("village", &format!("&station={station}&town={town_code}"))),
        &chief,
    );
    let village =
        villages.rows.iter().find(|r| count(r, CountKey::HouseholdsVisited) > 0).expect("a village with visits");
    assert_eq!(count(&villages.total, CountKey::HouseholdsVisited), count(town, CountKey::HouseholdsVisited));
    let village_code = village.code.clone().unwrap();
    let officers: Report = c.ok(
        &format!("/supervisor/report?{}", query("officer", &format!("&town={town_code}&village={village_code}"))),
        &chief,
    );
    assert_eq!(officers.rows.iter().filter_map(|r| r.code.as_deref()).collect::<Vec<_>>(), [OFFICER]);
    assert_eq!(officers.below, None);

    // The weekly trend: every week the period touches; the weeks' visits add up to the period's.
    let trend: Trend =
        c.ok(&format!("/supervisor/trend?from={}&to={}&station={station}", period().0, period().1), &chief);
    assert_eq!(trend.weeks.first().map(|w| w.week), NaiveDate::from_ymd_opt(2026, 10, 26));
    assert_eq!(trend.weeks.len(), 10);
    let weekly: u64 = trend
        .weeks
        .iter()
        .map(|w| match w.values["person_visits"] {
            IndicatorValue::Count { value } => value,
            _ => 0,
        })
        .sum();
    assert_eq!(weekly, count(mine, CountKey::PersonsMet));

    // Coverage: every village of the station, the officer's visited ones with their last visit,
    // and the special-group households not visited in 30 days as the tablet's own Today finds them.
    let coverage: Value = c.ok(&format!("/supervisor/coverage?station={station}"), &chief);
    let villages = coverage["villages"].as_array().expect("villages");
    let towns_of_station: Vec<&str> =
        fixtures().registry.towns.iter().filter(|t| t.station == station).map(|t| t.code.as_str()).collect();
    let expected = fixtures().registry.villages.iter().filter(|v| towns_of_station.contains(&v.town.as_str())).count();
    assert_eq!(villages.len(), expected);
    let theirs = fixtures().registry.villages_of(OFFICER);
    let due: i64 = villages
        .iter()
        .filter(|v| theirs.contains(&v["code"].as_str().unwrap_or_default()))
        .map(|v| v["special_not_visited"].as_i64().expect("count"))
        .sum();
    assert_eq!(due, a.session.special_groups_due(30).expect("due").len() as i64, "the server's count = the tablet's");
    // The last visits were made the day before the sync.
    assert!(villages.iter().any(|v| v["days_since_visit"].as_i64() == Some(1)), "visited villages");
    assert!(villages.iter().any(|v| v["days_since_visit"].is_null()), "never-visited villages");
    assert!(villages.iter().all(|v| v["geometry"]["type"] == "Polygon" && v["name"]["zh"].is_string()));
    assert_eq!(
        c.fails(&format!("/supervisor/coverage?station={other_station}"), Some(&c.login("station-chief"))),
        (403, Code::Forbidden)
    );
    assert_eq!(c.fails("/supervisor/coverage?period=2026-11", Some(&chief)), (400, Code::BadQuery));
    assert_eq!(c.fails(&format!("/supervisor/coverage?officer={OFFICER}"), Some(&chief)), (400, Code::BadQuery));

    // The CSV: a BOM, Chinese headers, every cell as the API gives it.
    let officer_report: Report = c.ok(&format!("/supervisor/report?{}", query("officer", "")), &chief);
    let (status, ct, bytes) = c.get(&format!("/supervisor/export?{}&format=csv", query("officer", "")), Some(&chief));
    assert_eq!((status, ct.as_deref()), (200, Some("text/csv; charset=utf-8")));
    assert!(bytes.starts_with(export::BOM));
    let mut csv = csv::Reader::from_reader(&bytes[export::BOM.len()..]);
    let head = csv.headers().expect("header").clone();
    assert_eq!(&head[1], "民警");
    assert_eq!(&head[2], "走访户数（户）");
    let lines: Vec<csv::StringRecord> = csv.records().map(|r| r.expect("record")).collect();
    let expected: Vec<_> = officer_report.rows.iter().chain([&officer_report.total]).collect();
    assert_eq!(lines.len(), expected.len());
    for (line, row) in lines.iter().zip(&expected) {
        assert_eq!(&line[0], row.code.as_deref().unwrap_or(""));
        assert_eq!(&line[1], row.name.zh);
        for (i, col) in officer_report.columns.iter().enumerate() {
            assert_eq!(&line[i + 2], export::cell_text(col, row.values.get(&col.code)), "{}", col.code);
        }
    }
    assert_eq!(&lines.last().unwrap()[1], "合计");

    // The XLSX: a sheet per level from the station down, each cell as the API gives it.
    let (status, ct, bytes) =
        c.get(&format!("/supervisor/export?{}&format=xlsx&station={station}", query("station", "")), Some(&chief));
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("an XLSX that opens");
    assert_eq!(book.sheet_names(), ["派出所", "镇街", "村（社区）", "民警"]);
    for (sheet, level) in [("派出所", "station"), ("镇街", "town"), ("村（社区）", "village"), ("民警", "officer")]
    {
        let api: Report = c.ok(&format!("/supervisor/report?{}", query(level, &format!("&station={station}"))), &chief);
        let range = book.worksheet_range(sheet).expect("sheet");
        let text = |r: u32, col: u32| match range.get_value((r, col)) {
            Some(Data::String(s)) => s.clone(),
            Some(Data::Empty) | None => String::new(),
            Some(other) => other.to_string(),
        };
        assert!(text(1, 0).contains(&format!("{} 至 {}", period().0, period().1)), "{}", text(1, 0));
        assert!(text(1, 0).contains("生成时间"));
        assert_eq!(text(3, 2), "走访户数（户）");
        let rows: Vec<_> = api.rows.iter().chain([&api.total]).collect();
        for (n, row) in rows.iter().enumerate() {
            let r = 4 + n as u32;
            assert_eq!(text(r, 0), row.code.clone().unwrap_or_default(), "{sheet} row {r}");
            assert_eq!(text(r, 1), row.name.zh);
            for (i, col) in api.columns.iter().enumerate() {
                let cell = range.get_value((r, (i + 2) as u32));
                let got = match cell {
                    Some(Data::Float(x)) => Some(*x),
                    Some(Data::Int(x)) => Some(*x as f64),
                    Some(Data::Empty) | None => None,
                    other => panic!("{sheet} {r}/{}: {other:?}", col.code),
                };
                assert_eq!(got, export::cell(col, row.values.get(&col.code)), "{sheet} row {r} {}", col.code);
            }
        }
        assert_eq!(range.get_value((4 + rows.len() as u32, 1)), None, "{sheet}: nothing after the totals row");
    }

    // Every export is in the audit log: who, what range, what scope.
    let log = rt.block_on(storage.audit_log(20)).expect("audit");
    let exports: Vec<_> = log.iter().filter(|e| e.action == "export_totals").collect();
    assert_eq!(exports.len(), 2);
    assert!(exports.iter().all(|e| e.actor == "supervisor:chief"));
    assert!(exports[0].subject.starts_with("xlsx level=station 2026-11-01..2026-12-31 station="));

    // A station supervisor sees their station, and is refused another.
    let own = c.login("station-chief");
    let theirs: Report = c.ok(&format!("/supervisor/report?{}", query("station", "")), &own);
    assert_eq!(theirs.rows.iter().filter_map(|r| r.code.as_deref()).collect::<Vec<_>>(), [station.as_str()]);
    assert_eq!(theirs.scope.station.as_deref(), Some(station.as_str()));
    assert_eq!(
        c.fails(&format!("/supervisor/report?{}", query("officer", &format!("&station={other_station}"))), Some(&own)),
        (403, Code::Forbidden)
    );
    assert_eq!(
        c.fails(&format!("/supervisor/export?{}&format=csv&station={other_station}", query("station", "")), Some(&own)),
        (403, Code::Forbidden)
    );

    // Who else is refused, and bad queries.
    let desk = c.login("desk");
    for path in [
        "/supervisor/report?period=2026-11",
        "/supervisor/trend?period=2026-11",
        "/supervisor/export?period=2026-11&format=csv",
    ] {
        assert_eq!(c.fails(path, Some(&desk)), (403, Code::Forbidden), "{path}");
        assert_eq!(c.fails(path, None), (401, Code::Unauthenticated), "{path}");
        assert_eq!(c.fails(path, Some("not-a-session")), (401, Code::Unauthenticated), "{path}");
    }
    for path in [
        "/supervisor/report",
        "/supervisor/report?period=2026-13",
        "/supervisor/report?period=2026-11&from=2026-11-01&to=2026-11-30",
        "/supervisor/report?from=2026-11-30&to=2026-11-01",
        "/supervisor/report?from=2020-01-01&to=2026-11-01",
        "/supervisor/report?period=2026-11&level=county",
        "/supervisor/report?period=2026-11&station=",
        "/supervisor/report?period=2026-11&format=csv",
        "/supervisor/report?period=2026-11&what=1",
        "/supervisor/trend?period=2026-11&level=village",
        "/supervisor/export?period=2026-11",
        "/supervisor/export?period=2026-11&format=pdf",
    ] {
        assert_eq!(c.fails(path, Some(&chief)), (400, Code::BadQuery), "{path}");
    }
    // A month with no work: every count 0, every rate undefined (not 0 %, not 100 %).
    let quiet: Report = c.ok("/supervisor/report?period=2026-01&level=village", &chief);
    assert!(quiet.total.counts.iter().all(|(k, v)| *k == CountKey::VillagesInScope || *v == 0));
    assert_eq!(
        quiet.total.values["mediation_success_rate"],
        IndicatorValue::Rate { numerator: 0, denominator: 0, value: None }
    );
}

#[test]
fn the_reports_agree_with_the_tablets_on_sqlite() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 21);
    the_reports_agree_with_the_tablets(&server, &rt);
}

#[test]
fn the_reports_agree_with_the_tablets_on_postgres() {
    let cluster = beibao_tests::pg::Cluster::start(false).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("reports").expect("createdb");
    let rt = runtime();
    let server = Server::postgres(&rt, &url, 21);
    the_reports_agree_with_the_tablets(&server, &rt);
}
