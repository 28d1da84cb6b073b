//! `make demo`'s month of district activity: every officer with villages gets a tablet (a real
//! encrypted store), enrolls with a one-time code the day before the month, does some field work
//! each day of the month up to a day (visits, services carried back and delivered, hazards,
//! publicity, signed mediations, ratings — the seeded mix the tests use) and syncs over HTTP, so
//! the console's reports, drill-down and exports have a district's figures to show.
//!
//! The month is replayed through a server of its own on the demo server's database, whose clock
//! walks the days with the tablets': the server counts no record from before its device's
//! enrollment, nor after it was received (`beibao_core::clock::Received`), so a month made up
//! today must also be enrolled and received in its past.
//!
//! `demo-month --database DB [--until YYYY-MM-DD] [--days 30] [--per-day 4]`

use beibao_core::clock::Clock;
use beibao_server::app::Limits;
use beibao_store::system::SystemClock;
use beibao_sync::Settings;
use beibao_tests::{Server, Tablet, fixtures, runtime, work};
use chrono::{Duration, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let database = arg(&args, "--database").expect("--database (the server's SQLite file or PostgreSQL URL)");
    let today = beibao_core::calendar::china_date(SystemClock.now());
    let until: NaiveDate = arg(&args, "--until").map_or(today, |d| d.parse().expect("--until YYYY-MM-DD"));
    let days: i64 = arg(&args, "--days").map_or(30, |d| d.parse().expect("--days N"));
    let per_day: usize = arg(&args, "--per-day").map_or(4, |d| d.parse().expect("--per-day N"));
    let rt = runtime();
    let storage = rt.block_on(beibao_server::admin::open_storage(&database, None)).expect("the server's database");
    let server = Server::start(&rt, storage, Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() }, 7);
    let officers: Vec<&str> = fixtures()
        .registry
        .officers
        .iter()
        .map(|o| o.id.as_str())
        .filter(|o| !fixtures().registry.villages_of(o).is_empty())
        .collect();
    let fast = Settings { backoff_base: std::time::Duration::from_millis(5), ..Settings::default() };
    let first = until - Duration::days(days - 1);
    // 09:00 and 20:00 in Shanting.
    let morning = |day: NaiveDate| day.and_hms_opt(1, 0, 0).expect("time").and_utc();
    let evening = |day: NaiveDate| day.and_hms_opt(12, 0, 0).expect("time").and_utc();
    let (mut records, mut pushed) = (0u64, 0u64);
    for (n, officer) in officers.iter().enumerate() {
        let seed = 1000 + n as u64;
        let mut t = Tablet::new(officer, seed);
        let before = morning(first - Duration::days(1));
        server.clock.set(before);
        t.clock.set(before);
        t.enroll(&rt, &server.url(), &server.code(&rt, officer)).expect("enroll");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for d in 0..days {
            t.clock.set(morning(first + Duration::days(d)));
            records += per_day as u64;
            work::day(&mut t, &mut rng, per_day);
        }
        server.clock.set(evening(until));
        t.clock.set(evening(until));
        let done = t.sync(&rt, fast, 20, &mut |_| {}).expect("sync");
        pushed += done.applied;
        eprintln!("{officer}: {} ops applied", done.applied);
    }
    println!(
        "demo-month: {} officers, {days} days to {until}, about {records} records, {pushed} ops applied",
        officers.len()
    );
}
