//! What the app reads from its environment: where its data lives (a test or a demo points it at
//! a directory of its own, so it never touches a real install) and the server address to offer.

use std::path::PathBuf;

/// The app's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (the store and its key file).
    pub data_dir: PathBuf,
    /// The server address first run offers (`BEIBAO_SERVER_URL`), if any.
    pub server_url: Option<String>,
    /// A fixed position reported as the GPS fix (`BEIBAO_FAKE_FIX=lat,lon,accuracy_m`): the desktop
    /// and the tests have no GPS. Without it (and without a platform provider) there is no fix
    /// and the officer places a pin by hand.
    pub fake_fix: Option<FakeFix>,
    /// Lock after this many idle seconds whatever the officer chose (`BEIBAO_LOCK_AFTER_SECONDS`).
    pub lock_after_seconds: Option<u32>,
    /// Seconds between background sync passes while unlocked (`BEIBAO_SYNC_INTERVAL_SECONDS`,
    /// default 120). A pass also starts at unlock, when the platform says the network is back,
    /// and on "sync now".
    pub sync_interval_seconds: u64,
}

/// The background sync interval when none is configured.
pub const SYNC_INTERVAL_SECONDS: u64 = 120;

fn parsed<T: std::str::FromStr>(name: &str) -> std::io::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(s) => s.trim().parse().map(Some).map_err(|e| std::io::Error::other(format!("{name} `{s}`: {e}"))),
        Err(_) => Ok(None),
    }
}

/// A fixed position: latitude, longitude, accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FakeFix {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Accuracy (metres).
    pub accuracy_m: f64,
}

impl std::str::FromStr for FakeFix {
    type Err = String;

    fn from_str(s: &str) -> Result<FakeFix, String> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("BEIBAO_FAKE_FIX `{s}`: {e}"))?;
        match parts[..] {
            [lat, lon, accuracy_m] => Ok(FakeFix { lat, lon, accuracy_m }),
            _ => Err(format!("BEIBAO_FAKE_FIX `{s}`: expected lat,lon,accuracy_m")),
        }
    }
}

impl Config {
    /// From the environment: `BEIBAO_DATA_DIR` (else the platform's app data dir),
    /// `BEIBAO_SERVER_URL`, `BEIBAO_FAKE_FIX`, `BEIBAO_LOCK_AFTER_SECONDS`,
    /// `BEIBAO_SYNC_INTERVAL_SECONDS`.
    pub fn from_env(default_dir: PathBuf) -> std::io::Result<Config> {
        let data_dir = std::env::var_os("BEIBAO_DATA_DIR").map(PathBuf::from).unwrap_or(default_dir);
        std::fs::create_dir_all(&data_dir)?;
        let server_url = std::env::var("BEIBAO_SERVER_URL").ok().filter(|s| !s.trim().is_empty());
        let fake_fix = match std::env::var("BEIBAO_FAKE_FIX") {
            Ok(s) => Some(s.parse().map_err(std::io::Error::other)?),
            Err(_) => None,
        };
        let lock_after_seconds = parsed("BEIBAO_LOCK_AFTER_SECONDS")?;
        let sync_interval_seconds =
            parsed::<u64>("BEIBAO_SYNC_INTERVAL_SECONDS")?.unwrap_or(SYNC_INTERVAL_SECONDS).max(1);
        Ok(Config { data_dir, server_url, fake_fix, lock_after_seconds, sync_interval_seconds })
    }

    /// The store's path.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("beibao.db")
    }
}
