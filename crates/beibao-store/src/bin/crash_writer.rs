//! Test helper for the crash test (`tests/crash.rs`): unlocks a store and writes visits in a loop,
//! printing each visit's number after its transaction commits, until it is killed.
//!
//! Usage: `beibao-crash-writer <db> <pin>`

use std::io::Write;

use beibao_core::visit::{ProofVerdict, Visit, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_store::Store;
use beibao_store::records::{self, StoredVisit};
use chrono::{Duration, Utc};
use uuid::Uuid;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, pin] = args.as_slice() else {
        eprintln!("usage: beibao-crash-writer <db> <pin>");
        std::process::exit(2);
    };
    let mut store = Store::unlock(db.as_ref(), pin, Utc::now()).unwrap_or_else(|e| {
        eprintln!("unlock: {e}");
        std::process::exit(1);
    });
    let start: i64 = store.conn().query_row("SELECT count(*) FROM visits", [], |r| r.get(0)).expect("count visits");
    let mut stdout = std::io::stdout().lock();
    for n in (start + 1).. {
        let at = Utc::now();
        let v = StoredVisit {
            visit: Visit {
                id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128),
                device_id: "crash".into(),
                officer_id: "OF-03-01".into(),
                village: "370406102201".into(),
                target: VisitTarget::Household(format!("370406102201-{:03}", n % 40)),
                purposes: vec![VisitPurpose::SpecialGroupCare, VisitPurpose::Publicity],
                outcome: VisitOutcome::Met,
                persons_met: 2,
                started_at: at - Duration::minutes(20),
                ended_at: at,
                fix: None,
                pin: None,
                note: "断电测试".repeat(20),
            },
            verdict: ProofVerdict::NoFix,
            special_group: n % 3 == 0,
        };
        let op = Uuid::from_u128(0x0290_0000_0000_7000_8000_0000_0000_0000 | n as u128);
        store.write(|tx| records::insert_visit(tx, &v, op, at)).expect("write");
        // Only after the commit returns is the visit reported as durable.
        writeln!(stdout, "{n}").and_then(|()| stdout.flush()).expect("stdout");
    }
}
