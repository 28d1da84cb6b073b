//! What a client sends and what it is sent: bodies are bounded while they are read, JSON is
//! decoded (zstd or plain) with a clear code for each way it can be wrong, and answers are
//! compressed when the client accepts zstd.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use beibao_core::code::Code;
use beibao_sync::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::app::AppState;

/// Whether the client accepts zstd answers; answers with [`Wants::reply`].
#[derive(Debug, Clone, Copy)]
pub struct Wants {
    zstd: bool,
}

impl Wants {
    /// From request headers.
    pub fn of(headers: &HeaderMap) -> Wants {
        let zstd = headers
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.split(';').next().is_some_and(|e| e.trim() == "zstd")));
        Wants { zstd }
    }

    /// A JSON answer, compressed when the client accepts zstd.
    pub fn reply<T: Serialize>(self, value: &T) -> Response {
        let mut resp = if self.zstd {
            let mut r = Response::new(Body::from(wire::encode(value)));
            r.headers_mut().insert(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
            r
        } else {
            Response::new(Body::from(serde_json::to_vec(value).unwrap_or_default()))
        };
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Wants {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Wants, Self::Rejection> {
        Ok(Wants::of(&parts.headers))
    }
}

/// A refused body is still read (and dropped) up to this much, so a client that is still sending
/// gets the 413 rather than a connection reset under its feet.
const DRAIN_MAX: usize = 64 * 1024 * 1024;

/// Bodies above this are decoded off the async workers (decompressing and parsing a large batch
/// is CPU work that would hold up every other request on the worker).
const DECODE_INLINE_MAX: usize = 64 * 1024;

/// Read a body of at most `limits.max_body` bytes (declared or sent), draining what is sent past
/// it. The body must keep up `limits.body_min_rate` bytes a second on average once
/// `limits.body_grace` has passed (a client trickling its body holds a connection for nothing):
/// 408 `body_too_slow` otherwise. A 2 MB batch at the edge of coverage (20 kbit/s) takes 80 s,
/// within the rule's 20 s + 2,000 s.
async fn read_body(body: Body, headers: &HeaderMap, limits: crate::app::Limits) -> Result<Bytes, ApiError> {
    match read_body_partial(body, headers, limits).await {
        (bytes, None) => Ok(bytes),
        (_, Some(e)) => Err(e),
    }
}

/// A body read as far as it came: its bytes, and why it stopped short if it did — a cut link
/// (`incomplete_body`) or a client below the least rate (`body_too_slow`), with the bytes that
/// came before; too large (`payload_too_large`), with none.
pub(crate) async fn read_body_partial(
    body: Body,
    headers: &HeaderMap,
    limits: crate::app::Limits,
) -> (Bytes, Option<ApiError>) {
    use http_body_util::BodyExt;
    let limit = limits.max_body;
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let mut body = body;
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    let started = tokio::time::Instant::now();
    let per_byte = 1.0 / limits.body_min_rate.max(1) as f64;
    let mut short = None;
    loop {
        let deadline = started + limits.body_grace + std::time::Duration::from_secs_f64(seen as f64 * per_byte);
        let Ok(next) = tokio::time::timeout_at(deadline, body.frame()).await else {
            short = Some(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                Code::BodyTooSlow,
                format!(
                    "the body came in below {} bytes a second ({seen} bytes in {} s); send it again",
                    limits.body_min_rate,
                    started.elapsed().as_secs()
                ),
            ));
            break;
        };
        let Some(frame) = next else { break };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                short = Some(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::IncompleteBody,
                    format!("reading the body: {e}"),
                ));
                break;
            }
        };
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen > DRAIN_MAX {
            break;
        }
        if seen <= limit && declared.is_none_or(|d| d <= limit) {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit || declared.is_some_and(|d| d > limit) {
        return (Bytes::new(), Some(ApiError::too_large(limit)));
    }
    (Bytes::from(buf), short)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Whether a `Content-Type` is `essence` (case aside), with parameters or none; a `charset`, if
/// given, must be UTF-8. `application/jsonfoo` is not `application/json`.
pub(crate) fn is_media_type(content_type: &str, essence: &str) -> bool {
    let mut parts = content_type.split(';');
    if !parts.next().is_some_and(|e| e.trim().eq_ignore_ascii_case(essence)) {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        Some(_) => true,
        None => p.trim().is_empty(),
    })
}

/// Decode a JSON body (zstd or plain) into `T`, each way of being wrong its own code.
pub(crate) fn decode_json<T: DeserializeOwned>(encoding: Option<&str>, bytes: &[u8]) -> Result<T, ApiError> {
    let inflated;
    let json: &[u8] = match encoding {
        None | Some("identity") => bytes,
        Some("zstd") => {
            inflated = wire::decompress(bytes, wire::MAX_JSON_BYTES).map_err(|e| {
                if e.contains("exceeds") {
                    ApiError::too_large(wire::MAX_JSON_BYTES)
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, Code::BadEncoding, e)
                }
            })?;
            &inflated
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedEncoding,
                format!("Content-Encoding `{other}` is not supported (use zstd)"),
            ));
        }
    };
    serde_json::from_slice(json).map_err(|e| {
        let msg = e.to_string();
        let code = if e.is_syntax() || e.is_eof() {
            Code::MalformedJson
        } else if msg.starts_with("unknown field") {
            Code::UnknownField
        } else {
            Code::InvalidBody
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, msg)
    })
}

/// A JSON body (`Content-Type: application/json`, plain or zstd), bounded by the server's body
/// limit before and after decompression. The last extractor of a handler.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Json<T>, ApiError> {
        let (parts, body) = req.into_parts();
        json_body(&parts.headers)?;
        let bytes = read_body(body, &parts.headers, state.limits()).await?;
        decode(encoding(&parts.headers), bytes).await.map(Json)
    }
}

/// Refuse a body that is not `application/json`.
pub(crate) fn json_body(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = content_type(headers);
    if !is_media_type(ct, "application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            format!("expected Content-Type application/json, got `{ct}`"),
        ));
    }
    Ok(())
}

/// The `Content-Encoding` a body declares.
pub(crate) fn encoding(headers: &HeaderMap) -> Option<String> {
    headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").to_owned())
}

/// [`decode_json`], off the async workers unless the body is small and plain.
pub(crate) async fn decode<T: DeserializeOwned + Send + 'static>(
    encoding: Option<String>,
    bytes: Bytes,
) -> Result<T, ApiError> {
    if bytes.len() <= DECODE_INLINE_MAX && encoding.is_none() {
        return decode_json(None, &bytes);
    }
    tokio::task::spawn_blocking(move || decode_json(encoding.as_deref(), &bytes))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, format!("decoder: {e}")))?
}

/// Refuse a body that is not `application/octet-stream`.
pub(crate) fn octet_stream(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = content_type(headers);
    if !is_media_type(ct, "application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            format!("expected application/octet-stream, got `{ct}`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_media_type;

    #[test]
    fn a_media_type_is_matched_whole_not_as_a_prefix() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(is_media_type(ok, "application/json"), "{ok}");
        }
        for bad in [
            "application/jsonfoo",
            "application/json-patch+json",
            "application/json; charset=gbk",
            "text/json",
            "",
            "application/json;;x",
        ] {
            assert!(!is_media_type(bad, "application/json"), "{bad}");
        }
    }
}
