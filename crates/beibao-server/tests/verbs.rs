//! The `beibao-server` administrator's verbs, as an administrator runs them on a SQLite file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn server(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beibao-server"))
        .args(["--database", db.to_str().expect("utf-8 path"), "--json"])
        .args(args)
        .env("BEIBAO_LOG", "off")
        .output()
        .expect("run beibao-server")
}

fn ok(db: &Path, args: &[&str]) -> Value {
    let out = server(db, args);
    assert!(out.status.success(), "beibao-server {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("beibao-server {args:?} printed no JSON ({e})"))
}

/// The refusal's code, from `error[<code>]: …` on stderr.
fn refused(db: &Path, args: &[&str]) -> String {
    let out = server(db, args);
    assert!(!out.status.success(), "beibao-server {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    err.split_once("error[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("no error code in {err}"))
}

#[test]
fn seed_assign_unassign_and_publish_a_calendar() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("beibao.db");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let seeded = ok(&db, &["seed", "--fixtures", fixtures]);
    assert!(seeded["changes"].as_u64().expect("changes") > 0);

    let before = ok(&db, &["assignments", "--officer", "OF-03-01"]);
    let villages = before.as_array().expect("a list");
    assert!(!villages.is_empty(), "the fixtures assign OF-03-01");
    let theirs = ok(&db, &["assignments", "--officer", "OF-01-01"]);
    let other = theirs
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["kind"] == "village" && !villages.iter().any(|m| m["target"] == a["target"]))
        .expect("a village of another officer")["target"]
        .as_str()
        .expect("code")
        .to_owned();

    let assigned = ok(&db, &["assign", "--officer", "OF-03-01", "--village", &other, "--since", "2026-06-01"]);
    assert!(assigned["changes"].as_u64().expect("changes") >= 2, "the village and the assignment at least");
    let after = ok(&db, &["assignments", "--officer", "OF-03-01"]);
    assert_eq!(after.as_array().expect("a list").len(), villages.len() + 1);
    let again = ["assign", "--officer", "OF-03-01", "--village", other.as_str()];
    assert_eq!(refused(&db, &again), "already_assigned");
    assert_eq!(refused(&db, &["assign", "--officer", "OF-03-01", "--village", "nowhere"]), "unknown_place");
    assert_eq!(refused(&db, &["assign", "--officer", "OF-nobody", "--village", &other]), "unknown_officer");
    assert_eq!(refused(&db, &["assignments", "--officer", "OF-nobody"]), "unknown_officer");
    let early = ["unassign", "--officer", "OF-03-01", "--village", other.as_str(), "--until", "2026-05-31"];
    assert_eq!(refused(&db, &early), "invalid");
    ok(&db, &["unassign", "--officer", "OF-03-01", "--village", &other, "--until", "2026-09-30"]);
    assert_eq!(ok(&db, &["assignments", "--officer", "OF-03-01"]), before);
    let ended = ["unassign", "--officer", "OF-03-01", "--village", other.as_str()];
    assert_eq!(refused(&db, &ended), "not_assigned");

    // Seed published the fixtures' calendar; the same file again is no new version; a broken one
    // is refused with its rule.
    let calendar = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/calendar/cn-holidays.json");
    let same = ok(&db, &["publish-calendar", "--file", calendar]);
    assert!(same["cursor"].is_null(), "published by seed already: {same}");
    assert!(same["version"].as_str().expect("version").starts_with("sha256:"));
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"[{"year":2026,"coverage":"official","source":"x","holidays":[],"workdays":["2026-11-23"]}]"#,
    )
    .expect("write");
    assert_eq!(refused(&db, &["publish-calendar", "--file", broken.to_str().expect("path")]), "bad_calendar");
}
