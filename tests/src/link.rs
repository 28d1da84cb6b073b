//! The link emulator: a TCP proxy between the tablet and the server. Each new connection takes the
//! next fault from a queue (then runs clean): latency and bandwidth apply to every byte; a cut
//! closes both sides after a byte offset upstream (the request never fully arrives) or downstream
//! (the server committed, the answer is lost); a captive portal answers `200 OK` with a login page
//! without reaching the server. Complete requests are recorded so a test can replay them later,
//! as a duplicated or reordered batch.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Nothing.
    #[default]
    Clean,
    /// Cut after this many bytes from the tablet.
    CutUp(usize),
    /// Cut after this many bytes from the server.
    CutDown(usize),
    /// A captive portal answers instead of the server.
    Portal,
    /// The connection is refused (closed at once).
    Refuse,
}

/// Shape of the link: one-way latency and bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Added to every chunk in each direction (half the RTT).
    pub one_way: Duration,
    /// Bytes per second (0 = unlimited).
    pub bytes_per_s: u64,
}

/// A recorded HTTP request (exact bytes).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Request line, e.g. `POST /api/v1/sync/push HTTP/1.1`.
    pub line: String,
    /// The raw bytes (head and body).
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
struct Shared {
    faults: VecDeque<Fault>,
    shape: Shape,
    upstream: Option<SocketAddr>,
    recorded: Vec<Recorded>,
    connections: u64,
    bytes_up: u64,
    bytes_down: u64,
    /// Drop the connection every this many bytes downstream+upstream (a flaky link); 0 = never.
    drop_every: u64,
}

/// The proxy.
#[derive(Debug, Clone)]
pub struct Link {
    /// Where the tablet connects.
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

const PORTAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 52\r\nConnection: close\r\n\r\n<html><body>Please log in to Wi-Fi first</body></html>";

impl Link {
    /// Start a proxy to `upstream`.
    pub fn start(rt: &Runtime, upstream: SocketAddr) -> Link {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared { upstream: Some(upstream), ..Shared::default() }));
        let s = shared.clone();
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { handle(client, s).await });
            }
        });
        Link { addr, shared }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        f(&mut self.shared.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue faults for the next connections.
    pub fn faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.faults.extend(faults));
    }

    /// Faults not yet used.
    pub fn faults_left(&self) -> usize {
        self.with(|s| s.faults.len())
    }

    /// Set latency and bandwidth.
    pub fn shape(&self, shape: Shape) {
        self.with(|s| s.shape = shape);
    }

    /// Cut every connection once this many bytes crossed it (0 = never).
    pub fn drop_every(&self, bytes: u64) {
        self.with(|s| s.drop_every = bytes);
    }

    /// Point at another server (after a restart).
    pub fn upstream(&self, addr: SocketAddr) {
        self.with(|s| s.upstream = Some(addr));
    }

    /// Requests recorded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.with(|s| s.recorded.clone())
    }

    /// (connections, bytes up, bytes down) so far.
    pub fn counters(&self) -> (u64, u64, u64) {
        self.with(|s| (s.connections, s.bytes_up, s.bytes_down))
    }

    /// Send a recorded request again, straight to the server; returns the status code.
    pub fn replay(&self, rt: &Runtime, req: &Recorded) -> u16 {
        let upstream = self.with(|s| s.upstream).expect("upstream");
        let bytes = req.bytes.clone();
        rt.block_on(async move {
            let Ok(mut conn) = TcpStream::connect(upstream).await else { return 0 };
            if conn.write_all(&bytes).await.is_err() {
                return 0;
            }
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return 0,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            String::from_utf8_lossy(&head).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
        })
    }
}

async fn handle(mut client: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (fault, shape, upstream, drop_every) = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        s.connections += 1;
        (s.faults.pop_front().unwrap_or_default(), s.shape, s.upstream, s.drop_every)
    };
    match fault {
        Fault::Refuse => return,
        Fault::Portal => {
            let mut buf = [0u8; 4096];
            let _ = client.read(&mut buf).await;
            let _ = client.write_all(PORTAL).await;
            return;
        }
        _ => {}
    }
    let Some(upstream) = upstream else { return };
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up_limit = match fault {
        Fault::CutUp(n) => Some(n),
        _ => None,
    };
    let down_limit = match fault {
        Fault::CutDown(n) => Some(n),
        _ => None,
    };
    let crossed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let up = pump(cr, sw, shape, up_limit, shared.clone(), true, drop_every, crossed.clone());
    let down = pump(sr, cw, shape, down_limit, shared, false, drop_every, crossed);
    // Either direction ending (cut, close) ends the connection.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shape: Shape,
    limit: Option<usize>,
    shared: Arc<Mutex<Shared>>,
    upstream: bool,
    drop_every: u64,
    crossed: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent = 0usize;
    let mut parser = RequestParser::default();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                if upstream {
                    // Keep waiting for the answer after the tablet half-closes.
                    std::future::pending::<()>().await;
                }
                return;
            }
            Ok(n) => n,
        };
        let mut chunk = &buf[..n];
        let mut cut = false;
        if let Some(limit) = limit
            && sent + chunk.len() >= limit
        {
            chunk = &chunk[..limit.saturating_sub(sent)];
            cut = true;
        }
        if drop_every > 0 {
            let before = crossed.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
            if (before + chunk.len() as u64) / drop_every > before / drop_every {
                cut = true;
            }
        }
        // Pace in slices so a slow link delivers a long body progressively.
        for piece in chunk.chunks(1460) {
            let mut wait = shape.one_way;
            if shape.bytes_per_s > 0 {
                wait += Duration::from_micros(piece.len() as u64 * 1_000_000 / shape.bytes_per_s);
            }
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if to.write_all(piece).await.is_err() {
                return;
            }
        }
        sent += chunk.len();
        {
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            if upstream {
                s.bytes_up += chunk.len() as u64;
                for r in parser.feed(chunk) {
                    s.recorded.push(r);
                }
            } else {
                s.bytes_down += chunk.len() as u64;
            }
        }
        if cut {
            let _ = to.shutdown().await;
            return;
        }
    }
}

/// Splits an HTTP/1.1 request stream into complete requests (Content-Length bodies).
#[derive(Debug, Default)]
struct RequestParser {
    buf: Vec<u8>,
}

impl RequestParser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<Recorded> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else { break };
            let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + len;
            if self.buf.len() < total {
                break;
            }
            let bytes: Vec<u8> = self.buf.drain(..total).collect();
            out.push(Recorded { line: head.lines().next().unwrap_or("").to_owned(), bytes });
        }
        out
    }
}
