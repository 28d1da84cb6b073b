//! `make bench-sync`: a tablet's outbox of 1,000 records drained through the link emulator,
//! batched (protocol v2: zstd, sized in bytes), against a baseline that posts the same records one
//! per request (as OpenRosa/ODK clients do), over the same link in the same run; then the batched
//! drain again with every connection cut every 20 s.
//!
//! The records are realistic: an officer's days as they go — household visits with notes made of
//! phrases from real visit notes (REFERENCE §1, the sources), purposes and outcomes varied, GPS
//! fixes as a phone reports them (fourteen decimals, a float accuracy), services accepted and moved
//! along, publicity, hazards found and fixed, ratings, now and then a mediation — with ids as a
//! phone makes them (UUIDv7: the millisecond, then random bits). The old synthetic set (identical
//! visits) is drained once more for comparison.
//!
//! `payload_floor_bytes` is the records' payloads compressed together as one stream with zstd -19
//! (long mode), per record: what no encoding of these records gets under. `bytes_per_record`
//! counts every request of the drain and its answer (authentication, last-seq, pushes, pull),
//! both directions; `seconds` runs until the last record's receipt. The mediations' signature
//! images and agreement PDFs go on the blob queue after the records: their bytes, requests and
//! the time the whole drain ends are printed apart. `drop_ratio` is the clean drain's seconds over
//! the mean of four drains cut every 20 s, the first cut 2, 7, 12 and 17 s in (so together they
//! see a cut every 20 s, whatever a drain's length). Printed for the 100 kbit/s, 300 ms link (the
//! final line, exactly like `sync_drain: records=1000 seconds=… bytes_per_record=…
//! payload_floor_bytes=… round_trips=… baseline_seconds=… speedup=… drop_ratio=…`), and for 3G
//! (1 Mbit/s, 150 ms) and the edge of coverage (20 kbit/s, 800 ms), where the one-per-request
//! baseline is timed on 200 records and scaled to 1,000 (it is linear in the records: one round
//! trip each). `BEIBAO_SYNC_LINKS=bytes,v1,photo,synthetic,3g,edge,main` picks the parts (all by
//! default): `bytes` prints one body of the 1,000 ops in each protocol, `v1` the drain in v1,
//! `photo` a 2 MB photo cut every 20 s (how much of it is sent twice).

use std::time::{Duration, Instant};

use beibao_core::activity::{Hazard, HazardKind, PublicitySession, PublicityTopic, RatingSubject};
use beibao_core::clock::Clock as _;
use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::VisitInput;
use beibao_sync::Settings;
use beibao_sync::wire::{self, PushRequest, PushRequestV2, WireOp};
use beibao_tests::link::{Link, Recorded, Shape};
use beibao_tests::{OFFICER, PhoneIds, Server, Tablet, runtime, server_db, work};
use chrono::Duration as Span;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use tokio::runtime::Runtime;

const RECORDS: usize = 1000;
/// Records the slow links' one-per-request baseline is timed on.
const BASELINE_SAMPLE: usize = 200;

/// Phrases of real visit notes (走访记录), one to three to a note.
const PHRASES: &[&str] = &[
    "了解家中老人身体状况",
    "提醒防范电信网络诈骗，不接陌生来电",
    "指导安装国家反诈中心APP并完成注册",
    "宣传防溺水知识，叮嘱孩子暑假不到河塘边玩水",
    "排查用电安全，发现电线老化，提醒及时更换",
    "独居老人取暖用炭火，提醒开窗通风防一氧化碳中毒",
    "留守儿童由祖父母照看，学习生活正常",
    "登记新增外出务工人员联系方式",
    "核实户籍信息，人户一致",
    "群众反映路灯损坏，已联系村委会维修",
    "邻里因排水沟堵塞有矛盾，现场劝解，双方同意共同清理",
    "收集群众对派出所工作的意见建议",
    "提醒电动车不要在楼道充电",
    "残疾人家庭，了解其生活困难，已告知村委会救助政策",
    "宣传禁毒知识，发放宣传资料",
    "家中无人，留下警民联系卡",
    "回访上次调解的宅基地纠纷，协议已履行",
    "告知身份证到期换领手续，可预约上门办理",
    "检查农家乐消防器材，灭火器压力正常",
    "提醒秋收期间注意农机道路交通安全",
    "特困人员，冬季物资已到位",
    "对接网格员，更新实有人口信息",
];

/// How a phone reports a fix: the position jittered around the house with all the decimals the
/// platform prints, the accuracy a float widened to a double.
fn phone_fix(t: &Tablet, rng: &mut ChaCha8Rng, home: beibao_core::registry::GeoPoint) -> GpsFix {
    let accuracy = f64::from(rng.random_range(3.0f32..25.0));
    GpsFix {
        lat: home.lat + rng.random_range(-0.000_15..0.000_15),
        lon: home.lon + rng.random_range(-0.000_15..0.000_15),
        accuracy_m: accuracy,
        taken_at: t.clock.now(),
    }
}

/// One household visit as it happens: purposes, outcome and a note drawn from the phrases.
fn visit(t: &mut Tablet, rng: &mut ChaCha8Rng) -> uuid::Uuid {
    let hs = work::households_of(t.session.officer_id());
    let h = hs[rng.random_range(0..hs.len())];
    let all = [
        VisitPurpose::SpecialGroupCare,
        VisitPurpose::HazardCheck,
        VisitPurpose::Publicity,
        VisitPurpose::DisputeScreening,
        VisitPurpose::InformationCollection,
        VisitPurpose::Service,
    ];
    let mut purposes: Vec<VisitPurpose> = all.iter().copied().filter(|_| rng.random_bool(0.3)).collect();
    if purposes.is_empty() {
        purposes.push(all[rng.random_range(0..all.len())]);
    }
    let draft = t.session.start_visit(VisitTarget::Household(h.id.clone()), purposes).expect("start visit");
    t.clock.advance(Span::minutes(rng.random_range(8..35)));
    let outcome = match rng.random_range(0..20) {
        0..=15 => VisitOutcome::Met,
        16..=18 => VisitOutcome::NobodyHome,
        _ => VisitOutcome::Declined,
    };
    let note: Vec<&str> = (0..rng.random_range(1..=3)).map(|_| PHRASES[rng.random_range(0..PHRASES.len())]).collect();
    let fix = h.location.filter(|_| rng.random_bool(0.93)).map(|home| phone_fix(t, rng, home));
    t.session
        .record_visit(VisitInput {
            id: Some(draft.id),
            target: draft.target,
            purposes: draft.purposes,
            started_at: draft.started_at,
            ended_at: t.clock.now(),
            outcome,
            persons_met: if outcome == VisitOutcome::Met { rng.random_range(1..5) } else { 0 },
            fix,
            pin: None,
            note: note.join("；"),
        })
        .expect("record visit");
    t.clock.advance(Span::minutes(rng.random_range(5..20)));
    draft.id
}

/// An officer's days until the outbox holds `RECORDS` ops: mostly visits; an application
/// accepted now and then (carried back and moved along, or done on the spot), a rating after
/// some visits, publicity, a hazard found (and sometimes fixed), rarely a mediation.
fn realistic(t: &mut Tablet, rng: &mut ChaCha8Rng) {
    let ops = |t: &Tablet| beibao_store::outbox::all(t.session.store().conn()).expect("outbox").len();
    let village = beibao_tests::fixtures().registry.villages_of(t.session.officer_id())[0].to_owned();
    while ops(t) < RECORDS {
        // Out of 200 turns: 150 visits, 20 services, 10 rated visits, 8 publicity, 10 hazards, 2
        // mediations (about the county-year's mix: a mediation per hundred-odd visits).
        match rng.random_range(0..200) {
            0..=149 => {
                visit(t, rng);
            }
            150..=169 => {
                let steps = rng.random_range(1..4);
                work::service(t, rng, steps);
            }
            170..=179 => {
                let id = visit(t, rng);
                work::rating(t, RatingSubject::Visit(id), rng);
            }
            180..=187 => {
                let topics =
                    [PublicityTopic::AntiFraud, PublicityTopic::DrowningPrevention, PublicityTopic::FireSafety];
                t.session
                    .record_publicity(PublicitySession {
                        id: uuid::Uuid::nil(),
                        device_id: String::new(),
                        officer_id: String::new(),
                        village: village.clone(),
                        topic: topics[rng.random_range(0..topics.len())],
                        held_at: t.clock.now(),
                        attendees: rng.random_range(8..60),
                        leaflets: rng.random_range(0..80),
                        note: PHRASES[rng.random_range(0..PHRASES.len())].into(),
                    })
                    .expect("publicity");
            }
            188..=197 => {
                let h = t
                    .session
                    .record_hazard(Hazard {
                        id: uuid::Uuid::nil(),
                        device_id: String::new(),
                        officer_id: String::new(),
                        village: village.clone(),
                        kind: [HazardKind::EbikeCharging, HazardKind::RentedHousing, HazardKind::SmallVenueFire]
                            [rng.random_range(0..3)],
                        place: format!("{}组{}号", rng.random_range(1..12), rng.random_range(1..60)),
                        description: "楼道内电动车充电，插线板私拉乱接".into(),
                        found_at: t.clock.now(),
                        deadline: None,
                        fixed_at: None,
                    })
                    .expect("hazard");
                if rng.random_bool(0.5) {
                    t.clock.advance(Span::minutes(30));
                    t.session.fix_hazard(h.id).expect("fix");
                }
            }
            _ => {
                work::signed_mediation(t, rng);
            }
        }
        // The evening: the next working day starts at 08:30.
        if t.clock.now().time() > chrono::NaiveTime::from_hms_opt(9, 30, 0).expect("time") {
            let next = (t.clock.now() + Span::days(1)).date_naive().and_hms_opt(0, 30, 0).expect("time").and_utc();
            t.clock.set(next);
        }
    }
}

/// The old synthetic set: identical visits at the door, a fix and the word 走访.
fn synthetic(t: &mut Tablet, rng: &mut ChaCha8Rng) {
    for _ in 0..RECORDS {
        work::visit(t, rng);
    }
}

struct Run {
    /// Until the last record's receipt.
    seconds: f64,
    /// Until the last signature image and agreement is uploaded too.
    all_seconds: f64,
    /// The records' requests and their answers.
    bytes: u64,
    round_trips: u64,
    applied: u64,
    /// The payloads compressed together (zstd -19, long mode), per record.
    floor: f64,
    /// Bytes of the blob queue's requests and answers (signature images, agreement PDFs).
    blob_bytes: u64,
    /// Blob requests.
    blob_trips: u64,
}

fn settings(max_batch: usize) -> Settings {
    Settings {
        batch_bytes: max_batch.min(256 * 1024),
        min_batch_bytes: max_batch.min(4 * 1024),
        max_batch_bytes: max_batch,
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        request_timeout: Duration::from_secs(60),
        pass_timeout: Duration::from_secs(1800),
        ..Settings::default()
    }
}

/// The payloads of the outbox compressed as one stream, per op.
fn payload_floor(t: &Tablet, limit: usize) -> f64 {
    let ops: Vec<_> = beibao_store::outbox::all(t.session.store().conn())
        .expect("outbox")
        .into_iter()
        .filter(|o| o.state == "pending")
        .take(limit)
        .collect();
    let all: Vec<u8> = ops.iter().flat_map(|o| o.payload.bytes().chain(std::iter::once(b'\n'))).collect();
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 19).expect("zstd");
    enc.long_distance_matching(true).expect("long mode");
    std::io::Write::write_all(&mut enc, &all).expect("compress");
    enc.finish().expect("finish").len() as f64 / ops.len() as f64
}

/// How one drain is run.
#[derive(Clone, Copy)]
struct Drain {
    seed: u64,
    /// The engine's largest batch (1 byte: one record per request, the baseline).
    max_batch: usize,
    /// The first cut of every connection, then one every 20 s.
    first_drop: Option<Duration>,
    shape: Shape,
    make: fn(&mut Tablet, &mut ChaCha8Rng),
    limit: usize,
    /// Push with protocol v2 (as the server offers it) or v1.
    v2: bool,
    /// Upload the blob queue too (the drains with drops and the baseline measure the records
    /// only: their blobs are set aside as if sent before).
    blobs: bool,
}

/// A tablet (ids as a phone makes them) enrolled with its own server, its catalog pulled on a
/// clean link, then its records made, the first `limit` of them drained: the link shaped, one
/// drain measured.
fn run(rt: &Runtime, d: Drain) -> Run {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(rt, &server_db(dir.path()), d.seed);
    let link = Link::start(rt, server.addr);
    let mut t = Tablet::with_ids(OFFICER, d.seed, |clock| Arc::new(PhoneIds::new(clock, d.seed)));
    t.enroll(rt, &link.url(), &server.code(rt, OFFICER)).expect("enroll");
    t.sync(rt, settings(d.max_batch), 0, &mut |_| {}).expect("first sync: the catalog");
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    (d.make)(&mut t, &mut rng);
    // Exactly `limit` ops are drained: any made past them (a day's last service brings its
    // steps) are set aside as if sent before.
    let cut = t
        .session
        .store()
        .conn()
        .execute(
            "UPDATE outbox SET state = 'applied' WHERE state = 'pending'
               AND seq NOT IN (SELECT seq FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1)",
            [d.limit as i64],
        )
        .expect("sample");
    let floor = payload_floor(&t, d.limit);
    if !d.blobs {
        t.session.store().conn().execute("UPDATE blobs SET uploaded = 1", []).expect("blobs aside");
    }
    // The tablet comes back into coverage now: the server's clock is the tablet's.
    server.clock.set(t.clock.now());
    link.shape(d.shape);
    if let Some(first) = d.first_drop {
        link.drop_every(rt, first, Duration::from_secs(20));
    }
    let reqs0 = link.recorded().len();
    let start = Instant::now();
    // The records are done when the outbox is empty (the blob queue goes on after them).
    let mut records_done: Option<f64> = None;
    let s = t
        .sync(rt, Settings { protocol_v2: d.v2, ..settings(d.max_batch) }, 100_000, &mut |p| {
            if p.left.ops == 0 && records_done.is_none() {
                records_done = Some(start.elapsed().as_secs_f64());
            }
        })
        .expect("drain");
    let all_seconds = start.elapsed().as_secs_f64();
    // Every request is counted with its answer; the blob queue's apart.
    let sent = &link.recorded()[reqs0..];
    let blob = |r: &&Recorded| r.line.contains("/api/v1/blobs/");
    let size = |r: &Recorded| r.bytes.len() as u64 + r.answer_bytes;
    let blob_bytes: u64 = sent.iter().filter(blob).map(size).sum();
    let blob_trips = sent.iter().filter(blob).count() as u64;
    let bytes: u64 = sent.iter().filter(|r| !blob(r)).map(size).sum();
    // Counted in the outbox (a pass that fails after its pushes, e.g. on a cut, does not report
    // what it applied): every one of the `limit` ops left pending.
    let pending: i64 = t
        .session
        .store()
        .conn()
        .query_row("SELECT count(*) FROM outbox WHERE state = 'pending'", [], |r| r.get(0))
        .expect("pending");
    assert_eq!(pending, 0, "every op drained: {s:?}");
    // (A drain whose blobs were set aside leaves the server without them: not checked.)
    if cut == 0 && d.blobs {
        let v = work::check(rt, &t, &server, 0);
        assert!(v.clean(), "{v:?}");
    }
    Run {
        seconds: records_done.unwrap_or(all_seconds),
        all_seconds,
        bytes,
        round_trips: sent.len() as u64 - blob_trips,
        applied: d.limit as u64,
        floor,
        blob_bytes,
        blob_trips,
    }
}

struct Figures {
    blob_bytes: u64,
    blob_trips: u64,
    all_seconds: f64,
    seconds: f64,
    bytes_per_record: f64,
    floor: f64,
    round_trips: u64,
    baseline_seconds: f64,
    drop_ratio: f64,
    dropped_seconds: Vec<f64>,
}

/// Where the first drop falls in each drain with drops: spread over the 20 s period, so the
/// drains together see a drop every 20 s whatever their length.
const DROP_PHASES: [u64; 4] = [2, 7, 12, 17];

/// The batched drain, the drains with drops and the one-per-request baseline on one link.
fn link_figures(rt: &Runtime, shape: Shape, baseline_records: usize, v2: bool) -> Figures {
    let drain = Drain {
        seed: 101,
        max_batch: 1024 * 1024,
        first_drop: None,
        shape,
        make: realistic,
        limit: RECORDS,
        v2,
        blobs: true,
    };
    let clean = run(rt, drain);
    let ops = clean.applied as f64;
    let dropped_seconds: Vec<f64> = DROP_PHASES
        .iter()
        .map(|&first| {
            run(rt, Drain { seed: 103, first_drop: Some(Duration::from_secs(first)), blobs: false, ..drain }).seconds
        })
        .collect();
    let mean_dropped = dropped_seconds.iter().sum::<f64>() / dropped_seconds.len() as f64;
    let baseline = run(rt, Drain { seed: 102, max_batch: 1, limit: baseline_records, blobs: false, ..drain });
    let baseline_seconds = baseline.seconds * ops / baseline.applied as f64;
    Figures {
        blob_bytes: clean.blob_bytes,
        blob_trips: clean.blob_trips,
        all_seconds: clean.all_seconds,
        seconds: clean.seconds,
        bytes_per_record: clean.bytes as f64 / ops,
        floor: clean.floor,
        round_trips: clean.round_trips,
        baseline_seconds,
        drop_ratio: clean.seconds / mean_dropped,
        dropped_seconds,
    }
}

/// What went on the blob queue besides, and the drains with drops.
fn blobs(f: &Figures) -> String {
    let dropped: Vec<String> = f.dropped_seconds.iter().map(|s| format!("{s:.1}")).collect();
    format!(
        "(besides: the blob queue's signature images and agreements, {} bytes in {} requests, done at {:.1} s; records with drops from {:?} s on, every 20 s: {} s)",
        f.blob_bytes,
        f.blob_trips,
        f.all_seconds,
        DROP_PHASES,
        dropped.join(" / ")
    )
}

fn line(f: &Figures) -> String {
    format!(
        "records={RECORDS} seconds={:.1} bytes_per_record={:.0} payload_floor_bytes={:.0} round_trips={} baseline_seconds={:.1} speedup={:.1} drop_ratio={:.2}",
        f.seconds,
        f.bytes_per_record,
        f.floor,
        f.round_trips,
        f.baseline_seconds,
        f.baseline_seconds / f.seconds,
        f.drop_ratio
    )
}

/// Where a push's bytes go: the outbox's first 1,000 ops as one body in each protocol (wire
/// zstd), the payloads alone, and the floor — with ids as a phone makes them, and with the
/// compressible sequential ids of the tests.
fn bytes_breakdown(rt: &Runtime) {
    for (name, phone) in [("phone ids", true), ("sequential ids", false)] {
        let dir = tempfile::tempdir().expect("tmp");
        let server = Server::sqlite(rt, &server_db(dir.path()), 101);
        let mut t = if phone {
            Tablet::with_ids(OFFICER, 101, |clock| Arc::new(PhoneIds::new(clock, 101)))
        } else {
            Tablet::new(OFFICER, 101)
        };
        t.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
        t.sync(rt, settings(1 << 20), 0, &mut |_| {}).expect("catalog");
        realistic(&mut t, &mut ChaCha8Rng::seed_from_u64(42));
        let ops: Vec<WireOp> = beibao_store::outbox::pending(t.session.store().conn(), RECORDS)
            .expect("outbox")
            .iter()
            .map(|o| WireOp::new(o.seq, &o.op_id, &o.kind, &o.sha256, &o.payload).expect("op"))
            .collect();
        let n = ops.len() as f64;
        let per = |b: &[u8]| wire::compress(b).len() as f64 / n;
        let device = t.session.device_id().to_owned();
        let v1 = PushRequest { device_id: device.clone(), batch_id: "b".into(), ops: ops.clone(), sent_at: None };
        let v2 = PushRequestV2::new(&device, "b", &ops, None);
        let payloads: Vec<u8> = ops.iter().flat_map(|o| o.payload.get().bytes().chain([b'\n'])).collect();
        println!(
            "bytes per record, one body of {} ops ({name}): v1={:.1} v2={:.1} payloads={:.1} payload_floor={:.1}",
            ops.len(),
            per(&serde_json::to_vec(&v1).expect("json")),
            per(&serde_json::to_vec(&v2).expect("json")),
            per(&payloads),
            payload_floor(&t, RECORDS)
        );
    }
}

/// A 2 MB photo (an application's attachment: a JPEG's bytes are as incompressible as random
/// ones) over the 100 kbit/s, 300 ms link, every connection cut every 20 s (the first 7 s in):
/// how long it takes, and how many of its bytes crossed the link twice — counted as the server
/// received them, and as the link took them from the tablet (those taken but not yet delivered at
/// a cut are lost on the way).
fn photo(rt: &Runtime, shape: Shape) {
    use beibao_field::{AcceptInput, Attachment};
    use rand::RngCore as _;
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(rt, &server_db(dir.path()), 105);
    let link = Link::start(rt, server.addr);
    let mut t = Tablet::with_ids(OFFICER, 105, |clock| Arc::new(PhoneIds::new(clock, 105)));
    t.enroll(rt, &link.url(), &server.code(rt, OFFICER)).expect("enroll");
    t.sync(rt, settings(1 << 20), 0, &mut |_| {}).expect("first sync: the catalog");
    let mut bytes = vec![0u8; 2 * 1024 * 1024];
    ChaCha8Rng::seed_from_u64(7).fill_bytes(&mut bytes);
    bytes[..3].copy_from_slice(&[0xff, 0xd8, 0xff]); // a JPEG's start
    let size = bytes.len() as u64;
    let h = work::households_of(t.session.officer_id())[0];
    let with_photo =
        AcceptInput { attachments: vec![Attachment { mime: "image/jpeg".into(), bytes }], ..work::id_card_for(h) };
    t.session.accept_service(with_photo).expect("an application with its photo");
    server.clock.set(t.clock.now());
    link.shape(shape);
    link.drop_every(rt, Duration::from_secs(7), Duration::from_secs(20));
    let (reqs0, (_, up0, _), delivered0) = (link.recorded().len(), link.counters(), link.delivered_up());
    let start = Instant::now();
    let s = t.sync(rt, settings(1 << 20), 100_000, &mut |_| {}).expect("drain");
    let seconds = start.elapsed().as_secs_f64();
    let (_, up, _) = link.counters();
    let sent = &link.recorded()[reqs0..];
    // Everything else the drain sent (authentication, the application's push, blob status
    // questions) went whole: its bytes are not the photo's.
    let other: u64 =
        sent.iter().filter(|r| !r.line.starts_with("PUT /api/v1/blobs/")).map(|r| r.bytes.len() as u64).sum();
    let chunks = sent.iter().filter(|r| r.line.starts_with("PUT /api/v1/blobs/")).count();
    let twice = |crossed: u64| 100.0 * (crossed.saturating_sub(other) as f64 / size as f64 - 1.0);
    println!(
        "photo: bytes={size} seconds={seconds:.1} cuts={} retries={} chunk_requests={chunks} resent_pct={:.1} (as the server received them; as the link took them from the tablet: {:.1})",
        (seconds - 7.0).div_euclid(20.0) as i64 + 1,
        s.retries,
        twice(link.delivered_up() - delivered0),
        twice(up - up0)
    );
}

fn main() {
    // `BEIBAO_SYNC_LINKS=main` (or any of synthetic,3g,edge,main) runs only those parts.
    let only = std::env::var("BEIBAO_SYNC_LINKS").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p.trim() == name);
    let rt = runtime();
    let modem =
        |kbit: u64, rtt_ms: u64| Shape { one_way: Duration::from_millis(rtt_ms / 2), bytes_per_s: kbit * 1000 / 8 };
    println!("sync bench: {RECORDS} realistic records per drain (loopback, emulated links)");
    if part("synthetic") {
        let synthetic_run = run(
            &rt,
            Drain {
                seed: 104,
                max_batch: 1024 * 1024,
                first_drop: None,
                shape: modem(100, 300),
                make: synthetic,
                limit: RECORDS,
                v2: true,
                blobs: true,
            },
        );
        println!(
            "synthetic (identical visits), 100 kbit/s 300 ms: seconds={:.1} bytes_per_record={:.0} payload_floor_bytes={:.0} round_trips={}",
            synthetic_run.seconds,
            synthetic_run.bytes as f64 / synthetic_run.applied as f64,
            synthetic_run.floor,
            synthetic_run.round_trips
        );
    }
    if part("bytes") {
        bytes_breakdown(&rt);
    }
    if part("photo") {
        photo(&rt, modem(100, 300));
    }
    if part("3g") {
        let g3 = link_figures(&rt, modem(1000, 150), BASELINE_SAMPLE, true);
        println!("3G 1 Mbit/s 150 ms (baseline timed on {BASELINE_SAMPLE} records): {} {}", line(&g3), blobs(&g3));
    }
    if part("edge") {
        let edge = link_figures(&rt, modem(20, 800), BASELINE_SAMPLE, true);
        println!(
            "edge 20 kbit/s 800 ms (baseline timed on {BASELINE_SAMPLE} records): {} {}",
            line(&edge),
            blobs(&edge)
        );
    }
    if !part("main") {
        return;
    }
    if part("v1") {
        // The same drain in protocol v1 (a tablet from before v2), for comparison.
        let d = Drain {
            seed: 101,
            max_batch: 1024 * 1024,
            first_drop: None,
            shape: modem(100, 300),
            make: realistic,
            limit: RECORDS,
            v2: false,
            blobs: true,
        };
        let v1 = run(&rt, d);
        println!(
            "protocol v1, 100 kbit/s 300 ms: seconds={:.1} bytes_per_record={:.0} payload_floor_bytes={:.0} round_trips={}",
            v1.seconds,
            v1.bytes as f64 / v1.applied as f64,
            v1.floor,
            v1.round_trips
        );
    }
    let main = link_figures(&rt, modem(100, 300), RECORDS, true);
    println!(
        "100 kbit/s 300 ms: bytes_per_record / payload_floor_bytes = {:.2} {}",
        main.bytes_per_record / main.floor,
        blobs(&main)
    );
    println!("sync_drain: {}", line(&main));
}
