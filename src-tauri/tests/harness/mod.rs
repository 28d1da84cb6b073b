//! Xvfb, tauri-driver and the app under test; a real server; waits that poll the page until a
//! deadline (never a fixed sleep).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use beibao_tests::{Server, runtime, server_db};
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::runtime::Runtime;

/// How long any one thing may take to appear.
const WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(5);

/// A real server on loopback with the whole registry, its clock set to now (the app stamps its
/// records with the real time).
pub struct Fixture {
    pub rt: Runtime,
    pub server: Server,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let rt = runtime();
        let dir = tempfile::tempdir().expect("tmp");
        let server = Server::sqlite(&rt, &server_db(dir.path()), 1);
        let now = chrono::Utc::now();
        server.clock.set(now);
        let registry = &beibao_tests::fixtures().registry;
        rt.block_on(server.state.storage().put_registry(registry, &[], now)).expect("registry");
        Fixture { rt, server, _dir: dir }
    }

    pub fn code(&self, officer: &str) -> String {
        self.server.code(&self.rt, officer)
    }
}

/// Children killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn need(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([dirs_home().join(".cargo/bin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("`{tool}` is not installed: run `make deps`"))
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default()
}

/// The app running under tauri-driver on an Xvfb display of its own, with a data dir of its own.
pub struct App {
    rt: Runtime,
    client: Option<Client>,
    name: String,
    data_dir: Option<tempfile::TempDir>,
    started: Instant,
    _driver: Kill,
    _xvfb: Kill,
}

impl App {
    /// Start Xvfb, tauri-driver and the app (zh-CN, 1280×800) on a fresh data dir.
    pub fn launch(fx: &Fixture, name: &str) -> App {
        App::launch_in(fx, name, tempfile::tempdir().expect("data dir"), &[])
    }

    /// The app killed (its WebDriver session ends the process: nothing is locked or flushed by
    /// the app) and started again on the same data dir, with `env` set.
    pub fn restart(mut self, fx: &Fixture, env: &[(&str, &str)]) -> App {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let data_dir = self.data_dir.take().expect("data dir");
        let name = self.name.clone();
        drop(self);
        App::launch_in(fx, &name, data_dir, env)
    }

    /// Start the app on `data_dir` with `env` set (e.g. `BEIBAO_FAKE_FIX`).
    pub fn launch_in(fx: &Fixture, name: &str, data_dir: tempfile::TempDir, env: &[(&str, &str)]) -> App {
        let mut xvfb = Command::new(need("Xvfb"))
            .args(["-displayfd", "1", "-screen", "0", "1280x1280x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        BufReader::new(xvfb.stdout.take().expect("stdout")).read_line(&mut line).expect("display number");
        let display = format!(":{}", line.trim());
        let xvfb = Kill(xvfb);
        let (port, native) = (free_port(), free_port());
        let driver = Command::new(need("tauri-driver"))
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", &display)
            .env("BEIBAO_DATA_DIR", data_dir.path())
            // The WebView's own storage (localStorage: the language, the kind of PIN) with the
            // test's data, not shared between tests.
            .env("XDG_DATA_HOME", data_dir.path().join("webview"))
            .env("BEIBAO_SERVER_URL", fx.server.url())
            .env("LANG", "zh_CN.UTF-8")
            // Background passes only when a test asks (unlock, the network back, "sync now"),
            // never on a timer in the middle of a test.
            .env("BEIBAO_SYNC_INTERVAL_SECONDS", "3600")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver");
        let driver = Kill(driver);
        // tauri-driver listens first, then starts WebKitWebDriver on the native port: a session
        // asked for before both listen is dropped.
        let deadline = Instant::now() + WAIT;
        for p in [port, native] {
            while TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(Instant::now() < deadline, "tauri-driver did not listen on {p}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert("tauri:options".into(), serde_json::json!({ "application": env!("CARGO_BIN_EXE_beibao-app") }));
        let started = Instant::now();
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("a WebDriver session with the app");
        App {
            rt,
            client: Some(client),
            name: name.to_owned(),
            data_dir: Some(data_dir),
            started,
            _driver: driver,
            _xvfb: xvfb,
        }
    }

    /// When the WebDriver session (and so the app process) was asked for.
    #[allow(dead_code)]
    pub fn started(&self) -> Instant {
        self.started
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("session")
    }

    fn sel(id: &str) -> String {
        // `id` alone, or `id[attr="value"]` to pick one of several.
        match id.split_once('[') {
            Some((id, rest)) => format!("[data-testid=\"{id}\"][{rest}"),
            None => format!("[data-testid=\"{id}\"]"),
        }
    }

    /// Wait until an element is on the page.
    pub fn wait(&self, id: &str) {
        let sel = App::sel(id);
        self.rt
            .block_on(self.c().wait().at_most(WAIT).every(POLL).for_element(Locator::Css(&sel)))
            .unwrap_or_else(|e| self.fail(&format!("`{id}` never appeared: {e}")));
    }

    /// Fail the test, with a screenshot of what the app showed (`<name>-FAILED.png`) and the
    /// page's visible text, so a failure far away (CI) can be read.
    fn fail(&self, why: &str) -> ! {
        let shot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.screenshot("FAILED")));
        let body = self.try_text_css("body").unwrap_or_default();
        panic!("[{}] {why}\nscreenshot: {:?}\npage text: {body}", self.name, shot.ok());
    }

    /// Wait until an element's text contains `part`.
    pub fn wait_text(&self, id: &str, part: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.try_text(id).unwrap_or_default();
            if text.contains(part) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("`{id}` never said `{part}` (says `{text}`)"));
            }
            std::thread::sleep(POLL);
        }
    }

    fn try_text(&self, id: &str) -> Option<String> {
        self.try_text_css(&App::sel(id))
    }

    fn try_text_css(&self, sel: &str) -> Option<String> {
        self.rt.block_on(async { self.c().find(Locator::Css(sel)).await.ok()?.text().await.ok() })
    }

    /// An element's text (waiting for it).
    pub fn text(&self, id: &str) -> String {
        self.wait(id);
        self.try_text(id).unwrap_or_default()
    }

    /// An input's value.
    pub fn value(&self, id: &str) -> String {
        self.wait(id);
        let sel = App::sel(id);
        self.rt
            .block_on(async { self.c().find(Locator::Css(&sel)).await?.prop("value").await })
            .expect("value")
            .unwrap_or_default()
    }

    /// Wait until an input's value is `want` (set by the page itself, e.g. a QR code decoded).
    pub fn wait_value(&self, id: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.value(id);
            if value == want {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("`{id}` never held `{want}` (holds `{value}`)"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// How many elements carry the test id.
    pub fn count(&self, id: &str) -> usize {
        let sel = App::sel(id);
        self.rt.block_on(self.c().find_all(Locator::Css(&sel))).map(|v| v.len()).unwrap_or(0)
    }

    /// Tap an element (waiting for it).
    pub fn click(&self, id: &str) {
        self.wait(id);
        let sel = App::sel(id);
        self.rt
            .block_on(async { self.c().find(Locator::Css(&sel)).await?.click().await })
            .unwrap_or_else(|e| panic!("[{}] tap `{id}`: {e}", self.name));
    }

    /// Type into an input (waiting for it).
    pub fn type_into(&self, id: &str, text: &str) {
        self.wait(id);
        let sel = App::sel(id);
        self.rt
            .block_on(async {
                let el = self.c().find(Locator::Css(&sel)).await?;
                el.clear().await?;
                el.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("[{}] type into `{id}`: {e}", self.name));
    }

    /// Set an input's value as the platform's picker would (a date, a time) and tell the page.
    #[allow(dead_code)]
    pub fn set_value(&self, id: &str, value: &str) {
        self.wait(id);
        let js = "const [sel, value, done] = arguments; const el = document.querySelector(sel);
            el.value = value; el.dispatchEvent(new Event('input', { bubbles: true }));
            el.dispatchEvent(new Event('change', { bubbles: true })); done(el.value);";
        let got = self.script_async(js, vec![App::sel(id).into(), value.into()]);
        assert_eq!(got.as_str(), Some(value), "[{}] set `{id}` to {value}", self.name);
    }

    /// Choose a file in a file input (as the officer picks an image).
    #[allow(dead_code)]
    pub fn choose_file(&self, id: &str, path: &std::path::Path) {
        let sel = App::sel(id);
        let path = path.to_str().expect("a UTF-8 path");
        self.rt
            .block_on(async { self.c().find(Locator::Css(&sel)).await?.send_keys(path).await })
            .unwrap_or_else(|e| panic!("[{}] choose {path} in `{id}`: {e}", self.name));
    }

    /// Whether a button is pressed (`aria-pressed`).
    pub fn pressed(&self, id: &str) -> bool {
        self.wait(id);
        let sel = App::sel(id);
        self.rt
            .block_on(async { self.c().find(Locator::Css(&sel)).await?.attr("aria-pressed").await })
            .expect("aria-pressed")
            .is_some_and(|v| v == "true")
    }

    /// Run a script in the page that calls its last argument with a result (WebDriver's
    /// execute-async), and return that result.
    #[allow(dead_code)]
    pub fn script_async(&self, js: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.rt.block_on(self.c().execute_async(js, args)).unwrap_or_else(|e| panic!("[{}] script: {e}", self.name))
    }

    /// Tap `tap` from inside the page and time it until `want` is on the page and painted (the
    /// first frame after it appeared), in milliseconds, without WebDriver's round trips.
    #[allow(dead_code)]
    pub fn timed_tap(&self, tap: &str, want: &str) -> f64 {
        self.wait(tap);
        let js = "const [tap, want, done] = arguments;
            const painted = () => requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
            const seen = new MutationObserver(() => {
                if (document.querySelector(want)) { seen.disconnect(); painted(); }
            });
            seen.observe(document.body, { childList: true, subtree: true, attributes: true });
            const t0 = performance.now();
            document.querySelector(tap).click();";
        let r = self.script_async(js, vec![App::sel(tap).into(), App::sel(want).into()]);
        r.as_f64().unwrap_or_else(|| panic!("[{}] timed tap {tap} → {want}: {r}", self.name))
    }

    /// Draw strokes on an element with the pointer (a finger signing): each stroke a list of
    /// points relative to the element's centre, in CSS pixels.
    #[allow(dead_code)]
    pub fn draw(&self, id: &str, strokes: &[&[(f64, f64)]]) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        self.wait(id);
        let sel = App::sel(id);
        self.rt
            .block_on(async {
                let el = self.c().find(Locator::Css(&sel)).await?;
                let mut mouse = MouseActions::new("finger".into());
                for stroke in strokes {
                    let at = |(x, y): (f64, f64)| PointerAction::MoveToElement {
                        element: el.clone(),
                        duration: Some(Duration::from_millis(30)),
                        x,
                        y,
                    };
                    let (first, rest) = stroke.split_first().expect("a stroke has points");
                    mouse = mouse.then(at(*first)).then(PointerAction::Down { button: MOUSE_BUTTON_LEFT });
                    for p in rest {
                        mouse = mouse.then(at(*p));
                    }
                    mouse = mouse.then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
                }
                self.c().perform_actions(mouse).await?;
                self.c().release_actions().await
            })
            .unwrap_or_else(|e| panic!("[{}] draw on `{id}`: {e}", self.name));
    }

    /// Type `value` into an input from inside the page (one input event, as a keystroke or an
    /// IME commit sends) and time it until the list under `list` has changed and been painted,
    /// in milliseconds, without WebDriver's round trips.
    #[allow(dead_code)]
    pub fn timed_input(&self, input: &str, value: &str, list: &str) -> f64 {
        self.wait(input);
        let js = "const [input, value, list, done] = arguments;
            const painted = () => requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
            const seen = new MutationObserver(() => { seen.disconnect(); painted(); });
            seen.observe(document.querySelector(list), { childList: true, subtree: true });
            const el = document.querySelector(input);
            const t0 = performance.now();
            el.value = value;
            el.dispatchEvent(new Event('input', { bubbles: true }));";
        let r = self.script_async(js, vec![App::sel(input).into(), value.into(), App::sel(list).into()]);
        r.as_f64().unwrap_or_else(|| panic!("[{}] timed input {value} in {input}: {r}", self.name))
    }

    /// Resize the app's window (e.g. 800×1280, a tablet held upright).
    #[allow(dead_code)]
    pub fn resize(&self, width: u32, height: u32) {
        self.rt
            .block_on(self.c().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("[{}] resize to {width}×{height}: {e}", self.name));
    }

    /// Sync now from the Sync tab and wait for it to finish.
    #[allow(dead_code)]
    pub fn sync(&self) {
        self.click("nav-sync");
        // A background pass may be under way (the button disabled, an earlier pass's "done" still
        // to come): tap only when the button takes it, so the pass waited for is this one.
        self.click("sync-now[data-ready=\"true\"]");
        self.wait("sync-done");
    }

    /// The platform says the network is back (the WebView's `online` event).
    #[allow(dead_code)]
    pub fn network_back(&self) {
        self.script_async("window.dispatchEvent(new Event('online')); arguments[arguments.length - 1](true);", vec![]);
    }

    /// Tap a PIN on the pad.
    pub fn pin(&self, pin: &str) {
        for d in pin.chars() {
            self.click(&format!("pin-key-{d}"));
        }
    }

    /// Save a screenshot as `<test>-<name>.png` (in `$BEIBAO_SCREENSHOT_DIR`, else under the
    /// target dir's `tmp/e2e-screenshots/`).
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let dir = std::env::var_os("BEIBAO_SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots"));
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = self
            .rt
            .block_on(async { tokio::time::timeout(WAIT, self.c().screenshot()).await })
            .unwrap_or_else(|_| panic!("[{}] screenshot {name} took over {WAIT:?}", self.name))
            .expect("screenshot");
        let path = dir.join(format!("{}-{name}.png", self.name));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// End the session (the app exits).
    pub fn quit(mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
    }
}
