//! Use cases that record visits, service requests, publicity sessions, hazards and ratings.

use beibao_core::activity::{Hazard, PublicitySession, Rating, RatingSubject};
use beibao_core::catalog::Mode;
use beibao_core::code::Code;
use beibao_core::registry::{GeoPoint, SpecialGroup, Village};
use beibao_core::service_request::{Acceptance, RequestState, ServiceRequest, Transition, accept};
use beibao_core::visit::{
    GpsFix, ManualPin, ProofPolicy, Visit, VisitOutcome, VisitPurpose, VisitTarget, proof_of_visit,
};
use beibao_store::StoreError;
use beibao_store::records::{self as rec, RequestEvent, StoredVisit};
use beibao_store::registry as reg;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, Session};

/// A visit being filled in, saved on the tablet as it changes: an app kill or a flat battery
/// brings it back ([`Session::drafts`], [`Session::visit_draft`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDraft {
    /// The visit's id (kept when it is recorded).
    pub id: Uuid,
    /// Whom.
    pub target: VisitTarget,
    /// Purposes chosen so far.
    pub purposes: Vec<VisitPurpose>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Outcome, once chosen.
    pub outcome: Option<VisitOutcome>,
    /// People spoken to, once entered.
    pub persons_met: Option<u16>,
    /// The last GPS fix taken.
    pub fix: Option<GpsFix>,
    /// A position placed by hand instead (with its reason), when the tablet has no usable fix.
    #[serde(default)]
    pub pin: Option<ManualPin>,
    /// Note so far.
    pub note: String,
}

/// A finished visit, as the officer records it: one input, its start and end given by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitInput {
    /// The draft's id when the visit was started as a draft (the draft is removed when the visit
    /// is recorded); a new id otherwise.
    pub id: Option<Uuid>,
    /// Whom.
    pub target: VisitTarget,
    /// Purposes.
    pub purposes: Vec<VisitPurpose>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// Outcome.
    pub outcome: VisitOutcome,
    /// People spoken to.
    pub persons_met: u16,
    /// GPS fix, if any.
    pub fix: Option<GpsFix>,
    /// A position placed by hand instead of a fix, with the reason.
    #[serde(default)]
    pub pin: Option<ManualPin>,
    /// Note.
    pub note: String,
}

/// How far ahead of the tablet's clock a visit may end (a clock set a little differently by the UI).
const FUTURE_SLACK_MINUTES: i64 = 5;

/// A step of a service request the officer takes (carried back, submitted…, withdrawn with a
/// reason). Delivery, which needs the recipient's signature, is [`DeliverInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AdvanceInput {
    /// The request.
    pub id: Uuid,
    /// The state to move to.
    pub to: RequestState,
    /// Why (withdrawing or rejecting needs one).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A finished document handed over, signed for by the recipient (signature or thumbprint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeliverInput {
    /// The request.
    pub id: Uuid,
    /// The signature pad's PNG.
    pub signature_png: Vec<u8>,
}

/// A resident's satisfaction answer (满意 / 基本满意 / 不满意) with an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// What is rated.
    pub subject: RatingSubject,
    /// The answer.
    pub rating: beibao_core::activity::Satisfaction,
    /// In the resident's words (blank: none).
    #[serde(default)]
    pub comment: Option<String>,
}

/// What the officer enters to accept a service request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AcceptInput {
    /// Service code.
    pub service: String,
    /// Mode; the usual one when `None`.
    pub mode: Option<Mode>,
    /// Household, when in the register.
    pub household: Option<String>,
    /// Applicant: person id of the register or the name given.
    pub applicant: String,
    /// Ticked materials.
    pub materials: Vec<String>,
    /// Fee item, for services with several.
    pub fee_option: Option<String>,
    /// Photos or document images taken at the door (JPEG or PNG; at most 4, each at most 8 MiB).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// An image attached at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// `image/jpeg` or `image/png`.
    pub mime: String,
    /// The image.
    pub bytes: Vec<u8>,
}

/// The largest image attached to a request.
pub const MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;

impl Attachment {
    /// A JPEG or PNG whose bytes say so, not empty and not too big.
    fn check(&self) -> Result<(), FieldError> {
        let magic = match self.mime.as_str() {
            "image/jpeg" => self.bytes.starts_with(&[0xff, 0xd8, 0xff]),
            "image/png" => self.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            _ => false,
        };
        if !magic {
            return Err(FieldError::invalid(Code::Invalid, "attachments", "a JPEG or PNG image"));
        }
        if self.bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(FieldError::invalid(Code::Implausible, "attachments", "an image of at most 8 MiB"));
        }
        Ok(())
    }
}

impl Session {
    /// The village of a visit's target, the target's position (when the register has one) and
    /// whether a household has members of the care indicator's groups.
    pub(crate) fn place_of(&self, target: &VisitTarget) -> Result<(Village, Option<GeoPoint>, bool), FieldError> {
        let conn = self.store.conn();
        let (code, home, special_group) = match target {
            VisitTarget::Household(id) => {
                let h = reg::household(conn, id)?.ok_or_else(|| FieldError::not_found("household", id))?;
                let special = h.groups().iter().any(|g| g.counts_for_care_indicator());
                (h.village, h.location, special)
            }
            VisitTarget::Enterprise(code) => {
                let e = reg::enterprise(conn, code)?.ok_or_else(|| FieldError::not_found("enterprise", code))?;
                (e.village, Some(e.location), false)
            }
        };
        let village = reg::village(conn, &code)?.ok_or_else(|| FieldError::not_found("village", &code))?;
        Ok((village, home, special_group))
    }

    /// Start a visit now to a household or enterprise of the register: a draft saved on the tablet.
    pub fn start_visit(&mut self, target: VisitTarget, purposes: Vec<VisitPurpose>) -> Result<VisitDraft, FieldError> {
        let draft = VisitDraft {
            id: self.ids.next_id(),
            target,
            purposes,
            started_at: self.clock.now(),
            outcome: None,
            persons_met: None,
            fix: None,
            pin: None,
            note: String::new(),
        };
        self.save_visit_draft(draft)
    }

    /// Save a visit draft as it changes (every edit of the form).
    pub fn save_visit_draft(&mut self, draft: VisitDraft) -> Result<VisitDraft, FieldError> {
        self.place_of(&draft.target)?;
        let subject = match &draft.target {
            VisitTarget::Household(id) | VisitTarget::Enterprise(id) => id.clone(),
        };
        let body = serde_json::to_string(&draft).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = self.clock.now();
        self.store
            .write(|tx| beibao_store::drafts::save_visit(tx, draft.id, &subject, &body, draft.started_at, now))?;
        Ok(draft)
    }

    /// An image this tablet holds (a signature, a photo taken at the door), by its SHA-256.
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, FieldError> {
        rec::blob(self.store.conn(), sha256)?.ok_or_else(|| FieldError::not_found("image", sha256))
    }

    /// A saved visit draft.
    pub fn visit_draft(&self, id: Uuid) -> Result<VisitDraft, FieldError> {
        let body = beibao_store::drafts::visit(self.store.conn(), id)?
            .ok_or_else(|| FieldError::not_found("visit draft", id))?;
        Ok(serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("visit draft {id}: {e}")))?)
    }

    /// Record a visit: validate, judge the proof of visit, store it with its outbox op and remove
    /// its draft, in one transaction.
    pub fn record_visit(&mut self, input: VisitInput) -> Result<StoredVisit, FieldError> {
        let now = self.clock.now();
        if input.ended_at > now + chrono::Duration::minutes(FUTURE_SLACK_MINUTES) {
            return Err(FieldError::invalid(Code::Invalid, "ended_at", "the visit ends after the tablet's clock"));
        }
        let (village, home, special_group) = self.place_of(&input.target)?;
        let visit = Visit {
            id: input.id.unwrap_or_else(|| self.ids.next_id()),
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: village.code.clone(),
            target: input.target,
            purposes: input.purposes,
            outcome: input.outcome,
            persons_met: input.persons_met,
            started_at: input.started_at,
            ended_at: input.ended_at,
            // Kept (and sent) to the centimetre: what a fix means, not what the platform prints.
            fix: input.fix.map(GpsFix::rounded),
            pin: input.pin.map(ManualPin::rounded),
            note: input.note,
        };
        visit.validate()?;
        let verdict = proof_of_visit(&visit, &village.geometry, home, &ProofPolicy::default());
        let stored = StoredVisit { visit, verdict, special_group };
        let op = self.ids.next_id();
        self.store.write(|tx| {
            beibao_store::drafts::discard(tx, stored.visit.id)?;
            rec::insert_visit(tx, &stored, op, now)
        })?;
        Ok(stored)
    }

    pub(crate) fn applicant_groups(
        &self,
        household: Option<&str>,
        applicant: &str,
    ) -> Result<Vec<SpecialGroup>, FieldError> {
        let Some(id) = household else { return Ok(vec![]) };
        let h = reg::household(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("household", id))?;
        // Household-level groups (低保, 特困, hardship) sit on the head; the applicant's own tags count too.
        let mut groups: Vec<SpecialGroup> = h.head().map(|p| p.groups.clone()).unwrap_or_default();
        if let Some(p) = h.members.iter().find(|m| m.id == applicant) {
            groups.extend(p.groups.iter().copied());
        }
        Ok(groups)
    }

    /// Accept a service request at the door: mode, materials checklist, fee with waivers.
    pub fn accept_service(&mut self, input: AcceptInput) -> Result<ServiceRequest, FieldError> {
        if input.applicant.trim().is_empty() {
            return Err(FieldError::invalid(Code::Required, "applicant", "who is applying"));
        }
        let catalog = self.catalog();
        let service =
            catalog.service(&input.service).ok_or_else(|| FieldError::not_found("service", &input.service))?;
        if let Some(h) = &input.household {
            self.household_assigned(h)?;
        }
        if input.attachments.len() > beibao_core::service_request::MAX_ATTACHMENTS {
            return Err(FieldError::invalid(Code::Implausible, "attachments", "at most 4 images"));
        }
        for a in &input.attachments {
            a.check()?;
        }
        let groups = self.applicant_groups(input.household.as_deref(), &input.applicant)?;
        let (mode, fee, state) = accept(&Acceptance {
            service,
            mode: input.mode,
            materials: &input.materials,
            groups: &groups,
            fee_option: input.fee_option.as_deref(),
        })?;
        let request = ServiceRequest {
            id: self.ids.next_id(),
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            service: input.service,
            mode,
            household: input.household,
            applicant: input.applicant,
            materials: input.materials,
            fee,
            state,
            accepted_at: self.clock.now(),
            attachments: input.attachments.iter().map(|a| beibao_core::canonical::sha256_hex(&a.bytes)).collect(),
        };
        let (op, now) = (self.ids.next_id(), self.clock.now());
        // The images and the request in one transaction: the request never names an image the
        // tablet does not hold.
        self.store.write(|tx| {
            for a in &input.attachments {
                rec::put_blob(tx, &a.mime, &a.bytes, now)?;
            }
            rec::insert_request(tx, &request, op, now)
        })?;
        Ok(request)
    }

    /// Move a request one step (carried back, submitted…, withdrawn with a reason).
    pub fn advance_service(&mut self, input: AdvanceInput) -> Result<ServiceRequest, FieldError> {
        let (request, event) = self.transition(input.id, input.to, input.reason, None)?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_request_event(tx, &event, op, now))?;
        Ok(request)
    }

    /// Deliver a finished document with the recipient's signature or thumbprint (PNG): the image
    /// and the step are written in one transaction (a refused step leaves no image queued).
    pub fn deliver_service(&mut self, input: DeliverInput) -> Result<ServiceRequest, FieldError> {
        let png = &input.signature_png;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(FieldError::invalid(Code::SignatureNotPng, "signature", "the signature must be a PNG image"));
        }
        let sha = beibao_core::canonical::sha256_hex(png);
        let (request, event) = self.transition(input.id, RequestState::Delivered, None, Some(sha.clone()))?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| {
            rec::put_blob(tx, "image/png", png, now)?;
            rec::insert_request_event(tx, &event, op, now)
        })?;
        Ok(request)
    }

    /// A step checked against the request as stored: the request as it will be, and its event.
    fn transition(
        &mut self,
        id: Uuid,
        to: RequestState,
        reason: Option<String>,
        signature: Option<String>,
    ) -> Result<(ServiceRequest, RequestEvent), FieldError> {
        let mut request =
            rec::request(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("service request", id))?;
        let transition = Transition { from: request.state, to, reason, recipient_signature: signature };
        request.state = transition.apply(request.mode, request.state)?;
        let event = RequestEvent {
            id: self.ids.next_id(),
            request: id,
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            transition,
            at: self.clock.now(),
        };
        Ok((request, event))
    }

    /// Record a safety-publicity session.
    pub fn record_publicity(&mut self, mut session: PublicitySession) -> Result<PublicitySession, FieldError> {
        session.id = self.ids.next_id();
        session.device_id = self.device_id.clone();
        session.officer_id = self.officer_id.clone();
        session.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_publicity(tx, &session, op, now))?;
        Ok(session)
    }

    /// Record a hazard found.
    pub fn record_hazard(&mut self, mut hazard: Hazard) -> Result<Hazard, FieldError> {
        hazard.id = self.ids.next_id();
        hazard.device_id = self.device_id.clone();
        hazard.officer_id = self.officer_id.clone();
        hazard.fixed_at = None;
        hazard.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::put_hazard(tx, &hazard, op, now))?;
        Ok(hazard)
    }

    /// Record that a hazard was fixed.
    pub fn fix_hazard(&mut self, id: Uuid) -> Result<Hazard, FieldError> {
        let mut hazard = rec::hazard(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("hazard", id))?;
        if hazard.fixed_at.is_some() {
            return Err(FieldError::invalid(Code::AlreadyFixed, "hazard", "the hazard is already closed"));
        }
        hazard.fixed_at = Some(self.clock.now());
        hazard.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::put_hazard(tx, &hazard, op, now))?;
        Ok(hazard)
    }

    /// The resident's answer on the satisfaction screen (满意打卡), handed the tablet after a
    /// visit, a service or a mediation.
    pub fn rate(&mut self, input: RatingInput) -> Result<Rating, FieldError> {
        let comment = input.comment.filter(|c| !c.trim().is_empty());
        self.record_rating(Rating {
            id: Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            subject: input.subject,
            rating: input.rating,
            comment,
            rated_at: self.clock.now(),
        })
    }

    /// Record a resident's satisfaction rating.
    pub fn record_rating(&mut self, mut rating: Rating) -> Result<Rating, FieldError> {
        let conn = self.store.conn();
        let found = match rating.subject {
            RatingSubject::Visit(id) => rec::visit(conn, id)?.is_some(),
            RatingSubject::ServiceRequest(id) => rec::request(conn, id)?.is_some(),
            RatingSubject::Mediation(id) => rec::mediation(conn, id)?.is_some(),
        };
        if !found {
            return Err(FieldError::not_found("rated record", format!("{:?}", rating.subject)));
        }
        rating.validate()?;
        rating.comment = rating.comment.map(|c| c.trim().to_owned());
        rating.id = self.ids.next_id();
        rating.device_id = self.device_id.clone();
        rating.officer_id = self.officer_id.clone();
        rating.rated_at = self.clock.now();
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_rating(tx, &rating, op, now))?;
        Ok(rating)
    }
}
