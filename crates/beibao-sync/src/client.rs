//! The HTTP client of the protocol: one method per endpoint, zstd bodies both ways, and a strict
//! reading of answers — a 2xx that is not our JSON (a captive portal's page) is not an ack.

use beibao_core::code::Code;
use std::time::Duration;

use chrono::{DateTime, Utc};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::trust::Trust;
use crate::wire::{
    self, API_PREFIX, BlobStatus, ChallengeRequest, ChallengeResponse, EnrollCheckRequest, EnrollCheckResponse,
    EnrollRequest, EnrollResponse, ErrorBody, LastSeqResponse, MAX_JSON_BYTES, PullResponse, PushRequest,
    PushRequestV2, PushResponse, PushResponseV2, TokenRequest, TokenResponse,
};

/// Why a sync step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The link failed: refused, reset, timed out. Retry with backoff.
    #[error("link: {0}")]
    Transport(String),
    /// An answer that is not the server's (a captive portal, a proxy page, a mismatched echo).
    #[error("not an answer from the sync server: {0}")]
    NotOurServer(String),
    /// The server refused with its error shape.
    #[error("server {status}: {} ({})", body.message, body.code)]
    Server {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: ErrorBody,
    },
    /// The receipt does not verify: nothing is marked delivered.
    #[error("receipt: {0}")]
    Receipt(String),
    /// The tablet's store failed, with the store's own code.
    #[error("tablet: {0}")]
    Local(LocalError),
    /// The tablet is not enrolled.
    #[error("this tablet is not enrolled")]
    NotEnrolled,
    /// The device was revoked; its key material has been wiped.
    #[error("this device was revoked; its keys were wiped")]
    Revoked,
    /// The pass took longer than the watchdog allows.
    #[error("sync stalled for {0:?}; restarted")]
    Stalled(Duration),
    /// The https server is not trusted: its certificate is not the bureau's, or not the one
    /// pinned at enrollment (a captive portal, a man in the middle, a misconfigured proxy).
    #[error("the server is not trusted: {0}")]
    Untrusted(String),
}

impl SyncError {
    /// Stable code.
    pub fn code(&self) -> Code {
        match self {
            SyncError::Transport(_) => Code::Link,
            SyncError::NotOurServer(_) => Code::NotOurServer,
            SyncError::Server { body, .. } => body.code,
            SyncError::Receipt(_) => Code::BadReceipt,
            SyncError::Local(e) => e.code,
            SyncError::NotEnrolled => Code::NotEnrolled,
            SyncError::Revoked => Code::Revoked,
            SyncError::Stalled(_) => Code::Stalled,
            SyncError::Untrusted(_) => Code::ServerUntrusted,
        }
    }

    /// Worth retrying after a pause.
    pub fn is_retryable(&self) -> bool {
        match self {
            // Untrusted: a captive portal intercepting https passes; retried with backoff.
            SyncError::Transport(_)
            | SyncError::NotOurServer(_)
            | SyncError::Receipt(_)
            | SyncError::Stalled(_)
            | SyncError::Untrusted(_) => true,
            SyncError::Server { status, .. } => *status >= 500 || matches!(*status, 408 | 409 | 429 | 401),
            SyncError::Local(_) | SyncError::NotEnrolled | SyncError::Revoked => false,
        }
    }
}

/// A failure of the tablet's side of sync (its store), with the store's stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocalError {
    /// The store's code (`store_sqlite`, `store_corrupt`, …).
    pub code: Code,
    /// What failed.
    pub message: String,
}

impl LocalError {
    /// A local failure with its code.
    pub fn new(code: Code, message: impl Into<String>) -> LocalError {
        LocalError { code, message: message.into() }
    }
}

fn transport(e: reqwest::Error) -> SyncError {
    // A refused certificate is told apart from a link that failed.
    match refused_certificate(&e) {
        Some(tls) => SyncError::Untrusted(tls.to_string()),
        None => SyncError::Transport(format!("{e}{}", chain(&e))),
    }
}

/// The certificate refusal under an error, if that is what it is. rustls's error travels inside
/// io::Errors, whose `source` skips what they wrap: each is looked into.
fn refused_certificate<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::General(_)).then_some(tls);
    }
    if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        return refused_certificate(inner);
    }
    err.source().and_then(refused_certificate)
}

/// The causes under an error, `: a: b` (reqwest's own message is only its top line).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut source = e.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// The `Date` of the server's last successful answer (its clock, to the second).
    server_date: std::sync::Arc<std::sync::Mutex<Option<DateTime<Utc>>>>,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8440`); every request gives up
    /// after `timeout` (the stall watchdog of a single request). An `https://` server needs
    /// [`Client::with_trust`].
    pub fn new(base: &str, timeout: Duration) -> Result<Client, SyncError> {
        Client::with_trust(base, timeout, &Trust::default())
    }

    /// A client of the server at `base` that trusts an https server only by `trust` (the
    /// bureau's CA, the pinned certificate: see [`crate::trust`]); no built-in roots.
    pub fn with_trust(base: &str, timeout: Duration, trust: &Trust) -> Result<Client, SyncError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(1)
            .tls_built_in_root_certs(false)
            .https_only(false);
        let base = base.trim_end_matches('/').to_owned();
        // Always a configuration of our own (reqwest would otherwise look for a process-wide
        // crypto provider): for plain http one that trusts nothing, should anything redirect.
        let tls = if base.starts_with("https://") {
            trust.client_config().map_err(SyncError::Untrusted)?
        } else {
            crate::trust::trusting_nothing().map_err(SyncError::Untrusted)?
        };
        builder = builder.use_preconfigured_tls(tls);
        let http = builder.build().map_err(transport)?;
        Ok(Client { base, http, token: None, server_date: Default::default() })
    }

    /// The server's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Whether a token is held.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The bearer token held, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Use a token obtained elsewhere (by another client of the same device).
    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    /// Forget the token (after a 401).
    pub fn drop_token(&mut self) {
        self.token = None;
    }

    /// The server's clock as its last successful answer gave it (HTTP `Date`): what the tablet
    /// measures its own clock against.
    pub fn server_date(&self) -> Option<DateTime<Utc>> {
        *self.server_date.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, SyncError> {
        Ok(self.send_with_headers(req).await?.0)
    }

    /// [`Client::send`], with the answer's headers.
    async fn send_with_headers<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(T, reqwest::header::HeaderMap), SyncError> {
        let req = match &self.token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        };
        let resp = req.header("accept-encoding", "zstd").send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .map(|d| d.with_timezone(&Utc));
        let zstd = resp.headers().get(CONTENT_ENCODING).is_some_and(|v| v == "zstd");
        let json = resp
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.to_str().is_ok_and(|s| s.starts_with("application/json")));
        let body = resp.bytes().await.map_err(transport)?;
        let body = if zstd {
            wire::decompress(&body, MAX_JSON_BYTES).map_err(SyncError::NotOurServer)?
        } else {
            body.to_vec()
        };
        if status.is_success() {
            if !json {
                return Err(SyncError::NotOurServer(format!("{status} without a JSON body")));
            }
            let answer =
                serde_json::from_slice(&body).map_err(|e| SyncError::NotOurServer(format!("{status}: {e}")))?;
            // Only our server's answers (not a portal's) say what time it is.
            if let Some(date) = date {
                *self.server_date.lock().unwrap_or_else(|p| p.into_inner()) = Some(date);
            }
            return Ok((answer, headers));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(body) => Err(SyncError::Server { status: status.as_u16(), body }),
            Err(_) if status == StatusCode::BAD_GATEWAY || status.is_server_error() => {
                Err(SyncError::Transport(format!("{status} from something in between")))
            }
            Err(_) => Err(SyncError::NotOurServer(format!("{status} without the error shape"))),
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, SyncError> {
        let req = self
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(CONTENT_ENCODING, HeaderValue::from_static("zstd"))
            .body(wire::encode(body));
        self.send(req).await
    }

    /// Enroll with a one-time code.
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, SyncError> {
        self.post("/devices/enroll", req).await
    }

    /// Whom an enrollment code is for (the code stays unused).
    pub async fn enroll_check(&self, req: &EnrollCheckRequest) -> Result<EnrollCheckResponse, SyncError> {
        self.post("/devices/enroll/check", req).await
    }

    /// Obtain a token by signing a fresh challenge with the device key.
    pub async fn authenticate(&mut self, device_id: &str, key: &ed25519_dalek::SigningKey) -> Result<(), SyncError> {
        let ch: ChallengeResponse =
            self.post("/auth/challenge", &ChallengeRequest { device_id: device_id.to_owned() }).await?;
        let signature = wire::sign_hex(key, &wire::auth_message(device_id, &ch.challenge));
        let tok: TokenResponse = self
            .post("/auth/token", &TokenRequest { device_id: device_id.to_owned(), challenge: ch.challenge, signature })
            .await?;
        self.token = Some(tok.token);
        Ok(())
    }

    /// The server's last seq for the authenticated device.
    pub async fn last_seq(&self) -> Result<LastSeqResponse, SyncError> {
        self.send(self.http.get(self.url("/sync/last-seq"))).await
    }

    /// The server's last seq for the authenticated device, and whether the server speaks
    /// protocol v2 (its answer names it in [`wire::PROTOCOLS_HEADER`]).
    pub async fn last_seq_negotiated(&self) -> Result<(LastSeqResponse, bool), SyncError> {
        let (answer, headers) = self.send_with_headers(self.http.get(self.url("/sync/last-seq"))).await?;
        let v2 = headers.get(wire::PROTOCOLS_HEADER).and_then(|v| v.to_str().ok()).is_some_and(wire::speaks_v2);
        Ok((answer, v2))
    }

    /// Push a batch in protocol v2 (to a server that announced it).
    pub async fn push_v2(&self, batch: &PushRequestV2) -> Result<PushResponseV2, SyncError> {
        let body = wire::encode(batch);
        let sha = beibao_core::canonical::sha256_hex(&body);
        self.push_v2_body(body, &sha).await
    }

    /// Push a v2 body already encoded, named by the SHA-256 of its bytes: if the link is cut
    /// half-way, the server keeps what came and [`Client::push_v2_rest`] sends the rest.
    pub async fn push_v2_body(&self, body: Vec<u8>, sha256: &str) -> Result<PushResponseV2, SyncError> {
        let name = HeaderValue::from_str(sha256).map_err(|e| SyncError::Transport(format!("body name: {e}")))?;
        let req = self
            .http
            .post(self.url("/sync/v2/push"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(CONTENT_ENCODING, HeaderValue::from_static("zstd"))
            .header(wire::PUSH_BODY_HEADER, name)
            .body(body);
        self.send(req).await
    }

    /// The rest of a v2 body of `size` bytes that was cut: from `offset`, the bytes the server
    /// holds (as [`Client::blob_status`] of its SHA-256 says).
    pub async fn push_v2_rest(
        &self,
        sha256: &str,
        size: u64,
        offset: u64,
        rest: &[u8],
    ) -> Result<PushResponseV2, SyncError> {
        let req = self
            .http
            .put(self.url(&format!("/sync/v2/push/{sha256}?offset={offset}&size={size}")))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))
            .body(rest.to_vec());
        self.send(req).await
    }

    /// Push a batch.
    pub async fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
        self.push_encoded(wire::encode(batch)).await
    }

    /// Push a batch already encoded with [`wire::encode`] (load generators encode ahead).
    pub async fn push_encoded(&self, body: Vec<u8>) -> Result<PushResponse, SyncError> {
        let req = self
            .http
            .post(self.url("/sync/push"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(CONTENT_ENCODING, HeaderValue::from_static("zstd"))
            .body(body);
        self.send(req).await
    }

    /// A page of changes after `cursor`.
    pub async fn pull(&self, cursor: i64, limit: usize) -> Result<PullResponse, SyncError> {
        self.send(self.http.get(self.url(&format!("/sync/pull?cursor={cursor}&limit={limit}")))).await
    }

    /// What the server holds of a blob.
    pub async fn blob_status(&self, sha256: &str) -> Result<BlobStatus, SyncError> {
        self.send(self.http.get(self.url(&format!("/blobs/{sha256}")))).await
    }

    /// Upload a chunk of a blob of `total` bytes at `offset`.
    pub async fn blob_chunk(
        &self,
        sha256: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
    ) -> Result<BlobStatus, SyncError> {
        let req = self
            .http
            .put(self.url(&format!("/blobs/{sha256}?offset={offset}&size={total}")))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))
            .body(chunk.to_vec());
        self.send(req).await
    }
}
