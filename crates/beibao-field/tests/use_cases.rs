//! The officer's use cases end to end on a real encrypted store, with a fixed clock and
//! sequential ids.

use beibao_core::code::Code;
use std::path::PathBuf;
use std::sync::Arc;

use beibao_core::activity::{
    Hazard, HazardKind, PublicitySession, PublicityTopic, Rating, RatingSubject, Satisfaction,
};
use beibao_core::clock::{Clock, FixedClock, SequentialIds};
use beibao_core::indicators::IndicatorValue;
use beibao_core::mediation::after::{CourtRuling, RecurrenceKind};
use beibao_core::mediation::agreement::{
    AgreementGps, Mark, Mediator, MediatorRole, Party, PartyRole, Performance, Signer, StrokePoint,
};
use beibao_core::mediation::eligibility::{BlockReason, CaseType, EligibilityInput};
use beibao_core::mediation::{MediationKind, Outcome};
use beibao_core::registry::Household;
use beibao_core::service_request::RequestState;
use beibao_core::visit::{GpsFix, ManualPin, ProofVerdict, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::{
    AcceptInput, AdvanceInput, DeliverInput, DraftKind, Env, FieldError, JudicialInput, MediationEdit, OpenMediation,
    RecurrenceInput, Session, SignatureInput, VisitInput,
};
use beibao_fixtures::Fixtures;
use beibao_store::key::KdfParams;
use beibao_store::outbox;
use beibao_testkit::{Counting, t0};
use chrono::{Duration, NaiveDate};
use uuid::Uuid;

const OFFICER: &str = "OF-03-01";
const PIN: &str = "246810";
const PNG: &[u8] = beibao_testkit::SIGNATURE_PNG;

fn fixtures() -> Fixtures {
    beibao_testkit::fixtures().clone()
}

struct Tablet {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: Arc<FixedClock>,
    env: Env,
    session: Session,
    fixtures: Fixtures,
}

fn tablet() -> Tablet {
    tablet_for(OFFICER)
}

fn tablet_for(officer: &str) -> Tablet {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("tablet.db");
    let clock = Arc::new(FixedClock::new(t0()));
    let env = Env { clock: clock.clone(), ids: Arc::new(SequentialIds::default()) };
    let fixtures = fixtures();
    let (session, report) = beibao_field::init_from_fixtures(
        &path,
        PIN,
        officer,
        &fixtures,
        KdfParams::TEST_ONLY,
        &mut Counting(3),
        env.clone(),
    )
    .expect("init");
    assert_eq!(
        report.seeded.villages,
        fixtures.registry.villages_of(officer).len(),
        "the officer's villages are seeded"
    );
    assert!(report.seeded.households > 0);
    Tablet { _dir: dir, path, clock, env, session, fixtures }
}

impl Tablet {
    /// The app is killed (the session dropped without locking) and unlocked again.
    fn relock(&mut self) {
        let fresh = beibao_field::unlock(&self.path, PIN, self.env.clone());
        self.session = fresh.expect("unlock again");
    }
}

/// A household of the officer's villages with a position, with or without members of the care
/// indicator's groups.
fn household(t: &Tablet, care: bool) -> Household {
    household_where(t, |h| h.location.is_some() && h.groups().iter().any(|g| g.counts_for_care_indicator()) == care)
        .expect("a household")
}

/// The first household of the officer's villages that `pick` accepts.
fn household_where(t: &Tablet, pick: impl Fn(&Household) -> bool) -> Option<Household> {
    let villages = t.fixtures.registry.villages_of(OFFICER);
    t.fixtures.registry.households.iter().find(|h| villages.contains(&h.village.as_str()) && pick(h)).cloned()
}

/// An ID-card renewal (HZ02, carried back) for the household's first member, every material
/// ticked, with these images.
fn renewal(h: &Household, attachments: Vec<beibao_field::Attachment>) -> AcceptInput {
    AcceptInput {
        service: "HZ02".into(),
        mode: None,
        household: Some(h.id.clone()),
        applicant: h.members[0].id.clone(),
        materials: vec!["old_id_card".into(), "hukou_book".into(), "photo_fingerprints".into()],
        fee_option: None,
        attachments,
    }
}

#[test]
fn init_refuses_an_unknown_officer_and_unlock_checks_the_pin() {
    let t = tablet();
    let dir = tempfile::tempdir().expect("tmp");
    let err = beibao_field::init_from_fixtures(
        &dir.path().join("x.db"),
        PIN,
        "OF-99-99",
        &t.fixtures,
        KdfParams::TEST_ONLY,
        &mut Counting(1),
        t.env.clone(),
    )
    .expect_err("unknown officer");
    assert_eq!(err.code(), Code::NotFound);
    t.session.lock().expect("lock");
    let err = beibao_field::unlock(&t.path, "999999", t.env.clone()).expect_err("wrong PIN");
    assert_eq!(err.code(), Code::PinWrong);
    let s = beibao_field::unlock(&t.path, PIN, t.env.clone()).expect("unlock");
    assert_eq!((s.officer_id(), s.catalog().services.len()), (OFFICER, 38));
}

#[test]
fn change_pin_checks_the_old_pin_refuses_the_same_one_and_the_new_one_unlocks() {
    let t = tablet();
    t.session.lock().expect("lock");
    let clock = t.clock.as_ref();
    let err = beibao_field::change_pin(&t.path, "000000", "13579135", clock, &mut Counting(7)).expect_err("old");
    assert_eq!(err.code(), Code::PinWrong, "a wrong old PIN counts like a wrong unlock");
    let err = beibao_field::change_pin(&t.path, PIN, PIN, clock, &mut Counting(7)).expect_err("same");
    assert_eq!(err.code(), Code::Invalid, "the new PIN must differ from the old one");
    beibao_field::change_pin(&t.path, PIN, "13579135", clock, &mut Counting(7)).expect("change");
    let err = beibao_field::unlock(&t.path, PIN, t.env.clone()).expect_err("the old PIN is gone");
    assert_eq!(err.code(), Code::PinWrong);
    beibao_field::unlock(&t.path, "13579135", t.env.clone()).expect("the new PIN unlocks");
}

#[test]
fn a_tablet_made_without_fixtures_carries_the_bundled_catalog_and_calendar_and_waits_for_its_register() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.db");
    let env = Env { clock: Arc::new(FixedClock::new(t0())), ids: Arc::new(SequentialIds::default()) };
    let (session, report) =
        beibao_field::init(&path, PIN, OFFICER, KdfParams::TEST_ONLY, &mut Counting(5), env.clone()).expect("init");
    assert_eq!(report.seeded.households, 0, "the register comes from the server by pull, not from files");
    assert_eq!(session.catalog().services.len(), 38, "the bundled catalog is installed at init");
    session.lock().expect("lock");
    let session = beibao_field::unlock(&path, PIN, env).expect("unlock");
    // The calendar comes back from the store (the day's deadlines are counted in its working days).
    assert!(session.day().expect("the day").is_empty(), "nothing due on an empty tablet");
    assert_eq!(session.catalog().services.len(), 38);
}

#[test]
fn a_visit_with_a_fix_at_the_door_is_proven_and_queued() {
    let mut t = tablet();
    let h = household(&t, true);
    assert!(t.session.special_groups_due(30).expect("due").iter().any(|x| x.id == h.id), "not yet visited: due");
    let home = h.location.expect("located");
    let draft = t
        .session
        .start_visit(VisitTarget::Household(h.id.clone()), vec![VisitPurpose::SpecialGroupCare])
        .expect("start");
    t.clock.advance(Duration::minutes(25));
    let fix = GpsFix { lat: home.lat + 0.0002, lon: home.lon, accuracy_m: 12.0, taken_at: t.clock.now() };
    let mut edited = draft.clone();
    edited.fix = Some(fix);
    edited.note = "送证上门".into();
    t.session.save_visit_draft(edited.clone()).expect("save draft");
    // The app is killed mid-visit: the draft is on the tablet when it is unlocked again.
    t.relock();
    let drafts = t.session.drafts().expect("drafts");
    assert_eq!(drafts.len(), 1, "the visit under way survived the kill");
    assert_eq!((drafts[0].id, drafts[0].kind, drafts[0].subject.as_str()), (draft.id, DraftKind::Visit, h.id.as_str()));
    let head = h.head().expect("head");
    assert_eq!(drafts[0].label, format!("{} · {}", head.name, h.address), "labelled as the officer knows it");
    let resumed = t.session.visit_draft(draft.id).expect("resume");
    assert_eq!(resumed, edited, "the draft comes back as it was saved");
    let stored = t
        .session
        .record_visit(VisitInput {
            id: Some(resumed.id),
            target: resumed.target,
            purposes: resumed.purposes,
            started_at: resumed.started_at,
            ended_at: t.clock.now(),
            outcome: VisitOutcome::Met,
            persons_met: 2,
            fix: resumed.fix,
            pin: None,
            note: resumed.note,
        })
        .expect("record");
    assert_eq!(stored.visit.id, draft.id, "the record keeps the draft's id");
    assert!(t.session.drafts().expect("drafts").is_empty(), "recording removes the draft");
    assert!(
        matches!(stored.verdict, ProofVerdict::NearHousehold { distance_m } if distance_m < 30.0),
        "{:?}",
        stored.verdict
    );
    assert!(stored.special_group, "the household has a care group");
    assert_eq!(stored.visit.ended_at - stored.visit.started_at, Duration::minutes(25));
    assert!(
        t.session.special_groups_due(30).expect("due").iter().all(|x| x.id != h.id),
        "a household visited today is no longer due"
    );
    let op = outbox::op_for(t.session.store().conn(), &stored.visit.id.to_string()).expect("op").expect("queued");
    assert_eq!(op.kind, "visit");

    let now = t.clock.now();
    let input = |purposes: Vec<VisitPurpose>, started_at, ended_at| VisitInput {
        id: None,
        target: VisitTarget::Household(h.id.clone()),
        purposes,
        started_at,
        ended_at,
        outcome: VisitOutcome::Met,
        persons_met: 1,
        fix: None,
        pin: None,
        note: String::new(),
    };
    let err = t.session.record_visit(input(vec![], now - Duration::minutes(5), now));
    assert_eq!(err.expect_err("no purpose").code(), Code::VisitNoPurpose);
    let err = t.session.record_visit(input(vec![VisitPurpose::Publicity], now, now - Duration::minutes(5)));
    assert_eq!(err.expect_err("reversed").code(), Code::VisitEndsBeforeStart);
    let err = t.session.record_visit(input(vec![VisitPurpose::Publicity], now, now + Duration::hours(1)));
    assert_eq!(err.expect_err("in the future").code(), Code::Invalid, "a visit cannot end after the tablet's clock");
    let draft = t.session.start_visit(VisitTarget::Household(h.id.clone()), vec![]).expect("start");
    t.session.discard_draft(draft.id).expect("discard");
    assert!(t.session.drafts().expect("drafts").is_empty(), "a discarded draft is gone");
    assert_eq!(t.session.discard_draft(draft.id).expect_err("gone").code(), Code::NotFound);
    let err = t
        .session
        .start_visit(VisitTarget::Household("nope".into()), vec![VisitPurpose::Publicity])
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
}

#[test]
fn today_lists_the_officers_villages_with_days_since_the_last_visit() {
    let mut t = tablet();
    let h = household(&t, true);
    let registry = &t.fixtures.registry;
    let place = |t: &Tablet, code: &str| {
        let today = t.session.today_screen().expect("today");
        today.places.into_iter().find(|p| p.code == code).expect("an assigned village")
    };
    let today = t.session.today_screen().expect("today");
    let villages = registry.villages_of(OFFICER);
    assert_eq!(today.places.iter().filter(|p| p.kind == "village").count(), villages.len());
    assert!(today.places.iter().all(|p| p.days_since_visit.is_none()), "nothing visited yet");
    assert!(today.special_due.iter().any(|x| x.id == h.id), "a care household never visited is due");
    let in_village: Vec<_> = registry.households.iter().filter(|x| x.village == h.village).collect();
    let p = place(&t, &h.village);
    assert_eq!(p.households as usize, in_village.len());
    let special = in_village.iter().filter(|x| !x.groups().is_empty()).count();
    assert_eq!(p.special_households as usize, special);

    let home = h.location.expect("located");
    let now = t.clock.now();
    t.session
        .record_visit(VisitInput {
            id: None,
            target: VisitTarget::Household(h.id.clone()),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            started_at: now - Duration::minutes(20),
            ended_at: now,
            outcome: VisitOutcome::Met,
            persons_met: 1,
            fix: Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 10.0, taken_at: now }),
            pin: None,
            note: String::new(),
        })
        .expect("record");
    assert_eq!(place(&t, &h.village).days_since_visit, Some(0));
    let other = villages.iter().find(|v| **v != h.village).expect("another village");
    assert_eq!(place(&t, other).days_since_visit, None, "only the visited village moves");
    t.clock.advance(Duration::days(3));
    assert_eq!(place(&t, &h.village).days_since_visit, Some(3));
    assert_eq!(t.session.today_screen().expect("today").pending.ops, 1, "the visit waits to sync");
}

#[test]
fn a_carried_back_id_card_goes_all_the_way_to_delivery() {
    let mut t = tablet();
    let h = household(&t, false);
    let applicant = h.members[0].id.clone();
    let dibao = h.groups().contains(&beibao_core::registry::SpecialGroup::Dibao);
    let r = t
        .session
        .accept_service(AcceptInput {
            service: "HZ01".into(),
            mode: None,
            household: Some(h.id.clone()),
            applicant,
            materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
            fee_option: None,
            attachments: vec![],
        })
        .expect("accept");
    assert_eq!(r.state, RequestState::AcceptedOnSite);
    assert_eq!(r.fee.payable_fen, if dibao { 0 } else { 2000 });
    for to in [
        RequestState::CarriedBack,
        RequestState::Submitted,
        RequestState::Approved,
        RequestState::Made,
        RequestState::ReadyToDeliver,
    ] {
        assert_eq!(t.session.advance_service(AdvanceInput { id: r.id, to, reason: None }).expect("advance").state, to);
    }
    let day = t.session.day().expect("day");
    let delivery = day.iter().find(|i| i.kind == "delivery").expect("ready to deliver is on the day");
    assert_eq!(delivery.household.as_deref(), Some(h.id.as_str()), "a tap opens the household");
    assert_eq!(
        delivery.title,
        format!("居民身份证首次申领 · {}", h.members[0].name),
        "the service and the applicant by name"
    );
    let err = t
        .session
        .advance_service(AdvanceInput { id: r.id, to: RequestState::Delivered, reason: None })
        .expect_err("needs a signature");
    assert_eq!(err.code(), Code::TransitionSignatureRequired);
    assert_eq!(
        t.session
            .deliver_service(DeliverInput { id: r.id, signature_png: b"not a png".to_vec() })
            .expect_err("png")
            .code(),
        Code::SignatureNotPng
    );
    assert_eq!(
        t.session.deliver_service(DeliverInput { id: r.id, signature_png: PNG.to_vec() }).expect("deliver").state,
        RequestState::Delivered
    );
    let sha = beibao_core::canonical::sha256_hex(PNG);
    let stored = beibao_store::records::blob(t.session.store().conn(), &sha).expect("read blob");
    assert_eq!(stored.as_deref(), Some(PNG), "the recipient's signature is kept by its SHA-256");
    assert_eq!(
        t.session
            .advance_service(AdvanceInput { id: r.id, to: RequestState::Closed, reason: None })
            .expect("close")
            .state,
        RequestState::Closed
    );
    assert_eq!(
        t.session
            .advance_service(AdvanceInput { id: r.id, to: RequestState::Closed, reason: None })
            .expect_err("terminal")
            .code(),
        Code::TransitionIllegal
    );

    let totals = t.session.totals(t.session.today(), t.session.today()).expect("totals");
    let value = |code: &str| totals.iter().find(|x| x.indicator.code == code).map(|x| x.value).expect("indicator");
    assert_eq!(value("door_deliveries"), IndicatorValue::Count { value: 1 });
    assert_eq!(value("services_carried_back"), IndicatorValue::Count { value: 1 });
    assert_eq!(value("on_time_rate"), IndicatorValue::Rate { numerator: 1, denominator: 1, value: Some(100.0) });

    let err = t.session.accept_service(AcceptInput {
        service: "HZ01".into(),
        mode: Some(beibao_core::catalog::Mode::OnSite),
        household: None,
        applicant: "张三".into(),
        materials: vec![],
        fee_option: None,
        attachments: vec![],
    });
    assert_eq!(err.expect_err("mode").code(), Code::ModeNotAllowed);
    let pending = t.session.pending().expect("pending");
    assert_eq!(pending.ops, 8, "1 request + 7 transitions queued");
    assert_eq!(pending.blobs, 1, "the signature PNG waits on its own queue");
    // A delivery the request is not ready for is refused whole: its image is not queued either.
    let fresh = t
        .session
        .accept_service(AcceptInput {
            service: "HZ01".into(),
            mode: None,
            household: Some(h.id.clone()),
            applicant: h.members[0].id.clone(),
            materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
            fee_option: None,
            attachments: vec![],
        })
        .expect("accept another");
    let mut other_png = PNG.to_vec();
    other_png.extend_from_slice(b"not ready");
    let early = t.session.deliver_service(DeliverInput { id: fresh.id, signature_png: other_png.clone() });
    assert_eq!(early.expect_err("not ready").code(), Code::TransitionIllegal);
    let queued = beibao_store::records::blob(t.session.store().conn(), &beibao_core::canonical::sha256_hex(&other_png));
    assert_eq!(queued.expect("read blob"), None, "a refused delivery leaves no image behind");
}

fn party(role: PartyRole, name: &str, id: &str) -> Party {
    Party {
        role,
        name: name.into(),
        id_number: id.into(),
        address: "山亭区西集镇王庄村3组12号".into(),
        phone: "13812345678".into(),
        guardian: None,
        self_supporting: false,
        proxy: None,
    }
}

fn consenting(kind: MediationKind, case_type: Option<CaseType>) -> EligibilityInput {
    EligibilityInput::consenting(kind, case_type)
}

#[test]
fn a_people_mediation_is_filled_signed_finalized_and_then_read_only() {
    let mut t = tablet();
    let village = t.fixtures.registry.villages_of(OFFICER)[0].to_owned();
    let today = t.session.today();
    let case = t
        .session
        .open_mediation(opening(MediationKind::People, &village, consenting(MediationKind::People, None), today))
        .expect("open");
    let id = case.id;
    let drafts = t.session.drafts().expect("drafts");
    let name = &t.fixtures.registry.village(&village).expect("village").name.zh;
    assert_eq!((drafts[0].id, drafts[0].kind, &drafts[0].label), (id, DraftKind::Mediation, name), "a mediation draft");
    let minor = party(PartyRole::Respondent, "李小梅", "370402201206110125");
    assert_eq!(
        t.session.edit_mediation(id, MediationEdit::AddParty { party: minor }).expect_err("guardian").code(),
        Code::GuardianRequired
    );
    assert_eq!(
        t.session
            .edit_mediation(
                id,
                MediationEdit::AddParty { party: party(PartyRole::Applicant, "王", "370406195803120012") }
            )
            .expect_err("id")
            .code(),
        Code::IdChecksum
    );
    let edits = vec![
        MediationEdit::Authority { authority: "西集镇人民调解委员会".into() },
        MediationEdit::Mediators {
            mediators: vec![Mediator { name: "赵德明".into(), role: MediatorRole::Mediator }]
        },
        MediationEdit::AddParty { party: party(PartyRole::Applicant, "王建国", "370406195803120011") },
        MediationEdit::AddParty { party: party(PartyRole::Respondent, "李秀兰", "370406194507010024") },
        MediationEdit::Facts {
            facts: "院墙滴水纠纷".into(),
            issues: "排水沟".into(),
            responsibilities: vec!["加高院墙".into(), "堵塞排水沟".into()],
        },
        MediationEdit::Terms { terms: vec!["王建国修建排水沟".into(), "李秀兰承担材料费".into()] },
        MediationEdit::Performance {
            performance: Performance {
                method: "现金".into(),
                place: "村委会".into(),
                deadline: today + Duration::days(5),
            },
        },
        MediationEdit::Place {
            place: "村委会调解室".into(),
            gps: Some(AgreementGps { lat_e6: 34_980_000, lon_e6: 117_400_000, accuracy_m: 8 }),
        },
        MediationEdit::RightsNotified,
    ];
    for e in edits {
        t.session.edit_mediation(id, e).expect("edit");
    }
    let err = t.session.finalize_mediation(id, Outcome::WrittenAgreement).expect_err("unsigned");
    match &err {
        FieldError::Incomplete(issues) => {
            assert_eq!(issues.len(), 3, "two parties and the mediator must sign: {issues:?}")
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
    let strokes = vec![vec![StrokePoint { x: 1, y: 2, t: 0 }, StrokePoint { x: 5, y: 3, t: 20 }]];
    for signer in [Signer::Party(0), Signer::Party(1), Signer::Mediator(0)] {
        t.clock.advance(Duration::minutes(1));
        t.session.sign_mediation(id, signature(signer, Mark::Signature, strokes.clone())).expect("sign");
    }
    let done = t.session.finalize_mediation(id, Outcome::WrittenAgreement).expect("finalize");
    let hash = done.content_hash.clone().expect("hash");
    assert_eq!(hash, done.agreement.content_hash().expect("canonical"), "the stored hash is the content's");
    // A tablet not enrolled has no serial block: the agreement is not numbered, so not printed
    // (the enrolled path, with the PDF read back, is in the app's end-to-end test).
    assert_eq!((done.agreement.serial.as_deref(), done.document.as_deref()), (None, None));
    assert_eq!(t.session.agreement_document(id).expect_err("no document").code(), Code::NotFinalized);
    assert_eq!(
        t.session.edit_mediation(id, MediationEdit::RightsNotified).expect_err("read-only").code(),
        Code::ReadOnly,
        "a finalized agreement cannot change"
    );
    assert_eq!(
        t.session
            .sign_mediation(id, signature(Signer::Party(0), Mark::Thumbprint, vec![]))
            .expect_err("read-only")
            .code(),
        Code::ReadOnly
    );
    let day = t.session.day().expect("day");
    let follow = day.iter().find(|i| i.kind == "follow_up" && i.id == id.to_string()).expect("a follow-up on the day");
    assert_eq!(follow.title, "王建国、李秀兰 · 村委会调解室", "the parties and the place, not an id");
    // Friday 20 November → Wednesday 25 November: Monday, Tuesday, Wednesday.
    assert_eq!((follow.when.as_str(), follow.working_days), ("2026-11-25", Some(3)), "counted in working days");
    assert_eq!(t.session.mediation_screen(id).expect("screen").followup, None);
    let f = t.session.record_performance(id, true, "已履行".into()).expect("followup");
    assert!(f.performed);
    let screen = t.session.mediation_screen(id).expect("screen");
    assert_eq!(screen.followup, Some(f), "the screen shows the follow-up");
    assert!(screen.issues.is_empty(), "a finalized agreement lists nothing missing");
    let totals = t.session.totals(today, today + Duration::days(10)).expect("totals");
    let value = |code: &str| totals.iter().find(|x| x.indicator.code == code).map(|x| x.value).expect("indicator");
    assert_eq!(
        value("mediation_success_rate"),
        IndicatorValue::Rate { numerator: 1, denominator: 1, value: Some(100.0) }
    );
    assert_eq!(
        value("agreement_performance_rate"),
        IndicatorValue::Rate { numerator: 1, denominator: 1, value: Some(100.0) }
    );
    assert!(
        t.session.day().expect("day").iter().all(|i| i.kind != "follow_up"),
        "a performed agreement needs no follow-up"
    );

    // 司法确认 (人民调解法 Art.33): 30 days from the agreement; the window's last week is on the day.
    let last = t.session.mediation_screen(id).expect("screen").judicial_last_day.expect("a written people's agreement");
    assert_eq!(last, today + Duration::days(30));
    let window = |t: &Tablet| t.session.day().expect("day").into_iter().find(|i| i.kind == "judicial_window");
    assert!(window(&t).is_none(), "not in its last week yet");
    let at_nine = |d: NaiveDate| d.and_hms_opt(1, 0, 0).expect("time").and_utc();
    t.clock.set(at_nine(last - Duration::days(6)));
    let item = window(&t).expect("the window's last week is on the day");
    assert_eq!((item.id.as_str(), item.when.clone()), (id.to_string().as_str(), last.to_string()));
    let apply = |applied_on: NaiveDate, ruling: Option<CourtRuling>, ruled_on: Option<NaiveDate>| JudicialInput {
        mediation: id,
        applied_on,
        court: "山亭区人民法院".into(),
        ruling,
        ruled_on,
        note: String::new(),
    };
    let applied_on = last - Duration::days(6);
    let j = t.session.record_judicial_confirmation(apply(applied_on, None, None)).expect("applied");
    assert!(window(&t).is_none(), "applied: off the day");
    let code = |t: &mut Tablet, input: JudicialInput| {
        t.session.record_judicial_confirmation(input).expect_err("refused").code()
    };
    let before = applied_on - Duration::days(1);
    assert_eq!(code(&mut t, apply(applied_on, Some(CourtRuling::Confirmed), Some(before))), Code::PeriodReversed);
    assert_eq!(code(&mut t, apply(applied_on, Some(CourtRuling::Confirmed), None)), Code::Required);
    assert_eq!(
        code(&mut t, apply(applied_on, Some(CourtRuling::Confirmed), Some(last))),
        Code::PeriodReversed,
        "future"
    );
    t.clock.set(at_nine(last + Duration::days(5)));
    assert_eq!(code(&mut t, apply(last + Duration::days(1), None, None)), Code::WindowClosed);
    let ruled = t
        .session
        .record_judicial_confirmation(apply(applied_on, Some(CourtRuling::Confirmed), Some(last + Duration::days(5))))
        .expect("ruled");
    assert_eq!(ruled.id, j.id, "the ruling updates the application's record");
    let refused = apply(applied_on, Some(CourtRuling::Refused), Some(last + Duration::days(5)));
    assert_eq!(code(&mut t, refused), Code::ReadOnly, "a ruling is final");
    assert_eq!(t.session.mediation_screen(id).expect("screen").judicial, Some(ruled));
    let totals = t.session.totals(last, last + Duration::days(10)).expect("totals");
    let count = |totals: &[beibao_field::Total], code: &str| {
        totals.iter().find(|x| x.indicator.code == code).map(|x| x.value).expect("indicator")
    };
    assert_eq!(count(&totals, "judicial_confirmations"), IndicatorValue::Count { value: 1 });

    // The dispute comes back: a rebound linked to the case, counted by the day it happened.
    let back = |occurred_on: NaiveDate, note: &str| RecurrenceInput {
        mediation: id,
        kind: RecurrenceKind::Rebound,
        occurred_on,
        note: note.into(),
    };
    let on = last + Duration::days(5);
    assert_eq!(t.session.record_recurrence(back(on, "  ")).expect_err("blank").code(), Code::Required);
    assert_eq!(
        t.session.record_recurrence(back(today - Duration::days(1), "旧事")).expect_err("before").code(),
        Code::PeriodReversed
    );
    assert_eq!(
        t.session.record_recurrence(back(on + Duration::days(1), "明天")).expect_err("future").code(),
        Code::PeriodReversed
    );
    t.session.record_recurrence(back(on, "双方又因排水沟争吵")).expect("recurrence");
    assert_eq!(t.session.mediation_screen(id).expect("screen").recurrences.len(), 1);
    let totals = t.session.totals(last, last + Duration::days(10)).expect("totals");
    assert_eq!(count(&totals, "recurrences"), IndicatorValue::Count { value: 1 });
    assert_eq!(count(&totals, "judicial_confirmations"), IndicatorValue::Count { value: 1 });
}

#[test]
fn an_excluded_public_order_case_is_blocked_with_its_reason() {
    let mut t = tablet();
    let village = t.fixtures.registry.villages_of(OFFICER)[0].to_owned();
    let today = t.session.today();
    let kind = MediationKind::PublicSecurity;
    match t.session.open_mediation(opening(kind, &village, consenting(kind, Some(CaseType::GangFight)), today)) {
        Err(FieldError::MediationBlocked(reasons)) => {
            assert_eq!(reasons, vec![BlockReason::ExcludedCaseType(CaseType::GangFight)])
        }
        other => panic!("结伙斗殴 cannot be mediated, got {other:?}"),
    }
    let case = t
        .session
        .open_mediation(opening(kind, &village, consenting(kind, Some(CaseType::Assault)), today))
        .expect("assault");
    let ended = t.session.end_mediation(case.id, Outcome::FailedInformedOfRemedies).expect("end");
    assert_eq!(ended.outcome, Some(Outcome::FailedInformedOfRemedies));
    assert_eq!(t.session.end_mediation(case.id, Outcome::PartyRefused).expect_err("closed").code(), Code::ReadOnly);
}

#[test]
fn publicity_hazards_ratings_search_and_the_day() {
    let mut t = tablet();
    let village = t.fixtures.registry.villages_of(OFFICER)[0].to_owned();
    let blank = |v: &str| PublicitySession {
        id: Uuid::nil(),
        device_id: String::new(),
        officer_id: String::new(),
        village: v.into(),
        topic: PublicityTopic::AntiFraud,
        held_at: t0(),
        attendees: 40,
        leaflets: 80,
        note: String::new(),
    };
    t.session.record_publicity(blank(&village)).expect("publicity");
    assert_eq!(
        t.session.record_publicity(PublicitySession { attendees: 0, ..blank(&village) }).expect_err("nobody").code(),
        Code::Implausible
    );
    let hazard = t
        .session
        .record_hazard(Hazard {
            id: Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            village: village.clone(),
            kind: HazardKind::EbikeCharging,
            place: "村东小卖部".into(),
            description: "电动车楼道充电".into(),
            found_at: t0(),
            deadline: Some(NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")),
            fixed_at: None,
        })
        .expect("hazard");
    let day = t.session.day().expect("day");
    let item = day.iter().find(|i| i.kind == "hazard").expect("an open hazard with a near deadline is on the day");
    // Friday 20 November → Monday 23 November is one working day (the weekend does not count).
    assert_eq!((item.title.as_str(), item.working_days), ("ebike_charging", Some(1)));
    t.clock.advance(Duration::days(4));
    let late = t.session.day().expect("day").into_iter().find(|i| i.kind == "hazard").expect("still open");
    assert_eq!(late.working_days, Some(-1), "Tuesday: one working day overdue");
    t.clock.advance(-Duration::days(4));
    t.clock.advance(Duration::days(1));
    let fixed = t.session.fix_hazard(hazard.id).expect("fix");
    assert!(fixed.fixed_at.is_some());
    assert_eq!(t.session.fix_hazard(hazard.id).expect_err("again").code(), Code::AlreadyFixed);
    let rate = |subject, comment: Option<&str>| Rating {
        id: Uuid::nil(),
        device_id: String::new(),
        officer_id: String::new(),
        subject,
        rating: Satisfaction::Satisfied,
        comment: comment.map(str::to_owned),
        rated_at: t0(),
    };
    assert_eq!(
        t.session.record_rating(rate(RatingSubject::Visit(Uuid::nil()), None)).expect_err("no such visit").code(),
        Code::NotFound,
        "a rating is of something this tablet recorded"
    );
    let kind = MediationKind::People;
    let case = t
        .session
        .open_mediation(opening(kind, &village, consenting(kind, None), t.session.today()))
        .expect("a mediation");
    let subject = RatingSubject::Mediation(case.id);
    let long = "很".repeat(beibao_core::activity::RATING_COMMENT_MAX + 1);
    assert_eq!(
        t.session.record_rating(rate(subject.clone(), Some(&long))).expect_err("too long").code(),
        Code::Implausible
    );
    let rated = t.session.record_rating(rate(subject, Some("民警很耐心"))).expect("rating");
    assert_eq!(rated.comment.as_deref(), Some("民警很耐心"));
    let totals = t.session.totals(NaiveDate::from_ymd_opt(2026, 11, 1).expect("d"), t.session.today()).expect("totals");
    let value = |code: &str| totals.iter().find(|x| x.indicator.code == code).map(|x| x.value).expect("indicator");
    assert_eq!(value("publicity_attendees"), IndicatorValue::Count { value: 40 });
    assert_eq!(value("hazards_found"), IndicatorValue::Count { value: 1 });
    assert_eq!(value("hazards_fixed"), IndicatorValue::Count { value: 1 });
    assert_eq!(value("satisfaction_rate"), IndicatorValue::Rate { numerator: 1, denominator: 1, value: Some(100.0) });

    let h = household(&t, false);
    let head = h.head().expect("head").clone();
    let by_name = t.session.search(&head.name, None).expect("by name");
    assert!(by_name.iter().any(|x| x.id == h.id), "search by the head's name finds the household");
    let tail = &head.id_number[14..];
    assert!(
        t.session.search(tail, None).expect("by tail").iter().any(|x| x.id == h.id),
        "search by the ID tail {tail}"
    );
    let address = h.address.split("组").next().expect("address").to_owned() + "组";
    assert!(t.session.search(&address, Some(&h.village)).expect("by address").iter().all(|x| x.village == h.village));
    assert_eq!(t.session.search("a", None).expect_err("short").code(), Code::QueryTooShort);
    let surname: String = head.name.chars().take(1).collect();
    assert!(
        !t.session.search(&surname, None).expect("one Chinese character").is_empty(),
        "a surname alone is a search"
    );
    let due = t.session.special_groups_due(30).expect("due");
    assert!(!due.is_empty(), "no one has been visited yet: every care household is due");
    assert_eq!(
        t.session.totals(t.session.today(), t.session.today() - Duration::days(1)).expect_err("reversed").code(),
        Code::PeriodReversed
    );
}

fn opening(kind: MediationKind, village: &str, eligibility: EligibilityInput, accepted_on: NaiveDate) -> OpenMediation {
    OpenMediation { kind, village: village.to_owned(), eligibility, accepted_on }
}

fn signature(signer: Signer, mark: Mark, strokes: Vec<Vec<StrokePoint>>) -> SignatureInput {
    SignatureInput { signer, mark, strokes, png: PNG.to_vec() }
}

#[test]
fn the_village_screen_draws_the_boundary_and_every_household_with_days_since_its_visit() {
    let mut t = tablet();
    let h = household(&t, true);
    let screen = t.session.village_screen(&h.village, None).expect("village");
    let expected: Vec<_> = t.fixtures.registry.households.iter().filter(|x| x.village == h.village).collect();
    assert_eq!(screen.households.len(), expected.len());
    assert!(screen.boundary.len() >= 4 && screen.boundary.first() == screen.boundary.last(), "a closed ring");
    let row = screen.households.iter().find(|x| x.id == h.id).expect("the household");
    assert_eq!(row.members.len(), h.members.len());
    assert_eq!(row.head, h.head().expect("head").name);
    assert_eq!(row.groups, h.groups().into_iter().collect::<Vec<_>>());
    assert_eq!(row.days_since_visit, None);

    let now = t.clock.now();
    let home = h.location.expect("located");
    t.session
        .record_visit(VisitInput {
            id: None,
            target: VisitTarget::Household(h.id.clone()),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            started_at: now - Duration::minutes(20),
            ended_at: now,
            outcome: VisitOutcome::NobodyHome,
            persons_met: 0,
            fix: Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 10.0, taken_at: now }),
            pin: None,
            note: String::new(),
        })
        .expect("record");
    t.clock.advance(Duration::days(2));
    let screen = t.session.village_screen(&h.village, None).expect("village");
    assert_eq!(screen.households.iter().find(|x| x.id == h.id).expect("row").days_since_visit, Some(2));
    let one = t.session.village_screen(&h.village, Some(&h.id)).expect("one house");
    assert_eq!(one.households, vec![screen.households.iter().find(|x| x.id == h.id).expect("row").clone()]);
    assert_eq!(one.boundary, screen.boundary, "the same map, one house on it");

    // Every village is on the tablet (for the map), but only the officer's open.
    let theirs = t.fixtures.registry.villages_of(OFFICER);
    let other = t.fixtures.registry.villages.iter().find(|v| !theirs.contains(&v.code.as_str())).expect("another");
    assert_eq!(t.session.village_screen(&other.code, None).expect_err("not mine").code(), Code::NotAssigned);
    assert_eq!(t.session.village_screen("nope", None).expect_err("unknown").code(), Code::NotFound);
}

#[test]
fn the_household_screen_masks_ids_and_phones_and_every_unmasking_is_logged() {
    let mut t = tablet();
    let h = household(&t, true);
    let screen = t.session.household_screen(&h.id).expect("household");
    assert_eq!(screen.members.len(), h.members.len());
    assert_eq!(screen.members[0].relation, "head", "the head first");
    let person = h.members.iter().find(|m| m.phone.is_some()).expect("a member with a phone");
    let view = screen.members.iter().find(|m| m.id == person.id).expect("member");
    assert_eq!(view.id_masked, beibao_core::identity::mask_id_number(&person.id_number));
    assert!(view.id_masked.contains("********") && !view.id_masked.contains(&person.id_number[6..14]));
    let phone = person.phone.as_deref().expect("phone");
    assert_eq!(view.phone_masked.as_deref(), Some(beibao_core::identity::mask_mobile(phone).as_str()));
    assert!(view.age.is_some_and(|a| a < 120));
    assert!(screen.visits.is_empty() && screen.services.is_empty());

    use beibao_field::Reveal;
    let revealed = t.session.reveal(&h.id, &person.id, Reveal::IdNumber).expect("unmask");
    assert_eq!(revealed, person.id_number);
    assert_eq!(t.session.reveal(&h.id, &person.id, Reveal::Phone).expect("unmask"), phone);
    let log = t.session.audit_log(None, 5).expect("log");
    assert_eq!(
        log.iter().take(2).map(|e| (e.action.as_str(), e.subject.as_deref(), e.actor.as_str())).collect::<Vec<_>>(),
        vec![
            ("unmask_phone", Some(person.id.as_str()), OFFICER),
            ("unmask_id_number", Some(person.id.as_str()), OFFICER)
        ],
        "who unmasked whose what, newest first"
    );
    let access = t.session.access_log(10).expect("access log");
    assert_eq!(
        access.iter().map(|e| (e.action.as_str(), e.subject_name.as_deref())).collect::<Vec<_>>(),
        vec![("unmask_phone", Some(person.name.as_str())), ("unmask_id_number", Some(person.name.as_str()))],
        "the access log names the person, and holds only unmaskings"
    );
    assert_eq!(t.session.reveal(&h.id, "nobody", Reveal::IdNumber).expect_err("unknown").code(), Code::NotFound);
    assert_eq!(
        t.session.audit_log(Some("unmask_id_number"), 10).expect("log").len(),
        1,
        "a refused unmasking is not logged"
    );

    // A household of a village not assigned to the officer does not open, nor unmask.
    let theirs = t.fixtures.registry.villages_of(OFFICER);
    let other = t.fixtures.registry.households.iter().find(|x| !theirs.contains(&x.village.as_str()));
    if let Some(other) = other.filter(|o| t.session.household_screen(&o.id).is_ok()) {
        panic!("household {} of another village opened", other.id);
    }

    // The history lists a visit and a service request with its name.
    let now = t.clock.now();
    t.session
        .record_visit(VisitInput {
            id: None,
            target: VisitTarget::Household(h.id.clone()),
            purposes: vec![VisitPurpose::Service],
            started_at: now - Duration::minutes(10),
            ended_at: now,
            outcome: VisitOutcome::Met,
            persons_met: 1,
            fix: None,
            pin: None,
            note: String::new(),
        })
        .expect("visit");
    let request = t
        .session
        .accept_service(AcceptInput {
            service: "HZ01".into(),
            mode: None,
            household: Some(h.id.clone()),
            applicant: person.id.clone(),
            materials: vec!["hukou_book".into(), "photo_fingerprints".into()],
            fee_option: None,
            attachments: vec![],
        })
        .expect("accept");
    let screen = t.session.household_screen(&h.id).expect("household");
    assert_eq!(screen.visits.len(), 1);
    assert_eq!(screen.visits[0].verdict, ProofVerdict::NoFix);
    let name = t.session.catalog().service("HZ01").expect("HZ01").name.zh.clone();
    assert_eq!(screen.services.len(), 1);
    assert_eq!((screen.services[0].id, &screen.services[0].name_zh), (request.id, &name));
    assert_eq!(screen.services[0].state, RequestState::AcceptedOnSite);
}

#[test]
fn a_manual_pin_is_judged_before_saving_and_recorded_as_such() {
    let mut t = tablet();
    let h = household(&t, false);
    let village = t.fixtures.registry.village(&h.village).expect("village").clone();
    let draft =
        t.session.start_visit(VisitTarget::Household(h.id.clone()), vec![VisitPurpose::Publicity]).expect("start");
    assert_eq!(t.session.visit_verdict(&draft).expect("verdict"), ProofVerdict::NoFix, "no fix yet");
    let home = h.location.expect("located");
    let mut at_door = draft.clone();
    at_door.fix = Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 8.0, taken_at: t.clock.now() });
    assert!(matches!(t.session.visit_verdict(&at_door).expect("verdict"), ProofVerdict::NearHousehold { .. }));

    let mut pinned = draft.clone();
    pinned.pin = Some(beibao_core::visit::ManualPin {
        lat: village.centroid.lat,
        lon: village.centroid.lon,
        reason: "山谷里收不到卫星信号".into(),
        placed_at: t.clock.now(),
    });
    let verdict = t.session.visit_verdict(&pinned).expect("verdict");
    assert_eq!(
        verdict,
        ProofVerdict::ManualPin { inside_village: true },
        "the verdict says the pin was placed by hand"
    );
    t.session.save_visit_draft(pinned.clone()).expect("save");
    t.relock();
    let resumed = t.session.visit_draft(draft.id).expect("resume");
    assert_eq!(resumed.pin, pinned.pin, "the pin survives a kill with the draft");
    t.clock.advance(Duration::minutes(15));
    let stored = t
        .session
        .record_visit(VisitInput {
            id: Some(resumed.id),
            target: resumed.target,
            purposes: resumed.purposes,
            started_at: resumed.started_at,
            ended_at: t.clock.now(),
            outcome: VisitOutcome::Met,
            persons_met: 1,
            fix: None,
            pin: resumed.pin.clone(),
            note: String::new(),
        })
        .expect("record");
    assert_eq!(stored.verdict, verdict);
    assert_eq!(stored.visit.pin, resumed.pin.clone().map(ManualPin::rounded), "recorded with its reason");
    let (kept, given) = (stored.visit.pin.as_ref().expect("pin"), resumed.pin.as_ref().expect("pin"));
    assert!((kept.lat - given.lat).abs() < 1e-7 && (kept.lon - given.lon).abs() < 1e-7, "to the centimetre");
    assert_eq!(serde_json::to_string(&kept.lat).expect("json").len(), "34.9721248".len(), "seven decimals sent");
    let mut no_reason = pinned.clone();
    no_reason.id = Uuid::from_u128(99);
    let err = t.session.record_visit(VisitInput {
        id: None,
        target: no_reason.target,
        purposes: vec![VisitPurpose::Publicity],
        started_at: t.clock.now() - Duration::minutes(5),
        ended_at: t.clock.now(),
        outcome: VisitOutcome::Met,
        persons_met: 1,
        fix: None,
        pin: no_reason.pin.map(|p| beibao_core::visit::ManualPin { reason: " ".into(), ..p }),
        note: String::new(),
    });
    assert_eq!(err.expect_err("no reason").code(), Code::VisitPinReason);
}

#[test]
fn publicity_and_hazards_are_logged_in_the_officers_villages_and_counted_in_the_totals() {
    use beibao_field::{HazardInput, PublicityInput};
    let mut t = tablet();
    let village = t.fixtures.registry.villages_of(OFFICER)[0].to_owned();
    let before = t.session.totals_screen().expect("totals");
    let count = |lines: &[beibao_field::TotalLine], code: &str| match lines.iter().find(|l| l.code == code) {
        Some(beibao_field::TotalLine { value: IndicatorValue::Count { value }, .. }) => *value,
        other => panic!("{code}: {other:?}"),
    };
    let session = t
        .session
        .log_publicity(PublicityInput {
            village: village.clone(),
            topic: PublicityTopic::AntiFraud,
            attendees: 23,
            leaflets: 40,
            note: "村委会广场".into(),
        })
        .expect("publicity");
    assert_eq!((session.officer_id.as_str(), session.held_at), (OFFICER, t.clock.now()));
    let hazard = HazardInput {
        village: village.clone(),
        kind: HazardKind::EbikeCharging,
        place: "东街12号".into(),
        description: "电动车在楼道充电".into(),
        deadline: Some(t.session.today() + chrono::Days::new(7)),
    };
    t.session.log_hazard(hazard.clone()).expect("hazard");
    let after = t.session.totals_screen().expect("totals");
    for lines in [&after.day, &after.week, &after.month] {
        assert_eq!(count(lines, "publicity_sessions"), 1);
        assert_eq!(count(lines, "hazards_found"), 1);
    }
    assert_eq!(count(&before.month, "publicity_sessions"), 0);
    assert_eq!(after.day.len(), beibao_core::indicators::all().len(), "every indicator, as everywhere");

    let err = t.session.log_publicity(PublicityInput {
        village: village.clone(),
        topic: PublicityTopic::FireSafety,
        attendees: 0,
        leaflets: 0,
        note: String::new(),
    });
    assert_eq!(err.expect_err("nobody came").code(), Code::Implausible);
    let err = t.session.log_hazard(HazardInput { description: " ".into(), ..hazard.clone() });
    assert_eq!(err.expect_err("no description").code(), Code::Required);
    let theirs = t.fixtures.registry.villages_of(OFFICER);
    let other = t.fixtures.registry.villages.iter().find(|v| !theirs.contains(&v.code.as_str())).expect("another");
    let err = t.session.log_hazard(HazardInput { village: other.code.clone(), ..hazard });
    assert_eq!(err.expect_err("not mine").code(), Code::NotAssigned);
}

#[test]
fn clues_and_registry_corrections_are_reported_in_the_officers_villages_and_counted() {
    use beibao_core::activity::{ClueCategory, InfoCategory};
    use beibao_field::{ClueInput, ProposalInput};
    let mut t = tablet();
    let village = t.fixtures.registry.villages_of(OFFICER)[0].to_owned();
    let h = t.fixtures.registry.households.iter().find(|h| h.village == village).expect("a household").clone();
    let theirs = t.fixtures.registry.villages_of(OFFICER);
    let other = t.fixtures.registry.villages.iter().find(|v| !theirs.contains(&v.code.as_str())).expect("another");
    // A household of the officer's other village (held on the tablet), and one the tablet never held.
    let next_door =
        t.fixtures.registry.households.iter().find(|x| x.village == theirs[1]).expect("next door").id.clone();
    let unknown =
        t.fixtures.registry.households.iter().find(|x| !theirs.contains(&x.village.as_str())).expect("far").id.clone();
    let clue = ClueInput {
        village: village.clone(),
        category: ClueCategory::Gambling,
        summary: "村东头废弃厂房夜间有人聚集赌博".into(),
        place: "村东废弃厂房".into(),
    };
    let proposal = ProposalInput {
        village: village.clone(),
        category: InfoCategory::Resident,
        household: Some(h.id.clone()),
        subject: "张三".into(),
        proposed: "已于本月迁出".into(),
        note: String::new(),
    };
    let code = |e: FieldError| e.code();
    assert_eq!(
        code(t.session.report_clue(ClueInput { summary: " ".into(), ..clue.clone() }).expect_err("blank")),
        Code::Required
    );
    assert_eq!(
        code(t.session.report_clue(ClueInput { summary: "赌".repeat(1001), ..clue.clone() }).expect_err("long")),
        Code::Implausible
    );
    assert_eq!(
        code(t.session.report_clue(ClueInput { village: other.code.clone(), ..clue.clone() }).expect_err("theirs")),
        Code::NotAssigned
    );
    assert_eq!(
        code(
            t.session
                .propose_correction(ProposalInput { subject: String::new(), ..proposal.clone() })
                .expect_err("blank")
        ),
        Code::Required
    );
    let with = |household: String| ProposalInput { household: Some(household), ..proposal.clone() };
    let err = t.session.propose_correction(with(next_door)).expect_err("next door");
    assert_eq!(code(err), Code::Invalid, "a household of another village");
    let err = t.session.propose_correction(with(unknown)).expect_err("far");
    assert_eq!(code(err), Code::NotFound, "a household the tablet does not hold");
    let pending = |t: &Tablet| t.session.sync_status().expect("status").pending_ops;
    assert_eq!(pending(&t), 0, "nothing refused was queued");
    let c = t.session.report_clue(clue).expect("clue");
    assert_eq!((c.officer_id.as_str(), c.reported_at), (OFFICER, t.clock.now()));
    let p = t.session.propose_correction(proposal.clone()).expect("proposal");
    t.session
        .propose_correction(ProposalInput { household: None, category: InfoCategory::Unit, ..proposal })
        .expect("a unit");
    assert_eq!(p.household.as_deref(), Some(h.id.as_str()));
    assert_eq!(pending(&t), 3);
    assert_eq!(beibao_store::records::registry_proposals_of(t.session.store().conn(), &h.id).expect("of").len(), 1);
    let totals = t.session.totals_screen().expect("totals");
    let count = |code: &str| totals.day.iter().find(|l| l.code == code).map(|l| l.value).expect("line");
    assert_eq!(count("clue_reports"), IndicatorValue::Count { value: 1 });
    assert_eq!(count("information_collected"), IndicatorValue::Count { value: 2 });
}

#[test]
fn a_households_screen_lists_the_mediations_its_members_are_parties_to() {
    let mut t = tablet();
    let h = household(&t, false);
    let member = &h.members[0];
    let today = t.session.today();
    let kind = MediationKind::People;
    let case = t.session.open_mediation(opening(kind, &h.village, consenting(kind, None), today)).expect("open");
    assert!(t.session.household_screen(&h.id).expect("screen").mediations.is_empty(), "no party of this house yet");
    let mine = party(PartyRole::Applicant, &member.name, &member.id_number);
    t.session.edit_mediation(case.id, MediationEdit::AddParty { party: mine }).expect("a member is a party");
    let other = party(PartyRole::Respondent, "李秀兰", "370406194507010024");
    t.session.edit_mediation(case.id, MediationEdit::AddParty { party: other }).expect("the other party");
    let lines = t.session.household_screen(&h.id).expect("screen").mediations;
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].id, lines[0].kind, lines[0].status.as_str()), (case.id, kind, "draft"));
    assert_eq!(lines[0].parties, vec![member.name.clone(), "李秀兰".to_owned()]);
    // Another household of the village is no party to it.
    let neighbour =
        t.fixtures.registry.households.iter().find(|x| x.village == h.village && x.id != h.id).expect("neighbour");
    assert!(t.session.household_screen(&neighbour.id).expect("screen").mediations.is_empty());
}

#[test]
fn an_enterprise_screen_shows_the_officers_enterprise_and_its_visits() {
    use beibao_core::registry::AssignmentTarget;
    // OF-03-01 has villages only; the next officer of the station has enterprises too.
    const OFFICER: &str = "OF-03-02";
    let mut t = tablet_for(OFFICER);
    let registry = &t.fixtures.registry;
    let code = registry
        .assignments
        .iter()
        .find_map(|a| match &a.target {
            AssignmentTarget::Enterprise(code) if a.officer == OFFICER => Some(code.clone()),
            _ => None,
        })
        .expect("an enterprise of the officer");
    let e = registry.enterprises.iter().find(|e| e.code == code).expect("enterprise").clone();
    let other = registry
        .assignments
        .iter()
        .find_map(|a| match &a.target {
            AssignmentTarget::Enterprise(c) if a.officer != OFFICER && *c != code => Some(c.clone()),
            _ => None,
        })
        .expect("another officer's enterprise");
    let screen = t.session.enterprise_screen(&code).expect("screen");
    assert_eq!(
        (screen.name.as_str(), screen.village.as_str(), screen.days_since_visit),
        (e.name.as_str(), e.village.as_str(), None)
    );
    assert_eq!(screen.phone_masked, beibao_core::identity::mask_mobile(&e.phone));
    assert!(screen.boundary.len() > 3, "its village's boundary for the visit's map");
    let draft =
        t.session.start_visit(VisitTarget::Enterprise(code.clone()), vec![VisitPurpose::HazardCheck]).expect("start");
    t.session
        .record_visit(VisitInput {
            id: Some(draft.id),
            target: draft.target,
            purposes: draft.purposes,
            outcome: VisitOutcome::Met,
            persons_met: 2,
            started_at: draft.started_at,
            ended_at: draft.started_at,
            fix: Some(GpsFix { lat: e.location.lat, lon: e.location.lon, accuracy_m: 6.0, taken_at: draft.started_at }),
            pin: None,
            note: String::new(),
        })
        .expect("record");
    t.clock.advance(Duration::days(3));
    let screen = t.session.enterprise_screen(&code).expect("screen");
    assert_eq!((screen.visits.len(), screen.days_since_visit), (1, Some(3)));
    assert!(
        matches!(screen.visits[0].verdict, ProofVerdict::NearHousehold { distance_m } if distance_m < 1.0),
        "a fix at the enterprise: {:?}",
        screen.visits[0].verdict
    );
    assert_eq!(t.session.enterprise_screen(&other).expect_err("not mine").code(), Code::NotAssigned);
}

#[test]
fn the_fee_is_quoted_with_the_households_waiver_and_a_request_shows_its_timeline_and_door_delivery() {
    use beibao_core::registry::SpecialGroup;
    let mut t = tablet();
    let poor = household_where(&t, |h| h.head().is_some_and(|p| p.groups.contains(&SpecialGroup::Dibao)))
        .expect("a 低保 household");
    let quote = |h: &Household| {
        t.session.quote(&beibao_field::QuoteInput {
            service: "HZ01".into(),
            household: Some(h.id.clone()),
            applicant: h.members[0].id.clone(),
            fee_option: None,
        })
    };
    let q = quote(&poor).expect("quote");
    assert_eq!((q.gross_fen, q.payable_fen), (2000, 0), "低保: the first ID card is free");
    assert_eq!(q.waiver.map(|w| w.group), Some(SpecialGroup::Dibao));
    let plain = household_where(&t, |h| h.groups().is_empty()).expect("a household without groups");
    assert_eq!(quote(&plain).expect("quote").payable_fen, 2000);
    let services = t.session.services();
    assert_eq!(services.len(), 38, "the whole catalog");
    assert_eq!(services.iter().filter(|s| s.category == "HZ").count(), 12);

    // A carried-back request for a household with a bed-bound or elderly-alone member: 送证上门.
    let frail = household_where(&t, |h| {
        h.groups()
            .iter()
            .any(|g| matches!(g, SpecialGroup::Bedridden | SpecialGroup::ElderlyAlone | SpecialGroup::Disabled))
    })
    .expect("a household with a frail member");
    let r = t.session.accept_service(renewal(&frail, vec![])).expect("accept");
    t.clock.advance(Duration::minutes(30));
    t.session.advance_service(AdvanceInput { id: r.id, to: RequestState::CarriedBack, reason: None }).expect("back");
    let screen = t.session.request_screen(r.id).expect("screen");
    assert!(screen.door_delivery, "送证上门 for {:?}", frail.groups());
    assert_eq!(screen.applicant_name, frail.members[0].name);
    assert_eq!(
        screen.timeline.iter().map(|s| (s.state, s.desk)).collect::<Vec<_>>(),
        vec![(RequestState::AcceptedOnSite, false), (RequestState::CarriedBack, false)]
    );
    assert_eq!(screen.timeline[1].at, Some(t0() + Duration::minutes(30)));
    assert_eq!(screen.next, vec![RequestState::Submitted, RequestState::Rejected, RequestState::Withdrawn]);
    assert!(screen.due.is_some() && screen.working_days_left.is_some_and(|d| d > 0));
    let plain_screen = {
        let r = t.session.accept_service(renewal(&plain, vec![])).expect("accept");
        t.session.request_screen(r.id).expect("screen")
    };
    assert!(!plain_screen.door_delivery);

    // A photo taken at the door travels with the request (its bytes on the blob queue); what is
    // not a JPEG or PNG, or more than four, is refused before anything is stored.
    let photo = |bytes: &[u8]| beibao_field::Attachment { mime: "image/png".into(), bytes: bytes.to_vec() };
    let accept = |attachments| renewal(&plain, attachments);
    let pending = outbox::pending_stats(t.session.store().conn()).expect("pending").blobs;
    assert_eq!(
        t.session.accept_service(accept(vec![photo(b"GIF89a")])).expect_err("not an image").code(),
        Code::Invalid
    );
    assert_eq!(t.session.accept_service(accept(vec![photo(PNG); 5])).expect_err("five").code(), Code::Implausible);
    let r = t.session.accept_service(accept(vec![photo(PNG)])).expect("with a photo");
    let sha = beibao_core::canonical::sha256_hex(PNG);
    assert_eq!(r.attachments, vec![sha.clone()]);
    assert_eq!(t.session.blob(&sha).expect("held"), PNG);
    assert_eq!(t.session.request_screen(r.id).expect("screen").request.attachments, vec![sha]);
    assert_eq!(
        outbox::pending_stats(t.session.store().conn()).expect("pending").blobs,
        pending + 1,
        "queued to upload"
    );
    assert_eq!(
        t.session
            .quote(&beibao_field::QuoteInput {
                service: "HZ01".into(),
                household: Some("no-such-household".into()),
                applicant: "x".into(),
                fee_option: None
            })
            .expect_err("unknown")
            .code(),
        Code::NotFound
    );
}
