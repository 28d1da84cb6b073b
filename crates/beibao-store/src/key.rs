//! The database key and its PIN wrapping.
//!
//! The SQLCipher key is 32 random bytes. It never touches the disk in the clear: a key-encryption
//! key is derived from the officer's PIN with Argon2id and wraps it with ChaCha20-Poly1305; the
//! wrapped key, salt, parameters and the lockout state live in `<db>.key` beside the database. A
//! wrong PIN fails the AEAD tag check, so it never opens (or touches) the database. Every attempt is
//! counted on disk *before* the PIN is checked, so killing the app does not reset the count; five
//! wrong PINs in a row lock the store for a delay that doubles with each further failure.

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Bytes of the database key.
pub const KEY_LEN: usize = 32;
/// Wrong PINs allowed before the first lockout.
pub const FREE_ATTEMPTS: u32 = 5;
/// The first lockout; each further wrong PIN doubles it.
pub const FIRST_LOCKOUT: Duration = Duration::seconds(60);
/// The longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::hours(24);
const AAD: &[u8] = b"beibao-store-key-v1";

/// A source of random bytes (the OS in production, a seeded generator in tests).
pub trait Entropy {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        // The OS generator failing is not recoverable: no key may be made from anything weaker.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 passes, 1 lane): about 0.1 s on a tablet.
    pub const RECOMMENDED: KdfParams = KdfParams { m_kib: 19_456, t: 2, p: 1 };
    /// The cheapest legal setting, for tests only: the wrapping is the same, the cost is not.
    pub const TEST_ONLY: KdfParams = KdfParams { m_kib: 64, t: 1, p: 1 };
}

/// The database key in memory, zeroed on drop.
pub struct DbKey(pub(crate) [u8; KEY_LEN]);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

impl Drop for DbKey {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.0);
    }
}

impl DbKey {
    /// SQLCipher's raw-key literal: `x'…'` (skips SQLCipher's own PBKDF2: the key is already random).
    pub(crate) fn pragma_literal(&self) -> String {
        format!("\"x'{}'\"", hex(&self.0))
    }
}

/// `<db>.key`: what it takes to unwrap the key, and the lockout state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// File format.
    pub format: u32,
    /// Argon2id parameters.
    pub kdf: KdfParams,
    /// Argon2id salt (hex).
    pub salt: String,
    /// AEAD nonce (hex).
    pub nonce: String,
    /// The wrapped key with its tag (hex).
    pub wrapped_key: String,
    /// Wrong PINs in a row.
    pub failed_attempts: u32,
    /// No attempt is accepted before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
}

/// The key file's path for a database path.
pub fn key_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    db.with_file_name(name)
}

/// A PIN is 6 to 12 digits.
pub fn check_pin_format(pin: &str) -> Result<(), StoreError> {
    if (6..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::PinFormat)
    }
}

fn derive(pin: &str, salt: &[u8], kdf: KdfParams) -> Result<[u8; 32], StoreError> {
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32)).map_err(|e| StoreError::KeyFile(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, &mut out)
        .map_err(|e| StoreError::KeyFile(e.to_string()))?;
    Ok(out)
}

impl KeyFile {
    /// Wrap `key` under `pin`.
    pub fn wrap(key: &DbKey, pin: &str, kdf: KdfParams, entropy: &mut dyn Entropy) -> Result<KeyFile, StoreError> {
        check_pin_format(pin)?;
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        entropy.fill(&mut salt);
        entropy.fill(&mut nonce);
        let mut kek = derive(pin, &salt, kdf)?;
        let cipher = ChaCha20Poly1305::new(&Key::from(kek));
        kek.iter_mut().for_each(|b| *b = 0);
        let wrapped = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &key.0, aad: AAD })
            .map_err(|_| StoreError::KeyFile("cannot wrap the key".into()))?;
        Ok(KeyFile {
            format: 1,
            kdf,
            salt: hex(&salt),
            nonce: hex(&nonce),
            wrapped_key: hex(&wrapped),
            failed_attempts: 0,
            locked_until: None,
        })
    }

    /// Unwrap with `pin`; `None` when the PIN is wrong.
    pub fn unwrap_key(&self, pin: &str) -> Result<Option<DbKey>, StoreError> {
        let salt = unhex(&self.salt)?;
        let nonce = unhex(&self.nonce)?;
        let wrapped = unhex(&self.wrapped_key)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| StoreError::KeyFile("nonce must be 12 bytes".into()))?;
        let mut kek = derive(pin, &salt, self.kdf)?;
        let cipher = ChaCha20Poly1305::new(&Key::from(kek));
        kek.iter_mut().for_each(|b| *b = 0);
        match cipher.decrypt(&Nonce::from(nonce), Payload { msg: &wrapped, aad: AAD }) {
            Ok(mut plain) if plain.len() == KEY_LEN => {
                let mut key = [0u8; KEY_LEN];
                key.copy_from_slice(&plain);
                plain.iter_mut().for_each(|b| *b = 0);
                Ok(Some(DbKey(key)))
            }
            Ok(_) => Err(StoreError::KeyFile("wrapped key has the wrong length".into())),
            Err(_) => Ok(None),
        }
    }

    /// Read the key file of a database.
    pub fn load(db: &Path) -> Result<KeyFile, StoreError> {
        let path = key_path(db);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound(db.to_owned())),
            Err(e) => return Err(StoreError::Io(format!("{}: {e}", path.display()))),
        };
        serde_json::from_str(&text).map_err(|e| StoreError::KeyFile(format!("{}: {e}", path.display())))
    }

    /// Write the key file atomically (temp file, fsync, rename), so a crash leaves the old or the new.
    pub fn save(&self, db: &Path) -> Result<(), StoreError> {
        use std::io::Write;
        let path = key_path(db);
        let tmp = path.with_extension("key.tmp");
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable where the platform allows opening a directory.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// The lockout after `failed` wrong PINs in a row, if any.
    pub fn lockout_for(failed: u32) -> Option<Duration> {
        if failed < FREE_ATTEMPTS {
            return None;
        }
        let doublings = (failed - FREE_ATTEMPTS).min(16);
        let delay = FIRST_LOCKOUT * 2i32.pow(doublings);
        Some(delay.min(MAX_LOCKOUT))
    }
}

/// Check a PIN against the key file of `db`, keeping the attempt count and lockout on disk.
pub fn unlock_key(db: &Path, pin: &str, now: DateTime<Utc>) -> Result<DbKey, StoreError> {
    let mut file = KeyFile::load(db)?;
    if let Some(until) = file.locked_until
        && now < until
    {
        return Err(StoreError::LockedOut { until });
    }
    // Count the attempt before checking it: pulling the battery mid-check must not reset the count.
    let failed = file.failed_attempts + 1;
    file.failed_attempts = failed;
    file.locked_until = KeyFile::lockout_for(failed).map(|d| now + d);
    file.save(db)?;
    if check_pin_format(pin).is_ok()
        && let Some(key) = file.unwrap_key(pin)?
    {
        file.failed_attempts = 0;
        file.locked_until = None;
        file.save(db)?;
        return Ok(key);
    }
    match file.locked_until {
        Some(until) => Err(StoreError::LockedOut { until }),
        None => Err(StoreError::WrongPin { attempts_left: FREE_ATTEMPTS - failed }),
    }
}

/// When the store accepts a PIN again, if too many wrong ones locked it (read without a PIN, so
/// the unlock screen shows the time left, also after a restart).
pub fn lockout(db: &Path, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
    let file = KeyFile::load(db)?;
    Ok(file.locked_until.filter(|until| now < *until))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, StoreError> {
    if !s.len().is_multiple_of(2) {
        return Err(StoreError::KeyFile("odd-length hex".into()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| StoreError::KeyFile("bad hex".into())))
        .collect()
}
