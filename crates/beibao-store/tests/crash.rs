//! Crash test: a child process writes visits in a loop and is killed with SIGKILL at random
//! moments. After every kill the store must open, pass `PRAGMA integrity_check`, hold every visit
//! the child reported as committed, and pair every visit with its outbox op and every op with its
//! visit. `BEIBAO_CRASH_ITERATIONS` sets the number of kills (200 by default; `make crash-long`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use beibao_store::Store;
use beibao_store::key::KdfParams;
use beibao_testkit::Counting;
use chrono::Utc;

/// xorshift64*: a seeded sequence of kill points, so a failing run can be replayed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_committed() {
    let iterations: u32 = std::env::var("BEIBAO_CRASH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("crash.db");
    let pin = "246810";
    Store::create(&path, pin, KdfParams::TEST_ONLY, &mut Counting(9)).expect("create").lock().expect("lock");
    let mut rng = Seeded(0x5EED_BEEF_CAFE_F00D);
    let mut committed: i64 = 0;
    for i in 0..iterations {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beibao-crash-writer"))
            .arg(&path)
            .arg(pin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn writer");
        let wanted = 1 + rng.next(6);
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..wanted {
            let n: i64 = lines
                .next()
                .unwrap_or_else(|| panic!("iteration {i}: the writer stopped before reporting a commit"))
                .expect("line")
                .parse()
                .expect("number");
            committed = committed.max(n);
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");

        let store =
            Store::unlock(&path, pin, Utc::now()).unwrap_or_else(|e| panic!("iteration {i}: store does not open: {e}"));
        let conn = store.conn();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
        assert_eq!(check, "ok", "iteration {i}: integrity_check");
        let visits: i64 = conn.query_row("SELECT count(*) FROM visits", [], |r| r.get(0)).expect("count");
        assert!(visits >= committed, "iteration {i}: {visits} visits on disk but {committed} were reported committed");
        let orphans: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM visits v WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = v.id))
                      + (SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM visits v WHERE v.id = o.entity_id))",
                [],
                |r| r.get(0),
            )
            .expect("orphans");
        assert_eq!(orphans, 0, "iteration {i}: every visit has its op and every op its visit");
        let ops: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).expect("ops");
        assert_eq!(ops, visits, "iteration {i}: one op per visit");
        committed = visits;
        store.lock().expect("lock");
    }
    println!("crash test: {iterations} kills, {committed} visits, no loss");
}
