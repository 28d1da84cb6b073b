//! The web console's files: `console.html` at `/console/` and its hashed assets under
//! `/console/assets/`, from a built `ui/dist`. The page talks to `/api/v1` on the same origin (no
//! cross-origin requests), and is served with a content security policy that allows nothing from
//! elsewhere: no CDN, no web fonts, no map tiles.

use std::path::Path;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Redirect;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;

/// What the console's page may load and connect to: its own origin only (images also as data
/// URLs: the enrollment QR code).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The console's routes over a built `ui/dist`.
pub fn routes(dist: &Path) -> Router<AppState> {
    let page = Router::new()
        .route_service("/console/", ServeFile::new(dist.join("console.html")))
        .layer(SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    // Assets are named by their content hash: cached for good.
    let assets = Router::new().nest_service("/console/assets", ServeDir::new(dist.join("assets"))).layer(
        SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
    );
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/", get(|| async { Redirect::temporary("/console/") }))
        .merge(page)
        .merge(assets)
        .layer(SetResponseHeaderLayer::overriding(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}

/// Whether a directory holds a built console.
pub fn is_built(dist: &Path) -> Result<(), String> {
    if dist.join("console.html").is_file() && dist.join("assets").is_dir() {
        Ok(())
    } else {
        Err(format!("{} holds no built console (console.html and assets/): run `make ui`", dist.display()))
    }
}
