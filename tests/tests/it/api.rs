//! A real tablet store and a real server on loopback: enrollment, push, pull, blobs, receipts,
//! revocation, and every error code of the API in its one shape.

use beibao_core::code::Code;
use std::time::Duration;

use beibao_core::clock::Clock;
use beibao_core::service_request::{RequestState, Transition};
use beibao_server::app::Limits;
use beibao_sync::wire::{self, ErrorBody};
use beibao_sync::{Client, Settings, SyncError, Tablet as _};
use beibao_tests::link::{Fault, Link};
use beibao_tests::work::{self, PNG};
use beibao_tests::{OFFICER, Server, Tablet, runtime, server_db};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

fn fast() -> Settings {
    Settings {
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        request_timeout: Duration::from_secs(5),
        ..Settings::default()
    }
}

#[test]
fn a_tablet_enrolls_syncs_and_pulls_the_desks_changes() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
    let mut t = Tablet::new(OFFICER, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    // Work done before enrollment waits in the outbox.
    work::visit(&mut t, &mut rng);
    assert_eq!(t.sync(&rt, fast(), 0, &mut |_| {}).expect_err("not enrolled").code(), Code::NotEnrolled);
    let code = server.code(&rt, OFFICER);
    let enrolled = t.enroll(&rt, &server.url(), &code).expect("enroll");
    assert_eq!(enrolled.server_key, server.state.public_key());
    assert_eq!((enrolled.serial_next, enrolled.serial_end), (1, 1000));
    let err = Tablet::new(OFFICER, 2).enroll(&rt, &server.url(), &code).expect_err("a code is used once");
    assert_eq!(err.code(), Code::EnrollmentCodeUsed);

    work::service(&mut t, &mut rng, 6); // delivered with a signature image: a blob
    work::service(&mut t, &mut rng, 1); // carried back, waiting at the station
    work::hazard(&mut t, &mut rng, true);
    let case = work::mediation(&mut t);
    assert_eq!(case.agreement.serial.as_deref(), Some(format!("{}000001", enrolled.serial_prefix).as_str()));
    let hash = case.content_hash.clone().expect("hash");
    let key = t.session.syncer().expect("syncer").identity().expect("identity").key.expect("device key");
    wire::verify(
        &wire::public_hex(&key),
        &wire::agreement_message(&hash),
        case.device_signature.as_deref().expect("signed"),
    )
    .expect("the agreement is signed with the device key");

    let mut events = Vec::new();
    let summary = t.sync(&rt, fast(), 0, &mut |p| events.push(p)).expect("sync");
    let ops = t.session.sync_status().expect("status");
    assert_eq!(ops.pending_ops, 0);
    assert_eq!(ops.pending_blobs, 0, "the signature images went up on their own queue");
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.applied, ops.last_acked_seq as u64, "{summary:?}");
    assert!(summary.blobs >= 1);
    assert!(events.first().is_some_and(|p| p.left.ops == summary.applied), "progress starts with what is left");
    assert!(events.last().is_some_and(|p| p.left.ops == 0 && p.phase == beibao_sync::Phase::Done));
    let v = work::check(&rt, &t, &server, 0);
    assert!(v.clean(), "{v:?}");
    let blob = rt.block_on(server.state.storage().blob_bytes(&beibao_core::canonical::sha256_hex(PNG))).expect("blob");
    assert_eq!(blob.as_deref(), Some(PNG));
    // The printed agreement went up too: the station holds the PDF the parties took home.
    let document = case.document.clone().expect("printed at finalize");
    let pdf = rt.block_on(server.state.storage().blob_bytes(&document)).expect("blob").expect("the agreement's PDF");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(beibao_core::canonical::sha256_hex(&pdf), document);
    let receipts: i64 =
        t.session.store().conn().query_row("SELECT count(*) FROM receipts", [], |r| r.get(0)).expect("receipts");
    assert!(receipts >= 1, "every acknowledged batch keeps its signed receipt");

    // The station desk submits the carried-back request; the tablet pulls the new state.
    let carried: String = t
        .session
        .store()
        .conn()
        .query_row("SELECT id FROM service_requests WHERE state = 'carried_back'", [], |r| r.get(0))
        .expect("carried back request");
    let step = Transition {
        from: RequestState::CarriedBack,
        to: RequestState::Submitted,
        reason: None,
        recipient_signature: None,
    };
    let outcome = rt.block_on(server.state.storage().desk_transition(
        &carried,
        &step,
        "desk:desk01",
        "ev-desk-1",
        server.clock.now(),
    ));
    assert!(matches!(outcome.expect("desk"), beibao_core::service_request::MergeOutcome::Apply { .. }));
    let again = t.sync(&rt, fast(), 0, &mut |_| {}).expect("sync again");
    assert_eq!((again.applied, again.pulled), (0, 1), "nothing new to push; the desk's change pulled");
    assert_eq!(summary.pulled, 1, "the first sync pulled the catalog the server published at start");
    let state: String = t
        .session
        .store()
        .conn()
        .query_row("SELECT state FROM service_requests WHERE id = ?1", [&carried], |r| r.get(0))
        .expect("state");
    assert_eq!(state, "submitted");
}

#[test]
fn an_enrolled_tablet_without_a_chinese_font_refuses_to_finalize_and_takes_no_serial() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
    let mut t = Tablet::new(OFFICER, 3);
    let enrolled = t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let id = work::signed_mediation_draft(&mut t.session, &t.clock, &[work::png(1), work::png(2), work::png(3)]);

    // The app's font file is damaged: finalizing is refused with a code the UI translates.
    let bad = dir.path().join("NotoSansCJK-Regular.ttc");
    std::fs::write(&bad, b"not a font").expect("write");
    t.session.set_font_paths(vec![bad]);
    let err = t.session.finalize_mediation(id, beibao_core::mediation::Outcome::WrittenAgreement).expect_err("no font");
    assert_eq!(err.code(), Code::PrintFailed, "{err}");
    assert_eq!(t.session.sync_status().expect("status").pending_ops, 0, "nothing queued");

    // With the font back the same draft finalizes, printed, with the block's first number.
    t.session.set_font_paths(vec![]);
    let case = t.session.finalize_mediation(id, beibao_core::mediation::Outcome::WrittenAgreement).expect("finalize");
    assert_eq!(case.agreement.serial, Some(format!("{}000001", enrolled.serial_prefix)), "no number lost");
    let pdf = t.session.agreement_document(id).expect("printed");
    assert_eq!(case.document, Some(beibao_core::canonical::sha256_hex(&pdf)));
}

/// A follow-up, a 司法确认 and a recurrence pushed in a later sync than their mediation: the
/// server finds the mediation it holds (pushed by this device) on either backend and applies them.
fn records_about_a_mediation_pushed_later_are_applied(server: &Server, rt: &Runtime) {
    let mut t = Tablet::new(OFFICER, 4);
    t.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
    let id = work::signed_mediation_draft(&mut t.session, &t.clock, &[work::png(4), work::png(5), work::png(6)]);
    t.session.finalize_mediation(id, beibao_core::mediation::Outcome::WrittenAgreement).expect("finalize");
    assert_eq!(t.sync(rt, fast(), 0, &mut |_| {}).expect("sync").rejected, 0);
    let today = t.session.today();
    t.session.record_performance(id, true, "已履行".into()).expect("follow-up");
    let judicial = beibao_field::JudicialInput {
        mediation: id,
        applied_on: today,
        court: "山亭区人民法院".into(),
        ruling: None,
        ruled_on: None,
        note: String::new(),
    };
    t.session.record_judicial_confirmation(judicial).expect("司法确认");
    let recurrence = beibao_field::RecurrenceInput {
        mediation: id,
        kind: beibao_core::mediation::after::RecurrenceKind::Rebound,
        occurred_on: today,
        note: "又起争执".into(),
    };
    t.session.record_recurrence(recurrence).expect("recurrence");
    let later = t.sync(rt, fast(), 0, &mut |_| {}).expect("sync");
    assert_eq!((later.applied, later.rejected), (3, 0), "{later:?}");
}

#[test]
fn records_about_a_mediation_pushed_later_are_applied_on_sqlite() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
    records_about_a_mediation_pushed_later_are_applied(&server, &rt);
}

#[test]
fn records_about_a_mediation_pushed_later_are_applied_on_postgres() {
    let cluster = beibao_tests::pg::Cluster::start(false).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("later").expect("createdb");
    let rt = runtime();
    let storage = rt.block_on(beibao_server::admin::open_storage(&url, None)).expect("connect");
    let server = Server::start(&rt, storage, Limits::default(), 1);
    records_about_a_mediation_pushed_later_are_applied(&server, &rt);
}

#[test]
fn a_captive_portal_page_is_never_taken_as_an_ack() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 3);
    let link = Link::start(&rt, server.addr);
    let mut t = Tablet::new(OFFICER, 3);
    t.enroll(&rt, &link.url(), &server.code(&rt, OFFICER)).expect("enroll");
    work::visit(&mut t, &mut ChaCha8Rng::seed_from_u64(3));
    link.faults([Fault::Portal; 4]);
    let err = t.sync(&rt, fast(), 0, &mut |_| {}).expect_err("portal");
    assert_eq!(err.code(), Code::NotOurServer);
    assert_eq!(t.session.sync_status().expect("status").pending_ops, 1, "still pending");
    let done = t.sync(&rt, fast(), 10, &mut |_| {}).expect("after the portal");
    assert_eq!(done.applied, 1);
    assert!(done.retries >= 1);
}

#[test]
fn a_revoked_device_is_told_so_and_wipes_its_keys() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 4);
    let mut t = Tablet::new(OFFICER, 4);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    assert!(rt.block_on(server.state.storage().revoke(t.session.device_id(), server.clock.now())).expect("revoke"));
    work::visit(&mut t, &mut ChaCha8Rng::seed_from_u64(4));
    let err = t.sync(&rt, fast(), 5, &mut |_| {}).expect_err("revoked");
    assert!(matches!(err, beibao_field::FieldError::Sync(SyncError::Revoked)), "{err:?}");
    let id = t.session.syncer().expect("syncer").identity().expect("identity");
    assert!(id.key.is_none() && id.server_key.is_none(), "key material wiped");
    let status = t.session.sync_status().expect("status");
    assert!(status.revoked);
    assert_eq!(status.pending_ops, 1, "the records stay, encrypted, for the station to recover");
}

struct Raw<'a> {
    rt: &'a Runtime,
    http: reqwest::Client,
    base: String,
}

impl Raw<'_> {
    fn send(&self, req: reqwest::RequestBuilder) -> (u16, ErrorBody) {
        self.rt.block_on(async {
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
            let body = resp.bytes().await.expect("body");
            assert_eq!(ct.as_deref(), Some("application/json"), "every answer is JSON");
            let e: ErrorBody = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{status}: not the error shape ({e}): {}", String::from_utf8_lossy(&body)));
            (status, e)
        })
    }

    fn post(&self, path: &str, token: Option<&str>, ct: &str, body: Vec<u8>) -> (u16, ErrorBody) {
        let mut req = self.http.post(format!("{}/api/v1{path}", self.base)).header("content-type", ct).body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.send(req)
    }
}

#[test]
fn every_failure_answers_with_its_code_in_the_one_error_shape() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let storage = std::sync::Arc::new(beibao_server::Sqlite::open(&server_db(dir.path())).expect("open"));
    let limits = Limits { rate_per_s: 1.0, burst: 40.0, max_body: 64 * 1024, ..Limits::default() };
    let server = Server::start(&rt, storage, limits, 5);
    let mut t = Tablet::new(OFFICER, 5);
    let raw = Raw { rt: &rt, http: reqwest::Client::new(), base: server.url() };
    let json = "application/json";
    let expect = |got: (u16, ErrorBody), status: u16, code: &str| {
        assert_eq!((got.0, got.1.code.as_str()), (status, code), "{}", got.1.message);
        assert!(!got.1.message.is_empty());
        got.1
    };

    // Routing.
    expect(raw.send(raw.http.get(format!("{}/api/v2/sync/push", raw.base))), 404, "not_found");
    expect(raw.send(raw.http.delete(format!("{}/api/v1/sync/push", raw.base))), 405, "method_not_allowed");
    // Enrollment.
    let enroll = |code: &str, pk: &str| {
        serde_json::to_vec(&wire::EnrollRequest {
            code: code.into(),
            device_id: t.session.device_id().into(),
            officer_id: OFFICER.into(),
            public_key: pk.into(),
        })
        .expect("json")
    };
    let pk = wire::public_hex(&t.session.syncer().expect("syncer").identity().expect("id").key.expect("key"));
    expect(raw.post("/devices/enroll", None, "text/plain", enroll("X", &pk)), 415, "unsupported_media_type");
    expect(raw.post("/devices/enroll", None, json, b"{\"code\": ".to_vec()), 400, "malformed_json");
    expect(raw.post("/devices/enroll", None, json, b"{\"code\": \"A\", \"x\": 2}".to_vec()), 400, "unknown_field");
    expect(raw.post("/devices/enroll", None, json, b"{\"code\": 1}".to_vec()), 400, "invalid_body");
    expect(raw.post("/devices/enroll", None, json, vec![b' '; 70 * 1024]), 413, "payload_too_large");
    expect(raw.post("/devices/enroll", None, json, enroll("NOPE-NOPE-NOPE", &pk)), 422, "enrollment_code_invalid");
    expect(raw.post("/devices/enroll", None, json, enroll("NOPE-NOPE-NOPE", "zz")), 400, "bad_public_key");
    let req = raw
        .http
        .post(format!("{}/api/v1/devices/enroll", raw.base))
        .header("content-type", json)
        .header("content-encoding", "gzip")
        .body(enroll("X", &pk));
    expect(raw.send(req), 415, "unsupported_encoding");
    let req = raw
        .http
        .post(format!("{}/api/v1/devices/enroll", raw.base))
        .header("content-type", json)
        .header("content-encoding", "zstd")
        .body(b"not zstd".to_vec());
    expect(raw.send(req), 400, "bad_encoding");
    // A small zstd body that would inflate past the JSON limit (a compression bomb).
    let bomb = wire::encode(&"x".repeat(wire::MAX_JSON_BYTES + 1024));
    assert!(bomb.len() < 64 * 1024, "small on the wire: {} bytes", bomb.len());
    let req = raw
        .http
        .post(format!("{}/api/v1/devices/enroll", raw.base))
        .header("content-type", json)
        .header("content-encoding", "zstd")
        .body(bomb);
    expect(raw.send(req), 413, "payload_too_large");
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");

    // Authentication.
    let device = t.session.device_id().to_owned();
    expect(raw.send(raw.http.get(format!("{}/api/v1/sync/last-seq", raw.base))), 401, "unauthenticated");
    let bogus = raw.http.get(format!("{}/api/v1/sync/last-seq", raw.base)).header("authorization", "Bearer abc");
    expect(raw.send(bogus), 401, "unauthenticated");
    let body = serde_json::to_vec(&wire::TokenRequest {
        device_id: device.clone(),
        challenge: "00".into(),
        signature: "00".into(),
    });
    expect(raw.post("/auth/token", None, json, body.expect("json")), 401, "bad_challenge");
    let ch: wire::ChallengeResponse = rt.block_on(async {
        let r = raw
            .http
            .post(format!("{}/api/v1/auth/challenge", raw.base))
            .header("content-type", json)
            .body(serde_json::to_vec(&wire::ChallengeRequest { device_id: device.clone() }).expect("json"))
            .send()
            .await
            .expect("challenge");
        serde_json::from_slice(&r.bytes().await.expect("body")).expect("challenge json")
    });
    let other = wire::signing_key(&[9; 32]);
    let forged = wire::sign_hex(&other, &wire::auth_message(&device, &ch.challenge));
    let body = serde_json::to_vec(&wire::TokenRequest {
        device_id: device.clone(),
        challenge: ch.challenge,
        signature: forged,
    });
    expect(raw.post("/auth/token", None, json, body.expect("json")), 401, "bad_signature");

    let mut client = Client::new(&server.url(), Duration::from_secs(5)).expect("client");
    let key = t.session.syncer().expect("syncer").identity().expect("id").key.expect("key");
    rt.block_on(client.authenticate(&device, &key)).expect("token");
    let token = client.token().expect("token").to_owned();

    // Push shapes.
    let push = |batch: &wire::PushRequest| serde_json::to_vec(batch).expect("json");
    let op = wire::WireOp::new(5, "op-x", "publicity", "00", "{}").expect("op");
    let batch =
        wire::PushRequest { device_id: "dev-other".into(), batch_id: "b".into(), ops: vec![op.clone()], sent_at: None };
    expect(raw.post("/sync/push", Some(&token), json, push(&batch)), 403, "wrong_device");
    let batch = wire::PushRequest { device_id: device.clone(), batch_id: "b".into(), ops: vec![], sent_at: None };
    expect(raw.post("/sync/push", Some(&token), json, push(&batch)), 400, "invalid_batch");
    let mut op7 = op.clone();
    op7.seq = 7;
    let batch = wire::PushRequest {
        device_id: device.clone(),
        batch_id: "b".into(),
        ops: vec![op.clone(), op7],
        sent_at: None,
    };
    expect(raw.post("/sync/push", Some(&token), json, push(&batch)), 422, "invalid_batch");
    let batch = wire::PushRequest { device_id: device.clone(), batch_id: "b".into(), ops: vec![op], sent_at: None };
    let gap = expect(raw.post("/sync/push", Some(&token), json, push(&batch)), 409, "seq_gap");
    assert_eq!(gap.expect_seq, Some(1));
    // Pull and blobs.
    let get = |path: &str| {
        raw.http.get(format!("{}/api/v1{path}", raw.base)).header("authorization", format!("Bearer {token}"))
    };
    expect(raw.send(get("/sync/pull")), 400, "bad_query");
    expect(raw.send(get("/sync/pull?cursor=-1")), 400, "bad_query");
    expect(raw.send(get("/blobs/xyz")), 400, "bad_sha256");
    let sha = beibao_core::canonical::sha256_hex(b"abcdef");
    let put = |offset: u64, size: u64, body: &'static [u8]| {
        raw.http
            .put(format!("{}/api/v1/blobs/{sha}?offset={offset}&size={size}", raw.base))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/octet-stream")
            .body(body)
    };
    assert_eq!(rt.block_on(put(0, 6, b"abc").send()).expect("chunk").status(), 200);
    let held = expect(raw.send(put(0, 6, b"abc")), 409, "blob_offset");
    assert_eq!(held.offset, Some(3), "the server says where to resume");
    expect(raw.send(put(3, 6, b"xyz")), 422, "blob_hash_mismatch");
    expect(raw.send(put(0, wire::MAX_BLOB_BYTES + 1, b"a")), 413, "payload_too_large");

    // Rate limit: the bucket (40, refilled 1/s on a clock that stands still) runs dry.
    let mut limited = None;
    for _ in 0..50 {
        let status = rt.block_on(get("/sync/last-seq").send()).expect("send").status().as_u16();
        if status == 429 {
            limited = Some(raw.send(get("/sync/last-seq")).1);
            break;
        }
        assert_eq!(status, 200);
    }
    assert_eq!(limited.expect("rate limited").code, Code::RateLimited);
    server.clock.advance(chrono::Duration::seconds(30));

    // Tokens expire; revoked devices are told so.
    server.clock.advance(chrono::Duration::minutes(16));
    expect(raw.send(get("/sync/last-seq")), 401, "token_expired");
    assert!(rt.block_on(server.state.storage().revoke(&device, server.clock.now())).expect("revoke"));
    expect(raw.send(get("/sync/last-seq")), 401, "unauthenticated");
    let body = serde_json::to_vec(&wire::ChallengeRequest { device_id: device.clone() }).expect("json");
    expect(raw.post("/auth/challenge", None, json, body), 401, "revoked");
}

#[test]
fn the_openapi_document_is_served_and_describes_every_route() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 6);
    let http = reqwest::Client::new();
    let doc: serde_json::Value = rt.block_on(async {
        let r = http.get(format!("{}/api/v1/openapi.json", server.url())).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_slice(&r.bytes().await.expect("body")).expect("json")
    });
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_some() {
                operations.push((method, path.clone()));
            }
        }
    }
    let mut listed: Vec<String> = operations.iter().map(|(m, p)| format!("{m} {p}")).collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "get /api/v1/admin/accounts",
            "get /api/v1/admin/catalogs",
            "get /api/v1/admin/detail",
            "get /api/v1/admin/devices",
            "get /api/v1/admin/officers",
            "get /api/v1/blobs/{sha256}",
            "get /api/v1/desk/households",
            "get /api/v1/desk/phoned-in",
            "get /api/v1/desk/requests",
            "get /api/v1/desk/requests/{id}",
            "get /api/v1/health",
            "get /api/v1/supervisor/coverage",
            "get /api/v1/supervisor/detail",
            "get /api/v1/supervisor/export",
            "get /api/v1/supervisor/mediations",
            "get /api/v1/supervisor/report",
            "get /api/v1/supervisor/trend",
            "get /api/v1/sync/last-seq",
            "get /api/v1/sync/pull",
            "post /api/v1/accounts/login",
            "post /api/v1/accounts/logout",
            "post /api/v1/admin/accounts",
            "post /api/v1/admin/assignments",
            "post /api/v1/admin/assignments/end",
            "post /api/v1/admin/catalogs",
            "post /api/v1/admin/devices/{id}/revoke",
            "post /api/v1/admin/enrollment-codes",
            "post /api/v1/auth/challenge",
            "post /api/v1/auth/token",
            "post /api/v1/desk/phoned-in",
            "post /api/v1/desk/requests/{id}/moves",
            "post /api/v1/devices/enroll",
            "post /api/v1/devices/enroll/check",
            "post /api/v1/sync/push",
            "post /api/v1/sync/v2/push",
            "put /api/v1/blobs/{sha256}",
            "put /api/v1/sync/v2/push/{sha256}",
        ]
    );
    // Every documented operation is routed: none answers `not_found` or `method_not_allowed`.
    for (method, path) in operations {
        let url = format!("{}{}", server.url(), path.replace("{sha256}", &"a".repeat(64)));
        let req = match method {
            "get" => http.get(url),
            "post" => http.post(url),
            _ => http.put(url),
        };
        let (status, body) = rt.block_on(async {
            let r = req.send().await.expect("send");
            (r.status().as_u16(), r.bytes().await.expect("body"))
        });
        let code = serde_json::from_slice::<ErrorBody>(&body).map(|e| e.code).unwrap_or(Code::Unknown);
        assert!(
            status != 405 && !(status == 404 && code == Code::NotFound),
            "{method} {path} is documented but not routed ({status} {code})"
        );
    }
    // Every error response documented uses the one error shape.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(
        schemas.contains_key("ErrorBody") && schemas.contains_key("PushRequest") && schemas.contains_key("Receipt")
    );
}

#[test]
fn the_background_syncer_runs_beside_the_screens_reports_progress_and_stops_when_the_tablet_locks() {
    use beibao_field::SyncEvent;
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 7);
    let mut t = Tablet::new(OFFICER, 7);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..3 {
        work::visit(&mut t, &mut rng);
    }
    let (tx, events) = std::sync::mpsc::channel();
    let next = || events.recv_timeout(Duration::from_secs(30)).expect("an event within the watchdog");
    // An interval far beyond the test: only the trigger starts a sync.
    let syncer = t.session.syncer().expect("syncer");
    let bg = beibao_field::Background::start(rt.handle(), syncer, fast(), Duration::from_secs(3600), 3, move |e| {
        let _ = tx.send(e);
    });
    bg.trigger();
    let mut progress = 0;
    let done = loop {
        match next() {
            SyncEvent::Progress { .. } => progress += 1,
            SyncEvent::Done { summary } => break summary,
            other => panic!("before the sync ends: {other:?}"),
        }
    };
    assert_eq!(done.applied, 3);
    assert!(progress >= 2, "progress events before the end");
    // The session kept its own connection: the screens read and write while the syncer lives.
    assert_eq!(t.session.sync_status().expect("status").pending_ops, 0, "the syncer's writes are seen");
    assert!(t.session.sync_status().expect("status").last_success.is_some(), "the success is recorded");
    work::visit(&mut t, &mut rng);
    assert_eq!(t.session.sync_status().expect("status").pending_ops, 1, "a visit recorded beside the syncer");
    bg.trigger();
    let again = loop {
        match next() {
            SyncEvent::Progress { .. } => {}
            SyncEvent::Done { summary } => break summary,
            other => panic!("second sync: {other:?}"),
        }
    };
    assert_eq!(again.applied, 1, "the second trigger synced the new visit");
    // Asked and awaited (the app's "sync now"): the pass's summary comes back, and its events too.
    work::visit(&mut t, &mut rng);
    let asked = rt.block_on(bg.sync_now()).expect("a pass");
    assert_eq!(asked.applied, 1, "the awaited pass synced the new visit");
    loop {
        match next() {
            SyncEvent::Progress { .. } => {}
            SyncEvent::Done { summary } => break assert_eq!(summary, asked, "the event tells the same pass"),
            other => panic!("awaited sync: {other:?}"),
        }
    }
    // Locking the tablet stops the syncer, without being asked to.
    let Tablet { dir: tablet_dir, session, .. } = t;
    session.lock().expect("lock");
    assert_eq!(next(), SyncEvent::Stopped, "a locked tablet stops syncing");
    let after = rt.block_on(bg.sync_now()).expect_err("no pass once stopped");
    assert_eq!(after.code, beibao_core::code::Code::Locked);
    rt.block_on(bg.stop());
    drop(tablet_dir);
}

#[test]
fn a_catalog_published_while_serving_is_taken_in_and_work_under_the_older_one_still_counts() {
    use beibao_core::service_request::ServiceRequest;
    use beibao_sync::wire::{EnrollRequest, OpStatus, PushRequest, WireOp};

    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 9);
    let v1 = beibao_tests::fixtures().catalog.clone();
    // Version 2 retires HZ01 and adds a service in the same category.
    let mut v2 = v1.clone();
    v2.version = format!("{}-b", v1.version);
    let retired = v2.services.iter().position(|s| s.code == "HZ01").expect("HZ01 in the fixtures");
    let mut added = v2.services.remove(retired);
    added.code = "HZ99".into();
    v2.services.push(added.clone());
    v2.validate().expect("version 2 is a valid catalog");
    rt.block_on(server.state.storage().publish_catalog(&v2, beibao_tests::t0())).expect("publish v2");

    let device = "dev-catalog-1";
    let key = wire::signing_key(&[3; 32]);
    let mut client = Client::new(&server.url(), Duration::from_secs(10)).expect("client");
    rt.block_on(client.enroll(&EnrollRequest {
        code: server.code(&rt, OFFICER),
        device_id: device.into(),
        officer_id: OFFICER.into(),
        public_key: wire::public_hex(&key),
    }))
    .expect("enroll");
    rt.block_on(client.authenticate(device, &key)).expect("token");
    let mut seq = 0;
    let mut push = |service: &str, fee_from: &beibao_core::catalog::Service| {
        seq += 1;
        let req = ServiceRequest {
            id: uuid::Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | seq as u128),
            device_id: device.into(),
            officer_id: OFFICER.into(),
            service: service.into(),
            mode: beibao_core::catalog::Mode::CarryBack,
            household: None,
            applicant: "370406199001010011".into(),
            materials: vec![],
            fee: fee_from.quote(None, &[]).expect("fee"),
            state: RequestState::CarriedBack,
            accepted_at: beibao_tests::t0(),
            attachments: vec![],
        };
        let p = serde_json::to_string(&req).expect("json");
        let op = WireOp::new(
            seq,
            &format!("op-{seq}"),
            "service_request",
            &beibao_core::canonical::sha256_hex(p.as_bytes()),
            &p,
        )
        .expect("op");
        let ack = rt
            .block_on(client.push(&PushRequest {
                device_id: device.into(),
                batch_id: format!("b{seq}"),
                ops: vec![op],
                sent_at: None,
            }))
            .expect("push");
        (ack.results[0].status, ack.results[0].code)
    };
    let hz01 = v1.services.iter().find(|s| s.code == "HZ01").expect("HZ01").clone();

    // Version 2 was published by another process (another instance, `publish-catalog`): this
    // one has not polled yet, but it looks before refusing a service it does not know — a
    // tablet that pulled version 2 elsewhere is not refused for it.
    assert_eq!(server.state.catalogs().len(), 1, "not polled yet");
    assert_eq!(push("HZ99", &added), (OpStatus::Applied, None), "the new service is known at once");
    let versions: Vec<String> = server.state.catalogs().iter().map(|c| c.version.clone()).collect();
    assert_eq!(versions, vec![v1.version.clone(), v2.version.clone()]);
    // A tablet still on version 1 handled HZ01 at a door: that work is not refused.
    assert_eq!(push("HZ01", &hz01), (OpStatus::Applied, None), "made under the catalog the tablet held");
    assert_eq!(push("HZ00", &hz01), (OpStatus::Rejected, Some(Code::UnknownService)), "in no version");
}

#[test]
fn a_calendar_and_assignments_changed_by_the_administrator_reach_the_officers_tablet() {
    use beibao_core::calendar::{CalendarYear, Coverage, Holiday, PublishedCalendar};
    use beibao_core::change::{AssignmentChange, AssignmentKind};

    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
    let storage = server.state.storage();
    let mut t = Tablet::new(OFFICER, 1);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let count = |t: &Tablet, sql: &str, key: &str| -> i64 {
        t.session.store().conn().query_row(sql, [key], |r| r.get(0)).expect("count")
    };

    // A new holiday: a working day on the tablet until the calendar naming it is pulled.
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 3).expect("a Wednesday");
    assert!(t.session.calendar().is_working_day(day));
    let mut years: Vec<CalendarYear> =
        serde_json::from_str(beibao_core::bundled::CALENDAR_JSON).expect("the bundled calendar");
    match years.iter_mut().find(|y| y.year == 2027) {
        Some(y) => y
            .holidays
            .push(Holiday { name: beibao_core::text::LocalText::new("测试假日", "Test day"), days: vec![day] }),
        None => years.push(CalendarYear {
            year: 2027,
            coverage: Coverage::StatutoryOnly,
            source: "test".into(),
            holidays: vec![Holiday {
                name: beibao_core::text::LocalText::new("测试假日", "Test day"),
                days: vec![day],
            }],
            workdays: vec![],
        }),
    }
    let calendar = PublishedCalendar::new(years).expect("a valid calendar");
    rt.block_on(storage.publish_calendar(&calendar, server.clock.now())).expect("publish").expect("a new version");
    // The server counts deadlines by it too: taken in at its next look (the serve loop's poll),
    // and a server started afterwards starts with it.
    assert!(server.state.calendar().is_working_day(day), "not looked yet");
    let counted = rt.block_on(server.state.refresh_calendar()).expect("refresh");
    assert_eq!(counted.as_deref(), Some(calendar.version.as_str()));
    assert!(!server.state.calendar().is_working_day(day), "the server's deadlines skip the new holiday");
    let another = Server::start(&rt, storage.clone(), beibao_server::app::Limits::default(), 2);
    assert!(!another.state.calendar().is_working_day(day), "a server started later counts by it");
    drop(another);

    // A village assigned by the administrator: it, its households and the assignment are pulled.
    let reg = &beibao_tests::fixtures().registry;
    rt.block_on(storage.put_registry(reg, &[], server.clock.now())).expect("the whole registry");
    let mine = reg.villages_of(OFFICER);
    let village = reg.villages.iter().find(|v| !mine.contains(&v.code.as_str())).expect("another village");
    let households = reg.households.iter().filter(|h| h.village == village.code).count() as i64;
    let since = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let a = AssignmentChange {
        officer: OFFICER.into(),
        kind: AssignmentKind::Village,
        target: village.code.clone(),
        since,
        until: None,
    };
    rt.block_on(storage.assign(&a, server.clock.now())).expect("assign");
    t.sync(&rt, fast(), 0, &mut |_| {}).expect("sync");
    assert!(!t.session.calendar().is_working_day(day), "the pulled calendar counts at once");
    assert_eq!(
        beibao_store::registry::calendar(t.session.store().conn()).expect("calendar").and_then(|c| c.1),
        Some(calendar.version.clone())
    );
    let assigned = "SELECT count(*) FROM assignments WHERE kind = 'village' AND target = ?1";
    assert_eq!(count(&t, assigned, &village.code), 1);
    assert_eq!(count(&t, "SELECT count(*) FROM households WHERE village = ?1", &village.code), households);

    // Unlocked again, the tablet keeps the pulled calendar.
    let t = t.relock();
    assert!(!t.session.calendar().is_working_day(day));

    // Ended: the tablet drops the assignment and keeps the households it holds records of.
    let mut t = t;
    rt.block_on(storage.unassign(OFFICER, AssignmentKind::Village, &village.code, since, server.clock.now()))
        .expect("unassign");
    t.sync(&rt, fast(), 0, &mut |_| {}).expect("sync");
    assert_eq!(count(&t, assigned, &village.code), 0);
    assert_eq!(count(&t, "SELECT count(*) FROM households WHERE village = ?1", &village.code), households);
}

#[test]
fn a_first_run_names_the_codes_officer_then_makes_and_enrolls_the_store_or_leaves_nothing() {
    use beibao_field::{FirstRunInput, check_enrollment, first_run};

    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
    let code = server.code(&rt, OFFICER);
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    let who = rt.block_on(check_enrollment(&format!("{}/", server.url()), &spaced, None)).expect("check");
    let officer = beibao_tests::fixtures().registry.officers.iter().find(|o| o.id == OFFICER).expect("officer");
    assert_eq!((who.officer_id.as_str(), who.officer_name.as_str()), (OFFICER, officer.name.as_str()));
    assert!(who.station_name.ends_with("派出所"), "{}", who.station_name);
    let wrong = rt.block_on(check_enrollment(&server.url(), "00000000", None)).expect_err("no such code");
    assert_eq!(wrong.code(), Code::EnrollmentCodeInvalid);
    let bad_url = rt.block_on(check_enrollment("10.0.0.1", &code, None)).expect_err("no scheme");
    assert_eq!(bad_url.code(), Code::Invalid);

    let path = dir.path().join("tablet").join("beibao.db");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    let env = |seed| beibao_field::Env {
        clock: server.clock.clone(),
        ids: std::sync::Arc::new(beibao_tests::SeededIds::new(seed)),
    };
    let mut entropy = beibao_testkit::SeededEntropy(ChaCha8Rng::seed_from_u64(3));
    let input = |officer: &str| FirstRunInput {
        server_url: server.url(),
        code: code.clone(),
        officer_id: officer.to_owned(),
        pin: "135790".into(),
        server_pin: None,
    };
    let kdf = beibao_store::key::KdfParams::TEST_ONLY;
    let refused = rt.block_on(first_run(&path, &input("OF-01-01"), kdf, &mut entropy, env(1)));
    assert_eq!(refused.expect_err("another officer's code").code(), Code::OfficerMismatch);
    let left: Vec<_> = std::fs::read_dir(path.parent().expect("dir")).expect("dir").collect();
    assert!(left.is_empty(), "a refused first run leaves no store: {left:?}");
    let (session, enrolled) =
        rt.block_on(first_run(&path, &input(OFFICER), kdf, &mut entropy, env(2))).expect("first run");
    assert_eq!(session.officer_id(), OFFICER);
    assert_eq!(enrolled.server_url, server.url());
    let used = rt.block_on(check_enrollment(&server.url(), &code, None)).expect_err("used now");
    assert_eq!(used.code(), Code::EnrollmentCodeUsed);
}
