//! `make bench-server`: 200 devices pushing visit batches concurrently to a real server on
//! loopback, once on SQLite (a file) and once on PostgreSQL (a throwaway cluster, fsync on).
//! Prints applied ops per second and the p99 latency of a push, for pushes of a day's records
//! (25 visits; the final line) and of four days' records (100 visits).

use std::sync::Arc;
use std::time::{Duration, Instant};

use beibao_core::canonical::sha256_hex;
use beibao_core::visit::{GpsFix, ProofVerdict, Visit, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_server::Storage;
use beibao_server::app::Limits;
use beibao_store::records::StoredVisit;
use beibao_sync::Client;
use beibao_sync::wire::{self, EnrollRequest, OpStatus, PushRequest, WireOp};
use beibao_tests::pg::Cluster;
use beibao_tests::{Server, fixtures, runtime, t0};

const DEVICES: usize = 200;

/// How each device pushes: one untimed warm-up push (connections made, statements prepared),
/// then `batches` timed pushes of `ops` visits.
#[derive(Clone, Copy)]
struct Shape {
    batches: usize,
    ops: usize,
}

/// An officer's day of records per push (the headline figure).
const DAY: Shape = Shape { batches: 16, ops: 25 };
/// Four days carried back at once.
const HEAVY: Shape = Shape { batches: 5, ops: 100 };

struct Result {
    ops_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn visit(device: &str, officer: &str, village: &str, household: &str, n: u64) -> String {
    let id = uuid::Uuid::from_u128((u128::from(n) << 64) | 0x7000_8000_0000_0000_0000 | 0x1234);
    let start = t0() + chrono::Duration::minutes(n as i64 % 10_000);
    let v = StoredVisit {
        visit: Visit {
            id,
            device_id: device.to_owned(),
            officer_id: officer.to_owned(),
            village: village.to_owned(),
            target: VisitTarget::Household(household.to_owned()),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            outcome: VisitOutcome::Met,
            persons_met: 2,
            started_at: start,
            ended_at: start + chrono::Duration::minutes(20),
            fix: Some(GpsFix {
                lat: 34.98,
                lon: 117.4,
                accuracy_m: 12.0,
                taken_at: start + chrono::Duration::minutes(20),
            }),
            pin: None,
            note: "走访独居老人，家中用电安全".into(),
        },
        verdict: ProofVerdict::NearHousehold { distance_m: 14.0 },
        special_group: true,
    };
    serde_json::to_string(&v).expect("json")
}

fn bench(name: &str, shape: Shape, open: impl FnOnce(&tokio::runtime::Runtime) -> Arc<dyn Storage>) -> Result {
    let Shape { batches, ops } = shape;
    let rt = runtime();
    let storage = open(&rt);
    let limits = Limits { rate_per_s: 1e6, burst: 1e6, ..Limits::default() };
    let server = Server::start(&rt, storage, limits, 7);
    let f = fixtures();
    let officers: Vec<_> = f.registry.officers.iter().map(|o| o.id.clone()).collect();
    // Enroll and authenticate every device (not timed).
    let clients: Vec<(String, Client, Vec<Vec<u8>>)> = (0..DEVICES)
        .map(|d| {
            let officer = officers[d % officers.len()].clone();
            let device = format!("dev-bench-{name}-{d:03}");
            let key = wire::signing_key(&[(d % 251) as u8 + 1; 32]);
            let code = server.code(&rt, &officer);
            let mut client = Client::new(&server.url(), Duration::from_secs(60)).expect("client");
            rt.block_on(client.enroll(&EnrollRequest {
                code,
                device_id: device.clone(),
                officer_id: officer.clone(),
                public_key: wire::public_hex(&key),
            }))
            .expect("enroll");
            rt.block_on(client.authenticate(&device, &key)).expect("token");
            let villages = f.registry.villages_of(&officer);
            let village = villages.first().copied().unwrap_or("370406102201");
            let household = f.registry.households.iter().find(|h| h.village == village).map_or("h", |h| h.id.as_str());
            let batches = (0..=batches)
                .map(|b| {
                    let batch_ops = (0..ops)
                        .map(|i| {
                            let seq = (b * ops + i + 1) as i64;
                            let p = visit(&device, &officer, village, household, (d * 1_000_000 + seq as usize) as u64);
                            WireOp::new(seq, &format!("{device}-op-{seq}"), "visit", &sha256_hex(p.as_bytes()), &p)
                                .expect("op")
                        })
                        .collect();
                    wire::encode(&PushRequest {
                        device_id: device.clone(),
                        batch_id: format!("{device}-b{b}"),
                        ops: batch_ops,
                        sent_at: None,
                    })
                })
                .collect();
            (device, client, batches)
        })
        .collect();
    let load = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let push = |client: Client, device: String, batch: Vec<u8>| async move {
        let t = Instant::now();
        let ack = client.push_encoded(batch).await.expect("push");
        let took = t.elapsed();
        assert_eq!(ack.device_id, device);
        assert!(ack.results.iter().all(|r| r.status == OpStatus::Applied), "{:?}", ack.results[0]);
        (client, took)
    };
    // Warm-up: every device's first push, untimed.
    let clients: Vec<(String, Client, Vec<Vec<u8>>)> = load.block_on(async {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|(device, client, mut batches)| {
                let first = batches.remove(0);
                tokio::spawn(async move { (device.clone(), push(client, device, first).await.0, batches) })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let start = Instant::now();
    let latencies: Vec<Vec<Duration>> = load.block_on(async {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|(device, mut client, batches)| {
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for b in batches {
                        let (c, took) = push(client, device.clone(), b).await;
                        client = c;
                        lat.push(took);
                    }
                    lat
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1].as_secs_f64() * 1000.0;
    let counts = rt.block_on(server.state.storage().counts()).expect("counts");
    let total = (DEVICES * batches * ops) as i64;
    assert_eq!(counts.ops_applied, total + (DEVICES * ops) as i64, "every op applied once");
    let r = Result { ops_per_s: total as f64 / elapsed, p50_ms: pct(0.50), p99_ms: pct(0.99) };
    println!(
        "{name}: pushes_per_device={batches} ops_per_push={ops} ops={total} seconds={elapsed:.2} ops_per_s={:.0} push_p50_ms={:.1} push_p99_ms={:.1}",
        r.ops_per_s, r.p50_ms, r.p99_ms
    );
    r
}

fn main() {
    println!("server bench: {DEVICES} devices pushing visit batches concurrently, loopback");
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = |name: &str, shape| {
        let path = dir.path().join(format!("{name}.db"));
        bench(name, shape, move |_| Arc::new(beibao_server::Sqlite::open(&path).expect("sqlite")))
    };
    // Each PostgreSQL run gets a fresh cluster, so one run's autovacuum and checkpoints do not
    // fall into the next one's window.
    let postgres = |name: &str, shape| {
        let cluster = Cluster::start(true).expect("PostgreSQL cluster");
        let url = cluster.database(name).expect("createdb");
        bench(name, shape, move |rt| rt.block_on(beibao_server::admin::open_storage(&url, None)).expect("postgres"))
    };
    // `bench-server postgres_day` runs only the runs named (for profiling one of them).
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let s = wanted("sqlite").then(|| sqlite("sqlite", DAY));
    let p = wanted("postgres_day").then(|| postgres("postgres_day", DAY));
    // Four days' records in each push: the queue in front of the single writer is 4× longer.
    if wanted("sqlite_heavy") {
        sqlite("sqlite_heavy", HEAVY);
    }
    if wanted("postgres_heavy") {
        postgres("postgres_heavy", HEAVY);
    }
    if let (Some(s), Some(p)) = (s, p) {
        println!(
            "server_bench: sqlite_ops_per_s={:.0} postgres_ops_per_s={:.0} devices={DEVICES} push_p99_ms={:.1}",
            s.ops_per_s,
            p.ops_per_s,
            s.p99_ms.max(p.p99_ms)
        );
    }
}
