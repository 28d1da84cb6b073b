use beibao_core::registry::GeoPoint;
use beibao_core::visit::{
    GpsFix, ManualPin, ProofPolicy, ProofVerdict, Visit, VisitError, VisitOutcome, VisitPurpose, VisitTarget,
    proof_of_visit,
};
use chrono::Duration;
use geo::{Polygon, polygon};
use uuid::Uuid;

use crate::at;

/// A village square 117.40–117.41 E, 34.98–34.99 N.
fn square() -> Polygon<f64> {
    polygon![(x: 117.40, y: 34.98), (x: 117.41, y: 34.98), (x: 117.41, y: 34.99), (x: 117.40, y: 34.99)]
}

fn visit(fix: Option<(f64, f64, f64)>) -> Visit {
    Visit {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        device_id: "dev-1".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        target: VisitTarget::Household("370406102201-001".into()),
        purposes: vec![VisitPurpose::SpecialGroupCare],
        outcome: VisitOutcome::Met,
        persons_met: 1,
        started_at: at("2026-11-20T01:00:00Z"),
        ended_at: at("2026-11-20T01:20:00Z"),
        fix: fix.map(|(lat, lon, accuracy_m)| GpsFix { lat, lon, accuracy_m, taken_at: at("2026-11-20T01:05:00Z") }),
        pin: None,
        note: String::new(),
    }
}

#[test]
fn visit_rules() {
    let ok = visit(Some((34.985, 117.405, 10.0)));
    assert_eq!(ok.validate(), Ok(()));
    type Edit = fn(&mut Visit);
    let cases: Vec<(Edit, VisitError)> = vec![
        (|v| v.purposes.clear(), VisitError::NoPurpose),
        (
            |v| v.purposes.push(VisitPurpose::SpecialGroupCare),
            VisitError::DuplicatePurpose(VisitPurpose::SpecialGroupCare),
        ),
        (|v| v.ended_at = v.started_at - Duration::minutes(1), VisitError::EndsBeforeStart),
        (|v| v.ended_at = v.started_at + Duration::hours(13), VisitError::TooLong),
        (|v| v.persons_met = 0, VisitError::PersonsMismatch { persons: 0, outcome: VisitOutcome::Met }),
        (
            |v| v.outcome = VisitOutcome::NobodyHome,
            VisitError::PersonsMismatch { persons: 1, outcome: VisitOutcome::NobodyHome },
        ),
        (
            |v| v.fix.as_mut().expect("fix").accuracy_m = 0.0,
            VisitError::BadFix { lat: 34.985, lon: 117.405, accuracy_m: 0.0 },
        ),
        (|v| v.fix.as_mut().expect("fix").lat = 95.0, VisitError::BadFix { lat: 95.0, lon: 117.405, accuracy_m: 10.0 }),
    ];
    for (edit, expected) in cases {
        let mut v = ok.clone();
        edit(&mut v);
        assert_eq!(v.validate(), Err(expected.clone()), "{expected}");
        assert!(expected.code().as_str().starts_with("visit_"));
    }
    let mut nobody = ok.clone();
    nobody.outcome = VisitOutcome::NobodyHome;
    nobody.persons_met = 0;
    assert_eq!(nobody.validate(), Ok(()), "nobody home with nobody met is a valid visit");
}

#[test]
fn proof_of_visit_verdicts() {
    let policy = ProofPolicy::default();
    let house = GeoPoint { lat: 34.9995, lon: 117.405 }; // 1 km north of the square's centre, outside it
    let verdict = |fix, household| proof_of_visit(&visit(fix), &square(), household, &policy);

    assert_eq!(verdict(None, Some(house)), ProofVerdict::NoFix);
    assert_eq!(verdict(Some((34.985, 117.405, 250.0)), None), ProofVerdict::PoorAccuracy { accuracy_m: 250.0 });
    assert!(
        matches!(verdict(Some((34.985, 117.405, f64::NAN)), None), ProofVerdict::PoorAccuracy { accuracy_m } if accuracy_m.is_nan()),
        "an unknown accuracy proves nothing"
    );
    assert_eq!(verdict(Some((34.985, 117.405, 20.0)), None), ProofVerdict::InsideVillage);
    assert_eq!(
        verdict(Some((34.985, 117.405, 100.0)), None),
        ProofVerdict::InsideVillage,
        "the accuracy gate is inclusive"
    );

    match verdict(Some((34.9999, 117.405, 15.0)), Some(house)) {
        ProofVerdict::NearHousehold { distance_m } => {
            assert!((distance_m - 44.5).abs() < 1.0, "0.0004° of latitude is about 44.5 m, got {distance_m}")
        }
        other => panic!("a fix 45 m from the house proves the visit, got {other:?}"),
    }
    match verdict(Some((34.985, 117.42, 15.0)), Some(house)) {
        ProofVerdict::Outside { distance_m } => {
            // 0.01° of longitude at 34.985° N is 0.01 × 111.19 km × cos(34.985°) ≈ 911 m.
            assert!((distance_m - 911.0).abs() < 5.0, "distance to the east edge, got {distance_m}");
        }
        other => panic!("a fix 900 m east of the village is outside, got {other:?}"),
    }
}

#[test]
fn stale_fixes_prove_nothing() {
    let policy = ProofPolicy::default();
    let mut v = visit(Some((34.985, 117.405, 10.0)));
    v.fix.as_mut().expect("fix").taken_at = v.started_at - Duration::minutes(11);
    assert_eq!(proof_of_visit(&v, &square(), None, &policy), ProofVerdict::StaleFix, "taken 11 min before the visit");
    v.fix.as_mut().expect("fix").taken_at = v.started_at - Duration::minutes(10);
    assert_eq!(
        proof_of_visit(&v, &square(), None, &policy),
        ProofVerdict::InsideVillage,
        "10 min before is still fresh"
    );
    v.fix.as_mut().expect("fix").taken_at = v.ended_at + Duration::minutes(11);
    assert_eq!(proof_of_visit(&v, &square(), None, &policy), ProofVerdict::StaleFix, "taken 11 min after the visit");
    assert!(ProofVerdict::InsideVillage.is_proven() && !ProofVerdict::StaleFix.is_proven());
}

fn pinned(lat: f64, lon: f64, reason: &str) -> Visit {
    let mut v = visit(None);
    v.pin = Some(ManualPin { lat, lon, reason: reason.into(), placed_at: at("2026-11-20T01:06:00Z") });
    v
}

#[test]
fn a_manual_pin_needs_a_reason_replaces_the_fix_and_proves_nothing() {
    let inside = pinned(34.985, 117.405, "山谷里收不到卫星信号");
    assert_eq!(inside.validate(), Ok(()));
    let policy = ProofPolicy::default();
    let verdict = proof_of_visit(&inside, &square(), None, &policy);
    assert_eq!(verdict, ProofVerdict::ManualPin { inside_village: true });
    assert!(!verdict.is_proven(), "a pin placed by hand never proves presence");
    assert!(verdict.describe().zh.contains("手动标点"));
    let outside = pinned(34.95, 117.405, "信号差");
    assert_eq!(proof_of_visit(&outside, &square(), None, &policy), ProofVerdict::ManualPin { inside_village: false });

    assert_eq!(pinned(34.985, 117.405, "  ").validate(), Err(VisitError::PinReason));
    assert_eq!(pinned(34.985, 117.405, &"无".repeat(201)).validate(), Err(VisitError::PinReason));
    assert_eq!(pinned(34.985, 117.405, &"无".repeat(200)).validate(), Ok(()), "200 characters, not bytes");
    assert_eq!(pinned(91.0, 117.405, "信号差").validate(), Err(VisitError::BadPin { lat: 91.0, lon: 117.405 }));
    let mut both = pinned(34.985, 117.405, "信号差");
    both.fix = visit(Some((34.985, 117.405, 10.0))).fix;
    assert_eq!(both.validate(), Err(VisitError::FixAndPin));
    assert_eq!(VisitError::FixAndPin.code().as_str(), "visit_fix_and_pin");
    assert_eq!(VisitError::PinReason.code().as_str(), "visit_pin_reason");

    // A visit without a pin reads and writes as before (the field is left out).
    let json = serde_json::to_value(visit(None)).expect("json");
    assert!(json.get("pin").is_none());
    let back: Visit = serde_json::from_value(serde_json::to_value(&inside).expect("json")).expect("read back");
    assert_eq!(back, inside);
}
