//! What each record adds to the indicator counts (REFERENCE §5), as facts: a count key, the day
//! it counts on (China time), a value, and for the two distinct counts the thing counted once.
//! The server keeps these facts beside its records and sums them in SQL for any period and
//! grouping; the tablet's own totals (`beibao_store::queries::totals`) count the same things from
//! its tables, and a test holds the two to the same numbers on one dataset.
//!
//! Where a record changes (a hazard fixed, a 司法确认 ruled), its facts are replaced; where a
//! later event adds to a record (a request closed or delivered, an agreement performed), the event
//! has facts of its own.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{ClueReport, Hazard, PublicitySession, Rating, RegistryProposal, Satisfaction};
use crate::calendar::{WorkCalendar, china_date};
use crate::catalog::{Catalog, Mode};
use crate::indicators::CountKey;
use crate::mediation::after::{CourtRuling, JudicialConfirmation, Recurrence};
use crate::ops::{CaseStatus, Followup, MediationCase, OpRecord, StoredVisit};
use crate::service_request::{RequestState, ServiceRequest};
use crate::visit::VisitTarget;

/// One contribution to a count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The count it adds to.
    pub key: CountKey,
    /// The day it counts on.
    pub day: NaiveDate,
    /// How much (seconds for [`CountKey::PresenceMinutes`], see [`finish`]).
    pub value: i64,
    /// For a distinct count ([`is_distinct`]): what is counted once per group and period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

fn fact(key: CountKey, day: NaiveDate, value: i64) -> Fact {
    Fact { key, day, value, subject: None }
}

/// Counts of distinct subjects rather than sums: a household visited twice is one household
/// visited; an agreement checked twice and found performed is one agreement performed.
pub fn is_distinct(key: CountKey) -> bool {
    matches!(key, CountKey::HouseholdsVisited | CountKey::AgreementsPerformed)
}

/// The count from a group's aggregate: the sum (or the distinct count) as the facts hold it,
/// turned into the indicator's unit (presence facts carry seconds; the count is whole minutes,
/// rounded once over the sum, as the tablet rounds its own total).
pub fn finish(key: CountKey, aggregate: i64) -> u64 {
    let v = aggregate.max(0) as u64;
    match key {
        CountKey::PresenceMinutes => (v + 30) / 60,
        _ => v,
    }
}

/// The facts of a record that stands on its own: a visit, a mediation, a publicity session, a
/// hazard, a rating, a 司法确认, a recurrence, a 一标三实 proposal, a clue report. Requests, their
/// events and follow-ups need what the server holds: see [`of_request`], [`of_close`],
/// [`of_delivery`], [`of_followup`]. Facts of one record are replaced when it is recorded again.
pub fn of_record(rec: &OpRecord) -> Vec<Fact> {
    match rec {
        OpRecord::Visit(v) => of_visit(v),
        OpRecord::Mediation(c) => of_mediation(c),
        OpRecord::Publicity(p) => of_publicity(p),
        OpRecord::Hazard(h) => of_hazard(h),
        OpRecord::Rating(r) => of_rating(r),
        OpRecord::JudicialConfirmation(j) => of_judicial(j),
        OpRecord::Recurrence(r) => of_recurrence(r),
        OpRecord::RegistryProposal(p) => of_proposal(p),
        OpRecord::ClueReport(c) => of_clue(c),
        OpRecord::ServiceRequest(_) | OpRecord::RequestEvent(_) | OpRecord::MediationFollowup(_) => Vec::new(),
    }
}

fn of_visit(v: &StoredVisit) -> Vec<Fact> {
    let day = china_date(v.visit.started_at);
    let mut out = Vec::with_capacity(4);
    if let VisitTarget::Household(h) = &v.visit.target {
        out.push(Fact { key: CountKey::HouseholdsVisited, day, value: 1, subject: Some(h.clone()) });
    }
    out.push(fact(CountKey::PersonsMet, day, i64::from(v.visit.persons_met)));
    if v.special_group {
        out.push(fact(CountKey::SpecialGroupVisits, day, 1));
    }
    let seconds = (v.visit.ended_at - v.visit.started_at).num_seconds().max(0);
    out.push(fact(CountKey::PresenceMinutes, day, seconds));
    out
}

fn of_mediation(c: &MediationCase) -> Vec<Fact> {
    let mut out = vec![fact(CountKey::DisputesLogged, china_date(c.opened_at), 1)];
    if c.status != CaseStatus::Draft
        && let Some(at) = c.finalized_at
    {
        let day = china_date(at);
        out.push(fact(CountKey::MediationsConcluded, day, 1));
        if c.outcome.is_some_and(|o| o.is_resolved()) {
            out.push(fact(CountKey::DisputesResolved, day, 1));
        }
    }
    if c.status == CaseStatus::Finalized
        && let Some(p) = &c.agreement.performance
    {
        out.push(fact(CountKey::AgreementsDue, p.deadline, 1));
    }
    out
}

/// The deadline a finalized agreement is to be performed by, which its follow-ups count on.
pub fn performance_deadline(c: &MediationCase) -> Option<NaiveDate> {
    (c.status == CaseStatus::Finalized).then_some(c.agreement.performance.as_ref()?.deadline)
}

/// A follow-up that found the agreement performed counts the agreement once as performed, on the
/// agreement's deadline (the day its due count is on), when the agreement has one.
pub fn of_followup(f: &Followup, deadline: Option<NaiveDate>) -> Vec<Fact> {
    match deadline {
        Some(day) if f.performed => {
            vec![Fact { key: CountKey::AgreementsPerformed, day, value: 1, subject: Some(f.mediation.to_string()) }]
        }
        _ => Vec::new(),
    }
}

fn of_publicity(p: &PublicitySession) -> Vec<Fact> {
    let day = china_date(p.held_at);
    vec![
        fact(CountKey::PublicitySessions, day, 1),
        fact(CountKey::PublicityAttendees, day, i64::from(p.attendees)),
        fact(CountKey::LeafletsHandedOut, day, i64::from(p.leaflets)),
    ]
}

fn of_hazard(h: &Hazard) -> Vec<Fact> {
    let mut out = vec![fact(CountKey::HazardsFound, china_date(h.found_at), 1)];
    if let Some(at) = h.fixed_at {
        out.push(fact(CountKey::HazardsFixed, china_date(at), 1));
    }
    out
}

fn of_rating(r: &Rating) -> Vec<Fact> {
    let day = china_date(r.rated_at);
    let mut out = vec![fact(CountKey::Ratings, day, 1)];
    if r.rating == Satisfaction::Satisfied {
        out.push(fact(CountKey::RatingsSatisfied, day, 1));
    }
    out
}

fn of_judicial(j: &JudicialConfirmation) -> Vec<Fact> {
    match (j.ruling, j.ruled_on) {
        (Some(CourtRuling::Confirmed), Some(day)) => vec![fact(CountKey::JudicialConfirmations, day, 1)],
        _ => Vec::new(),
    }
}

fn of_recurrence(r: &Recurrence) -> Vec<Fact> {
    vec![fact(CountKey::Recurrences, r.occurred_on, 1)]
}

fn of_proposal(p: &RegistryProposal) -> Vec<Fact> {
    vec![fact(CountKey::InformationCollected, china_date(p.proposed_at), 1)]
}

fn of_clue(c: &ClueReport) -> Vec<Fact> {
    vec![fact(CountKey::CluesReported, china_date(c.reported_at), 1)]
}

/// The last day a request closes on time (its service's typical time in working days from the
/// day it was accepted), or `None` for a service the catalog does not know.
pub fn due_on(r: &ServiceRequest, catalog: &Catalog, calendar: &WorkCalendar) -> Option<NaiveDate> {
    let service = catalog.service(&r.service)?;
    Some(service.typical.due_from(china_date(r.accepted_at), calendar))
}

/// The facts of a request as accepted at the door: accepted, carried back, a tip reported
/// (ZA06). Completion on site comes later, by its own step ([`of_completion`]).
pub fn of_request(r: &ServiceRequest, due: Option<NaiveDate>) -> Vec<Fact> {
    let day = china_date(r.accepted_at);
    let mut out = vec![fact(CountKey::ServicesAccepted, day, 1)];
    if r.mode == Mode::CarryBack {
        out.push(fact(CountKey::ServicesCarriedBack, day, 1));
    }
    if r.service == "ZA06" {
        out.push(fact(CountKey::CluesReported, day, 1));
    }
    if r.state == RequestState::CompletedOnSite {
        out.extend(of_completion(&r.service, day, r.accepted_at, due));
    }
    out
}

/// A request completed on site at `at`: counted as completed on site (and for WA01 as an
/// anti-fraud app installed) on the day it was accepted, and closed on the day it was done.
pub fn of_completion(service: &str, accepted_on: NaiveDate, at: DateTime<Utc>, due: Option<NaiveDate>) -> Vec<Fact> {
    let mut out = vec![fact(CountKey::ServicesCompletedOnSite, accepted_on, 1)];
    if service == "WA01" {
        out.push(fact(CountKey::AntiFraudInstalls, accepted_on, 1));
    }
    out.extend(of_close(at, due));
    out
}

/// A request closed at `at`: closed, and on time when the day is not after `due`.
pub fn of_close(at: DateTime<Utc>, due: Option<NaiveDate>) -> Vec<Fact> {
    let day = china_date(at);
    let mut out = vec![fact(CountKey::ServicesClosed, day, 1)];
    if due.is_some_and(|d| day <= d) {
        out.push(fact(CountKey::ServicesClosedOnTime, day, 1));
    }
    out
}

/// A document delivered to the door at `at`.
pub fn of_delivery(at: DateTime<Utc>) -> Vec<Fact> {
    vec![fact(CountKey::DoorDeliveries, china_date(at), 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_rounds_the_sum_once() {
        assert_eq!(finish(CountKey::PresenceMinutes, 89), 1);
        assert_eq!(finish(CountKey::PresenceMinutes, 90), 2);
        assert_eq!(finish(CountKey::PersonsMet, 90), 90);
        assert_eq!(finish(CountKey::PersonsMet, -3), 0);
        assert!(is_distinct(CountKey::HouseholdsVisited) && !is_distinct(CountKey::PersonsMet));
    }
}
