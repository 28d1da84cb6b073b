//! First run on a new tablet: ask the server whom the enrollment code is for, then make the store
//! for that officer under the PIN they set and enroll it. A refused enrollment leaves no store.

use std::path::Path;
use std::time::Duration;

use beibao_store::Store;
use beibao_store::key::{Entropy, KdfParams};
use beibao_store::registry as reg;
use beibao_store::sync::EnrollmentRow;
use beibao_sync::trust::Trust;
use beibao_sync::wire::{EnrollCheckRequest, EnrollCheckResponse};
use serde::{Deserialize, Serialize};

use crate::{Env, FieldError, Session};

/// How long a first-run request may take before the officer is told there is no signal.
const FIRST_RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the tablet app stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TabletPhase {
    /// No store: set one up (server, code, PIN).
    FirstRun,
    /// A store, locked: the PIN pad.
    Locked,
    /// Unlocked.
    Unlocked,
}

/// What the app shows before anything else: which screen, and what that screen needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TabletStatus {
    /// Which screen.
    pub phase: TabletPhase,
    /// Why the tablet is back at first run (`revoked`), if it is.
    pub reason: Option<beibao_core::code::Code>,
    /// The server address to offer at first run.
    pub server_url: Option<String>,
    /// While too many wrong PINs lock the store: when it accepts one again.
    pub lockout_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The officer, once unlocked.
    pub officer_id: Option<String>,
    /// The officer's name, badge number and station as the server named them at enrollment.
    pub officer: Option<OfficerCard>,
    /// The device, once unlocked.
    pub device_id: Option<String>,
    /// The installed catalog's version, once unlocked.
    pub catalog_version: Option<String>,
    /// This app's version.
    pub app_version: String,
    /// An idle time set by the app's configuration (tests, a managed install), which wins over the
    /// officer's lock-timeout setting; `None`: the setting (default 5 minutes).
    pub lock_after_seconds: Option<u32>,
}

/// Who the tablet is enrolled for, as the server said at enrollment (shown in the app's header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OfficerCard {
    /// Name.
    pub name: String,
    /// Badge number (警号).
    pub badge: String,
    /// Station name (zh-CN).
    pub station: String,
}

impl Session {
    fn keep_officer_card(&mut self, who: &EnrollCheckResponse) -> Result<(), FieldError> {
        self.store.write(|tx| {
            reg::set_meta(tx, "officer_name", &who.officer_name)?;
            reg::set_meta(tx, "officer_badge", &who.badge)?;
            reg::set_meta(tx, "officer_station", &who.station_name)
        })?;
        Ok(())
    }

    /// Who the tablet is enrolled for (`None` on a store made before this was kept, or by the CLI).
    pub fn officer_card(&self) -> Result<Option<OfficerCard>, FieldError> {
        let conn = self.store.conn();
        let Some(name) = reg::meta(conn, "officer_name")? else { return Ok(None) };
        Ok(Some(OfficerCard {
            name,
            badge: reg::meta(conn, "officer_badge")?.unwrap_or_default(),
            station: reg::meta(conn, "officer_station")?.unwrap_or_default(),
        }))
    }

    /// The server the tablet is enrolled with, once it is.
    pub fn server_url(&self) -> Result<Option<String>, FieldError> {
        Ok(beibao_store::sync::enrollment(self.store.conn())?.map(|e| e.server_url))
    }
}

/// What the officer typed on the first-run screen.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct FirstRunInput {
    /// The sync server's address (`http://…` or `https://…`).
    pub server_url: String,
    /// The one-time enrollment code.
    pub code: String,
    /// The officer the server named for the code (confirmed on screen).
    pub officer_id: String,
    /// The PIN, typed twice on screen (6 digits).
    pub pin: String,
    /// For an https server: its certificate's SHA-256 fingerprint from the enrollment QR; the
    /// tablet trusts that certificate only, from the first request on.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub server_pin: Option<String>,
}

/// How the tablet trusts an https server: the pin from the QR (checked for shape), and the
/// bureau's CA when the build carries one (`BEIBAO_BUREAU_CA`, PEM, at compile time).
fn trust_for(server_pin: Option<&str>) -> Result<Trust, FieldError> {
    let pin_sha256 = match server_pin.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(beibao_sync::trust::normalize_pin(p).ok_or_else(|| {
            FieldError::invalid(beibao_core::code::Code::Invalid, "server_pin", "not a SHA-256 certificate fingerprint")
        })?),
        None => None,
    };
    let ca_pem = option_env!("BEIBAO_BUREAU_CA").map(str::to_owned);
    Ok(Trust { ca_pem, pin_sha256 })
}

/// The code as typed: spaces and dashes people put between groups are not part of it.
fn clean_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

/// The server address as typed, without a trailing slash; refused unless http(s).
fn clean_url(url: &str) -> Result<String, FieldError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(FieldError::invalid(
            beibao_core::code::Code::Invalid,
            "server_url",
            "the server address starts with http:// or https://",
        ));
    }
    Ok(url.to_owned())
}

/// Whom an enrollment code is for; the code stays unused. An https server must present the
/// pinned certificate (or one of the bureau's CA).
pub async fn check_enrollment(
    server_url: &str,
    code: &str,
    server_pin: Option<&str>,
) -> Result<EnrollCheckResponse, FieldError> {
    check_with(&clean_url(server_url)?, code, &trust_for(server_pin)?).await
}

/// [`check_enrollment`] with the trust already made (the first run keeps it for the enrollment).
async fn check_with(url: &str, code: &str, trust: &Trust) -> Result<EnrollCheckResponse, FieldError> {
    let client = beibao_sync::Client::with_trust(url, FIRST_RUN_TIMEOUT, trust)?;
    Ok(client.enroll_check(&EnrollCheckRequest { code: clean_code(code) }).await?)
}

/// Make the store for the officer at `path` under the PIN and enroll it with the code. When the
/// server refuses (or cannot be reached) the store is removed again and the error returned.
pub async fn first_run(
    path: &Path,
    input: &FirstRunInput,
    kdf: KdfParams,
    entropy: &mut (dyn Entropy + Send),
    env: Env,
) -> Result<(Session, EnrollmentRow), FieldError> {
    let url = clean_url(&input.server_url)?;
    // The server says again whom the code is for: the officer on screen must be that one, and
    // their name, badge and station are kept for the app's header.
    let trust = trust_for(input.server_pin.as_deref())?;
    let who = check_with(&url, &input.code, &trust).await?;
    if who.officer_id != input.officer_id {
        return Err(FieldError::invalid(
            beibao_core::code::Code::OfficerMismatch,
            "officer_id",
            "the enrollment code is for another officer",
        ));
    }
    let (mut session, _) = crate::init(path, &input.pin, &input.officer_id, kdf, entropy, env)?;
    let enrolled = match session.syncer() {
        Ok(mut syncer) => syncer.enroll(&url, &clean_code(&input.code), &trust).await,
        Err(e) => Err(e),
    };
    let enrolled = match enrolled {
        Ok(row) => session.keep_officer_card(&who).map(|()| row),
        Err(e) => Err(e),
    };
    match enrolled {
        Ok(row) => Ok((session, row)),
        Err(e) => {
            // Nothing was recorded in the new store: remove it, so the officer can start again.
            let _ = session.lock();
            Store::remove(path)?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_and_an_address_as_people_type_them() {
        assert_eq!(super::clean_code(" 1234-5678 9 "), "123456789");
        assert_eq!(super::clean_url(" http://10.0.0.2:8440/ ").expect("url"), "http://10.0.0.2:8440");
        assert!(super::clean_url("10.0.0.2:8440").is_err());
    }
}
