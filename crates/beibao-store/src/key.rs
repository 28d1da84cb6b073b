//! The database key and its PIN wrapping.
//!
//! The SQLCipher key is 32 random bytes. It never touches the disk in the clear: a key-encryption
//! key is derived from the officer's PIN with Argon2id and wraps it with ChaCha20-Poly1305; the
//! wrapped key, salt, parameters and the lockout state live in `<db>.key` beside the database. A
//! wrong PIN fails the AEAD tag check, so it never opens (or touches) the database. Every attempt is
//! counted on disk *before* the PIN is checked, so killing the app does not reset the count; five
//! wrong PINs in a row lock the store for a delay that doubles with each further failure.
//!
//! The lockout is waited out in the device's uptime where the platform gives one (Linux,
//! Android: the boot's id and the time since boot, suspend included), so setting the clock
//! forward does not shorten it; time while the tablet is off does not count, and a wall clock set
//! back never counts backwards. The lockout state is authenticated by the platform's [`Guard`]
//! (a counter edited in the file is caught and locks the store for the longest delay). See
//! `docs/security.md` for what this does and does not protect against.

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
    /// The setting of stores made before issue 14 (OWASP's minimum: 19 MiB, 2 passes): 23 ms a
    /// guess on the build machine, all 10⁶ six-digit PINs in ~6.5 h on one core. A store with it
    /// is wrapped again under [`KdfParams::RECOMMENDED`] at its next unlock.
    pub const V1: KdfParams = KdfParams { m_kib: 19_456, t: 2, p: 1 };
    /// 64 MiB, 3 passes, 1 lane: ~0.12 s a guess on the 2-core build machine (`make bench-store`
    /// prints it), about 0.4 s for an unlock on a mid-range ARM tablet. Memory-hard: a GPU or a
    /// farm gains little per guess over the tablet itself.
    pub const RECOMMENDED: KdfParams = KdfParams { m_kib: 65_536, t: 3, p: 1 };
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

/// An instant of the device's uptime: which boot, and the milliseconds since it (suspend
/// included). Setting the wall clock does not move it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uptime {
    /// The boot's id (a new one at every start of the system).
    pub boot: String,
    /// Milliseconds since that boot.
    pub ms: u64,
}

impl Uptime {
    /// The platform's uptime, where it gives one: Linux and Android (`/proc/sys/kernel/random/
    /// boot_id`, `/proc/uptime`, which counts suspended time).
    pub fn now() -> Option<Uptime> {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let seconds: f64 = uptime.split_whitespace().next()?.parse().ok()?;
        let boot = boot.trim();
        (!boot.is_empty() && seconds.is_finite() && seconds >= 0.0)
            .then(|| Uptime { boot: boot.to_owned(), ms: (seconds * 1000.0) as u64 })
    }
}

/// A moment as the lockout judges it: the wall clock, and the uptime where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// The wall clock (what the tablet believes the time is).
    pub wall: DateTime<Utc>,
    /// The platform's uptime, if it has one.
    pub uptime: Option<Uptime>,
}

impl Moment {
    /// `wall` with the platform's uptime now.
    pub fn at(wall: DateTime<Utc>) -> Moment {
        Moment { wall, uptime: Uptime::now() }
    }
}

/// A lockout under way: what was left of it at an instant, by both clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Milliseconds of the lockout left at that instant.
    pub left_ms: i64,
    /// The wall clock at that instant (never moved backwards).
    pub wall: DateTime<Utc>,
    /// The uptime at that instant, where the platform gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<Uptime>,
}

impl Wait {
    /// What is left at `m`: time elapsed in uptime within the same boot; none across a restart
    /// (time off does not count); by the wall clock where there is no uptime, never backwards.
    fn left_at(&self, m: &Moment) -> i64 {
        let elapsed = match (&self.uptime, &m.uptime) {
            (Some(a), Some(b)) if a.boot == b.boot => i64::try_from(b.ms.saturating_sub(a.ms)).unwrap_or(i64::MAX),
            (Some(_), Some(_)) => 0,
            _ => (m.wall - self.wall).num_milliseconds().max(0),
        };
        self.left_ms.saturating_sub(elapsed)
    }

    /// The wait as it stands at `m` (`None` once over), anchored there.
    fn settle(&self, m: &Moment) -> Option<Wait> {
        let left = self.left_at(m);
        (left > 0).then(|| Wait { left_ms: left, wall: self.wall.max(m.wall), uptime: m.uptime.clone() })
    }
}

/// What the platform holds for a store beyond the PIN: a key that never leaves it. It
/// authenticates the key file's lockout state (a counter edited in the file is caught), and it
/// seals the PIN-wrapped key, so that where it is hardware (Android Keystore / StrongBox, the
/// iOS Secure Enclave) an offline guess of the PIN needs this device's chip, which throttles.
/// The desktop keeps [`SoftwareGuard`]: a secret in a file beside the store, which catches an
/// edited counter but not someone who edits both files.
pub trait Guard {
    /// Its name, kept in the key file (a file sealed by one guard is not opened by another).
    fn name(&self) -> &'static str;
    /// An authentication tag of `data` (HMAC-SHA256 under the guard's key).
    fn mac(&self, data: &[u8]) -> Result<[u8; 32], StoreError>;
    /// Seal the PIN-wrapped key (the software guard keeps it as it is).
    fn seal(&self, wrapped: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Open what [`Guard::seal`] made.
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Made just now for this store (nothing was tagged under it before): only then may a key
    /// file without a tag (format 1, made before guards) be taken as genuine.
    fn fresh(&self) -> bool;
}

/// The guard's file of a database: `<db>.guard`.
pub fn guard_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".guard");
    db.with_file_name(name)
}

/// The software guard: 32 random bytes in `<db>.guard`.
pub struct SoftwareGuard {
    secret: [u8; 32],
    fresh: bool,
}

impl std::fmt::Debug for SoftwareGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareGuard(..)")
    }
}

impl Drop for SoftwareGuard {
    fn drop(&mut self) {
        self.secret.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.secret);
    }
}

impl SoftwareGuard {
    /// The guard of the store at `db`; made from `entropy` when the store has none yet (a new
    /// store, or one made before guards).
    pub fn for_store(db: &Path, entropy: &mut dyn Entropy) -> Result<SoftwareGuard, StoreError> {
        let path = guard_path(db);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let secret: [u8; 32] = unhex(text.trim())?
                    .try_into()
                    .map_err(|_| StoreError::KeyFile(format!("{}: not 32 bytes", path.display())))?;
                Ok(SoftwareGuard { secret, fresh: false })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                entropy.fill(&mut secret);
                write_atomically(&path, &hex(&secret))?;
                Ok(SoftwareGuard { secret, fresh: true })
            }
            Err(e) => Err(StoreError::Io(format!("{}: {e}", path.display()))),
        }
    }
}

impl Guard for SoftwareGuard {
    fn name(&self) -> &'static str {
        "software"
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 32], StoreError> {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.secret)
            .map_err(|e| StoreError::KeyFile(format!("guard: {e}")))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }

    fn seal(&self, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(wrapped.to_vec())
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(sealed.to_vec())
    }

    fn fresh(&self) -> bool {
        self.fresh
    }
}

/// This platform's guard of the store at `db`. Every platform uses [`SoftwareGuard`] today; the
/// Android Keystore / iOS Secure Enclave guard plugs in here (see docs/security.md).
pub fn guard(db: &Path) -> Result<Box<dyn Guard>, StoreError> {
    Ok(Box::new(SoftwareGuard::for_store(db, &mut OsEntropy)?))
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
    /// Format 1 only: no attempt was accepted before this wall-clock instant (read as a [`Wait`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// The lockout under way, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Wait>,
    /// The guard that sealed the wrapped key and authenticates the state (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// The guard's tag over everything above (hex; format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// What the guard's tag covers, in a fixed order.
#[derive(Serialize)]
struct Covered<'a> {
    format: u32,
    kdf: KdfParams,
    salt: &'a str,
    nonce: &'a str,
    wrapped_key: &'a str,
    failed_attempts: u32,
    wait: &'a Option<Wait>,
    guard: &'a Option<String>,
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
    /// Wrap `key` under `pin`, sealed and authenticated by `guard`.
    pub fn wrap(
        key: &DbKey,
        pin: &str,
        kdf: KdfParams,
        entropy: &mut dyn Entropy,
        guard: &dyn Guard,
    ) -> Result<KeyFile, StoreError> {
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
        let mut file = KeyFile {
            format: 2,
            kdf,
            salt: hex(&salt),
            nonce: hex(&nonce),
            wrapped_key: hex(&guard.seal(&wrapped)?),
            failed_attempts: 0,
            locked_until: None,
            wait: None,
            guard: Some(guard.name().to_owned()),
            mac: None,
        };
        file.sign(guard)?;
        Ok(file)
    }

    fn covered(&self) -> Vec<u8> {
        serde_json::to_vec(&Covered {
            format: self.format,
            kdf: self.kdf,
            salt: &self.salt,
            nonce: &self.nonce,
            wrapped_key: &self.wrapped_key,
            failed_attempts: self.failed_attempts,
            wait: &self.wait,
            guard: &self.guard,
        })
        .unwrap_or_default()
    }

    /// Tag the file's state with the guard (format 2 from then on).
    fn sign(&mut self, guard: &dyn Guard) -> Result<(), StoreError> {
        self.format = 2;
        self.guard = Some(guard.name().to_owned());
        self.locked_until = None;
        self.mac = Some(hex(&guard.mac(&self.covered())?));
        Ok(())
    }

    /// Whether the state is as the guard tagged it. A format-1 file (made before guards) has no
    /// tag and passes once, to be tagged; a format-2 file whose tag is missing or wrong does not.
    fn authentic(&self, guard: &dyn Guard) -> Result<bool, StoreError> {
        if self.format < 2 {
            return Ok(self.mac.is_none() && guard.fresh());
        }
        if self.guard.as_deref() != Some(guard.name()) {
            return Err(StoreError::KeyFile(format!(
                "the key was sealed by the {} guard, not this device's {}",
                self.guard.as_deref().unwrap_or("?"),
                guard.name()
            )));
        }
        let Some(tag) = self.mac.as_deref() else { return Ok(false) };
        let expected = hex(&guard.mac(&self.covered())?);
        // Both are hex of 32 bytes; compared without an early exit.
        Ok(tag.len() == expected.len() && tag.bytes().zip(expected.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0)
    }

    /// Unwrap with `pin`; `None` when the PIN is wrong.
    pub fn unwrap_key(&self, pin: &str, guard: &dyn Guard) -> Result<Option<DbKey>, StoreError> {
        let salt = unhex(&self.salt)?;
        let nonce = unhex(&self.nonce)?;
        let wrapped = unhex(&self.wrapped_key)?;
        let wrapped = if self.format >= 2 { guard.open(&wrapped)? } else { wrapped };
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
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        write_atomically(&key_path(db), &text)
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

/// The key file of `db` with its lockout settled at `m`: format-1 state read, the tag checked (a
/// state edited outside the store locks it for the longest delay), a finished wait dropped.
fn settled(db: &Path, m: &Moment, guard: &dyn Guard) -> Result<KeyFile, StoreError> {
    let mut file = KeyFile::load(db)?;
    let before = file.clone();
    if !file.authentic(guard)? {
        file.failed_attempts = file.failed_attempts.max(FREE_ATTEMPTS + 16);
        file.wait = Some(Wait { left_ms: MAX_LOCKOUT.num_milliseconds(), wall: m.wall, uptime: m.uptime.clone() });
    } else if let Some(until) = file.locked_until.take() {
        let left = (until - m.wall).num_milliseconds();
        file.wait = (left > 0).then(|| Wait { left_ms: left, wall: m.wall, uptime: m.uptime.clone() });
    } else {
        file.wait = file.wait.as_ref().and_then(|w| w.settle(m));
    }
    if file != before || file.format < 2 {
        file.sign(guard)?;
        file.save(db)?;
    }
    Ok(file)
}

/// Check a PIN against the key file of `db`, keeping the attempt count and lockout on disk. A
/// store wrapped under [`KdfParams::V1`] is wrapped again under [`KdfParams::RECOMMENDED`] once
/// the right PIN opens it.
pub fn unlock_key(db: &Path, pin: &str, m: &Moment, guard: &dyn Guard) -> Result<DbKey, StoreError> {
    let mut file = settled(db, m, guard)?;
    if let Some(wait) = &file.wait {
        return Err(StoreError::LockedOut { until: m.wall + Duration::milliseconds(wait.left_ms) });
    }
    // Count the attempt before checking it: pulling the battery mid-check must not reset the count.
    let failed = file.failed_attempts + 1;
    file.failed_attempts = failed;
    file.wait = KeyFile::lockout_for(failed).map(|d| Wait {
        left_ms: d.num_milliseconds(),
        wall: m.wall,
        uptime: m.uptime.clone(),
    });
    file.sign(guard)?;
    file.save(db)?;
    if check_pin_format(pin).is_ok()
        && let Some(key) = file.unwrap_key(pin, guard)?
    {
        if file.kdf == KdfParams::V1 {
            let mut entropy = OsEntropy;
            KeyFile::wrap(&key, pin, KdfParams::RECOMMENDED, &mut entropy, guard)?.save(db)?;
        } else {
            file.failed_attempts = 0;
            file.wait = None;
            file.sign(guard)?;
            file.save(db)?;
        }
        return Ok(key);
    }
    match file.wait {
        Some(wait) => Err(StoreError::LockedOut { until: m.wall + Duration::milliseconds(wait.left_ms) }),
        None => Err(StoreError::WrongPin { attempts_left: FREE_ATTEMPTS - failed }),
    }
}

/// When the store accepts a PIN again, if too many wrong ones locked it (read without a PIN, so
/// the unlock screen shows the time left, also after a restart): `m.wall` plus what is left.
pub fn lockout(db: &Path, m: &Moment, guard: &dyn Guard) -> Result<Option<DateTime<Utc>>, StoreError> {
    let file = settled(db, m, guard)?;
    Ok(file.wait.map(|w| m.wall + Duration::milliseconds(w.left_ms)))
}

/// Write `text` to `path` atomically (temp file, fsync, rename, directory fsync).
fn write_atomically(path: &Path, text: &str) -> Result<(), StoreError> {
    use std::io::Write;
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable where the platform allows opening a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
