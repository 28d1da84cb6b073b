//! Enrolled devices that push what is not theirs, on both backends (issue 14): a device writes
//! only its officer's records and moves only its officer's requests; an op the server cannot
//! apply ends as a per-op rejection, never an error that blocks the device's queue; op ids are
//! a device's own.

use std::sync::Arc;

use beibao_core::activity::{PublicitySession, PublicityTopic};
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::{FeeQuote, Mode};
use beibao_core::clock::Received;
use beibao_core::code::Code;
use beibao_core::ops::RequestEvent;
use beibao_core::service_request::{RequestState, ServiceRequest, Transition};
use beibao_server::app::code_hash;
use beibao_server::storage::{Enrollment, Storage};
use beibao_server::{Sqlite, admin};
use beibao_sync::wire::{OpResult, OpStatus, WireOp};
use beibao_tests::{fixtures, pg::Cluster, runtime, t0};

/// An officer and their enrolled device, pushing from seq 1.
struct Pusher {
    device: String,
    officer: String,
    village: String,
    seq: i64,
}

impl Pusher {
    async fn enroll(s: &dyn Storage, device: &str, officer: &str) -> Pusher {
        let code = format!("code-{device}");
        s.issue_code(&code_hash(&code), officer, t0() + chrono::Duration::days(1), t0()).await.expect("code");
        s.enroll(
            &Enrollment {
                code_hash: code_hash(&code),
                device_id: device.into(),
                officer_id: officer.into(),
                public_key: "11".repeat(32),
            },
            t0(),
        )
        .await
        .expect("enroll");
        let village = fixtures().registry.villages_of(officer)[0].to_owned();
        Pusher { device: device.into(), officer: officer.into(), village, seq: 0 }
    }

    fn op(&mut self, op_id: &str, kind: &str, payload: &impl serde::Serialize) -> WireOp {
        self.seq += 1;
        let p = serde_json::to_string(payload).expect("json");
        WireOp::new(self.seq, op_id, kind, &sha256_hex(p.as_bytes()), &p).expect("op")
    }

    async fn push(&self, s: &dyn Storage, ops: Vec<WireOp>) -> Vec<OpResult> {
        let device = s.device(&self.device).await.expect("device").expect("enrolled");
        let f = fixtures();
        // Received a week on: the records of these tests are stamped over the days after t0.
        let now = t0() + chrono::Duration::days(7);
        let received = Received { at: now, device_now: None, enrolled_at: device.enrolled_at };
        let checks =
            beibao_server::plan::check_all(&ops, &device, std::slice::from_ref(&f.catalog), &f.calendar, &received);
        let batch = format!("{}-{}", self.device, ops[0].seq);
        s.push(&self.device, &batch, ops, checks, now)
            .await
            .expect("a push answers, whatever its ops")
            .expect("no gap")
            .results
    }

    fn publicity(&self, id: u128, attendees: u32) -> PublicitySession {
        PublicitySession {
            id: uuid::Uuid::from_u128(0x7000_8000_0000_0000_0000 | id),
            device_id: self.device.clone(),
            officer_id: self.officer.clone(),
            village: self.village.clone(),
            topic: PublicityTopic::AntiFraud,
            held_at: t0(),
            attendees,
            leaflets: 5,
            note: String::new(),
        }
    }

    fn request(&self, id: u128) -> ServiceRequest {
        let h = fixtures().registry.households.iter().find(|h| h.village == self.village).expect("a household");
        ServiceRequest {
            id: uuid::Uuid::from_u128(0x7000_8000_0000_0000_0000 | id),
            device_id: self.device.clone(),
            officer_id: self.officer.clone(),
            service: "HZ01".into(),
            mode: Mode::CarryBack,
            household: Some(h.id.clone()),
            applicant: h.members[0].id.clone(),
            materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
            fee: FeeQuote { option: Some("card".into()), gross_fen: 2000, payable_fen: 2000, waiver: None },
            state: RequestState::AcceptedOnSite,
            accepted_at: t0(),
            attachments: vec![],
        }
    }

    fn carried_back(&self, event: u128, request: uuid::Uuid) -> RequestEvent {
        RequestEvent {
            id: uuid::Uuid::from_u128(0x7000_8000_0000_0000_0000 | event),
            request,
            device_id: self.device.clone(),
            officer_id: self.officer.clone(),
            transition: Transition {
                from: RequestState::AcceptedOnSite,
                to: RequestState::CarriedBack,
                reason: None,
                recipient_signature: None,
            },
            at: t0() + chrono::Duration::minutes(10),
        }
    }
}

fn status(r: &OpResult) -> (OpStatus, Option<Code>) {
    (r.status, r.code)
}

async fn adversaries(s: Arc<dyn Storage>) {
    let s = s.as_ref();
    let f = fixtures();
    s.put_registry(&f.registry, &[], t0()).await.expect("registry");
    s.publish_catalog(&f.catalog, t0()).await.expect("catalog");
    let a_officer = f.registry.officers.iter().find(|o| !f.registry.villages_of(&o.id).is_empty()).expect("officer");
    let b_officer = f
        .registry
        .officers
        .iter()
        .find(|o| o.station != a_officer.station && !f.registry.villages_of(&o.id).is_empty())
        .expect("an officer of another station");
    let mut a = Pusher::enroll(s, "dev-adv-a", &a_officer.id).await;
    let mut b = Pusher::enroll(s, "dev-adv-b", &b_officer.id).await;

    // A's record, a request and its first move.
    let request = a.request(2);
    let (first, moved) = (a.publicity(1, 30), a.carried_back(3, request.id));
    let ops = vec![
        a.op("a-1", "publicity", &first),
        a.op("a-2", "service_request", &request),
        a.op("a-3", "request_event", &moved),
    ];
    let r = a.push(s, ops).await;
    assert!(r.iter().all(|r| r.status == OpStatus::Applied), "{r:?}");

    // A record written again by its officer takes back what it counted: moved to the next day,
    // nothing of it is left on the first (no emptied rollup row lingers) and it counts on the next.
    let mut moved_on = first.clone();
    moved_on.held_at = t0() + chrono::Duration::days(1);
    let ops = vec![a.op("a-1b", "publicity", &moved_on)];
    assert_eq!(status(&a.push(s, ops).await[0]), (OpStatus::Applied, None));
    let day = |d: chrono::DateTime<chrono::Utc>| beibao_core::calendar::china_date(d);
    let counted = |from, to| async move {
        let period = beibao_server::report::Period { from, to };
        let scope = beibao_server::report::Scope::default();
        s.aggregates(period, beibao_server::report::Level::Village, &scope)
            .await
            .expect("report")
            .into_iter()
            .filter(|x| x.key == beibao_core::indicators::CountKey::PublicitySessions)
            .map(|x| x.value)
            .collect::<Vec<i64>>()
    };
    assert_eq!(counted(day(t0()), day(t0())).await, Vec::<i64>::new(), "nothing left on the first day");
    let next = day(t0() + chrono::Duration::days(1));
    assert_eq!(counted(next, next).await, vec![1, 1], "its village's row and the total");
    let a_records = s.records(&a.device, "publicity").await.expect("records");

    // B names A's record id in a record of its own (its payload names B, so it passes the
    // author check): refused, and A's record stays A's, as A wrote it.
    let mut squat = b.publicity(1, 999);
    squat.village = b.village.clone();
    let other = b.publicity(11, 12);
    let ops = vec![b.op("b-1", "publicity", &squat), b.op("b-2", "publicity", &other)];
    let r = b.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Rejected, Some(Code::Forbidden)), "{r:?}");
    assert_eq!(status(&r[1]), (OpStatus::Applied, None), "the rest of B's batch goes on");
    assert_eq!(s.records(&a.device, "publicity").await.expect("records"), a_records);
    assert_eq!(s.records(&b.device, "publicity").await.expect("records").len(), 1);

    // B moves A's request (another station's): refused, the request where A left it.
    let mut closing = b.carried_back(21, request.id);
    closing.transition.from = RequestState::CarriedBack;
    closing.transition.to = RequestState::Submitted;
    let ops = vec![b.op("b-3", "request_event", &closing)];
    let r = b.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Rejected, Some(Code::Forbidden)), "{r:?}");
    let (row, _) = s.request(&request.id.to_string()).await.expect("request").expect("held");
    assert_eq!(row.state, RequestState::CarriedBack);

    // A pushes an event id already recorded (a new op): a per-op rejection, and the ops after
    // it in the batch are applied (it used to fail the whole push, on every retry).
    let mut again = a.carried_back(3, request.id);
    again.transition.from = RequestState::CarriedBack;
    again.transition.to = RequestState::Submitted;
    let later = a.publicity(5, 8);
    let ops = vec![a.op("a-4", "request_event", &again), a.op("a-5", "publicity", &later)];
    let r = a.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Rejected, Some(Code::EventExists)), "{r:?}");
    assert_eq!(status(&r[1]), (OpStatus::Applied, None));
    // Twice in one batch: the second is the one refused.
    let mut twice = a.carried_back(6, request.id);
    twice.transition.from = RequestState::CarriedBack;
    twice.transition.to = RequestState::Submitted;
    let ops = vec![a.op("a-6", "request_event", &twice), a.op("a-7", "request_event", &twice)];
    let r = a.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Applied, None), "{r:?}");
    assert_eq!(status(&r[1]), (OpStatus::Rejected, Some(Code::EventExists)), "{r:?}");

    // Op ids are a device's own: B pushing an op id first does not make A's op a duplicate.
    let p = b.publicity(12, 3);
    let ops = vec![b.op("shared-op", "publicity", &p)];
    let r = b.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Applied, None));
    let p = a.publicity(13, 4);
    let ops = vec![a.op("shared-op", "publicity", &p)];
    let r = a.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Applied, None), "{r:?}");
    // Within one device an op id is still once.
    let p = a.publicity(14, 4);
    let ops = vec![a.op("shared-op", "publicity", &p)];
    let r = a.push(s, ops).await;
    assert_eq!(status(&r[0]), (OpStatus::Duplicate, None), "{r:?}");
}

#[test]
fn devices_touch_only_their_officers_records_on_sqlite() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let s = Arc::new(Sqlite::open(&dir.path().join("beibao.db")).expect("open"));
    rt.block_on(adversaries(s));
}

#[test]
fn devices_touch_only_their_officers_records_on_postgres() {
    let cluster = Cluster::start(false).expect("a throwaway PostgreSQL cluster (apt-get install postgresql)");
    let url = cluster.database("adversary").expect("createdb");
    let rt = runtime();
    let s = rt.block_on(admin::open_storage(&url, None)).expect("connect");
    rt.block_on(adversaries(s));
}
