//! The seeded fault loop: a tablet records a random day of work (visits, service requests
//! delivered with a signature, mediations signed by three, ratings, hazards, publicity) and syncs through the link
//! emulator while it cuts connections at random byte offsets in either direction (a cut after the
//! server committed is an ack lost), answers like a captive portal, refuses connections, or the
//! server is killed and restarted on the same database; earlier batches are replayed
//! (duplicated, out of order). After each scenario: every op applied exactly once or rejected
//! with its reason, the queue drained once the faults stopped, the server holds what the tablet
//! sent, in per-device order, every signature blob whole, and the tablet's pulled state (the
//! registry offered to its officer, request states moved at the desk) the server's.
//!
//! `BEIBAO_FAULT_RUNS` sets the number of scenarios on SQLite (200 in `make test`, 10,000 in
//! `make faults-long`), `BEIBAO_FAULT_RUNS_PG` on PostgreSQL (40; 1,000 in `make faults-long`);
//! `BEIBAO_FAULT_SEED` the first seed. The same loop runs with two server instances on one
//! PostgreSQL behind a balancer (`BEIBAO_FAULT_RUNS_PG2`, 20; 1,000 in `make faults-long`), one of
//! them killed and restarted.

use std::sync::Arc;
use std::time::Duration;

use beibao_server::app::Limits;
use beibao_sync::Settings;
use beibao_tests::link::{Fault, Link, Shape};
use beibao_tests::pg::Cluster;
use beibao_tests::tripwire::Tripwire;
use beibao_tests::work::{self, Verdict};
use beibao_tests::{OFFICER, Server, Tablet, runtime, server_db};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The engine's settings; `v2`: push with protocol v2 (the server announces it), else v1 (a
/// tablet from before v2).
fn settings(v2: bool) -> Settings {
    Settings {
        batch_bytes: 4 * 1024,
        min_batch_bytes: 512,
        max_batch_bytes: 64 * 1024,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
        pass_timeout: Duration::from_secs(60),
        pull_page: 200,
        blob_chunk: 4 * 1024,
        protocol_v2: v2,
    }
}

fn random_fault(rng: &mut ChaCha8Rng) -> Fault {
    match rng.random_range(0..10) {
        0..4 => Fault::CutUp(rng.random_range(0..3000)),
        4..8 => Fault::CutDown(rng.random_range(0..3000)),
        8 => Fault::Portal,
        _ => Fault::Refuse,
    }
}

struct Totals {
    runs: u64,
    faults: u64,
    retries: u64,
    replays: u64,
    kills: u64,
    commit_kills: u64,
    desk_moves: u64,
    lost: u64,
    duplicated: u64,
    stuck: u64,
    /// With several instances: the requests the least-used one served, summed over scenarios.
    served_least: u64,
    failed: Vec<(u64, Verdict)>,
}

/// Where the server keeps its data.
#[derive(Debug, Clone)]
enum Backend {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

/// A server on its own runtime over the backend, with a tripwire to kill it inside the commit
/// window.
fn start(backend: &Backend, seed: u64) -> (Server, Arc<Tripwire>) {
    let mut trip = None;
    let server = Server::killable(
        |rt, switch| {
            let storage: Arc<dyn beibao_server::Storage> = match backend {
                Backend::Sqlite(path) => Arc::new(beibao_server::Sqlite::open(path).expect("open sqlite")),
                Backend::Postgres(url) => {
                    rt.block_on(beibao_server::admin::open_storage(url, Some(4))).expect("connect postgres")
                }
            };
            let t = Arc::new(Tripwire::new(storage, switch));
            trip = Some(t.clone());
            t
        },
        Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() },
        seed,
    );
    (server, trip.expect("made"))
}

fn scenario(seed: u64, backend: &Backend, instances: usize, totals: &mut Totals) {
    let rt = runtime();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Each instance draws its own randomness (as processes do: equal seeds would mint equal
    // tokens).
    let mut servers: Vec<(Server, Arc<Tripwire>)> =
        (0..instances as u64).map(|i| start(backend, seed ^ (i << 50))).collect();
    let addrs: Vec<_> = servers.iter().map(|(s, _)| s.addr).collect();
    let link = if instances == 1 { Link::start(&rt, addrs[0]) } else { Link::balanced(&rt, &addrs) };
    let mut t = Tablet::new(OFFICER, seed);
    let code = servers[0].0.code(&rt, OFFICER);
    work::publish_registry(&rt, &servers[0].0);
    t.enroll(&rt, &link.url(), &code).expect("enroll on a clean link");
    link.shape(Shape { one_way: Duration::from_micros(rng.random_range(0..500)), bytes_per_s: 0 });

    // One scenario in four is a tablet from before protocol v2.
    let v2 = !seed.is_multiple_of(4);
    let rounds = rng.random_range(1..=3);
    let mut bad = 0;
    for _ in 0..rounds {
        let n = rng.random_range(1..=15);
        bad += work::day(&mut t, &mut rng, n);
        let faults: Vec<Fault> = (0..rng.random_range(0..8)).map(|_| random_fault(&mut rng)).collect();
        totals.faults += faults.len() as u64;
        link.faults(faults);
        // Sometimes a server dies mid-round: after a pass, or right after committing the
        // 1st–3rd push of the next one (its answer never written); then a fresh process on the
        // same database. With more than one instance, the balancer keeps sending it requests
        // for a while (no health check): they fail and the tablet retries, the others serve.
        let kill = rng.random_range(0..20);
        if kill < 6 {
            let i = rng.random_range(0..instances);
            if kill < 3 {
                let _ = t.sync(&rt, settings(v2), 0, &mut |_| {}); // whatever it gets done
            } else {
                servers[i].1.arm(rng.random_range(1..=3));
                let _ = t.sync(&rt, settings(v2), 2, &mut |_| {}); // the server dies under it
            }
            let fired = servers[i].1.fired().then(|| t.session.sync_status().expect("status").last_acked_seq);
            let (dead, _) = servers.remove(i);
            dead.kill();
            totals.kills += 1;
            if instances > 1 && rng.random_bool(0.5) {
                let _ = t.sync(&rt, settings(v2), 3, &mut |_| {}); // half the requests find it dead
            }
            // A new process draws new randomness (the same seed would mint the same tokens).
            let (fresh, trip) = start(backend, seed ^ ((i as u64) << 50) ^ (totals.kills << 40));
            if instances == 1 {
                link.upstream(fresh.addr);
            } else {
                link.pool_member(i, Some(fresh.addr));
            }
            if let Some(acked) = fired {
                totals.commit_kills += 1;
                // The window was real: the server holds ops the tablet has no ack for (with one
                // instance; with two, the other may have taken the retry already).
                let device = rt.block_on(fresh.state.storage().device(t.session.device_id()));
                let held = device.expect("device").expect("enrolled").last_seq;
                assert!(instances > 1 || held > acked, "seed {seed}: committed {held}, acknowledged {acked}");
            }
            servers.insert(i, (fresh, trip));
        }
        match t.sync(&rt, settings(v2), 200, &mut |_| {}) {
            Ok(summary) => totals.retries += summary.retries,
            Err(e) => {
                totals.stuck += 1;
                totals
                    .failed
                    .push((seed, Verdict { problems: vec![format!("sync failed: {e}")], ..Verdict::default() }));
                return;
            }
        }
        // The station desk (on any instance) moves a carried-back request: the next sync pulls
        // its new state.
        let desk = &servers[rng.random_range(0..instances)].0;
        if rng.random_bool(0.5) && work::desk_move(&rt, desk, &mut rng) {
            totals.desk_moves += 1;
        }
        // Replay some earlier pushes, in random order: duplicates and reordering.
        let mut pushes: Vec<_> = link
            .recorded()
            .into_iter()
            .filter(|r| r.line.contains("/sync/push") || r.line.contains("/sync/v2/push"))
            .collect();
        for _ in 0..rng.random_range(0..3).min(pushes.len()) {
            let i = rng.random_range(0..pushes.len());
            let r = pushes.swap_remove(i);
            let status = link.replay(&rt, &r);
            totals.replays += 1;
            // The rest of a cut body, sent again once the body was used: the server holds none
            // of it (409 `blob_offset`; the tablet would send the whole batch, and get its stored
            // results).
            let rest = r.line.starts_with("PUT ") && status == 409;
            assert!(
                status == 200 || status == 401 || rest,
                "a replayed batch gets its stored results (or an expired token): {status} {}",
                r.line
            );
        }
    }
    // A last clean pass takes in what the desk moved after the round's sync.
    if let Err(e) = t.sync(&rt, settings(v2), 200, &mut |_| {}) {
        totals.stuck += 1;
        totals.failed.push((seed, Verdict { problems: vec![format!("last sync failed: {e}")], ..Verdict::default() }));
        return;
    }
    if instances > 1 {
        let served = link.served();
        totals.served_least += served.iter().min().copied().unwrap_or(0);
    }
    let v = work::check(&rt, &t, &servers[0].0, bad);
    totals.runs += 1;
    totals.lost += v.lost;
    totals.duplicated += v.duplicated;
    totals.stuck += v.stuck;
    if !v.clean() {
        totals.failed.push((seed, v));
    }
}

fn run(runs: u64, first: u64, instances: usize, backend: impl Fn(u64) -> Backend) {
    let mut totals = Totals {
        runs: 0,
        faults: 0,
        retries: 0,
        replays: 0,
        kills: 0,
        commit_kills: 0,
        desk_moves: 0,
        lost: 0,
        duplicated: 0,
        stuck: 0,
        served_least: 0,
        failed: Vec::new(),
    };
    for seed in first..first + runs {
        scenario(seed, &backend(seed), instances, &mut totals);
    }
    println!(
        "fault_detail: faults={} failed_passes={} replays={} server_kills={} killed_after_commit={} desk_moves={}",
        totals.faults, totals.retries, totals.replays, totals.kills, totals.commit_kills, totals.desk_moves
    );
    println!(
        "fault_runs: runs={} lost={} duplicated={} stuck={}",
        totals.runs, totals.lost, totals.duplicated, totals.stuck
    );
    if instances > 1 {
        println!("fault_instances: instances={instances} least_served_requests={}", totals.served_least);
        assert!(totals.served_least > runs, "every instance served requests in the scenarios");
    }
    assert!(totals.failed.is_empty(), "failing seeds: {:#?}", &totals.failed[..totals.failed.len().min(5)]);
    assert_eq!(totals.runs, runs);
    if runs >= 40 {
        assert!(totals.faults > runs && totals.retries > runs / 2, "the faults did happen and cost passes");
        assert!(totals.replays > 0 && totals.kills > 0, "batches were replayed and the server was killed");
        assert!(totals.commit_kills > 0, "the server was killed between a commit and its answer");
        assert!(totals.desk_moves > 0, "the desk moved requests the tablets then pulled");
    }
}

#[test]
fn seeded_faults_lose_nothing_and_duplicate_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    run(env_u64("BEIBAO_FAULT_RUNS", 200), env_u64("BEIBAO_FAULT_SEED", 1), 1, |seed| {
        Backend::Sqlite(server_db(&dir.path().join(seed.to_string())))
    });
}

/// The same loop on PostgreSQL (a database per scenario in one throwaway cluster): its push
/// pipelines BEGIN with the reads and COMMIT with the writes, and a kill drops its connections
/// mid-transaction. `BEIBAO_FAULT_RUNS_PG` scenarios (40 in `make test`).
#[test]
fn seeded_faults_on_postgres_lose_nothing_and_duplicate_nothing() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    run(env_u64("BEIBAO_FAULT_RUNS_PG", 40), env_u64("BEIBAO_FAULT_SEED", 1), 1, |seed| {
        Backend::Postgres(cluster.database(&format!("faults_{seed}")).expect("createdb"))
    });
}

/// Two server instances on one PostgreSQL database behind a balancer that sends each request to
/// the next instance in turn (a challenge asked of one is answered at the other, a batch cut at
/// one is retried at the other), while instances are killed — mid-commit too — and restarted:
/// nothing lost, duplicated or stuck. `BEIBAO_FAULT_RUNS_PG2` scenarios (20 in `make test`).
#[test]
fn two_instances_on_one_postgres_lose_nothing_while_one_is_killed_and_restarted() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    run(env_u64("BEIBAO_FAULT_RUNS_PG2", 20), env_u64("BEIBAO_FAULT_SEED", 1), 2, |seed| {
        Backend::Postgres(cluster.database(&format!("instances_{seed}")).expect("createdb"))
    });
}
