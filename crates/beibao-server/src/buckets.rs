//! Token buckets by key (a device, a login name), bounded in memory: a bucket that has refilled to
//! its burst is the same as no bucket, so it is dropped when the table is full; if the table is
//! still full of live buckets (a flood of made-up names within one refill window), a new key is
//! refused rather than let the table grow. Pure: the caller gives the time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: DateTime<Utc>,
    rate_per_s: f64,
    burst: f64,
}

impl Bucket {
    fn refill(&mut self, now: DateTime<Utc>) {
        let elapsed = (now - self.last).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        self.tokens = (self.tokens + elapsed * self.rate_per_s).min(self.burst);
        self.last = now;
    }

    fn full_at(&self, now: DateTime<Utc>) -> bool {
        let elapsed = (now - self.last).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        self.tokens + elapsed * self.rate_per_s >= self.burst
    }
}

/// Token buckets, at most `cap` of them.
#[derive(Debug)]
pub struct Buckets {
    map: HashMap<String, Bucket>,
    cap: usize,
}

impl Buckets {
    /// A table of at most `cap` buckets.
    pub fn new(cap: usize) -> Buckets {
        Buckets { map: HashMap::new(), cap: cap.max(1) }
    }

    /// How many buckets are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Take a token from `key`'s bucket (made full at `burst`, refilled at `rate_per_s`); false
    /// when it is empty, or when it is new and the table is full of live buckets.
    pub fn admit(&mut self, key: &str, now: DateTime<Utc>, rate_per_s: f64, burst: f64) -> bool {
        if !self.map.contains_key(key) && self.map.len() >= self.cap {
            self.map.retain(|_, b| !b.full_at(now));
            if self.map.len() >= self.cap {
                return false;
            }
        }
        let b = self.map.entry(key.to_owned()).or_insert(Bucket { tokens: burst, last: now, rate_per_s, burst });
        b.refill(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(s)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let mut b = Buckets::new(10);
        assert!((0..10).all(|_| b.admit("login:ann", t(0), 1.0 / 6.0, 10.0)), "ten attempts at once");
        assert!(!b.admit("login:ann", t(0), 1.0 / 6.0, 10.0), "the eleventh waits");
        assert!(!b.admit("login:ann", t(5), 1.0 / 6.0, 10.0), "not yet 6 s");
        assert!(b.admit("login:ann", t(12), 1.0 / 6.0, 10.0), "one more after 6 s");
        assert!(b.admit("login:bob", t(12), 1.0 / 6.0, 10.0), "another account has its own bucket");
    }

    #[test]
    fn a_flood_of_made_up_names_cannot_grow_the_table_past_its_cap() {
        let mut b = Buckets::new(100);
        let admitted = (0..10_000).filter(|i| b.admit(&format!("login:x{i}"), t(0), 1.0 / 6.0, 10.0)).count();
        assert_eq!(b.len(), 100, "the table holds at most its cap");
        assert_eq!(admitted, 100, "names past the cap are refused while every bucket is live");
        // Once the flood's buckets have refilled (60 s at 1/6 per s for one token used), they are
        // the same as none: they make room, and a real user gets in.
        assert!(b.admit("login:ann", t(7), 1.0 / 6.0, 10.0), "a refilled bucket is dropped to make room");
        assert!(b.len() <= 100);
    }
}
