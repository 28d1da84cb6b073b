//! What the officer asks the tablet: the day's work, household search, special groups not visited
//! lately, and own totals for every indicator.

use beibao_core::calendar::{WorkCalendar, china_offset};
use beibao_core::catalog::Catalog;
use beibao_core::indicators::{CountKey, Counts};
use beibao_core::ops::StoredVisit;
use beibao_core::registry::SpecialGroup;
use beibao_core::service_request::{ServiceRequest, closed_on_time};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::{StoreError, corrupt};

/// The UTC instants bounding China dates `[from, to]`.
pub fn day_bounds(from: NaiveDate, to: NaiveDate) -> (String, String) {
    let start = |d: NaiveDate| {
        china_offset()
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let end = to.checked_add_days(Days::new(1)).unwrap_or(to);
    (start(from).to_rfc3339(), start(end).to_rfc3339())
}

/// A household found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HouseholdHit {
    /// Household id.
    pub id: String,
    /// Village code.
    pub village: String,
    /// Village name.
    pub village_name: String,
    /// Address.
    pub address: String,
    /// Head of household.
    pub head: String,
    /// Special groups (stored names).
    pub groups: String,
    /// Last visit, if any.
    pub last_visit: Option<String>,
    /// Latitude of the house, where known.
    pub lat: Option<f64>,
    /// Longitude of the house, where known.
    pub lon: Option<f64>,
}

/// A village or enterprise the officer is assigned to, with when it was last visited.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssignedPlace {
    /// `village` or `enterprise`.
    pub kind: String,
    /// Its code.
    pub code: String,
    /// Name (zh-CN).
    pub name_zh: String,
    /// Name (English; an enterprise's Chinese name).
    pub name_en: String,
    /// Households (a village's; 0 for an enterprise).
    pub households: u32,
    /// Special-group households among them.
    pub special_households: u32,
    /// The last visit there (RFC 3339), if any.
    pub last_visit: Option<String>,
    /// Whole China days since that visit.
    pub days_since_visit: Option<i64>,
}

/// The officer's villages and enterprises, villages first, each with its last visit.
pub fn assigned_places(conn: &Connection, officer: &str, today: NaiveDate) -> Result<Vec<AssignedPlace>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.kind, a.target,
                coalesce(v.name_zh, e.name, a.target), coalesce(v.name_en, e.name, a.target),
                (SELECT count(*) FROM households h WHERE a.kind = 'village' AND h.village = a.target),
                (SELECT count(*) FROM households h WHERE a.kind = 'village' AND h.village = a.target AND h.groups != ''),
                CASE a.kind
                    WHEN 'village' THEN (SELECT max(started_at) FROM visits w WHERE w.village = a.target)
                    ELSE (SELECT max(started_at) FROM visits w
                          WHERE w.target_kind = 'enterprise' AND w.target_id = a.target)
                END
         FROM assignments a
         LEFT JOIN villages v ON a.kind = 'village' AND v.code = a.target
         LEFT JOIN enterprises e ON a.kind = 'enterprise' AND e.code = a.target
         WHERE a.officer = ?1
         ORDER BY a.kind DESC, a.target",
    )?;
    let rows = stmt.query_map([officer], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, code, name_zh, name_en, households, special, last_visit) = row?;
        let days_since_visit = last_visit.as_deref().map(|t| days_since(t, today)).transpose()?;
        out.push(AssignedPlace {
            kind,
            code,
            name_zh,
            name_en,
            households: households as u32,
            special_households: special as u32,
            last_visit,
            days_since_visit,
        });
    }
    Ok(out)
}

const HIT_SELECT: &str = "SELECT h.id, h.village, v.name_zh, h.address,
        (SELECT name FROM persons p WHERE p.household = h.id AND p.relation = 'head'),
        h.groups,
        (SELECT max(started_at) FROM visits w WHERE w.target_kind = 'household' AND w.target_id = h.id) AS last_visit,
        h.lat, h.lon
     FROM households h JOIN villages v ON v.code = h.village";

fn hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<HouseholdHit> {
    Ok(HouseholdHit {
        id: r.get(0)?,
        village: r.get(1)?,
        village_name: r.get(2)?,
        address: r.get(3)?,
        head: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        groups: r.get(5)?,
        last_visit: r.get(6)?,
        lat: r.get(7)?,
        lon: r.get(8)?,
    })
}

/// Search households by a member's name (or its beginning: a surname), the last 4 or 6
/// characters of an ID number, or a fragment of the address (3 characters or more); optionally
/// within one village. Every branch runs on an index.
pub fn search_households(
    conn: &Connection,
    query: &str,
    village: Option<&str>,
    limit: usize,
) -> Result<Vec<HouseholdHit>, StoreError> {
    let q = query.trim();
    let tail = q.to_uppercase();
    let is_tail = (tail.len() == 4 || tail.len() == 6)
        && tail.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == tail.len() - 1 && b == b'X'));
    // GLOB is case-sensitive and can use the name index when the pattern is a bound parameter
    // without a leading wildcard; the user's own wildcard characters are dropped.
    let name_prefix = format!("{}*", q.replace(['*', '?', '['], ""));
    // A quoted FTS5 phrase: a substring of the address under the trigram tokenizer.
    let phrase = (q.chars().count() >= 3).then(|| format!("\"{}\"", q.replace('"', "\"\"")));
    // Candidates from each index, united; the sort and limit on ids alone; the display columns
    // (head, last visit) only for the rows returned. Within a village the village's households
    // come first (`+` keeps the planner off the name index, which would visit every 王 in the
    // district); district-wide the name, tail and address indexes lead.
    let cand = match village {
        Some(_) => {
            "SELECT p.household FROM households x JOIN persons p ON p.household = x.id
                 WHERE x.village = ?3 AND (+p.name GLOB ?1
                     OR (?4 AND length(?2) = 4 AND substr(p.id_number, -4) = ?2)
                     OR (?4 AND length(?2) = 6 AND substr(p.id_number, -6) = ?2))
             UNION SELECT x.id FROM households_fts f JOIN households x ON x.rowid = f.rowid
                 WHERE ?5 IS NOT NULL AND households_fts MATCH ?5 AND x.village = ?3"
        }
        None => {
            "SELECT household FROM persons WHERE name GLOB ?1
             UNION SELECT household FROM persons WHERE ?4 AND length(?2) = 4 AND substr(id_number, -4) = ?2
             UNION SELECT household FROM persons WHERE ?4 AND length(?2) = 6 AND substr(id_number, -6) = ?2
             UNION SELECT x.id FROM households_fts f JOIN households x ON x.rowid = f.rowid
                 WHERE ?5 IS NOT NULL AND households_fts MATCH ?5"
        }
    };
    let sql = format!(
        "WITH cand(id) AS ({cand}),
         picked(id) AS (SELECT id FROM cand ORDER BY id LIMIT ?6)
         {HIT_SELECT} JOIN picked ON picked.id = h.id
         ORDER BY h.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![name_prefix, tail, village, is_tail, phrase, limit as i64], hit)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Households with 孤寡老人, 留守儿童, 残疾人 or 特困 members in the officer's villages, not visited
/// in the last `days` days (or never), oldest first. Each household's last visit is looked up once
/// (the `visits_target` index), among the officer's villages' households only.
pub fn special_groups_not_visited(
    conn: &Connection,
    officer: &str,
    today: NaiveDate,
    days: u64,
) -> Result<Vec<HouseholdHit>, StoreError> {
    let since = today.checked_sub_days(Days::new(days)).unwrap_or(today);
    let (since, _) = day_bounds(since, since);
    let mut stmt = conn.prepare_cached(&format!(
        "WITH hits AS ({HIT_SELECT}
           JOIN assignments a ON a.kind = 'village' AND a.target = h.village
           WHERE a.officer = ?2 AND (h.groups LIKE '%elderly_alone%' OR h.groups LIKE '%left_behind_child%'
              OR h.groups LIKE '%disabled%' OR h.groups LIKE '%tekun%'))
         SELECT * FROM hits WHERE last_visit IS NULL OR last_visit < ?1
         ORDER BY coalesce(last_visit, ''), id"
    ))?;
    let rows = stmt.query_map(params![since, officer], hit)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One line of the day view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayItem {
    /// `visit`, `phoned_in`, `delivery`, `follow_up`, `deadline`, `hazard`.
    pub kind: &'static str,
    /// Record id.
    pub id: String,
    /// What it is about, in people's words: the household head or enterprise visited; the service
    /// (zh-CN) and the applicant; the agreement's parties; the hazard's kind (a code the app
    /// translates).
    pub title: String,
    /// The household it concerns, when there is one (the app opens it on a tap).
    pub household: Option<String>,
    /// The date or time that matters (RFC 3339 for a visit, a China date otherwise).
    pub when: String,
    /// Working days from today to `when` for a follow-up, deadline or hazard: 0 today, negative
    /// once overdue.
    pub working_days: Option<i64>,
}

/// Working days from `today` to `due` (negative when `due` has passed).
pub fn working_days_left(calendar: &WorkCalendar, today: NaiveDate, due: NaiveDate) -> i64 {
    if due >= today {
        i64::from(calendar.working_days_between(today, due))
    } else {
        -i64::from(calendar.working_days_between(due, today))
    }
}

/// The officer's day: visits made today, documents waiting to be delivered, agreements whose
/// follow-up falls within a week, requests whose typical time runs out within three days, hazards
/// whose deadline falls within a week; deadlines are also counted in working days.
pub fn officer_day(
    conn: &Connection,
    today: NaiveDate,
    catalog: &Catalog,
    calendar: &WorkCalendar,
) -> Result<Vec<DayItem>, StoreError> {
    let mut out = Vec::new();
    let (start, end) = day_bounds(today, today);
    let mut stmt = conn.prepare_cached(
        "SELECT v.id, v.target_kind, v.target_id, v.started_at,
                coalesce((SELECT name FROM persons p WHERE p.household = v.target_id AND p.relation = 'head'),
                         (SELECT name FROM enterprises e WHERE e.code = v.target_id), v.target_id)
         FROM visits v WHERE v.started_at >= ?1 AND v.started_at < ?2 ORDER BY v.started_at",
    )?;
    for row in stmt.query_map([&start, &end], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
    })? {
        let (id, kind, target, when, title) = row?;
        let household = (kind == "household").then_some(target);
        out.push(DayItem { kind: "visit", id, title, household, when, working_days: None });
    }
    // Services residents phoned in to the desk, until one is accepted for the household.
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.service, p.household, p.taken_at,
                coalesce((SELECT name FROM persons m WHERE m.id = p.applicant),
                         (SELECT name FROM persons m WHERE m.household = p.household AND m.relation = 'head'),
                         p.household)
         FROM phoned_in p WHERE p.request IS NULL ORDER BY p.taken_at",
    )?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?))
    })? {
        let (id, service, household, taken_at, who): (String, String, String, String, String) = row?;
        let name = catalog.service(&service).map_or(service.as_str(), |s| s.name.zh.as_str());
        let title = format!("{name} · {who}");
        let taken: DateTime<Utc> = taken_at.parse().map_err(corrupt)?;
        let when = beibao_core::calendar::china_date(taken).to_string();
        out.push(DayItem { kind: "phoned_in", id, title, household: Some(household), when, working_days: None });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.service, r.household, r.accepted_at, r.state,
                coalesce((SELECT name FROM persons p WHERE p.id = r.applicant), r.applicant)
         FROM service_requests r
         WHERE r.state NOT IN ('closed', 'completed_on_site', 'rejected', 'withdrawn') ORDER BY r.accepted_at",
    )?;
    let week = today.checked_add_days(Days::new(7)).unwrap_or(today);
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })? {
        let (id, service, household, accepted_at, state, applicant) = row?;
        let entry = catalog.service(&service);
        let title = format!("{} · {applicant}", entry.map_or(service.as_str(), |s| s.name.zh.as_str()));
        if state == "ready_to_deliver" {
            let when = today.to_string();
            out.push(DayItem { kind: "delivery", id, title, household, when, working_days: None });
            continue;
        }
        let accepted: DateTime<Utc> = accepted_at.parse().map_err(corrupt)?;
        if let Some(s) = entry {
            let due = s.typical.due_from(beibao_core::calendar::china_date(accepted), calendar);
            if due <= today.checked_add_days(Days::new(3)).unwrap_or(today) {
                out.push(DayItem {
                    kind: "deadline",
                    id,
                    title,
                    household,
                    when: due.to_string(),
                    working_days: Some(working_days_left(calendar, today, due)),
                });
            }
        }
    }
    // Finalized agreements, each read once: its performance follow-up, due within the week and
    // not yet recorded; and (人民调解法 Art.33) the last week of the 30 days in which the parties
    // may apply for 司法确认 of a written 人民调解 agreement (its effect taken as the day it was
    // concluded), until an application is recorded.
    let mut stmt = conn.prepare_cached(
        "SELECT id, agreement,
                NOT EXISTS (SELECT 1 FROM mediation_followups f WHERE f.mediation = m.id),
                kind = 'people' AND outcome = 'written_agreement'
                    AND NOT EXISTS (SELECT 1 FROM judicial_confirmations j WHERE j.mediation = m.id)
         FROM mediations m WHERE status = 'finalized'",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?, r.get::<_, bool>(3)?))
    })?;
    for row in rows {
        let (id, agreement, follow_up_open, window_open) = row?;
        if !follow_up_open && !window_open {
            continue;
        }
        let a: beibao_core::mediation::agreement::Agreement = serde_json::from_str(&agreement).map_err(corrupt)?;
        let title = || {
            let parties: Vec<&str> = a.parties.iter().map(|p| p.name.as_str()).collect();
            format!("{} · {}", parties.join("、"), a.place)
        };
        let item = |kind: &'static str, due: NaiveDate| DayItem {
            kind,
            id: id.clone(),
            title: title(),
            household: None,
            when: due.to_string(),
            working_days: Some(working_days_left(calendar, today, due)),
        };
        if let Some(p) = a.performance.as_ref().filter(|p| follow_up_open && p.deadline <= week) {
            out.push(item("follow_up", p.deadline));
        }
        let last = beibao_core::mediation::deadlines::judicial_confirmation_deadline(
            beibao_core::calendar::china_date(a.concluded_at),
        );
        if window_open && (today..=week).contains(&last) {
            out.push(item("judicial_window", last));
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, deadline FROM hazards WHERE fixed_at IS NULL AND deadline IS NOT NULL AND deadline <= ?1 ORDER BY deadline",
    )?;
    for row in
        stmt.query_map([week.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?
    {
        let (id, kind, when): (String, String, String) = row?;
        let due: NaiveDate = when.parse().map_err(corrupt)?;
        let working_days = Some(working_days_left(calendar, today, due));
        out.push(DayItem { kind: "hazard", id, title: kind, household: None, when, working_days });
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str, from: &str, to: &str) -> Result<u64, StoreError> {
    let n: i64 = conn.prepare_cached(sql)?.query_row([from, to], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// The officer's own counts over China dates `[from, to]`, for every indicator of beibao-core that
/// the tablet records.
pub fn totals(
    conn: &Connection,
    officer: &str,
    from: NaiveDate,
    to: NaiveDate,
    catalog: &Catalog,
    calendar: &WorkCalendar,
) -> Result<Counts, StoreError> {
    let (a, b) = day_bounds(from, to);
    let (a, b) = (a.as_str(), b.as_str());
    let mut c = Counts::new();
    // One pass over the period's visits, read from the covering index `visits_period`.
    let (households, persons, special, minutes): (i64, i64, i64, i64) = conn
        .prepare_cached(
            "SELECT count(DISTINCT CASE WHEN target_kind = 'household' THEN target_id END),
                coalesce(sum(persons_met), 0), coalesce(sum(special_group), 0),
                CAST(round(coalesce(sum((julianday(ended_at) - julianday(started_at)) * 1440), 0)) AS INTEGER)
         FROM visits INDEXED BY visits_period WHERE started_at >= ?1 AND started_at < ?2",
        )?
        .query_row([a, b], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    c.insert(CountKey::HouseholdsVisited, households.max(0) as u64);
    c.insert(CountKey::PersonsMet, persons.max(0) as u64);
    c.insert(CountKey::SpecialGroupVisits, special.max(0) as u64);
    c.insert(CountKey::PresenceMinutes, minutes.max(0) as u64);
    let accepted = "FROM service_requests WHERE accepted_at >= ?1 AND accepted_at < ?2";
    c.insert(CountKey::ServicesAccepted, count(conn, &format!("SELECT count(*) {accepted}"), a, b)?);
    c.insert(
        CountKey::ServicesCompletedOnSite,
        count(conn, &format!("SELECT count(*) {accepted} AND state = 'completed_on_site'"), a, b)?,
    );
    c.insert(
        CountKey::ServicesCarriedBack,
        count(conn, &format!("SELECT count(*) {accepted} AND mode = 'carry_back'"), a, b)?,
    );
    c.insert(
        CountKey::AntiFraudInstalls,
        count(conn, &format!("SELECT count(*) {accepted} AND service = 'WA01' AND state = 'completed_on_site'"), a, b)?,
    );
    // Clues: the ZA06 service's tip reports and the clue reports of their own.
    let za06 = count(conn, &format!("SELECT count(*) {accepted} AND service = 'ZA06'"), a, b)?;
    let clues = count(conn, "SELECT count(*) FROM clue_reports WHERE reported_at >= ?1 AND reported_at < ?2", a, b)?;
    c.insert(CountKey::CluesReported, za06 + clues);
    c.insert(
        CountKey::InformationCollected,
        count(conn, "SELECT count(*) FROM registry_proposals WHERE proposed_at >= ?1 AND proposed_at < ?2", a, b)?,
    );
    c.insert(
        CountKey::DoorDeliveries,
        count(conn, "SELECT count(*) FROM request_events WHERE to_state = 'delivered' AND at >= ?1 AND at < ?2", a, b)?,
    );
    // Closed (and on time): terminal states reached in the period, except rejected and withdrawn.
    let mut stmt = conn.prepare_cached(
        "SELECT service, accepted_at, closed_at FROM service_requests
         WHERE closed_at >= ?1 AND closed_at < ?2 AND state IN ('closed', 'completed_on_site')",
    )?;
    let (mut closed, mut on_time) = (0u64, 0u64);
    for row in
        stmt.query_map([a, b], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
    {
        let (service, accepted_at, closed_at) = row?;
        closed += 1;
        let acc: DateTime<Utc> = accepted_at.parse().map_err(corrupt)?;
        let clo: DateTime<Utc> = closed_at.parse().map_err(corrupt)?;
        let china = beibao_core::calendar::china_date;
        if catalog.service(&service).is_some_and(|s| closed_on_time(s, china(acc), china(clo), calendar)) {
            on_time += 1;
        }
    }
    c.insert(CountKey::ServicesClosed, closed);
    c.insert(CountKey::ServicesClosedOnTime, on_time);
    let opened = "FROM mediations WHERE opened_at >= ?1 AND opened_at < ?2";
    c.insert(CountKey::DisputesLogged, count(conn, &format!("SELECT count(*) {opened}"), a, b)?);
    let concluded = "FROM mediations WHERE status <> 'draft' AND finalized_at >= ?1 AND finalized_at < ?2";
    c.insert(CountKey::MediationsConcluded, count(conn, &format!("SELECT count(*) {concluded}"), a, b)?);
    c.insert(
        CountKey::DisputesResolved,
        count(
            conn,
            &format!("SELECT count(*) {concluded} AND outcome IN ('written_agreement', 'oral_agreement', 'settled_and_approved')"),
            a,
            b,
        )?,
    );
    c.insert(
        CountKey::AgreementsDue,
        count(
            conn,
            "SELECT count(*) FROM mediations WHERE status = 'finalized'
             AND json_extract(agreement, '$.performance.deadline') >= ?1
             AND json_extract(agreement, '$.performance.deadline') < ?2",
            &from.to_string(),
            &to.checked_add_days(Days::new(1)).unwrap_or(to).to_string(),
        )?,
    );
    c.insert(
        CountKey::AgreementsPerformed,
        count(
            conn,
            "SELECT count(*) FROM mediations m WHERE status = 'finalized'
             AND json_extract(agreement, '$.performance.deadline') >= ?1
             AND json_extract(agreement, '$.performance.deadline') < ?2
             AND EXISTS (SELECT 1 FROM mediation_followups f WHERE f.mediation = m.id AND f.performed = 1)",
            &from.to_string(),
            &to.checked_add_days(Days::new(1)).unwrap_or(to).to_string(),
        )?,
    );
    // Dates, not instants: the ruling's day and the day a dispute came back.
    let (first, last) = (from.to_string(), to.to_string());
    c.insert(
        CountKey::JudicialConfirmations,
        count(
            conn,
            "SELECT count(*) FROM judicial_confirmations WHERE ruling = 'confirmed' AND ruled_on >= ?1 AND ruled_on <= ?2",
            &first,
            &last,
        )?,
    );
    c.insert(
        CountKey::Recurrences,
        count(conn, "SELECT count(*) FROM recurrences WHERE occurred_on >= ?1 AND occurred_on <= ?2", &first, &last)?,
    );
    let held = "FROM publicity_sessions WHERE held_at >= ?1 AND held_at < ?2";
    c.insert(CountKey::PublicitySessions, count(conn, &format!("SELECT count(*) {held}"), a, b)?);
    c.insert(CountKey::PublicityAttendees, count(conn, &format!("SELECT coalesce(sum(attendees), 0) {held}"), a, b)?);
    c.insert(CountKey::LeafletsHandedOut, count(conn, &format!("SELECT coalesce(sum(leaflets), 0) {held}"), a, b)?);
    c.insert(
        CountKey::HazardsFound,
        count(conn, "SELECT count(*) FROM hazards WHERE found_at >= ?1 AND found_at < ?2", a, b)?,
    );
    c.insert(
        CountKey::HazardsFixed,
        count(conn, "SELECT count(*) FROM hazards WHERE fixed_at >= ?1 AND fixed_at < ?2", a, b)?,
    );
    let rated = "FROM ratings WHERE rated_at >= ?1 AND rated_at < ?2";
    c.insert(CountKey::Ratings, count(conn, &format!("SELECT count(*) {rated}"), a, b)?);
    c.insert(
        CountKey::RatingsSatisfied,
        count(conn, &format!("SELECT count(*) {rated} AND rating = 'satisfied'"), a, b)?,
    );
    let villages: i64 =
        conn.query_row("SELECT count(*) FROM assignments WHERE officer = ?1 AND kind = 'village'", [officer], |r| {
            r.get(0)
        })?;
    c.insert(CountKey::VillagesInScope, villages.max(0) as u64);
    Ok(c)
}

/// A household on the village map and in its list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MapHousehold {
    /// Household id.
    pub id: String,
    /// Address.
    pub address: String,
    /// Head of household.
    pub head: String,
    /// Every member's name (searched by name and by pinyin initials).
    pub members: Vec<String>,
    /// The members' special groups.
    pub groups: Vec<SpecialGroup>,
    /// Latitude of the house, where known.
    pub lat: Option<f64>,
    /// Longitude of the house, where known.
    pub lon: Option<f64>,
    /// The last visit (RFC 3339), if any.
    pub last_visit: Option<String>,
    /// Whole China days since that visit.
    pub days_since_visit: Option<i64>,
}

/// Whole China days from an RFC 3339 instant to `today`.
fn days_since(at: &str, today: NaiveDate) -> Result<i64, StoreError> {
    let at = DateTime::parse_from_rfc3339(at).map_err(corrupt)?.with_timezone(&Utc);
    Ok((today - beibao_core::calendar::china_date(at)).num_days())
}

/// Every household of a village with its members' names, groups and last visit, by id.
pub fn village_households(
    conn: &Connection,
    village: &str,
    only: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<MapHousehold>, StoreError> {
    // Names joined with U+001F (never in a name).
    let mut stmt = conn.prepare_cached(
        "SELECT h.id, h.address, h.lat, h.lon, h.groups,
                (SELECT name FROM persons p WHERE p.household = h.id AND p.relation = 'head'),
                (SELECT group_concat(name, char(31)) FROM (SELECT name FROM persons p WHERE p.household = h.id ORDER BY rowid)),
                (SELECT max(started_at) FROM visits w WHERE w.target_kind = 'household' AND w.target_id = h.id)
         FROM households h WHERE h.village = ?1 AND (?2 IS NULL OR h.id = ?2) ORDER BY h.id",
    )?;
    let rows = stmt.query_map(params![village, only], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<f64>>(2)?,
            r.get::<_, Option<f64>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    rows.map(|row| {
        let (id, address, lat, lon, groups, head, members, last_visit) = row?;
        Ok(MapHousehold {
            id,
            address,
            head: head.unwrap_or_default(),
            members: members.map(|m| m.split('\u{1f}').map(str::to_owned).collect()).unwrap_or_default(),
            groups: crate::registry::parse_groups(&groups)?,
            lat,
            lon,
            days_since_visit: last_visit.as_deref().map(|t| days_since(t, today)).transpose()?,
            last_visit,
        })
    })
    .collect()
}

/// True when the officer is assigned the village (its households are the officer's to see).
pub fn assigned_village(conn: &Connection, officer: &str, village: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM assignments WHERE officer = ?1 AND kind = 'village' AND target = ?2")?
        .exists(params![officer, village])?)
}

/// Whether the enterprise is assigned to the officer.
pub fn assigned_enterprise(conn: &Connection, officer: &str, enterprise: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM assignments WHERE officer = ?1 AND kind = 'enterprise' AND target = ?2")?
        .exists(params![officer, enterprise])?)
}

/// An enterprise's visits, newest first (at most `limit`).
pub fn enterprise_visits(conn: &Connection, enterprise: &str, limit: usize) -> Result<Vec<StoredVisit>, StoreError> {
    target_visits(conn, "enterprise", enterprise, limit)
}

/// The mediations recorded on this tablet in a village whose parties include one of `id_numbers`
/// (a household's members), newest first (at most `limit`).
pub fn mediations_of(
    conn: &Connection,
    village: &str,
    id_numbers: &[&str],
    limit: usize,
) -> Result<Vec<MediationLine>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, status, outcome, opened_at, agreement FROM mediations WHERE village = ?1
         ORDER BY opened_at DESC, id",
    )?;
    let rows = stmt.query_map([village], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, status, outcome, opened_at, agreement) = row?;
        let a: beibao_core::mediation::agreement::Agreement = serde_json::from_str(&agreement).map_err(corrupt)?;
        if !a.parties.iter().any(|p| id_numbers.contains(&p.id_number.as_str())) {
            continue;
        }
        out.push(MediationLine {
            id: id.parse().map_err(corrupt)?,
            kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(corrupt)?,
            status,
            outcome: outcome
                .map(|o| serde_json::from_value(serde_json::Value::String(o)))
                .transpose()
                .map_err(corrupt)?,
            opened_at: opened_at.parse().map_err(corrupt)?,
            parties: a.parties.iter().map(|p| p.name.clone()).collect(),
            serial: a.serial,
        });
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// One mediation as a household screen lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationLine {
    /// Case id.
    pub id: uuid::Uuid,
    /// 人民调解 or 治安调解.
    pub kind: beibao_core::mediation::MediationKind,
    /// `draft`, `finalized` or `ended`.
    pub status: String,
    /// How it ended, once it has.
    pub outcome: Option<beibao_core::mediation::Outcome>,
    /// When the case was opened.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub opened_at: DateTime<Utc>,
    /// The parties' names.
    pub parties: Vec<String>,
    /// The 协议书 serial, once finalized.
    pub serial: Option<String>,
}

/// A household's visits, newest first (at most `limit`).
pub fn household_visits(conn: &Connection, household: &str, limit: usize) -> Result<Vec<StoredVisit>, StoreError> {
    target_visits(conn, "household", household, limit)
}

fn target_visits(conn: &Connection, kind: &str, id: &str, limit: usize) -> Result<Vec<StoredVisit>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM visits WHERE target_kind = ?1 AND target_id = ?2
         ORDER BY started_at DESC, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![kind, id, limit as i64], |r| r.get::<_, String>(0))?;
    rows.map(|b| serde_json::from_str(&b?).map_err(corrupt)).collect()
}

/// A household's service requests, newest first (at most `limit`).
pub fn household_requests(conn: &Connection, household: &str, limit: usize) -> Result<Vec<ServiceRequest>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT body, state FROM service_requests WHERE household = ?1 ORDER BY accepted_at DESC, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![household, limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    rows.map(|row| {
        let (body, state) = row?;
        crate::records::request_from(&body, state)
    })
    .collect()
}

/// One step of a service request's life, as its timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimelineStep {
    /// The state the request reached.
    pub state: beibao_core::service_request::RequestState,
    /// When (the tablet's clock for its own steps, the server's for the desk's); `None` for a desk
    /// move pulled from a server that did not say.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub at: Option<DateTime<Utc>>,
    /// Who moved it: the officer's id, or `desk:<account>`.
    pub by: String,
    /// Moved at the station desk (and pulled by sync).
    pub desk: bool,
    /// Why, for a rejection or withdrawal.
    pub reason: Option<String>,
}

/// A request's timeline: acceptance, every step taken on this tablet and every desk move pulled
/// (only those applied: a desk move the tablet's own pending step overrode is left out), in the
/// order of the request's path.
pub fn request_timeline(conn: &Connection, request: &ServiceRequest) -> Result<Vec<TimelineStep>, StoreError> {
    let id = request.id.to_string();
    let mut steps = vec![TimelineStep {
        state: beibao_core::service_request::initial_state(request.mode),
        at: Some(request.accepted_at),
        by: request.officer_id.clone(),
        desk: false,
        reason: None,
    }];
    let mut stmt = conn.prepare_cached("SELECT body FROM request_events WHERE request = ?1 ORDER BY at, id")?;
    for body in stmt.query_map([&id], |r| r.get::<_, String>(0))? {
        let e: beibao_core::ops::RequestEvent = serde_json::from_str(&body?).map_err(corrupt)?;
        steps.push(TimelineStep {
            state: e.transition.to,
            at: Some(e.at),
            by: e.officer_id,
            desk: false,
            reason: e.transition.reason,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM pulled WHERE kind = 'request_state' AND key = ?1 AND applied = 'stored' ORDER BY cursor",
    )?;
    for body in stmt.query_map([&id], |r| r.get::<_, String>(0))? {
        let c: beibao_core::change::RequestStateChange = serde_json::from_str(&body?).map_err(corrupt)?;
        steps.push(TimelineStep { state: c.state, at: c.at, by: c.by, desk: true, reason: c.reason });
    }
    // Along the request's path: a request never returns to a state, and the tablet's clock and
    // the server's need not agree, so the state orders the steps (the time only breaks ties).
    steps.sort_by_key(|s| (s.state, s.at));
    Ok(steps)
}
