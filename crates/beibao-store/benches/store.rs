//! Store benchmark: a tablet store seeded with 100k households and 100k visits; then timed visit
//! writes (each its own transaction with its outbox op, `synchronous=FULL`), household searches
//! (name, ID tail, address) and the officer's monthly totals. Prints figures and a final line:
//! `store_bench: visit_write_p50_ms=… visit_write_p99_ms=… search_p50_ms=… search_p99_ms=… totals_ms=…
//! today_screen_ms=… village_screen_ms=…`
//!
//! `BEIBAO_BENCH_HOUSEHOLDS` and `BEIBAO_BENCH_VISITS` change the seed size (100000 each by default).

use std::time::Instant;

use beibao_core::registry::{Household, Person};
use beibao_core::visit::{ProofVerdict, Visit, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_store::Store;
use beibao_store::key::KdfParams;
use beibao_store::queries;
use beibao_store::records::{self, StoredVisit};
use beibao_store::registry;
use beibao_testkit::Counting;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn visit(n: usize, household: &str, village: &str, at: DateTime<Utc>) -> StoredVisit {
    StoredVisit {
        visit: Visit {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128),
            device_id: "bench".into(),
            officer_id: "OF-03-01".into(),
            village: village.into(),
            target: VisitTarget::Household(household.into()),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            outcome: VisitOutcome::Met,
            persons_met: 2,
            started_at: at,
            ended_at: at + Duration::minutes(20),
            fix: None,
            pin: None,
            note: "走访慰问，了解生活情况。".into(),
        },
        verdict: ProofVerdict::InsideVillage,
        special_group: n.is_multiple_of(4),
    }
}

fn main() {
    let n_households = env_or("BEIBAO_BENCH_HOUSEHOLDS", 100_000);
    let n_visits = env_or("BEIBAO_BENCH_VISITS", 100_000);
    let fixtures = beibao_testkit::fixtures().clone();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bench.db");
    let mut store = Store::create(&path, "246810", KdfParams::TEST_ONLY, &mut Counting(5)).expect("create");
    let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().expect("instant");

    // Seed: the real district, then the fixture households cloned with new ids up to n_households.
    let seed_start = Instant::now();
    let base = &fixtures.registry.households;
    let households: Vec<Household> = (0..n_households)
        .map(|i| {
            let src = &base[i % base.len()];
            let copy = i / base.len();
            let id = format!("{}-{copy}", src.id);
            let members =
                src.members.iter().enumerate().map(|(k, m)| Person { id: format!("{id}-{k}"), ..m.clone() }).collect();
            Household { id, members, ..src.clone() }
        })
        .collect();
    store
        .write(|tx| {
            for t in &fixtures.registry.towns {
                registry::put_town(tx, t)?;
            }
            for v in &fixtures.registry.villages {
                registry::put_village(tx, v)?;
            }
            registry::install_catalog(tx, &fixtures.catalog, t0)?;
            for h in &households {
                registry::put_household(tx, h)?;
            }
            // The bench officer's assignments (and own villages' households) as enrollment seeds them.
            registry::seed_for_officer(tx, &fixtures.registry, "OF-03-01")?;
            Ok(())
        })
        .expect("seed households");
    for chunk in 0..n_visits.div_ceil(10_000) {
        store
            .write(|tx| {
                for n in chunk * 10_000..((chunk + 1) * 10_000).min(n_visits) {
                    let h = &households[n % households.len()];
                    // Spread over the three years before t0: about 90 visits a day, far above a real officer's.
                    let at = t0 - Duration::days(3 * 365)
                        + Duration::minutes((n as i64 * 3 * 365 * 24 * 60) / n_visits as i64);
                    records::insert_visit(tx, &visit(n, &h.id, &h.village, at), Uuid::from_u128(n as u128 + 1), at)?;
                }
                Ok(())
            })
            .expect("seed visits");
    }
    let persons: usize = households.iter().map(|h| h.members.len()).sum();
    println!(
        "seeded {n_households} households ({persons} people) and {n_visits} visits in {:.1} s",
        seed_start.elapsed().as_secs_f64()
    );

    // Visit writes: one transaction each, with its outbox op, synchronous=FULL.
    let mut writes = Vec::new();
    for k in 0..500 {
        let n = n_visits + k;
        let h = &households[(k * 7919) % households.len()];
        let at = t0 + Duration::days(10) + Duration::minutes(k as i64);
        let v = visit(n, &h.id, &h.village, at);
        let start = Instant::now();
        store.write(|tx| records::insert_visit(tx, &v, Uuid::from_u128(n as u128 + 1), at)).expect("write");
        writes.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    writes.sort_by(f64::total_cmp);

    // Searches: a member's name, the tail of an ID number, an address fragment, a surname in a village.
    let mut searches = Vec::new();
    let mut by_kind: [Vec<f64>; 4] = Default::default();
    let mut hits = 0;
    for k in 0..300 {
        let h = &households[(k * 104_729) % households.len()];
        let m = &h.members[0];
        let query = match k % 4 {
            0 => m.name.clone(),
            1 => m.id_number[12..].to_owned(),
            2 => h.address.split('组').next().unwrap_or(&h.address).to_owned() + "组",
            _ => m.name.chars().take(1).collect(),
        };
        let village = (k % 4 == 3).then_some(h.village.as_str());
        let start = Instant::now();
        hits += queries::search_households(store.conn(), &query, village, 50).expect("search").len();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        searches.push(ms);
        by_kind[k % 4].push(ms);
    }
    searches.sort_by(f64::total_cmp);
    for (kind, mut samples) in ["full name", "ID tail", "address", "surname in a village"].into_iter().zip(by_kind) {
        samples.sort_by(f64::total_cmp);
        println!(
            "  search by {kind:<22} p50 {:.2} ms, p99 {:.2} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.99)
        );
    }

    let catalog = registry::catalog(store.conn()).expect("catalog").expect("installed");
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let timed_totals = |from, to| {
        let start = Instant::now();
        let counts = queries::totals(store.conn(), "OF-03-01", from, to, &catalog, &fixtures.calendar).expect("totals");
        (start.elapsed().as_secs_f64() * 1000.0, counts)
    };
    let (month_ms, _) = timed_totals(date(2026, 10, 1), date(2026, 10, 31));
    // The reported figure: a whole year (about a third of all visits), the longest usual period.
    let (totals_ms, counts) = timed_totals(date(2025, 11, 1), date(2026, 10, 31));

    // The tablet's two busiest screens: Today (places, special groups due, the day) and a village's
    // households with their last visits.
    let today = date(2026, 11, 11);
    let timed = |f: &dyn Fn()| {
        let mut runs: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[2]
    };
    let today_ms = timed(&|| {
        queries::assigned_places(store.conn(), "OF-03-01", today).expect("places");
        queries::special_groups_not_visited(store.conn(), "OF-03-01", today, 30).expect("due");
        queries::officer_day(store.conn(), today, &catalog, &fixtures.calendar).expect("day");
    });
    let places_ms = timed(&|| {
        queries::assigned_places(store.conn(), "OF-03-01", today).expect("places");
    });
    let due_ms = timed(&|| {
        queries::special_groups_not_visited(store.conn(), "OF-03-01", today, 30).expect("due");
    });
    let day_ms = timed(&|| {
        queries::officer_day(store.conn(), today, &catalog, &fixtures.calendar).expect("day");
    });
    let village = fixtures.registry.villages_of("OF-03-01")[0].to_owned();
    let in_village = households.iter().filter(|h| h.village == village).count();
    let village_ms = timed(&|| {
        queries::village_households(store.conn(), &village, None, today).expect("village");
    });
    println!(
        "screens: today {today_ms:.1} ms (places {places_ms:.1}, special groups due {due_ms:.1}, day {day_ms:.1}); village of {in_village} households {village_ms:.1} ms"
    );
    println!(
        "visit writes: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        writes.len(),
        percentile(&writes, 0.5),
        percentile(&writes, 0.99),
        writes[writes.len() - 1]
    );
    println!(
        "searches: {} queries ({hits} hits), p50 {:.2} ms, p99 {:.2} ms",
        searches.len(),
        percentile(&searches, 0.5),
        percentile(&searches, 0.99)
    );
    println!(
        "totals: one month {month_ms:.1} ms; one year {totals_ms:.1} ms ({} visits' households)",
        counts.get(&beibao_core::indicators::CountKey::HouseholdsVisited).copied().unwrap_or(0)
    );
    println!(
        "store_bench: visit_write_p50_ms={:.2} visit_write_p99_ms={:.2} search_p50_ms={:.2} search_p99_ms={:.2} totals_ms={totals_ms:.1} today_screen_ms={today_ms:.1} village_screen_ms={village_ms:.1}",
        percentile(&writes, 0.5),
        percentile(&writes, 0.99),
        percentile(&searches, 0.5),
        percentile(&searches, 0.99),
    );
    pin_guess_cost();
}

/// What one offline guess of the PIN costs someone holding the key file (the KDF and the AEAD
/// check, as `KeyFile::unwrap_key` does them), under the old and the current KDF, and what that
/// makes of every 6- and 8-digit PIN on one core.
fn pin_guess_cost() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut costs = Vec::new();
    for (name, kdf) in [("v1", KdfParams::V1), ("recommended", KdfParams::RECOMMENDED)] {
        let path = dir.path().join(format!("{name}.db"));
        Store::create(&path, "246810", kdf, &mut Counting(9)).expect("create").lock().expect("lock");
        let file = beibao_store::key::KeyFile::load(&path).expect("key file");
        let guard = beibao_store::key::guard(&path).expect("guard");
        let mut samples: Vec<f64> = (0..7)
            .map(|i| {
                let start = Instant::now();
                let opened = file.unwrap_key(&format!("{:06}", 100_000 + i), &*guard).expect("guess");
                assert!(opened.is_none());
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        costs.push((name, kdf, samples[samples.len() / 2]));
    }
    for (name, kdf, ms) in &costs {
        println!(
            "pin guess ({name}: {} MiB, t={}): {ms:.1} ms; every 6-digit PIN {:.1} core-hours, every 8-digit PIN {:.0} core-days",
            kdf.m_kib / 1024,
            kdf.t,
            ms * 1e6 / 3.6e6,
            ms * 1e8 / 8.64e7
        );
    }
    println!(
        "pin_kdf: v1_guess_ms={:.1} recommended_guess_ms={:.1} six_digit_core_hours_v1={:.1} six_digit_core_hours={:.1} eight_digit_core_days={:.0}",
        costs[0].2,
        costs[1].2,
        costs[0].2 * 1e6 / 3.6e6,
        costs[1].2 * 1e6 / 3.6e6,
        costs[1].2 * 1e8 / 8.64e7
    );
}
