//! Time and identity, injected: every use case takes a [`Clock`] and an [`IdSource`] so tests run on
//! a fixed clock and predictable ids. The system implementations live in the store, the lowest crate
//! that does I/O.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// A source of record ids (UUIDv7 in production).
pub trait IdSource: Send + Sync {
    /// A new id, never returned before.
    fn next_id(&self) -> Uuid;
}

/// A clock that stands still until told to move (tests, replays).
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    /// Set the clock.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Ids `00000000-0000-7000-8000-{n:012x}` counting up from 1: valid UUIDv7 layout, predictable.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdSource for SequentialIds {
    fn next_id(&self) -> Uuid {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | u128::from(n))
    }
}

/// How far a device clock may run ahead of the server's before its times are not believed, and
/// how far before the device's enrollment a record may be stamped (a clock set a little wrong).
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(10);

/// What the server knows about the clock of a device whose batch it receives: a tablet comes back
/// from a flat battery at 1970 or a year ahead, is set back by hand in the middle of a day, and
/// still stamps every record with its own clock. The server's receive time is the truth; the
/// device's times are evidence, believed when they could be true (DESIGN.md: never order or
/// resolve by device time — records are ordered by their seq; this decides the *day* a record
/// counts on and a request's working-day deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// When the server received the batch (its own clock).
    pub at: DateTime<Utc>,
    /// The device's clock when it sent the batch, if it said (`PushRequest::sent_at`).
    pub device_now: Option<DateTime<Utc>>,
    /// The device's enrollment (server clock): no record of it is older.
    pub enrolled_at: DateTime<Utc>,
}

impl Received {
    /// How far the device clock was off when it sent the batch (server minus device), when it
    /// said what its clock showed.
    pub fn offset(&self) -> Option<Duration> {
        self.device_now.map(|d| self.at - d)
    }

    /// Whether a record whose device times run from `earliest` to `latest` could have been made
    /// by this device before this batch arrived.
    fn possible(&self, earliest: DateTime<Utc>, latest: DateTime<Utc>, by: Duration) -> bool {
        match (earliest.checked_add_signed(by), latest.checked_add_signed(by)) {
            (Some(e), Some(l)) => e >= self.enrolled_at - CLOCK_TOLERANCE && l <= self.at + CLOCK_TOLERANCE,
            _ => false,
        }
    }

    /// What to add to every device time of a record stamped from `earliest` to `latest` (the
    /// record's times as the device wrote them) to get the times it is counted at:
    ///
    /// 1. the clock is right now (or the device did not say) and the times are possible: none;
    /// 2. the clock is off now: the times as stamped and the times moved by the offset are the
    ///    two readings (made before the clock went wrong, or under the wrong clock); of those
    ///    possible, the one nearer the receive time (a batch carries recent work);
    /// 3. no reading is possible: the times moved into the possible window — no later than the
    ///    receive time, no earlier than the enrollment.
    pub fn correction(&self, earliest: DateTime<Utc>, latest: DateTime<Utc>) -> Duration {
        let (earliest, latest) = (earliest.min(latest), earliest.max(latest));
        let offset = self.offset().filter(|o| o.abs() > CLOCK_TOLERANCE);
        let best = std::iter::once(Duration::zero())
            .chain(offset)
            .filter(|d| self.possible(earliest, latest, *d))
            .min_by_key(|d| ((self.at - latest) - *d).abs());
        match best {
            Some(d) => d,
            None if latest > self.at + CLOCK_TOLERANCE => self.at - latest,
            None => (self.enrolled_at - earliest).min(self.at - latest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CLOCK_TOLERANCE, Received};
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("a time")
    }

    fn received(device_now: Option<DateTime<Utc>>) -> Received {
        Received { at: at(2026, 12, 1, 10), device_now, enrolled_at: at(2025, 3, 1, 0) }
    }

    #[test]
    fn a_right_clock_is_believed() {
        let r = received(Some(at(2026, 12, 1, 10) + Duration::seconds(40)));
        assert_eq!(r.correction(at(2026, 11, 28, 2), at(2026, 11, 28, 3)), Duration::zero());
        // A little ahead is within the tolerance.
        assert_eq!(r.correction(at(2026, 12, 1, 10), at(2026, 12, 1, 10) + Duration::minutes(9)), Duration::zero());
        // A device that did not say what its clock showed: possible times are believed.
        assert_eq!(received(None).correction(at(2026, 1, 1, 0), at(2026, 1, 1, 1)), Duration::zero());
    }

    #[test]
    fn a_clock_off_now_moves_the_records_made_under_it() {
        // Back at 1970 after a flat battery, sent an hour after the work.
        let r = received(Some(at(1970, 1, 1, 6)));
        let c = r.correction(at(1970, 1, 1, 4), at(1970, 1, 1, 5));
        assert_eq!(at(1970, 1, 1, 5) + c, at(2026, 12, 1, 9));
        // A year ahead.
        let r = received(Some(at(2027, 12, 1, 10)));
        assert_eq!(at(2027, 11, 30, 8) + r.correction(at(2027, 11, 30, 8), at(2027, 11, 30, 8)), at(2026, 11, 30, 8));
        // A year behind: both readings are possible (enrolled long ago); the nearer one wins.
        let r = received(Some(at(2025, 12, 1, 10)));
        assert_eq!(at(2025, 12, 1, 8) + r.correction(at(2025, 12, 1, 8), at(2025, 12, 1, 8)), at(2026, 12, 1, 8));
    }

    #[test]
    fn records_made_before_the_clock_went_wrong_keep_their_times() {
        // Right in the morning; the clock jumped a year ahead at noon; sent at 10 the next day.
        let r = Received { at: at(2026, 12, 2, 10), device_now: Some(at(2027, 12, 2, 10)), ..received(None) };
        assert_eq!(r.correction(at(2026, 12, 1, 8), at(2026, 12, 1, 9)), Duration::zero());
        // Set back a year at noon: the morning's records are the nearer reading as stamped.
        let r = Received { at: at(2026, 12, 2, 10), device_now: Some(at(2025, 12, 2, 10)), ..received(None) };
        assert_eq!(r.correction(at(2026, 12, 1, 8), at(2026, 12, 1, 9)), Duration::zero());
        assert_eq!(r.correction(at(2025, 12, 1, 15), at(2025, 12, 1, 16)), r.offset().expect("said"));
    }

    #[test]
    fn impossible_times_are_moved_into_the_possible_window() {
        // Ahead, and the device did not say its clock: counted at the receive time.
        let r = received(None);
        assert_eq!(at(2027, 6, 1, 0) + r.correction(at(2027, 6, 1, 0), at(2027, 6, 1, 0)), r.at);
        // Before the enrollment and no offset to explain it: at the enrollment.
        assert_eq!(at(1970, 1, 1, 0) + r.correction(at(1970, 1, 1, 0), at(1970, 1, 1, 2)), r.enrolled_at);
        // The clock was corrected before sending (offset within tolerance): the same.
        let r = received(Some(at(2026, 12, 1, 10) - CLOCK_TOLERANCE));
        assert_eq!(at(1970, 1, 1, 0) + r.correction(at(1970, 1, 1, 0), at(1970, 1, 1, 0)), r.enrolled_at);
    }
}
