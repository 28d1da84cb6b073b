//! The HTTP layer without a socket: the router driven with `oneshot` over a real SQLite file, for
//! what the extractors and the error mapping decide before any handler logic (the loopback tests
//! in `api.rs` drive the same router through a real connection).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use beibao_core::clock::FixedClock;
use beibao_core::code::Code;
use beibao_server::app::{AppState, Limits};
use beibao_server::http::{ApiError, REQUEST_ID};
use beibao_server::storage::StorageError;
use beibao_server::{Sqlite, app};
use beibao_sync::wire::{self, ErrorBody};
use beibao_tests::{SeededRandom, fixtures, runtime, t0};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Harness {
    _dir: tempfile::TempDir,
    state: AppState,
    rt: tokio::runtime::Runtime,
}

fn harness(limits: Limits) -> Harness {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = runtime();
    let storage = Arc::new(Sqlite::open(&dir.path().join("server.db")).expect("sqlite"));
    let state = rt
        .block_on(AppState::new(
            storage,
            &fixtures().catalog,
            Arc::new(FixedClock::new(t0())),
            Arc::new(SeededRandom::new(7)),
            limits,
        ))
        .expect("state");
    Harness { _dir: dir, state, rt }
}

impl Harness {
    fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        self.rt.block_on(async {
            let resp = app(self.state.clone()).oneshot(req).await.expect("infallible");
            let (parts, body) = resp.into_parts();
            (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
        })
    }

    /// The status and the error code of a refused request.
    fn refused(&self, req: Request<Body>) -> (StatusCode, Code) {
        let (status, headers, body) = self.send(req);
        assert_eq!(headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")), Some("application/json"));
        let e: ErrorBody = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("the one error shape: {e}"));
        assert!(!e.message.is_empty());
        (status, e.code)
    }
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(format!("{}{path}", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("request")
}

const ENROLL: &str = r#"{"code":"AAAA-BBBB-CCCC","device_id":"dev-1","officer_id":"OF-03-01","public_key":"00"}"#;

#[test]
fn a_json_body_is_refused_with_a_code_for_each_way_it_can_be_wrong() {
    let h = harness(Limits { max_body: 4096, ..Limits::default() });
    let json = "application/json";
    for wrong in ["text/plain", "application/jsonfoo", "application/json; charset=gbk"] {
        assert_eq!(
            h.refused(post("/devices/enroll", wrong, ENROLL)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Code::UnsupportedMediaType),
            "{wrong}"
        );
    }
    assert_eq!(h.refused(post("/devices/enroll", json, "{\"code\":")), (StatusCode::BAD_REQUEST, Code::MalformedJson));
    let extra = ENROLL.replace("\"code\"", "\"extra\":1,\"code\"");
    assert_eq!(h.refused(post("/devices/enroll", json, extra)), (StatusCode::BAD_REQUEST, Code::UnknownField));
    assert_eq!(h.refused(post("/devices/enroll", json, "{\"code\":1}")), (StatusCode::BAD_REQUEST, Code::InvalidBody));
    let big = format!("{{\"code\":\"{}\"}}", "x".repeat(5000));
    assert_eq!(h.refused(post("/devices/enroll", json, big)), (StatusCode::PAYLOAD_TOO_LARGE, Code::PayloadTooLarge));
    let gzip = Request::post(format!("{}/devices/enroll", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, json)
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(ENROLL))
        .expect("request");
    assert_eq!(h.refused(gzip), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Code::UnsupportedEncoding));
    let not_zstd = Request::post(format!("{}/devices/enroll", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, json)
        .header(header::CONTENT_ENCODING, "zstd")
        .body(Body::from("not zstd at all"))
        .expect("request");
    assert_eq!(h.refused(not_zstd), (StatusCode::BAD_REQUEST, Code::BadEncoding));
    // A compression bomb: small on the wire, past the decompressed limit.
    let bomb = zstd::encode_all(&vec![b' '; wire::MAX_JSON_BYTES + 1][..], 19).expect("zstd");
    assert!(bomb.len() < 4096);
    let bomb = Request::post(format!("{}/devices/enroll", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, json)
        .header(header::CONTENT_ENCODING, "zstd")
        .body(Body::from(bomb))
        .expect("request");
    assert_eq!(h.refused(bomb), (StatusCode::PAYLOAD_TOO_LARGE, Code::PayloadTooLarge));
    // A well-formed zstd body reaches the handler (which refuses the made-up key).
    let zstd_body = Request::post(format!("{}/devices/enroll", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, json)
        .header(header::CONTENT_ENCODING, "zstd")
        .body(Body::from(zstd::encode_all(ENROLL.as_bytes(), 3).expect("zstd")))
        .expect("request");
    assert_eq!(h.refused(zstd_body), (StatusCode::BAD_REQUEST, Code::BadPublicKey));
}

#[test]
fn a_handler_that_takes_a_device_or_a_desk_is_never_reached_without_one() {
    let h = harness(Limits::default());
    let get = |path: &str, token: Option<&str>| {
        let mut b = Request::get(format!("{}{path}", wire::API_PREFIX));
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b.body(Body::empty()).expect("request")
    };
    for path in ["/sync/last-seq", "/sync/pull?cursor=0", &format!("/blobs/{}", "a".repeat(64))] {
        assert_eq!(h.refused(get(path, None)), (StatusCode::UNAUTHORIZED, Code::Unauthenticated), "{path}");
        assert_eq!(h.refused(get(path, Some("made-up"))), (StatusCode::UNAUTHORIZED, Code::Unauthenticated), "{path}");
    }
    // A desk endpoint with no session, or a token that is not a session.
    assert_eq!(h.refused(get("/desk/requests", None)), (StatusCode::UNAUTHORIZED, Code::Unauthenticated));
    assert_eq!(h.refused(get("/desk/requests", Some("made-up"))), (StatusCode::UNAUTHORIZED, Code::Unauthenticated));
    // The body of an unauthenticated push is not even decoded: auth is refused first.
    let push = Request::post(format!("{}/sync/push", wire::API_PREFIX))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("not json"))
        .expect("request");
    assert_eq!(h.refused(push), (StatusCode::UNAUTHORIZED, Code::Unauthenticated));
}

#[test]
fn what_is_not_an_endpoint_answers_in_the_one_error_shape() {
    let h = harness(Limits::default());
    let nowhere = Request::get("/api/v1/nowhere").body(Body::empty()).expect("request");
    assert_eq!(h.refused(nowhere), (StatusCode::NOT_FOUND, Code::NotFound));
    let wrong = Request::delete("/api/v1/sync/push").body(Body::empty()).expect("request");
    assert_eq!(h.refused(wrong), (StatusCode::METHOD_NOT_ALLOWED, Code::MethodNotAllowed));
}

#[test]
fn storage_failures_map_to_statuses_and_a_database_error_never_reaches_the_client() {
    let cases = [
        (StorageError::refused(Code::NotFound, "x"), StatusCode::NOT_FOUND, Code::NotFound),
        (StorageError::refused(Code::UnknownOfficer, "x"), StatusCode::NOT_FOUND, Code::UnknownOfficer),
        (StorageError::refused(Code::DeviceExists, "x"), StatusCode::CONFLICT, Code::DeviceExists),
        (StorageError::refused(Code::OfficerExists, "x"), StatusCode::CONFLICT, Code::OfficerExists),
        (
            StorageError::refused(Code::EnrollmentCodeUsed, "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::EnrollmentCodeUsed,
        ),
    ];
    for (e, status, code) in cases {
        let a = ApiError::from(e);
        assert_eq!((a.status(), a.body().code), (status, code));
    }
    let db = ApiError::from(StorageError::Db("relation \"devices\" does not exist at 10.0.0.5".into()));
    assert_eq!((db.status(), db.body().code), (StatusCode::SERVICE_UNAVAILABLE, Code::StorageUnavailable));
    assert!(!db.body().message.contains("10.0.0.5"), "the database's words stay in the server's log");
}

#[test]
fn every_answer_carries_a_request_id_the_clients_own_when_it_is_a_plain_token() {
    let h = harness(Limits::default());
    let health = |id: Option<&str>| {
        let mut b = Request::get("/api/v1/health");
        if let Some(id) = id {
            b = b.header(REQUEST_ID, id);
        }
        b.body(Body::empty()).expect("request")
    };
    let (status, headers, _) = h.send(health(Some("tablet-0042")));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()), Some("tablet-0042"));
    let (_, headers, _) = h.send(health(None));
    let made = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).expect("an id is made").to_owned();
    assert_eq!(made.len(), 16);
    let (_, headers, _) = h.send(health(Some("has spaces; and ; punctuation")));
    let replaced = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).expect("an id is made").to_owned();
    assert!(replaced.bytes().all(|b| b.is_ascii_hexdigit()) && replaced != made);
    // Refusals carry it too.
    let (status, headers, _) =
        h.send(Request::get("/api/v1/nowhere").header(REQUEST_ID, "r-1").body(Body::empty()).expect("r"));
    assert_eq!((status, headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())), (StatusCode::NOT_FOUND, Some("r-1")));
}
