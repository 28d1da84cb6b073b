//! The tablet's position from the platform: on Android and iOS through tauri-plugin-geolocation
//! (the platform's location service, GPS when precise location is granted), asked for the
//! permission the first time. Desktop builds have no provider (the plugin's desktop half answers
//! a made-up 0,0 position, so it is not linked there): the configured fake fix or a manual pin.
//!
//! Not built on this project's CI (no Android SDK): the first mobile build checks it.

use beibao_core::visit::GpsFix;
use tauri::plugin::PermissionState;
use tauri_plugin_geolocation::{GeolocationExt, PermissionType, PositionOptions};

/// How long the platform may take for a fix, in milliseconds (a courtyard under a sky).
const TIMEOUT_MS: u32 = 15_000;

/// A fresh fix, `Ok(None)` when the officer refused location, `Err` when the platform failed.
/// Blocking: call it off the async runtime.
pub fn platform_fix<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> Result<Option<GpsFix>, String> {
    let geo = app.geolocation();
    let granted = |s: &PermissionState| matches!(s, PermissionState::Granted);
    let status = geo.check_permissions().map_err(|e| e.to_string())?;
    if !granted(&status.location) {
        let asked = geo.request_permissions(Some(vec![PermissionType::Location])).map_err(|e| e.to_string())?;
        if !granted(&asked.location) {
            return Ok(None);
        }
    }
    let p = geo
        .get_current_position(Some(PositionOptions { enable_high_accuracy: true, timeout: TIMEOUT_MS, maximum_age: 0 }))
        .map_err(|e| e.to_string())?;
    let taken_at = i64::try_from(p.timestamp)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_else(chrono::Utc::now);
    Ok(Some(GpsFix { lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy, taken_at }))
}
