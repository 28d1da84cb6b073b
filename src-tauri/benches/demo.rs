//! `make demo` on a machine with no display: the app (debug build) under Xvfb, driven through
//! WebDriver exactly as the end-to-end tests drive it, against a real beibao-server on embedded
//! SQLite with the fixtures. One officer's day: first run with an enrollment code, the PIN, the
//! registry pulled, Today, a village's map, a household, a visit at the door with a fix, totals,
//! sync. Screenshots of each screen go to `$BEIBAO_SCREENSHOT_DIR` (the Makefile: `target/demo/`).
//!
//! A `[[bench]]` with `harness = false` so that it runs the app binary Cargo builds beside it.

#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use beibao_tests::{OFFICER, work};
use harness::{App, Fixture};

const PIN: &str = "135790";

fn main() {
    let fx = Fixture::new();
    work::publish_registry(&fx.rt, &fx.server);
    let registry = &beibao_tests::fixtures().registry;
    let villages = registry.villages_of(OFFICER);
    // A household of the officer's with a special group and a position: the visit of the day.
    let h = registry
        .households
        .iter()
        .find(|h| villages.contains(&h.village.as_str()) && h.location.is_some() && !h.groups().is_empty())
        .expect("a special-group household with a position");
    let home = h.location.expect("position");
    let fix = format!("{},{},12", home.lat + 0.00008, home.lon + 0.00005);
    let code = fx.code(OFFICER);
    println!("beibao-server on {} (SQLite), enrollment code {code} for {OFFICER}, PIN {PIN}", fx.server.url());
    let app = App::launch_in(&fx, "demo", tempfile::tempdir().expect("data dir"), &[("BEIBAO_FAKE_FIX", &fix)]);
    let mut shots = Vec::new();

    app.wait("first-run");
    app.type_into("enroll-code", &code);
    app.click("check-code");
    app.wait("officer-name");
    shots.push(app.screenshot("01-first-run"));
    app.click("confirm-officer");
    app.pin(PIN);
    app.wait_text("pin-step", "再输入");
    app.pin(PIN);
    app.wait("today");
    app.sync();
    shots.push(app.screenshot("02-sync"));
    app.click("nav-today");
    app.wait("place");
    shots.push(app.screenshot("03-today"));

    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.wait("map-household");
    app.wait("map-fix");
    shots.push(app.screenshot("04-village"));
    app.click(&format!("map-household[data-id=\"{}\"]", h.id));
    app.wait("member");
    shots.push(app.screenshot("05-household"));
    app.click("start-visit");
    app.click("locate");
    app.wait("fix");
    app.click("purpose-special_group_care");
    app.click("outcome-met");
    app.type_into("visit-note", "老人身体尚好，叮嘱防范电信诈骗，留下警民联系卡。");
    app.wait_text("verdict", "在户附近");
    shots.push(app.screenshot("06-visit"));
    app.click("save-visit");
    app.wait("visit-saved");
    shots.push(app.screenshot("07-visit-saved"));

    app.click("nav-totals");
    app.wait_text("total-households_visited", "1");
    shots.push(app.screenshot("08-totals"));
    app.sync();
    shots.push(app.screenshot("09-synced"));

    // The tablet held upright (800×1280): Today and the village, map above the list.
    app.resize(800, 1280);
    app.click("nav-today");
    app.wait("place");
    shots.push(app.screenshot("10-today-portrait"));
    app.click(&format!("open-place[data-code=\"{}\"]", h.village));
    app.wait("map-household");
    shots.push(app.screenshot("11-village-portrait"));
    app.quit();

    println!("the officer's day, as screenshots:");
    for s in shots {
        println!("  {}", s.display());
    }
}
