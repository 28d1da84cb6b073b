//! The link emulator: a TCP proxy between the tablet and the server. Each new connection takes the
//! next fault from a queue (then runs clean): latency and bandwidth apply to every byte; a cut
//! closes both sides after a byte offset upstream (the request never fully arrives) or downstream
//! (the server committed, the answer is lost); a captive portal answers `200 OK` with a login page
//! without reaching the server. Complete requests are recorded so a test can replay them later,
//! as a duplicated or reordered batch.
//!
//! [`Link::balanced`] is a load balancer in front of several servers instead: each request goes
//! to the next server in turn (a tablet's kept-alive connection is moved to the next one between
//! requests), with the same faults per connection.

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
    /// Bytes the server sent back after it (its answer, as long as the tablet makes one request
    /// at a time, as the sync engine does).
    pub answer_bytes: u64,
}

#[derive(Debug, Default)]
struct Shared {
    faults: VecDeque<Fault>,
    shape: Shape,
    upstream: Option<SocketAddr>,
    /// Balanced: the servers requests go to in turn, and how many went so far.
    pool: Vec<Option<SocketAddr>>,
    turn: usize,
    served: Vec<u64>,
    recorded: Vec<Recorded>,
    connections: u64,
    bytes_up: u64,
    bytes_down: u64,
    /// Bytes the link delivered to the server (those it had taken from the tablet but not yet
    /// delivered when a cut came are lost on the way, as on a radio link).
    delivered_up: u64,
}

/// The proxy.
#[derive(Debug, Clone)]
pub struct Link {
    /// Where the tablet connects.
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    /// Bumped to cut every open connection at once (a flaky link).
    epoch: Arc<tokio::sync::watch::Sender<u64>>,
}

const PORTAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 52\r\nConnection: close\r\n\r\n<html><body>Please log in to Wi-Fi first</body></html>";

impl Link {
    /// Start a proxy to `upstream`.
    pub fn start(rt: &Runtime, upstream: SocketAddr) -> Link {
        Link::listen(rt, Shared { upstream: Some(upstream), ..Shared::default() }, false)
    }

    /// A load balancer: each request to the next of `servers` in turn (one that is down, see
    /// [`Link::pool_member`], is skipped). Latency and bandwidth shaping do not apply.
    pub fn balanced(rt: &Runtime, servers: &[SocketAddr]) -> Link {
        let pool = servers.iter().copied().map(Some).collect();
        let served = vec![0; servers.len()];
        Link::listen(rt, Shared { upstream: servers.first().copied(), pool, served, ..Shared::default() }, true)
    }

    fn listen(rt: &Runtime, shared: Shared, balanced: bool) -> Link {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(shared));
        let (epoch, _) = tokio::sync::watch::channel(0u64);
        let epoch = Arc::new(epoch);
        let (s, e) = (shared.clone(), epoch.clone());
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (s, cut) = (s.clone(), e.subscribe());
                if balanced {
                    tokio::spawn(async move { balance(client, s, cut).await });
                } else {
                    tokio::spawn(async move { handle(client, s, cut).await });
                }
            }
        });
        Link { addr, shared, epoch }
    }

    /// Balanced: set server `i` of the pool (`None` while it is down: skipped).
    pub fn pool_member(&self, i: usize, addr: Option<SocketAddr>) {
        self.with(|s| s.pool[i] = addr);
    }

    /// Balanced: how many requests each server of the pool was sent.
    pub fn served(&self) -> Vec<u64> {
        self.with(|s| s.served.clone())
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

    /// Cut every open connection now.
    pub fn cut_all(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Cut every open connection every `period`, the first time after `first` (runs on `rt`
    /// until the runtime ends).
    pub fn drop_every(&self, rt: &Runtime, first: Duration, period: Duration) {
        let epoch = self.epoch.clone();
        rt.spawn(async move {
            tokio::time::sleep(first).await;
            loop {
                epoch.send_modify(|e| *e += 1);
                tokio::time::sleep(period).await;
            }
        });
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

    /// Bytes delivered to the server so far (see [`Link::counters`] for those taken from the
    /// tablet).
    pub fn delivered_up(&self) -> u64 {
        self.with(|s| s.delivered_up)
    }

    /// Send a recorded request again, straight to the server; returns the status code.
    pub fn replay(&self, rt: &Runtime, req: &Recorded) -> u16 {
        // Balanced: to the server whose turn it is.
        let upstream = self
            .with(|s| {
                let live: Vec<SocketAddr> = s.pool.iter().flatten().copied().collect();
                if live.is_empty() { s.upstream } else { Some(live[s.turn % live.len()]) }
            })
            .expect("upstream");
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

/// A new connection: counted and given the next fault; a refusal or a captive portal is
/// answered here (`None`: the connection is done).
async fn admit(
    client: &mut TcpStream,
    shared: &Mutex<Shared>,
    cut: &mut tokio::sync::watch::Receiver<u64>,
) -> Option<(Fault, Shape, Option<SocketAddr>)> {
    let (fault, shape, upstream) = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        s.connections += 1;
        (s.faults.pop_front().unwrap_or_default(), s.shape, s.upstream)
    };
    cut.mark_unchanged();
    match fault {
        Fault::Refuse => None,
        Fault::Portal => {
            let mut buf = [0u8; 4096];
            let _ = client.read(&mut buf).await;
            let _ = client.write_all(PORTAL).await;
            None
        }
        _ => Some((fault, shape, upstream)),
    }
}

async fn handle(mut client: TcpStream, shared: Arc<Mutex<Shared>>, mut cut: tokio::sync::watch::Receiver<u64>) {
    let Some((fault, shape, upstream)) = admit(&mut client, &shared, &mut cut).await else { return };
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
    let up = pump(cr, sw, shape, up_limit, shared.clone(), true);
    let down = pump(sr, cw, shape, down_limit, shared, false);
    // Either direction ending (cut, close) ends the connection; so does a cut of the whole link.
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut.changed() => {}
    }
}

/// A balanced connection: read one whole request from the tablet, send it to the next server
/// of the pool, relay that server's answer until the tablet sends its next request (HTTP/1.1
/// without pipelining: the answer is complete by then), and so on. A cut counts bytes over the
/// whole connection, as in [`handle`].
async fn balance(mut client: TcpStream, shared: Arc<Mutex<Shared>>, mut cut: tokio::sync::watch::Receiver<u64>) {
    let Some((fault, _, _)) = admit(&mut client, &shared, &mut cut).await else { return };
    let _ = client.set_nodelay(true);
    let (mut up_left, mut down_left) = match fault {
        Fault::CutUp(n) => (n, usize::MAX),
        Fault::CutDown(n) => (usize::MAX, n),
        _ => (usize::MAX, usize::MAX),
    };
    let mut parser = RequestParser::default();
    let mut waiting: VecDeque<Recorded> = VecDeque::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // One whole request from the tablet.
        while waiting.is_empty() {
            let n = tokio::select! {
                r = client.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
                _ = cut.changed() => return,
            };
            waiting.extend(parser.feed(&buf[..n]));
        }
        let Some(request) = waiting.pop_front() else { return };
        let server = {
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            s.bytes_up += request.bytes.len() as u64;
            s.recorded.push(request.clone());
            let live: Vec<usize> = (0..s.pool.len()).filter(|&i| s.pool[i].is_some()).collect();
            let pick = (!live.is_empty()).then(|| live[s.turn % live.len()]);
            s.turn += 1;
            pick.and_then(|i| {
                s.served[i] += 1;
                s.pool[i]
            })
        };
        let Some(server) = server else { return };
        let Ok(mut server) = TcpStream::connect(server).await else { return };
        let _ = server.set_nodelay(true);
        if request.bytes.len() >= up_left {
            let _ = server.write_all(&request.bytes[..up_left]).await;
            return;
        }
        up_left -= request.bytes.len();
        if server.write_all(&request.bytes).await.is_err() {
            return;
        }
        shared.lock().unwrap_or_else(|p| p.into_inner()).delivered_up += request.bytes.len() as u64;
        // The answer, until the server closes or the tablet starts its next request.
        let mut answer = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                r = server.read(&mut answer) => {
                    let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                    let give = n.min(down_left);
                    if client.write_all(&answer[..give]).await.is_err() {
                        return;
                    }
                    let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
                    s.bytes_down += give as u64;
                    if let Some(last) = s.recorded.last_mut() {
                        last.answer_bytes += give as u64;
                    }
                    drop(s);
                    down_left -= give;
                    if down_left == 0 {
                        return;
                    }
                }
                r = client.read(&mut buf) => {
                    let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                            waiting.extend(parser.feed(&buf[..n]));
                    break;
                }
                _ = cut.changed() => return,
            }
        }
    }
}

/// One direction of a connection. The reader stamps each slice with the time it would arrive —
/// after the slices before it have been serialized at the link's bandwidth, plus the one-way
/// latency — and the writer delivers it then: latency delays bytes, bandwidth spaces them.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shape: Shape,
    limit: Option<usize>,
    shared: Arc<Mutex<Shared>>,
    upstream: bool,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>, bool)>();
    let delivered = shared.clone();
    let writer = async move {
        while let Some((at, bytes, last)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
            if upstream {
                delivered.lock().unwrap_or_else(|p| p.into_inner()).delivered_up += bytes.len() as u64;
            }
            if last {
                let _ = to.shutdown().await;
                return;
            }
        }
    };
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut sent = 0usize;
        let mut parser = RequestParser::default();
        let mut wire_free = tokio::time::Instant::now();
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
            let pieces: Vec<&[u8]> = if chunk.is_empty() { vec![chunk] } else { chunk.chunks(1460).collect() };
            let count = pieces.len();
            for (i, piece) in pieces.into_iter().enumerate() {
                let now = tokio::time::Instant::now();
                let serialize = (piece.len() as u64 * 1_000_000).checked_div(shape.bytes_per_s).unwrap_or(0);
                wire_free = wire_free.max(now) + Duration::from_micros(serialize);
                let last = cut && i + 1 == count;
                if tx.send((wire_free + shape.one_way, piece.to_vec(), last)).is_err() {
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
                    if let Some(last) = s.recorded.last_mut() {
                        last.answer_bytes += chunk.len() as u64;
                    }
                }
            }
            if cut {
                // Hold the connection until the writer has delivered the cut.
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
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
        while let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
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
            out.push(Recorded { line: head.lines().next().unwrap_or("").to_owned(), bytes, answer_bytes: 0 });
        }
        out
    }
}
