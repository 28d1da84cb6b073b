//! The app: its shared state ([`AppState`]: storage, signing key, clock, randomness, catalogs,
//! limits, rate-limit buckets), the router of every route under `/api/v1` with the OpenAPI
//! document describing exactly those routes, and [`serve`]. The handlers are in
//! [`crate::routes`], the HTTP plumbing they stand on in [`crate::http`].

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use beibao_core::calendar::WorkCalendar;
use beibao_core::canonical::sha256_hex;
use beibao_core::catalog::Catalog;
use beibao_core::clock::Clock;
use beibao_core::code::Code;
use beibao_sync::wire;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;

use crate::storage::{Storage, StorageError};

/// Where random bytes come from (tokens, challenges, codes); injected for deterministic tests.
pub trait Random: Send + Sync {
    /// Fill the buffer.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's randomness.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS source failing is not recoverable for a server that mints credentials.
        if let Err(e) = getrandom::fill(buf) {
            panic!("operating system randomness failed: {e}");
        }
    }
}

/// Limits and lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (compressed), bytes.
    pub max_body: usize,
    /// Requests per device per second (token bucket refill).
    pub rate_per_s: f64,
    /// Bucket size.
    pub burst: f64,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Challenge lifetime.
    pub challenge_ttl: Duration,
    /// Largest pull page.
    pub max_pull: usize,
    /// How often [`serve`] looks for a catalog published while it runs.
    pub catalog_poll: std::time::Duration,
    /// Password checks (Argon2id, 19 MiB each) at once; 0: one per core.
    pub password_slots: usize,
    /// How long a login waits for a password check before it is answered 503 `busy`.
    pub password_wait: std::time::Duration,
    /// Login attempts from one client address (any account names: password spraying): bucket
    /// size, and its refill per second.
    pub login_address_burst: f64,
    /// See `login_address_burst`.
    pub login_address_rate: f64,
    /// The client's address is the last `X-Forwarded-For` entry (set this behind a reverse proxy
    /// or a load balancer that adds it; otherwise a client could name any address).
    pub trust_forwarded: bool,
    /// Connections held at once; past it the server stops accepting until one closes.
    pub max_connections: usize,
    /// A request's headers must arrive within this; it is also how long an idle keep-alive
    /// connection is kept.
    pub header_timeout: std::time::Duration,
    /// A connection whose client does not take the answer's bytes for this long is closed.
    pub write_stall: std::time::Duration,
    /// A body must arrive at `body_min_rate` bytes per second on average after this grace.
    pub body_grace: std::time::Duration,
    /// See `body_grace`.
    pub body_min_rate: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: wire::MAX_BODY_BYTES,
            rate_per_s: 50.0,
            burst: 100.0,
            token_ttl: Duration::minutes(15),
            challenge_ttl: Duration::minutes(2),
            max_pull: 2_000,
            catalog_poll: std::time::Duration::from_secs(30),
            password_slots: 0,
            password_wait: std::time::Duration::from_secs(5),
            login_address_burst: 30.0,
            login_address_rate: 0.2,
            trust_forwarded: false,
            max_connections: 1_024,
            header_timeout: std::time::Duration::from_secs(15),
            write_stall: std::time::Duration::from_secs(30),
            body_grace: std::time::Duration::from_secs(20),
            body_min_rate: 1_024,
        }
    }
}

/// The shared state of the app.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    /// The published catalogs ops are checked against, oldest first (see
    /// [`crate::plan::check_op`]); [`AppState::refresh_catalogs`] picks up new versions.
    catalogs: std::sync::RwLock<Arc<Vec<Catalog>>>,
    limits: Limits,
    buckets: Mutex<crate::buckets::Buckets>,
    passwords: crate::passwords::Passwords,
    /// The built console (`ui/dist`: `console.html` and its assets), served under `/console/`.
    console: Option<std::path::PathBuf>,
    /// The SHA-256 fingerprint of the certificate clients reach this server by (its own, or the
    /// TLS terminator's given with `--tls-pin`): enrollment codes carry it for tablets to pin.
    tls_pin: Option<String>,
    /// The working days a request's on-time count is judged by: the last calendar published
    /// (the one tablets hold), by its version; the bundled one until one is.
    calendar: std::sync::RwLock<(Option<String>, Arc<WorkCalendar>)>,
    /// Detail exports running (each reads a range page by page and writes a file): at most
    /// [`DETAIL_EXPORTS`] at once.
    exports: Arc<tokio::sync::Semaphore>,
}

/// Detail exports one server runs at once; more are refused with `rate_limited`.
pub const DETAIL_EXPORTS: usize = 2;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("backend", &self.inner.storage.backend()).finish()
    }
}

impl AppState {
    /// Build the state: the server key comes from storage (made on first start), the catalog is
    /// the newest published one, or `catalog` published now when none is.
    pub async fn new(
        storage: Arc<dyn Storage>,
        catalog: &Catalog,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        limits: Limits,
    ) -> Result<AppState, StorageError> {
        let mut fresh = [0u8; 32];
        random.fill(&mut fresh);
        let seed = storage.server_seed(fresh).await?;
        let mut catalogs = storage.catalogs().await?;
        if catalogs.is_empty() {
            storage.publish_catalog(catalog, clock.now()).await?;
            catalogs.push(catalog.clone());
        }
        let calendar = match storage.calendar().await? {
            Some(published) => (Some(published.version.clone()), published.calendar()),
            None => (
                None,
                beibao_core::bundled::calendar().map_err(|e| StorageError::Db(format!("bundled calendar: {e}")))?,
            ),
        };
        Ok(AppState {
            inner: Arc::new(Inner {
                calendar: std::sync::RwLock::new((calendar.0, Arc::new(calendar.1))),
                console: None,
                tls_pin: None,
                storage,
                key: SigningKey::from_bytes(&seed),
                clock,
                random,
                catalogs: std::sync::RwLock::new(Arc::new(catalogs)),
                passwords: crate::passwords::Passwords::new(limits.password_slots, limits.password_wait),
                limits,
                buckets: Mutex::new(crate::buckets::Buckets::new(MAX_BUCKETS)),
                exports: Arc::new(tokio::sync::Semaphore::new(DETAIL_EXPORTS)),
            }),
        })
    }

    /// The catalog versions ops are checked against, oldest first.
    pub fn catalogs(&self) -> Arc<Vec<Catalog>> {
        match self.inner.catalogs.read() {
            Ok(c) => Arc::clone(&c),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Take in catalogs published since the last look (by `beibao-server publish-catalog`, or
    /// by another server instance on the same database). Returns the versions now held, oldest
    /// first. Costs one count when nothing is new.
    pub async fn refresh_catalogs(&self) -> Result<Vec<String>, StorageError> {
        let held = self.catalogs();
        if self.inner.storage.catalog_count().await? <= held.len() {
            return Ok(held.iter().map(|c| c.version.clone()).collect());
        }
        let stored = self.inner.storage.catalogs().await?;
        if stored.len() > held.len() {
            let fresh = Arc::new(stored);
            match self.inner.catalogs.write() {
                Ok(mut c) => *c = fresh,
                Err(p) => *p.into_inner() = fresh,
            }
        }
        Ok(self.catalogs().iter().map(|c| c.version.clone()).collect())
    }

    /// Serve the web console from a built `ui/dist` (its `console.html` and `assets/`) under
    /// `/console/`. Call before the state is shared.
    pub fn with_console(mut self, dir: std::path::PathBuf) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.console = Some(dir),
            None => tracing::warn!("the console was set on a shared state: not served"),
        }
        self
    }

    /// Name the fingerprint of the certificate clients reach this server by (enrollment codes
    /// carry it). Call before the state is shared.
    pub fn with_tls_pin(mut self, pin: String) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.tls_pin = Some(pin),
            None => tracing::warn!("the TLS pin was set on a shared state: not given out"),
        }
        self
    }

    /// The fingerprint enrollment codes carry, if any.
    pub fn tls_pin(&self) -> Option<String> {
        self.inner.tls_pin.clone()
    }

    /// The working-day calendar.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        match self.inner.calendar.read() {
            Ok(c) => Arc::clone(&c.1),
            Err(p) => Arc::clone(&p.into_inner().1),
        }
    }

    /// Delete the unfinished blob uploads older than [`crate::storage::UPLOAD_TTL_DAYS`] (by the
    /// server's clock). Returns how many went.
    pub async fn sweep_uploads(&self) -> Result<u64, StorageError> {
        let before = self.now() - chrono::Duration::days(crate::storage::UPLOAD_TTL_DAYS);
        self.inner.storage.sweep_uploads(before).await
    }

    /// Take in a calendar published since the last look (by `beibao-server publish-calendar`,
    /// from another process). Returns the version now counted by (`None`: the bundled one).
    /// Costs one query when nothing is new.
    pub async fn refresh_calendar(&self) -> Result<Option<String>, StorageError> {
        let held = match self.inner.calendar.read() {
            Ok(c) => c.0.clone(),
            Err(p) => p.into_inner().0.clone(),
        };
        let stored = self.inner.storage.calendar_version().await?;
        if stored.is_none() || stored == held {
            return Ok(held);
        }
        let Some(published) = self.inner.storage.calendar().await? else { return Ok(held) };
        let fresh = (Some(published.version.clone()), Arc::new(published.calendar()));
        match self.inner.calendar.write() {
            Ok(mut c) => *c = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(Some(published.version))
    }

    /// The storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    /// A slot for a detail export, held while it runs; `None` when [`DETAIL_EXPORTS`] run.
    pub fn export_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.exports).try_acquire_owned().ok()
    }

    /// The server's public key (hex): receipts verify with it.
    pub fn public_key(&self) -> String {
        wire::public_hex(&self.inner.key)
    }

    /// The limits.
    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The server's signing key (receipts).
    pub(crate) fn key(&self) -> &SigningKey {
        &self.inner.key
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn random_hex(&self, n: usize) -> String {
        let mut buf = vec![0u8; n];
        self.inner.random.fill(&mut buf);
        hex::encode(buf)
    }

    /// The password checker (bounded: see [`crate::passwords`]).
    pub(crate) fn passwords(&self) -> &crate::passwords::Passwords {
        &self.inner.passwords
    }

    /// A known-client token for `username`: given back at the next login, it lets this client
    /// past the account's own attempt limit (which a stranger guessing the password may have
    /// emptied). Signed by the server's key, so any instance sharing the database checks it.
    pub(crate) fn known_client_token(&self, username: &str) -> String {
        use ed25519_dalek::Signer;
        let client = self.random_hex(16);
        let issued = self.now().timestamp();
        let sig = self.inner.key.sign(known_client_message(username, &client, issued).as_bytes());
        format!("{client}.{issued}.{}", hex::encode(sig.to_bytes()))
    }

    /// The client id of a known-client token issued to `username` and not older than
    /// [`KNOWN_CLIENT_DAYS`]; `None` for anything else.
    pub(crate) fn known_client(&self, username: &str, token: &str) -> Option<String> {
        use ed25519_dalek::Verifier;
        if token.len() > 200 {
            return None;
        }
        let mut parts = token.split('.');
        let (client, issued, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || client.len() != 32 || !client.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let issued: i64 = issued.parse().ok()?;
        let age = self.now().timestamp().checked_sub(issued)?;
        if !(0..=KNOWN_CLIENT_DAYS * 86_400).contains(&age) {
            return None;
        }
        let sig: [u8; 64] = hex::decode(sig).ok()?.try_into().ok()?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.inner.key.verifying_key().verify(known_client_message(username, client, issued).as_bytes(), &sig).ok()?;
        Some(client.to_owned())
    }

    /// Make a one-time enrollment code for an officer of the registry (`unknown_officer`
    /// otherwise), valid for `ttl`. Only its hash is stored.
    pub async fn issue_enrollment_code(&self, officer_id: &str, ttl: Duration) -> Result<String, StorageError> {
        if self.inner.storage.officer(officer_id).await?.is_none() {
            return Err(StorageError::refused(
                Code::UnknownOfficer,
                format!("no officer {officer_id} in the server's registry (seed it, or add-officer)"),
            ));
        }
        const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        let mut raw = [0u8; 12];
        self.inner.random.fill(&mut raw);
        let chars: String = raw.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect();
        let code = format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]);
        let now = self.now();
        self.inner.storage.issue_code(&code_hash(&code), officer_id, now + ttl, now).await?;
        Ok(code)
    }

    /// Take a token from a caller's bucket at the server's rate; false when it is empty.
    pub(crate) fn admit(&self, who: Limited<'_>) -> bool {
        let Limits { rate_per_s, burst, .. } = self.inner.limits;
        self.admit_at(who, rate_per_s, burst)
    }

    /// Take a token from a bucket of its own rate; false when it is empty.
    pub(crate) fn admit_at(&self, who: Limited<'_>, rate_per_s: f64, burst: f64) -> bool {
        let now = self.now();
        let mut buckets = self.inner.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.admit(&who.key(), now, rate_per_s, burst)
    }
}

/// Who a rate limit counts, each in a namespace of its own: a device enrolled under the id
/// `login:ann` has a bucket apart from the login attempts for `ann`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited<'a> {
    /// An enrolled device's requests (by device id), and its enrollment-time requests.
    Device(&'a str),
    /// A console account's requests, once logged in.
    Account(&'a str),
    /// Login attempts for an account name (known or not).
    Login(&'a str),
    /// Enrollment code checks, server-wide.
    Enrollment,
    /// Login attempts from a client address (whatever the account names).
    Address(std::net::IpAddr),
    /// Login attempts of a client that logged in before (its known-client id).
    KnownClient(&'a str),
}

impl Limited<'_> {
    /// The bucket's key: the namespace, then the name.
    pub(crate) fn key(self) -> String {
        match self {
            Limited::Device(id) => format!("device:{id}"),
            Limited::Account(name) => format!("account:{name}"),
            Limited::Login(name) => format!("login:{name}"),
            Limited::Enrollment => "enrollment".to_owned(),
            // An IPv6 client holds a /64 at least: it counts as one address.
            Limited::Address(std::net::IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Limited::Address(ip) => format!("address:{ip}"),
            Limited::KnownClient(id) => format!("client:{id}"),
        }
    }
}

/// The most rate-limit buckets held (devices and login names); past it, refilled buckets are
/// dropped and, while all are live, new keys are refused (a flood of made-up names stays bounded).
const MAX_BUCKETS: usize = 100_000;

/// How long a known-client token is honoured.
pub(crate) const KNOWN_CLIENT_DAYS: i64 = 180;

fn known_client_message(username: &str, client: &str, issued: i64) -> String {
    format!("beibao-known-client\n{username}\n{client}\n{issued}")
}

/// The canonical form of a code (upper case, no separators), hashed.
pub fn code_hash(code: &str) -> String {
    let norm: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    sha256_hex(norm.as_bytes())
}

/// The OpenAPI document's frame; the paths come from the handlers as they are routed.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Beibao API", version = "1", description = "Sync protocols v1 and v2 (enrollment, device auth, push, pull, blobs; v2 is negotiated by the `beibao-sync` header of `last-seq`) and the console: login, the station desk (requests, moves), supervisors (reports, trend, coverage, mediation deadlines, CSV/XLSX exports) and administrators (devices, enrollment codes, accounts). Every failure answers `{code, message}`."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document describing exactly them (utoipa-axum registers each
/// handler and its documentation together, so they cannot drift apart).
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;

    use crate::routes::{admin, blobs, desk, devices, meta, supervisor, sync};
    let api = OpenApiRouter::<AppState>::new()
        .routes(routes!(meta::health))
        .routes(routes!(devices::enroll))
        .routes(routes!(devices::enroll_check))
        .routes(routes!(devices::challenge))
        .routes(routes!(devices::token))
        .routes(routes!(sync::last_seq))
        .routes(routes!(sync::push))
        .routes(routes!(sync::push_v2))
        .routes(routes!(sync::push_v2_resume))
        .routes(routes!(sync::pull))
        .routes(routes!(blobs::blob_status, blobs::blob_put))
        .routes(routes!(desk::login))
        .routes(routes!(desk::logout))
        .routes(routes!(desk::list))
        .routes(routes!(desk::detail))
        .routes(routes!(desk::moves))
        .routes(routes!(desk::phone_in, desk::phoned_in))
        .routes(routes!(desk::households))
        .routes(routes!(supervisor::report))
        .routes(routes!(supervisor::trend))
        .routes(routes!(supervisor::export))
        .routes(routes!(supervisor::detail))
        .routes(routes!(supervisor::admin_detail))
        .routes(routes!(supervisor::coverage))
        .routes(routes!(supervisor::mediations))
        .routes(routes!(admin::devices))
        .routes(routes!(admin::revoke))
        .routes(routes!(admin::issue_code))
        .routes(routes!(admin::accounts, admin::create_account))
        .routes(routes!(admin::officers))
        .routes(routes!(admin::assign))
        .routes(routes!(admin::unassign))
        .routes(routes!(admin::catalogs, admin::publish_catalog));
    let (router, mut doc) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(wire::API_PREFIX, api).split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document_common_answers(&mut doc);
    (router, doc)
}

/// The answers any operation may give, written into each operation that does not list them
/// already (the HTTP layer gives them before a handler runs, so they hold for every route,
/// present and future): 429 (rate limits), 503 (storage, a busy password queue); with a body,
/// 400, 408, 413 and 415; behind a bearer token, 401.
fn document_common_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch, &mut item.head];
        for op in operations.into_iter().flatten() {
            let mut answers = vec![("429", "`rate_limited`"), ("503", "`storage_unavailable` (retry later)")];
            if op.request_body.is_some() {
                answers.extend([
                    ("400", "`malformed_json`, `unknown_field`, `invalid_body`, `bad_encoding`, `incomplete_body`"),
                    ("408", "`body_too_slow`: the body came in below the server's minimum rate"),
                    ("413", "`payload_too_large`"),
                    ("415", "`unsupported_media_type`, `unsupported_encoding`"),
                ]);
            }
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                answers.push(("401", "`unauthenticated`, `token_expired`, `session_expired`, `revoked`"));
            }
            for (status, description) in answers {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description));
            }
        }
    }
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The router, every route under `/api/v1`, and the OpenAPI document at `/api/v1/openapi.json`;
/// the web console under `/console/` when the state has one.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes();
    let doc = Arc::new(doc.to_json().unwrap_or_default());
    let router = match &state.inner.console {
        Some(dir) => router.merge(crate::routes::console::routes(dir)),
        None => router,
    };
    router
        .route(
            &format!("{}/openapi.json", wire::API_PREFIX),
            get(move || {
                let doc = doc.clone();
                async move { ([(CONTENT_TYPE, "application/json")], doc.as_ref().clone()) }
            }),
        )
        .method_not_allowed_fallback(crate::routes::meta::method_not_allowed)
        .fallback(crate::routes::meta::not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::request_id))
        .with_state(state)
}

/// Serve the app on a bound listener until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_with(listener, state, None).await
}

/// Serve the app over TLS (see [`crate::http::tls_config`]) until the task is dropped.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    serve_with(listener, state, Some(tokio_rustls::TlsAcceptor::from(tls))).await
}

async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    // Catalogs published while serving are taken in every `catalog_poll`; a failed look (the
    // database away for a moment) is retried at the next tick. Once an hour, abandoned blob
    // uploads are swept.
    let watcher = state.clone();
    let poll = tokio::spawn(async move {
        const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
        let mut swept_at: Option<tokio::time::Instant> = None;
        let every = watcher.inner.limits.catalog_poll;
        // The first look one period after start (the state was built with the current list).
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = watcher.refresh_catalogs().await {
                tracing::warn!(error = %e, "catalog refresh failed; retried at the next tick");
            }
            if let Err(e) = watcher.refresh_calendar().await {
                tracing::warn!(error = %e, "calendar refresh failed; retried at the next tick");
            }
            if swept_at.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
                match watcher.sweep_uploads().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(uploads = n, "abandoned blob uploads swept"),
                    Err(e) => tracing::warn!(error = %e, "blob upload sweep failed; tried again in an hour"),
                }
                swept_at = Some(tokio::time::Instant::now());
            }
        }
    });
    let limits = state.limits();
    let served = crate::http::conn::serve_connections(listener, app(state), limits, tls).await;
    poll.abort();
    served
}

#[cfg(test)]
mod tests {
    use super::Limited;

    #[test]
    fn rate_limits_keep_their_namespaces_apart() {
        // A device enrolled under the id `login:ann` must not share (and refill) ann's login
        // allowance, nor an account's.
        assert_ne!(Limited::Device("login:ann").key(), Limited::Login("ann").key());
        assert_ne!(Limited::Device("account:ann").key(), Limited::Account("ann").key());
        assert_ne!(Limited::Login("x").key(), Limited::Account("x").key());
        assert_ne!(Limited::Device("enrollment").key(), Limited::Enrollment.key());
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_and_an_ipv4_one_as_itself() {
        let a: std::net::IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: std::net::IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Limited::Address(a).key(), Limited::Address(b).key());
        assert_ne!(Limited::Address(a).key(), Limited::Address(c).key());
        let (d, e): (std::net::IpAddr, std::net::IpAddr) =
            ("10.0.0.1".parse().expect("ip"), "10.0.0.2".parse().expect("ip"));
        assert_ne!(Limited::Address(d).key(), Limited::Address(e).key());
    }
}
