//! The real app, driven through WebDriver: tauri-driver and WebKitWebDriver under Xvfb, a fresh
//! data dir per test, and a real beibao-server on loopback (SQLite). Selectors are `data-testid`.
//! Each test saves screenshots of the screens it passes through under
//! `target/tmp/e2e-screenshots/` (zh-CN, as the officer sees them).
//!
//! Needs `Xvfb`, `WebKitWebDriver` and `tauri-driver` (`make deps` installs them).

mod harness;

use beibao_core::clock::Clock;
use beibao_core::registry::Household;
use beibao_tests::{OFFICER, work};
use harness::{App, Fixture};

#[test]
fn an_officer_enrolls_sets_a_pin_syncs_sees_the_day_and_unlocks_after_a_wrong_pin() {
    let fx = Fixture::new();
    let code = fx.code(OFFICER);
    let app = App::launch(&fx, "enroll");

    // First run: the server address is offered; the code names the officer before any PIN.
    app.wait("first-run");
    assert_eq!(app.value("server-url"), fx.server.url());
    // The code comes as a QR image (a photo of what the administrator issued): read on the tablet.
    let images = tempfile::tempdir().expect("tmp");
    app.choose_file("qr-image", &qr_png(&format!("beibao:enroll?code={code}"), images.path()));
    // Decoded in the page (asynchronously): the code fills the field.
    app.wait_value("enroll-code", &code);
    app.click("check-code");
    let officer = beibao_tests::fixtures().registry.officers.iter().find(|o| o.id == OFFICER).expect("officer");
    assert_eq!(app.text("officer-name"), officer.name);
    app.screenshot("01-first-run-confirm");
    app.click("confirm-officer");
    app.pin("135790");
    app.wait_text("pin-step", "再输入");
    app.pin("135790");
    app.wait("today");
    app.screenshot("02-today-before-sync");

    // Sync pulls the officer's villages; Today shows them.
    work::publish_registry(&fx.rt, &fx.server);
    app.sync();
    app.screenshot("03-sync-done");
    app.click("nav-today");
    app.wait("place");
    let villages = beibao_tests::fixtures().registry.villages_of(OFFICER).len();
    assert_eq!(app.count("place"), villages + enterprises_of(OFFICER));
    app.screenshot("04-today");
    // The header names the officer as the server did; Settings shows the server enrolled with.
    app.wait_text("nav-officer", &officer.name);
    app.click("nav-settings");
    assert_eq!(app.text("server-url"), fx.server.url());
    app.wait_text("officer-card", &officer.badge);
    app.click("nav-today");

    // Lock; a wrong PIN says how many are left; the right one opens Today again.
    app.click("nav-lock");
    app.wait("unlock");
    app.pin("000000");
    app.wait_text("unlock-error", "还可尝试 4 次");
    app.screenshot("05-unlock-wrong-pin");
    app.pin("135790");
    app.wait("today");

    // The tablet's clock two days behind the server's (as after a flat battery): a sync says so,
    // on the sync screen and on Today; set right, the warning goes.
    let now = fx.server.clock.now();
    fx.server.clock.set(now + chrono::Duration::days(2));
    app.sync();
    app.wait_text("clock-warning", "慢约2天");
    app.click("nav-today");
    app.wait_text("clock-warning", "校准日期和时间");
    app.screenshot("06-today-clock-behind");
    fx.server.clock.set(now);
    app.sync();
    app.click("nav-today");
    app.wait("place");
    assert_eq!(app.count("clock-warning"), 0, "the clock is right again");

    let devices = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts").devices;
    assert_eq!(devices, 1, "the tablet is enrolled on the server");
    app.quit();
}

/// First run with a fresh code and PIN `135790`, then a sync that pulls the officer's register.
fn enroll_and_sync(app: &App, fx: &Fixture) {
    enroll_and_sync_as(app, fx, OFFICER);
}

fn enroll_and_sync_as(app: &App, fx: &Fixture, officer: &str) {
    work::publish_registry_for(&fx.rt, &fx.server, officer);
    app.wait("first-run");
    app.type_into("enroll-code", &fx.code(officer));
    app.click("check-code");
    app.click("confirm-officer");
    app.pin(PIN);
    app.wait_text("pin-step", "再输入");
    app.pin(PIN);
    app.wait("today");
    app.sync();
    app.click("nav-today");
    app.wait("place");
}

const PIN: &str = "135790";

/// Revoke the app's device on the server (its id read in Settings).
fn revoke_on_server(app: &App, fx: &Fixture) {
    app.click("nav-settings");
    let device = app.text("device-id");
    let revoked = fx.rt.block_on(fx.server.state.storage().revoke(&device, fx.server.clock.now())).expect("revoke");
    assert!(revoked, "device {device} revoked");
}

/// The text of a PDF, by poppler's `pdftotext` (Debian poppler-utils, installed by `make deps`).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// How many records of a kind the server holds.
fn server_records(fx: &Fixture, kind: &str) -> i64 {
    let counts = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts");
    counts.records.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n)
}

#[test]
fn visits_with_a_fix_and_with_a_manual_pin_a_draft_survives_a_kill_and_both_reach_the_server() {
    let fx = Fixture::new();
    let registry = &beibao_tests::fixtures().registry;
    let h =
        household_where(|h| h.location.is_some() && h.members.iter().any(|m| m.phone.is_some()) && h.head().is_some())
            .expect("a household with a position and a phone");
    let home = h.location.expect("position");
    let fix = format!("{},{},8", home.lat + 0.0001, home.lon);
    let app = App::launch_in(&fx, "visit", tempfile::tempdir().expect("dir"), &[("BEIBAO_FAKE_FIX", &fix)]);
    enroll_and_sync(&app, &fx);

    // Today → the village: the map and the list; a search by the head's name finds the household.
    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.wait("village-map");
    app.wait("map-fix");
    let in_village = registry.households.iter().filter(|x| x.village == h.village).count();
    let located = registry.households.iter().filter(|x| x.village == h.village && x.location.is_some()).count();
    assert_eq!(app.count("map-household"), located, "every household with a position is on the map");
    assert_eq!(app.count("household-row"), in_village.min(60), "the list's first page");
    app.screenshot("01-village");
    let head = h.head().expect("head");
    app.type_into("village-search", &head.name);
    app.wait(&format!("household-row[data-id=\"{}\"]", h.id));
    assert!(app.count("household-row") < in_village, "the search narrows the list");
    app.screenshot("02-village-search");
    // Pinyin initials (the dictionary loads on the first Latin letter): the surname's initial
    // finds the household too.
    let surname = head.name.chars().next().expect("surname").to_string();
    let (_, latin) = beibao_fixtures::generate::names::SURNAMES.iter().find(|(zh, _)| *zh == surname).expect("pinyin");
    app.type_into("village-search", &latin[..1].to_lowercase());
    app.wait(&format!("household-row[data-id=\"{}\"]", h.id));
    app.click(&format!("household-row[data-id=\"{}\"]", h.id));

    // The household: IDs masked until tapped (and the tap is logged on the tablet).
    app.wait("member");
    let first = app.text("id-number");
    assert!(first.contains("********"), "masked: {first}");
    app.click("reveal-id");
    app.wait_text("id-number", &head.id_number[6..14]);
    app.screenshot("03-household");
    app.click("reveal-id");
    app.wait_text("id-number", "********");
    // The unmasking is in the access log Settings shows.
    app.click("nav-settings");
    app.click("show-access-log");
    app.wait_text("access-line", &head.name);
    app.wait_text("access-line", "查看了身份证号");
    app.screenshot("03b-access-log");
    app.click("nav-today");
    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.click(&format!("household-row[data-id=\"{}\"]", h.id));
    app.wait("member");

    // A visit with the fake fix at the door: the verdict shows before saving.
    app.click("start-visit");
    app.wait("visit");
    app.click("locate");
    app.wait("fix");
    app.click("purpose-special_group_care");
    app.click("outcome-met");
    app.wait_text("verdict", "在户附近");
    app.screenshot("04-visit-fix");
    app.click("save-visit");
    app.wait_text("visit-saved", "走访已保存");
    app.screenshot("05-visit-saved");
    app.click("visit-back");
    app.wait("visit-line");

    // A second visit is started, then the app is killed mid-visit and started with no GPS.
    app.click("start-visit");
    app.wait("visit");
    app.click("purpose-publicity");
    app.wait("draft-saved");
    let app = app.restart(&fx, &[]);
    app.wait("unlock");
    app.pin(PIN);
    app.wait("draft");
    app.screenshot("06-today-draft");
    app.click("resume-draft");
    app.wait("visit");
    assert!(app.pressed("purpose-publicity"), "the draft came back as it was");
    app.click("locate");
    app.wait("pin-reason");
    app.click("village-map");
    app.wait("map-pin");
    app.type_into("pin-reason", "山谷里收不到卫星信号");
    app.click("outcome-nobody_home");
    app.wait_text("verdict", "手动标点");
    app.screenshot("07-visit-manual-pin");
    app.click("save-visit");
    app.wait_text("visit-saved", "手动标点");

    // Sync: both visits reach the server.
    app.sync();
    assert_eq!(server_records(&fx, "visit"), 2);
    app.quit();
}

#[test]
fn the_app_locks_when_idle_and_a_lockout_survives_a_restart() {
    let fx = Fixture::new();
    let app = App::launch(&fx, "lock");
    enroll_and_sync(&app, &fx);

    // Started again with a short idle time: unlocked, then left alone, it locks by itself.
    let app = app.restart(&fx, &[("BEIBAO_LOCK_AFTER_SECONDS", "2")]);
    app.wait("unlock");
    app.pin(PIN);
    app.wait("today");
    app.wait("unlock");

    // Five wrong PINs lock the pad; the lockout and its time left are there after a restart.
    for left in (1..=4).rev() {
        app.pin("000000");
        app.wait_text("unlock-error", &format!("还可尝试 {left} 次"));
    }
    app.pin("000000");
    app.wait_text("lockout", "错误次数过多");
    let app = app.restart(&fx, &[]);
    app.wait_text("lockout", "后重试");
    app.screenshot("01-lockout-after-restart");
    app.quit();
}

#[test]
fn a_revoked_device_returns_to_first_run_saying_why() {
    let fx = Fixture::new();
    let app = App::launch(&fx, "revoked");
    enroll_and_sync(&app, &fx);
    revoke_on_server(&app, &fx);
    app.click("nav-sync");
    app.click("sync-now");
    app.wait("revoked-notice");
    app.wait("first-run");
    app.screenshot("01-revoked-first-run");
    app.quit();
}

#[test]
fn publicity_a_hazard_a_clue_a_correction_and_an_enterprise_visit_are_logged_counted_in_totals_and_the_pin_changes() {
    // An officer with a key enterprise as well as villages (OF-03-01 has villages only).
    const OFFICER: &str = "OF-03-02";
    let fx = Fixture::new();
    let registry = &beibao_tests::fixtures().registry;
    let enterprise = registry
        .assignments
        .iter()
        .find_map(|a| match &a.target {
            beibao_core::registry::AssignmentTarget::Enterprise(code) if a.officer == OFFICER => {
                registry.enterprises.iter().find(|e| e.code == *code)
            }
            _ => None,
        })
        .expect("an enterprise of the officer");
    let fix = format!("{},{},6", enterprise.location.lat, enterprise.location.lon);
    let app = App::launch_in(&fx, "activity", tempfile::tempdir().expect("dir"), &[("BEIBAO_FAKE_FIX", &fix)]);
    enroll_and_sync_as(&app, &fx, OFFICER);
    let village = registry.villages_of(OFFICER)[0].to_owned();

    app.click(&format!("open-place[data-code=\"{village}\"]"));
    app.click("log-publicity");
    app.click("topic-drowning_prevention");
    app.type_into("attendees", "0");
    app.click("activity-save");
    app.wait_text("activity-error", "参加人数至少1人");
    app.type_into("attendees", "23");
    app.type_into("leaflets", "40");
    app.screenshot("01-publicity");
    app.click("activity-save");
    app.wait("activity-saved");
    app.click("activity-back");
    app.click("log-hazard");
    app.click("hazard-ebike_charging");
    app.type_into("hazard-place", "东街12号楼道");
    app.type_into("hazard-description", "电动车在楼道里充电");
    app.click("activity-save");
    app.wait("activity-saved");
    app.click("activity-back");

    // A clue (线索上报), then a 一标三实 correction from a household, for the station to review.
    app.click("log-clue");
    app.click("clue-gambling");
    app.click("activity-save");
    app.wait_text("activity-error", "必填");
    app.type_into("clue-summary", "村东头废弃厂房夜间有人聚集赌博");
    app.type_into("clue-place", "村东废弃厂房");
    app.click("activity-save");
    app.wait("activity-saved");
    app.click("activity-back");
    app.click("household-row");
    app.click("collect-info");
    let about = app.text("activity-household");
    assert!(about.contains("号") && !about.contains("-0"), "the household's address, not its id: {about}");
    app.click("info-resident");
    app.type_into("info-subject", "张三");
    app.type_into("info-proposed", "已于本月迁出，现居枣庄市市中区");
    app.screenshot("01c-collect");
    app.click("activity-save");
    app.wait_text("activity-saved", "待派出所审核");

    // Its deadline (a week, the default) is on Today, counted in working days.
    app.click("nav-today");
    app.wait_text("item[data-kind=\"hazard\"]", "电动车违规充电");
    app.wait_text("item-when", "个工作日");
    assert!(app.text("item-when").contains("还剩"), "not yet due: {}", app.text("item-when"));
    app.screenshot("01a-today-enterprise-and-deadline");

    // The enterprise opens from Today; a visit there with a fix at its gate.
    app.click(&format!("open-place[data-code=\"{}\"]", enterprise.code));
    app.wait_text("enterprise", &enterprise.name);
    app.wait_text("enterprise-since", "尚未走访");
    app.click("start-visit");
    app.wait("visit");
    app.click("locate");
    app.wait("fix");
    app.click("purpose-hazard_check");
    app.click("outcome-met");
    app.wait_text("verdict", "在企业附近");
    app.click("save-visit");
    app.wait("visit-saved");
    app.click("visit-back");
    app.wait("visit-line");
    app.wait_text("enterprise-since", "今天已走访");
    app.screenshot("01b-enterprise");

    app.click("nav-totals");
    app.wait_text("total-publicity_sessions", "1");
    app.wait_text("total-publicity_attendees", "23");
    app.wait_text("total-hazards_found", "1");
    app.wait_text("total-clue_reports", "1 条");
    app.wait_text("total-information_collected", "1 条");
    app.screenshot("03-totals");

    // Change the PIN for a longer passcode: the old one, then 10 digits twice, each entered with
    // 确定; the unlock screen opens on the long pad, and the new passcode unlocks.
    let long = "2468013579";
    app.click("nav-settings");
    app.click("change-pin");
    app.pin(PIN);
    app.wait_text("pin-change-step", "新的");
    app.click("pin-kind");
    app.wait_text("pin-change-step", "8–12位");
    app.pin(long);
    app.click("pin-ok");
    app.wait_text("pin-change-step", "再输入");
    app.pin(long);
    app.click("pin-ok");
    app.wait("pin-changed");
    app.click("nav-lock");
    app.wait("unlock");
    app.wait("pin-pad[data-kind=\"long\"]");
    app.pin(PIN);
    assert_eq!(app.count("pin-ok[disabled]"), 1, "six digits are not a long passcode");
    app.pin("00");
    app.screenshot("03b-unlock-long-passcode");
    app.click("pin-ok");
    app.wait_text("unlock-error", "还可尝试");
    app.pin(long);
    app.click("pin-ok");
    app.wait("today");

    app.sync();
    for kind in ["publicity", "hazard", "visit", "clue_report", "registry_proposal"] {
        assert_eq!(server_records(&fx, kind), 1, "{kind}");
    }
    app.quit();
}

#[test]
fn sync_starts_by_itself_at_unlock_and_when_the_network_returns_and_a_revoked_device_is_sent_back() {
    let fx = Fixture::new();
    let app = App::launch(&fx, "background");
    enroll_and_sync(&app, &fx);
    let village = beibao_tests::fixtures().registry.villages_of(OFFICER)[0].to_owned();
    let publicity = |app: &App, attendees: &str| {
        app.click(&format!("open-place[data-code=\"{village}\"]"));
        app.click("log-publicity");
        app.click("topic-anti_fraud");
        app.type_into("attendees", attendees);
        app.click("activity-save");
        app.wait("activity-saved");
        app.click("nav-today");
    };

    // A session logged: it waits (the next pass is minutes away) until the network comes back.
    publicity(&app, "12");
    app.wait_text("pending", "1 条记录待同步");
    app.network_back();
    app.wait_text("pending", "全部已同步");
    assert_eq!(server_records(&fx, "publicity"), 1, "sent when the network came back");

    // Another, then lock and unlock: unlocking starts a pass.
    publicity(&app, "30");
    app.wait_text("pending", "1 条记录待同步");
    app.click("nav-lock");
    app.wait("unlock");
    app.pin(PIN);
    app.wait("today");
    app.wait_text("pending", "全部已同步");
    assert_eq!(server_records(&fx, "publicity"), 2, "sent at unlock");

    // Revoked on the server: the next background pass finds it and the app returns to first run.
    revoke_on_server(&app, &fx);
    app.network_back();
    app.wait("revoked-notice");
    app.wait("first-run");
    app.quit();
}

/// A QR code of `text` as a PNG in `dir` (8 pixels a module, a quiet zone of 4).
fn qr_png(text: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("qr");
    let (n, cell, margin) = (code.width(), 8, 4);
    let size = (n + 2 * margin) * cell;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; size * size];
    for y in 0..size {
        for x in 0..size {
            let (r, c) = (y / cell, x / cell);
            let inside = (margin..n + margin).contains(&r) && (margin..n + margin).contains(&c);
            if inside && colors[(r - margin) * n + (c - margin)] == qrcode::Color::Dark {
                pixels[y * size + x] = 0;
            }
        }
    }
    let path = dir.join("enroll-qr.png");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("png"));
    let mut png = png::Encoder::new(file, size as u32, size as u32);
    png.set_color(png::ColorType::Grayscale);
    png.set_depth(png::BitDepth::Eight);
    png.write_header().expect("header").write_image_data(&pixels).expect("pixels");
    path
}

/// The first household of OFFICER's villages that `pick` accepts.
fn household_where(pick: impl Fn(&Household) -> bool) -> Option<&'static Household> {
    let registry = &beibao_tests::fixtures().registry;
    let villages = registry.villages_of(OFFICER);
    registry.households.iter().find(|h| villages.contains(&h.village.as_str()) && pick(h))
}

fn enterprises_of(officer: &str) -> usize {
    beibao_tests::fixtures()
        .registry
        .assignments
        .iter()
        .filter(|a| a.officer == officer && matches!(a.target, beibao_core::registry::AssignmentTarget::Enterprise(_)))
        .count()
}

#[test]
fn an_id_card_renewal_is_carried_back_moved_at_the_desk_and_delivered_against_a_drawn_signature() {
    use beibao_core::registry::SpecialGroup;
    use beibao_core::service_request::{RequestState, Transition};
    let fx = Fixture::new();
    // A household with a bed-bound, disabled or elderly-alone member: the card goes to the door.
    let h = household_where(|h| {
        h.head().is_some()
            && h.groups()
                .iter()
                .any(|g| matches!(g, SpecialGroup::Bedridden | SpecialGroup::Disabled | SpecialGroup::ElderlyAlone))
    })
    .expect("a household with a frail member");
    let applicant = h.head().expect("head");
    let app = App::launch(&fx, "service");
    enroll_and_sync(&app, &fx);

    // The household → 办理业务: the catalog searched by pinyin initials (sfz → 身份证).
    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.click(&format!("household-row[data-id=\"{}\"]", h.id));
    app.click("new-service");
    app.wait("service-row");
    assert_eq!(app.count("service-row"), 38, "the whole catalog");
    app.click("category-HZ");
    assert_eq!(app.count("service-row"), 12, "户政");
    app.click("category-all");
    app.type_into("service-search", "sfz");
    app.wait("service-row[data-code=\"HZ02\"]");
    assert!(app.count("service-row") < 12, "the initials narrow the list");
    app.click("service-row[data-code=\"HZ02\"]");
    app.click(&format!("applicant[data-id=\"{}\"]", applicant.id));
    app.click("mode-carry_back");
    // Not every material ticked: refused on the tablet, saying why.
    app.click("accept-service");
    app.wait_text("service-error", "材料清单未勾选完整");
    for m in ["old_id_card", "hukou_book", "photo_fingerprints"] {
        app.click(&format!("material[data-code=\"{m}\"]"));
        app.wait(&format!("material[data-code=\"{m}\"][data-ticked=\"true\"]"));
    }
    app.wait_text("fee", "¥");
    assert_eq!(app.count("service-error"), 0, "the refusal goes once the checklist is ticked");
    // A photo of the old card, taken at the door: made small on the tablet, kept with the request.
    let images = tempfile::tempdir().expect("tmp");
    app.choose_file("photo-input", &qr_png("旧身份证照片", images.path()));
    app.wait("photo");
    app.screenshot("01-service-accept");
    app.click("accept-service");

    // The request: accepted, 送证上门 flagged, the photo shown; carried back and synced.
    app.wait_text("request-state", "已受理");
    app.wait("door-delivery");
    app.wait("request-photo");
    app.click("move-carried_back");
    app.wait_text("request-state", "已带回");
    app.sync();
    let storage = fx.server.state.storage();
    let station = fx.rt.block_on(storage.officer(OFFICER)).expect("officer").expect("seeded").station;
    let rows = fx.rt.block_on(storage.requests_at(&station, Some(RequestState::CarriedBack), 10)).expect("requests");
    assert_eq!(rows.len(), 1, "the carried-back request reached the station");

    // The station desk submits it; the tablet pulls the move and shows who made it.
    let step = Transition {
        from: RequestState::CarriedBack,
        to: RequestState::Submitted,
        reason: None,
        recipient_signature: None,
    };
    let now = beibao_core::clock::Clock::now(&*fx.server.clock);
    fx.rt.block_on(storage.desk_transition(&rows[0].id, &step, "desk:desk-xiji", "ev-e2e-1", now)).expect("desk move");
    app.sync();
    app.click("nav-today");
    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.click(&format!("household-row[data-id=\"{}\"]", h.id));
    app.wait_text(&format!("service-line[data-id=\"{}\"]", rows[0].id), "已提交");
    app.click(&format!("service-line[data-id=\"{}\"]", rows[0].id));
    app.wait("timeline-step[data-desk=\"true\"]");
    app.wait_text("timeline-step[data-desk=\"true\"]", "所内窗口（desk-xiji）");
    app.wait_text("request-state", "已提交");
    assert!(app.text("timeline-step").starts_with("已受理"), "the path in order: {}", app.text("timeline-step"));
    app.screenshot("02-request-timeline");

    // Approved, made, ready: then delivered against the recipient's signature, drawn with a finger.
    for (to, shown) in [("approved", "已审批"), ("made", "已制证"), ("ready_to_deliver", "待送达")] {
        app.click(&format!("move-{to}"));
        app.wait_text("request-state", shown);
    }
    app.click("move-delivered");
    app.wait("delivery-signature");
    app.draw(
        "delivery-signature",
        &[
            &[(-200.0, 20.0), (-150.0, -30.0), (-90.0, 25.0), (-40.0, -20.0)],
            &[(10.0, 0.0), (80.0, 10.0), (150.0, -15.0)],
        ],
    );
    app.screenshot("03-delivery-signature");
    app.click("deliver");
    app.wait_text("request-state", "已送达");
    app.click("move-closed");
    app.wait("request-done");
    app.screenshot("04-request-closed");

    // 满意打卡: the tablet is handed to the resident; no navigation until they answer.
    app.click("ask-rating");
    app.wait("rate");
    assert_eq!(app.count("nav-today"), 0, "nothing else on screen");
    app.click("rate-send");
    app.wait_text("rate-error", "请先点选一项");
    app.click("rate-satisfied");
    app.type_into("rate-comment", "民警送证上门，很方便");
    app.screenshot("05-rating");
    app.click("rate-send");
    app.wait_text("rate-thanks", "谢谢");
    app.click("rate-back");
    app.wait("request-done");

    // A 低保 household: the ID card's fee is waived, shown before accepting. Then a service
    // finished on the spot (a lost driving licence replaced).
    let poor = household_where(|x| x.head().is_some_and(|p| p.groups.contains(&SpecialGroup::Dibao)))
        .expect("a 低保 household");
    let head = poor.head().expect("head");
    app.click("nav-today");
    app.click(&format!("open-place[data-code=\"{}\"]", poor.village));
    app.click(&format!("household-row[data-id=\"{}\"]", poor.id));
    app.click("new-service");
    app.click("service-row[data-code=\"HZ02\"]");
    app.click(&format!("applicant[data-id=\"{}\"]", head.id));
    app.wait_text("fee", "低保减免后 免费");
    app.screenshot("06-fee-waiver");
    app.click("service-row[data-code=\"JG02\"]");
    app.click(&format!("applicant[data-id=\"{}\"]", head.id));
    app.click("mode-on_site");
    app.click("material[data-code=\"id_card\"]");
    app.wait_text("fee", "¥10.00");
    app.click("accept-service");
    app.wait_text("request-state", "已受理");
    app.click("move-completed_on_site");
    app.wait_text("request-state", "当场办结");

    // Synced: the server holds every step and the signature image.
    app.sync();
    let counts = fx.rt.block_on(storage.counts()).expect("counts");
    assert_eq!(server_records(&fx, "rating"), 1);
    assert_eq!(counts.requests, 2);
    assert!(counts.request_events >= 6, "carried back … closed, and the desk's move: {}", counts.request_events);
    assert_eq!(counts.blobs, 2, "the photo taken at the door and the recipient's signature");
    let (row, _) = fx.rt.block_on(storage.request(&rows[0].id)).expect("request").expect("on the server");
    assert_eq!(row.state, RequestState::Closed);
    app.quit();
}

/// Sign for `key` (`party-0`, `guardian-1`, `mediator-0`) on the mediation's pad.
fn sign_as(app: &App, key: &str) {
    // Each signer's hand differs (so each signature is an image of its own).
    let d = key.bytes().map(f64::from).sum::<f64>() % 40.0;
    app.click(&format!("sign-{key}"));
    app.draw(
        "mediation-signature",
        &[&[(-120.0, 10.0 + d), (-60.0, -25.0), (0.0, 20.0 - d), (60.0, -15.0)], &[(80.0, 0.0), (140.0 - d, 5.0 + d)]],
    );
    app.click("confirm-signature");
    app.wait(&format!("signer[data-key=\"{key}\"][data-signed=\"true\"]"));
}

#[test]
fn a_public_order_mediation_with_a_minor_and_a_guardian_is_signed_finalized_and_synced_and_a_gang_fight_is_refused() {
    let fx = Fixture::new();
    let app = App::launch(&fx, "mediation");
    enroll_and_sync(&app, &fx);
    let village = beibao_tests::fixtures().registry.villages_of(OFFICER)[0].to_owned();
    app.click(&format!("open-place[data-code=\"{village}\"]"));
    app.click("start-mediation");

    // 结伙斗殴 may not be mediated by the police: refused with the reason, no case opened.
    app.click("kind-public_security");
    app.click("case-gang_fight");
    app.click("mediation-check");
    app.wait_text("block-reason", "“结伙斗殴”不适用治安调解");
    app.screenshot("01-blocked");
    app.click("case-assault");
    app.click("mediation-check");
    app.wait("mediation");

    app.type_into("authority", "山亭区公安分局西集派出所");
    app.click("save-authority");
    app.wait("mediation-saved");
    app.click("add-mediator");
    app.type_into("mediator-name", "赵德明");
    app.click("save-mediators");
    app.wait_text("signer[data-key=\"mediator-0\"]", "赵德明");

    // The victim, an adult: a wrong check digit is named as typed, then corrected.
    let party = |role: &str, name: &str, id: &str| {
        app.click(&format!("party-role-{role}"));
        app.type_into("party-name", name);
        app.type_into("party-id", id);
    };
    party("victim", "王建国", "370406195803120012");
    app.wait_text("party-id-error", "校验位");
    app.type_into("party-id", "370406195803120011");
    app.wait("party-id-ok");
    app.type_into("party-address", "西集镇王庄村3组12号");
    app.type_into("party-phone", "13812345678");
    app.click("add-party");
    app.wait_text("party", "王建国");
    // The offender is 14: a guardian must attend, and is asked for before the party is added.
    party("offender", "李小梅", "370402201206110125");
    app.wait("needs-guardian");
    app.type_into("party-address", "西集镇王庄村3组15号");
    app.type_into("party-phone", "13912345678");
    app.click("add-party");
    app.wait_text("mediation-error", "监护人");
    app.type_into("guardian-name", "李建军");
    app.type_into("guardian-relation", "父亲");
    app.type_into("guardian-phone", "13912345670");
    app.click("add-party");
    app.wait_text("signer[data-key=\"guardian-1\"]", "李建军");

    app.type_into("facts", "双方因宅基地边界发生口角，李小梅推搡王建国致其轻微擦伤。");
    app.click("save-facts");
    for (id, text) in [
        ("incident-place", "王庄村3组12号门前"),
        ("incident-cause", "宅基地边界争执"),
        ("incident-course", "口角后推搡"),
        ("incident-circumstances", "情节轻微"),
        ("incident-result", "王建国手臂擦伤"),
    ] {
        app.type_into(id, text);
    }
    app.click("save-incident");
    app.type_into("terms", "李建军代李小梅向王建国赔礼道歉\u{E007}李建军赔偿王建国医药费300元");
    app.click("save-terms");
    app.type_into("perf-method", "现金");
    app.type_into("perf-place", "王庄村委会");
    let deadline = (chrono::Utc::now() + chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
    app.set_value("perf-deadline", &deadline);
    app.click("save-performance");
    app.click("save-place");
    app.wait("mediation-saved");
    // Only the signatures are missing now.
    assert_eq!(app.count("issue"), 4, "two parties, the guardian and the mediator sign: {}", app.text("issues"));

    // The victim signs; then the terms change: the signature is cleared, visibly.
    sign_as(&app, "party-0");
    app.type_into("terms", "李建军代李小梅向王建国赔礼道歉\u{E007}李建军赔偿王建国医药费350元");
    app.click("save-terms");
    app.wait("signatures-cleared");
    app.wait("signer[data-key=\"party-0\"][data-signed=\"false\"]");
    app.screenshot("02-signatures-cleared");
    for key in ["party-0", "party-1", "guardian-1", "mediator-0"] {
        sign_as(&app, key);
    }
    app.wait("complete");
    app.screenshot("03-signed");
    app.click("finalize");
    app.wait("mediation-final");
    assert!(
        app.text("agreement-serial").starts_with("SHT-"),
        "a serial of the device's block: {}",
        app.text("agreement-serial")
    );
    let hash = app.text("agreement-hash");
    assert!(hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()), "the content hash: {hash}");
    assert_eq!(app.count("final-term"), 2, "two terms, one per line");
    app.screenshot("04-finalized");
    // 履行回访: the officer records that the terms were kept.
    app.type_into("followup-note", "医药费已当面付清");
    app.click("performed");
    app.wait_text("followup-done", "已履行");

    // The printed agreement, made in Rust at finalize: every copy's pages drawn by pdf.js.
    let serial = app.text("agreement-serial");
    assert!(app.text("open-agreement").contains("一式3份"), "two parties and one to file");
    app.click("open-agreement");
    assert_eq!(app.text("agreement-doc-serial"), serial);
    let pages: usize =
        app.text("agreement-pages").chars().filter(char::is_ascii_digit).collect::<String>().parse().expect("pages");
    assert!(pages >= 3 && pages.is_multiple_of(3), "three copies of equal length: {pages}");
    app.wait(&format!("agreement[data-drawn=\"{pages}\"]"));
    assert_eq!(app.count("agreement-page"), pages);
    app.screenshot("05-agreement");
    app.click("nav-back");
    app.wait("mediation-final");

    // Synced: the server accepted it (it verifies the content hash and the device's signature),
    // and holds the same PDF the parties took home.
    app.sync();
    assert_eq!(server_records(&fx, "mediation"), 1);
    assert_eq!(server_records(&fx, "mediation_followup"), 1);
    let counts = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts");
    assert_eq!(counts.ops_rejected, 0, "nothing refused");
    assert!(counts.blobs >= 5, "the signatures' images and the agreement: {}", counts.blobs);
    app.click("nav-settings");
    let device = app.text("device-id");
    let records = fx.rt.block_on(fx.server.state.storage().records(&device, "mediation")).expect("records");
    let case: serde_json::Value = serde_json::from_str(&records[0].1).expect("payload");
    assert_eq!(case["content_hash"].as_str(), Some(hash.as_str()));
    let document = case["document"].as_str().expect("the case names its printed agreement");
    let pdf = fx
        .rt
        .block_on(fx.server.state.storage().blob_bytes(document))
        .expect("blob")
        .expect("the PDF reached the server");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(beibao_core::canonical::sha256_hex(&pdf), document);
    let text = pdf_text(&pdf);
    for needle in [serial.as_str(), &hash[..32], &hash[32..], "治安调解协议书", "一、李建军代李小梅向王建国赔礼道歉"]
    {
        assert!(text.contains(needle), "`{needle}` in the server's copy:\n{text}");
    }
    app.quit();
}

/// A tablet store made the way the app makes one, enrolled on the test server, with a signed
/// people's mediation draft waiting on Today (filled through beibao-field from the demo's edits,
/// as the form would). The clock is today's, as the app's is.
fn seed_people_mediation(fx: &Fixture, dir: &std::path::Path) {
    use std::sync::Arc;
    let clock = Arc::new(beibao_core::clock::FixedClock::new(chrono::Utc::now()));
    let env = beibao_field::Env { clock: clock.clone(), ids: Arc::new(beibao_store::system::UuidV7Ids) };
    let (mut session, _) = beibao_field::init_from_fixtures(
        &dir.join("beibao.db"),
        PIN,
        OFFICER,
        beibao_tests::fixtures(),
        beibao_store::key::KdfParams::TEST_ONLY,
        &mut beibao_store::key::OsEntropy,
        env,
    )
    .expect("store");
    let mut syncer = session.syncer().expect("syncer");
    fx.rt.block_on(syncer.enroll(&fx.server.url(), &fx.code(OFFICER), &Default::default())).expect("enroll");
    work::signed_mediation_draft(&mut session, &clock, &[work::png(1), work::png(2), work::png(3)]);
    session.lock().expect("lock");
}

#[test]
fn after_a_people_mediation_the_judicial_confirmation_and_a_recurrence_are_recorded_counted_and_synced() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("dir");
    seed_people_mediation(&fx, dir.path());
    let app = App::launch_in(&fx, "after-agreement", dir, &[]);
    app.wait("unlock");
    app.pin(PIN);
    app.click("resume-draft[data-kind=\"mediation\"]");
    app.wait("complete");
    app.click("finalize");
    app.wait("open-agreement");

    // 司法确认 (人民调解法 Art.33): the window, the application, the court's ruling.
    app.wait_text("judicial-window", "司法确认");
    app.screenshot("01-judicial-window");
    app.click("judicial-apply");
    app.wait_text("judicial-error", "必填");
    app.type_into("judicial-court", "山亭区人民法院");
    app.click("judicial-apply");
    app.wait_text("judicial-applied", "山亭区人民法院");
    app.click("judicial-confirmed");
    app.wait_text("judicial-ruling", "已确认有效");

    // The dispute turned criminal later: recorded against the case.
    app.click("recurrence-open");
    app.click("recurrence-kind-civil_to_criminal");
    app.type_into("recurrence-note", "双方再次因排水沟发生冲突，一方受伤，已转刑事立案");
    app.click("recurrence-save");
    app.wait_text("recurrence-line", "民转刑");
    app.screenshot("02-judicial-and-recurrence");

    // Counted in the officer's totals, and accepted by the server.
    app.click("nav-totals");
    app.wait_text("total-judicial_confirmations", "1 件");
    app.wait_text("total-recurrences", "1 起");
    app.screenshot("03-totals");
    app.sync();
    assert_eq!(server_records(&fx, "mediation"), 1);
    assert_eq!(server_records(&fx, "judicial_confirmation"), 1, "the application and the ruling: one record");
    assert_eq!(server_records(&fx, "recurrence"), 1);
    let counts = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts");
    assert_eq!(counts.ops_rejected, 0, "nothing refused");
    app.quit();
}

#[test]
fn a_people_mediation_may_end_in_an_oral_agreement_recorded_without_signatures_and_filed_once() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("dir");
    seed_people_mediation(&fx, dir.path());
    let app = App::launch_in(&fx, "oral", dir, &[]);
    app.wait("unlock");
    app.pin(PIN);
    app.click("resume-draft[data-kind=\"mediation\"]");
    app.wait("complete");

    // 人民调解法 Art.28: the parties see no need for a written agreement: no signature is asked for
    // (those given to the written text are dropped with it).
    app.click("form-oral");
    app.wait("oral-note");
    app.wait("complete");
    assert_eq!(app.count("signer"), 0, "no signature pads for an oral agreement");
    assert_eq!(app.count("signatures-cleared"), 0);
    app.wait_text("finalize", "口头协议");
    app.screenshot("01-oral");
    app.click("finalize");
    assert!(app.text("open-agreement").contains("一式1份"), "the record of an oral agreement is filed once");
    assert_eq!(app.count("judicial"), 0, "司法确认 is offered for a written agreement");
    app.click("open-agreement");
    let pages: usize =
        app.text("agreement-pages").chars().filter(char::is_ascii_digit).collect::<String>().parse().expect("pages");
    app.wait(&format!("agreement[data-drawn=\"{pages}\"]"));
    app.sync();
    assert_eq!(server_records(&fx, "mediation"), 1);
    let counts = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts");
    assert_eq!(counts.ops_rejected, 0, "nothing refused");
    app.quit();
}
