//! A request id for every request: taken from the client's `x-request-id` when it is a sane
//! token (so a tablet's log and the server's can be matched), made otherwise, sent back in the
//! answer, and carried by every log line written while the request is served (a `tracing` span).
//! Every answer also carries the server's clock as its `Date` ([`server_date`]).

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::app::AppState;

/// The header that carries the id.
pub const REQUEST_ID: &str = "x-request-id";

fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The middleware: a span `request{id, method, path, caller}` around the handler, one line when
/// the answer leaves (status, milliseconds).
pub async fn request_id(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(id) if sane(id) => id.to_owned(),
        _ => state.random_hex(8),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        caller = tracing::field::Empty
    );
    let started = std::time::Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "answered");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    server_date(&state, &mut resp);
    resp
}

/// The answer's `Date` is the server's clock, the one it judges records by (hyper would write
/// the system's, which an injected clock does not move): tablets measure their own clocks
/// against it. Set in the outermost middleware, so every answer has it.
fn server_date(state: &AppState, resp: &mut Response) {
    let date = state.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(axum::http::header::DATE, v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_short_plain_ids_are_taken_from_the_client() {
        assert!(super::sane("0193-abc_DEF"));
        assert!(!super::sane(""));
        assert!(!super::sane("a b"));
        assert!(!super::sane("x\ny"));
        assert!(!super::sane(&"a".repeat(65)));
    }
}
