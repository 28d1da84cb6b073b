//! The store through its public API, on real encrypted SQLite files.

use beibao_core::code::Code;
use std::path::{Path, PathBuf};

use beibao_core::canonical::{derived_op_id, sha256_hex};
use beibao_core::visit::{ProofVerdict, Visit, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_store::key::{KdfParams, KeyFile, Moment, key_path};
use beibao_store::outbox::{self, OpKind};
use beibao_store::records::{self, StoredVisit};
use beibao_store::registry;
use beibao_store::{Store, StoreError, schema};
use beibao_testkit::Counting;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    beibao_testkit::t0() + chrono::Duration::hours(1)
}

/// A moment on a platform without an uptime clock.
fn wall(at: DateTime<Utc>) -> Moment {
    Moment { wall: at, uptime: None }
}

fn new_store(dir: &Path) -> (PathBuf, Store) {
    let path = dir.join("tablet.db");
    let store = Store::create(&path, "246810", KdfParams::TEST_ONLY, &mut Counting(1)).expect("create");
    (path, store)
}

fn visit(n: u128) -> StoredVisit {
    let at = t0() + Duration::minutes(n as i64);
    StoredVisit {
        visit: Visit {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n),
            device_id: "dev-1".into(),
            officer_id: "OF-03-01".into(),
            village: "370406102201".into(),
            target: VisitTarget::Household(format!("370406102201-{n:03}")),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            outcome: VisitOutcome::Met,
            persons_met: 1,
            started_at: at,
            ended_at: at + Duration::minutes(15),
            fix: None,
            pin: None,
            note: String::new(),
        },
        verdict: ProofVerdict::NoFix,
        special_group: true,
    }
}

fn file_hash(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read"))
}

#[test]
fn a_store_set_aside_opens_at_its_new_path_and_a_removed_one_leaves_no_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, store) = new_store(dir.path());
    store.lock().expect("lock");
    let aside = Store::set_aside(&path, "revoked-20261130T120000").expect("set aside");
    assert!(!path.exists() && !beibao_store::key::key_path(&path).exists(), "the old path is free for a new store");
    Store::unlock(&aside, "246810", t0()).expect("the set-aside store opens with its PIN").lock().expect("lock");
    let (again, store) = new_store(dir.path());
    assert_eq!(again, path, "a new store takes the old path");
    store.lock().expect("lock");
    Store::remove(&path).expect("remove");
    Store::remove(&path).expect("removing what is gone is no error");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(left.iter().all(|name| name.contains("revoked-")), "only the set-aside store is left: {left:?}");
}

#[test]
fn create_unlock_lock_and_change_pin() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, store) = new_store(dir.path());
    store.lock().expect("lock");
    assert!(
        matches!(
            Store::create(&path, "246810", KdfParams::TEST_ONLY, &mut Counting(2)),
            Err(StoreError::AlreadyExists(_))
        ),
        "create never overwrites a store"
    );
    Store::unlock(&path, "246810", t0()).expect("the right PIN opens").lock().expect("lock");
    Store::change_pin(&path, "246810", "13579135", t0(), &mut Counting(3)).expect("change PIN");
    assert!(
        matches!(Store::unlock(&path, "246810", t0()), Err(StoreError::WrongPin { .. })),
        "the old PIN no longer opens"
    );
    Store::unlock(&path, "13579135", t0()).expect("the new PIN opens");
    assert!(matches!(
        Store::create(&dir.path().join("x.db"), "12ab56", KdfParams::TEST_ONLY, &mut Counting(1)),
        Err(StoreError::PinFormat)
    ));
    assert!(matches!(Store::unlock(&dir.path().join("none.db"), "246810", t0()), Err(StoreError::NotFound(_))));
}

#[test]
fn five_wrong_pins_lock_the_store_for_a_growing_delay_that_survives_restarts() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, store) = new_store(dir.path());
    store.lock().expect("lock");
    let db_before = file_hash(&path);
    for left in (1..=4).rev() {
        match Store::unlock_at(&path, "000000", &wall(t0())) {
            Err(StoreError::WrongPin { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("a wrong PIN must be refused, got {other:?}"),
        }
    }
    match Store::unlock_at(&path, "000000", &wall(t0())) {
        Err(StoreError::LockedOut { until }) => {
            assert_eq!(until, t0() + Duration::minutes(1), "the 5th wrong PIN locks for 1 min")
        }
        other => panic!("the 5th wrong PIN locks, got {other:?}"),
    }
    // A restart is a new call with only the files: the lockout is on disk. (A platform without an
    // uptime clock: the wall clock counts; tests/lockout.rs has the uptime's rules.)
    match Store::unlock_at(&path, "246810", &wall(t0() + Duration::seconds(59))) {
        Err(StoreError::LockedOut { .. }) => {}
        other => panic!("even the right PIN waits out the lockout, got {other:?}"),
    }
    match Store::unlock_at(&path, "000000", &wall(t0() + Duration::seconds(61))) {
        Err(StoreError::LockedOut { until }) => {
            assert_eq!(
                until,
                t0() + Duration::seconds(61) + Duration::minutes(2),
                "the 6th wrong PIN doubles the delay"
            )
        }
        other => panic!("a 6th wrong PIN locks again, got {other:?}"),
    }
    assert_eq!(KeyFile::load(&path).expect("key file").failed_attempts, 6);
    assert_eq!(file_hash(&path), db_before, "wrong PINs never touch the database file");
    let later = t0() + Duration::minutes(10);
    Store::unlock_at(&path, "246810", &wall(later)).expect("the right PIN after the lockout");
    assert_eq!(KeyFile::load(&path).expect("key file").failed_attempts, 0, "success resets the count");
    assert_eq!(KeyFile::lockout_for(30), Some(Duration::hours(24)), "the delay is capped at a day");
}

#[test]
fn the_database_file_shows_no_plaintext() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, mut store) = new_store(dir.path());
    let fixtures = beibao_testkit::fixtures().clone();
    let household =
        fixtures.registry.households.iter().find(|h| h.village.starts_with("370406102")).expect("a 西集 household");
    let name = household.members[0].name.clone();
    let id_number = household.members[0].id_number.clone();
    let village = fixtures.registry.village(&household.village).expect("village");
    let town = fixtures.registry.towns.iter().find(|t| t.code == village.town).expect("town");
    store
        .write(|tx| {
            registry::put_town(tx, town)?;
            registry::put_village(tx, village)?;
            registry::put_household(tx, household)
        })
        .expect("seed");
    store.write(|tx| records::insert_visit(tx, &visit(1), Uuid::from_u128(1), t0())).expect("visit");
    assert_eq!(
        records::visit(store.conn(), visit(1).visit.id).expect("read").map(|v| v.visit.id),
        Some(visit(1).visit.id),
        "the record reads back through the key"
    );
    for file in [path.clone(), path.with_extension("db-wal"), key_path(&path)] {
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for needle in [name.as_bytes(), id_number.as_bytes(), "SQLite format 3".as_bytes(), "370406102201".as_bytes()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} must not contain {:?} in the clear",
                file.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    drop(store);
    let plain = Connection::open(&path).expect("open without key");
    assert!(
        plain.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err(),
        "no key, no data"
    );
}

fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_stored_version_1_database_upgrades_to_the_fresh_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("old.db");
    let raw = [7u8; 32];
    {
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "07".repeat(32))).expect("key");
        conn.execute_batch(include_str!("fixtures/create_v1_db.sql")).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute_batch(
            "INSERT INTO towns VALUES ('370406102', '西集镇', 'Xiji', 'PCS-370406102', '{}');
             INSERT INTO villages VALUES ('370406102201', '370406102', '王庄村', 'Wangzhuang', 'village', '{}');
             INSERT INTO households VALUES ('370406102201-001', '370406102201', '山亭区西集镇王庄村1组1号', NULL, NULL, '');",
        )
        .expect("old data");
    }
    let upgraded = Store::open_with_raw_key(&path, raw).expect("upgrade");
    assert_eq!(schema::version(upgraded.conn()).expect("version"), schema::latest());
    let fresh_dir = tempfile::tempdir().expect("tmp");
    let (_, fresh) = new_store(fresh_dir.path());
    assert_eq!(
        schema_of(upgraded.conn()),
        schema_of(fresh.conn()),
        "an upgraded database has exactly the fresh schema"
    );
    let kept: String = upgraded.conn().query_row("SELECT address FROM households", [], |r| r.get(0)).expect("row");
    assert_eq!(kept, "山亭区西集镇王庄村1组1号", "data survives the upgrade");
}

#[test]
fn a_newer_database_is_refused_and_a_failed_migration_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, store) = new_store(dir.path());
    store.conn().pragma_update(None, "user_version", 99).expect("bump");
    drop(store);
    match Store::unlock(&path, "246810", t0()) {
        Err(e @ StoreError::TooNew { found: 99, .. }) => assert_eq!(e.code(), Code::StoreTooNew),
        other => panic!("a database from a newer app is refused, got {other:?}"),
    }

    let mut conn = Connection::open_in_memory().expect("memory");
    let good = "CREATE TABLE a (x INTEGER);";
    let bad = "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);";
    assert!(schema::migrate_with(&mut conn, &[good, bad]).is_err(), "the broken migration fails");
    assert_eq!(schema::version(&conn).expect("version"), 1, "the good migration committed, the bad one did not");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(tables, vec!["a".to_owned()], "nothing of the failed migration remains");
}

#[test]
fn a_record_and_its_op_commit_together_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, mut store) = new_store(dir.path());
    let s1 = store.write(|tx| records::insert_visit(tx, &visit(1), Uuid::from_u128(1), t0())).expect("first");
    let s2 = store.write(|tx| records::insert_visit(tx, &visit(2), Uuid::from_u128(2), t0())).expect("second");
    assert!(s2 > s1, "seq grows");
    // The outbox insert failing after the visit row was written rolls both back.
    let refuse = format!(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.entity_id = '{}'
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
        visit(3).visit.id
    );
    store.conn().execute_batch(&refuse).expect("trigger");
    let failed = store.write(|tx| records::insert_visit(tx, &visit(3), Uuid::from_u128(3), t0()));
    assert!(failed.is_err(), "the op's insert is refused");
    store.conn().execute_batch("DROP TRIGGER refuse").expect("drop trigger");
    assert!(
        records::visit(store.conn(), visit(3).visit.id).expect("read").is_none(),
        "the visit rolled back with its op"
    );
    let pending = outbox::pending(store.conn(), 10).expect("pending");
    assert_eq!(pending.iter().map(|o| o.seq).collect::<Vec<_>>(), vec![s1, s2]);
    assert_eq!(pending[0].kind, OpKind::Visit.as_str());
    assert_eq!(pending[0].sha256, sha256_hex(pending[0].payload.as_bytes()), "the op carries its payload's hash");
    // Its id is derived from the payload (sync v2 does not send it), not the one passed in.
    assert_eq!(pending[0].op_id, derived_op_id(&pending[0].sha256));
    assert_ne!(pending[0].op_id, pending[1].op_id);
    // The same payload queued again (a record saved twice unchanged) is named apart by the id
    // passed in: every op the outbox holds is its own.
    let again = store.write(|tx| records::insert_visit(tx, &visit(1), Uuid::from_u128(9), t0()));
    assert!(again.is_err(), "a visit is recorded once (its row exists)");
    let copy = |tx: &rusqlite::Transaction<'_>| {
        outbox::enqueue(tx, Uuid::from_u128(9), OpKind::Visit, &visit(1).visit.id.to_string(), &visit(1), t0())
    };
    let s_copy = store.write(copy).expect("an op with the same payload");
    let all = outbox::all(store.conn()).expect("all");
    let copied = all.iter().find(|o| o.seq == s_copy).expect("copied op");
    assert_eq!(
        (copied.op_id.as_str(), copied.sha256.as_str()),
        (Uuid::from_u128(9).to_string().as_str(), pending[0].sha256.as_str())
    );
    store.conn().execute("DELETE FROM outbox WHERE seq = ?1", [s_copy]).expect("set aside");
    let stats = outbox::pending_stats(store.conn()).expect("stats");
    assert_eq!(stats.ops, 2);
    assert_eq!(stats.op_bytes as usize, pending.iter().map(|o| o.payload.len()).sum::<usize>());
    let s4 = store.write(|tx| records::insert_visit(tx, &visit(4), Uuid::from_u128(4), t0())).expect("fourth");
    assert!(s4 > s2, "a failed write does not reuse or skip backwards");
}

#[test]
fn a_finalized_mediation_is_read_only_in_the_database_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, store) = new_store(dir.path());
    store
        .conn()
        .execute_batch(
            "INSERT INTO mediations (id, device_id, officer_id, kind, village, accepted_on, status, eligibility, agreement, opened_at)
             VALUES ('m1', 'd', 'o', 'people', 'v', '2026-11-20', 'finalized', '{}', '{}', '2026-11-20T00:00:00Z');",
        )
        .expect("insert");
    let update = store.conn().execute("UPDATE mediations SET agreement = '{\"x\":1}' WHERE id = 'm1'", []);
    assert!(update.is_err_and(|e| e.to_string().contains("read-only")), "the trigger refuses updates");
    assert!(store.conn().execute("DELETE FROM mediations WHERE id = 'm1'", []).is_err(), "and deletes");
}
