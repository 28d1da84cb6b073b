//! `make bench-sync`: 1,000 visit records drained from a real tablet store through the link
//! emulator at 100 kbit/s and 300 ms RTT, batched (zstd, sized in bytes) against a baseline that
//! posts the same kind of records one per request (as OpenRosa/ODK clients do), over the same link
//! in the same run; then the batched drain again with a connection drop every ~20 s.

use std::time::{Duration, Instant};

use beibao_sync::Settings;
use beibao_tests::link::{Link, Shape};
use beibao_tests::{OFFICER, Server, Tablet, runtime, server_db, work};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

const RECORDS: usize = 1000;
const SHAPE: Shape = Shape { one_way: Duration::from_millis(150), bytes_per_s: 100_000 / 8 };

struct Run {
    seconds: f64,
    bytes: u64,
    round_trips: u64,
    applied: u64,
}

fn settings(max_batch: usize) -> Settings {
    Settings {
        batch_bytes: max_batch.min(256 * 1024),
        min_batch_bytes: max_batch.min(4 * 1024),
        max_batch_bytes: max_batch,
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        request_timeout: Duration::from_secs(60),
        pass_timeout: Duration::from_secs(900),
        ..Settings::default()
    }
}

/// A tablet enrolled with its own server, its catalog pulled on a clean link, then `RECORDS`
/// visits recorded; the link shaped; one drain measured.
fn run(rt: &Runtime, seed: u64, max_batch: usize, drops: bool) -> Run {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(rt, &server_db(dir.path()), seed);
    let link = Link::start(rt, server.addr);
    let mut t = Tablet::new(OFFICER, seed);
    t.enroll(rt, &link.url(), &server.code(rt, OFFICER)).expect("enroll");
    t.sync(rt, settings(max_batch), 0, &mut |_| {}).expect("first sync: the catalog");
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for _ in 0..RECORDS {
        work::visit(&mut t, &mut rng);
    }
    link.shape(SHAPE);
    if drops {
        link.drop_every(rt, Duration::from_secs(7), Duration::from_secs(20));
    }
    let (conns0, up0, down0) = link.counters();
    let reqs0 = link.recorded().len();
    let start = Instant::now();
    let s = t.sync(rt, settings(max_batch), 10_000, &mut |_| {}).expect("drain");
    let seconds = start.elapsed().as_secs_f64();
    let (_, up, down) = link.counters();
    let _ = conns0;
    let v = work::check(rt, &t, &server, 0);
    assert!(v.clean(), "{v:?}");
    Run {
        seconds,
        bytes: up + down - up0 - down0,
        round_trips: (link.recorded().len() - reqs0) as u64,
        applied: s.applied,
    }
}

fn main() {
    let rt = runtime();
    println!("sync bench: {RECORDS} visit records, link 100 kbit/s, RTT 300 ms (loopback, emulated)");
    let batched = run(&rt, 101, 1024 * 1024, false);
    assert_eq!(batched.applied, RECORDS as u64);
    println!(
        "batched:   seconds={:.1} bytes={} bytes_per_record={:.0} round_trips={}",
        batched.seconds,
        batched.bytes,
        batched.bytes as f64 / RECORDS as f64,
        batched.round_trips
    );
    let dropping = run(&rt, 103, 1024 * 1024, true);
    println!(
        "drops:     seconds={:.1} bytes={} round_trips={} throughput_vs_clean={:.0}%",
        dropping.seconds,
        dropping.bytes,
        dropping.round_trips,
        100.0 * batched.seconds / dropping.seconds
    );
    // The baseline: one record per request (a batch never holds more than one op).
    let baseline = run(&rt, 102, 1, false);
    assert_eq!(baseline.applied, RECORDS as u64);
    println!(
        "baseline:  seconds={:.1} bytes={} bytes_per_record={:.0} round_trips={}",
        baseline.seconds,
        baseline.bytes,
        baseline.bytes as f64 / RECORDS as f64,
        baseline.round_trips
    );
    println!(
        "sync_drain_with_drops: records={RECORDS} seconds={:.1} drop_every_s=20 throughput_vs_clean={:.0}%",
        dropping.seconds,
        100.0 * batched.seconds / dropping.seconds
    );
    println!(
        "sync_drain: records={RECORDS} seconds={:.1} bytes_per_record={:.0} round_trips={} baseline_seconds={:.1} speedup={:.1}",
        batched.seconds,
        batched.bytes as f64 / RECORDS as f64,
        batched.round_trips,
        baseline.seconds,
        baseline.seconds / batched.seconds
    );
}
