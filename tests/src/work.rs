//! A seeded day of field work on a tablet (visits, service requests moved along and delivered
//! with a signature image, hazards found and fixed, publicity, and ops the server must reject),
//! and the check that the server holds exactly what the tablet sent.

use std::collections::BTreeMap;

use beibao_core::activity::{
    Hazard, HazardKind, PublicitySession, PublicityTopic, Rating, RatingSubject, Satisfaction,
};
use beibao_core::canonical::sha256_hex;
use beibao_core::clock::Clock;
use beibao_core::ops::OpKind;
use beibao_core::service_request::RequestState;
use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::{AcceptInput, AdvanceInput, DeliverInput, OpenMediation, SignatureInput, VisitInput};
use beibao_store::Store;
use beibao_store::outbox::{self, Op};
use beibao_sync::wire::OpStatus;
use chrono::Duration;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

use crate::{OFFICER, PIN, Server, Tablet, fixtures};

/// The recipient's signature image of the demo.
pub const PNG: &[u8] = beibao_testkit::SIGNATURE_PNG;

/// Households of the demo officer's villages that have a position.
pub fn households() -> Vec<&'static beibao_core::registry::Household> {
    households_of(OFFICER)
}

/// Households of an officer's villages that have a position.
pub fn households_of(officer: &str) -> Vec<&'static beibao_core::registry::Household> {
    let f = fixtures();
    let villages = f.registry.villages_of(officer);
    f.registry.households.iter().filter(|h| villages.contains(&h.village.as_str()) && h.location.is_some()).collect()
}

/// The first village of the tablet's officer.
fn first_village(session: &beibao_field::Session) -> String {
    fixtures().registry.villages_of(session.officer_id())[0].to_owned()
}

/// One visit at a household, with a fix at the door. Returns its id.
pub fn visit(t: &mut Tablet, rng: &mut ChaCha8Rng) -> uuid::Uuid {
    let hs = households_of(t.session.officer_id());
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
            pin: None,
            note: "走访".into(),
        })
        .expect("record visit");
    draft.id
}

/// A resident's rating of a visit, a service or a mediation.
pub fn rating(t: &mut Tablet, subject: RatingSubject, rng: &mut ChaCha8Rng) {
    let rating =
        [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied][rng.random_range(0..3)];
    t.session
        .record_rating(Rating {
            id: uuid::Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            subject,
            rating,
            comment: None,
            rated_at: t.clock.now(),
        })
        .expect("rating");
}

/// A signature image unique to `n` (bytes after a PNG's end are ignored by every reader), so
/// each signature is a blob of its own.
pub fn png(n: u64) -> Vec<u8> {
    let mut png = PNG.to_vec();
    png.extend_from_slice(&n.to_le_bytes());
    png
}

/// A first resident ID card (HZ01) for the household's head, carried back, the usual fee.
pub fn id_card_for(h: &beibao_core::registry::Household) -> AcceptInput {
    AcceptInput {
        service: "HZ01".into(),
        mode: None,
        household: Some(h.id.clone()),
        applicant: h.members[0].id.clone(),
        materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
        fee_option: None,
        attachments: vec![],
    }
}

/// An ID card application carried back, moved `steps` states along (6 = delivered with a
/// signature image, which queues a blob).
pub fn service(t: &mut Tablet, rng: &mut ChaCha8Rng, steps: usize) {
    let hs = households_of(t.session.officer_id());
    let h = hs[rng.random_range(0..hs.len())];
    let r = t.session.accept_service(id_card_for(h)).expect("accept");
    let path = [
        RequestState::CarriedBack,
        RequestState::Submitted,
        RequestState::Approved,
        RequestState::Made,
        RequestState::ReadyToDeliver,
    ];
    for to in path.iter().take(steps.min(5)) {
        t.session.advance_service(AdvanceInput { id: r.id, to: *to, reason: None }).expect("advance");
    }
    if steps > 5 {
        t.session.deliver_service(DeliverInput { id: r.id, signature_png: png(rng.random()) }).expect("deliver");
        if rng.random_bool(0.5) {
            rating(t, RatingSubject::ServiceRequest(r.id), rng);
        }
    }
}

/// A hazard found, and maybe fixed (the same record sent twice).
pub fn hazard(t: &mut Tablet, rng: &mut ChaCha8Rng, fix: bool) {
    let village = first_village(&t.session);
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
    let village = first_village(&t.session);
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
        officer_id: t.session.officer_id().to_owned(),
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
            0..55 => {
                let id = visit(t, rng);
                if rng.random_bool(0.3) {
                    rating(t, RatingSubject::Visit(id), rng);
                }
            }
            55..70 => {
                let steps = rng.random_range(0..7);
                service(t, rng, steps)
            }
            70..80 => {
                let fix = rng.random_bool(0.5);
                hazard(t, rng, fix)
            }
            80..88 => publicity(t, rng),
            88..94 => {
                let case = signed_mediation(t, rng);
                if rng.random_bool(0.5) {
                    rating(t, RatingSubject::Mediation(case), rng);
                }
            }
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
    // The month and year rollups agree with the day rows, whatever was recorded again.
    let drift = rt.block_on(storage.rollup_drift()).expect("rollups");
    if drift != 0 {
        v.problems.push(format!("{drift} month or year rollup rows differ from the day rows folded"));
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
    check_blobs(rt, t, server, &mut v);
    check_pulled(rt, t, server, &mut v);
    v
}

/// Every blob the tablet holds arrived whole: marked uploaded, and the server's bytes are the
/// tablet's, hashing to their name.
fn check_blobs(rt: &Runtime, t: &Tablet, server: &Server, v: &mut Verdict) {
    let conn = t.session.store().conn();
    let mut stmt = conn.prepare("SELECT sha256, bytes, uploaded FROM blobs ORDER BY sha256").expect("blobs");
    let blobs: Vec<(String, Vec<u8>, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read");
    for (sha, bytes, uploaded) in blobs {
        if !uploaded {
            v.problems.push(format!("blob {sha} is still waiting on the tablet"));
        }
        match rt.block_on(server.state.storage().blob_bytes(&sha)).expect("blob bytes") {
            Some(held) if held == bytes && sha256_hex(&held) == sha => {}
            Some(held) => v.problems.push(format!("blob {sha}: the server holds {} other bytes", held.len())),
            None => v.problems.push(format!("blob {sha}: the server holds no complete copy")),
        }
    }
}

/// The tablet's pulled state equals the server's: every change offered to its officer is held,
/// at its cursor, with the same body, and every request's state is the server's.
fn check_pulled(rt: &Runtime, t: &Tablet, server: &Server, v: &mut Verdict) {
    let storage = server.state.storage();
    let (offered, more) = rt.block_on(storage.pull(OFFICER, 0, 1_000_000)).expect("pull");
    assert!(!more);
    let conn = t.session.store().conn();
    let mut stmt = conn.prepare("SELECT cursor, kind, key, body FROM pulled ORDER BY cursor").expect("pulled");
    let held: Vec<(i64, String, String, serde_json::Value)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?)))
        .expect("query")
        .map(|r| r.map(|(c, k, key, body)| (c, k, key, serde_json::from_str(&body).unwrap_or_default())))
        .collect::<Result<_, _>>()
        .expect("read");
    let offered: Vec<(i64, String, String, serde_json::Value)> =
        offered.into_iter().map(|c| (c.cursor, c.kind, c.key, c.body)).collect();
    if held != offered {
        v.problems.push(format!("the tablet pulled {} changes, the server offers {}", held.len(), offered.len()));
    }
    let mut stmt = conn.prepare("SELECT id, state FROM service_requests ORDER BY id").expect("requests");
    let states: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("read");
    for (id, state) in states {
        match rt.block_on(storage.request(&id)).expect("request") {
            Some((row, _))
                if serde_json::to_value(row.state).ok() == Some(serde_json::Value::String(state.clone())) => {}
            Some((row, _)) => v.problems.push(format!("request {id}: tablet {state}, server {:?}", row.state)),
            None => v.problems.push(format!("request {id}: not on the server")),
        }
    }
}

/// Offer the officer's share of the registry to pull (towns, their villages, households,
/// enterprises, assignments), as `seed` does.
pub fn publish_registry(rt: &Runtime, server: &Server) {
    static CHANGES: std::sync::OnceLock<Vec<(String, beibao_core::change::ChangeBody)>> = std::sync::OnceLock::new();
    let changes = CHANGES.get_or_init(|| {
        beibao_server::admin::registry_changes(&fixtures().registry)
            .into_iter()
            .filter(|(scope, _)| scope == "*" || scope == OFFICER)
            .collect()
    });
    rt.block_on(server.state.storage().publish_changes(changes, server.clock.now())).expect("publish the registry");
}

/// Publish the register changes another officer's tablet pulls (shared ones and theirs).
pub fn publish_registry_for(rt: &Runtime, server: &Server, officer: &str) {
    if officer == OFFICER {
        return publish_registry(rt, server);
    }
    let changes: Vec<_> = beibao_server::admin::registry_changes(&fixtures().registry)
        .into_iter()
        .filter(|(scope, _)| scope == "*" || scope == officer)
        .collect();
    rt.block_on(server.state.storage().publish_changes(&changes, server.clock.now())).expect("publish the registry");
}

/// The station desk moves one of the officer's carried-back requests to submitted (the tablet
/// pulls the new state); returns whether there was one.
pub fn desk_move(rt: &Runtime, server: &Server, rng: &mut ChaCha8Rng) -> bool {
    let storage = server.state.storage();
    let station = rt.block_on(storage.officer(OFFICER)).expect("officer").expect("seeded").station;
    let rows = rt.block_on(storage.requests_at(&station, Some(RequestState::CarriedBack), 100)).expect("requests");
    if rows.is_empty() {
        return false;
    }
    let row = &rows[rng.random_range(0..rows.len())];
    let step = beibao_core::service_request::Transition {
        from: RequestState::CarriedBack,
        to: RequestState::Submitted,
        reason: None,
        recipient_signature: None,
    };
    let event = format!("desk-{:016x}", rng.random::<u64>());
    rt.block_on(storage.desk_transition(&row.id, &step, "desk:fault-loop", &event, server.clock.now())).expect("move");
    true
}

/// A people's mediation filled from the demo's edits, signed by both parties and the mediator,
/// finalized (hashed, serial taken, signed with the device key). Returns the case.
pub fn mediation(t: &mut Tablet) -> beibao_store::records::MediationCase {
    mediation_signed_with(t, &[PNG.to_vec(), PNG.to_vec(), PNG.to_vec()])
}

/// A mediation as [`mediation`], each of its three signatures a blob of its own; returns its id.
pub fn signed_mediation(t: &mut Tablet, rng: &mut ChaCha8Rng) -> uuid::Uuid {
    let pngs = [png(rng.random()), png(rng.random()), png(rng.random())];
    mediation_signed_with(t, &pngs).id
}

fn mediation_signed_with(t: &mut Tablet, pngs: &[Vec<u8>; 3]) -> beibao_store::records::MediationCase {
    let id = signed_mediation_draft(&mut t.session, &t.clock, pngs);
    t.session.finalize_mediation(id, beibao_core::mediation::Outcome::WrittenAgreement).expect("finalize")
}

/// A people's mediation draft filled from the demo's edits and signed by both parties and the
/// mediator (one minute apart on `clock`), ready to finalize. Returns its id.
pub fn signed_mediation_draft(
    session: &mut beibao_field::Session,
    clock: &beibao_core::clock::FixedClock,
    pngs: &[Vec<u8>; 3],
) -> uuid::Uuid {
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
    let village = first_village(session);
    let today = session.today();
    let kind = MediationKind::People;
    let case = session
        .open_mediation(OpenMediation {
            kind,
            village,
            eligibility: EligibilityInput::consenting(kind, None),
            accepted_on: today,
        })
        .expect("open mediation");
    for e in edits {
        // On a day after the demo's performance deadline (the app's tests run on today's clock),
        // the deadline moves to a week from the day.
        let e = match e {
            beibao_field::MediationEdit::Performance { mut performance } if performance.deadline < today => {
                performance.deadline = today + Duration::days(7);
                beibao_field::MediationEdit::Performance { performance }
            }
            other => other,
        };
        session.edit_mediation(case.id, e).expect("edit");
    }
    for (signer, png) in [Signer::Party(0), Signer::Party(1), Signer::Mediator(0)].into_iter().zip(pngs) {
        clock.advance(Duration::minutes(1));
        let input = SignatureInput { signer, mark: Mark::Signature, strokes: strokes.clone(), png: png.clone() };
        session.sign_mediation(case.id, input).expect("sign");
    }
    case.id
}
