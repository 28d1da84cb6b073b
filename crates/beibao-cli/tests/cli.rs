//! The `beibao` binary, as the demo and a shell script use it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-11-20T02:00:00Z";

fn demo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo").join(file)
}

fn beibao(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beibao"))
        .args(["--store", store.to_str().expect("utf-8 path"), "--now", NOW])
        .args(args)
        .env("BEIBAO_PIN", "246810")
        .output()
        .expect("run beibao")
}

fn ok_json(store: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = beibao(store, &all);
    assert!(out.status.success(), "beibao {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("beibao {args:?} printed no JSON ({e})"))
}

#[test]
fn one_of_each_record_type_through_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("t.db");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let init = ok_json(&store, &["init", "--officer", "OF-03-01", "--from-fixtures", fixtures, "--insecure-fast-kdf"]);
    assert_eq!(init["officer_id"], "OF-03-01");

    let hits = ok_json(&store, &["search", "西集镇"]);
    let household = hits[0]["id"].as_str().expect("a household").to_owned();
    let village = hits[0]["village"].as_str().expect("village").to_owned();

    let visit =
        ok_json(&store, &["visit", "--household", &household, "--purpose", "special_group_care", "--persons", "2"]);
    assert_eq!(visit["verdict"]["verdict"], "no_fix");

    let accepted = ok_json(
        &store,
        &[
            "service",
            "accept",
            "--code",
            "HZ05",
            "--household",
            &household,
            "--applicant",
            "张三",
            "--materials",
            "hukou_book,photo",
        ],
    );
    let id = accepted["id"].as_str().expect("id").to_owned();
    for to in ["carried_back", "submitted", "approved", "made", "ready_to_deliver"] {
        ok_json(&store, &["service", "advance", "--id", &id, "--to", to]);
    }
    let sig = demo("signature.png");
    let delivered = ok_json(&store, &["service", "deliver", "--id", &id, "--signature", sig.to_str().expect("path")]);
    assert_eq!(delivered["state"], "delivered");

    let case = ok_json(&store, &["mediation", "open", "--kind", "people", "--village", &village]);
    let m = case["id"].as_str().expect("id").to_owned();
    let edits = demo("mediation-edits.json");
    ok_json(&store, &["mediation", "edit", "--id", &m, "--file", edits.to_str().expect("path")]);
    let strokes = demo("strokes.json");
    for signer in ["party:0", "party:1", "mediator:0"] {
        ok_json(
            &store,
            &[
                "mediation",
                "sign",
                "--id",
                &m,
                "--signer",
                signer,
                "--png",
                sig.to_str().expect("p"),
                "--strokes",
                strokes.to_str().expect("p"),
            ],
        );
    }
    let done = ok_json(&store, &["mediation", "finalize", "--id", &m]);
    assert_eq!(done["status"], "finalized");
    assert_eq!(done["content_hash"].as_str().map(str::len), Some(64));

    ok_json(
        &store,
        &["publicity", "--village", &village, "--topic", "anti_fraud", "--attendees", "30", "--leaflets", "50"],
    );
    let hazard = ok_json(&store, &["hazard", "--village", &village, "--place", "小卖部", "--description", "楼道充电"]);
    ok_json(&store, &["hazard", "--fix", hazard["id"].as_str().expect("id")]);
    ok_json(&store, &["rating", "--subject", "service", "--id", &id, "--rating", "satisfied"]);

    let totals = ok_json(&store, &["totals", "--from", "2026-11-01", "--to", "2026-11-20"]);
    let value = |code: &str| {
        totals
            .as_array()
            .expect("list")
            .iter()
            .find(|t| t["indicator"]["code"] == code)
            .map(|t| t["value"].clone())
            .expect(code)
    };
    assert_eq!(value("door_deliveries")["value"], 1);
    assert_eq!(value("households_visited")["value"], 1);
    assert_eq!(value("disputes_resolved")["value"], 1);
    assert_eq!(value("hazards_fixed")["value"], 1);
    let outbox = ok_json(&store, &["outbox"]);
    assert_eq!(
        outbox["ops"], 13,
        "visit 1 + request 1 + transitions 6 + mediation 1 + publicity 1 + hazard 2 + rating 1"
    );
    assert_eq!(outbox["blobs"], 1, "one signature image, stored once by its hash");
    let day = beibao(&store, &["day"]);
    assert!(String::from_utf8_lossy(&day.stdout).contains("follow_up"), "the agreement's follow-up is on the day");
}

#[test]
fn errors_carry_a_stable_code_and_exit_non_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("t.db");
    let out = beibao(&store, &["outbox"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error[store_not_found]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok_json(&store, &["init", "--officer", "OF-03-01", "--insecure-fast-kdf"]);
    let out = beibao(&store, &["--json", "--pin", "000000", "outbox"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).expect("json error");
    assert_eq!(err["code"], "pin_wrong");
    let out = beibao(
        &store,
        &["service", "accept", "--code", "JG06", "--applicant", "x", "--materials", "vehicle_licence,id_card"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[fee_option_required]"));
    let out = beibao(
        &store,
        &["mediation", "open", "--kind", "public_security", "--village", "370406102201", "--case-type", "gang_fight"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[mediation_blocked]"));
}
