use beibao_core::identity::IdNumber;
use beibao_core::mediation::agreement::{
    Agreement, AgreementForm, AgreementGps, Effect, FieldIssue, Guardian, GuardianRule, Incident, Mark, Mediator,
    MediatorRole, Party, PartyRole, Performance, Proxy, SignatureCapture, Signer, StrokePoint, effect, guardian_rule,
};
use beibao_core::mediation::deadlines::{
    for_agreement, for_case, judicial_confirmation_deadline, people_mediation_due, performance_check_due,
    public_security_mediation_due, second_session_due,
};
use beibao_core::mediation::eligibility::{BlockReason, CaseType, Eligibility, EligibilityInput, OnTheSpot, check};
use beibao_core::mediation::{MediationKind, Outcome};

use crate::{at, calendar, date};

fn input(kind: MediationKind) -> EligibilityInput {
    EligibilityInput::consenting(kind, (kind == MediationKind::PublicSecurity).then_some(CaseType::Assault))
}

#[test]
fn eligibility_blocks_with_every_reason() {
    type Edit = fn(&mut EligibilityInput);
    let ps = MediationKind::PublicSecurity;
    let cases: Vec<(MediationKind, Edit, Vec<BlockReason>)> = vec![
        (ps, |_| {}, vec![]),
        (ps, |i| i.case_type = Some(CaseType::GangFight), vec![BlockReason::ExcludedCaseType(CaseType::GangFight)]),
        (ps, |i| i.case_type = Some(CaseType::Provocation), vec![BlockReason::ExcludedCaseType(CaseType::Provocation)]),
        (ps, |i| i.case_type = Some(CaseType::HiredInjury), vec![BlockReason::ExcludedCaseType(CaseType::HiredInjury)]),
        (ps, |i| i.case_type = None, vec![BlockReason::CaseTypeMissing]),
        (ps, |i| i.from_civil_dispute = false, vec![BlockReason::NotFromCivilDispute]),
        (ps, |i| i.minor_circumstances = false, vec![BlockReason::NotMinor]),
        (ps, |i| i.repeated_violations = true, vec![BlockReason::RepeatedViolations]),
        (ps, |i| i.trouble_during_mediation = true, vec![BlockReason::TroubleDuringMediation]),
        (ps, |i| i.suspect_absconded = true, vec![BlockReason::SuspectAbsconded]),
        (ps, |i| i.party_refuses = true, vec![BlockReason::PartyRefuses]),
        (ps, |i| i.consents = vec![true, false], vec![BlockReason::ConsentMissing(1)]),
        (ps, |i| i.consents = vec![true], vec![BlockReason::TooFewParties]),
        (
            ps,
            |i| {
                i.on_the_spot =
                    Some(OnTheSpot { facts_clear: false, no_compensation_dispute: false, perform_on_the_spot: false })
            },
            vec![BlockReason::FactsUnclear, BlockReason::CompensationDisputed, BlockReason::NotPerformedOnTheSpot],
        ),
        (
            ps,
            |i| {
                i.case_type = Some(CaseType::GangFight);
                i.consents = vec![false, false];
            },
            vec![
                BlockReason::ExcludedCaseType(CaseType::GangFight),
                BlockReason::ConsentMissing(0),
                BlockReason::ConsentMissing(1),
            ],
        ),
        (MediationKind::People, |_| {}, vec![]),
        (MediationKind::People, |i| i.party_refuses = true, vec![BlockReason::PartyRefuses]),
        (MediationKind::People, |i| i.consents = vec![false, true], vec![BlockReason::ConsentMissing(0)]),
        (MediationKind::People, |i| i.from_civil_dispute = false, vec![]),
    ];
    for (kind, edit, reasons) in cases {
        let mut i = input(kind);
        edit(&mut i);
        let expected = if reasons.is_empty() { Eligibility::Eligible } else { Eligibility::Blocked(reasons) };
        assert_eq!(check(&i), expected, "{kind:?} with {i:?}");
    }
    for t in [
        CaseType::Assault,
        CaseType::MinorInjury,
        CaseType::Insult,
        CaseType::Defamation,
        CaseType::FalseAccusation,
        CaseType::PropertyDamage,
        CaseType::DisturbingLife,
        CaseType::PrivacyInvasion,
        CaseType::UnlawfulEntry,
        CaseType::AnimalIntimidation,
        CaseType::Joyriding,
    ] {
        let mut i = input(ps);
        i.case_type = Some(t);
        assert_eq!(check(&i), Eligibility::Eligible, "{t:?} may be mediated (Art.3)");
    }
    assert!(!BlockReason::PartyRefuses.message().zh.is_empty());
}

#[test]
fn the_guardian_rule_follows_the_id_number() {
    let on = date("2026-11-22");
    let cases = [
        ("370402201206110125", GuardianRule::Required, "14 years old"),
        ("370406201011230018", GuardianRule::Required, "15, one day before turning 16"),
        ("370406201011220012", GuardianRule::RequiredUnlessSelfSupporting, "16 today"),
        ("370406200811220016", GuardianRule::NotRequired, "18 today"),
        ("370406195803120011", GuardianRule::NotRequired, "adult"),
    ];
    for (raw, rule, why) in cases {
        let id = IdNumber::parse(raw, on).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(guardian_rule(&id, on), rule, "{raw}: {why}");
    }
}

fn strokes() -> Vec<Vec<StrokePoint>> {
    vec![vec![
        StrokePoint { x: 10, y: 20, t: 0 },
        StrokePoint { x: 40, y: 22, t: 35 },
        StrokePoint { x: 80, y: 18, t: 90 },
    ]]
}

fn sign(signer: Signer, n: u8) -> SignatureCapture {
    SignatureCapture {
        signer,
        mark: Mark::Signature,
        strokes: strokes(),
        image_sha256: format!("{n:02x}").repeat(32),
        signed_at: at("2026-11-20T02:30:00Z"),
    }
}

fn party(role: PartyRole, name: &str, id: &str, phone: &str) -> Party {
    Party {
        role,
        name: name.into(),
        id_number: id.into(),
        address: "山亭区西集镇王庄村3组12号".into(),
        phone: phone.into(),
        guardian: None,
        self_supporting: false,
        proxy: None,
    }
}

/// A complete written 人民调解 agreement: a dispute over a boundary wall.
pub fn people_agreement() -> Agreement {
    Agreement {
        kind: MediationKind::People,
        form: AgreementForm::Written,
        serial: Some("XJ-2026-0001".into()),
        authority: "西集镇王庄村人民调解委员会".into(),
        mediators: vec![Mediator { name: "赵德明".into(), role: MediatorRole::Mediator }],
        witnesses: vec!["村委会 李保国".into()],
        parties: vec![
            party(PartyRole::Applicant, "王建国", "370406195803120011", "13812345678"),
            party(PartyRole::Respondent, "李秀兰", "370406194507010024", "0632-8812345"),
        ],
        facts: "双方因院墙滴水问题发生争执。".into(),
        issues: "院墙排水沟的修建与费用。".into(),
        responsibilities: vec!["王建国未经协商加高院墙。".into(), "李秀兰堵塞排水沟。".into()],
        incident: None,
        terms: vec!["王建国负责修建排水沟。".into(), "李秀兰承担材料费三百元。".into()],
        performance: Some(Performance {
            method: "现金支付".into(),
            place: "王庄村委会".into(),
            deadline: date("2026-12-20"),
        }),
        village: "370406102201".into(),
        place: "王庄村委会调解室".into(),
        gps: Some(AgreementGps::from_degrees(34.98321, 117.40211, 8.4)),
        concluded_at: at("2026-11-20T02:30:00Z"),
        rights_notified: true,
        signatures: vec![sign(Signer::Party(0), 1), sign(Signer::Party(1), 2), sign(Signer::Mediator(0), 3)],
    }
}

/// A complete on-the-spot 治安调解 agreement.
fn security_agreement() -> Agreement {
    let mut a = people_agreement();
    a.kind = MediationKind::PublicSecurity;
    a.authority = "枣庄市公安局山亭分局西集派出所".into();
    a.mediators = vec![Mediator { name: "张警官".into(), role: MediatorRole::HostOfficer }];
    a.parties[0].role = PartyRole::Victim;
    a.parties[1].role = PartyRole::Offender;
    a.issues = String::new();
    a.responsibilities = vec![];
    a.rights_notified = false;
    a.incident = Some(Incident {
        occurred_at: at("2026-11-19T10:00:00Z"),
        place: "王庄村东路口".into(),
        cause: "倒车刮擦".into(),
        course: "双方争执后推搡".into(),
        circumstances: "情节轻微".into(),
        result: "无人受伤，车辆轻微刮痕".into(),
    });
    a
}

fn codes(issues: &[FieldIssue]) -> Vec<(String, &'static str)> {
    issues.iter().map(|i| (i.field.clone(), i.code.as_str())).collect()
}

#[test]
fn complete_agreements_have_no_issues() {
    assert_eq!(codes(&people_agreement().issues()), vec![], "the written 人民调解 fixture is complete");
    assert_eq!(codes(&security_agreement().issues()), vec![], "the 治安调解 fixture is complete");
}

#[test]
fn each_missing_field_is_reported() {
    type Edit = fn(&mut Agreement);
    let f = |s: &str, c: &'static str| (s.to_owned(), c);
    let people: Vec<(Edit, Vec<(String, &'static str)>)> = vec![
        (|a| a.authority.clear(), vec![f("authority", "required")]),
        (|a| a.facts = " ".into(), vec![f("facts", "required")]),
        (|a| a.issues.clear(), vec![f("issues", "required")]),
        (|a| a.responsibilities.pop().map(drop).unwrap_or(()), vec![f("responsibilities", "required")]),
        (|a| a.terms.clear(), vec![f("terms", "required")]),
        (|a| a.performance = None, vec![f("performance", "required")]),
        (|a| a.performance.as_mut().expect("p").method.clear(), vec![f("performance.method", "required")]),
        (|a| a.performance.as_mut().expect("p").place.clear(), vec![f("performance.place", "required")]),
        (
            |a| a.performance.as_mut().expect("p").deadline = "2026-11-01".parse().expect("d"),
            vec![f("performance.deadline", "invalid")],
        ),
        (|a| a.place.clear(), vec![f("place", "required")]),
        (|a| a.village.clear(), vec![f("village", "required")]),
        (|a| a.rights_notified = false, vec![f("rights_notified", "required")]),
        (|a| a.parties[1].name.clear(), vec![f("parties[1].name", "required")]),
        (|a| a.parties[1].address.clear(), vec![f("parties[1].address", "required")]),
        (|a| a.parties[1].phone = "12345".into(), vec![f("parties[1].phone", "invalid")]),
        (|a| a.parties[0].phone.clear(), vec![f("parties[0].phone", "required")]),
        (|a| a.parties[0].id_number = "370406195803120012".into(), vec![f("parties[0].id_number", "invalid")]),
        (|a| a.parties[0].id_number.clear(), vec![f("parties[0].id_number", "required")]),
        (|a| a.mediators.clear(), vec![f("mediators", "required"), f("signatures[2]", "invalid")]),
        (
            |a| a.signatures.retain(|s| s.signer != Signer::Party(1)),
            vec![f("signatures.party[1]", "signature_required")],
        ),
        (
            |a| a.signatures.retain(|s| s.signer != Signer::Mediator(0)),
            vec![f("signatures.mediator[0]", "signature_required")],
        ),
        (|a| a.signatures[0].strokes.clear(), vec![f("signatures[0]", "invalid")]),
        (
            |a| {
                a.parties.pop();
                a.responsibilities.pop();
            },
            vec![f("parties", "required"), f("signatures[1]", "invalid")],
        ),
    ];
    for (edit, expected) in people {
        let mut a = people_agreement();
        edit(&mut a);
        assert_eq!(codes(&a.issues()), expected, "人民调解: {:?}", a);
    }
    let security: Vec<(Edit, Vec<(String, &'static str)>)> = vec![
        (|a| a.form = AgreementForm::Oral, vec![f("form", "oral_not_allowed")]),
        (|a| a.mediators[0].role = MediatorRole::Mediator, vec![f("mediators", "host_officer_required")]),
        (|a| a.incident = None, vec![f("incident", "required")]),
        (|a| a.incident.as_mut().expect("i").cause.clear(), vec![f("incident.cause", "required")]),
        (|a| a.incident.as_mut().expect("i").result.clear(), vec![f("incident.result", "required")]),
        (
            |a| a.incident.as_mut().expect("i").occurred_at = "2026-11-21T00:00:00Z".parse().expect("t"),
            vec![f("incident.occurred_at", "invalid")],
        ),
        (
            |a| {
                a.parties[1].proxy = Some(Proxy {
                    name: "刘律师".into(),
                    id_number: "370406195803120011".into(),
                    authorization_scope: "全权".into(),
                })
            },
            vec![f("parties[1].proxy", "proxy_not_allowed")],
        ),
        (
            |a| {
                a.parties[0].proxy = Some(Proxy {
                    name: "刘律师".into(),
                    id_number: "370406195803120011".into(),
                    authorization_scope: " ".into(),
                })
            },
            vec![f("parties[0].proxy", "invalid")],
        ),
    ];
    for (edit, expected) in security {
        let mut a = security_agreement();
        edit(&mut a);
        assert_eq!(codes(&a.issues()), expected, "治安调解: {:?}", a);
    }
    let mut victim_proxy = security_agreement();
    victim_proxy.parties[0].proxy = Some(Proxy {
        name: "王小军".into(),
        id_number: "370406195803120011".into(),
        authorization_scope: "代为签署调解协议".into(),
    });
    assert_eq!(codes(&victim_proxy.issues()), vec![], "the victim may be represented with a written authorisation");
}

#[test]
fn a_minor_party_needs_a_guardian_who_signs() {
    let mut a = people_agreement();
    a.parties[1] = party(PartyRole::Respondent, "李小梅", "370402201206110125", "13912345678");
    assert_eq!(codes(&a.issues()), vec![("parties[1].guardian".to_owned(), "guardian_required")], "a 14-year-old");
    a.parties[1].guardian =
        Some(Guardian { name: "李强".into(), relation: "父亲".into(), phone: "13912345670".into() });
    assert_eq!(codes(&a.issues()), vec![("signatures.guardian[1]".to_owned(), "signature_required")]);
    a.signatures.push(sign(Signer::Guardian(1), 4));
    assert_eq!(codes(&a.issues()), vec![], "guardian present and signed");
    a.parties[1].guardian.as_mut().expect("g").phone = "123".into();
    assert_eq!(codes(&a.issues()), vec![("parties[1].guardian".to_owned(), "invalid")]);

    let mut b = people_agreement();
    // 17 years old on 2026-11-20: born 2009-05-01.
    b.parties[1] = party(PartyRole::Respondent, "李小军", "37040620090501001X", "13912345678");
    assert_eq!(
        codes(&b.issues()),
        vec![("parties[1].guardian".to_owned(), "guardian_required")],
        "17 and not self-supporting"
    );
    b.parties[1].self_supporting = true;
    assert_eq!(codes(&b.issues()), vec![], "17, self-supporting, agreed not to notify");
}

#[test]
fn oral_people_mediation_records_content_without_signatures() {
    let mut a = people_agreement();
    a.form = AgreementForm::Oral;
    a.signatures.clear();
    a.performance = None;
    a.responsibilities.clear();
    assert_eq!(codes(&a.issues()), vec![], "an oral agreement needs its content, not signatures (Art.28)");
    assert_eq!(a.copies(), 1, "the record of an oral agreement is filed once, not handed out");
    a.terms.clear();
    assert_eq!(
        codes(&a.issues()),
        vec![("terms".to_owned(), "required")],
        "the content of an oral agreement is recorded"
    );
}

/// The content hash of `people_agreement()`. It must never change: printed agreements carry it as a
/// QR code and the server verifies it. Checked independently with Python's
/// `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` and `hashlib.sha256`.
const GOLDEN_HASH: &str = "2ae5d367a80e22bf2e9e783f177d9392566b636047f89625e81720593c8bf550";

#[test]
fn golden_agreement_hash() {
    let a = people_agreement();
    let hash = a.content_hash().expect("canonical");
    assert_eq!(hash, GOLDEN_HASH, "the canonical form of an agreement changed: old agreements would no longer verify");
    let finalized = a.clone().finalize().expect("complete");
    assert_eq!(finalized.content_hash, GOLDEN_HASH);
    assert!(finalized.verify());
    assert_eq!(finalized.copies(), 3, "一式三份: one per party plus one kept");
    assert!(a.canonical_json().expect("canonical").starts_with("{\"agreement\":{\"authority\":"), "keys are sorted");
}

#[test]
fn any_change_changes_the_hash() {
    let base = people_agreement().content_hash().expect("canonical");
    type Edit = fn(&mut Agreement);
    let edits: Vec<(&str, Edit)> = vec![
        ("a term", |a| a.terms[1] = "李秀兰承担材料费三百零一元。".into()),
        ("the deadline", |a| a.performance.as_mut().expect("p").deadline = "2026-12-21".parse().expect("d")),
        ("the GPS", |a| a.gps.as_mut().expect("gps").lat_e6 += 1),
        ("a stroke point", |a| a.signatures[0].strokes[0][1].x += 1),
        ("the time", |a| a.concluded_at += chrono::Duration::seconds(1)),
        ("the template", |a| a.kind = MediationKind::PublicSecurity),
        ("a party's phone", |a| a.parties[0].phone = "13812345679".into()),
    ];
    for (what, edit) in edits {
        let mut a = people_agreement();
        edit(&mut a);
        assert_ne!(a.content_hash().expect("canonical"), base, "changing {what} must change the hash");
    }
    let mut finalized = people_agreement().finalize().expect("complete");
    finalized.agreement.terms.push("追加条款".into());
    assert!(!finalized.verify(), "a finalized agreement that was edited no longer verifies");
}

#[test]
fn finalize_refuses_an_incomplete_agreement_with_every_issue() {
    let mut a = people_agreement();
    a.facts.clear();
    a.terms.clear();
    let issues = a.finalize().expect_err("incomplete");
    assert_eq!(codes(&issues), vec![("facts".to_owned(), "required"), ("terms".to_owned(), "required")]);
}

#[test]
fn effect_and_deadlines() {
    let a = people_agreement();
    assert_eq!(effect(&a, None), Effect::SealPending, "a written agreement needs the committee's seal (Art.29)");
    let sealed = at("2026-11-21T01:00:00Z");
    assert_eq!(effect(&a, Some(sealed)), Effect::Effective { at: sealed });
    let d = for_agreement(&a, effect(&a, Some(sealed)));
    assert_eq!(d.judicial_confirmation, Some(date("2026-12-21")), "30 days after taking effect (Art.33)");
    assert_eq!(d.performance, Some(date("2026-12-20")));
    assert_eq!(d.follow_up, Some(date("2026-12-21")), "follow-up visit the day after the performance deadline");
    assert_eq!(for_agreement(&a, Effect::SealPending).judicial_confirmation, None, "no window before it takes effect");

    let mut oral = a.clone();
    oral.form = AgreementForm::Oral;
    assert_eq!(
        effect(&oral, None),
        Effect::Effective { at: oral.concluded_at },
        "oral: effective when reached (Art.30)"
    );

    let s = security_agreement();
    let d = for_agreement(&s, effect(&s, Some(sealed)));
    assert_eq!(d.follow_up, Some(date("2026-12-23")), "治安: performance checked within 3 days after the deadline");
    assert_eq!(d.judicial_confirmation, None, "司法确认 is for 人民调解");

    let cal = calendar();
    assert_eq!(public_security_mediation_due(date("2026-09-29"), None, &cal), date("2026-10-09"), "3 working days");
    assert_eq!(
        public_security_mediation_due(date("2026-09-01"), Some(date("2026-09-29")), &cal),
        date("2026-10-09"),
        "3 working days after the assessment is issued"
    );
    assert_eq!(second_session_due(date("2026-11-23"), &cal), date("2026-12-02"), "7 working days after the first");
    assert_eq!(people_mediation_due(date("2026-01-31")), date("2026-02-28"), "one month, clamped to the month's end");
    assert_eq!(judicial_confirmation_deadline(date("2026-12-15")), date("2027-01-14"));
    assert_eq!(performance_check_due(date("2026-12-30")), date("2027-01-02"));
}

#[test]
fn outcomes_by_template() {
    assert!(Outcome::WrittenAgreement.is_resolved() && Outcome::OralAgreement.is_resolved());
    assert!(!Outcome::FailedInformedOfRemedies.is_resolved() && !Outcome::PartyRefused.is_resolved());
    assert!(Outcome::SettledAndApproved.is_resolved(), "settled and approved counts as resolved");
    assert!(!Outcome::OralAgreement.applies_to(MediationKind::PublicSecurity), "治安调解 has no oral agreement");
    assert!(Outcome::SettledAndApproved.applies_to(MediationKind::PublicSecurity));
    assert!(!Outcome::SettledAndApproved.applies_to(MediationKind::People));
    assert!(Outcome::ReferredToCommittee.applies_to(MediationKind::PublicSecurity));
}

/// A case of `agreement`'s kind and village, accepted, opened and finalized on 2026-11-20.
fn mediation_case(
    agreement: &Agreement,
    status: beibao_core::ops::CaseStatus,
    outcome: Outcome,
) -> beibao_core::ops::MediationCase {
    beibao_core::ops::MediationCase {
        id: uuid::Uuid::nil(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        kind: agreement.kind,
        village: agreement.village.clone(),
        accepted_on: date("2026-11-20"),
        opened_at: at("2026-11-20T01:00:00Z"),
        eligibility: input(agreement.kind),
        status,
        outcome: Some(outcome),
        agreement: agreement.clone(),
        content_hash: None,
        finalized_at: Some(at("2026-11-20T03:00:00Z")),
        device_signature: None,
        document: None,
    }
}

/// What a case leaves to do (the tablet's reminders, the supervisors' list): only a finalized
/// case; 司法确认 only for a written 人民调解 agreement, 30 days from the day it was concluded.
#[test]
fn what_a_case_leaves_to_do_and_by_when() {
    use beibao_core::ops::CaseStatus;
    let people = people_agreement();
    let concluded = beibao_core::calendar::china_date(people.concluded_at);
    let d = for_case(&mediation_case(&people, CaseStatus::Finalized, Outcome::WrittenAgreement)).expect("finalized");
    assert_eq!(d.performance, Some(date("2026-12-20")));
    assert_eq!(d.follow_up, Some(date("2026-12-21")), "the day after the performance deadline");
    assert_eq!(d.judicial_confirmation, Some(judicial_confirmation_deadline(concluded)), "30 days (Art.33)");
    let oral = for_case(&mediation_case(&people, CaseStatus::Finalized, Outcome::OralAgreement)).expect("finalized");
    assert_eq!(oral.judicial_confirmation, None, "司法确认 is of a written agreement");
    assert_eq!(for_case(&mediation_case(&people, CaseStatus::Ended, Outcome::PartyRefused)), None, "nothing follows");
    let security = security_agreement();
    let s = for_case(&mediation_case(&security, CaseStatus::Finalized, Outcome::SettledAndApproved)).expect("done");
    assert_eq!(s.follow_up, Some(date("2026-12-23")), "治安: checked within 3 days after the deadline");
    assert_eq!(s.judicial_confirmation, None, "司法确认 is for 人民调解");
    let mut unbound = people.clone();
    unbound.performance = None;
    let u = for_case(&mediation_case(&unbound, CaseStatus::Finalized, Outcome::WrittenAgreement)).expect("finalized");
    assert_eq!((u.performance, u.follow_up), (None, None), "no deadline, no follow-up date");
}

/// The printed agreement a pushed case names: the SHA-256 of a PDF blob, on a finalized case only.
#[test]
fn a_pushed_case_names_its_printed_agreement_only_when_finalized_and_by_sha256() {
    use beibao_core::code::Code;
    use beibao_core::ops::{CaseStatus, OpRecord};
    let catalog = beibao_core::bundled::catalog().expect("catalog");
    let agreement = people_agreement();
    let hash = agreement.content_hash().expect("hash");
    let case = |status: CaseStatus, document: Option<&str>| {
        let finalized = status == CaseStatus::Finalized;
        let outcome = if finalized { Outcome::WrittenAgreement } else { Outcome::PartyRefused };
        let mut c = mediation_case(&agreement, status, outcome);
        c.content_hash = finalized.then(|| hash.clone());
        c.device_signature = finalized.then(|| "ab".repeat(64));
        c.document = document.map(str::to_owned);
        OpRecord::Mediation(Box::new(c))
    };
    let pdf = "0f".repeat(32);
    assert_eq!(case(CaseStatus::Finalized, None).check(&catalog), Ok(()), "a tablet that did not print");
    assert_eq!(case(CaseStatus::Finalized, Some(&pdf)).check(&catalog), Ok(()));
    for (status, document) in [
        (CaseStatus::Finalized, "not-a-hash".to_owned()),
        (CaseStatus::Finalized, "0F".repeat(32)),
        (CaseStatus::Ended, pdf.clone()),
    ] {
        let err = case(status, Some(&document)).check(&catalog).expect_err("refused");
        assert_eq!(err.code, Code::Invalid, "{status:?} {document}");
    }
}

/// What the server checks of a pushed 司法确认 or recurrence: the same rules as the tablet.
#[test]
fn a_pushed_judicial_confirmation_or_recurrence_is_checked_like_on_the_tablet() {
    use beibao_core::code::Code;
    use beibao_core::mediation::after::{CourtRuling, JudicialConfirmation, Recurrence, RecurrenceKind};
    use beibao_core::ops::OpRecord;
    let catalog = beibao_core::bundled::catalog().expect("catalog");
    let j = JudicialConfirmation {
        id: uuid::Uuid::nil(),
        mediation: uuid::Uuid::max(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        effective_on: date("2026-11-20"),
        applied_on: date("2026-12-20"),
        court: "山亭区人民法院".into(),
        ruling: Some(CourtRuling::Confirmed),
        ruled_on: Some(date("2026-12-28")),
        note: String::new(),
        recorded_at: at("2026-12-28T02:00:00Z"),
    };
    let check = |j: &JudicialConfirmation| OpRecord::JudicialConfirmation(Box::new(j.clone())).check(&catalog);
    assert_eq!(check(&j), Ok(()), "applied on the 30th day");
    let code = |j: JudicialConfirmation| check(&j).expect_err("refused").code;
    assert_eq!(code(JudicialConfirmation { applied_on: date("2026-12-21"), ..j.clone() }), Code::WindowClosed);
    assert_eq!(code(JudicialConfirmation { applied_on: date("2026-11-19"), ..j.clone() }), Code::PeriodReversed);
    assert_eq!(code(JudicialConfirmation { ruled_on: Some(date("2026-12-19")), ..j.clone() }), Code::PeriodReversed);
    assert_eq!(code(JudicialConfirmation { ruled_on: None, ..j.clone() }), Code::Required);
    assert_eq!(code(JudicialConfirmation { court: " ".into(), ..j.clone() }), Code::Required);
    assert_eq!(code(JudicialConfirmation { note: "注".repeat(501), ..j.clone() }), Code::Implausible);

    let r = Recurrence {
        id: uuid::Uuid::nil(),
        mediation: uuid::Uuid::max(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        kind: RecurrenceKind::CivilToCriminal,
        occurred_on: date("2026-12-28"),
        note: "再次冲突，已转刑事立案".into(),
        recorded_at: at("2026-12-28T02:00:00Z"),
    };
    let check = |r: Recurrence| OpRecord::Recurrence(Box::new(r)).check(&catalog);
    assert_eq!(check(r.clone()), Ok(()));
    assert_eq!(check(Recurrence { note: String::new(), ..r.clone() }).expect_err("blank").code, Code::Required);
    assert_eq!(
        check(Recurrence { occurred_on: date("2026-12-29"), ..r }).expect_err("future").code,
        Code::PeriodReversed
    );
}

/// What the server checks of a pushed clue or 一标三实 correction: the same bounds as the tablet.
#[test]
fn a_pushed_clue_or_registry_correction_is_checked_like_on_the_tablet() {
    use beibao_core::activity::{ClueCategory, ClueReport, InfoCategory, RegistryProposal};
    use beibao_core::code::Code;
    use beibao_core::ops::OpRecord;
    let catalog = beibao_core::bundled::catalog().expect("catalog");
    let clue = ClueReport {
        id: uuid::Uuid::nil(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        category: ClueCategory::Drugs,
        summary: "有人在出租屋内吸毒".into(),
        place: String::new(),
        reported_at: at("2026-11-20T02:00:00Z"),
    };
    let check = |c: ClueReport| OpRecord::ClueReport(Box::new(c)).check(&catalog);
    assert_eq!(check(clue.clone()), Ok(()));
    assert_eq!(check(ClueReport { summary: "\n".into(), ..clue.clone() }).expect_err("blank").code, Code::Required);
    assert_eq!(
        check(ClueReport { place: "东".repeat(201), ..clue.clone() }).expect_err("long").code,
        Code::Implausible
    );
    assert_eq!(check(ClueReport { village: String::new(), ..clue }).expect_err("where").code, Code::Required);

    let p = RegistryProposal {
        id: uuid::Uuid::nil(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        category: InfoCategory::Address,
        household: None,
        subject: "王庄村3组12号".into(),
        proposed: "门牌应为3组14号".into(),
        note: String::new(),
        proposed_at: at("2026-11-20T02:00:00Z"),
    };
    let check = |p: RegistryProposal| OpRecord::RegistryProposal(Box::new(p)).check(&catalog);
    assert_eq!(check(p.clone()), Ok(()));
    assert_eq!(check(RegistryProposal { proposed: " ".into(), ..p.clone() }).expect_err("blank").code, Code::Required);
    assert_eq!(check(RegistryProposal { note: "注".repeat(501), ..p }).expect_err("long").code, Code::Implausible);
}
