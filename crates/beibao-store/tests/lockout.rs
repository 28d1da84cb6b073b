//! The PIN lockout against a finder of the tablet (issue 14): the wait is counted in the
//! platform's uptime, so setting the clock forward does not end it; a restart does not count the
//! time off; a clock set back does not count backwards; a counter edited in the key file is caught
//! and locks the store for the longest delay; a key file made before guards is taken once and
//! tagged, but one stripped of its tag is not; stores under the old KDF are wrapped again under
//! the new one at their next unlock.

use std::path::{Path, PathBuf};

use beibao_store::key::{self, KdfParams, KeyFile, Moment, Uptime, guard_path, key_path};
use beibao_store::{Store, StoreError};
use beibao_testkit::Counting;
use chrono::{DateTime, Duration, Utc};

const PIN: &str = "246810";

fn t0() -> DateTime<Utc> {
    beibao_testkit::t0()
}

fn at(wall: DateTime<Utc>, boot: &str, seconds: u64) -> Moment {
    Moment { wall, uptime: Some(Uptime { boot: boot.into(), ms: seconds * 1000 }) }
}

fn new_store(dir: &Path, kdf: KdfParams) -> PathBuf {
    let path = dir.join("tablet.db");
    Store::create(&path, PIN, kdf, &mut Counting(3)).expect("create").lock().expect("lock");
    path
}

/// Five wrong PINs at `m`: the store is locked for a minute.
fn lock_out(path: &Path, m: &Moment) {
    for _ in 0..4 {
        assert!(matches!(Store::unlock_at(path, "000000", m), Err(StoreError::WrongPin { .. })));
    }
    assert!(matches!(Store::unlock_at(path, "000000", m), Err(StoreError::LockedOut { .. })));
}

fn locked(r: Result<Store, StoreError>) -> bool {
    matches!(r, Err(StoreError::LockedOut { .. }))
}

#[test]
fn setting_the_clock_forward_does_not_end_a_lockout_the_uptime_does() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    lock_out(&path, &at(t0(), "boot-a", 100));
    // A year later by the wall clock, one second later by the uptime: still locked.
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0() + Duration::days(365), "boot-a", 101))));
    // The unlock screen shows the minute left, counted from now.
    let until =
        key::lockout(&path, &at(t0() + Duration::days(365), "boot-a", 130), &*key::guard(&path).expect("guard"))
            .expect("read");
    assert_eq!(until, Some(t0() + Duration::days(365) + Duration::seconds(30)));
    // 61 s of uptime: open, whatever the wall clock says.
    Store::unlock_at(&path, PIN, &at(t0() - Duration::days(3), "boot-a", 161)).expect("the lockout is over");
}

#[test]
fn a_restart_does_not_count_the_time_the_tablet_was_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    lock_out(&path, &at(t0(), "boot-a", 100));
    // 40 s pass, then the tablet restarts (with its clock a day ahead): 20 s are left.
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0() + Duration::seconds(40), "boot-a", 140))));
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0() + Duration::days(1), "boot-b", 5))));
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0() + Duration::days(1), "boot-b", 24))));
    Store::unlock_at(&path, PIN, &at(t0() + Duration::days(1), "boot-b", 26)).expect("20 s of the new boot");
}

#[test]
fn without_an_uptime_the_wall_clock_counts_but_never_backwards() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    let wall = |t| Moment { wall: t, uptime: None };
    lock_out(&path, &wall(t0()));
    // The clock set back an hour: nothing elapses, and the wait is not stretched either.
    assert!(locked(Store::unlock_at(&path, PIN, &wall(t0() - Duration::hours(1)))));
    assert!(locked(Store::unlock_at(&path, PIN, &wall(t0() + Duration::seconds(59)))));
    Store::unlock_at(&path, PIN, &wall(t0() + Duration::seconds(61))).expect("a minute after the lock");
}

/// The key file as JSON, changed by `edit`, written back (as someone with the file would).
fn edit_key_file(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(key_path(path)).expect("read");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    edit(&mut v);
    std::fs::write(key_path(path), serde_json::to_string(&v).expect("json")).expect("write");
}

#[test]
fn a_lockout_counter_edited_in_the_key_file_locks_the_store_for_a_day() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    lock_out(&path, &at(t0(), "boot-a", 100));
    // The finder resets the counter and drops the wait.
    edit_key_file(&path, |v| {
        v["failed_attempts"] = 0.into();
        v.as_object_mut().expect("object").remove("wait");
    });
    let m = at(t0(), "boot-a", 101);
    match Store::unlock_at(&path, PIN, &m) {
        Err(StoreError::LockedOut { until }) => assert_eq!(until, m.wall + Duration::hours(24)),
        other => panic!("an edited counter must lock the store, got {other:?}"),
    }
    assert!(KeyFile::load(&path).expect("file").failed_attempts >= 5);
    // A day of uptime later the right PIN opens it.
    Store::unlock_at(&path, PIN, &at(t0(), "boot-a", 101 + 24 * 3600 + 1)).expect("after the day");
}

#[test]
fn a_key_file_stripped_of_its_tag_is_not_taken_for_an_old_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    lock_out(&path, &at(t0(), "boot-a", 100));
    // Made to look like a format-1 file (before guards), with its lockout gone.
    edit_key_file(&path, |v| {
        let o = v.as_object_mut().expect("object");
        o.insert("format".into(), 1.into());
        o.insert("failed_attempts".into(), 0.into());
        for k in ["wait", "mac", "guard"] {
            o.remove(k);
        }
    });
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0(), "boot-a", 101))), "the guard was there before");
}

#[test]
fn a_store_made_before_guards_is_taken_once_and_tagged_and_an_old_kdf_is_replaced() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::V1);
    // As a store of session 12 left it: format 1, no tag, no guard file, a lockout by wall clock.
    edit_key_file(&path, |v| {
        let o = v.as_object_mut().expect("object");
        o.insert("format".into(), 1.into());
        o.insert("failed_attempts".into(), 5.into());
        o.insert("locked_until".into(), (t0() + Duration::seconds(30)).to_rfc3339().into());
        for k in ["wait", "mac", "guard"] {
            o.remove(k);
        }
    });
    std::fs::remove_file(guard_path(&path)).expect("remove the guard");
    // Its lockout holds (read as 30 s left), then the right PIN opens it.
    assert!(locked(Store::unlock_at(&path, PIN, &at(t0(), "boot-a", 10))));
    let tagged = KeyFile::load(&path).expect("file");
    assert_eq!((tagged.format, tagged.guard.as_deref()), (2, Some("software")));
    assert!(tagged.mac.is_some() && guard_path(&path).exists());
    Store::unlock_at(&path, PIN, &at(t0(), "boot-a", 41)).expect("open after 30 s");
    let file = KeyFile::load(&path).expect("file");
    assert_eq!(file.kdf, KdfParams::RECOMMENDED, "wrapped again under the stronger KDF");
    assert_eq!(file.failed_attempts, 0);
    Store::unlock_at(&path, PIN, &at(t0(), "boot-a", 42)).expect("and it opens under it");
}

#[test]
fn the_guard_file_goes_with_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = new_store(dir.path(), KdfParams::TEST_ONLY);
    assert!(guard_path(&path).exists());
    let aside = Store::set_aside(&path, "revoked").expect("aside");
    assert!(!guard_path(&path).exists() && guard_path(&aside).exists());
    Store::unlock_at(&aside, PIN, &at(t0(), "boot-a", 1)).expect("opens where it was moved");
    Store::remove(&aside).expect("remove");
    assert!(!guard_path(&aside).exists() && !key_path(&aside).exists());
}
