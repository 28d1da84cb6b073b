//! Helpers shared by the cross-crate tests and benchmarks: a real beibao-server on loopback, a
//! real encrypted tablet store, and a link emulator — a TCP proxy that adds latency, limits
//! bandwidth, cuts connections at a chosen byte offset in either direction, answers like a
//! captive portal, and records requests so they can be replayed (duplicated, reordered).

pub mod console;
pub mod link;
pub mod pg;
pub mod tripwire;
pub mod work;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use beibao_core::clock::{FixedClock, SequentialIds};
use beibao_field::{Env, Session};
use beibao_server::app::{Limits, Random};
use beibao_server::{AppState, Storage, serve};
use beibao_store::key::KdfParams;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

/// The demo officer (西集派出所).
pub const OFFICER: &str = "OF-03-01";
/// The tablets' PIN in tests.
pub const PIN: &str = "246810";

pub use beibao_testkit::{SeededEntropy, fixtures, t0};

/// A seeded source of randomness for the server (tokens, challenges, codes).
#[derive(Debug)]
pub struct SeededRandom(std::sync::Mutex<ChaCha8Rng>);

impl SeededRandom {
    /// Seeded.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(std::sync::Mutex::new(ChaCha8Rng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).fill_bytes(buf);
    }
}

/// A multi-threaded runtime for servers and proxies, apart from the test's own thread (the
/// tablet's sync blocks on a runtime of its own, as it does in the app).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A real server on loopback.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// Its state (storage, keys).
    pub state: AppState,
    /// Its clock.
    pub clock: Arc<FixedClock>,
    task: tokio::task::JoinHandle<()>,
    own: Option<KillSwitch>,
    tls: bool,
}

/// Kills a server that runs on a runtime of its own: the runtime is shut down, so every task is
/// dropped and every socket closed at once — as when the process dies. Fired from any thread,
/// the server's own included.
#[derive(Debug, Clone, Default)]
pub struct KillSwitch(Arc<Mutex<Option<Runtime>>>);

impl KillSwitch {
    /// Kill (once; later calls do nothing).
    pub fn fire(&self) {
        let rt = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rt) = rt {
            // Shut down from a thread outside the runtime: its workers may be the caller.
            let _ = std::thread::spawn(move || rt.shutdown_background()).join();
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Start a server over `storage` on a free loopback port.
    pub fn start(rt: &Runtime, storage: Arc<dyn Storage>, limits: Limits, seed: u64) -> Server {
        Server::start_with_console(rt, storage, limits, seed, None)
    }

    /// [`Server::start`], serving the web console from a built `ui/dist` when given.
    pub fn start_with_console(
        rt: &Runtime,
        storage: Arc<dyn Storage>,
        limits: Limits,
        seed: u64,
        console: Option<PathBuf>,
    ) -> Server {
        Server::start_full(rt, storage, limits, seed, console, None)
    }

    /// [`Server::start`] over TLS (see `beibao_server::http::tls_config`): its URL is `https://`;
    /// its enrollment codes carry `pin`.
    pub fn start_tls(
        rt: &Runtime,
        storage: Arc<dyn Storage>,
        limits: Limits,
        seed: u64,
        tls: Arc<beibao_server::rustls::ServerConfig>,
        pin: String,
    ) -> Server {
        Server::start_full(rt, storage, limits, seed, None, Some((tls, pin)))
    }

    fn start_full(
        rt: &Runtime,
        storage: Arc<dyn Storage>,
        limits: Limits,
        seed: u64,
        console: Option<PathBuf>,
        tls: Option<(Arc<beibao_server::rustls::ServerConfig>, String)>,
    ) -> Server {
        let clock = Arc::new(FixedClock::new(t0()));
        let registry = &fixtures().registry;
        // Stations and officers only (desk scopes, enrollment checks): the places would be written
        // again by every scenario of the fault loop; tests that assign put the whole registry.
        static ROSTER: std::sync::OnceLock<beibao_core::registry::Registry> = std::sync::OnceLock::new();
        let roster = ROSTER.get_or_init(|| beibao_core::registry::Registry {
            stations: registry.stations.clone(),
            officers: registry.officers.clone(),
            ..Default::default()
        });
        rt.block_on(storage.put_registry(roster, &[], t0())).expect("the registry's stations and officers");
        let state = rt
            .block_on(AppState::new(
                storage,
                &fixtures().catalog,
                clock.clone(),
                Arc::new(SeededRandom::new(seed)),
                limits,
            ))
            .expect("server state");
        let state = match console {
            Some(dir) => state.with_console(dir),
            None => state,
        };
        let (state, tls) = match tls {
            Some((config, pin)) => (state.with_tls_pin(pin), Some(config)),
            None => (state, None),
        };
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = state.clone();
        let tls_on = tls.is_some();
        let task = rt.spawn(async move {
            let _ = match tls {
                Some(config) => beibao_server::serve_tls(listener, serving, config).await,
                None => serve(listener, serving).await,
            };
        });
        Server { addr, state, clock, task, own: None, tls: tls_on }
    }

    /// Start a server on a runtime of its own, so it can be killed outright (see
    /// [`KillSwitch`]); `storage` is made on that runtime (database connections die with it)
    /// with the switch in hand (see [`tripwire::Tripwire`]).
    pub fn killable(
        storage: impl FnOnce(&Runtime, KillSwitch) -> Arc<dyn Storage>,
        limits: Limits,
        seed: u64,
    ) -> Server {
        let rt = runtime();
        let switch = KillSwitch::default();
        let storage = storage(&rt, switch.clone());
        let mut server = Server::start(&rt, storage, limits, seed);
        *switch.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(rt);
        server.own = Some(switch);
        server
    }

    /// Start a server on a SQLite file.
    pub fn sqlite(rt: &Runtime, path: &Path, seed: u64) -> Server {
        let storage = Arc::new(beibao_server::Sqlite::open(path).expect("open sqlite"));
        Server::start(rt, storage, Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() }, seed)
    }

    /// Start a server on a PostgreSQL database (`postgres://…`, e.g. a [`pg::Cluster`]'s).
    pub fn postgres(rt: &Runtime, url: &str, seed: u64) -> Server {
        let storage = rt.block_on(beibao_server::admin::open_storage(url, None)).expect("connect postgres");
        Server::start(rt, storage, Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() }, seed)
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// A one-time enrollment code for an officer.
    pub fn code(&self, rt: &Runtime, officer: &str) -> String {
        rt.block_on(self.state.issue_enrollment_code(officer, chrono::Duration::hours(1))).expect("code")
    }

    /// Stop serving. A [`Server::killable`] one dies whole (in-flight requests unanswered,
    /// connections closed); otherwise the listener stops accepting.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(own) = &self.own {
            own.fire();
        }
    }
}

/// A tablet: a real encrypted store set up for the demo officer.
pub struct Tablet {
    /// Where its files live.
    pub dir: tempfile::TempDir,
    /// The store's path.
    pub path: PathBuf,
    /// Its clock.
    pub clock: Arc<FixedClock>,
    /// The unlocked session.
    pub session: Session,
}

impl std::fmt::Debug for Tablet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tablet").field("path", &self.path).finish()
    }
}

impl Tablet {
    /// A new tablet for `officer`, with seeded keys.
    pub fn new(officer: &str, seed: u64) -> Tablet {
        Tablet::with_ids(officer, seed, |_| Arc::new(SeededIds::new(seed)))
    }

    /// A new tablet for `officer`, with seeded keys and the ids `ids` makes on its clock.
    pub fn with_ids(
        officer: &str,
        seed: u64,
        ids: impl FnOnce(Arc<FixedClock>) -> Arc<dyn beibao_core::clock::IdSource>,
    ) -> Tablet {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("tablet.db");
        let clock = Arc::new(FixedClock::new(t0()));
        let env = Env { clock: clock.clone(), ids: ids(clock.clone()) };
        let mut entropy = SeededEntropy(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
        let (session, _) =
            beibao_field::init_from_fixtures(&path, PIN, officer, fixtures(), KdfParams::TEST_ONLY, &mut entropy, env)
                .expect("tablet init");
        Tablet { dir, path, clock, session }
    }

    /// Lock the store and unlock it again (as the app does after an idle time); ids after that
    /// come from a seed of their own, so none repeats an id made before.
    pub fn relock(self) -> Tablet {
        let Tablet { dir, path, clock, session } = self;
        session.lock().expect("lock");
        let env = Env { clock: clock.clone(), ids: Arc::new(SeededIds::new(0xbee_f00d)) };
        let session = beibao_field::unlock(&path, PIN, env).expect("unlock");
        Tablet { dir, path, clock, session }
    }

    /// Enroll on `rt` (the tablet's syncer on its own connection; the runtime is the caller's).
    pub fn enroll(
        &mut self,
        rt: &tokio::runtime::Runtime,
        url: &str,
        code: &str,
    ) -> Result<beibao_store::sync::EnrollmentRow, beibao_field::FieldError> {
        let mut syncer = self.session.syncer()?;
        rt.block_on(syncer.enroll(url, code, &Default::default()))
    }

    /// Sync now on `rt`.
    pub fn sync(
        &mut self,
        rt: &tokio::runtime::Runtime,
        settings: beibao_field::SyncSettings,
        max_failures: u64,
        progress: &mut (dyn FnMut(beibao_field::Progress) + Send),
    ) -> Result<beibao_field::SyncSummary, beibao_field::FieldError> {
        let mut syncer = self.session.syncer()?;
        rt.block_on(syncer.sync_now(settings, max_failures, progress))
    }
}

/// UUIDv7-shaped ids from a seed, distinct across tablets of different seeds.
#[derive(Debug)]
pub struct SeededIds {
    prefix: u64,
    n: SequentialIds,
}

impl SeededIds {
    /// Ids for one tablet.
    pub fn new(seed: u64) -> SeededIds {
        SeededIds { prefix: seed & 0xffff_ffff_ffff, n: SequentialIds::default() }
    }
}

impl beibao_core::clock::IdSource for SeededIds {
    fn next_id(&self) -> uuid::Uuid {
        let low = self.n.next_id().as_u128() & 0xffff_ffff_ffff;
        // time_low/time_mid carry the seed; version 7 and variant bits kept.
        uuid::Uuid::from_u128((u128::from(self.prefix) << 80) | 0x7000_8000_0000_0000_0000 | low)
    }
}

/// Ids as a tablet makes them (`Uuid::now_v7`): the millisecond of `clock`, then 74 random bits
/// from a seed — unlike [`SeededIds`], as incompressible as the real ones (a benchmark of bytes
/// on the wire needs them so).
pub struct PhoneIds {
    clock: Arc<FixedClock>,
    rng: std::sync::Mutex<ChaCha8Rng>,
}

impl PhoneIds {
    /// Ids on `clock`, random bits from `seed`.
    pub fn new(clock: Arc<FixedClock>, seed: u64) -> PhoneIds {
        PhoneIds { clock, rng: std::sync::Mutex::new(ChaCha8Rng::seed_from_u64(seed)) }
    }
}

impl std::fmt::Debug for PhoneIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneIds")
    }
}

impl beibao_core::clock::IdSource for PhoneIds {
    fn next_id(&self) -> uuid::Uuid {
        use beibao_core::clock::Clock as _;
        let ms = self.clock.now().timestamp_millis().max(0) as u64;
        let mut random = [0u8; 10];
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).fill_bytes(&mut random);
        uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
    }
}

/// A temp dir for a server's SQLite file.
pub fn server_db(dir: &Path) -> PathBuf {
    dir.join("server").join("beibao.db")
}

/// Undoes schema migration 10 (the month and year rollups), both backends.
pub const UNDO_COARSE_ROLLUPS: &str = "DROP TABLE tally_month; DROP TABLE tally_subjects_month;
    DROP TABLE tally_subjects_year; DELETE FROM schema_version WHERE version = 10;";

/// Undoes schema migration 9 (records' day and station, requests' station), both backends: for
/// the tests that take a database back to what an older server left.
pub const UNDO_DETAIL: &str =
    "DROP INDEX records_day; DROP INDEX requests_accepted; ALTER TABLE records DROP COLUMN day;
    ALTER TABLE records DROP COLUMN station; ALTER TABLE requests DROP COLUMN station;
    DELETE FROM schema_version WHERE version = 9;";
