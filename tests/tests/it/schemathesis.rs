//! The API document held to the server: Schemathesis (PyPI, installed by `make deps` in
//! `.cache/schemathesis`) generates requests from the OpenAPI document the server serves and
//! runs every one of its checks against the live server — unauthenticated, as an enrolled
//! device and as a station desk — with a fixed seed and a bounded number of cases. A response
//! the document does not describe, a schema-valid request refused as malformed, a malformed one
//! accepted, a 5xx: each fails the run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use beibao_server::admin::new_account;
use beibao_server::storage::Role;
use beibao_sync::client::Client;
use beibao_sync::wire::{self, EnrollRequest};
use beibao_tests::{Server, runtime, t0};

const OFFICER: &str = "OF-03-01";

fn schemathesis() -> PathBuf {
    let st = std::env::var_os("BEIBAO_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/schemathesis/bin/st"));
    assert!(st.exists(), "schemathesis is not installed at {}: run `make deps`", st.display());
    st
}

/// One Schemathesis run: its last lines on failure; the number of cases it generated.
fn run(who: &str, base: &str, auth: Option<&str>, exclude: &[&str]) -> u64 {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(schemathesis());
    cmd.arg("--config-file")
        .arg(dir.join("schemathesis/schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--seed", "20261201", "--max-examples", "25", "--workers", "1"])
        .args(["--generation-database", "none"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(std::env::temp_dir());
    if let Some(token) = auth {
        cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
    }
    for path in exclude {
        cmd.args(["--exclude-path", path]);
    }
    let out = cmd.output().expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis ({who}) failed:\n{text}");
    // "1545 generated, 1545 passed, 2 skipped"
    let cases = text
        .lines()
        .find(|l| l.contains(" generated,"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no case count in:\n{text}"));
    eprintln!("schemathesis ({who}): {cases} cases, 0 failures");
    cases
}

#[test]
fn schemathesis_finds_the_server_as_its_document_says_unauthenticated_as_a_device_and_as_a_desk() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let storage = Arc::new(beibao_server::Sqlite::open(&dir.path().join("server.db")).expect("sqlite"));
    let server = Server::start(
        &rt,
        storage,
        beibao_server::app::Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Default::default() },
        3,
    );
    let base = server.url();

    // A desk account, logged in.
    let station = beibao_tests::fixtures().registry.stations[0].code.clone();
    let a = new_account("desk-st", Role::Desk, Some(&station), "window-password-1").expect("account");
    rt.block_on(server.state.storage().create_account(&a, t0())).expect("create");
    let console = beibao_tests::console::Console::new(&rt, base.clone());
    let desk = console.login("desk-st", "window-password-1").token;

    // A device, enrolled and authenticated.
    let key = wire::signing_key(&[7u8; 32]);
    let mut client = Client::new(&base, std::time::Duration::from_secs(30)).expect("client");
    let code = server.code(&rt, OFFICER);
    let device = rt.block_on(async {
        client
            .enroll(&EnrollRequest {
                code,
                device_id: "dev-schemathesis".into(),
                officer_id: OFFICER.into(),
                public_key: wire::public_hex(&key),
            })
            .await
            .expect("enroll");
        client.authenticate("dev-schemathesis", &key).await.expect("token");
        client.token().expect("a token").to_owned()
    });

    // Logging out would end the session the run stands on: the unauthenticated run covers it.
    let cases = run("unauthenticated", &base, None, &[])
        + run("as a device", &base, Some(&device), &[])
        + run("as a desk", &base, Some(&desk), &["/api/v1/accounts/logout"]);
    eprintln!("schemathesis: {cases} cases in three runs, 0 failures");
}
