//! Detail exports (`GET /supervisor/detail`, `GET /admin/detail`): a line per visit, service
//! request and mediation of a period and scope, as CSV and XLSX. An officer visits four
//! households over two days (one fix far outside the village, one note naming a resident),
//! carries back an ID card application and concludes a mediation; then:
//! - a supervisor's export is masked (the head of household, applicant, ID number and parties
//!   masked as `beibao_core::identity` masks them; no note or dispute facts), lists exactly the
//!   period's lines in (day, id) order, and states the server's own proof-of-visit verdict;
//! - the XLSX holds the same cells as the CSV;
//! - scope: a station supervisor of another station gets nothing and may not ask for this one;
//!   the desk may not export; a supervisor may not unmask;
//! - an administrator unmasks only with a reason, and every export is in the audit log;
//! - the database pages by (day, id) without losing or repeating a line;
//! - a database from before (no `records.day`) gives the same export after the upgrade.
//!
//! On SQLite and PostgreSQL.

use std::io::Cursor;

use beibao_core::clock::Clock as _;
use beibao_core::code::Code;
use beibao_core::identity::{mask_id_number, mask_name};
use beibao_core::ops::StoredVisit;
use beibao_core::registry::Household;
use beibao_core::visit::{GpsFix, ProofPolicy, VisitOutcome, VisitPurpose, VisitTarget, proof_of_visit};
use beibao_field::VisitInput;
use beibao_server::admin::new_account;
use beibao_server::detail::DetailKind;
use beibao_server::export::BOM;
use beibao_server::report::{Period, Scope};
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::console::Console;
use beibao_tests::work;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime};
use calamine::{Data, Reader, Xlsx};
use chrono::Duration;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

const PASSWORD: &str = "detail-password-1";
const NOTE: &str = "张三丰反映邻居占道堆放柴草";

/// A visit to `h` with a fix `offset` degrees of latitude from the house and a note.
fn visit_at(t: &mut Tablet, h: &Household, offset: f64, note: &str) {
    let home = h.location.expect("located");
    let draft = t
        .session
        .start_visit(VisitTarget::Household(h.id.clone()), vec![VisitPurpose::HazardCheck, VisitPurpose::Publicity])
        .expect("start visit");
    t.clock.advance(Duration::minutes(25));
    let fix = GpsFix { lat: home.lat + offset, lon: home.lon, accuracy_m: 8.0, taken_at: t.clock.now() };
    t.session
        .record_visit(VisitInput {
            id: Some(draft.id),
            target: draft.target,
            purposes: draft.purposes,
            started_at: draft.started_at,
            ended_at: t.clock.now(),
            outcome: VisitOutcome::Met,
            persons_met: 3,
            fix: Some(fix),
            pin: None,
            note: note.into(),
        })
        .expect("record visit");
}

/// A CSV export read back: its header and lines.
fn csv_lines(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(bytes.starts_with(BOM), "UTF-8 with a BOM");
    let mut r = csv::Reader::from_reader(&bytes[BOM.len()..]);
    let head = r.headers().expect("header").iter().map(str::to_owned).collect();
    let lines = r.records().map(|l| l.expect("line").iter().map(str::to_owned).collect()).collect();
    (head, lines)
}

/// An export's lines as `token` gets them (must answer 200).
fn export(c: &Console, token: &str, query: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let (status, kind, bytes) = c.file(&format!("{query}&format=csv"), Some(token));
    assert_eq!(status, 200, "{query}: {}", String::from_utf8_lossy(&bytes));
    assert!(kind.starts_with("text/csv"), "{kind}");
    csv_lines(&bytes)
}

fn column(head: &[String], name: &str) -> usize {
    head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {head:?}"))
}

fn details(server: &Server, rt: &Runtime) -> Vec<Vec<String>> {
    let f = fixtures();
    let storage = server.state.storage();
    rt.block_on(storage.put_registry(&f.registry, &[], beibao_tests::t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    let other = f.registry.stations.iter().find(|s| s.code != station).expect("another station").code.clone();
    for (name, role, st) in [
        ("chief", Role::Supervisor, None),
        ("station-chief", Role::Supervisor, Some(station.as_str())),
        ("other-chief", Role::Supervisor, Some(other.as_str())),
        ("desk", Role::Desk, Some(station.as_str())),
        ("admin", Role::Admin, None),
    ] {
        let a = new_account(name, role, st, PASSWORD).expect("account");
        rt.block_on(storage.create_account(&a, beibao_tests::t0())).expect("create");
    }

    // 2026-11-20: three visits (the second's fix 0.2° — some 22 km — north of the house), an ID
    // card carried back and submitted, a mediation; 2026-11-21: one more visit.
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    let mut t = Tablet::new(OFFICER, 51);
    t.enroll(rt, &server.url(), &server.code(rt, OFFICER)).expect("enroll");
    let device = t.session.device_id().to_owned();
    let mut rng = ChaCha8Rng::seed_from_u64(51);
    let hs = work::households_of(OFFICER);
    visit_at(&mut t, hs[0], 0.0, NOTE);
    visit_at(&mut t, hs[1], 0.2, "");
    visit_at(&mut t, hs[2], 0.0001, "");
    work::service(&mut t, &mut rng, 2);
    let case = work::signed_mediation(&mut t, &mut rng);
    t.clock.advance(Duration::days(1));
    visit_at(&mut t, hs[3], 0.0, "");
    server.clock.set(t.clock.now());
    t.sync(rt, fast, 0, &mut |_| {}).expect("sync");

    let c = Console::new(rt, server.url());
    let chief = c.login("chief", PASSWORD).token;
    let month = "/supervisor/detail?period=2026-11";

    // Visits, masked: the month's four, in (day, id) order; the server's verdict.
    let (head, lines) = export(&c, &chief, &format!("{month}&of=visits"));
    assert_eq!(head, beibao_server::detail::headers(DetailKind::Visits, true));
    assert!(!head.iter().any(|h| h == "备注"), "no free text in a masked export");
    assert_eq!(lines.len(), 4, "{lines:?}");
    let mut stored: Vec<(String, StoredVisit)> = rt
        .block_on(storage.records(&device, "visit"))
        .expect("records")
        .into_iter()
        .map(|(id, body)| (id, serde_json::from_str(&body).expect("visit")))
        .collect();
    stored.sort_by_key(|(id, v)| (beibao_core::calendar::china_date(v.visit.started_at), id.clone()));
    let (id_col, head_col, verdict_col, same_col) = (
        column(&head, "记录编号"),
        column(&head, "户主"),
        column(&head, "到访核验（服务器判定）"),
        column(&head, "平板判定一致"),
    );
    for (line, (id, v)) in lines.iter().zip(&stored) {
        assert_eq!(&line[id_col], id, "(day, id) order");
        assert_eq!(line[0], beibao_core::calendar::china_date(v.visit.started_at).to_string());
        let VisitTarget::Household(hid) = &v.visit.target else { panic!("a household") };
        let h = f.registry.households.iter().find(|h| &h.id == hid).expect("household");
        let head_person = h.head().expect("head");
        assert_eq!(line[head_col], mask_name(&head_person.name), "the head of household masked");
        let village = f.registry.villages.iter().find(|x| x.code == v.visit.village).expect("village");
        let expected = proof_of_visit(&v.visit, &village.geometry, h.location, &ProofPolicy::default());
        assert_eq!(line[verdict_col], expected.describe().zh, "the server's verdict");
        assert_eq!(line[same_col], "是");
        assert_eq!(line[column(&head, "走访事由")], "隐患排查、安全宣传");
        assert_eq!(line[column(&head, "见面人数（人）")], "3");
        assert_eq!(line[column(&head, "时长（分钟）")], "25");
    }
    assert!(lines.iter().any(|l| l[verdict_col].starts_with("在村外")), "the far fix is outside the village");
    let raw = String::from_utf8(c.file(&format!("{month}&of=visits&format=csv"), Some(&chief)).2).expect("utf-8");
    assert!(!raw.contains("张三丰"), "the note is not in a masked export");
    // A day: its three; a village and an officer narrow; another officer has none.
    assert_eq!(export(&c, &chief, "/supervisor/detail?period=2026-11-20&of=visits").1.len(), 3);
    assert_eq!(export(&c, &chief, &format!("{month}&of=visits&officer={OFFICER}")).1.len(), 4);
    let v0 = &stored[0].1.visit.village;
    let in_v0 = stored.iter().filter(|(_, v)| &v.visit.village == v0).count();
    assert_eq!(export(&c, &chief, &format!("{month}&of=visits&village={v0}")).1.len(), in_v0);
    assert_eq!(export(&c, &chief, &format!("{month}&of=visits&town={}", &v0[..9])).1.len(), 4);
    assert_eq!(export(&c, &chief, &format!("{month}&of=visits&officer=OF-NOBODY")).1.len(), 0);

    // Services: the ID card, its applicant masked, its state now.
    let (head, lines) = export(&c, &chief, &format!("{month}&of=services"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let service = &lines[0];
    assert!(service[column(&head, "服务事项")].starts_with("HZ01 "), "{service:?}");
    assert_eq!(service[column(&head, "当前状态")], "已提交审批");
    let heads: Vec<_> = hs.iter().filter_map(|h| h.head()).collect();
    assert!(
        heads.iter().any(|p| mask_name(&p.name) == service[column(&head, "申请人")]
            && mask_id_number(&p.id_number) == service[column(&head, "身份证号")]),
        "the applicant (a head of household) masked: {service:?}"
    );
    assert!(!service[column(&head, "身份证号")].is_empty());

    // Mediations: the case, its parties masked, no facts.
    let (head, lines) = export(&c, &chief, &format!("{month}&of=mediations"));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0][column(&head, "记录编号")], case.to_string());
    assert_eq!(lines[0][column(&head, "调解类型")], "人民调解");
    let parties = t.session.mediation(case).expect("case").agreement.parties;
    let masked: Vec<String> = parties.iter().map(|p| mask_name(&p.name)).collect();
    assert_eq!(lines[0][column(&head, "当事人")], masked.join("、"));
    assert!(!head.iter().any(|h| h == "纠纷事实"));

    // The XLSX has the CSV's cells.
    let (status, kind, bytes) = c.file(&format!("{month}&of=visits&format=xlsx"), Some(&chief));
    assert_eq!(status, 200);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("an XLSX that opens");
    let sheet = book.worksheet_range("走访明细").expect("the sheet");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .skip(3)
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Data::Float(x) => format!("{x}"),
                    Data::Int(x) => x.to_string(),
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => panic!("a cell {other:?}"),
                })
                .collect()
        })
        .collect();
    let (head, lines) = export(&c, &chief, &format!("{month}&of=visits"));
    assert_eq!(rows[0], head);
    assert_eq!(&rows[1..], &lines[..]);

    // Scope and roles.
    assert_eq!(export(&c, &c.login("station-chief", PASSWORD).token, &format!("{month}&of=visits")).1.len(), 4);
    let theirs = c.login("other-chief", PASSWORD).token;
    assert_eq!(export(&c, &theirs, &format!("{month}&of=visits")).1.len(), 0);
    let asked = format!("{month}&of=visits&format=csv&station={station}");
    assert_eq!(c.fails("GET", &asked, Some(&theirs), None), (403, Code::Forbidden));
    let desk = c.login("desk", PASSWORD).token;
    assert_eq!(c.fails("GET", &format!("{month}&of=visits&format=csv"), Some(&desk), None), (403, Code::Forbidden));
    assert_eq!(c.fails("GET", &format!("{month}&of=visits&format=csv"), None, None).0, 401);
    let unmask = format!("{month}&of=visits&format=csv&unmasked=true&reason=协查需要");
    assert_eq!(c.fails("GET", &unmask, Some(&chief), None), (403, Code::Forbidden), "a supervisor may not unmask");
    for bad in ["of=trips&period=2026-11&format=csv", "of=visits&period=2026-11", "of=visits&period=nope&format=csv"] {
        assert_eq!(c.fails("GET", &format!("/supervisor/detail?{bad}"), Some(&chief), None), (400, Code::BadQuery));
    }

    // An administrator: masked by default; unmasked only with a reason; both audited.
    let admin = c.login("admin", PASSWORD).token;
    let all = "/admin/detail?period=2026-11&of=visits";
    assert_eq!(export(&c, &admin, all).1, export(&c, &chief, &format!("{month}&of=visits")).1);
    assert_eq!(c.fails("GET", &format!("{all}&format=csv&unmasked=true"), Some(&admin), None), (400, Code::BadQuery));
    assert_eq!(
        c.fails("GET", &format!("{all}&format=csv&unmasked=true&reason=%20%20"), Some(&admin), None),
        (400, Code::BadQuery)
    );
    assert_eq!(c.fails("GET", &format!("{all}&format=csv&reason=为什么"), Some(&admin), None), (400, Code::BadQuery));
    let reason = "区法院协查函（2026）鲁0406协字第12号";
    let (head, lines) = export(&c, &admin, &format!("{all}&unmasked=true&reason={reason}"));
    assert_eq!(head, beibao_server::detail::headers(DetailKind::Visits, false));
    let notes: Vec<&str> = lines.iter().map(|l| l[column(&head, "备注")].as_str()).collect();
    assert!(notes.contains(&NOTE), "the note in full: {notes:?}");
    let full = &lines[0][column(&head, "户主")];
    assert!(!full.contains('*') && full.chars().count() >= 2, "{full}");
    assert_eq!(c.fails("GET", "/admin/detail?period=2026-11&of=visits&format=csv", Some(&chief), None).0, 403);
    let log = rt.block_on(storage.audit_log(200)).expect("audit");
    let exports: Vec<_> = log.iter().filter(|e| e.action == "export_detail").collect();
    assert!(
        exports.iter().any(|e| e.actor == "admin:admin" && e.subject.ends_with(&format!("unmasked reason={reason}"))),
        "{exports:?}"
    );
    assert!(exports.iter().any(|e| e.actor == "supervisor:chief"
        && e.subject == "csv of=visits 2026-11-01..2026-11-30 station=* town=* village=* officer=* masked"));
    assert!(!exports.iter().any(|e| e.subject.contains("of=trips")), "a refused export is not written as made");

    // Pages of two give the same lines, none lost or repeated.
    let november = Period::parse("2026-11").expect("period");
    let mut after = None;
    let mut paged = Vec::new();
    loop {
        let page = rt
            .block_on(storage.detail_page(DetailKind::Visits, november, &Scope::default(), after.clone(), 2))
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| (r.day, r.id.clone()));
        paged.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(paged, stored.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());

    let mut everything = export(&c, &chief, &format!("{month}&of=visits")).1;
    everything.extend(export(&c, &chief, &format!("{month}&of=services")).1);
    everything.extend(export(&c, &chief, &format!("{month}&of=mediations")).1);
    everything
}

#[test]
fn detail_exports_on_sqlite_and_after_an_upgrade() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let path = beibao_tests::server_db(dir.path());
    let server = Server::sqlite(&rt, &path, 51);
    let before = details(&server, &rt);
    let now = server.clock.now();
    server.kill();
    let c = rusqlite::Connection::open(&path).expect("open");
    c.execute_batch(&format!("{} {}", beibao_tests::UNDO_COARSE_ROLLUPS, beibao_tests::UNDO_DETAIL)).expect("rewind");
    drop(c);
    let server = Server::sqlite(&rt, &path, 52);
    server.clock.set(now);
    assert_eq!(after_upgrade(&server, &rt), before);
}

#[test]
fn detail_exports_on_postgres_and_after_an_upgrade() {
    let cluster = beibao_tests::pg::Cluster::start(false).expect("a throwaway PostgreSQL cluster");
    let url = cluster.database("details").expect("createdb");
    let rt = runtime();
    let server = Server::postgres(&rt, &url, 51);
    let before = details(&server, &rt);
    let now = server.clock.now();
    server.kill();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("{} {}", beibao_tests::UNDO_COARSE_ROLLUPS, beibao_tests::UNDO_DETAIL))
            .await
            .expect("rewind");
        drop(client);
        let _ = task.await;
    });
    let server = Server::postgres(&rt, &url, 52);
    server.clock.set(now);
    assert_eq!(after_upgrade(&server, &rt), before);
}

/// Every line of the month after the server brought the database up to date.
fn after_upgrade(server: &Server, rt: &Runtime) -> Vec<Vec<String>> {
    let c = Console::new(rt, server.url());
    let chief = c.login("chief", PASSWORD).token;
    let month = "/supervisor/detail?period=2026-11";
    let mut everything = export(&c, &chief, &format!("{month}&of=visits")).1;
    everything.extend(export(&c, &chief, &format!("{month}&of=services")).1);
    everything.extend(export(&c, &chief, &format!("{month}&of=mediations")).1);
    everything
}
