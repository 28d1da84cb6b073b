//! Floods and slow clients against a real server on loopback (issue 14): a flood of logins keeps
//! the server's memory flat and answers `busy` past its queue; login attempts are limited per
//! address (password spraying) and per account, without a stranger locking out the account's
//! owner; half-sent requests, idle connections and trickled bodies are dropped; connections are
//! capped.

use std::sync::Arc;
use std::time::Duration;

use beibao_core::code::Code;
use beibao_server::admin::new_account;
use beibao_server::app::Limits;
use beibao_server::storage::Role;
use beibao_sync::wire::ErrorBody;
use beibao_tests::{Server, runtime, t0};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const PASSWORD: &str = "window-password-1";

fn start(rt: &Runtime, dir: &tempfile::TempDir, limits: Limits) -> Server {
    let storage = Arc::new(beibao_server::Sqlite::open(&dir.path().join("server.db")).expect("sqlite"));
    let server = Server::start(rt, storage, Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..limits }, 5);
    let station = beibao_tests::fixtures().registry.stations[0].code.clone();
    let a = new_account("ann", Role::Desk, Some(&station), PASSWORD).expect("account");
    rt.block_on(server.state.storage().create_account(&a, t0())).expect("create");
    server
}

/// A login attempt (from `from`, as a proxy in front would say): the status and the answer.
async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    client: Option<&str>,
    from: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut body = json!({ "username": user, "password": password });
    if let Some(c) = client {
        body["client"] = json!(c);
    }
    let mut req = http
        .post(format!("{base}/api/v1/accounts/login"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", format!("203.0.113.7, {ip}"));
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn code(v: &serde_json::Value) -> Code {
    serde_json::from_value::<ErrorBody>(v.clone()).expect("the one error shape").code
}

/// `n` logins at once for names nobody has: each answer's status and code.
fn flood(rt: &Runtime, base: &str, n: usize) -> Vec<(u16, Code)> {
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            let (http, base) = (http.clone(), base.to_owned());
            set.spawn(async move { login(&http, &base, &format!("nobody-{i}"), "guess-123456", None, None).await });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            let (status, v) = r.expect("task");
            out.push((status, code(&v)));
        }
        out
    })
}

/// The process's peak resident memory (VmHWM), MiB: each test runs in a process of its own.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb / 1024.0
}

#[test]
fn a_flood_of_logins_for_unknown_names_keeps_the_servers_memory_flat() {
    // 200 logins at once, each a name nobody has (each its own per-account allowance), from
    // one address allowed them all: every one is an Argon2id verification of 19 MiB. They used
    // to run on a thread each (4.2 GB); now two at a time in two kept buffers.
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let limits = Limits {
        login_address_burst: 1e9,
        password_slots: 2,
        password_wait: Duration::from_secs(600),
        ..Limits::default()
    };
    let server = start(&rt, &dir, limits);
    let base = server.url();
    let before = peak_rss_mib();
    let statuses = flood(&rt, &base, 200);
    let after = peak_rss_mib();
    eprintln!("login_flood: logins=200 peak_rss_before_mib={before:.0} peak_rss_after_mib={after:.0}");
    assert!(statuses.iter().all(|s| *s == (401, Code::BadCredentials)), "every one refused, none lost: {statuses:?}");
    assert!(
        after - before < 120.0,
        "the flood grew the peak by {:.0} MiB (two 19 MiB buffers expected)",
        after - before
    );
}

#[test]
fn past_the_password_queue_a_login_is_told_the_server_is_busy() {
    // One check at a time and no waiting: of 20 logins sent at once, those that find the check
    // taken are answered 503 `busy` (retryable), the others checked.
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let limits =
        Limits { login_address_burst: 1e9, password_slots: 1, password_wait: Duration::ZERO, ..Limits::default() };
    let server = start(&rt, &dir, limits);
    let base = server.url();
    let answers = flood(&rt, &base, 20);
    let busy = answers.iter().filter(|a| **a == (503, Code::Busy)).count();
    let checked = answers.iter().filter(|a| **a == (401, Code::BadCredentials)).count();
    assert_eq!(busy + checked, 20, "{answers:?}");
    assert!(busy > 0 && checked > 0, "some checked, the rest busy: {answers:?}");
}

#[test]
fn login_attempts_are_limited_per_address_and_per_account_and_the_owner_keeps_a_way_in() {
    // Behind a proxy that names the client (X-Forwarded-For, trusted here); the clock is
    // fixed, so no allowance refills during the test.
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&rt, &dir, Limits { trust_forwarded: true, ..Limits::default() });
    let base = server.url();
    rt.block_on(async {
        let http = reqwest::Client::new();
        // Ann logs in from her desk and is given a known-client token.
        let (status, v) = login(&http, &base, "ann", PASSWORD, None, Some("10.0.0.1")).await;
        assert_eq!(status, 200, "{v}");
        let token = v["client"].as_str().expect("a known-client token").to_owned();

        // Spraying one password across many names from one address: 30, then refused.
        for i in 0..30 {
            let (status, _) = login(&http, &base, &format!("user-{i}"), "Spring2026!", None, Some("10.9.9.9")).await;
            assert_eq!(status, 401, "attempt {i}");
        }
        let (status, v) = login(&http, &base, "user-99", "Spring2026!", None, Some("10.9.9.9")).await;
        assert_eq!((status, code(&v)), (429, Code::RateLimited), "the address's allowance is spent");
        // Another address is not held back by it.
        let (status, _) = login(&http, &base, "user-99", "Spring2026!", None, Some("10.9.9.10")).await;
        assert_eq!(status, 401);

        // A stranger guesses Ann's password from many addresses: her account's allowance (10, one
        // spent by her own login) runs out.
        for i in 0..9 {
            let (status, _) = login(&http, &base, "ann", "guess-123456", None, Some(&format!("10.1.0.{i}"))).await;
            assert_eq!(status, 401, "guess {i}");
        }
        let (status, v) = login(&http, &base, "ann", "guess-123456", None, Some("10.1.0.200")).await;
        assert_eq!((status, code(&v)), (429, Code::RateLimited));
        // Ann, on a browser that never logged in here, waits with the stranger…
        let (status, _) = login(&http, &base, "ann", PASSWORD, None, Some("10.0.0.2")).await;
        assert_eq!(status, 429);
        // …but on her own browser she is in: its token is an allowance of its own.
        let (status, v) = login(&http, &base, "ann", PASSWORD, Some(&token), Some("10.0.0.2")).await;
        assert_eq!(status, 200, "{v}");

        // The token is Ann's only, and cannot be made up or altered.
        let (status, _) = login(&http, &base, "user-99", PASSWORD, Some(&token), Some("10.9.9.9")).await;
        assert_eq!(status, 429, "another account's token counts for nothing");
        let mut forged = token.clone();
        let last = forged.pop().expect("a char");
        forged.push(if last == '0' { '1' } else { '0' });
        let (status, _) = login(&http, &base, "ann", PASSWORD, Some(&forged), Some("10.0.0.3")).await;
        assert_eq!(status, 429, "an altered token counts for nothing");
        let (status, _) = login(&http, &base, "ann", PASSWORD, Some("not.a.token"), Some("10.0.0.3")).await;
        assert_eq!(status, 429);
    });
}

#[test]
fn a_forwarded_address_is_not_trusted_unless_the_server_is_told_it_stands_behind_a_proxy() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&rt, &dir, Limits::default());
    let base = server.url();
    rt.block_on(async {
        let http = reqwest::Client::new();
        // Each attempt claims another address; all come from loopback, and loopback's allowance
        // is what counts.
        for i in 0..30 {
            let (status, _) =
                login(&http, &base, &format!("user-{i}"), "Spring2026!", None, Some(&format!("10.2.0.{i}"))).await;
            assert_eq!(status, 401, "attempt {i}");
        }
        let (status, _) = login(&http, &base, "user-99", "Spring2026!", None, Some("10.2.0.99")).await;
        assert_eq!(status, 429);
    });
}

/// Read until the server closes the connection (or 10 s pass: a failure). What was read.
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open: {}", String::from_utf8_lossy(&out)),
        }
    }
}

const HEALTH: &[u8] = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn half_sent_requests_idle_connections_and_trickled_bodies_are_dropped() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let limits = Limits {
        header_timeout: Duration::from_millis(300),
        max_connections: 8,
        body_grace: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start(&rt, &dir, limits);
    let addr = server.addr;
    rt.block_on(async {
        // 40 requests whose headers never end (five times the connection cap): each is
        // dropped after the header timeout, so all are served in turn and none is held.
        let mut held = Vec::new();
        for _ in 0..40 {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"POST /api/v1/accounts/login HTTP/1.1\r\nHost: x\r\nContent-Type: app").await.expect("write");
            held.push(s);
        }
        for s in &mut held {
            read_until_closed(s).await;
        }
        drop(held);

        // A keep-alive connection left idle after its answer is closed.
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(HEALTH).await.expect("write");
        let answer = read_until_closed(&mut s).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

        // A body that stops coming: 408 `body_too_slow` once the grace has passed.
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(
            b"POST /api/v1/accounts/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":",
        )
        .await
        .expect("write");
        let answer = String::from_utf8_lossy(&read_until_closed(&mut s).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"body_too_slow\""), "{answer}");

        // And the server still answers.
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(HEALTH).await.expect("write");
        assert!(read_until_closed(&mut s).await.starts_with(b"HTTP/1.1 200"));
    });
}

#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let limits = Limits { max_connections: 2, header_timeout: Duration::from_secs(60), ..Limits::default() };
    let server = start(&rt, &dir, limits);
    let addr = server.addr;
    rt.block_on(async {
        let mut first = TcpStream::connect(addr).await.expect("connect");
        // The first connection is served (so it was accepted), then held idle.
        first.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let mut buf = [0u8; 1024];
        let n = first.read(&mut buf).await.expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        let mut second = TcpStream::connect(addr).await.expect("connect");
        second.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let n = second.read(&mut buf).await.expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // Two held: a third is not taken in while they stay.
        let mut third = TcpStream::connect(addr).await.expect("connect");
        third.write_all(HEALTH).await.expect("write");
        let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
        assert!(waited.is_err(), "answered past the cap: {waited:?}");
        // One closes: the third is served.
        drop(first);
        let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
            .await
            .expect("served once a connection closed")
            .expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
        drop(second);
    });
}
