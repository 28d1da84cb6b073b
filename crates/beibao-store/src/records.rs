//! Writes of the officer's records. Each takes the open transaction and enqueues the record's
//! outbox op in it, so the record and its op commit together or not at all.

use beibao_core::activity::{ClueReport, Hazard, PublicitySession, Rating, RatingSubject, RegistryProposal};
use beibao_core::canonical::sha256_hex;
use beibao_core::service_request::{RequestState, ServiceRequest};
use beibao_core::visit::VisitTarget;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{StoreError, corrupt};
use crate::outbox::enqueue;
pub use beibao_core::mediation::after::{CourtRuling, JudicialConfirmation, Recurrence, RecurrenceKind};
pub use beibao_core::ops::{CaseStatus, Followup, MediationCase, OpKind, RequestEvent, StoredVisit};

fn name<T: Serialize>(v: T) -> Result<String, StoreError> {
    match serde_json::to_value(v).map_err(corrupt)? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn from_name<T: serde::de::DeserializeOwned>(s: String) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s)).map_err(corrupt)
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(corrupt)
}

/// Record a visit and enqueue it.
pub fn insert_visit(tx: &Transaction<'_>, v: &StoredVisit, op_id: Uuid, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let (kind, target) = match &v.visit.target {
        VisitTarget::Household(id) => ("household", id),
        VisitTarget::Enterprise(id) => ("enterprise", id),
    };
    let purposes: Vec<String> = v.visit.purposes.iter().map(name).collect::<Result<_, _>>()?;
    tx.prepare_cached(
        "INSERT INTO visits (id, device_id, officer_id, village, target_kind, target_id, purposes, outcome,
                             persons_met, started_at, ended_at, special_group, verdict, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        v.visit.id.to_string(),
        v.visit.device_id,
        v.visit.officer_id,
        v.visit.village,
        kind,
        target,
        purposes.join(","),
        name(v.visit.outcome)?,
        v.visit.persons_met,
        v.visit.started_at.to_rfc3339(),
        v.visit.ended_at.to_rfc3339(),
        v.special_group,
        json(&v.verdict)?,
        json(v)?,
    ])?;
    enqueue(tx, op_id, OpKind::Visit, &v.visit.id.to_string(), v, now)
}

/// A visit by id.
pub fn visit(conn: &Connection, id: Uuid) -> Result<Option<StoredVisit>, StoreError> {
    let body: Option<String> =
        conn.query_row("SELECT body FROM visits WHERE id = ?1", [id.to_string()], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

/// Record a new service request and enqueue it.
pub fn insert_request(
    tx: &Transaction<'_>,
    r: &ServiceRequest,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let closed = r.state.is_terminal().then(|| r.accepted_at.to_rfc3339());
    tx.execute(
        "INSERT INTO service_requests (id, device_id, officer_id, service, mode, household, applicant, state,
                                       payable_fen, accepted_at, closed_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            r.id.to_string(),
            r.device_id,
            r.officer_id,
            r.service,
            name(r.mode)?,
            r.household,
            r.applicant,
            name(r.state)?,
            r.fee.payable_fen,
            r.accepted_at.to_rfc3339(),
            closed,
            json(r)?,
        ],
    )?;
    // The oldest open phoned-in request of this service for this household is now handled.
    if let Some(h) = &r.household {
        tx.execute(
            "UPDATE phoned_in SET request = ?1 WHERE id = (SELECT id FROM phoned_in
                 WHERE request IS NULL AND household = ?2 AND service = ?3 ORDER BY taken_at LIMIT 1)",
            params![r.id.to_string(), h, r.service],
        )?;
    }
    enqueue(tx, op_id, OpKind::ServiceRequest, &r.id.to_string(), r, now)
}

/// A service request by id, in its current state.
pub fn request(conn: &Connection, id: Uuid) -> Result<Option<ServiceRequest>, StoreError> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT body, state FROM service_requests WHERE id = ?1", [id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(body, state)| request_from(&body, state)).transpose()
}

/// A request from its stored body and its current state (the body keeps the state at acceptance).
pub(crate) fn request_from(body: &str, state: String) -> Result<ServiceRequest, StoreError> {
    let mut r: ServiceRequest = serde_json::from_str(body).map_err(corrupt)?;
    r.state = serde_json::from_value(serde_json::Value::String(state)).map_err(corrupt)?;
    Ok(r)
}

/// Record a transition already checked against the state machine, move the request, enqueue the event.
pub fn insert_request_event(
    tx: &Transaction<'_>,
    e: &RequestEvent,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let to: RequestState = e.transition.to;
    let closed = to.is_terminal().then(|| e.at.to_rfc3339());
    let changed = tx.execute(
        "UPDATE service_requests SET state = ?2, closed_at = coalesce(?3, closed_at) WHERE id = ?1 AND state = ?4",
        params![e.request.to_string(), name(to)?, closed, name(e.transition.from)?],
    )?;
    if changed != 1 {
        return Err(StoreError::Missing { kind: "service request in that state", id: e.request.to_string() });
    }
    tx.execute(
        "INSERT INTO request_events (id, request, from_state, to_state, outcome, at, body)
         VALUES (?1, ?2, ?3, ?4, 'applied', ?5, ?6)",
        params![
            e.id.to_string(),
            e.request.to_string(),
            name(e.transition.from)?,
            name(to)?,
            e.at.to_rfc3339(),
            json(e)?
        ],
    )?;
    enqueue(tx, op_id, OpKind::RequestEvent, &e.id.to_string(), e, now)
}

/// Insert or update a draft. Finalized cases are refused by the database itself (a trigger).
pub fn save_draft(tx: &Transaction<'_>, c: &MediationCase) -> Result<(), StoreError> {
    if c.status != CaseStatus::Draft {
        return Err(StoreError::ReadOnly(format!("mediation {}", c.id)));
    }
    tx.execute(
        "INSERT INTO mediations (id, device_id, officer_id, kind, village, accepted_on, status, outcome,
                                 eligibility, agreement, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', NULL, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET village = ?5, eligibility = ?7, agreement = ?8",
        params![
            c.id.to_string(),
            c.device_id,
            c.officer_id,
            name(c.kind)?,
            c.village,
            c.accepted_on.to_string(),
            json(&c.eligibility)?,
            json(&c.agreement)?,
            c.opened_at.to_rfc3339(),
        ],
    )
    .map_err(|e| read_only_or(e, c.id))?;
    Ok(())
}

fn read_only_or(e: rusqlite::Error, id: Uuid) -> StoreError {
    if e.to_string().contains("read-only") { StoreError::ReadOnly(format!("mediation {id}")) } else { e.into() }
}

/// Close a case (finalized with its hash, or ended with an outcome) and enqueue it. From here the
/// row is read-only.
pub fn close_case(tx: &Transaction<'_>, c: &MediationCase, op_id: Uuid, now: DateTime<Utc>) -> Result<i64, StoreError> {
    if c.status == CaseStatus::Draft {
        return Err(StoreError::Corrupt("close_case needs a finalized or ended case".into()));
    }
    let changed = tx
        .execute(
            "UPDATE mediations SET status = ?2, outcome = ?3, agreement = ?4, content_hash = ?5, finalized_at = ?6,
                                   device_signature = ?7, document = ?8
             WHERE id = ?1",
            params![
                c.id.to_string(),
                name(c.status)?,
                c.outcome.map(name).transpose()?,
                json(&c.agreement)?,
                c.content_hash,
                c.finalized_at.map(|t| t.to_rfc3339()),
                c.device_signature,
                c.document,
            ],
        )
        .map_err(|e| read_only_or(e, c.id))?;
    if changed != 1 {
        return Err(StoreError::Missing { kind: "mediation", id: c.id.to_string() });
    }
    enqueue(tx, op_id, OpKind::Mediation, &c.id.to_string(), c, now)
}

/// A mediation case by id.
pub fn mediation(conn: &Connection, id: Uuid) -> Result<Option<MediationCase>, StoreError> {
    let row = conn
        .query_row(
            "SELECT device_id, officer_id, kind, village, accepted_on, status, outcome, eligibility, agreement,
                    content_hash, finalized_at, opened_at, device_signature, document FROM mediations WHERE id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, String>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, Option<String>>(13)?,
                ))
            },
        )
        .optional()?;
    let Some((
        device_id,
        officer_id,
        kind,
        village,
        accepted_on,
        status,
        outcome,
        elig,
        agreement,
        hash,
        fin,
        opened,
        sig,
        document,
    )) = row
    else {
        return Ok(None);
    };
    let time = |s: &str| s.parse::<DateTime<Utc>>().map_err(corrupt);
    Ok(Some(MediationCase {
        id,
        device_id,
        officer_id,
        kind: from_name(kind)?,
        village,
        accepted_on: accepted_on.parse().map_err(corrupt)?,
        opened_at: time(&opened)?,
        eligibility: serde_json::from_str(&elig).map_err(corrupt)?,
        status: from_name(status)?,
        outcome: outcome.map(from_name).transpose()?,
        agreement: serde_json::from_str(&agreement).map_err(corrupt)?,
        content_hash: hash,
        finalized_at: fin.as_deref().map(time).transpose()?,
        device_signature: sig,
        document,
    }))
}

/// The latest follow-up of a mediation, if any.
pub fn followup(conn: &Connection, mediation: Uuid) -> Result<Option<Followup>, StoreError> {
    let row: Option<(String, i64, String, String)> = conn
        .query_row(
            "SELECT id, performed, checked_on, note FROM mediation_followups WHERE mediation = ?1
             ORDER BY checked_on DESC, id DESC LIMIT 1",
            [mediation.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|(id, performed, checked_on, note)| {
        Ok(Followup {
            id: id.parse().map_err(corrupt)?,
            mediation,
            performed: performed != 0,
            checked_on: checked_on.parse().map_err(corrupt)?,
            note,
        })
    })
    .transpose()
}

/// Record a performance check and enqueue it.
pub fn insert_followup(tx: &Transaction<'_>, f: &Followup, op_id: Uuid, now: DateTime<Utc>) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO mediation_followups (id, mediation, performed, checked_on, note) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![f.id.to_string(), f.mediation.to_string(), f.performed, f.checked_on.to_string(), f.note],
    )?;
    enqueue(tx, op_id, OpKind::MediationFollowup, &f.id.to_string(), f, now)
}

/// Record a publicity session and enqueue it.
pub fn insert_publicity(
    tx: &Transaction<'_>,
    p: &PublicitySession,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO publicity_sessions (id, device_id, officer_id, village, topic, held_at, attendees, leaflets, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            p.id.to_string(),
            p.device_id,
            p.officer_id,
            p.village,
            name(p.topic)?,
            p.held_at.to_rfc3339(),
            p.attendees,
            p.leaflets,
            json(p)?
        ],
    )?;
    enqueue(tx, op_id, OpKind::Publicity, &p.id.to_string(), p, now)
}

/// Record a hazard (new, or its fix) and enqueue it. A fixed hazard is recorded by its id again with
/// `fixed_at` set.
pub fn put_hazard(tx: &Transaction<'_>, h: &Hazard, op_id: Uuid, now: DateTime<Utc>) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO hazards (id, device_id, officer_id, village, kind, found_at, deadline, fixed_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET fixed_at = ?8, body = ?9",
        params![
            h.id.to_string(),
            h.device_id,
            h.officer_id,
            h.village,
            name(h.kind)?,
            h.found_at.to_rfc3339(),
            h.deadline.map(|d| d.to_string()),
            h.fixed_at.map(|t| t.to_rfc3339()),
            json(h)?
        ],
    )?;
    enqueue(tx, op_id, OpKind::Hazard, &h.id.to_string(), h, now)
}

/// A hazard by id.
pub fn hazard(conn: &Connection, id: Uuid) -> Result<Option<Hazard>, StoreError> {
    let body: Option<String> =
        conn.query_row("SELECT body FROM hazards WHERE id = ?1", [id.to_string()], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

/// Record a satisfaction rating and enqueue it.
pub fn insert_rating(tx: &Transaction<'_>, r: &Rating, op_id: Uuid, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let (kind, id) = match &r.subject {
        RatingSubject::Visit(id) => ("visit", id),
        RatingSubject::ServiceRequest(id) => ("service_request", id),
        RatingSubject::Mediation(id) => ("mediation", id),
    };
    tx.execute(
        "INSERT INTO ratings (id, device_id, officer_id, subject_kind, subject_id, rating, rated_at, comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.id.to_string(),
            r.device_id,
            r.officer_id,
            kind,
            id.to_string(),
            r.rating.as_str(),
            r.rated_at.to_rfc3339(),
            r.comment
        ],
    )?;
    enqueue(tx, op_id, OpKind::Rating, &r.id.to_string(), r, now)
}

/// Store a blob under its SHA-256 (idempotent); returns the hash.
pub fn put_blob(tx: &Transaction<'_>, mime: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<String, StoreError> {
    let sha = sha256_hex(bytes);
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, mime, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sha, mime, bytes.len() as i64, bytes, now.to_rfc3339()],
    )?;
    Ok(sha)
}

/// A blob's bytes.
pub fn blob(conn: &Connection, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn.query_row("SELECT bytes FROM blobs WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
}

/// Append to the local audit log.
pub fn audit(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, subject) VALUES (?1, ?2, ?3, ?4)",
        params![at.to_rfc3339(), actor, action, subject],
    )?;
    Ok(())
}

/// One line of the tablet's audit log (unlocks, locks, unmaskings, discarded drafts…).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who (the officer).
    pub actor: String,
    /// What (`unlock`, `unmask_id_number`…).
    pub action: String,
    /// On what (a person, a record), if anything.
    pub subject: Option<String>,
    /// The person's name when the subject is a person of the register.
    pub subject_name: Option<String>,
}

/// The newest `limit` lines of the audit log, newest first; only the actions matching `action`
/// when given (a GLOB pattern: `unmask_id_number`, or `unmask_*` for every unmasking).
pub fn audit_entries(conn: &Connection, action: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.at, a.actor, a.action, a.subject, p.name FROM audit_log a LEFT JOIN persons p ON p.id = a.subject
         WHERE ?1 IS NULL OR a.action GLOB ?1 ORDER BY a.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![action, limit as i64], |r| {
        Ok(AuditEntry {
            at: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            subject: r.get(3)?,
            subject_name: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record a 司法确认 application, or its ruling (the same record, updated), and enqueue it.
pub fn upsert_judicial_confirmation(
    tx: &Transaction<'_>,
    j: &JudicialConfirmation,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO judicial_confirmations (id, mediation, applied_on, ruling, ruled_on, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET applied_on = excluded.applied_on, ruling = excluded.ruling,
                                       ruled_on = excluded.ruled_on, body = excluded.body",
        params![
            j.id.to_string(),
            j.mediation.to_string(),
            j.applied_on.to_string(),
            j.ruling.map(name).transpose()?,
            j.ruled_on.map(|d| d.to_string()),
            json(j)?,
        ],
    )?;
    enqueue(tx, op_id, OpKind::JudicialConfirmation, &j.id.to_string(), j, now)
}

/// The 司法确认 record of a mediation, if any.
pub fn judicial_confirmation(conn: &Connection, mediation: Uuid) -> Result<Option<JudicialConfirmation>, StoreError> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM judicial_confirmations WHERE mediation = ?1", [mediation.to_string()], |r| {
            r.get(0)
        })
        .optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(corrupt)).transpose()
}

/// Record a recurrence of a mediated dispute and enqueue it.
pub fn insert_recurrence(
    tx: &Transaction<'_>,
    r: &Recurrence,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO recurrences (id, mediation, kind, occurred_on, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.id.to_string(), r.mediation.to_string(), name(r.kind)?, r.occurred_on.to_string(), json(r)?],
    )?;
    enqueue(tx, op_id, OpKind::Recurrence, &r.id.to_string(), r, now)
}

/// The recurrences of a mediation, oldest first.
pub fn recurrences(conn: &Connection, mediation: Uuid) -> Result<Vec<Recurrence>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT body FROM recurrences WHERE mediation = ?1 ORDER BY occurred_on, id")?;
    let rows = stmt.query_map([mediation.to_string()], |r| r.get::<_, String>(0))?;
    rows.map(|b| -> Result<Recurrence, StoreError> { serde_json::from_str(&b?).map_err(corrupt) }).collect()
}

/// Record a 一标三实 correction for the station's review and enqueue it.
pub fn insert_registry_proposal(
    tx: &Transaction<'_>,
    p: &RegistryProposal,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO registry_proposals (id, village, household, category, proposed_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![p.id.to_string(), p.village, p.household, name(p.category)?, p.proposed_at.to_rfc3339(), json(p)?],
    )?;
    enqueue(tx, op_id, OpKind::RegistryProposal, &p.id.to_string(), p, now)
}

/// The corrections proposed for a household, newest first.
pub fn registry_proposals_of(conn: &Connection, household: &str) -> Result<Vec<RegistryProposal>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM registry_proposals WHERE household = ?1 ORDER BY proposed_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([household], |r| r.get::<_, String>(0))?;
    rows.map(|b| -> Result<RegistryProposal, StoreError> { serde_json::from_str(&b?).map_err(corrupt) }).collect()
}

/// Record a clue report and enqueue it.
pub fn insert_clue_report(
    tx: &Transaction<'_>,
    c: &ClueReport,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO clue_reports (id, village, category, reported_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![c.id.to_string(), c.village, name(c.category)?, c.reported_at.to_rfc3339(), json(c)?],
    )?;
    enqueue(tx, op_id, OpKind::ClueReport, &c.id.to_string(), c, now)
}
