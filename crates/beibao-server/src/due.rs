//! The supervisors' list of mediation deadlines (`mediation_due`, migration 8): one row per
//! finalized case with what it leaves to do and by when ([`beibao_core::mediation::deadlines::for_case`]),
//! written in the push that records it and marked done by its follow-up and its 司法确认
//! ([`crate::plan::Due`], placed by [`crate::rollup::place_batch`]). Supervisors read it as of a
//! day: per village, follow-ups overdue and due within [`HORIZON_DAYS`], 司法确认 windows closing
//! within it, agreements a follow-up found not performed; and the open cases themselves. No
//! personal data: a case is its id, village, officer, kind and dates.

use beibao_core::mediation::MediationKind;
use beibao_core::ops::{OpKind, OpRecord};
use chrono::NaiveDate;

use crate::plan::Due;
use crate::rollup::PlacedDue;
use crate::storage::StorageError;

/// How far ahead "due soon" looks, in days.
pub const HORIZON_DAYS: u64 = 7;

/// The most cases one answer lists (the per-village counts are whole).
pub const MAX_CASES: usize = 500;

/// The records a backfill reads, with the officer's station now (both backends take it as it is).
pub const BACKFILL_SELECT: &str = "
SELECT r.kind, r.id, coalesce(r.village, ''), r.officer_id, o.payload,
       coalesce((SELECT f.station FROM officers f WHERE f.id = r.officer_id), '')
FROM records r JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq
WHERE r.kind IN ('mediation', 'mediation_followup', 'judicial_confirmation')
ORDER BY CASE r.kind WHEN 'mediation' THEN 0 ELSE 1 END, r.received_at, r.id";

/// One record a backfill read: kind, id, village, officer, payload, the officer's station.
pub type BackfillRow = (String, String, String, String, String, String);

/// The list's changes for the records held before migration 8: every case, then what marks it.
/// A stored body that no longer parses fails the migration (and leaves the database as it was).
pub fn backfill(rows: Vec<BackfillRow>) -> Result<Vec<PlacedDue>, StorageError> {
    let mut out = Vec::new();
    for (kind, id, village, officer, payload, station) in rows {
        let k = OpKind::parse(&kind).ok_or_else(|| StorageError::Db(format!("record kind {kind}")))?;
        let rec = OpRecord::parse(k, &payload).map_err(|e| StorageError::Db(format!("stored {kind} {id}: {e:?}")))?;
        let Some(change) = crate::plan::due_of(&rec) else { continue };
        let mediation = match &change {
            Due::Case { .. } => id,
            Due::FollowedUp { mediation, .. } | Due::Confirmed { mediation, .. } => mediation.clone(),
        };
        out.push(PlacedDue { mediation, station, village, officer, change });
    }
    Ok(out)
}

/// Per village, as a backend counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VillageDueRow {
    /// Village code.
    pub village: String,
    /// Follow-ups past their day and not done.
    pub overdue: i64,
    /// Follow-ups due from the day to the horizon.
    pub due_soon: i64,
    /// 司法确认 windows closing from the day to the horizon, not applied for.
    pub closing: i64,
    /// Agreements the last follow-up found not performed.
    pub not_performed: i64,
}

/// An open case as a backend reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCaseRow {
    /// The mediation.
    pub mediation: String,
    /// Village.
    pub village: String,
    /// Officer.
    pub officer: String,
    /// 人民调解 or 治安调解.
    pub kind: MediationKind,
    /// The day the agreement was concluded.
    pub concluded_on: NaiveDate,
    /// Performance deadline.
    pub performance_on: Option<NaiveDate>,
    /// The follow-up's day, while it is not done.
    pub follow_up_on: Option<NaiveDate>,
    /// The last day to apply for 司法确认, while not applied for.
    pub confirm_by: Option<NaiveDate>,
}

/// The placeholder `n` of a backend: `?n` (SQLite) or `$n` (PostgreSQL).
fn ph(dollar: bool, n: usize) -> String {
    format!("{}{n}", if dollar { '$' } else { '?' })
}

/// Per village with anything to count, on day `?1` looking to `?2`; `filter` from
/// [`crate::report::scope_filter`] with placeholders from 3.
pub fn villages_sql(filter: &str, dollar: bool) -> String {
    let (on, until) = (ph(dollar, 1), ph(dollar, 2));
    let not = if dollar { "false" } else { "0" };
    format!(
        "SELECT village, overdue, due_soon, closing, not_performed FROM (
            SELECT village,
                count(*) FILTER (WHERE followed_up_on IS NULL AND follow_up_on < {on}) AS overdue,
                count(*) FILTER (WHERE followed_up_on IS NULL AND follow_up_on >= {on} AND follow_up_on <= {until})
                    AS due_soon,
                count(*) FILTER (WHERE confirmed_on IS NULL AND confirm_by >= {on} AND confirm_by <= {until})
                    AS closing,
                count(*) FILTER (WHERE performed = {not}) AS not_performed
            FROM mediation_due WHERE true{filter} GROUP BY village) v
         WHERE overdue + due_soon + closing + not_performed > 0 ORDER BY village"
    )
}

/// The open cases on day `?1` looking to `?2`, the earliest first; `filter` with placeholders
/// from 3, the limit the placeholder after them.
pub fn cases_sql(filter: &str, dollar: bool, limit: usize) -> String {
    let (on, until, limit) = (ph(dollar, 1), ph(dollar, 2), ph(dollar, limit));
    let open_follow = format!("(followed_up_on IS NULL AND follow_up_on <= {until})");
    let open_confirm = format!("(confirmed_on IS NULL AND confirm_by >= {on} AND confirm_by <= {until})");
    format!(
        "SELECT mediation, village, officer, kind, concluded_on, performance_on,
                CASE WHEN {open_follow} THEN follow_up_on END,
                CASE WHEN {open_confirm} THEN confirm_by END
         FROM mediation_due
         WHERE ({open_follow} OR {open_confirm}){filter}
         ORDER BY CASE WHEN {open_follow} THEN follow_up_on ELSE confirm_by END, mediation
         LIMIT {limit}"
    )
}

/// The statements that write a change, with SQLite's placeholders ([`write::dollars`] gives
/// PostgreSQL's).
pub mod write {
    /// A case listed (or listed again: what marked it done stays).
    pub const CASE: &str = "
INSERT INTO mediation_due (mediation, station, town, village, officer, kind, concluded_on, performance_on,
                           follow_up_on, confirm_by)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (mediation) DO UPDATE SET station = excluded.station, town = excluded.town, village = excluded.village,
    officer = excluded.officer, kind = excluded.kind, concluded_on = excluded.concluded_on,
    performance_on = excluded.performance_on, follow_up_on = excluded.follow_up_on, confirm_by = excluded.confirm_by";
    /// A follow-up: the day and what it found.
    pub const FOLLOWED_UP: &str = "UPDATE mediation_due SET followed_up_on = ?2, performed = ?3 WHERE mediation = ?1";
    /// 司法确认 applied for.
    pub const CONFIRMED: &str = "UPDATE mediation_due SET confirmed_on = ?2 WHERE mediation = ?1";

    /// A statement with PostgreSQL's placeholders (`$n` for `?n`; these hold no other `?`).
    pub fn dollars(sql: &str) -> String {
        sql.replace('?', "$")
    }
}
