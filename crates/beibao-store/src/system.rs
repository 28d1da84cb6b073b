//! The production clock and id source.

use beibao_core::clock::{Clock, IdSource};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// UUIDv7 ids from the system clock and the OS random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl IdSource for UuidV7Ids {
    fn next_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}
