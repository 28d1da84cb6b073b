//! What follows an agreement, recorded by the officer: the parties' application for 司法确认 and the
//! court's ruling (人民调解法 Art.33), and a resolved dispute that comes back (反弹) or turns into a
//! criminal case (民转刑). Each names its mediation; the counts 司法确认数 and 反弹/民转刑数 of
//! REFERENCE §5 are read from them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::deadlines::judicial_confirmation_deadline;
use crate::activity::ActivityError;

/// The longest note on these records, in characters.
pub const NOTE_MAX: usize = 500;

/// A court's answer to a 司法确认 application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CourtRuling {
    /// 裁定确认调解协议有效: the agreement can be enforced (强制执行) if not performed.
    Confirmed,
    /// 裁定驳回申请: the parties may mediate again or sue.
    Refused,
}

/// The parties' joint application for 司法确认 of a people's-mediation agreement, and the ruling
/// once it is known. One record per agreement, updated when the ruling comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct JudicialConfirmation {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// The mediation whose agreement is confirmed.
    pub mediation: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// The mediation's village.
    pub village: String,
    /// The day the agreement took effect (the window of 30 days runs from it).
    pub effective_on: NaiveDate,
    /// The day the parties applied to the court.
    pub applied_on: NaiveDate,
    /// The court applied to.
    pub court: String,
    /// The ruling, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruling: Option<CourtRuling>,
    /// The day of the ruling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruled_on: Option<NaiveDate>,
    /// Note.
    #[serde(default)]
    pub note: String,
    /// When recorded or last updated.
    pub recorded_at: DateTime<Utc>,
}

impl JudicialConfirmation {
    /// Check the record: a court named; applied within 30 days of the agreement taking effect
    /// (Art.33), not before it; a ruling with its day, not before the application.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if self.village.trim().is_empty() {
            return Err(ActivityError::Required("village"));
        }
        if self.court.trim().is_empty() {
            return Err(ActivityError::Required("court"));
        }
        if self.court.chars().count() > 100 || self.note.chars().count() > NOTE_MAX {
            return Err(ActivityError::Implausible(if self.note.chars().count() > NOTE_MAX {
                "note"
            } else {
                "court"
            }));
        }
        if self.applied_on < self.effective_on {
            return Err(ActivityError::OutOfOrder("applied_on"));
        }
        if self.applied_on > judicial_confirmation_deadline(self.effective_on) {
            return Err(ActivityError::WindowClosed("applied_on"));
        }
        match (self.ruling, self.ruled_on) {
            (None, None) => Ok(()),
            (Some(_), Some(day)) if day >= self.applied_on => Ok(()),
            (Some(_), Some(_)) => Err(ActivityError::OutOfOrder("ruled_on")),
            _ => Err(ActivityError::Required("ruled_on")),
        }
    }
}

/// How a resolved dispute came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceKind {
    /// 反弹: the dispute flared up again between the same parties.
    Rebound,
    /// 民转刑: the civil dispute turned into a criminal case.
    CivilToCriminal,
}

/// A dispute mediated before that came back or turned criminal, linked to the original case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// The original mediation.
    pub mediation: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// The mediation's village.
    pub village: String,
    /// Rebound or civil-to-criminal.
    pub kind: RecurrenceKind,
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// What happened.
    pub note: String,
    /// When recorded.
    pub recorded_at: DateTime<Utc>,
}

impl Recurrence {
    /// Check the record: what happened is said, in at most [`NOTE_MAX`] characters, on a day not
    /// after it was recorded.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if self.village.trim().is_empty() {
            return Err(ActivityError::Required("village"));
        }
        if self.note.trim().is_empty() {
            return Err(ActivityError::Required("note"));
        }
        if self.note.chars().count() > NOTE_MAX {
            return Err(ActivityError::Implausible("note"));
        }
        if self.occurred_on > crate::calendar::china_date(self.recorded_at) {
            return Err(ActivityError::OutOfOrder("occurred_on"));
        }
        Ok(())
    }
}
