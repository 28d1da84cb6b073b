//! Use cases that record visits, service requests, publicity sessions, hazards and ratings.

use beibao_core::activity::{Hazard, PublicitySession, Rating};
use beibao_core::catalog::Mode;
use beibao_core::registry::SpecialGroup;
use beibao_core::service_request::{Acceptance, RequestState, ServiceRequest, Transition, accept};
use beibao_core::visit::{GpsFix, ProofPolicy, Visit, VisitOutcome, VisitPurpose, VisitTarget, proof_of_visit};
use beibao_store::records::{self as rec, RequestEvent, StoredVisit};
use beibao_store::registry as reg;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, Session};

/// A visit under way (held by the UI until it is finished).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDraft {
    /// The visit's id.
    pub id: Uuid,
    /// Whom.
    pub target: VisitTarget,
    /// Village of the target.
    pub village: String,
    /// Purposes.
    pub purposes: Vec<VisitPurpose>,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// How a visit ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitFinish {
    /// Outcome.
    pub outcome: VisitOutcome,
    /// People spoken to.
    pub persons_met: u16,
    /// GPS fix, if any.
    pub fix: Option<GpsFix>,
    /// Note.
    pub note: String,
}

/// What the officer enters to accept a service request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Session {
    /// Start a visit to a household or enterprise of the register.
    pub fn start_visit(&self, target: VisitTarget, purposes: Vec<VisitPurpose>) -> Result<VisitDraft, FieldError> {
        let conn = self.store.conn();
        let village = match &target {
            VisitTarget::Household(id) => {
                reg::household(conn, id)?.ok_or_else(|| FieldError::not_found("household", id))?.village
            }
            VisitTarget::Enterprise(code) => {
                reg::enterprise(conn, code)?.ok_or_else(|| FieldError::not_found("enterprise", code))?.village
            }
        };
        Ok(VisitDraft { id: self.ids.next_id(), target, village, purposes, started_at: self.clock.now() })
    }

    /// Finish a visit: validate, judge the proof of visit, and store it with its outbox op.
    pub fn finish_visit(&mut self, draft: VisitDraft, finish: VisitFinish) -> Result<StoredVisit, FieldError> {
        let visit = Visit {
            id: draft.id,
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: draft.village.clone(),
            target: draft.target.clone(),
            purposes: draft.purposes,
            outcome: finish.outcome,
            persons_met: finish.persons_met,
            started_at: draft.started_at,
            ended_at: self.clock.now(),
            fix: finish.fix,
            note: finish.note,
        };
        visit.validate()?;
        let conn = self.store.conn();
        let village =
            reg::village(conn, &visit.village)?.ok_or_else(|| FieldError::not_found("village", &visit.village))?;
        let (home, special_group) = match &visit.target {
            VisitTarget::Household(id) => {
                let h = reg::household(conn, id)?.ok_or_else(|| FieldError::not_found("household", id))?;
                (h.location, h.groups().iter().any(|g| g.counts_for_care_indicator()))
            }
            VisitTarget::Enterprise(code) => (reg::enterprise(conn, code)?.map(|e| e.location), false),
        };
        let verdict = proof_of_visit(&visit, &village.geometry, home, &ProofPolicy::default());
        let stored = StoredVisit { visit, verdict, special_group };
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_visit(tx, &stored, op, now))?;
        Ok(stored)
    }

    fn applicant_groups(&self, household: Option<&str>, applicant: &str) -> Result<Vec<SpecialGroup>, FieldError> {
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
            return Err(FieldError::invalid("required", "applicant", "who is applying"));
        }
        let service =
            self.catalog.service(&input.service).ok_or_else(|| FieldError::not_found("service", &input.service))?;
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
        };
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_request(tx, &request, op, now))?;
        Ok(request)
    }

    /// Move a request one step (carried back, submitted…, withdrawn with a reason).
    pub fn advance_service(
        &mut self,
        id: Uuid,
        to: RequestState,
        reason: Option<String>,
    ) -> Result<ServiceRequest, FieldError> {
        self.transition(id, to, reason, None)
    }

    /// Deliver a finished document with the recipient's signature or thumbprint (PNG).
    pub fn deliver_service(&mut self, id: Uuid, signature_png: &[u8]) -> Result<ServiceRequest, FieldError> {
        if !signature_png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(FieldError::invalid("signature_not_png", "signature", "the signature must be a PNG image"));
        }
        let now = self.clock.now();
        let sha = self.store.write(|tx| rec::put_blob(tx, "image/png", signature_png, now))?;
        self.transition(id, RequestState::Delivered, None, Some(sha))
    }

    fn transition(
        &mut self,
        id: Uuid,
        to: RequestState,
        reason: Option<String>,
        signature: Option<String>,
    ) -> Result<ServiceRequest, FieldError> {
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
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_request_event(tx, &event, op, now))?;
        Ok(request)
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
            return Err(FieldError::invalid("already_fixed", "hazard", "the hazard is already closed"));
        }
        hazard.fixed_at = Some(self.clock.now());
        hazard.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::put_hazard(tx, &hazard, op, now))?;
        Ok(hazard)
    }

    /// Record a resident's satisfaction rating.
    pub fn record_rating(&mut self, mut rating: Rating) -> Result<Rating, FieldError> {
        rating.id = self.ids.next_id();
        rating.device_id = self.device_id.clone();
        rating.officer_id = self.officer_id.clone();
        rating.rated_at = self.clock.now();
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_rating(tx, &rating, op, now))?;
        Ok(rating)
    }
}
