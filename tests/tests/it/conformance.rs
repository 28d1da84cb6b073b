//! One conformance suite for both storage backends: SQLite (a real file) and PostgreSQL (a
//! throwaway cluster started by the test). Each backend must give the same answers.

use beibao_core::code::Code;
use std::sync::Arc;

use beibao_core::activity::{PublicitySession, PublicityTopic};
use beibao_core::canonical::sha256_hex;
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody, RequestStateChange};
use beibao_core::clock::Received;
use beibao_core::registry::Officer;
use beibao_core::service_request::{MergeOutcome, RequestState, Transition};
use beibao_server::app::code_hash;
use beibao_server::plan::BatchError;
use beibao_server::storage::{Appended, Enrollment, Inspect, Pushed, Role, Roster, Storage, StorageError};
use beibao_server::{Sqlite, admin};
use beibao_sync::wire::{Change, OpStatus, WireOp};
use beibao_tests::{fixtures, pg::Cluster, runtime, t0};
use chrono::Duration;

const DEV: &str = "dev-conformance-1";
const OFFICER: &str = "OF-03-01";

fn publicity(n: u128, attendees: u32, device: &str) -> PublicitySession {
    PublicitySession {
        id: uuid::Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | n),
        device_id: device.to_owned(),
        officer_id: OFFICER.to_owned(),
        village: "370406102201".into(),
        topic: PublicityTopic::AntiFraud,
        held_at: t0(),
        attendees,
        leaflets: 10,
        note: String::new(),
    }
}

fn op(seq: i64, op_id: &str, payload: &impl serde::Serialize) -> WireOp {
    let p = serde_json::to_string(payload).expect("json");
    WireOp::new(seq, op_id, "publicity", &sha256_hex(p.as_bytes()), &p).expect("op")
}

fn refused(r: Result<impl std::fmt::Debug, StorageError>) -> Code {
    match r {
        Err(StorageError::Refused(code, _)) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn enroll(s: &dyn Storage, device: &str, officer: &str, code: &str) -> Result<(i64, i64), StorageError> {
    s.enroll(
        &Enrollment {
            code_hash: code_hash(code),
            device_id: device.into(),
            officer_id: officer.into(),
            public_key: "11".repeat(32),
        },
        t0(),
    )
    .await
}

async fn push(s: &dyn Storage, batch_id: &str, ops: &[WireOp]) -> Result<Result<Pushed, BatchError>, StorageError> {
    let device = s.device(DEV).await?.expect("enrolled");
    let received = Received { at: t0(), device_now: None, enrolled_at: device.enrolled_at };
    let checks = beibao_server::plan::check_all(
        ops,
        &device,
        std::slice::from_ref(&fixtures().catalog),
        &fixtures().calendar,
        &received,
    );
    s.push(DEV, batch_id, ops.to_vec(), checks, t0()).await
}

/// The seeded assignments are kept; assigning a village offers it, its households and the
/// assignment to the officer; wrong ones are refused; an ended one is offered with its last day.
async fn assignments(s: &dyn Storage, now: chrono::DateTime<chrono::Utc>) {
    let reg = &fixtures().registry;
    let officer = reg.officers[0].id.clone();
    let seeded = s.assignments_of(&officer).await.expect("assignments");
    assert_eq!(seeded.len(), reg.assignments.iter().filter(|a| a.officer == officer).count());
    assert!(!seeded.is_empty(), "the fixtures assign the first officer something");
    let mine = reg.villages_of(&officer);
    let village = reg.villages.iter().find(|v| !mine.contains(&v.code.as_str())).expect("another village");
    let households = reg.households.iter().filter(|h| h.village == village.code).count();
    let since = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let a = AssignmentChange {
        officer: officer.clone(),
        kind: AssignmentKind::Village,
        target: village.code.clone(),
        since,
        until: None,
    };
    let (before, _) = s.pull(&officer, 0, 10_000).await.expect("pull");
    let cursor = before.last().map_or(0, |c| c.cursor);
    assert_eq!(s.assign(&a, now).await.expect("assign"), households + 2, "village, households, assignment");
    let (offered, _) = s.pull(&officer, cursor, 10_000).await.expect("pull");
    let kinds: Vec<&str> = offered.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"village"));
    assert_eq!(kinds.iter().filter(|k| **k == "household").count(), households);
    let last = offered.last().expect("a change");
    assert_eq!(ChangeBody::decode(&last.kind, &last.body).expect("decodes"), Some(ChangeBody::Assignment(a.clone())));
    let (others, _) = s.pull(&reg.officers[1].id, cursor, 10_000).await.expect("pull");
    assert!(others.is_empty(), "another officer is offered none of it");
    assert_eq!(refused(s.assign(&a, now).await), Code::AlreadyAssigned);
    let nobody = AssignmentChange { officer: "OF-nobody".into(), ..a.clone() };
    assert_eq!(refused(s.assign(&nobody, now).await), Code::UnknownOfficer);
    let nowhere = AssignmentChange { target: "no-such-village".into(), ..a.clone() };
    assert_eq!(refused(s.assign(&nowhere, now).await), Code::UnknownPlace);
    let as_enterprise = AssignmentChange { kind: AssignmentKind::Enterprise, ..a.clone() };
    assert_eq!(refused(s.assign(&as_enterprise, now).await), Code::UnknownPlace, "a village code is no enterprise");
    assert!(s.assignments_of(&officer).await.expect("assignments").contains(&a));

    let before_since = since.pred_opt().expect("date");
    assert_eq!(refused(s.unassign(&officer, a.kind, &a.target, before_since, now).await), Code::Invalid);
    let until = chrono::NaiveDate::from_ymd_opt(2026, 9, 30).expect("date");
    s.unassign(&officer, a.kind, &a.target, until, now).await.expect("unassign");
    assert_eq!(refused(s.unassign(&officer, a.kind, &a.target, until, now).await), Code::NotAssigned);
    assert_eq!(s.assignments_of(&officer).await.expect("assignments"), seeded);
    let (changes, _) = s.pull(&officer, cursor, 10_000).await.expect("pull");
    let last = changes.last().expect("a change");
    let ended = AssignmentChange { until: Some(until), ..a };
    assert_eq!(ChangeBody::decode(&last.kind, &last.body).expect("decodes"), Some(ChangeBody::Assignment(ended)));
}

async fn conformance(s: Arc<dyn Storage>) {
    let now = t0();
    let catalog = &fixtures().catalog;

    // The server key is made once.
    let seed = s.server_seed([7; 32]).await.expect("seed");
    assert_eq!(s.server_seed([9; 32]).await.expect("seed again"), seed);

    // The registry's stations and officers; an officer added by hand, moved, refused when wrong.
    let reg = &fixtures().registry;
    s.put_registry(reg, &[], now).await.expect("registry");
    s.put_registry(reg, &[], now).await.expect("seeding twice replaces");
    let stations = s.stations().await.expect("stations");
    assert_eq!(stations.len(), reg.stations.len());
    let (first, second) = (&reg.stations[0].code, &reg.stations[1].code);
    let mut at_first: Vec<Officer> = reg.officers.iter().filter(|o| &o.station == first).cloned().collect();
    at_first.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(s.officers_of(first).await.expect("officers"), at_first);
    let new = Officer { id: "OF-99-01".into(), station: first.clone(), ..reg.officers[0].clone() };
    s.add_officer(&new, now).await.expect("add");
    assert_eq!(s.officer("OF-99-01").await.expect("officer"), Some(new.clone()));
    assert_eq!(refused(s.add_officer(&new, now).await), Code::OfficerExists);
    let nowhere = Officer { id: "OF-99-02".into(), station: "no-such-station".into(), ..new.clone() };
    assert_eq!(refused(s.add_officer(&nowhere, now).await), Code::UnknownStation);
    let nameless = Officer { id: "OF-99-03".into(), name: " ".into(), ..new.clone() };
    assert_eq!(refused(s.add_officer(&nameless, now).await), Code::Invalid);
    s.move_officer("OF-99-01", second, now).await.expect("move");
    assert_eq!(s.officer("OF-99-01").await.expect("officer").expect("exists").station, *second);
    assert!(s.officers_of(second).await.expect("officers").iter().any(|o| o.id == "OF-99-01"));
    assert_eq!(refused(s.move_officer("OF-99-01", "no-such-station", now).await), Code::UnknownStation);
    assert_eq!(refused(s.move_officer("OF-nobody", second, now).await), Code::UnknownOfficer);
    assignments(&*s, now).await;

    // Calendars: offered once per version; the last one published is the one named.
    let calendar = beibao_core::bundled::published_calendar().expect("calendar");
    assert_eq!(s.calendar_version().await.expect("version"), None);
    assert!(s.publish_calendar(&calendar, now).await.expect("publish").is_some());
    assert_eq!(s.publish_calendar(&calendar, now).await.expect("again"), None, "a version is offered once");
    assert_eq!(s.calendar_version().await.expect("version"), Some(calendar.version.clone()));
    let (changes, _) = s.pull("anyone", 0, 10_000).await.expect("pull");
    let offered: Vec<&Change> = changes.iter().filter(|c| c.kind == "calendar").collect();
    assert_eq!(offered.len(), 1, "every device is offered the calendar");
    assert_eq!(
        ChangeBody::decode("calendar", &offered[0].body).expect("decodes"),
        Some(ChangeBody::Calendar(calendar.clone()))
    );

    // Accounts.
    let a = admin::new_account("desk01", Role::Desk, Some("西集派出所"), "correct horse battery").expect("account");
    s.create_account(&a, now).await.expect("create");
    assert_eq!(refused(s.create_account(&a, now).await), Code::AccountExists);
    let read = s.account("desk01").await.expect("read").expect("exists");
    assert_eq!((read.role, read.station.as_deref()), (Role::Desk, Some("西集派出所")));
    assert!(read.password_hash.starts_with("$argon2id$"), "PHC string: {}", read.password_hash);
    assert!(s.account("nobody").await.expect("read").is_none());
    // Console sessions map to their account until ended.
    s.put_session("sh", "desk01", now + Duration::hours(10)).await.expect("session");
    let (who, until) = s.session("sh").await.expect("session").expect("exists");
    assert_eq!((who.username.as_str(), until), ("desk01", now + Duration::hours(10)));
    s.drop_session("sh").await.expect("end");
    assert!(s.session("sh").await.expect("session").is_none());
    // The audit log keeps what was done, newest first.
    for (action, subject) in [("login", "desk01"), ("read_request", "r-1")] {
        let e = beibao_server::storage::AuditEntry {
            at: now,
            actor: "desk:desk01".into(),
            action: action.into(),
            subject: subject.into(),
        };
        s.audit(&e).await.expect("audit");
    }
    let log = s.audit_log(10).await.expect("log");
    assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["read_request", "login"]);
    assert_eq!(log[0].at, now);

    // Enrollment codes: one use, one officer, until they expire.
    s.issue_code(&code_hash("AAAA-BBBB-CCCC"), OFFICER, now + Duration::hours(1), now).await.expect("code");
    s.issue_code(&code_hash("DDDD-EEEE-FFFF"), OFFICER, now - Duration::seconds(1), now).await.expect("code");
    s.issue_code(&code_hash("GGGG-HHHH-JJJJ"), "OF-03-02", now + Duration::hours(1), now).await.expect("code");
    assert_eq!(refused(enroll(&*s, DEV, OFFICER, "ZZZZ-ZZZZ-ZZZZ").await), Code::EnrollmentCodeInvalid);
    assert_eq!(refused(enroll(&*s, DEV, OFFICER, "DDDD-EEEE-FFFF").await), Code::EnrollmentCodeExpired);
    assert_eq!(refused(enroll(&*s, DEV, OFFICER, "GGGG-HHHH-JJJJ").await), Code::OfficerMismatch);
    let (start, end) =
        enroll(&*s, DEV, OFFICER, "aaaa bbbb cccc").await.expect("codes are read without case or dashes");
    assert_eq!((start, end), (1, 1000));
    assert_eq!(refused(enroll(&*s, DEV, OFFICER, "AAAA-BBBB-CCCC").await), Code::EnrollmentCodeUsed);
    s.issue_code(&code_hash("KKKK-LLLL-MMMM"), OFFICER, now + Duration::hours(1), now).await.expect("code");
    assert_eq!(refused(enroll(&*s, DEV, OFFICER, "KKKK-LLLL-MMMM").await), Code::DeviceExists);
    let (start2, _) = enroll(&*s, "dev-conformance-2", OFFICER, "KKKK-LLLL-MMMM").await.expect("second device");
    assert_eq!(start2, 1001, "serial blocks never overlap");

    // Challenges are single use and expire; tokens map to their device.
    s.put_challenge(DEV, "c1", now + Duration::minutes(2)).await.expect("challenge");
    assert!(!s.take_challenge("dev-conformance-2", "c1", now).await.expect("other device"));
    assert!(s.take_challenge(DEV, "c1", now).await.expect("take"));
    assert!(!s.take_challenge(DEV, "c1", now).await.expect("again"), "single use");
    s.put_challenge(DEV, "c2", now + Duration::minutes(2)).await.expect("challenge");
    assert!(!s.take_challenge(DEV, "c2", now + Duration::minutes(3)).await.expect("late"), "expired");
    s.put_token("th", DEV, now + Duration::minutes(15)).await.expect("token");
    assert_eq!(s.token("th").await.expect("token").map(|t| t.0.id), Some(DEV.to_owned()));

    // Push: applied, rejected with a reason (recorded, not blocking), stored results replayed.
    let batch = vec![
        op(1, "op-1", &publicity(1, 12, DEV)),
        op(2, "op-2", &publicity(2, 0, DEV)),
        op(3, "op-3", &publicity(3, 30, "dev-somebody-else")),
        op(4, "op-4", &publicity(4, 40, DEV)),
    ];
    let pushed = push(&*s, "b1", &batch).await.expect("push").expect("no gap");
    let statuses: Vec<_> = pushed.results.iter().map(|r| (r.status, r.code)).collect();
    assert_eq!(
        statuses,
        vec![
            (OpStatus::Applied, None),
            (OpStatus::Rejected, Some(Code::Implausible)),
            (OpStatus::Rejected, Some(Code::WrongDevice)),
            (OpStatus::Applied, None)
        ]
    );
    assert_eq!(pushed.last_seq, 4);
    let again = push(&*s, "b1-retry", &batch).await.expect("push").expect("no gap");
    assert_eq!(again.results, pushed.results, "a re-sent batch gets the stored results");
    let counts = s.counts().await.expect("counts");
    assert_eq!((counts.ops_applied, counts.ops_rejected, counts.ops_duplicate), (2, 2, 0), "nothing applied twice");
    // A gap is refused with the seq expected; the same op id under a new seq is a duplicate.
    let gap = push(&*s, "b2", &[op(9, "op-9", &publicity(9, 5, DEV))]).await.expect("push");
    assert_eq!(gap, Err(BatchError::Gap { expect_seq: 5 }));
    let dup = push(&*s, "b3", &[op(5, "op-1", &publicity(1, 12, DEV))]).await.expect("push").expect("ok");
    assert_eq!(dup.results[0].status, OpStatus::Duplicate);
    // A tampered payload fails its hash.
    let mut bad = op(6, "op-6", &publicity(6, 5, DEV));
    bad.sha256 = "0".repeat(64);
    let r = push(&*s, "b4", &[bad]).await.expect("push").expect("ok");
    assert_eq!(r.results[0].code, Some(Code::HashMismatch));
    let results = s.op_results(DEV).await.expect("results");
    assert_eq!(results.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    let rejected = s.rejected_ops(10).await.expect("rejected");
    assert_eq!(rejected.len(), 3);
    assert!(rejected.iter().all(|r| !r.code.is_empty() && !r.message.is_empty()));
    let records = s.records(DEV, "publicity").await.expect("records");
    let bodies = |ops: &[&WireOp]| ops.iter().map(|o| o.payload.get().to_owned()).collect::<Vec<_>>();
    assert_eq!(
        records.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        bodies(&[&batch[0], &batch[3]]),
        "a record's body is its op's payload"
    );

    // Pull: scoped to the officer or everyone, in cursor order, paged.
    let (town, v1, v9, h1) = (&reg.towns[0], &reg.villages[0], &reg.villages[1], &reg.households[0]);
    let c1 = s.publish_change("*", &ChangeBody::Town(town.clone()), now).await.expect("change");
    s.publish_changes(
        &[
            (OFFICER.into(), ChangeBody::Village(v1.clone())),
            ("OF-09-09".into(), ChangeBody::Village(v9.clone())),
            (OFFICER.into(), ChangeBody::Household(h1.clone())),
        ],
        now,
    )
    .await
    .expect("changes");
    let (all, more) = s.pull(OFFICER, 0, 100).await.expect("pull");
    assert!(!more);
    let keys: Vec<&str> = all.iter().map(|c| c.key.as_str()).collect();
    assert!(keys.ends_with(&[town.code.as_str(), v1.code.as_str(), h1.id.as_str()]), "{keys:?}");
    assert!(!keys.contains(&v9.code.as_str()), "another officer's village is not pulled");
    // The bodies read back as the typed changes they were published as.
    let back = ChangeBody::decode(&all[all.len() - 1].kind, &all[all.len() - 1].body).expect("decodes");
    assert_eq!(back, Some(ChangeBody::Household(h1.clone())));
    assert!(all.windows(2).all(|w| w[0].cursor < w[1].cursor));
    let (page, more) = s.pull(OFFICER, c1 - 1, 1).await.expect("page");
    assert_eq!((page.len(), more, page[0].cursor), (1, true, c1));

    // A desk transition follows the merge rule and reaches the officer's pull.
    let req = beibao_core::service_request::ServiceRequest {
        id: uuid::Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0042),
        device_id: DEV.into(),
        officer_id: OFFICER.into(),
        service: "HZ01".into(),
        mode: beibao_core::catalog::Mode::CarryBack,
        household: None,
        applicant: "370406199001010011".into(),
        materials: vec![],
        fee: catalog.services.iter().find(|x| x.code == "HZ01").expect("HZ01").quote(None, &[]).expect("fee"),
        state: RequestState::CarriedBack,
        accepted_at: now,
        attachments: vec![],
    };
    let p = serde_json::to_string(&req).expect("json");
    let rop = WireOp::new(7, "op-7", "service_request", &sha256_hex(p.as_bytes()), &p).expect("op");
    let r = push(&*s, "b5", &[rop]).await.expect("push").expect("ok");
    assert_eq!(r.results[0].status, OpStatus::Applied, "{:?}", r.results[0]);
    let id = req.id.to_string();
    // The desk finds it among its station's requests, by state; the station is the officer's now.
    let station = s.officer(OFFICER).await.expect("officer").expect("seeded").station;
    let other = reg.stations.iter().find(|x| x.code != station).expect("a second station").code.clone();
    let rows = s.requests_at(&station, Some(RequestState::CarriedBack), 10).await.expect("requests");
    assert_eq!(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);
    assert_eq!((rows[0].service.as_str(), rows[0].body.as_str()), ("HZ01", p.as_str()));
    assert_eq!((rows[0].mode, rows[0].state), (beibao_core::catalog::Mode::CarryBack, RequestState::CarriedBack));
    assert!(s.requests_at(&station, Some(RequestState::Submitted), 10).await.expect("requests").is_empty());
    assert!(s.requests_at(&other, None, 10).await.expect("requests").is_empty());
    assert_eq!(s.request(&id).await.expect("request"), Some((rows[0].clone(), Some(station.clone()))));
    assert!(s.request("nope").await.expect("request").is_none());
    let step = |from, to| Transition { from, to, reason: None, recipient_signature: None };
    let desk = "desk:desk01";
    let out =
        s.desk_transition(&id, &step(RequestState::CarriedBack, RequestState::Submitted), desk, "ev-1", now).await;
    assert_eq!(out.expect("desk"), MergeOutcome::Apply { to: RequestState::Submitted });
    let out =
        s.desk_transition(&id, &step(RequestState::CarriedBack, RequestState::Submitted), desk, "ev-2", now).await;
    assert_eq!(out.expect("desk"), MergeOutcome::AlreadyThere);
    let out = s.desk_transition(&id, &step(RequestState::Made, RequestState::CarriedBack), desk, "ev-3", now).await;
    assert!(matches!(out.expect("desk"), MergeOutcome::Conflict { .. }), "an impossible step is kept as a conflict");
    assert_eq!(
        refused(s.desk_transition("nope", &step(RequestState::Made, RequestState::Made), "x", "ev-4", now).await),
        Code::NotFound
    );
    // The officer moves to another station: the request goes with them.
    s.move_officer(OFFICER, &other, now).await.expect("move");
    assert_eq!(s.requests_at(&other, None, 10).await.expect("requests").len(), 1);
    assert!(s.requests_at(&station, None, 10).await.expect("requests").is_empty());
    s.move_officer(OFFICER, &station, now).await.expect("move back");
    // Each move's audit entry committed with it; a refused move left none.
    let mut moves: Vec<(String, String)> = s
        .audit_log(100)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "move_request")
        .map(|e| (e.actor, e.subject))
        .collect();
    moves.reverse();
    let subjects: Vec<&str> = moves.iter().map(|(_, subject)| subject.as_str()).collect();
    assert_eq!(subjects.len(), 3, "one audit entry per move that ran: {subjects:?}");
    assert!(moves.iter().all(|(actor, _)| actor == "desk:desk01"));
    assert_eq!(subjects[0], format!("{id} applied"));
    assert_eq!(subjects[1], format!("{id} already_there"));
    assert!(subjects[2].starts_with(&format!("{id} conflict:")), "{}", subjects[2]);
    let (changes, _) = s.pull(OFFICER, 0, 100).await.expect("pull");
    let last = changes.last().expect("a change");
    assert_eq!((last.kind.as_str(), last.key.as_str()), ("request_state", id.as_str()));
    assert_eq!(
        ChangeBody::decode(&last.kind, &last.body).expect("decodes"),
        Some(ChangeBody::RequestState(RequestStateChange {
            request: id.clone(),
            state: RequestState::Submitted,
            by: desk.to_owned(),
            at: Some(now),
            reason: None,
        }))
    );
    assert_eq!(s.counts().await.expect("counts").request_events, 3, "conflicts are kept");

    // Blobs: chunks resume from the server's offset; a wrong hash is discarded.
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let sha = sha256_hex(&bytes);
    let (me, other) = (DEV, "dev-other-uploader");
    assert!(s.blob(&sha, me).await.expect("blob").is_none());
    let a = s.blob_append(&sha, me, 10_000, 0, &bytes[..4000], now).await.expect("chunk");
    assert!(matches!(a, Appended::Stored(r) if r.offset == 4000 && !r.complete));
    assert_eq!(
        s.blob_append(&sha, me, 10_000, 0, &bytes[..4000], now).await.expect("chunk"),
        Appended::Elsewhere(4000),
        "a chunk at the wrong offset is refused with the held offset"
    );
    assert_eq!(refused(s.blob_append(&sha, me, 9_999, 4000, &bytes[4000..], now).await), Code::BlobSize);
    assert_eq!(refused(s.blob_append(&sha, me, 10_000, 4000, &[0; 6001], now).await), Code::BlobSize);
    // An unfinished upload is its device's own: another device neither sees it nor writes into
    // it (junk at the same offset starts nothing of its own: it holds no bytes yet).
    assert!(s.blob(&sha, other).await.expect("blob").is_none(), "another device's upload is not shown");
    assert_eq!(s.blob_append(&sha, other, 10_000, 4000, &[0; 6000], now).await.expect("junk"), Appended::Elsewhere(0));
    let a = s.blob_append(&sha, me, 10_000, 4000, &bytes[4000..], now).await.expect("chunk");
    assert!(matches!(a, Appended::Stored(r) if r.complete));
    assert_eq!(s.blob_bytes(&sha).await.expect("bytes").as_deref(), Some(&bytes[..]));
    // Whole, it is everyone's.
    assert!(s.blob(&sha, other).await.expect("blob").is_some_and(|r| r.complete));
    assert!(matches!(
        s.blob_append(&sha, other, 10_000, 0, &bytes[..10], now).await.expect("whole"),
        Appended::Stored(r) if r.complete
    ));
    // A device that declares a wrong size for a hash first (and sends junk) does not bind the
    // real upload: it starts from byte 0 with its own size and completes; the squatter's
    // unfinished upload stays its own and is dropped once the blob is whole.
    let photo: Vec<u8> = (0..3_000u32).map(|i| (i % 13) as u8).collect();
    let photo_sha = sha256_hex(&photo);
    let squat = s.blob_append(&photo_sha, other, 999_999, 0, &[0; 100], now).await.expect("squat");
    assert!(matches!(squat, Appended::Stored(r) if r.offset == 100 && !r.complete));
    let real = s.blob_append(&photo_sha, me, 3_000, 0, &photo[..1000], now).await.expect("the real first chunk");
    assert!(matches!(real, Appended::Stored(r) if r.offset == 1000 && !r.complete), "{real:?}");
    assert_eq!(refused(s.blob_append(&photo_sha, me, 999_999, 1000, &[0; 10], now).await), Code::BlobSize);
    let real = s.blob_append(&photo_sha, me, 3_000, 1000, &photo[1000..], now).await.expect("the rest");
    assert!(matches!(real, Appended::Stored(r) if r.complete));
    assert_eq!(s.blob_bytes(&photo_sha).await.expect("bytes").as_deref(), Some(&photo[..]));
    assert!(s.blob(&photo_sha, other).await.expect("blob").is_some_and(|r| r.complete && r.total == 3_000));
    let wrong = "ab".repeat(32);
    assert_eq!(s.blob_append(&wrong, me, 3, 0, b"abc", now).await.expect("chunk"), Appended::HashMismatch);
    assert!(s.blob(&wrong, me).await.expect("blob").is_none(), "a mismatching blob is discarded");
    // Abandoned uploads are swept after their time; whole blobs and fresher uploads stay.
    let (old, fresh) = (b"abandoned upload".to_vec(), b"an upload still going".to_vec());
    let week_ago = now - chrono::Duration::days(8);
    s.blob_append(&sha256_hex(&old), me, 100, 0, &old, week_ago).await.expect("old chunk");
    s.blob_append(&sha256_hex(&fresh), me, 100, 0, &fresh, now).await.expect("fresh chunk");
    assert_eq!(s.sweep_uploads(now - chrono::Duration::days(7)).await.expect("sweep"), 1);
    assert!(s.blob(&sha256_hex(&old), me).await.expect("blob").is_none(), "the abandoned one is gone");
    assert!(s.blob(&sha256_hex(&fresh), me).await.expect("blob").is_some_and(|r| r.offset == fresh.len() as u64));
    assert_eq!(s.blob_bytes(&photo_sha).await.expect("bytes").as_deref(), Some(&photo[..]), "whole blobs stay");
    let a = s.blob_append(&sha256_hex(&old), me, 100, 0, &old, now).await.expect("starts again from 0");
    assert!(matches!(a, Appended::Stored(r) if r.offset == old.len() as u64));

    // Catalog versions are immutable once published.
    let c = s.publish_catalog(catalog, now).await.expect("publish");
    assert_eq!(s.publish_catalog(catalog, now).await.expect("same again"), c);
    let mut changed = catalog.clone();
    changed.services.pop();
    assert_eq!(refused(s.publish_catalog(&changed, now).await), Code::CatalogVersionExists);
    let versions: Vec<String> = s.catalogs().await.expect("catalogs").into_iter().map(|c| c.version).collect();
    assert_eq!(versions, vec![catalog.version.clone()]);

    // Revocation.
    assert!(s.revoke(DEV, now).await.expect("revoke"));
    assert!(s.device(DEV).await.expect("device").expect("exists").revoked);
    assert!(s.token("th").await.expect("token").is_none(), "its tokens are gone");
    assert!(!s.revoke("dev-unknown", now).await.expect("revoke unknown"));
}

#[test]
fn sqlite_storage_conforms() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let s = Arc::new(Sqlite::open(&dir.path().join("data").join("beibao.db")).expect("open"));
    rt.block_on(conformance(s));
}

#[test]
fn postgres_storage_conforms() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("conformance").expect("createdb");
    let rt = runtime();
    let s = rt.block_on(admin::open_storage(&url, None)).expect("connect");
    assert_eq!(s.backend(), "postgres");
    rt.block_on(conformance(s));
}

#[test]
fn concurrent_writes_commit_in_groups_and_a_refused_one_undoes_only_itself() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let s: Arc<dyn Storage> = Arc::new(Sqlite::open(&dir.path().join("beibao.db")).expect("open"));
    let now = t0();
    rt.block_on(async {
        for i in 0..40 {
            s.issue_code(&code_hash(&format!("CODE-{i:04}")), OFFICER, now + Duration::hours(1), now)
                .await
                .expect("code");
        }
        // 40 enrollments at once: the even ones valid, the odd ones with a used-up device id.
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let device = if i % 2 == 0 { format!("dev-{i}") } else { "dev-0".to_owned() };
                    (i, enroll(&*s, &device, OFFICER, &format!("CODE-{i:04}")).await)
                })
            })
            .collect();
        let mut ok = 0;
        let mut serials = Vec::new();
        let mut refused_codes = Vec::new();
        for t in tasks {
            let (i, r) = t.await.expect("task");
            match r {
                Ok(block) => {
                    ok += 1;
                    serials.push(block);
                }
                // dev-0 is claimed by i = 0 and every odd i: exactly one of them wins.
                Err(StorageError::Refused(Code::DeviceExists, _)) => {
                    assert!(i % 2 == 1 || i == 0, "{i} has a device of its own");
                    refused_codes.push(format!("CODE-{i:04}"));
                }
                Err(e) => panic!("{i}: {e}"),
            }
        }
        assert_eq!(ok, 20, "every valid enrollment committed, every refused one undone alone");
        assert_eq!(s.counts().await.expect("counts").devices, 20);
        serials.sort();
        assert!(serials.windows(2).all(|w| w[0].1 < w[1].0), "serial blocks never overlap: {serials:?}");
        assert_eq!(refused_codes.len(), 20);
        // A refused enrollment left its code unused.
        let again =
            enroll(&*s, "dev-new", OFFICER, &refused_codes[0]).await.expect("the refused one's code still works");
        assert!(again.0 > 0);
    });
}

/// Fill a store with records, one of them written twice (its body is the later op's).
async fn records_to_migrate(s: &dyn Storage) -> Vec<(String, String)> {
    let now = t0();
    s.issue_code(&code_hash("MIGR-ATE0-0001"), OFFICER, now + Duration::hours(1), now).await.expect("code");
    enroll(s, DEV, OFFICER, "MIGR-ATE0-0001").await.expect("enroll");
    let batch = [
        op(1, "op-1", &publicity(1, 12, DEV)),
        op(2, "op-2", &publicity(2, 20, DEV)),
        op(3, "op-3", &publicity(1, 15, DEV)),
    ];
    let pushed = push(s, "b1", &batch).await.expect("push").expect("no gap");
    assert!(pushed.results.iter().all(|r| r.status == OpStatus::Applied), "{:?}", pushed.results);
    let records = s.records(DEV, "publicity").await.expect("records");
    assert_eq!(records.len(), 2);
    assert!(records.iter().any(|r| r.1 == batch[2].payload.get()), "the record written twice has the later body");
    records
}

/// A SQLite database with records to migrate; returns what it holds.
fn sqlite_with_records(rt: &tokio::runtime::Runtime, path: &std::path::Path) -> Vec<(String, String)> {
    rt.block_on(async { records_to_migrate(&Sqlite::open(path).expect("open")).await })
}

/// A PostgreSQL database with records to migrate; returns what it holds.
fn postgres_with_records(rt: &tokio::runtime::Runtime, url: &str) -> Vec<(String, String)> {
    rt.block_on(async { records_to_migrate(&*admin::open_storage(url, Some(2)).await.expect("connect")).await })
}

/// Run statements on a PostgreSQL database by hand, as an operator (or an older build) would.
fn postgres_by_hand(rt: &tokio::runtime::Runtime, url: &str, sql: &[&str]) {
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect by hand");
        tokio::spawn(conn);
        for statement in sql {
            c.batch_execute(statement).await.expect(statement);
        }
    });
}

/// Schema 1 (before this build) kept a copy of each record's body in `records` and no seq.
const BACK_TO_SCHEMA_1_SQLITE: &str = "
    ALTER TABLE records ADD COLUMN body TEXT NOT NULL DEFAULT '';
    UPDATE records SET body = (SELECT payload FROM ops o WHERE o.device_id = records.device_id AND o.seq = records.seq);
    ALTER TABLE records DROP COLUMN seq;";
const BACK_TO_SCHEMA_1_POSTGRES: &str = "
    ALTER TABLE records ADD COLUMN body TEXT NOT NULL DEFAULT '';
    UPDATE records r SET body = o.payload FROM ops o WHERE o.device_id = r.device_id AND o.seq = r.seq;
    ALTER TABLE records DROP COLUMN seq;";

#[test]
fn a_sqlite_database_of_schema_1_is_migrated_with_every_record_kept() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("beibao.db");
    let before = sqlite_with_records(&rt, &path);
    let c = rusqlite::Connection::open(&path).expect("open by hand");
    c.execute_batch(BACK_TO_UNVERSIONED).expect("before numbered migrations");
    c.execute_batch(BACK_TO_SCHEMA_1_SQLITE).expect("back to schema 1");
    let has_body: i64 = c
        .query_row("SELECT count(*) FROM pragma_table_info('records') WHERE name = 'body'", [], |r| r.get(0))
        .expect("columns");
    assert_eq!(has_body, 1);
    drop(c);
    let s = Sqlite::open(&path).expect("reopen migrates");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before);
    // Migrated once: opening again changes nothing.
    drop(s);
    let s = Sqlite::open(&path).expect("reopen");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before);
}

#[test]
fn a_postgres_database_of_schema_1_is_migrated_with_every_record_kept() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("migration").expect("createdb");
    let rt = runtime();
    let before = postgres_with_records(&rt, &url);
    postgres_by_hand(&rt, &url, &[BACK_TO_UNVERSIONED, BACK_TO_UNVERSIONED_POSTGRES, BACK_TO_SCHEMA_1_POSTGRES]);
    let s = rt.block_on(admin::open_storage(&url, Some(2))).expect("reconnect migrates");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before);
    let s = rt.block_on(admin::open_storage(&url, Some(2))).expect("again");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before);
}

#[test]
fn a_postgres_push_dropped_half_way_never_hands_its_connection_to_the_next_push() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("dropped").expect("createdb");
    let rt = runtime();
    rt.block_on(async {
        let pg = beibao_server::postgres::Postgres::connect(&url, 1).await.expect("connect");
        let s: &dyn Storage = &pg;
        let now = t0();
        s.issue_code(&code_hash("DROP-PUSH-0001"), OFFICER, now + Duration::hours(1), now).await.expect("code");
        enroll(s, DEV, OFFICER, "DROP-PUSH-0001").await.expect("enroll");
        push(s, "b1", &[op(1, "op-1", &publicity(1, 12, DEV))]).await.expect("push").expect("no gap");
        assert_eq!(pg.connections(), 1);
        // The client goes away mid-push: the handler's future is polled once (BEGIN, the device
        // lock and the reads are sent) and dropped.
        let batch = [op(2, "op-2", &publicity(2, 20, DEV))];
        let device = s.device(DEV).await.expect("device").expect("enrolled");
        let checks = beibao_server::plan::check_all(
            &batch,
            &device,
            std::slice::from_ref(&fixtures().catalog),
            &fixtures().calendar,
            &Received { at: t0(), device_now: None, enrolled_at: device.enrolled_at },
        );
        // Another transaction holds the device's row, so the push's BEGIN and lock are sent and
        // it cannot finish (on loopback a free push can complete within a single poll).
        let (blocker, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect by hand");
        tokio::spawn(conn);
        blocker.batch_execute("BEGIN").await.expect("begin");
        blocker.execute("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", &[&DEV]).await.expect("hold the row");
        let mut half = Box::pin(s.push(DEV, "b2", batch.to_vec(), checks, now));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(half.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "still under way after one poll: {first:?}");
        drop(half);
        blocker.batch_execute("ROLLBACK").await.expect("release the row");
        assert_eq!(pg.connections(), 0, "its connection left the pool (closed: the transaction rolls back)");
        // The next push gets a fresh connection, the lock is free, nothing half-done is there.
        let again = push(s, "b2", &batch).await.expect("push").expect("no gap");
        assert_eq!(again.results[0].status, OpStatus::Applied);
        assert_eq!(s.op_results(DEV).await.expect("results").len(), 2);
    });
}

/// What the build before numbered migrations left: its tables, no version table, no registry,
/// no facts.
const BACK_TO_UNVERSIONED: &str = "DROP TABLE tally_month; DROP TABLE tally_subjects_month; DROP TABLE tally_subjects_year;
    DROP INDEX records_day; DROP INDEX requests_accepted;
    ALTER TABLE records DROP COLUMN day; ALTER TABLE records DROP COLUMN station; ALTER TABLE requests DROP COLUMN station;
    DROP TABLE schema_version; DROP TABLE assignments; DROP TABLE places;
    DROP TABLE officers; DROP TABLE stations; DROP TABLE tally; DROP TABLE tally_subjects; DROP TABLE towns; DROP TABLE phoned_in;
    DROP TABLE mediation_due; ALTER TABLE records DROP COLUMN facts; DROP INDEX request_events_request;
    DROP INDEX ops_device_rejected; DROP INDEX ops_device_op_id;
    CREATE UNIQUE INDEX ops_op_id ON ops (op_id) WHERE status <> 'duplicate';
    ALTER TABLE requests DROP COLUMN accepted_on; ALTER TABLE requests DROP COLUMN due_on;
    ALTER TABLE requests DROP COLUMN village;";
/// The same on PostgreSQL, whose request events also gained their order of arrival.
const BACK_TO_UNVERSIONED_POSTGRES: &str = "ALTER TABLE request_events DROP COLUMN n;";

#[test]
fn a_sqlite_database_from_before_numbered_migrations_is_brought_to_the_latest_and_a_newer_one_is_refused() {
    use beibao_server::migrations::LATEST;
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("beibao.db");
    let before = sqlite_with_records(&rt, &path);
    let versions = |path: &std::path::Path| -> Vec<(i64, String)> {
        let c = rusqlite::Connection::open(path).expect("open by hand");
        let mut stmt = c.prepare("SELECT version, name FROM schema_version ORDER BY version").expect("select");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("rows").collect::<Result<_, _>>().expect("read")
    };
    assert_eq!(versions(&path).len() as i64, LATEST);
    rusqlite::Connection::open(&path).expect("open by hand").execute_batch(BACK_TO_UNVERSIONED).expect("back");
    let s = Sqlite::open(&path).expect("an unversioned database upgrades");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before, "nothing held is lost");
    let reg = &fixtures().registry;
    rt.block_on(s.put_registry(reg, &[], t0())).expect("the registry tables are there");
    drop(s);
    let names: Vec<String> = versions(&path).into_iter().map(|v| v.1).collect();
    assert_eq!(
        names,
        [
            "initial",
            "registry",
            "assignments",
            "facts",
            "rollups",
            "op_ids_per_device",
            "phoned_in",
            "mediation_due",
            "detail",
            "coarse_rollups"
        ]
    );
    // A database a newer build wrote is refused, with the versions named, and left as it was.
    rusqlite::Connection::open(&path)
        .expect("open by hand")
        .execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?1, 'future', 'x')", [LATEST + 1])
        .expect("a newer version");
    match Sqlite::open(&path) {
        Err(StorageError::Refused(Code::SchemaTooNew, m)) => assert!(m.contains(&(LATEST + 1).to_string()), "{m}"),
        other => panic!("expected schema_too_new, got {other:?}"),
    }
    assert_eq!(versions(&path).len() as i64, LATEST + 1);
}

#[test]
fn a_postgres_database_from_before_numbered_migrations_is_brought_to_the_latest_and_a_newer_one_is_refused() {
    use beibao_server::migrations::LATEST;
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("versions").expect("createdb");
    let rt = runtime();
    let before = postgres_with_records(&rt, &url);
    postgres_by_hand(&rt, &url, &[BACK_TO_UNVERSIONED, BACK_TO_UNVERSIONED_POSTGRES]);
    let s = rt.block_on(admin::open_storage(&url, Some(2))).expect("an unversioned database upgrades");
    assert_eq!(rt.block_on(s.records(DEV, "publicity")).expect("records"), before, "nothing held is lost");
    let reg = &fixtures().registry;
    rt.block_on(s.put_registry(reg, &[], t0())).expect("the registry tables are there");
    postgres_by_hand(
        &rt,
        &url,
        &["INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')"],
    );
    match rt.block_on(admin::open_storage(&url, Some(2))) {
        Err(StorageError::Refused(Code::SchemaTooNew, m)) => {
            assert!(m.contains("999") && m.contains(&LATEST.to_string()), "{m}")
        }
        Err(e) => panic!("expected schema_too_new, got {e:?}"),
        Ok(_) => panic!("expected schema_too_new, got a storage"),
    }
}

/// Back to schema 4: the facts one row each, no rollups.
fn back_to_facts(postgres: bool) -> String {
    let v4 = beibao_server::migrations::MIGRATIONS[3];
    let sql = if postgres { v4.postgres } else { v4.sqlite };
    let start = sql.find("CREATE TABLE facts").expect("schema 4 makes the facts table");
    let create = &sql[start..=start + sql[start..].find(';').expect("its end")];
    format!(
        "{undo_coarse} {undo_detail} DROP TABLE tally; DROP TABLE tally_subjects; ALTER TABLE records DROP COLUMN facts; DROP TABLE phoned_in;
         DROP TABLE mediation_due; DROP INDEX ops_device_op_id; CREATE UNIQUE INDEX ops_op_id ON ops (op_id) WHERE status <> 'duplicate';
         DELETE FROM schema_version WHERE version >= 5; {create}",
        undo_detail = beibao_tests::UNDO_DETAIL,
        undo_coarse = beibao_tests::UNDO_COARSE_ROLLUPS,
    )
}

/// Two records and a request's move as schema 4 held them: a visit (a distinct and a summed
/// count), a hazard found one day and fixed the next, and a desk close (no record).
const SCHEMA_4_FACTS: &str = "
    INSERT INTO records (kind, id, device_id, seq, officer_id, village, received_at) VALUES
        ('visit', 'V1', 'DEV-4', 1, 'OF-4', '370406102001', '2026-11-02T08:00:00Z'),
        ('hazard', 'Z1', 'DEV-4', 2, 'OF-4', '370406102001', '2026-11-03T08:00:00Z');
    INSERT INTO facts (source, key, day, week, station, town, village, officer, subject, value) VALUES
        ('visit:V1', 'households_visited', '2026-11-02', '2026-11-02', 'S4', '370406102', '370406102001', 'OF-4', 'H1', 1),
        ('visit:V1', 'persons_met', '2026-11-02', '2026-11-02', 'S4', '370406102', '370406102001', 'OF-4', NULL, 2),
        ('hazard:Z1', 'hazards_found', '2026-11-02', '2026-11-02', 'S4', '370406102', '370406102001', 'OF-4', NULL, 1),
        ('hazard:Z1', 'hazards_fixed', '2026-11-03', '2026-11-02', 'S4', '370406102', '370406102001', 'OF-4', NULL, 1),
        ('request_event:E1', 'services_closed', '2026-11-04', '2026-11-02', 'S4', NULL, NULL, 'OF-4', NULL, 1);";

/// What schema 5 must read from [`SCHEMA_4_FACTS`]: the month's total row, and the visit's kept facts.
async fn schema_4_facts_are_kept(s: &dyn Storage) {
    use beibao_core::indicators::CountKey as K;
    use beibao_server::report::{Level, Period, Scope};
    let november = Period { from: "2026-11-01".parse().unwrap(), to: "2026-11-30".parse().unwrap() };
    let mut total: Vec<(K, i64)> = s
        .aggregates(november, Level::Village, &Scope::default())
        .await
        .expect("report")
        .into_iter()
        .filter(|a| a.group.as_deref() == Some(beibao_server::report::TOTAL))
        .map(|a| (a.key, a.value))
        .collect();
    total.sort();
    assert_eq!(
        total,
        [
            (K::HouseholdsVisited, 1),
            (K::PersonsMet, 2),
            (K::ServicesClosed, 1),
            (K::HazardsFound, 1),
            (K::HazardsFixed, 1)
        ]
    );
    let by_village: Vec<(Option<String>, K)> = s
        .aggregates(november, Level::Village, &Scope::default())
        .await
        .expect("report")
        .into_iter()
        .filter(|a| a.group.as_deref() != Some(beibao_server::report::TOTAL) && a.key == K::ServicesClosed)
        .map(|a| (a.group, a.key))
        .collect();
    assert_eq!(by_village, [(None, K::ServicesClosed)], "work outside any village groups as none");
}

fn kept_facts_of_v1(json: Option<String>) {
    let placed = beibao_server::rollup::parse_facts(&json.expect("the visit keeps its facts")).expect("readable");
    assert_eq!(placed.len(), 2);
    assert!(placed.iter().all(|p| p.station == "S4" && p.village == "370406102001" && p.officer == "OF-4"));
    assert_eq!(placed[0].subject.as_deref(), Some("H1"));
}

#[test]
fn a_sqlite_database_of_schema_4_has_its_facts_folded_into_the_rollups() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("beibao.db");
    drop(Sqlite::open(&path).expect("fresh"));
    let c = rusqlite::Connection::open(&path).expect("open by hand");
    c.execute_batch(&back_to_facts(false)).expect("back to 4");
    c.execute_batch(SCHEMA_4_FACTS).expect("schema 4 facts");
    drop(c);
    let s = Sqlite::open(&path).expect("schema 4 upgrades");
    rt.block_on(schema_4_facts_are_kept(&s));
    let c = rusqlite::Connection::open(&path).expect("open by hand");
    kept_facts_of_v1(c.query_row("SELECT facts FROM records WHERE id = 'V1'", [], |r| r.get(0)).expect("row"));
    let none: Option<String> =
        c.query_row("SELECT name FROM sqlite_master WHERE name = 'facts'", [], |r| r.get(0)).ok();
    assert_eq!(none, None, "the facts table is gone");
}

#[test]
fn a_postgres_database_of_schema_4_has_its_facts_folded_into_the_rollups() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("schema4").expect("createdb");
    let rt = runtime();
    drop(rt.block_on(admin::open_storage(&url, Some(2))).expect("fresh"));
    postgres_by_hand(&rt, &url, &[&back_to_facts(true), SCHEMA_4_FACTS]);
    let s = rt.block_on(admin::open_storage(&url, Some(2))).expect("schema 4 upgrades");
    rt.block_on(schema_4_facts_are_kept(s.as_ref()));
    let json: Option<String> = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect by hand");
        tokio::spawn(conn);
        c.query_one("SELECT facts FROM records WHERE id = 'V1'", &[]).await.expect("row").get(0)
    });
    kept_facts_of_v1(json);
}
