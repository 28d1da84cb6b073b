//! `make bench-export`: a county-year — 1,000,000 visits, 100,000 service requests (ID cards
//! carried back, anti-fraud apps installed on site), 5,000 mediations — pushed through the real
//! push path (`plan::check_all` + `Storage::push`, as the HTTP handler does) from one device per
//! officer with villages, over the fixtures' villages and households, on SQLite and on
//! PostgreSQL. Then, through a real server on loopback with a supervisor's session: the
//! district's year grouped to villages (`/supervisor/report`, median of 5 after a warm-up), and
//! its XLSX (a sheet for villages and one for officers) and CSV. Prints the figures and a final
//! line exactly like
//! `export_bench: visits=1000000 sqlite_totals_ms=… postgres_totals_ms=… xlsx_seconds=… csv_seconds=… peak_rss_mb=…`
//! (the exports timed on SQLite; peak RSS of this process, server included). Before it, on each
//! backend, the detail exports of the visits (masked): a month and the year as CSV, the year as
//! XLSX, with the peak RSS before and after (streamed: it should not grow with the range).
//! `BEIBAO_EXPORT_SCALE=N` divides the counts by N for a quick run.

use std::sync::Arc;
use std::time::Instant;

use beibao_core::calendar::WorkCalendar;
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::{Catalog, FeeQuote, Mode};
use beibao_core::clock::Received;
use beibao_core::mediation::agreement::Agreement;
use beibao_core::mediation::eligibility::EligibilityInput;
use beibao_core::mediation::{MediationKind, Outcome};
use beibao_core::ops::{CaseStatus, MediationCase, RequestEvent};
use beibao_core::registry::Household;
use beibao_core::service_request::{RequestState, ServiceRequest, Transition};
use beibao_core::visit::{GpsFix, ProofVerdict, Visit, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_server::Storage;
use beibao_server::admin::new_account;
use beibao_server::app::{Limits, code_hash};
use beibao_server::storage::{Enrollment, Role};
use beibao_store::records::StoredVisit;
use beibao_sync::wire::{self, WireOp};
use beibao_tests::pg::Cluster;
use beibao_tests::{Server, fixtures, runtime, t0};
use chrono::{DateTime, Duration, NaiveDate, Utc};

const BATCH: usize = 5_000;
const PASSWORD: &str = "bench-password-1";

struct Officer {
    /// Its place in the list (the high bits of its records' ids).
    n: u64,
    id: String,
    device: String,
    households: Vec<&'static Household>,
    seq: i64,
}

/// 09:00 in Shanting on day `d` of 2026, plus `minutes`.
fn at(d: u32, minutes: i64) -> DateTime<Utc> {
    let day = NaiveDate::from_yo_opt(2026, 1 + d % 365).expect("day");
    day.and_hms_opt(1, 0, 0).expect("time").and_utc() + Duration::minutes(minutes)
}

/// A record id: its kind and officer in the high bits, its number in the low.
fn uuid(kind: u128, o: &Officer, n: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128((kind << 120) | (u128::from(o.n) << 64) | u128::from(n))
}

fn visit(o: &Officer, n: u64) -> (String, String) {
    let h = o.households[n as usize % o.households.len()];
    let start = at(n as u32 / 7, (n % 7) as i64 * 45);
    let home = h.location.unwrap_or(beibao_core::registry::GeoPoint { lat: 34.98, lon: 117.4 });
    let v = StoredVisit {
        visit: Visit {
            id: uuid(1, o, n),
            device_id: o.device.clone(),
            officer_id: o.id.clone(),
            village: h.village.clone(),
            target: VisitTarget::Household(h.id.clone()),
            purposes: vec![VisitPurpose::SpecialGroupCare],
            outcome: VisitOutcome::Met,
            persons_met: 1 + (n % 4) as u16,
            started_at: start,
            ended_at: start + Duration::minutes(15 + (n % 20) as i64),
            fix: Some(GpsFix { lat: home.lat, lon: home.lon, accuracy_m: 12.0, taken_at: start }),
            pin: None,
            note: "走访".into(),
        },
        verdict: ProofVerdict::NearHousehold { distance_m: 3.0 },
        special_group: h.groups().iter().any(|g| g.counts_for_care_indicator()),
    };
    ("visit".into(), serde_json::to_string(&v).expect("json"))
}

fn service(o: &Officer, n: u64) -> Vec<(String, String)> {
    let h = o.households[n as usize % o.households.len()];
    let on_site = n.is_multiple_of(5);
    let accepted = at(n as u32 / 2, 30);
    let r = ServiceRequest {
        id: uuid(2, o, n),
        device_id: o.device.clone(),
        officer_id: o.id.clone(),
        service: if on_site { "WA01" } else { "HZ01" }.into(),
        mode: if on_site { Mode::OnSite } else { Mode::CarryBack },
        household: Some(h.id.clone()),
        applicant: h.members[0].id.clone(),
        materials: if on_site { vec!["phone".into()] } else { vec!["hukou_book".into(), "photo_fingerprints".into()] },
        fee: FeeQuote {
            option: (!on_site).then(|| "card".to_owned()),
            gross_fen: if on_site { 0 } else { 2000 },
            payable_fen: if on_site { 0 } else { 2000 },
            waiver: None,
        },
        state: RequestState::AcceptedOnSite,
        accepted_at: accepted,
        attachments: vec![],
    };
    let to = if on_site { RequestState::CompletedOnSite } else { RequestState::CarriedBack };
    let e = RequestEvent {
        id: uuid(3, o, n),
        request: r.id,
        device_id: o.device.clone(),
        officer_id: o.id.clone(),
        transition: Transition { from: RequestState::AcceptedOnSite, to, reason: None, recipient_signature: None },
        at: accepted + Duration::minutes(10),
    };
    vec![
        ("service_request".into(), serde_json::to_string(&r).expect("json")),
        ("request_event".into(), serde_json::to_string(&e).expect("json")),
    ]
}

fn mediation(o: &Officer, n: u64) -> (String, String) {
    let h = o.households[n as usize % o.households.len()];
    let opened = at(n as u32 * 3, 60);
    let kind = MediationKind::People;
    let outcome =
        [Outcome::SettledAndApproved, Outcome::FailedInformedOfRemedies, Outcome::ReferredToCommittee][n as usize % 3];
    let c = MediationCase {
        id: uuid(4, o, n),
        device_id: o.device.clone(),
        officer_id: o.id.clone(),
        kind,
        village: h.village.clone(),
        accepted_on: opened.date_naive(),
        opened_at: opened,
        eligibility: EligibilityInput::consenting(kind, None),
        status: CaseStatus::Ended,
        outcome: Some(outcome),
        agreement: Agreement::blank(kind, &h.village, "", opened + Duration::hours(2)),
        content_hash: None,
        finalized_at: Some(opened + Duration::hours(2)),
        device_signature: None,
        document: None,
    };
    ("mediation".into(), serde_json::to_string(&c).expect("json"))
}

/// Push one officer's ops in batches through the real push path.
fn push(
    rt: &tokio::runtime::Runtime,
    storage: &Arc<dyn Storage>,
    o: &mut Officer,
    ops: Vec<(String, String)>,
    catalogs: &[Catalog],
    calendar: &WorkCalendar,
) -> u64 {
    let mut applied = 0;
    for chunk in ops.chunks(BATCH) {
        let wire_ops: Vec<WireOp> = chunk
            .iter()
            .map(|(kind, payload)| {
                o.seq += 1;
                WireOp::new(o.seq, &format!("{}-{}", o.device, o.seq), kind, &sha256_hex(payload.as_bytes()), payload)
                    .expect("op")
            })
            .collect();
        let device = rt.block_on(storage.device(&o.device)).expect("device").expect("enrolled");
        // Received as the year ends (the pushes of a year, seeded at once).
        let received =
            Received { at: at(364, 0) + Duration::days(2), device_now: None, enrolled_at: device.enrolled_at };
        let checks = beibao_server::plan::check_all(&wire_ops, &device, catalogs, calendar, &received);
        let batch = format!("{}-b{}", o.device, o.seq);
        let pushed = rt
            .block_on(storage.push(&o.device, &batch, wire_ops, checks, t0()))
            .expect("storage")
            .unwrap_or_else(|e| panic!("batch refused: {e:?}"));
        for r in &pushed.results {
            assert_eq!(r.status, beibao_sync::wire::OpStatus::Applied, "{r:?}");
        }
        applied += pushed.results.len() as u64;
    }
    applied
}

/// Seed the county-year; returns the ops applied.
fn seed(rt: &tokio::runtime::Runtime, storage: &Arc<dyn Storage>, scale: u64) -> u64 {
    let f = fixtures();
    rt.block_on(storage.put_registry(&f.registry, &[], t0())).expect("registry");
    let mut officers: Vec<Officer> = f
        .registry
        .officers
        .iter()
        .filter(|o| !f.registry.villages_of(&o.id).is_empty())
        .enumerate()
        .map(|(n, o)| {
            let villages = f.registry.villages_of(&o.id);
            Officer {
                n: n as u64,
                id: o.id.clone(),
                device: format!("dev-export-{}", o.id),
                households: f.registry.households.iter().filter(|h| villages.contains(&h.village.as_str())).collect(),
                seq: 0,
            }
        })
        .collect();
    // The tablets were enrolled before the year they work through (the server counts no record
    // from before its device's enrollment: see `beibao_core::clock::Received`).
    let enrolled = at(0, 0) - Duration::days(1);
    for (i, o) in officers.iter().enumerate() {
        let code = format!("BENCH-{i:04}");
        rt.block_on(storage.issue_code(&code_hash(&code), &o.id, enrolled + Duration::hours(1), enrolled))
            .expect("code");
        let key = wire::signing_key(&[(i % 251) as u8 + 1; 32]);
        let e = Enrollment {
            code_hash: code_hash(&code),
            device_id: o.device.clone(),
            officer_id: o.id.clone(),
            public_key: wire::public_hex(&key),
        };
        rt.block_on(storage.enroll(&e, enrolled)).expect("enroll");
    }
    let (visits, services, mediations) = (1_000_000 / scale, 100_000 / scale, 5_000 / scale);
    let catalogs = vec![f.catalog.clone()];
    let n = officers.len() as u64;
    let mut applied = 0;
    for (i, o) in officers.iter_mut().enumerate() {
        let share = |total: u64| total / n + u64::from((i as u64) < total % n);
        let mut ops = Vec::new();
        for k in 0..share(visits) {
            ops.push(visit(o, k));
        }
        for k in 0..share(services) {
            ops.extend(service(o, k));
        }
        for k in 0..share(mediations) {
            ops.push(mediation(o, k));
        }
        applied += push(rt, storage, o, ops, &catalogs, &f.calendar);
    }
    applied
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The district's year through the API: totals by village (ms, median of 5 after a warm-up),
/// and the XLSX and CSV downloads (s).
fn measure(rt: &tokio::runtime::Runtime, storage: Arc<dyn Storage>, seed: u64) -> (f64, f64, f64) {
    rt.block_on(
        storage.create_account(&new_account("chief", Role::Supervisor, None, PASSWORD).expect("account"), t0()),
    )
    .expect("create");
    let limits = Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() };
    let server = Server::start(rt, storage, limits, seed);
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1", server.url());
    let token: String = rt.block_on(async {
        let r = http
            .post(format!("{base}/accounts/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "username": "chief", "password": PASSWORD }).to_string())
            .send()
            .await
            .expect("login");
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        v["token"].as_str().expect("token").to_owned()
    });
    let get = |path: &str| -> (f64, usize) {
        rt.block_on(async {
            let start = Instant::now();
            let mut r = http.get(format!("{base}{path}")).bearer_auth(&token).send().await.expect("get");
            assert_eq!(r.status().as_u16(), 200, "{path}");
            // Read as it comes and counted, not kept: the peak RSS is the server's.
            let mut n = 0;
            while let Some(chunk) = r.chunk().await.expect("body") {
                n += chunk.len();
            }
            (start.elapsed().as_secs_f64(), n)
        })
    };
    let report = "/supervisor/report?period=2026&level=village";
    get(report);
    let totals_ms = median((0..5).map(|_| get(report).0 * 1000.0).collect());
    let (xlsx, xlsx_bytes) = get("/supervisor/export?period=2026&level=village&format=xlsx");
    let (csv, csv_bytes) = get("/supervisor/export?period=2026&level=village&format=csv");
    println!(
        "  totals by village: {totals_ms:.1} ms; xlsx {xlsx:.2} s ({xlsx_bytes} bytes); csv {csv:.3} s ({csv_bytes} bytes)"
    );
    // The detail exports stream: a month's visits, then the year's, line by line; the peak RSS
    // before and after says whether memory stayed flat as the range grew twelvefold.
    let before = peak_rss_mb();
    let (month, month_bytes) = get("/supervisor/detail?of=visits&period=2026-11&format=csv");
    let after_month = peak_rss_mb();
    let (year, year_bytes) = get("/supervisor/detail?of=visits&period=2026&format=csv");
    let (year_xlsx, year_xlsx_bytes) = get("/supervisor/detail?of=visits&period=2026&format=xlsx");
    println!(
        "  detail (visits, masked): month csv {month:.2} s ({month_bytes} bytes); year csv {year:.2} s ({year_bytes} bytes); \
         year xlsx {year_xlsx:.2} s ({year_xlsx_bytes} bytes); peak RSS {before:.0} MB before, {after_month:.0} after the month, {:.0} after the year",
        peak_rss_mb()
    );
    (totals_ms, xlsx, csv)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let scale: u64 = std::env::var("BEIBAO_EXPORT_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let visits = 1_000_000 / scale;
    let rt = runtime();

    let dir = tempfile::tempdir().expect("tmp");
    let sqlite: Arc<dyn Storage> =
        Arc::new(beibao_server::Sqlite::open(&dir.path().join("export.db")).expect("sqlite"));
    let start = Instant::now();
    let applied = seed(&rt, &sqlite, scale);
    println!("sqlite: {applied} ops seeded in {:.0} s", start.elapsed().as_secs_f64());
    let (sqlite_ms, xlsx, csv) = measure(&rt, sqlite, 1);

    let cluster = Cluster::start(true).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("export").expect("createdb");
    let pg = rt.block_on(beibao_server::admin::open_storage(&url, None)).expect("connect");
    let start = Instant::now();
    let applied = seed(&rt, &pg, scale);
    println!("postgres: {applied} ops seeded in {:.0} s", start.elapsed().as_secs_f64());
    let (pg_ms, _, _) = measure(&rt, pg, 2);

    println!(
        "export_bench: visits={visits} sqlite_totals_ms={sqlite_ms:.0} postgres_totals_ms={pg_ms:.0} xlsx_seconds={xlsx:.2} csv_seconds={csv:.2} peak_rss_mb={:.0}",
        peak_rss_mb()
    );
}
