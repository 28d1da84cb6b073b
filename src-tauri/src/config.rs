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
}

impl Config {
    /// From the environment: `BEIBAO_DATA_DIR` (else the platform's app data dir),
    /// `BEIBAO_SERVER_URL`.
    pub fn from_env(default_dir: PathBuf) -> std::io::Result<Config> {
        let data_dir = std::env::var_os("BEIBAO_DATA_DIR").map(PathBuf::from).unwrap_or(default_dir);
        std::fs::create_dir_all(&data_dir)?;
        let server_url = std::env::var("BEIBAO_SERVER_URL").ok().filter(|s| !s.trim().is_empty());
        Ok(Config { data_dir, server_url })
    }

    /// The store's path.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("beibao.db")
    }
}
