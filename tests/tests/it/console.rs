//! The web console in headless Chromium against a real beibao-server (SQLite) serving the built
//! console (`ui/dist`, made by `make ui`), with an officer's synced work: a wrong password, a
//! supervisor's drill-down from the district to an officer, an XLSX download that opens, a desk
//! move the officer's tablet then pulls, a desk account refused the supervisor's API, a session
//! that expires while the page is open. The browser side is `ui/e2e/console.mjs`
//! (playwright-core driving Debian's chromium); its screenshots go to
//! `target/tmp/console-screenshots/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use beibao_server::admin::new_account;
use beibao_server::storage::Role;
use beibao_sync::Settings;
use beibao_tests::{OFFICER, Server, Tablet, fixtures, runtime, server_db, t0, work};
use calamine::{Reader, Xlsx};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Why the administrator unmasks the detail export.
const REASON: &str = "区法院协查函（2026）第12号";
const PASSWORD: &str = "window-password-1";

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

/// Start a phase of `ui/e2e/console.mjs` that talks back: its stdin, and its stdout's lines.
fn talking_phase(
    name: &str,
    base: &str,
    args: &Value,
) -> (std::process::Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new("node")
        .current_dir(ui_dir())
        .args(["e2e/console.mjs", name, base, &shots().to_string_lossy(), &args.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, lines)
}

/// Run a phase of `ui/e2e/console.mjs`; its JSON answer.
fn phase(name: &str, base: &str, args: &Value) -> Value {
    let out = Command::new("node")
        .current_dir(ui_dir())
        .args(["e2e/console.mjs", name, base, &shots().to_string_lossy(), &args.to_string()])
        .output()
        .expect("node runs (Node 20, `npm ci` in ui/)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "phase {name} failed:\n{stdout}\n{}\n(screenshots in {})",
        String::from_utf8_lossy(&out.stderr),
        shots().display()
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("the phase's JSON line")
}

#[test]
fn the_console_in_a_browser_supervisor_desk_and_an_expired_session() {
    let dist = ui_dir().join("dist");
    beibao_server::routes::console::is_built(&dist).expect("the console is built (make ui)");
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let storage = Arc::new(beibao_server::Sqlite::open(&server_db(dir.path())).expect("sqlite"));
    let limits = beibao_server::app::Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Default::default() };
    let server = Server::start_with_console(&rt, storage, limits, 31, Some(dist));
    let f = fixtures();
    let storage = server.state.storage();
    rt.block_on(storage.put_registry(&f.registry, &[], t0())).expect("registry");
    let station = f.registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").station.clone();
    for (name, role, st) in
        [("chief", Role::Supervisor, None), ("desk", Role::Desk, Some(station.as_str())), ("root", Role::Admin, None)]
    {
        rt.block_on(storage.create_account(&new_account(name, role, st, PASSWORD).expect("account"), t0()))
            .expect("create");
    }

    // The officer's day, synced: visits and an application carried back.
    let mut t = Tablet::new(OFFICER, 31);
    t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    for _ in 0..12 {
        work::visit(&mut t, &mut rng);
    }
    work::service(&mut t, &mut rng, 1);
    // A written 人民调解 agreement to be performed by 11-25: its follow-up is due 11-26.
    work::signed_mediation(&mut t, &mut rng);
    let fast = Settings { backoff_base: std::time::Duration::from_millis(1), ..Settings::default() };
    t.sync(&rt, fast, 0, &mut |_| {}).expect("sync");
    let request: String = t
        .session
        .store()
        .conn()
        .query_row("SELECT id FROM service_requests WHERE state = 'carried_back'", [], |r| r.get(0))
        .expect("carried back");
    let visited: String =
        t.session.store().conn().query_row("SELECT target_id FROM visits LIMIT 1", [], |r| r.get(0)).expect("a visit");
    let village = f.registry.households.iter().find(|h| h.id == visited).expect("household").village.clone();
    std::fs::create_dir_all(shots()).expect("screenshot dir");
    let base = server.url();
    let hash = "#kind=month&period=2026-11";

    // The supervisor: drill-down and the workbook.
    let seen = phase(
        "supervisor",
        &base,
        &json!({ "password": PASSWORD, "station": station, "village": village, "officer": OFFICER, "hash": hash }),
    );
    assert_eq!(seen["period"], "2026年11月");
    assert_eq!(seen["villages_drawn"].as_u64(), Some(f.registry.villages.len() as u64), "every village on the map");
    assert!(seen["picked"].as_str().is_some_and(|p| p.contains("距上次走访")), "{seen}");
    // Village, overdue, due within 7 days, closing, not performed.
    assert!(seen["due_village"].as_str().is_some_and(|v| v.ends_with("| 0 | 1 | 0 | 0")), "{seen}");
    let case = seen["due_case"].as_str().expect("a case");
    assert!(case.contains("人民调解") && case.contains("2026-11-25") && case.contains("2026-11-26"), "{case}");
    let crumbs = seen["crumbs"].as_str().expect("crumbs");
    assert!(crumbs.starts_with("全区 ›"), "{crumbs}");
    assert_ne!(seen["officer_households"], "0", "the officer's visits reach the village's row");
    let total: u64 = seen["total_households"].as_str().expect("total").trim().parse().expect("a count");
    assert!(total > 0);
    let mut book: Xlsx<_> = calamine::open_workbook(seen["xlsx"].as_str().expect("file")).expect("the XLSX opens");
    assert_eq!(book.sheet_names(), ["派出所", "镇街", "村（社区）", "民警"]);
    assert!(book.worksheet_range("民警").expect("sheet").rows().count() > 4);
    // The detail workbook: a line per visit, masked (no note column).
    let mut detail: Xlsx<_> =
        calamine::open_workbook(seen["detail_xlsx"].as_str().expect("file")).expect("the detail XLSX opens");
    assert_eq!(detail.sheet_names(), ["走访明细"]);
    let lines = detail.worksheet_range("走访明细").expect("sheet");
    let head: Vec<String> = lines.rows().nth(3).expect("header").iter().map(|d| d.to_string()).collect();
    assert_eq!(head, beibao_server::detail::headers(beibao_server::detail::DetailKind::Visits, true));
    let visits =
        t.session.store().conn().query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0)).expect("n");
    assert_eq!(lines.rows().skip(4).count() as i64, visits, "every visit of the month, one line each");

    // The desk moves the carried-back application; the officer's tablet pulls it.
    let called = work::households()[0];
    let fragment: String = called.address.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
    let seen = phase(
        "desk",
        &base,
        &json!({ "password": PASSWORD, "request": request, "address": fragment, "service": "HZ01" }),
    );
    let member = f
        .registry
        .households
        .iter()
        .flat_map(|h| &h.members)
        .find(|m| {
            t.session
                .store()
                .conn()
                .query_row("SELECT applicant FROM service_requests WHERE id = ?1", [&request], |r| {
                    r.get::<_, String>(0)
                })
                .is_ok_and(|a| a == m.id)
        })
        .expect("the applicant");
    assert!(seen["applicant"].as_str().is_some_and(|a| a.contains(&member.name)), "{seen}");
    assert!(seen["timeline"].as_str().is_some_and(|s| s.contains("已带回")), "{seen}");
    let own = f.registry.stations.iter().find(|s| s.code == station).expect("station");
    assert!(seen["who"].as_str().is_some_and(|w| w.contains(&own.name.zh)), "the header names the station: {seen}");
    assert_eq!(seen["supervisor_status"], "403 forbidden");
    t.sync(&rt, fast, 0, &mut |_| {}).expect("pull the move");
    let state: String = t
        .session
        .store()
        .conn()
        .query_row("SELECT state FROM service_requests WHERE id = ?1", [&request], |r| r.get(0))
        .expect("state");
    assert_eq!(state, "submitted");
    // The call the desk took in the page reached the officer's Today with that pull.
    let officer = &fixtures().registry.officers.iter().find(|o| o.id == OFFICER).expect("officer").name;
    assert!(seen["phoned"].as_str().is_some_and(|p| p.contains(officer.as_str())), "the officer by name: {seen}");
    assert!(seen["calls"].as_str().is_some_and(|c| c.contains("待民警上门")), "{seen}");
    let items = t.session.day().expect("day");
    let call = items.iter().find(|i| i.kind == "phoned_in").expect("the phoned-in call is on Today");
    assert_eq!(call.household.as_deref(), Some(called.id.as_str()));

    // The administrator issues a code in the page; a second tablet enrolls with it and syncs; the
    // administrator revokes it in the page; its next sync is refused.
    let mine = f.registry.villages_of(OFFICER);
    let given = f.registry.villages.iter().find(|v| !mine.contains(&v.code.as_str())).expect("another village");
    let mut next = serde_json::to_value(&f.catalog).expect("json");
    next["version"] = json!(format!("{}-console", f.catalog.version));
    let catalog_file = shots().join("services-next.json");
    std::fs::write(&catalog_file, next.to_string()).expect("a catalog file");
    let (mut child, mut lines) = talking_phase(
        "admin",
        &base,
        &json!({ "password": PASSWORD, "officer": OFFICER, "village": given.code, "catalog": catalog_file, "reason": REASON }),
    );
    let first = lines.next().expect("a line").expect("read");
    let code = first.strip_prefix("CODE ").expect("the code the page shows").to_owned();
    let mut second = Tablet::new(OFFICER, 32);
    second.enroll(&rt, &base, &code).expect("the code from the page enrolls a tablet");
    work::visit(&mut second, &mut rng);
    second.sync(&rt, fast, 0, &mut |_| {}).expect("sync");
    let device = second.session.device_id().to_owned();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{device}\n").as_bytes()).expect("tell the page");
    // The village given in the page reaches the officer's (first) tablet by pull.
    assert_eq!(lines.next().expect("a line").expect("read"), "ASSIGNED");
    t.sync(&rt, fast, 0, &mut |_| {}).expect("pull the assignment");
    let serves = |t: &Tablet| t.session.today_screen().expect("today").places.iter().any(|p| p.code == given.code);
    assert!(serves(&t), "the tablet serves the village given in the page");
    stdin.write_all(b"go\n").expect("tell the page");
    drop(stdin);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().expect("wait").success(), "admin phase: {rest:?}");
    let seen: Value = serde_json::from_str(rest.last().expect("the JSON line")).expect("json");
    assert!(seen["row"].as_str().is_some_and(|r| r.contains("已于")), "{seen}");
    assert!(seen["assigned"].as_str().is_some_and(|a| a.contains("已将")), "{seen}");
    assert!(seen["unassigned"].as_str().is_some_and(|a| a.contains("已结束")), "{seen}");
    assert!(seen["published"].as_str().is_some_and(|p| p.contains(next["version"].as_str().unwrap())), "{seen}");
    assert_eq!(server.state.catalogs().last().map(|c| c.version.clone()).as_deref(), next["version"].as_str());
    // The unmasked detail: refused in the page without a reason, then made with one, audited.
    assert!(seen["no_reason"].as_str().is_some_and(|m| m.contains("导出原因")), "{seen}");
    let bytes = std::fs::read(seen["detail_csv"].as_str().expect("file")).expect("the CSV");
    let text = String::from_utf8(bytes[beibao_server::export::BOM.len()..].to_vec()).expect("utf-8");
    assert!(text.lines().next().is_some_and(|h| h.contains("备注")), "unmasked: the notes: {text}");
    let log = rt.block_on(server.state.storage().audit_log(500)).expect("audit");
    assert!(
        log.iter().any(|e| e.action == "export_detail" && e.actor == "admin:root" && e.subject.ends_with(REASON)),
        "the reason in the audit log"
    );
    t.sync(&rt, fast, 0, &mut |_| {}).expect("pull the end");
    assert!(!serves(&t), "taken back in the page, off the tablet's day");
    let err = second.sync(&rt, fast, 0, &mut |_| {}).expect_err("revoked");
    assert!(matches!(err, beibao_field::FieldError::Sync(beibao_sync::SyncError::Revoked)), "{err:?}");

    // A session that expires while the page is open.
    let (mut child, mut lines) = talking_phase("expired", &base, &json!({ "password": PASSWORD, "hash": hash }));
    let first = lines.next().expect("a line").expect("read");
    assert_eq!(first, "READY");
    server.clock.advance(chrono::Duration::hours(beibao_server::desk::SESSION_HOURS) + chrono::Duration::minutes(1));
    child.stdin.take().expect("stdin").write_all(b"go\n").expect("tell the page");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().expect("wait").success(), "expired phase: {rest:?}");
    let seen: Value = serde_json::from_str(rest.last().expect("the JSON line")).expect("json");
    assert!(seen["notice"].as_str().is_some_and(|n| n.contains("登录已过期")), "{seen}");
}
