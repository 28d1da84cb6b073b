//! The station desk on a real server: log in, list the station's carried-back applications
//! (applicant masked), open one (in full, audited), move it forward; the officer's tablet pulls
//! the new state. Other stations' requests are not shown; every failure has its code.

use beibao_core::code::Code;
use beibao_core::service_request::RequestState;
use beibao_server::admin::new_account;
use beibao_server::desk::{DeskMoved, DeskRequestDetail, DeskRequests, MoveOutcome};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::work;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

#[test]
fn the_station_desk_moves_a_carried_back_application_and_the_officer_pulls_it() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 11);
    let f = fixtures();
    // The whole registry: the desk reads the applicant from the household.
    rt.block_on(server.state.storage().put_registry(&f.registry, &[], t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    let other = f.registry.stations.iter().find(|s| s.code != station).expect("another station").code.clone();
    for (name, st) in [("desk-xiji", &station), ("desk-other", &other)] {
        let a = new_account(name, Role::Desk, Some(st), "window-password-1").expect("account");
        rt.block_on(server.state.storage().create_account(&a, t0())).expect("create");
    }
    let a = new_account("chief", Role::Supervisor, None, "window-password-1").expect("account");
    rt.block_on(server.state.storage().create_account(&a, t0())).expect("create");

    // The officer carries an application back and syncs.
    let mut t = Tablet::new(OFFICER, 11);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    work::service(&mut t, &mut rng, 1); // carried back
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    t.sync(&rt, fast, 0, &mut |_| {}).expect("sync");
    let (id, applicant): (String, String) = t
        .session
        .store()
        .conn()
        .query_row("SELECT id, applicant FROM service_requests WHERE state = 'carried_back'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("carried back");

    let c = Console::new(&rt, server.url());
    // Wrong password and unknown account answer the same.
    let bad =
        |u: &str, p: &str| c.fails("POST", "/accounts/login", None, Some(json!({ "username": u, "password": p })));
    assert_eq!(bad("desk-xiji", "not-the-password"), (401, Code::BadCredentials));
    assert_eq!(bad("nobody", "window-password-1"), (401, Code::BadCredentials));
    assert_eq!(
        c.fails("POST", "/accounts/login", None, Some(json!({ "username": "x", "password": "y", "pin": 1 }))),
        (400, Code::UnknownField)
    );
    let s = c.login("desk-xiji", "window-password-1");
    assert_eq!((s.role.as_str(), s.station.as_deref()), ("desk", Some(station.as_str())));
    let tok = s.token.as_str();

    // The list: the station's carried-back application, applicant masked.
    let list: DeskRequests = c.ok("GET", "/desk/requests?state=carried_back", tok, None);
    assert_eq!(list.station, station);
    assert_eq!(list.requests.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);
    // Officers and the station by name, as the roster holds them.
    let officer = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer");
    let station_name = f.registry.stations.iter().find(|s| s.code == station).expect("station").name.clone();
    assert_eq!(list.requests[0].officer_name.as_deref(), Some(officer.name.as_str()));
    assert_eq!(list.station_name, Some(station_name));
    let shown = &list.requests[0].applicant;
    assert_ne!(shown, &applicant, "the list masks the applicant");
    let name = &f.registry.households.iter().flat_map(|h| &h.members).find(|m| m.id == applicant).expect("member").name;
    assert_eq!(shown, &beibao_core::identity::mask_name(name), "the registry's name, masked");
    assert!(shown.contains('*'));
    assert_eq!(c.fails("GET", "/desk/requests?state=lost", Some(tok), None), (400, Code::BadQuery));
    // Opened: in full.
    let one: DeskRequestDetail = c.ok("GET", &format!("/desk/requests/{id}"), tok, None);
    assert_eq!((one.request.applicant.as_str(), one.state), (applicant.as_str(), RequestState::CarriedBack));
    assert_eq!(one.officer_name.as_deref(), Some(officer.name.as_str()));

    // Moved forward by the merge rule; repeating is harmless; rejecting needs a reason.
    let step = |from: &str, to: &str| Some(json!({ "from": from, "to": to }));
    let path = format!("/desk/requests/{id}/moves");
    let moved: DeskMoved = c.ok("POST", &path, tok, step("carried_back", "submitted"));
    assert_eq!((moved.outcome, moved.state), (MoveOutcome::Applied, RequestState::Submitted));
    let again: DeskMoved = c.ok("POST", &path, tok, step("carried_back", "submitted"));
    assert_eq!((again.outcome, again.state), (MoveOutcome::AlreadyThere, RequestState::Submitted));
    let jump: DeskMoved = c.ok("POST", &path, tok, step("submitted", "delivered"));
    assert_eq!(jump.outcome, MoveOutcome::Conflict, "an impossible step is kept as a conflict");
    assert!(jump.conflict.is_some(), "with its reason: {jump:?}");
    assert_eq!(jump.state, RequestState::Submitted);
    assert_eq!(c.fails("POST", &path, Some(tok), step("submitted", "rejected")), (422, Code::ReasonRequired));
    // Its detail now: the service's name, the history as the server received it (the officer's
    // carrying back, the desk's three steps with their outcomes), and what the desk may do next.
    let one: DeskRequestDetail = c.ok("GET", &format!("/desk/requests/{id}"), tok, None);
    assert_eq!(one.service_name.as_ref().map(|n| n.zh.as_str()), Some("居民身份证首次申领"));
    let member = f.registry.households.iter().flat_map(|h| &h.members).find(|m| m.id == applicant).expect("member");
    let person = one.applicant_person.as_ref().expect("the applicant from the registry");
    assert_eq!((person.name.as_str(), person.id_number.as_str()), (member.name.as_str(), member.id_number.as_str()));
    assert!(one.address.is_some());
    assert_eq!(
        one.material_names.iter().map(|m| m.zh.as_str()).collect::<Vec<_>>(),
        ["居民户口簿", "现场采集相片和指纹"]
    );
    assert!(one.events[0].made_at.is_some() && one.events[1].made_at.is_none(), "the tablet's own time, for its steps");
    let history: Vec<(&str, Option<RequestState>, bool)> =
        one.events.iter().map(|e| (e.outcome.as_str(), e.new_state, e.by.starts_with("desk:"))).collect();
    assert_eq!(
        history,
        vec![
            ("applied", Some(RequestState::CarriedBack), false),
            ("applied", Some(RequestState::Submitted), true),
            ("already_there", None, true),
            ("conflict:impossible", None, true),
        ]
    );
    assert_eq!(one.events[3].transition.as_ref().map(|t| t.to), Some(RequestState::Delivered));
    assert_eq!(one.next, [RequestState::Approved, RequestState::Rejected, RequestState::Withdrawn]);

    // The officer's tablet pulls the new state.
    let pulled = t.sync(&rt, fast, 0, &mut |_| {}).expect("sync");
    assert!(pulled.pulled >= 1);
    let state: String = t
        .session
        .store()
        .conn()
        .query_row("SELECT state FROM service_requests WHERE id = ?1", [&id], |r| r.get(0))
        .expect("state");
    assert_eq!(state, "submitted");
    // Its screen on the tablet: accepted and carried back by the officer, submitted at the desk
    // (who and when, as the server said), and the next steps from there.
    let screen = t.session.request_screen(id.parse().expect("uuid")).expect("request screen");
    let steps: Vec<_> = screen.timeline.iter().map(|s| (s.state, s.desk, s.by.as_str())).collect();
    assert_eq!(
        steps,
        vec![
            (RequestState::AcceptedOnSite, false, OFFICER),
            (RequestState::CarriedBack, false, OFFICER),
            (RequestState::Submitted, true, "desk:desk-xiji"),
        ]
    );
    assert_eq!(
        screen.timeline[2].at,
        Some(beibao_core::clock::Clock::now(&*server.clock)),
        "the desk's time, from the server"
    );
    assert_eq!(screen.request.state, RequestState::Submitted);
    assert!(screen.next.contains(&RequestState::Approved) && screen.next.contains(&RequestState::Withdrawn));

    // Another station sees nothing of it; a supervisor and a device token are not a desk.
    let o = c.login("desk-other", "window-password-1");
    let theirs: DeskRequests = c.ok("GET", "/desk/requests", &o.token, None);
    assert!(theirs.requests.is_empty());
    assert_eq!(c.fails("GET", &format!("/desk/requests/{id}"), Some(&o.token), None), (404, Code::NotFound));
    assert_eq!(c.fails("POST", &path, Some(&o.token), step("submitted", "approved")), (404, Code::NotFound));
    let chief = c.login("chief", "window-password-1");
    assert_eq!(c.fails("GET", "/desk/requests", Some(&chief.token), None), (403, Code::Forbidden));
    assert_eq!(c.fails("GET", "/desk/requests", None, None), (401, Code::Unauthenticated));
    assert_eq!(c.fails("GET", "/desk/requests", Some("feedface"), None), (401, Code::Unauthenticated));
    // Guessing a password: ten tries, then one every six seconds.
    let tries: Vec<u16> = (0..12).map(|_| bad("chief", "guess-guess-guess").0).collect();
    assert_eq!(tries.iter().filter(|s| **s == 401).count(), 9, "{tries:?}"); // one try went to the login above
    assert_eq!(tries[11], 429);
    server.clock.advance(chrono::Duration::seconds(6));
    assert_eq!(bad("chief", "guess-guess-guess"), (401, Code::BadCredentials));

    // A session ends at logout, and by itself after a shift.
    let (status, _) = c.call("POST", "/accounts/logout", Some(&o.token), None);
    assert_eq!(status, 200);
    assert_eq!(c.fails("GET", "/desk/requests", Some(&o.token), None), (401, Code::Unauthenticated));
    server.clock.advance(chrono::Duration::hours(beibao_server::desk::SESSION_HOURS) + chrono::Duration::minutes(1));
    assert_eq!(c.fails("GET", "/desk/requests", Some(tok), None), (401, Code::SessionExpired));

    // Everything personal that was read, and every move, is in the audit log.
    let log = rt.block_on(server.state.storage().audit_log(100)).expect("audit");
    let actions: Vec<(&str, &str)> = log.iter().rev().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    for want in [
        ("login:desk-xiji", "login_failed"),
        ("login:nobody", "login_failed"),
        ("desk:desk-xiji", "login"),
        ("desk:desk-xiji", "list_requests"),
        ("desk:desk-xiji", "read_request"),
        ("desk:desk-xiji", "move_request"),
        ("desk:desk-other", "list_requests"),
    ] {
        assert!(actions.contains(&want), "{want:?} not in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| a.1 == "move_request").count(), 3, "every move, conflicts too");
}
