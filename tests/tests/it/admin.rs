//! The administrator's API on a real server, and every console endpoint against every role: an
//! enrollment code issued over HTTP enrolls a tablet, the device list shows it, a revocation
//! refuses its next sync; accounts are listed and made (bad ones refused with their codes); each
//! change is audited. The role table: who may call what (401 without a session, 403 for the
//! wrong role), and what a role is refused never reaches the handler.

use beibao_core::code::Code;
use beibao_server::admin::new_account;
use beibao_server::routes::admin::{
    AdminAccounts, AdminCatalogs, AdminDevices, AdminOfficers, AssignmentDone, CatalogVersion, IssuedCode, Revoked,
};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0, work};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const PASSWORD: &str = "window-password-1";

#[test]
fn the_administrator_enrolls_lists_and_revokes_devices_and_makes_accounts() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 41);
    let f = fixtures();
    let storage = server.state.storage();
    rt.block_on(storage.put_registry(&f.registry, &[], t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    for (name, role, st) in
        [("root", Role::Admin, None), ("chief", Role::Supervisor, None), ("desk", Role::Desk, Some(station.as_str()))]
    {
        rt.block_on(storage.create_account(&new_account(name, role, st, PASSWORD).expect("account"), t0()))
            .expect("create");
    }
    let c = Console::new(&rt, server.url());
    let admin = c.login("root", PASSWORD).token;

    // A code issued over HTTP enrolls the officer's tablet.
    let issued: IssuedCode =
        c.ok("POST", "/admin/enrollment-codes", &admin, Some(json!({ "officer_id": OFFICER, "hours": 2 })));
    assert_eq!(issued.officer_id, OFFICER);
    assert_eq!(issued.officer_name, f.registry.officers.iter().find(|o| o.id == OFFICER).unwrap().name);
    assert_eq!(issued.expires_at, beibao_core::clock::Clock::now(&*server.clock) + chrono::Duration::hours(2));
    let mut t = Tablet::new(OFFICER, 41);
    t.enroll(&rt, &server.url(), &issued.code).expect("the issued code enrolls");
    work::visit(&mut t, &mut ChaCha8Rng::seed_from_u64(41));
    work::bad_op(&mut t, 1);
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    t.sync(&rt, fast, 0, &mut |_| {}).expect("sync");
    for bad in [json!({ "officer_id": "OF-99-99" }), json!({ "officer_id": OFFICER, "hours": 0 })] {
        let (status, code) = c.fails("POST", "/admin/enrollment-codes", Some(&admin), Some(bad.clone()));
        assert!(
            matches!((status, code), (404, Code::UnknownOfficer) | (400, Code::InvalidBody)),
            "{bad}: {status} {code}"
        );
    }

    // The device list: its officer, station, last seen, acked seq, the op the server rejected.
    let list: AdminDevices = c.ok("GET", "/admin/devices", &admin, None);
    let d = list.devices.iter().find(|d| d.device.id == t.session.device_id()).expect("the tablet");
    assert_eq!((d.device.officer_id.as_str(), d.station.as_deref()), (OFFICER, Some(station.as_str())));
    assert_eq!((d.device.last_seq, d.device.rejected), (2, 1));
    assert!(d.device.last_seen.is_some() && d.device.revoked_at.is_none());

    // Revoked: the tablet's next sync is refused.
    let path = format!("/admin/devices/{}/revoke", t.session.device_id());
    let r: Revoked = c.ok("POST", &path, &admin, None);
    assert!(r.revoked_at.is_some());
    assert_eq!(c.fails("POST", "/admin/devices/no-such-device/revoke", Some(&admin), None), (404, Code::NotFound));
    let err = t.sync(&rt, fast, 0, &mut |_| {}).expect_err("revoked");
    assert!(matches!(err, beibao_field::FieldError::Sync(beibao_sync::SyncError::Revoked)), "{err:?}");

    // Accounts: listed without their hashes, made, and bad ones refused with their codes.
    let made: beibao_server::storage::AccountRow = c.ok(
        "POST",
        "/admin/accounts",
        &admin,
        Some(json!({ "username": "desk2", "role": "desk", "station": station, "password": PASSWORD })),
    );
    assert_eq!(made.role, Role::Desk);
    let _ = c.login("desk2", PASSWORD);
    let accounts: AdminAccounts = c.ok("GET", "/admin/accounts", &admin, None);
    assert_eq!(
        accounts.accounts.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(),
        ["chief", "desk", "desk2", "root"]
    );
    let (_, raw) = c.call("GET", "/admin/accounts", Some(&admin), None);
    assert!(!raw.to_string().contains("argon2"), "no password hash leaves the server");
    for (body, want) in [
        (
            json!({ "username": "desk2", "role": "desk", "station": station, "password": PASSWORD }),
            (409, Code::AccountExists),
        ),
        (json!({ "username": "x", "role": "desk", "password": PASSWORD }), (422, Code::StationRequired)),
        (
            json!({ "username": "y", "role": "desk", "station": "PCS-0", "password": PASSWORD }),
            (422, Code::UnknownStation),
        ),
        (json!({ "username": "z", "role": "supervisor", "password": "short" }), (422, Code::WeakPassword)),
        (json!({ "username": " ", "role": "admin", "password": PASSWORD }), (422, Code::BadUsername)),
        (json!({ "username": "w", "role": "king", "password": PASSWORD }), (400, Code::InvalidBody)),
    ] {
        assert_eq!(c.fails("POST", "/admin/accounts", Some(&admin), Some(body.clone())), want, "{body}");
    }

    // Each change in the audit log, by its administrator.
    let log = rt.block_on(storage.audit_log(50)).expect("audit");
    for action in ["issue_enrollment_code", "revoke_device", "create_account"] {
        assert!(log.iter().any(|e| e.action == action && e.actor == "admin:root"), "{action}");
    }

    // Villages given to an officer while serving, and taken back: the officer's tablet pulls
    // both; mistakes are refused with their codes; each change is audited.
    let roster: AdminOfficers = c.ok("GET", "/admin/officers", &admin, None);
    assert_eq!(roster.villages.len(), f.registry.villages.len(), "every village to choose from");
    assert_eq!(roster.stations.len(), f.registry.stations.len());
    let me = roster.officers.iter().find(|o| o.id == OFFICER).expect("the officer");
    let mine: Vec<&str> = f.registry.villages_of(OFFICER);
    assert_eq!(me.villages.iter().map(|v| v.code.as_str()).collect::<Vec<_>>(), mine);
    let new = f.registry.villages.iter().find(|v| !mine.contains(&v.code.as_str())).expect("another village");
    let mut t = Tablet::new(OFFICER, 42);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("a new tablet (the first was revoked)");
    t.sync(&rt, fast, 0, &mut |_| {}).expect("first pull");
    let asked = json!({ "officer_id": OFFICER, "village": new.code });
    let done: AssignmentDone = c.ok("POST", "/admin/assignments", &admin, Some(asked.clone()));
    assert!(done.changes > 1, "the village, its households and the assignment: {}", done.changes);
    assert_eq!(c.fails("POST", "/admin/assignments", Some(&admin), Some(asked.clone())), (422, Code::AlreadyAssigned));
    for (bad, want) in [
        (json!({ "officer_id": "OF-99-99", "village": new.code }), (404, Code::UnknownOfficer)),
        (json!({ "officer_id": OFFICER, "village": "999999999999" }), (422, Code::UnknownPlace)),
    ] {
        assert_eq!(c.fails("POST", "/admin/assignments", Some(&admin), Some(bad.clone())), want, "{bad}");
    }
    t.sync(&rt, fast, 0, &mut |_| {}).expect("pull the new village");
    let places = |t: &Tablet| -> Vec<String> {
        t.session.today_screen().expect("today").places.into_iter().map(|p| p.code).collect()
    };
    assert!(places(&t).contains(&new.code), "the tablet serves the new village");
    let roster: AdminOfficers = c.ok("GET", "/admin/officers", &admin, None);
    let me = roster.officers.iter().find(|o| o.id == OFFICER).expect("the officer");
    assert!(me.villages.iter().any(|v| v.code == new.code));
    let _: AssignmentDone = c.ok("POST", "/admin/assignments/end", &admin, Some(asked.clone()));
    assert_eq!(c.fails("POST", "/admin/assignments/end", Some(&admin), Some(asked)), (422, Code::NotAssigned));
    t.sync(&rt, fast, 0, &mut |_| {}).expect("pull the end");
    assert!(!places(&t).contains(&new.code), "the ended village is off the tablet's day");
    let log = rt.block_on(storage.audit_log(80)).expect("audit");
    for action in ["assign_village", "unassign_village"] {
        assert!(log.iter().any(|e| e.action == action && e.actor == "admin:root"), "{action}");
    }

    // A catalog published from the console: this server checks ops with it at once; the same
    // version with other content, or a catalog that does not check, is refused with its code.
    let mut next: Value = serde_json::to_value(&f.catalog).expect("json");
    next["version"] = json!(format!("{}-next", f.catalog.version));
    let published: CatalogVersion = c.ok("POST", "/admin/catalogs", &admin, Some(next.clone()));
    assert_eq!(
        (published.version.as_str(), published.services),
        (next["version"].as_str().unwrap(), f.catalog.services.len())
    );
    assert_eq!(server.state.catalogs().last().map(|c| c.version.clone()), Some(published.version.clone()));
    let listed: AdminCatalogs = c.ok("GET", "/admin/catalogs", &admin, None);
    assert_eq!(listed.catalogs.last().map(|c| c.version.as_str()), Some(published.version.as_str()));
    let again: CatalogVersion = c.ok("POST", "/admin/catalogs", &admin, Some(next.clone()));
    assert_eq!(again.version, published.version, "the same catalog again is the same publication");
    let mut changed = next.clone();
    changed["published_on"] = json!("2027-01-01");
    assert_eq!(c.fails("POST", "/admin/catalogs", Some(&admin), Some(changed)), (409, Code::CatalogVersionExists));
    let mut broken = next.clone();
    broken["version"] = json!("broken");
    broken["services"] = json!([]);
    assert_eq!(c.fails("POST", "/admin/catalogs", Some(&admin), Some(broken)), (422, Code::BadCatalog));
    assert!(rt.block_on(storage.audit_log(100)).expect("audit").iter().any(|e| e.action == "publish_catalog"));

    // The role table: every console endpoint, every role.
    let supervisor = c.login("chief", PASSWORD).token;
    let desk = c.login("desk", PASSWORD).token;
    let code_body = json!({ "officer_id": OFFICER });
    let account_body = json!({ "username": "nobody", "role": "desk", "station": station, "password": PASSWORD });
    let move_body = json!({ "from": "submitted", "to": "approved" });
    let phone_body = json!({ "service": "NOPE", "household": "no-such" });
    let assign_body = json!({ "officer_id": "OF-99-99", "village": "no-such" });
    let catalog_body = json!({ "version": "x" });
    let endpoints: Vec<(&str, String, Option<&Value>, Role)> = vec![
        ("GET", "/supervisor/report?period=2026-11".into(), None, Role::Supervisor),
        ("GET", "/supervisor/trend?period=2026-11".into(), None, Role::Supervisor),
        ("GET", "/supervisor/export?period=2026-11&format=csv".into(), None, Role::Supervisor),
        ("GET", "/supervisor/coverage".into(), None, Role::Supervisor),
        ("GET", "/supervisor/mediations".into(), None, Role::Supervisor),
        ("GET", "/supervisor/detail?of=visits&period=2026-11&format=csv".into(), None, Role::Supervisor),
        ("GET", "/admin/detail?of=visits&period=2026-11&format=csv".into(), None, Role::Admin),
        ("GET", "/desk/requests".into(), None, Role::Desk),
        ("GET", "/desk/requests/no-such".into(), None, Role::Desk),
        ("POST", "/desk/requests/no-such/moves".into(), Some(&move_body), Role::Desk),
        ("GET", "/desk/phoned-in".into(), None, Role::Desk),
        ("GET", "/desk/households?q=no-such".into(), None, Role::Desk),
        ("POST", "/desk/phoned-in".into(), Some(&phone_body), Role::Desk),
        ("GET", "/admin/devices".into(), None, Role::Admin),
        ("POST", "/admin/devices/no-such/revoke".into(), None, Role::Admin),
        ("POST", "/admin/enrollment-codes".into(), Some(&code_body), Role::Admin),
        ("GET", "/admin/accounts".into(), None, Role::Admin),
        ("GET", "/admin/officers".into(), None, Role::Admin),
        ("GET", "/admin/catalogs".into(), None, Role::Admin),
        ("POST", "/admin/catalogs".into(), Some(&catalog_body), Role::Admin),
        ("POST", "/admin/assignments".into(), Some(&assign_body), Role::Admin),
        ("POST", "/admin/assignments/end".into(), Some(&assign_body), Role::Admin),
        ("POST", "/admin/accounts".into(), Some(&account_body), Role::Admin),
    ];
    for (method, path, body, allowed) in &endpoints {
        assert_eq!(
            c.fails(method, path, None, body.cloned()),
            (401, Code::Unauthenticated),
            "{method} {path} without a session"
        );
        for (role, token) in [(Role::Admin, &admin), (Role::Supervisor, &supervisor), (Role::Desk, &desk)] {
            let (status, v) = c.call(method, path, Some(token), body.cloned());
            if role == *allowed {
                assert!(status != 401 && status != 403, "{method} {path} as {role:?}: {status} {v}");
            } else {
                let code = v["code"].as_str().unwrap_or_default();
                assert_eq!((status, code), (403, "forbidden"), "{method} {path} as {role:?}");
            }
        }
    }
    // What the wrong roles were refused changed nothing.
    let accounts: AdminAccounts = c.ok("GET", "/admin/accounts", &admin, None);
    assert_eq!(accounts.accounts.iter().filter(|a| a.username == "nobody").count(), 1, "made once, by the admin");
}
