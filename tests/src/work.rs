//! A seeded day of field work on a tablet (visits, service requests moved along and delivered
//! with a signature image, hazards found and fixed, publicity, and ops the server must reject),
//! and the check that the server holds exactly what the tablet sent.

use std::collections::BTreeMap;

use beibao_core::activity::{Hazard, HazardKind, PublicitySession, PublicityTopic};
use beibao_core::clock::Clock;
use beibao_core::ops::OpKind;
use beibao_core::service_request::RequestState;
use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::{AcceptInput, OpenMediation, SignatureInput, VisitInput};
use beibao_store::Store;
use beibao_store::outbox::{self, Op};
use beibao_sync::wire::OpStatus;
use chrono::Duration;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

use crate::{OFFICER, PIN, Server, Tablet, fixtures};

/// The recipient's signature image of the demo.
pub const PNG: &[u8] = include_bytes!("../../fixtures/demo/signature.png");

/// Households of the demo officer's villages that have a position.
pub fn households() -> Vec<&'static beibao_core::registry::Household> {
    let f = fixtures();
    let villages = f.registry.villages_of(OFFICER);
    f.registry.households.iter().filter(|h| villages.contains(&h.village.as_str()) && h.location.is_some()).collect()
}

/// One visit at a household, with a fix at the door.
pub fn visit(t: &mut Tablet, rng: &mut ChaCha8Rng) {
    let hs = households();
    let h = hs[rng.random_range(0..hs.len())];
    let home = h.location.expect("located");
    let draft = t
        .session
        .start_visit(VisitTarget::Household(h.id.clone()), vec![VisitPurpose::HazardCheck])
        .expect("start visit");
    t.clock.advance(Duration::minutes(rng.random_range(5..40)));
    let fix = GpsFix { lat: home.lat, lon: home.lon + 0.0001, accuracy_m: 10.0, taken_at: t.clock.now() };
    t.session
        .record_visit(VisitInput {
            id: Some(draft.id),
            target: draft.target,
            purposes: draft.purposes,
            started_at: draft.started_at,
            ended_at: t.clock.now(),
            outcome: VisitOutcome::Met,
            persons_met: 2,
            fix: Some(fix),
            note: "走访".into(),
        })
        .expect("record visit");
}

/// An ID card application carried back, moved `steps` states along (6 = delivered with a
/// signature image, which queues a blob).
pub fn service(t: &mut Tablet, rng: &mut ChaCha8Rng, steps: usize) {
    let hs = households();
    let h = hs[rng.random_range(0..hs.len())];
    let r = t
        .session
        .accept_service(AcceptInput {
            service: "HZ01".into(),
            mode: None,
            household: Some(h.id.clone()),
            applicant: h.members[0].id.clone(),
            materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
            fee_option: None,
        })
        .expect("accept");
    let path = [
        RequestState::CarriedBack,
        RequestState::Submitted,
        RequestState::Approved,
        RequestState::Made,
        RequestState::ReadyToDeliver,
    ];
    for to in path.iter().take(steps.min(5)) {
        t.session.advance_service(r.id, *to, None).expect("advance");
    }
    if steps > 5 {
        t.session.deliver_service(r.id, PNG).expect("deliver");
    }
}

/// A hazard found, and maybe fixed (the same record sent twice).
pub fn hazard(t: &mut Tablet, rng: &mut ChaCha8Rng, fix: bool) {
    let village = fixtures().registry.villages_of(OFFICER)[0].to_owned();
    let h = t
        .session
        .record_hazard(Hazard {
            id: uuid::Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            village,
            kind: HazardKind::EbikeCharging,
            place: format!("{}号院", rng.random_range(1..99)),
            description: "电动车楼道充电".into(),
            found_at: t.clock.now(),
            deadline: None,
            fixed_at: None,
        })
        .expect("hazard");
    if fix {
        t.clock.advance(Duration::hours(2));
        t.session.fix_hazard(h.id).expect("fix");
    }
}

/// A publicity session.
pub fn publicity(t: &mut Tablet, rng: &mut ChaCha8Rng) {
    let village = fixtures().registry.villages_of(OFFICER)[0].to_owned();
    t.session
        .record_publicity(PublicitySession {
            id: uuid::Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            village,
            topic: PublicityTopic::AntiFraud,
            held_at: t.clock.now(),
            attendees: rng.random_range(5..60),
            leaflets: 20,
            note: String::new(),
        })
        .expect("publicity");
}

/// An op the server must reject (written around the tablet's own checks, as a buggy or
/// tampered tablet would): a publicity session with nobody attending.
pub fn bad_op(t: &mut Tablet, n: u64) {
    let now = t.clock.now();
    let mut store = Store::unlock(&t.path, PIN, now).expect("second connection");
    let session = PublicitySession {
        id: uuid::Uuid::from_u128(0xbad0_0000_0000_7000_8000_0000_0000_0000 | u128::from(n)),
        device_id: t.session.device_id().to_owned(),
        officer_id: OFFICER.to_owned(),
        village: "x".into(),
        topic: PublicityTopic::Other,
        held_at: now,
        attendees: 0,
        leaflets: 0,
        note: String::new(),
    };
    let op = uuid::Uuid::from_u128(0xbad1_0000_0000_7000_8000_0000_0000_0000 | u128::from(n));
    store
        .write(|tx| outbox::enqueue(tx, op, OpKind::Publicity, &session.id.to_string(), &session, now).map(|_| ()))
        .expect("enqueue bad op");
}

/// A random mix of about `n` records; returns how many bad ops were slipped in.
pub fn day(t: &mut Tablet, rng: &mut ChaCha8Rng, n: usize) -> u64 {
    let mut bad = 0;
    for _ in 0..n {
        match rng.random_range(0..100) {
            0..55 => visit(t, rng),
            55..70 => {
                let steps = rng.random_range(0..7);
                service(t, rng, steps)
            }
            70..80 => {
                let fix = rng.random_bool(0.5);
                hazard(t, rng, fix)
            }
            80..94 => publicity(t, rng),
            _ => {
                bad += 1;
                bad_op(t, rng.random());
            }
        }
    }
    bad
}

/// Differences between a tablet and the server after a sync.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Ops the tablet holds that the server lacks (or holds at another seq).
    pub lost: u64,
    /// Ops applied more than once / stored as duplicates.
    pub duplicated: u64,
    /// Ops still pending on the tablet.
    pub stuck: u64,
    /// Other disagreements, described.
    pub problems: Vec<String>,
}

impl Verdict {
    /// Nothing wrong.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.stuck == 0 && self.problems.is_empty()
    }
}

fn all_ops(t: &Tablet) -> Vec<Op> {
    outbox::all(t.session.store().conn()).expect("outbox")
}

/// Compare the tablet's outbox with the server: every op exactly once at its seq, in order,
/// with the same result on both sides, and every applied record held by the server as sent.
pub fn check(rt: &Runtime, t: &Tablet, server: &Server, expect_rejected: u64) -> Verdict {
    let mut v = Verdict::default();
    let storage = server.state.storage().clone();
    let device = t.session.device_id().to_owned();
    let results = rt.block_on(storage.op_results(&device)).expect("op results");
    let ops = all_ops(t);
    let by_seq: BTreeMap<i64, _> = results.iter().map(|r| (r.seq, r)).collect();
    for op in &ops {
        if op.state == "pending" {
            v.stuck += 1;
        }
        match by_seq.get(&op.seq) {
            None => v.lost += 1,
            Some(r) if r.op_id != op.op_id => v.lost += 1,
            Some(r) => {
                if r.status.as_str() != op.state && op.state != "pending" {
                    v.problems.push(format!("seq {}: tablet says {}, server {}", op.seq, op.state, r.status.as_str()));
                }
            }
        }
    }
    if results.len() != ops.len() {
        v.problems.push(format!("server holds {} ops, tablet {}", results.len(), ops.len()));
    }
    let seqs: Vec<i64> = results.iter().map(|r| r.seq).collect();
    if seqs != (1..=results.len() as i64).collect::<Vec<_>>() {
        v.problems.push("server seqs are not 1..n in order".into());
    }
    v.duplicated = results.iter().filter(|r| r.status == OpStatus::Duplicate).count() as u64;
    let rejected = results.iter().filter(|r| r.status == OpStatus::Rejected).count() as u64;
    if rejected != expect_rejected {
        v.problems.push(format!("{rejected} ops rejected, {expect_rejected} expected"));
    }
    // Records: the last applied payload per entity, per kind, equals the server's body.
    let mut expected: BTreeMap<(String, String), String> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.state == "applied") {
        if op.kind == "request_event" {
            continue;
        }
        expected.insert((op.kind.clone(), op.entity_id.clone()), op.payload.clone());
    }
    for kind in ["visit", "service_request", "publicity", "hazard", "mediation", "rating"] {
        let held: BTreeMap<String, String> =
            rt.block_on(storage.records(&device, kind)).expect("records").into_iter().collect();
        let want: BTreeMap<String, String> =
            expected.iter().filter(|((k, _), _)| k == kind).map(|((_, id), body)| (id.clone(), body.clone())).collect();
        if held != want {
            v.problems.push(format!("{kind}: server holds {} records, tablet sent {}", held.len(), want.len()));
        }
    }
    v
}

/// A people's mediation filled from the demo's edits, signed by both parties and the mediator,
/// finalized (hashed, serial taken, signed with the device key). Returns the case.
pub fn mediation(t: &mut Tablet) -> beibao_store::records::MediationCase {
    use beibao_core::mediation::MediationKind;
    use beibao_core::mediation::agreement::{Mark, Signer, StrokePoint};
    use beibao_core::mediation::eligibility::EligibilityInput;
    let dir = beibao_fixtures::default_dir().join("demo");
    let edits: Vec<beibao_field::MediationEdit> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mediation-edits.json")).expect("edits"))
            .expect("edits json");
    let strokes: Vec<Vec<StrokePoint>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("strokes.json")).expect("strokes"))
            .expect("strokes json");
    let village = fixtures().registry.villages_of(OFFICER)[0].to_owned();
    let today = t.session.today();
    let kind = MediationKind::People;
    let case = t
        .session
        .open_mediation(OpenMediation {
            kind,
            village,
            eligibility: EligibilityInput::consenting(kind, None),
            accepted_on: today,
        })
        .expect("open mediation");
    for e in edits {
        t.session.edit_mediation(case.id, e).expect("edit");
    }
    for signer in [Signer::Party(0), Signer::Party(1), Signer::Mediator(0)] {
        t.clock.advance(Duration::minutes(1));
        let input = SignatureInput { signer, mark: Mark::Signature, strokes: strokes.clone(), png: PNG.to_vec() };
        t.session.sign_mediation(case.id, input).expect("sign");
    }
    t.session.finalize_mediation(case.id, beibao_core::mediation::Outcome::WrittenAgreement).expect("finalize")
}
