//! Two server instances on one PostgreSQL database, as behind a load balancer: whatever one
//! process keeps in memory is either in the database or correct per instance. The server key,
//! sessions, challenges and known-client tokens are the database's; a catalog published through
//! one instance is honoured by the other at once, before its poll (a tablet may pull it from one
//! and push work under it to the other). Rate-limit buckets and the password-check slots are per
//! instance by design (see ARCHITECTURE.md). The fault loop over two instances is in `faults.rs`.

use std::time::Duration;

use beibao_core::code::Code;
use beibao_core::service_request::{RequestState, ServiceRequest};
use beibao_server::admin::new_account;
use beibao_server::storage::Role;
use beibao_sync::client::Client;
use beibao_sync::wire::{self, EnrollRequest, OpStatus, PushRequest, WireOp};
use beibao_tests::console::Console;
use beibao_tests::link::Link;
use beibao_tests::pg::Cluster;
use beibao_tests::{OFFICER, Server, fixtures, runtime, t0, work};
use serde_json::json;

#[test]
fn two_instances_share_the_key_sessions_challenges_and_catalogs() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("instances").expect("createdb");
    let rt = runtime();
    let a = Server::postgres(&rt, &url, 1);
    let b = Server::postgres(&rt, &url, 2);
    let f = fixtures();
    rt.block_on(a.state.storage().put_registry(&f.registry, &[], t0())).expect("registry");
    // One key: a receipt signed by either verifies with the key a tablet learned at enrollment.
    assert_eq!(a.state.public_key(), b.state.public_key());

    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    for account in [
        new_account("admin-two", Role::Admin, None, "admin-password-1").expect("admin"),
        new_account("desk-two", Role::Desk, Some(&station), "window-password-1").expect("desk"),
    ] {
        rt.block_on(a.state.storage().create_account(&account, t0())).expect("create");
    }
    let (ca, cb) = (Console::new(&rt, a.url()), Console::new(&rt, b.url()));

    // A session opened at one instance is good at the other; logged out at one, refused at both.
    let desk = ca.login("desk-two", "window-password-1");
    let _: serde_json::Value = cb.ok("GET", "/desk/requests", &desk.token, None);
    let admin = cb.login("admin-two", "admin-password-1").token;
    let _: serde_json::Value = ca.ok("GET", "/admin/devices", &admin, None);
    let spare = cb.login("desk-two", "window-password-1").token;
    assert_eq!(ca.call("POST", "/accounts/logout", Some(&spare), None).0, 200);
    assert_eq!(cb.fails("GET", "/desk/requests", Some(&spare), None).0, 401);

    // The known-client token one instance gave is honoured by the other: a stranger who spent
    // the account's allowance at B does not lock out the browser that logged in at A.
    for _ in 0..12 {
        let wrong = json!({ "username": "desk-two", "password": "guess-guess-guess" });
        let _ = cb.call("POST", "/accounts/login", None, Some(wrong));
    }
    let plain = json!({ "username": "desk-two", "password": "window-password-1" });
    assert_eq!(cb.fails("POST", "/accounts/login", None, Some(plain)), (429, Code::RateLimited));
    let client = desk.client.clone();
    let known = json!({ "username": "desk-two", "password": "window-password-1", "client": client });
    assert_eq!(cb.call("POST", "/accounts/login", None, Some(known)).0, 200, "the owner's browser gets in");

    // A device enrolled and authenticated through a balancer that alternates every request:
    // its enrollment, its challenge and its answer each reach the other instance than the last.
    let link = Link::balanced(&rt, &[a.addr, b.addr]);
    let device = "dev-two-instances";
    let key = wire::signing_key(&[7; 32]);
    let mut through = Client::new(&link.url(), Duration::from_secs(10)).expect("client");
    rt.block_on(through.enroll(&EnrollRequest {
        code: a.code(&rt, OFFICER),
        device_id: device.into(),
        officer_id: OFFICER.into(),
        public_key: wire::public_hex(&key),
    }))
    .expect("enroll");
    rt.block_on(through.authenticate(device, &key)).expect("a challenge from one, answered at the other");
    assert_eq!(link.served(), vec![2, 1], "enroll → A, challenge → B, answer → A");
    let pulled = rt.block_on(through.pull(0, 500)).expect("pull at B with a token minted at A");
    assert!(!pulled.changes.is_empty());

    // Version 2 of the catalog, published from the console at A, adds HZ99. B has not polled.
    let mut next = f.catalog.clone();
    next.version = format!("{}-two", f.catalog.version);
    let mut added = next.services.iter().find(|s| s.code == "HZ01").expect("HZ01").clone();
    added.code = "HZ99".into();
    next.services.push(added.clone());
    let _: serde_json::Value =
        ca.ok("POST", "/admin/catalogs", &admin, Some(serde_json::to_value(&next).expect("json")));
    assert_eq!(a.state.catalogs().len(), 2, "the instance it was published through holds it");
    assert_eq!(b.state.catalogs().len(), 1, "the other has not polled yet");

    // The tablet pulled version 2 and handled HZ99 at a door; its push reaches B: accepted.
    let mut at_b = Client::new(&b.url(), Duration::from_secs(10)).expect("client");
    rt.block_on(at_b.authenticate(device, &key)).expect("token at B");
    let req = ServiceRequest {
        id: uuid::Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0099),
        device_id: device.into(),
        officer_id: OFFICER.into(),
        service: "HZ99".into(),
        mode: beibao_core::catalog::Mode::CarryBack,
        household: None,
        applicant: "370406199001010011".into(),
        materials: vec![],
        fee: added.quote(None, &[]).expect("fee"),
        state: RequestState::CarriedBack,
        accepted_at: t0(),
        attachments: vec![],
    };
    let payload = serde_json::to_string(&req).expect("json");
    let op =
        WireOp::new(1, "op-hz99", "service_request", &beibao_core::canonical::sha256_hex(payload.as_bytes()), &payload)
            .expect("op");
    let ack = rt
        .block_on(at_b.push(&PushRequest {
            device_id: device.into(),
            batch_id: "b-hz99".into(),
            ops: vec![op],
            sent_at: None,
        }))
        .expect("push");
    assert_eq!((ack.results[0].status, ack.results[0].code), (OpStatus::Applied, None), "{:?}", ack.results);
    assert_eq!(b.state.catalogs().len(), 2, "B looked before refusing");
    ack.receipt.verify(&a.state.public_key(), &ack.results).expect("B's receipt verifies with the one key");

    // A call for the new service taken at the other instance's desk.
    let c = Server::postgres(&rt, &url, 3);
    assert_eq!(c.state.catalogs().len(), 2, "a third instance starts with both");
    drop(c);
    let d = Server::postgres(&rt, &url, 4);
    let mut newest = next.clone();
    newest.version = format!("{}-three", f.catalog.version);
    newest.services.last_mut().expect("HZ99").code = "HZ98".into();
    let _: serde_json::Value =
        cb.ok("POST", "/admin/catalogs", &admin, Some(serde_json::to_value(&newest).expect("json")));
    let h = work::households()[0];
    let cd = Console::new(&rt, d.url());
    let call: serde_json::Value = cd.ok(
        "POST",
        "/desk/phoned-in",
        &desk.token,
        Some(json!({ "service": "HZ98", "household": h.id, "applicant": h.members[0].id })),
    );
    assert_eq!(call["officer_id"], OFFICER, "{call}");
    assert_eq!(
        cd.fails("POST", "/desk/phoned-in", Some(&desk.token), Some(json!({ "service": "HZ97", "household": h.id }))),
        (422, Code::UnknownService)
    );
}
