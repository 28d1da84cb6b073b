//! Time limits of mediation (REFERENCE §2), counted in China's calendar dates.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::agreement::{Agreement, Effect};
use super::{MediationKind, Outcome};
use crate::calendar::{WorkCalendar, china_date};
use crate::ops::{CaseStatus, MediationCase};

/// 治安调解: a case needing no injury or valuation assessment is mediated within 3 working days of
/// acceptance; one needing it, within 3 working days after the assessment is issued (Art.9).
pub fn public_security_mediation_due(
    accepted_on: NaiveDate,
    assessment_issued_on: Option<NaiveDate>,
    calendar: &WorkCalendar,
) -> NaiveDate {
    calendar.add_working_days(assessment_issued_on.unwrap_or(accepted_on), 3)
}

/// 治安调解: a second session, the last one allowed, within 7 working days of the first.
pub fn second_session_due(first_session_on: NaiveDate, calendar: &WorkCalendar) -> NaiveDate {
    calendar.add_working_days(first_session_on, 7)
}

/// 人民调解: usually concluded within one month of acceptance (《人民调解工作若干规定》 Art.33).
pub fn people_mediation_due(accepted_on: NaiveDate) -> NaiveDate {
    accepted_on.checked_add_months(Months::new(1)).unwrap_or(accepted_on)
}

/// 人民调解: the parties may jointly apply for 司法确认 within 30 days of the agreement taking effect.
pub fn judicial_confirmation_deadline(effective_on: NaiveDate) -> NaiveDate {
    effective_on + chrono::Days::new(30)
}

/// 治安调解: the handling officer checks performance within 3 days after the performance deadline.
pub fn performance_check_due(performance_deadline: NaiveDate) -> NaiveDate {
    performance_deadline + chrono::Days::new(3)
}

/// The reminders that follow from an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementDeadlines {
    /// Performance deadline.
    pub performance: Option<NaiveDate>,
    /// Check of performance and follow-up visit (回访).
    pub follow_up: Option<NaiveDate>,
    /// Last day to apply for 司法确认 (人民调解, once in effect).
    pub judicial_confirmation: Option<NaiveDate>,
}

/// The reminders of an agreement in its current effect.
pub fn for_agreement(agreement: &Agreement, effect: Effect) -> AgreementDeadlines {
    let performance = agreement.performance.as_ref().map(|p| p.deadline);
    let follow_up = performance.map(|d| match agreement.kind {
        MediationKind::PublicSecurity => performance_check_due(d),
        MediationKind::People => d + chrono::Days::new(1),
    });
    let judicial_confirmation = match (agreement.kind, effect) {
        (MediationKind::People, Effect::Effective { at }) => Some(judicial_confirmation_deadline(china_date(at))),
        _ => None,
    };
    AgreementDeadlines { performance, follow_up, judicial_confirmation }
}

/// What a case leaves to do and by when, once finalized: the agreement's performance deadline, the
/// follow-up that checks it, and — for a written 人民调解 agreement — the last day to apply for
/// 司法确认, counted from the day it was concluded. The tablet's reminders and the supervisors'
/// list of deadlines both read this. `None` for a draft or a case ended without an agreement.
pub fn for_case(case: &MediationCase) -> Option<AgreementDeadlines> {
    if case.status != CaseStatus::Finalized {
        return None;
    }
    let mut d = for_agreement(&case.agreement, Effect::SealPending);
    if case.kind == MediationKind::People && case.outcome == Some(Outcome::WrittenAgreement) {
        d.judicial_confirmation = Some(judicial_confirmation_deadline(china_date(case.agreement.concluded_at)));
    }
    Some(d)
}
