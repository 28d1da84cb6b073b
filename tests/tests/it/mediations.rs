//! The supervisors' mediation deadlines (`GET /supervisor/mediations`): an officer concludes three
//! written 人民调解 agreements; one is followed up (not performed), one goes to court for 司法确认,
//! one is left. As the days pass the server lists, per village and case by case, the follow-ups
//! due and overdue and the 司法确认 windows closing — the same deadlines the tablet's own mediation
//! screens show — within the supervisor's scope, with no party's name. A database made before the
//! list existed gets it filled in when the server upgrades it. On SQLite and PostgreSQL.

use beibao_core::clock::Clock;
use beibao_core::code::Code;
use beibao_core::mediation::after::CourtRuling;
use beibao_field::JudicialInput;
use beibao_server::admin::new_account;
use beibao_server::routes::supervisor::MediationDeadlines;
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, t0, work};
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;
use uuid::Uuid;

const PASSWORD: &str = "supervisor-password-1";

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// The server's clock at 10:00 in Shanting on `d`.
fn at(server: &Server, d: &str) {
    server.clock.set(day(d).and_hms_opt(2, 0, 0).expect("time").and_utc());
}

/// The list as `who` reads it (logged in on the server's day), with `extra` query.
fn read(server: &Server, rt: &Runtime, who: &str, extra: &str) -> MediationDeadlines {
    let c = Console::new(rt, server.url());
    let token = c.login(who, PASSWORD).token;
    c.ok("GET", &format!("/supervisor/mediations?{extra}"), &token, None)
}

/// (case, follow-up day, 司法确认 last day) as listed.
fn listed(d: &MediationDeadlines) -> Vec<(String, Option<NaiveDate>, Option<NaiveDate>)> {
    d.cases.iter().map(|c| (c.mediation.clone(), c.follow_up_on, c.confirm_by)).collect()
}

/// The open cases as the tablet's own mediation screens find them on `on`, looking to `until`:
/// a follow-up not recorded, due by `until`; a 司法确认 window not used, closing in [on, until].
fn tablet_open(
    t: &Tablet,
    cases: &[Uuid],
    on: NaiveDate,
    until: NaiveDate,
) -> Vec<(String, Option<NaiveDate>, Option<NaiveDate>)> {
    let mut out: Vec<_> = cases
        .iter()
        .filter_map(|id| {
            let s = t.session.mediation_screen(*id).expect("screen");
            let follow = beibao_core::mediation::deadlines::for_case(&s.case)
                .and_then(|d| d.follow_up)
                .filter(|d| s.followup.is_none() && *d <= until);
            let confirm = s.judicial_last_day.filter(|d| s.judicial.is_none() && (on..=until).contains(d));
            (follow.is_some() || confirm.is_some()).then(|| (id.to_string(), follow, confirm))
        })
        .collect();
    out.sort_by_key(|(id, f, c)| (f.or(*c), id.clone()));
    out
}

fn mediation_deadlines(server: &Server, rt: &Runtime) -> (Vec<Uuid>, MediationDeadlines) {
    let f = fixtures();
    let storage = server.state.storage();
    rt.block_on(storage.put_registry(&f.registry, &[], t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    let other_station = f.registry.stations.iter().find(|s| s.code != station).expect("another station").code.clone();
    for (name, role, st) in [
        ("chief", Role::Supervisor, None),
        ("station-chief", Role::Supervisor, Some(station.as_str())),
        ("other-chief", Role::Supervisor, Some(other_station.as_str())),
        ("desk", Role::Desk, Some(station.as_str())),
    ] {
        let a = new_account(name, role, st, PASSWORD).expect("account");
        rt.block_on(storage.create_account(&a, t0())).expect("create");
    }
    let c = Console::new(rt, server.url());

    // 2026-11-20: three written agreements, performance by 11-25 (the demo's), so each follow-up is
    // due 11-26 and each window for 司法确认 closes 12-20.
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    let mut t = Tablet::new(OFFICER, 41);
    t.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let cases: Vec<Uuid> = (0..3).map(|_| work::signed_mediation(&mut t, &mut rng)).collect();
    let (followed, confirmed, left) = (cases[0], cases[1], cases[2]);
    t.session.record_performance(followed, false, "未按期赔偿".into()).expect("followup");
    t.session
        .record_judicial_confirmation(JudicialInput {
            mediation: confirmed,
            applied_on: t.session.today(),
            court: "山亭区人民法院".into(),
            ruling: Some(CourtRuling::Confirmed),
            ruled_on: Some(t.session.today()),
            note: String::new(),
        })
        .expect("司法确认");
    server.clock.set(t.clock.now());
    t.sync(rt, fast, 0, &mut |_| {}).expect("sync");
    let village = f.registry.villages_of(OFFICER)[0].to_owned();

    // 11-21: two follow-ups due within the week, none overdue; the one that found the agreement
    // not performed counts; no window closes within the week.
    at(server, "2026-11-21");
    let d = read(server, rt, "chief", "");
    assert_eq!((d.today, d.until), (day("2026-11-21"), day("2026-11-28")));
    assert_eq!(d.villages.len(), 1, "{:?}", d.villages);
    let v = &d.villages[0];
    assert_eq!(v.code, village);
    assert!(!v.name.zh.is_empty() && v.name.zh != village, "the village by name");
    assert_eq!((v.follow_ups_overdue, v.follow_ups_due, v.confirmations_closing, v.not_performed), (0, 2, 0, 1));
    assert_eq!(listed(&d), tablet_open(&t, &cases, d.today, d.until), "the server's list = the tablet's screens");
    assert_eq!(d.cases.len(), 2);
    assert!(d.cases.iter().all(|c| !c.overdue && c.officer == OFFICER && !c.officer_name.zh.is_empty()));
    let officer = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer");
    assert!(
        d.cases[0].officer_name.zh.starts_with(&officer.name),
        "the officer by name: {:?}",
        d.cases[0].officer_name
    );
    assert!(!d.more);

    // 12-15: both open follow-ups overdue; two windows closing by 12-22 (not the one at court).
    at(server, "2026-12-15");
    let d = read(server, rt, "chief", "");
    let v = &d.villages[0];
    assert_eq!((v.follow_ups_overdue, v.follow_ups_due, v.confirmations_closing, v.not_performed), (2, 0, 2, 1));
    assert_eq!(
        listed(&d),
        vec![
            (confirmed.min(left).to_string(), Some(day("2026-11-26")), (confirmed > left).then(|| day("2026-12-20"))),
            (confirmed.max(left).to_string(), Some(day("2026-11-26")), (confirmed < left).then(|| day("2026-12-20"))),
            (followed.to_string(), None, Some(day("2026-12-20"))),
        ],
        "overdue follow-ups first, by their day; the window of the one at court is not listed"
    );
    assert_eq!(listed(&d), tablet_open(&t, &cases, d.today, d.until));
    assert_eq!(d.cases.iter().filter(|c| c.overdue).count(), 2);

    // The officer follows up the last one that day: it leaves the follow-ups, its window stays.
    t.clock.set(day("2026-12-15").and_hms_opt(1, 0, 0).expect("time").and_utc());
    t.session.record_performance(left, true, "已按协议修好排水沟".into()).expect("followup");
    t.sync(rt, fast, 0, &mut |_| {}).expect("sync");
    let d = read(server, rt, "chief", "");
    let v = &d.villages[0];
    assert_eq!((v.follow_ups_overdue, v.follow_ups_due, v.confirmations_closing, v.not_performed), (1, 0, 2, 1));
    assert_eq!(listed(&d), tablet_open(&t, &cases, d.today, d.until));
    assert!(listed(&d).contains(&(left.to_string(), None, Some(day("2026-12-20")))));

    // Scope: the station's supervisor sees the same, another station's sees none of it and may
    // not ask for this station; an officer's scope narrows; the desk may not read it.
    assert_eq!(listed(&read(server, rt, "station-chief", "")), listed(&d));
    assert_eq!(listed(&read(server, rt, "chief", &format!("officer={OFFICER}"))), listed(&d));
    assert_eq!(listed(&read(server, rt, "chief", &format!("village={village}"))), listed(&d));
    let theirs = c.login("other-chief", PASSWORD).token;
    let none = read(server, rt, "other-chief", "");
    assert!(none.villages.is_empty() && none.cases.is_empty());
    assert_eq!(
        c.fails("GET", &format!("/supervisor/mediations?station={station}"), Some(&theirs), None),
        (403, Code::Forbidden)
    );
    let desk = c.login("desk", PASSWORD).token;
    assert_eq!(c.fails("GET", "/supervisor/mediations", Some(&desk), None), (403, Code::Forbidden));
    assert_eq!(c.fails("GET", "/supervisor/mediations", None, None).0, 401);
    let chief = c.login("chief", PASSWORD).token;
    assert_eq!(c.fails("GET", "/supervisor/mediations?period=2026-11", Some(&chief), None), (400, Code::BadQuery));
    // No party's name anywhere in the answer.
    let raw = c.call("GET", "/supervisor/mediations", Some(&chief), None).1.to_string();
    let case = t.session.mediation(followed).expect("case");
    for p in &case.agreement.parties {
        assert!(!raw.contains(&p.name), "a party's name in the list: {}", p.name);
    }
    (cases, d)
}

#[test]
fn mediation_deadlines_on_sqlite_and_after_an_upgrade() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let path = beibao_tests::server_db(dir.path());
    let server = Server::sqlite(&rt, &path, 41);
    let (_, before) = mediation_deadlines(&server, &rt);
    server.kill();
    // The database as a server before the list left it: the list is filled in on upgrade.
    let c = rusqlite::Connection::open(&path).expect("open");
    c.execute_batch(&format!(
        "{} {} DROP TABLE mediation_due; DELETE FROM schema_version WHERE version = 8;",
        beibao_tests::UNDO_COARSE_ROLLUPS,
        beibao_tests::UNDO_DETAIL
    ))
    .expect("rewind");
    drop(c);
    let server = Server::sqlite(&rt, &path, 42);
    at(&server, "2026-12-15");
    let after = read(&server, &rt, "chief", "");
    assert_eq!(listed(&after), listed(&before));
    assert_eq!(format!("{:?}", after.villages), format!("{:?}", before.villages));
}

#[test]
fn mediation_deadlines_on_postgres_and_after_an_upgrade() {
    let cluster = beibao_tests::pg::Cluster::start(false).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("mediations").expect("createdb");
    let rt = runtime();
    let server = Server::postgres(&rt, &url, 41);
    let (_, before) = mediation_deadlines(&server, &rt);
    server.kill();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "{} {} DROP TABLE mediation_due; DELETE FROM schema_version WHERE version = 8;",
                beibao_tests::UNDO_COARSE_ROLLUPS,
                beibao_tests::UNDO_DETAIL
            ))
            .await
            .expect("rewind");
        drop(client);
        let _ = task.await;
    });
    let server = Server::postgres(&rt, &url, 42);
    at(&server, "2026-12-15");
    let after = read(&server, &rt, "chief", "");
    assert_eq!(listed(&after), listed(&before));
    assert_eq!(format!("{:?}", after.villages), format!("{:?}", before.villages));
}
