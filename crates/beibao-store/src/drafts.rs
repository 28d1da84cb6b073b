//! Drafts: work under way, saved the moment it changes so an app kill or a flat battery loses
//! nothing. A visit draft is a row of `drafts` (its body the UI's form as JSON); a mediation
//! draft is a `mediations` row with status `draft`. Recording the finished work removes its draft
//! in the same transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{StoreError, corrupt};

/// What a draft is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// A household or enterprise visit.
    Visit,
    /// A mediation whose agreement is being drawn up.
    Mediation,
}

/// One draft in the list the officer resumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DraftSummary {
    /// The draft's id (the record's id once recorded).
    pub id: Uuid,
    /// Of what.
    pub kind: DraftKind,
    /// Household id, enterprise code or village code the draft is about.
    pub subject: String,
    /// The subject as the officer knows it: a household's head and address, an enterprise's or a
    /// village's name (the subject itself when the register no longer has it).
    pub label: String,
    /// When the work started.
    pub started_at: DateTime<Utc>,
}

/// Save (insert or replace) a visit draft's body.
pub fn save_visit(
    tx: &Transaction<'_>,
    id: Uuid,
    subject: &str,
    body: &str,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO drafts (id, kind, subject, body, started_at, updated_at) VALUES (?1, 'visit', ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET subject = ?2, body = ?3, started_at = ?4, updated_at = ?5",
        params![id.to_string(), subject, body, started_at.to_rfc3339(), now.to_rfc3339()],
    )?;
    Ok(())
}

/// A visit draft's body.
pub fn visit(conn: &Connection, id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT body FROM drafts WHERE id = ?1 AND kind = 'visit'", [id.to_string()], |r| r.get(0))
        .optional()?)
}

/// Every draft, newest first: visits being filled in and mediations not yet finalized or ended.
pub fn list(conn: &Connection) -> Result<Vec<DraftSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, 'visit', d.subject, d.started_at,
                coalesce(coalesce((SELECT p.name || ' · ' FROM persons p WHERE p.household = h.id AND p.relation = 'head'), '')
                    || h.address, e.name)
         FROM drafts d LEFT JOIN households h ON h.id = d.subject LEFT JOIN enterprises e ON e.code = d.subject
         UNION ALL
         SELECT m.id, 'mediation', m.village, m.opened_at, v.name_zh
         FROM mediations m LEFT JOIN villages v ON v.code = m.village WHERE m.status = 'draft'
         ORDER BY 4 DESC, 1",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, kind, subject, started, label) = row?;
        let subject = subject.unwrap_or_default();
        Ok(DraftSummary {
            id: Uuid::parse_str(&id).map_err(corrupt)?,
            kind: if kind == "visit" { DraftKind::Visit } else { DraftKind::Mediation },
            label: label.unwrap_or_else(|| subject.clone()),
            subject,
            started_at: DateTime::parse_from_rfc3339(&started).map_err(corrupt)?.with_timezone(&Utc),
        })
    })
    .collect()
}

/// Remove a draft (visit or mediation draft). Returns whether there was one; a finalized
/// mediation is not a draft and is never removed.
pub fn discard(tx: &Transaction<'_>, id: Uuid) -> Result<bool, StoreError> {
    let id = id.to_string();
    let visits = tx.execute("DELETE FROM drafts WHERE id = ?1", [&id])?;
    let mediations = tx.execute("DELETE FROM mediations WHERE id = ?1 AND status = 'draft'", [&id])?;
    Ok(visits + mediations > 0)
}
