//! `make demo`'s month of district activity: every officer with villages gets a tablet (a real
//! encrypted store), enrolls on the running demo server with a one-time code, does some field
//! work each day of the month up to a day (visits, services carried back and delivered, hazards,
//! publicity, signed mediations, ratings — the seeded mix the tests use) and syncs over HTTP, so
//! the console's reports, drill-down and exports have a district's figures to show.
//!
//! `demo-month --server URL --database DB [--until YYYY-MM-DD] [--days 30] [--per-day 4]`

use std::sync::Arc;

use beibao_core::clock::Clock;
use beibao_server::app::{AppState, Limits, OsRandom};
use beibao_store::system::SystemClock;
use beibao_sync::Settings;
use beibao_tests::{Tablet, fixtures, runtime, work};
use chrono::{Duration, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let server = arg(&args, "--server").expect("--server URL");
    let database = arg(&args, "--database").expect("--database (the server's SQLite file or PostgreSQL URL)");
    let today = beibao_core::calendar::china_date(SystemClock.now());
    let until: NaiveDate = arg(&args, "--until").map_or(today, |d| d.parse().expect("--until YYYY-MM-DD"));
    let days: i64 = arg(&args, "--days").map_or(30, |d| d.parse().expect("--days N"));
    let per_day: usize = arg(&args, "--per-day").map_or(4, |d| d.parse().expect("--per-day N"));
    let rt = runtime();
    let storage = rt.block_on(beibao_server::admin::open_storage(&database, None)).expect("the server's database");
    let state = rt
        .block_on(AppState::new(
            storage,
            &fixtures().catalog,
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            Limits::default(),
        ))
        .expect("state");
    let officers: Vec<&str> = fixtures()
        .registry
        .officers
        .iter()
        .map(|o| o.id.as_str())
        .filter(|o| !fixtures().registry.villages_of(o).is_empty())
        .collect();
    let fast = Settings { backoff_base: std::time::Duration::from_millis(5), ..Settings::default() };
    let first = until - Duration::days(days - 1);
    let (mut records, mut pushed) = (0u64, 0u64);
    for (n, officer) in officers.iter().enumerate() {
        let seed = 1000 + n as u64;
        let mut t = Tablet::new(officer, seed);
        let code = rt.block_on(state.issue_enrollment_code(officer, Duration::hours(1))).expect("code");
        t.enroll(&rt, &server, &code).expect("enroll");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for d in 0..days {
            let day = first + Duration::days(d);
            // 09:00 in Shanting.
            t.clock.set(day.and_hms_opt(1, 0, 0).expect("time").and_utc());
            records += per_day as u64;
            work::day(&mut t, &mut rng, per_day);
        }
        let done = t.sync(&rt, fast, 20, &mut |_| {}).expect("sync");
        pushed += done.applied;
        eprintln!("{officer}: {} ops applied", done.applied);
    }
    println!(
        "demo-month: {} officers, {days} days to {until}, about {records} records, {pushed} ops applied",
        officers.len()
    );
}
