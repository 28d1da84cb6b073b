//! What the test crates share, once: deterministic entropy for key derivation and device keys,
//! the instant every test's clock starts at, the committed fixtures (loaded once per process),
//! and the demo signature PNG. A dev-dependency only; nothing shipped links it.

use std::sync::OnceLock;

use beibao_fixtures::Fixtures;
use beibao_store::key::Entropy;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// The instant tests start at: 2026-11-20 09:00 in Shanting (01:00 UTC).
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_136_400, 0).unwrap_or_default()
}

/// The committed fixtures (the Shanting registry, the 38-service catalog, the calendar), loaded
/// once per test process. Tests may read `fixtures/` from the source tree; nothing shipped does.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| beibao_fixtures::load(&beibao_fixtures::default_dir()).expect("the committed fixtures load"))
}

/// A signature as the tablet's pad saves it (a real PNG).
pub const SIGNATURE_PNG: &[u8] = include_bytes!("../../../fixtures/demo/signature.png");

/// Entropy from a counter: the same bytes every run.
#[derive(Debug, Clone, Copy)]
pub struct Counting(pub u8);

impl Entropy for Counting {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
    }
}

/// Entropy from a seeded ChaCha8 stream: many distinct tablets, each the same every run.
#[derive(Debug, Clone)]
pub struct SeededEntropy(pub ChaCha8Rng);

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_instant_is_nine_in_the_morning_in_shanting() {
        assert_eq!(super::t0().to_rfc3339(), "2026-11-20T01:00:00+00:00");
    }
}
