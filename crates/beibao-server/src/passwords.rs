//! Password checks under a bound. An Argon2id verification is memory-hard on purpose (19 MiB at
//! the default parameters): a flood of logins, each verified on a thread of its own with memory
//! of its own, took the server from 45 MB to a 4.2 GB peak, unauthenticated. Here at most
//! `slots` verifications run at once (one per core), each in a memory buffer kept for the next
//! one, so the server's memory stays flat whatever the flood; a login that waits past its
//! deadline for a slot is answered 503 `busy`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// No slot came free before the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password checks are queued; try again shortly")]
pub struct Busy;

/// The largest Argon2 memory a stored hash may ask for (256 MiB): a hash asking for more is not
/// verified (an administrator's hashes are made with the default 19 MiB).
const MAX_BLOCKS: usize = 256 * 1024;

/// The password checker: a semaphore of slots and the slots' memory.
#[derive(Debug)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    buffers: Mutex<Vec<Vec<Block>>>,
    wait: Duration,
}

impl Passwords {
    /// At most `slots` checks at once (0: one per core); a check waits at most `wait` for one.
    pub fn new(slots: usize, wait: Duration) -> Passwords {
        let slots = if slots == 0 { std::thread::available_parallelism().map_or(2, usize::from) } else { slots };
        Passwords { slots: Arc::new(Semaphore::new(slots)), buffers: Mutex::new(Vec::new()), wait }
    }

    /// Whether `password` matches the `stored` PHC string. With no stored hash (an unknown
    /// account) it is checked against a hash nobody knows the password of, so an unknown name
    /// takes as long to refuse as a wrong password, and the answer is false.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, Busy> {
        let permit =
            tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await.map_err(|_| Busy)?;
        let permit = permit.map_err(|_| Busy)?;
        let mut buffer = self.buffers.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
        let known = stored.is_some();
        let (matches, buffer) = tokio::task::spawn_blocking(move || {
            let hash = stored.as_deref().unwrap_or_else(|| dummy_hash());
            let matches = verify_in(hash, password.as_bytes(), &mut buffer);
            drop(permit);
            (matches, buffer)
        })
        .await
        .unwrap_or((false, Vec::new()));
        if !buffer.is_empty() {
            self.buffers.lock().unwrap_or_else(|p| p.into_inner()).push(buffer);
        }
        Ok(matches && known)
    }
}

/// Verify `password` against a PHC string in `buffer` (grown to the hash's memory, kept).
fn verify_in(phc: &str, password: &[u8], buffer: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        tracing::warn!(blocks, "a stored password hash asks for more memory than allowed: not verified");
        return false;
    }
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(password, salt, &mut out, &mut buffer[..blocks]).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// An Argon2id hash of a password nobody knows, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(b"beibao-no-such-account")
            .unwrap_or_else(|_| SaltString::from_b64("YmVpYmFv").expect("salt"));
        Argon2::default()
            .hash_password(b"no account has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(password: &str) -> String {
        let salt = SaltString::encode_b64(b"a salt of sixteen").expect("salt");
        Argon2::default().hash_password(password.as_bytes(), &salt).expect("hash").to_string()
    }

    #[test]
    fn the_unknown_account_is_checked_against_a_real_argon2id_hash() {
        let hash = PasswordHash::new(dummy_hash()).expect("a PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn a_hash_verifies_its_own_password_only_and_the_buffer_is_kept() {
        let stored = hash("correct horse battery");
        let mut buffer = Vec::new();
        assert!(verify_in(&stored, b"correct horse battery", &mut buffer));
        let kept = buffer.len();
        assert_eq!(kept, Params::default().block_count(), "the buffer holds one hash's memory");
        assert!(!verify_in(&stored, b"correct horse batterY", &mut buffer));
        assert_eq!(buffer.len(), kept, "the same buffer is used again, not grown");
        assert!(!verify_in("not a phc string", b"x", &mut buffer));
        assert!(!verify_in("$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", b"x", &mut buffer));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_past_the_slots_wait_then_are_busy() {
        // One slot, no wait: while a check holds the slot, the next one is busy at once.
        let passwords = Arc::new(Passwords::new(1, Duration::ZERO));
        let held = Arc::clone(&passwords.slots).acquire_owned().await.expect("the slot");
        assert_eq!(passwords.verify(None, "x".into()).await, Err(Busy));
        drop(held);
        assert_eq!(passwords.verify(Some(hash("pw-0123456789")), "pw-0123456789".into()).await, Ok(true));
        assert_eq!(passwords.verify(None, "pw-0123456789".into()).await, Ok(false), "no account: false");
        assert_eq!(passwords.buffers.lock().expect("lock").len(), 1, "one slot, one buffer kept");
    }
}
