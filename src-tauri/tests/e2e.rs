//! The real app, driven through WebDriver: tauri-driver and WebKitWebDriver under Xvfb, a fresh
//! data dir per test, and a real beibao-server on loopback (SQLite). Selectors are `data-testid`.
//! Each test saves screenshots of the screens it passes through under
//! `target/tmp/e2e-screenshots/` (zh-CN, as the officer sees them).
//!
//! Needs `Xvfb`, `WebKitWebDriver` and `tauri-driver` (`make deps` installs them).

mod harness;

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
    app.type_into("enroll-code", &code);
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
    app.click("nav-sync");
    app.click("sync-now");
    app.wait("sync-done");
    app.screenshot("03-sync-done");
    app.click("nav-today");
    app.wait("place");
    let villages = beibao_tests::fixtures().registry.villages_of(OFFICER).len();
    assert_eq!(app.count("place"), villages + enterprises_of(OFFICER));
    app.screenshot("04-today");

    // Lock; a wrong PIN says how many are left; the right one opens Today again.
    app.click("nav-lock");
    app.wait("unlock");
    app.pin("000000");
    app.wait_text("unlock-error", "还可尝试 4 次");
    app.screenshot("05-unlock-wrong-pin");
    app.pin("135790");
    app.wait("today");

    let devices = fx.rt.block_on(fx.server.state.storage().counts()).expect("counts").devices;
    assert_eq!(devices, 1, "the tablet is enrolled on the server");
    app.quit();
}

fn enterprises_of(officer: &str) -> usize {
    beibao_tests::fixtures()
        .registry
        .assignments
        .iter()
        .filter(|a| a.officer == officer && matches!(a.target, beibao_core::registry::AssignmentTarget::Enterprise(_)))
        .count()
}
