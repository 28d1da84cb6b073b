//! How fast the core rules run on one core: what a low-end tablet pays per record.
//! Prints one line per rule and a final summary line:
//! `core_bench: id_parse_ns=… agreement_hash_us=… proof_of_visit_ns=… catalog_load_us=… add_working_days_ns=…`

use std::hint::black_box;
use std::time::Instant;

use beibao_core::calendar::WorkCalendar;
use beibao_core::catalog::Catalog;
use beibao_core::identity::IdNumber;
use beibao_core::mediation::MediationKind;
use beibao_core::mediation::agreement::{
    Agreement, AgreementForm, AgreementGps, Mark, Mediator, MediatorRole, Party, PartyRole, Performance,
    SignatureCapture, Signer, StrokePoint,
};
use beibao_core::visit::{GpsFix, ProofPolicy, Visit, VisitOutcome, VisitPurpose, VisitTarget, proof_of_visit};
use chrono::{NaiveDate, TimeZone, Utc};
use geo::polygon;

const CATALOG: &str = include_str!("../../../fixtures/catalog/services.json");
const CALENDAR: &str = include_str!("../../../fixtures/calendar/cn-holidays.json");

/// Median nanoseconds per call over `rounds` rounds of `per_round` calls.
fn measure(name: &str, rounds: usize, per_round: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_round {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / per_round as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!("{name:<18} median {median:>12.0} ns/call ({rounds} rounds × {per_round})");
    median
}

fn agreement() -> Agreement {
    let t = Utc.with_ymd_and_hms(2026, 11, 20, 2, 30, 0).single().expect("valid time");
    // Three signatures of 4 strokes × 60 points: a realistic handwritten name.
    let strokes: Vec<Vec<StrokePoint>> = (0..4)
        .map(|s| (0..60).map(|i| StrokePoint { x: i * 3 + s * 50, y: (i * 7) % 40, t: (i * 16) as u32 }).collect())
        .collect();
    let sign = |signer| SignatureCapture {
        signer,
        mark: Mark::Signature,
        strokes: strokes.clone(),
        image_sha256: "ab".repeat(32),
        signed_at: t,
    };
    let party = |role, name: &str, id: &str| Party {
        role,
        name: name.into(),
        id_number: id.into(),
        address: "山亭区西集镇王庄村3组12号".into(),
        phone: "13812345678".into(),
        guardian: None,
        self_supporting: false,
        proxy: None,
    };
    Agreement {
        kind: MediationKind::People,
        form: AgreementForm::Written,
        serial: Some("XJ-2026-0001".into()),
        authority: "西集镇王庄村人民调解委员会".into(),
        mediators: vec![Mediator { name: "赵德明".into(), role: MediatorRole::Mediator }],
        witnesses: vec![],
        parties: vec![
            party(PartyRole::Applicant, "王建国", "370406195803120011"),
            party(PartyRole::Respondent, "李秀兰", "370406194507010024"),
        ],
        facts: "双方因院墙滴水问题发生争执。".repeat(5),
        issues: "院墙排水沟的修建与费用。".into(),
        responsibilities: vec!["未经协商加高院墙。".into(), "堵塞排水沟。".into()],
        incident: None,
        terms: vec!["王建国负责修建排水沟。".into(), "李秀兰承担材料费三百元。".into()],
        performance: Some(Performance {
            method: "现金".into(),
            place: "村委会".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 20).expect("valid date"),
        }),
        village: "370406102201".into(),
        place: "王庄村委会".into(),
        gps: Some(AgreementGps::from_degrees(34.98321, 117.40211, 8.0)),
        concluded_at: t,
        rights_notified: true,
        signatures: vec![sign(Signer::Party(0)), sign(Signer::Party(1)), sign(Signer::Mediator(0))],
    }
}

fn main() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).expect("valid date");
    let ids = ["370406195803120011", "370406194507010024", "370406193701055117", "370481196209151231"];
    let id_parse = measure("id_parse", 21, 20_000, |i| {
        black_box(IdNumber::parse(black_box(ids[i % ids.len()]), today).is_ok());
    });

    let a = agreement();
    let hash = measure("agreement_hash", 21, 200, |_| {
        black_box(a.content_hash().expect("canonical"));
    });

    let village = polygon![
        (x: 117.40, y: 34.98), (x: 117.405, y: 34.978), (x: 117.41, y: 34.98), (x: 117.412, y: 34.985),
        (x: 117.41, y: 34.99), (x: 117.405, y: 34.992), (x: 117.40, y: 34.99), (x: 117.398, y: 34.985),
    ];
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 1, 0, 0).single().expect("valid time");
    let visit = |lon: f64| Visit {
        id: uuid::Uuid::nil(),
        device_id: "dev".into(),
        officer_id: "OF-03-01".into(),
        village: "370406102201".into(),
        target: VisitTarget::Household("370406102201-001".into()),
        purposes: vec![VisitPurpose::SpecialGroupCare],
        outcome: VisitOutcome::Met,
        persons_met: 1,
        started_at: start,
        ended_at: start + chrono::Duration::minutes(20),
        fix: Some(GpsFix { lat: 34.985, lon, accuracy_m: 12.0, taken_at: start }),
        pin: None,
        note: String::new(),
    };
    let visits = [visit(117.405), visit(117.43)];
    let policy = ProofPolicy::default();
    let proof = measure("proof_of_visit", 21, 20_000, |i| {
        black_box(proof_of_visit(&visits[i % 2], &village, None, &policy));
    });

    let catalog = measure("catalog_load", 11, 50, |_| {
        black_box(Catalog::from_json(CATALOG).expect("catalog"));
    });

    let cal = WorkCalendar::from_json(CALENDAR).expect("calendar");
    let from = NaiveDate::from_ymd_opt(2026, 9, 20).expect("valid date");
    let working = measure("add_working_days", 21, 20_000, |i| {
        black_box(cal.add_working_days(from, 3 + (i % 5) as u32));
    });

    println!(
        "core_bench: id_parse_ns={id_parse:.0} agreement_hash_us={:.1} proof_of_visit_ns={proof:.0} catalog_load_us={:.0} add_working_days_ns={working:.0}",
        hash / 1000.0,
        catalog / 1000.0,
    );
}
