//! `make bench-app`: the release app driven through WebDriver (tauri-driver, WebKitWebDriver,
//! Xvfb) on a store with a 500-household village and a year of visits. Prints one line:
//! `app_bench: cold_start_ms=… unlock_ms=… today_ms=… village_ms=… visit_save_ms=… service_search_ms=…
//! agreement_pdf_ms=… binary_mb=…`
//!
//! - cold_start: the WebDriver session asked for (the app process starts) → the PIN pad shown;
//! - unlock: the last PIN digit tapped → Today shown (Argon2id at the recommended parameters);
//! - today: the Today tab tapped (from Totals) → its places shown;
//! - village: a village tapped on Today → its households on the map;
//! - visit_save: "save" tapped → the confirmation shown;
//! - service_search: a query typed in the services list (one input event) → the filtered list
//!   painted (the 38 services → a name's few and back, four per run);
//! - agreement_pdf: "finalize" tapped on a signed mediation → the agreement printed (the PDF made
//!   in Rust and kept with the case in one transaction) and its button shown;
//! - binary: the release binary's size.
//!
//! Each figure is the median of its runs. Cold start is timed from outside (WebDriver, polling
//! every 5 ms); the others from inside the page: the tap dispatched there, the clock stopped at
//! the first frame painted after the awaited element appeared (no WebDriver round trip counted).

#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use beibao_core::clock::FixedClock;
use beibao_core::registry::{GeoPoint, Household, Registry};
use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::{Env, VisitInput};
use beibao_store::key::{KdfParams, OsEntropy};
use beibao_store::system::UuidV7Ids;
use beibao_tests::{OFFICER, work};
use harness::{App, Fixture};

const PIN: &str = "135790";
const HOUSEHOLDS: usize = 500;
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The fixtures' register with the officer's first village grown to 500 households (copies of
/// its own, spread around its centre).
fn big_registry() -> (Registry, String) {
    let mut registry = beibao_tests::fixtures().registry.clone();
    let code = registry.villages_of(OFFICER)[0].to_owned();
    let village = registry.village(&code).expect("village").clone();
    let own: Vec<Household> = registry.households.iter().filter(|h| h.village == code).cloned().collect();
    for n in own.len()..HOUSEHOLDS {
        let mut h = own[n % own.len()].clone();
        h.id = format!("{code}-{:03}", n + 1);
        for (i, m) in h.members.iter_mut().enumerate() {
            m.id = format!("{}-{i}", h.id);
        }
        h.location = None;
        registry.households.push(h);
    }
    // Every house on the map: those without a position get one on a spiral within about 600 m
    // of the centre.
    for (n, h) in registry.households.iter_mut().filter(|h| h.village == code).enumerate() {
        if h.location.is_none() {
            let (r, a) = (0.0055 * ((n as f64) / HOUSEHOLDS as f64).sqrt(), n as f64 * 2.399);
            h.location =
                Some(GeoPoint { lat: village.centroid.lat + r * a.sin(), lon: village.centroid.lon + r * a.cos() });
        }
    }
    (registry, code)
}

/// The store in `dir`: the big village, and a year of visits to it (one a month per household).
fn seed(fx: &Fixture, dir: &std::path::Path, registry: &Registry, village: &str) {
    let start = chrono::Utc::now() - chrono::Duration::days(365);
    let clock = Arc::new(FixedClock::new(start));
    let env = Env { clock: clock.clone(), ids: Arc::new(UuidV7Ids) };
    let mut fixtures = beibao_tests::fixtures().clone();
    fixtures.registry = registry.clone();
    let (mut session, _) = beibao_field::init_from_fixtures(
        &dir.join("beibao.db"),
        PIN,
        OFFICER,
        &fixtures,
        KdfParams::RECOMMENDED,
        &mut OsEntropy,
        env,
    )
    .expect("store");
    let houses: Vec<&Household> = registry.households.iter().filter(|h| h.village == village).collect();
    let t = Instant::now();
    for month in 0..12 {
        for (i, h) in houses.iter().enumerate() {
            let at = start + chrono::Duration::days(month * 30) + chrono::Duration::minutes(i as i64 * 5);
            clock.set(at + chrono::Duration::minutes(20));
            let home = h.location.expect("position");
            session
                .record_visit(VisitInput {
                    id: None,
                    target: VisitTarget::Household(h.id.clone()),
                    purposes: vec![VisitPurpose::InformationCollection],
                    started_at: at,
                    ended_at: at + chrono::Duration::minutes(20),
                    outcome: VisitOutcome::Met,
                    persons_met: 1,
                    fix: Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 10.0, taken_at: at }),
                    pin: None,
                    note: String::new(),
                })
                .expect("visit");
        }
    }
    eprintln!("seeded {} visits in {:.1} s", houses.len() * 12, t.elapsed().as_secs_f64());
    // Enrolled (an agreement takes a serial of the device's block, and only a numbered agreement
    // is printed), with one signed mediation draft per run waiting on Today.
    clock.set(chrono::Utc::now());
    let mut syncer = session.syncer().expect("syncer");
    fx.rt.block_on(syncer.enroll(&fx.server.url(), &fx.code(OFFICER), &Default::default())).expect("enroll");
    for run in 0..RUNS as u64 {
        let pngs = [work::png(3 * run), work::png(3 * run + 1), work::png(3 * run + 2)];
        work::signed_mediation_draft(&mut session, &clock, &pngs);
    }
    session.lock().expect("lock");
}

fn main() {
    let fx = Fixture::new();
    let (registry, village) = big_registry();
    let dir = tempfile::tempdir().expect("data dir");
    seed(&fx, dir.path(), &registry, &village);

    let (mut cold, mut unlock, mut today, mut open_village, mut save) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut search, mut agreement) = (vec![], vec![]);
    let mut app = App::launch_in(&fx, "bench", dir, &[]);
    for run in 0..RUNS {
        if run > 0 {
            app = app.restart(&fx, &[]);
        }
        app.wait("unlock");
        cold.push(ms(app.started().elapsed()));
        app.pin(&PIN[..5]);
        unlock.push(app.timed_tap(&format!("pin-key-{}", &PIN[5..]), "place"));

        app.click("nav-totals");
        app.wait("totals");
        today.push(app.timed_tap("nav-today", "place"));

        open_village.push(app.timed_tap(&format!("open-place[data-code=\"{village}\"]"), "map-household"));
        assert_eq!(app.count("map-household"), HOUSEHOLDS, "every household on the map");
        if run == 0 {
            // The list opens with its first page and grows as it is scrolled or "more" tapped.
            assert_eq!(app.count("household-row"), 60, "the first page");
            app.click("list-more");
            app.wait("household-row[data-id$=\"-120\"]");
        }

        app.click("household-row");
        app.click("start-visit");
        app.click("purpose-publicity");
        app.click("outcome-nobody_home");
        app.wait("draft-saved");
        save.push(app.timed_tap("save-visit", "visit-saved"));

        // The services list, filtered as a name is typed (all 38 → the ID-card services → all).
        app.click("visit-back");
        app.click("new-service");
        app.wait("service-row");
        for query in ["身份证", "", "护照", ""] {
            search.push(app.timed_input("service-search", query, "service-list"));
        }

        // A signed mediation from Today, finalized: printed before its button shows.
        app.click("nav-today");
        app.click("resume-draft[data-kind=\"mediation\"]");
        app.wait("complete");
        agreement.push(app.timed_tap("finalize", "open-agreement"));
    }
    app.quit();
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_beibao-app")).expect("binary").len() as f64 / 1_048_576.0;
    println!(
        "app_bench: cold_start_ms={:.0} unlock_ms={:.0} today_ms={:.0} village_ms={:.0} visit_save_ms={:.0} service_search_ms={:.0} agreement_pdf_ms={:.0} binary_mb={binary:.1}",
        median(cold),
        median(unlock),
        median(today),
        median(open_village),
        median(save),
        median(search),
        median(agreement),
    );
}
