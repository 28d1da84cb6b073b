//! A resident phones the station: the desk takes the call for a household, the village's officer
//! pulls it and finds it on Today, accepts that service at the door, and the desk sees the call
//! answered by that request once it syncs. Bad calls get their codes; another station's village
//! is refused. On a real server, SQLite and PostgreSQL.

use beibao_core::code::Code;
use beibao_server::admin::new_account;
use beibao_server::desk::{DeskHouseholds, DeskPhonedIn, DeskPhonedInList};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0, work};
use serde_json::json;
use tokio::runtime::Runtime;

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn phoned_in(server: &Server, rt: &Runtime) {
    let f = fixtures();
    rt.block_on(server.state.storage().put_registry(&f.registry, &[], t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    let other = f
        .registry
        .officers
        .iter()
        .find(|o| o.station != station && !f.registry.villages_of(&o.id).is_empty())
        .expect("an officer of another station");
    let a = new_account("desk-phone", Role::Desk, Some(&station), "window-password-1").expect("account");
    rt.block_on(server.state.storage().create_account(&a, t0())).expect("create");

    let mut t = Tablet::new(OFFICER, 31);
    t.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    t.sync(rt, fast, 0, &mut |_| {}).expect("first sync");

    let c = Console::new(rt, server.url());
    let session = c.login("desk-phone", "window-password-1");
    let own = f.registry.stations.iter().find(|s| s.code == station).expect("station");
    assert_eq!(session.station_name.as_ref(), Some(&own.name), "the console's header names the station");
    let token = session.token;
    let h = work::households()[0];
    let call = |body: serde_json::Value| c.fails("POST", "/desk/phoned-in", Some(&token), Some(body));
    // What the desk cannot take, each with its code; nothing is offered to the officer for them.
    assert_eq!(call(json!({ "service": "NOPE", "household": h.id })), (422, Code::UnknownService));
    assert_eq!(call(json!({ "service": "HZ01", "household": "000000000000-999" })), (422, Code::UnknownPlace));
    assert_eq!(call(json!({ "service": "HZ01", "household": h.id, "applicant": "nobody" })), (422, Code::Invalid));
    assert_eq!(call(json!({ "service": "HZ01", "household": h.id, "note": "长".repeat(501) })), (422, Code::Invalid));
    let theirs = f
        .registry
        .households
        .iter()
        .find(|x| f.registry.villages_of(&other.id).contains(&x.village.as_str()))
        .expect("a household of the other station");
    assert_eq!(call(json!({ "service": "HZ01", "household": theirs.id })), (403, Code::Forbidden));
    assert_eq!(c.fails("POST", "/desk/phoned-in", None, Some(json!({}))).0, 401);

    // The desk finds the household by a fragment of its address (names masked; the search is
    // audited); not another station's, not with under 2 characters.
    let fragment: String = h.address.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
    let found: DeskHouseholds = c.ok("GET", &format!("/desk/households?q={}", urlencode(&fragment)), &token, None);
    let hit = found.households.iter().find(|x| x.id == h.id).expect("the household is found");
    assert_eq!(hit.address, h.address);
    assert!(hit.members.iter().all(|m| m.name.contains('*')), "names masked: {:?}", hit.members);
    let theirs_found: DeskHouseholds =
        c.ok("GET", &format!("/desk/households?q={}", urlencode(&theirs.address)), &token, None);
    assert!(theirs_found.households.is_empty(), "another station's households are not searched");
    assert_eq!(c.fails("GET", "/desk/households?q=1", Some(&token), None), (422, Code::QueryTooShort));
    assert_eq!(c.fails("GET", "/desk/households", Some(&token), None), (400, Code::BadQuery));

    // The call, for the household's head.
    let taken: DeskPhonedIn = c.ok(
        "POST",
        "/desk/phoned-in",
        &token,
        Some(json!({ "service": "HZ01", "household": h.id, "applicant": h.members[0].id, "note": "下午三点后在家" })),
    );
    assert_eq!((taken.officer_id.as_str(), taken.village.as_str()), (OFFICER, h.village.as_str()));
    let officer = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer");
    assert_eq!(taken.officer_name.as_deref(), Some(officer.name.as_str()), "the officer by name");
    assert_eq!(taken.address, h.address);
    assert_eq!(taken.request, None);
    assert!(taken.service_name.is_some());

    // The officer pulls it: on Today, naming the service and the applicant, opening the household.
    t.sync(rt, fast, 0, &mut |_| {}).expect("sync");
    let items = t.session.day().expect("day");
    let item = items.iter().find(|i| i.kind == "phoned_in").expect("the call is on Today");
    assert_eq!(item.id, taken.id);
    assert_eq!(item.household.as_deref(), Some(h.id.as_str()));
    assert!(item.title.contains(&h.members[0].name), "{}", item.title);

    // Accepting that service for that household answers the call.
    t.session.accept_service(work::id_card_for(h)).expect("accepted at the door");
    assert!(t.session.day().expect("day").iter().all(|i| i.kind != "phoned_in"), "answered, off Today");
    t.sync(rt, fast, 0, &mut |_| {}).expect("sync");
    let list: DeskPhonedInList = c.ok("GET", "/desk/phoned-in", &token, None);
    assert_eq!(list.station, station);
    assert!(list.services.iter().any(|s| s.code == "HZ01"), "the form offers the catalog's services");
    assert_eq!(list.calls.len(), 1);
    let answered = list.calls[0].request.clone().expect("the desk sees the request that answered the call");
    let (request, _) = rt.block_on(server.state.storage().request(&answered)).expect("read").expect("held");
    assert_eq!((request.service.as_str(), request.officer_id.as_str()), ("HZ01", OFFICER));
}

#[test]
fn a_phoned_in_request_reaches_the_officer_and_is_answered_on_sqlite() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 31);
    phoned_in(&server, &rt);
}

#[test]
fn a_phoned_in_request_reaches_the_officer_and_is_answered_on_postgres() {
    let cluster = beibao_tests::pg::Cluster::start(false).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("phoned").expect("createdb");
    let rt = runtime();
    let server = Server::postgres(&rt, &url, 31);
    phoned_in(&server, &rt);
}
