//! The payloads of outbox ops: what a tablet records, freezes into its outbox and pushes, and what
//! the server parses and checks with the same rules. One type per [`OpKind`].

use crate::code::Code;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::activity::{ClueReport, Hazard, PublicitySession, Rating, RegistryProposal};
use crate::catalog::Catalog;
use crate::mediation::after::{JudicialConfirmation, Recurrence};
use crate::mediation::agreement::Agreement;
use crate::mediation::eligibility::EligibilityInput;
use crate::mediation::{MediationKind, Outcome};
use crate::service_request::{ServiceRequest, Transition, mode_allowed};
use crate::visit::{ProofVerdict, Visit};

/// Kinds of ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// A visit record.
    Visit,
    /// A new service request.
    ServiceRequest,
    /// A service-request transition.
    RequestEvent,
    /// A finalized mediation agreement (or an ended mediation).
    Mediation,
    /// A performance check of an agreement.
    MediationFollowup,
    /// A publicity session.
    Publicity,
    /// A hazard found or fixed.
    Hazard,
    /// A satisfaction rating.
    Rating,
    /// 司法确认 applied for (and its ruling).
    JudicialConfirmation,
    /// A mediated dispute that came back or turned criminal.
    Recurrence,
    /// A 一标三实 correction proposed for the station's review.
    RegistryProposal,
    /// A clue reported.
    ClueReport,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 12] = [
        OpKind::Visit,
        OpKind::ServiceRequest,
        OpKind::RequestEvent,
        OpKind::Mediation,
        OpKind::MediationFollowup,
        OpKind::Publicity,
        OpKind::Hazard,
        OpKind::Rating,
        OpKind::JudicialConfirmation,
        OpKind::Recurrence,
        OpKind::RegistryProposal,
        OpKind::ClueReport,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Visit => "visit",
            OpKind::ServiceRequest => "service_request",
            OpKind::RequestEvent => "request_event",
            OpKind::Mediation => "mediation",
            OpKind::MediationFollowup => "mediation_followup",
            OpKind::Publicity => "publicity",
            OpKind::Hazard => "hazard",
            OpKind::Rating => "rating",
            OpKind::JudicialConfirmation => "judicial_confirmation",
            OpKind::Recurrence => "recurrence",
            OpKind::RegistryProposal => "registry_proposal",
            OpKind::ClueReport => "clue_report",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A visit as stored: the record, its proof-of-visit verdict, whether it reached a special group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredVisit {
    /// The record.
    pub visit: Visit,
    /// The verdict at the time of the visit.
    pub verdict: ProofVerdict,
    /// The household has 孤寡老人, 留守儿童, 残疾人 or 特困 members.
    pub special_group: bool,
}

/// A transition of a service request made on the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    /// Event id.
    pub id: Uuid,
    /// The request.
    pub request: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// The step.
    pub transition: Transition,
    /// When (device clock).
    pub at: DateTime<Utc>,
}

/// Where a mediation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Being filled in on the tablet; not synced.
    Draft,
    /// Agreement signed and hashed; read-only.
    Finalized,
    /// Ended without an agreement (failed, referred, refused); read-only.
    Ended,
}

impl CaseStatus {
    /// The status's name.
    pub fn name(self) -> crate::text::LocalText {
        let (zh, en) = match self {
            CaseStatus::Draft => ("草稿", "Draft"),
            CaseStatus::Finalized => ("已签协议", "Agreement signed"),
            CaseStatus::Ended => ("已终结", "Ended"),
        };
        crate::text::LocalText::new(zh, en)
    }
}

/// A mediation case on the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationCase {
    /// Case id.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// 人民调解 or 治安调解.
    pub kind: MediationKind,
    /// Village.
    pub village: String,
    /// The day the case was accepted (time limits run from here).
    pub accepted_on: NaiveDate,
    /// When the case was opened.
    pub opened_at: DateTime<Utc>,
    /// The facts of the eligibility check.
    pub eligibility: EligibilityInput,
    /// Status.
    pub status: CaseStatus,
    /// Outcome once ended or finalized.
    pub outcome: Option<Outcome>,
    /// The agreement as filled in so far.
    pub agreement: Agreement,
    /// Content hash, once finalized.
    pub content_hash: Option<String>,
    /// When finalized.
    pub finalized_at: Option<DateTime<Utc>>,
    /// The device's Ed25519 signature over the content hash (hex), once finalized on an enrolled
    /// tablet; the server verifies it against the device's enrolled key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_signature: Option<String>,
    /// SHA-256 of the printed agreement (PDF, a blob synced on its own queue), once finalized on a
    /// tablet that prints: the station files the same document the parties took home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

/// A check of whether an agreement was performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Followup {
    /// Id.
    pub id: Uuid,
    /// The mediation.
    pub mediation: Uuid,
    /// Performed by the deadline.
    pub performed: bool,
    /// Day checked.
    pub checked_on: NaiveDate,
    /// Note.
    pub note: String,
}

/// A parsed op payload.
#[derive(Debug, Clone, PartialEq)]
pub enum OpRecord {
    /// A visit.
    Visit(Box<StoredVisit>),
    /// A new service request.
    ServiceRequest(Box<ServiceRequest>),
    /// A transition of a service request.
    RequestEvent(Box<RequestEvent>),
    /// A closed mediation.
    Mediation(Box<MediationCase>),
    /// A performance check.
    MediationFollowup(Box<Followup>),
    /// A publicity session.
    Publicity(Box<PublicitySession>),
    /// A hazard.
    Hazard(Box<Hazard>),
    /// A rating.
    Rating(Box<Rating>),
    /// A 司法确认 application (and ruling).
    JudicialConfirmation(Box<JudicialConfirmation>),
    /// A recurrence of a mediated dispute.
    Recurrence(Box<Recurrence>),
    /// A 一标三实 correction.
    RegistryProposal(Box<RegistryProposal>),
    /// A clue.
    ClueReport(Box<ClueReport>),
}

/// Why an op is refused, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Stable code.
    pub code: Code,
    /// What is wrong, for the log and the officer.
    pub message: String,
}

impl Rejection {
    /// A rejection.
    pub fn new(code: Code, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into() }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

fn parse_as<T: serde::de::DeserializeOwned>(payload: &str) -> Result<Box<T>, Rejection> {
    serde_json::from_str(payload).map(Box::new).map_err(|e| Rejection::new(Code::MalformedPayload, e.to_string()))
}

impl OpRecord {
    /// The times the device stamped on the record with its own clock, that counts and deadlines
    /// are read from (not dates the officer entered as content, like when a dispute arose).
    pub fn device_times(&self) -> Vec<DateTime<Utc>> {
        match self {
            OpRecord::Visit(v) => {
                let v = &v.visit;
                let mut out = vec![v.started_at, v.ended_at];
                out.extend(v.fix.as_ref().map(|f| f.taken_at));
                out.extend(v.pin.as_ref().map(|p| p.placed_at));
                out
            }
            OpRecord::ServiceRequest(r) => vec![r.accepted_at],
            OpRecord::RequestEvent(e) => vec![e.at],
            OpRecord::Mediation(c) => std::iter::once(c.opened_at).chain(c.finalized_at).collect(),
            OpRecord::MediationFollowup(_) => Vec::new(),
            OpRecord::Publicity(p) => vec![p.held_at],
            OpRecord::Hazard(h) => std::iter::once(h.found_at).chain(h.fixed_at).collect(),
            OpRecord::Rating(r) => vec![r.rated_at],
            OpRecord::JudicialConfirmation(j) => vec![j.recorded_at],
            OpRecord::Recurrence(r) => vec![r.recorded_at],
            OpRecord::RegistryProposal(p) => vec![p.proposed_at],
            OpRecord::ClueReport(c) => vec![c.reported_at],
        }
    }

    /// Move every time of [`OpRecord::device_times`] by `by` (and a mediation's acceptance day
    /// with its opening): the record as the server counts it when the device clock was wrong
    /// (see [`crate::clock::Received::correction`]). The body stored is the one sent.
    pub fn shift_device_times(&mut self, by: Duration) {
        // Checked: a device may send any time; a move that leaves chrono's range leaves it be.
        let mv = |t: &mut DateTime<Utc>| *t = t.checked_add_signed(by).unwrap_or(*t);
        match self {
            OpRecord::Visit(v) => {
                let v = &mut v.visit;
                mv(&mut v.started_at);
                mv(&mut v.ended_at);
                if let Some(f) = &mut v.fix {
                    mv(&mut f.taken_at);
                }
                if let Some(p) = &mut v.pin {
                    mv(&mut p.placed_at);
                }
            }
            OpRecord::ServiceRequest(r) => mv(&mut r.accepted_at),
            OpRecord::RequestEvent(e) => mv(&mut e.at),
            OpRecord::Mediation(c) => {
                let opened = crate::calendar::china_date(c.opened_at);
                mv(&mut c.opened_at);
                let days = crate::calendar::china_date(c.opened_at) - opened;
                c.accepted_on = c.accepted_on.checked_add_signed(days).unwrap_or(c.accepted_on);
                if let Some(t) = &mut c.finalized_at {
                    mv(t);
                }
            }
            OpRecord::MediationFollowup(_) => {}
            OpRecord::Publicity(p) => mv(&mut p.held_at),
            OpRecord::Hazard(h) => {
                mv(&mut h.found_at);
                if let Some(t) = &mut h.fixed_at {
                    mv(t);
                }
            }
            OpRecord::Rating(r) => mv(&mut r.rated_at),
            OpRecord::JudicialConfirmation(j) => mv(&mut j.recorded_at),
            OpRecord::Recurrence(r) => mv(&mut r.recorded_at),
            OpRecord::RegistryProposal(p) => mv(&mut p.proposed_at),
            OpRecord::ClueReport(c) => mv(&mut c.reported_at),
        }
    }

    /// Parse a payload of a kind.
    pub fn parse(kind: OpKind, payload: &str) -> Result<OpRecord, Rejection> {
        Ok(match kind {
            OpKind::Visit => OpRecord::Visit(parse_as(payload)?),
            OpKind::ServiceRequest => OpRecord::ServiceRequest(parse_as(payload)?),
            OpKind::RequestEvent => OpRecord::RequestEvent(parse_as(payload)?),
            OpKind::Mediation => OpRecord::Mediation(parse_as(payload)?),
            OpKind::MediationFollowup => OpRecord::MediationFollowup(parse_as(payload)?),
            OpKind::Publicity => OpRecord::Publicity(parse_as(payload)?),
            OpKind::Hazard => OpRecord::Hazard(parse_as(payload)?),
            OpKind::Rating => OpRecord::Rating(parse_as(payload)?),
            OpKind::JudicialConfirmation => OpRecord::JudicialConfirmation(parse_as(payload)?),
            OpKind::Recurrence => OpRecord::Recurrence(parse_as(payload)?),
            OpKind::RegistryProposal => OpRecord::RegistryProposal(parse_as(payload)?),
            OpKind::ClueReport => OpRecord::ClueReport(parse_as(payload)?),
        })
    }

    /// The kind of op that carries it.
    pub fn kind(&self) -> OpKind {
        match self {
            OpRecord::Visit(_) => OpKind::Visit,
            OpRecord::ServiceRequest(_) => OpKind::ServiceRequest,
            OpRecord::RequestEvent(_) => OpKind::RequestEvent,
            OpRecord::Mediation(_) => OpKind::Mediation,
            OpRecord::MediationFollowup(_) => OpKind::MediationFollowup,
            OpRecord::Publicity(_) => OpKind::Publicity,
            OpRecord::Hazard(_) => OpKind::Hazard,
            OpRecord::Rating(_) => OpKind::Rating,
            OpRecord::JudicialConfirmation(_) => OpKind::JudicialConfirmation,
            OpRecord::Recurrence(_) => OpKind::Recurrence,
            OpRecord::RegistryProposal(_) => OpKind::RegistryProposal,
            OpRecord::ClueReport(_) => OpKind::ClueReport,
        }
    }

    /// The record's id.
    pub fn id(&self) -> Uuid {
        match self {
            OpRecord::Visit(v) => v.visit.id,
            OpRecord::ServiceRequest(r) => r.id,
            OpRecord::RequestEvent(e) => e.id,
            OpRecord::Mediation(c) => c.id,
            OpRecord::MediationFollowup(f) => f.id,
            OpRecord::Publicity(p) => p.id,
            OpRecord::Hazard(h) => h.id,
            OpRecord::Rating(r) => r.id,
            OpRecord::JudicialConfirmation(j) => j.id,
            OpRecord::Recurrence(r) => r.id,
            OpRecord::RegistryProposal(p) => p.id,
            OpRecord::ClueReport(c) => c.id,
        }
    }

    /// The device and officer the record names, where it names them (a follow-up names neither: it
    /// belongs to its mediation).
    pub fn author(&self) -> Option<(&str, &str)> {
        fn pair<'a>(d: &'a str, o: &'a str) -> (&'a str, &'a str) {
            (d, o)
        }
        match self {
            OpRecord::Visit(v) => Some(pair(&v.visit.device_id, &v.visit.officer_id)),
            OpRecord::ServiceRequest(r) => Some(pair(&r.device_id, &r.officer_id)),
            OpRecord::RequestEvent(e) => Some(pair(&e.device_id, &e.officer_id)),
            OpRecord::Mediation(c) => Some(pair(&c.device_id, &c.officer_id)),
            OpRecord::MediationFollowup(_) => None,
            OpRecord::Publicity(p) => Some(pair(&p.device_id, &p.officer_id)),
            OpRecord::Hazard(h) => Some(pair(&h.device_id, &h.officer_id)),
            OpRecord::Rating(r) => Some(pair(&r.device_id, &r.officer_id)),
            OpRecord::JudicialConfirmation(j) => Some(pair(&j.device_id, &j.officer_id)),
            OpRecord::Recurrence(r) => Some(pair(&r.device_id, &r.officer_id)),
            OpRecord::RegistryProposal(p) => Some(pair(&p.device_id, &p.officer_id)),
            OpRecord::ClueReport(c) => Some(pair(&c.device_id, &c.officer_id)),
        }
    }

    /// The rules a record must meet on its own (the server adds what needs its state: the
    /// request's current state, the device's key). A finalized mediation must re-hash to its
    /// content hash, be complete under its template and carry the device's signature.
    pub fn check(&self, catalog: &Catalog) -> Result<(), Rejection> {
        match self {
            OpRecord::Visit(v) => v.visit.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::ServiceRequest(r) => {
                let Some(service) = catalog.services.iter().find(|s| s.code == r.service) else {
                    return Err(Rejection::new(Code::UnknownService, format!("no service `{}`", r.service)));
                };
                if !mode_allowed(service, r.mode) {
                    return Err(Rejection::new(
                        Code::ModeNotAllowed,
                        format!("{} cannot be handled that way", r.service),
                    ));
                }
                if r.applicant.trim().is_empty() {
                    return Err(Rejection::new(Code::Required, "applicant"));
                }
                if !r.attachments_ok() {
                    return Err(Rejection::new(Code::Invalid, "attachments: at most 4 SHA-256 hashes"));
                }
                Ok(())
            }
            OpRecord::RequestEvent(_) | OpRecord::MediationFollowup(_) => Ok(()),
            OpRecord::Mediation(c) => check_mediation(c),
            OpRecord::Publicity(p) => p.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::Hazard(h) => h.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::Rating(r) => r.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::JudicialConfirmation(j) => j.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::Recurrence(r) => r.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::RegistryProposal(p) => p.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
            OpRecord::ClueReport(c) => c.validate().map_err(|e| Rejection::new(e.code(), e.to_string())),
        }
    }
}

fn check_mediation(c: &MediationCase) -> Result<(), Rejection> {
    if let Some(doc) = &c.document
        && (c.status != CaseStatus::Finalized || !crate::canonical::is_sha256_hex(doc))
    {
        return Err(Rejection::new(Code::Invalid, "document: the SHA-256 of a finalized agreement's PDF"));
    }
    match c.status {
        CaseStatus::Draft => Err(Rejection::new(Code::Draft, "a draft mediation stays on the tablet")),
        CaseStatus::Ended => match c.outcome {
            Some(_) => Ok(()),
            None => Err(Rejection::new(Code::Required, "an ended mediation needs its outcome")),
        },
        CaseStatus::Finalized => {
            let Some(claimed) = &c.content_hash else {
                return Err(Rejection::new(Code::Required, "a finalized agreement needs its content hash"));
            };
            if let Some(issue) = c.agreement.issues().into_iter().next() {
                return Err(Rejection::new(Code::IncompleteAgreement, format!("{}: {}", issue.field, issue.detail)));
            }
            let actual = c.agreement.content_hash().map_err(|e| Rejection::new(Code::NotCanonical, e.to_string()))?;
            if &actual != claimed {
                return Err(Rejection::new(
                    Code::AgreementHashMismatch,
                    format!("content hashes to {actual}, the op claims {claimed}"),
                ));
            }
            if c.device_signature.as_deref().is_none_or(str::is_empty) {
                return Err(Rejection::new(Code::UnsignedAgreement, "the device's signature over the hash is missing"));
            }
            Ok(())
        }
    }
}
