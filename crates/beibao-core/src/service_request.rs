//! Service requests (帮代办) and their state machine, shared by the tablet and the server.
//!
//! Status flow of a carried-back item (REFERENCE §1): 已受理(现场) → 带回所里 → 已提交审批 → 已审批 →
//! 已制证 → 待送达 → 已送达(签收) → 办结. Which transitions are legal depends on the request's
//! [`Mode`]. Requests change only through events `from → to`; when the tablet and the station desk
//! both move a request while apart, [`merge`] decides: terminal states win and an impossible
//! transition is kept as a conflict, never dropped.

use crate::code::Code;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::WorkCalendar;
use crate::catalog::{FeeError, FeeQuote, Mode, Service};
use crate::registry::SpecialGroup;
use crate::text::LocalText;

/// The states of a service request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// 已受理（现场）: accepted at the door.
    AcceptedOnSite,
    /// 带回所里: carried back to the station.
    CarriedBack,
    /// 已提交审批 / 已预约: submitted for approval, or the appointment booked.
    Submitted,
    /// 已审批: approved.
    Approved,
    /// 已制证: document made.
    Made,
    /// 待送达: ready to deliver.
    ReadyToDeliver,
    /// 已送达（签收）: delivered with the recipient's signature.
    Delivered,
    /// 办结: closed (terminal).
    Closed,
    /// 现场办结: completed at the door (terminal).
    CompletedOnSite,
    /// 不予受理/退回: rejected, with a reason (terminal).
    Rejected,
    /// 撤回: withdrawn by the resident, with a reason (terminal).
    Withdrawn,
}

impl RequestState {
    /// Every state.
    pub const ALL: [RequestState; 11] = [
        RequestState::AcceptedOnSite,
        RequestState::CarriedBack,
        RequestState::Submitted,
        RequestState::Approved,
        RequestState::Made,
        RequestState::ReadyToDeliver,
        RequestState::Delivered,
        RequestState::Closed,
        RequestState::CompletedOnSite,
        RequestState::Rejected,
        RequestState::Withdrawn,
    ];

    /// No transition leaves a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestState::Closed | RequestState::CompletedOnSite | RequestState::Rejected | RequestState::Withdrawn
        )
    }

    /// The state's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            RequestState::AcceptedOnSite => ("已受理（现场）", "Accepted on site"),
            RequestState::CarriedBack => ("带回所里", "Carried back"),
            RequestState::Submitted => ("已提交审批", "Submitted"),
            RequestState::Approved => ("已审批", "Approved"),
            RequestState::Made => ("已制证", "Made"),
            RequestState::ReadyToDeliver => ("待送达", "Ready to deliver"),
            RequestState::Delivered => ("已送达（签收）", "Delivered (signed)"),
            RequestState::Closed => ("办结", "Closed"),
            RequestState::CompletedOnSite => ("现场办结", "Completed on site"),
            RequestState::Rejected => ("不予受理/退回", "Rejected"),
            RequestState::Withdrawn => ("撤回", "Withdrawn"),
        };
        LocalText::new(zh, en)
    }
}

use RequestState as S;

/// The state a new request of this mode starts in.
pub fn initial_state(mode: Mode) -> RequestState {
    match mode {
        Mode::Delivery => S::ReadyToDeliver,
        Mode::OnSite | Mode::CarryBack | Mode::Appointment => S::AcceptedOnSite,
    }
}

/// The forward path of a mode (without rejection and withdrawal).
fn forward(mode: Mode, from: RequestState) -> &'static [RequestState] {
    match (mode, from) {
        (Mode::OnSite, S::AcceptedOnSite) => &[S::CompletedOnSite],
        (Mode::CarryBack, S::AcceptedOnSite) => &[S::CarriedBack],
        (Mode::CarryBack, S::CarriedBack) => &[S::Submitted],
        // An appointment: the booking is the submission; the resident then attends in person.
        (Mode::Appointment, S::AcceptedOnSite) => &[S::Submitted],
        // Closed straight from Submitted when the result is not brought back (e.g. done online).
        (Mode::Appointment, S::Submitted) => &[S::Approved, S::Closed],
        (Mode::CarryBack, S::Submitted) => &[S::Approved],
        (Mode::CarryBack | Mode::Appointment, S::Approved) => &[S::Made],
        (Mode::CarryBack | Mode::Appointment, S::Made) => &[S::ReadyToDeliver],
        (_, S::ReadyToDeliver) if mode != Mode::OnSite => &[S::Delivered],
        (_, S::Delivered) if mode != Mode::OnSite => &[S::Closed],
        _ => &[],
    }
}

/// Whether a resident may still withdraw or the station still reject from this state.
fn may_stop(mode: Mode, from: RequestState) -> (bool, bool) {
    let withdraw = !from.is_terminal() && !matches!(from, S::Made | S::ReadyToDeliver | S::Delivered);
    let reject = match mode {
        Mode::OnSite => from == S::AcceptedOnSite,
        Mode::Delivery => false,
        Mode::CarryBack | Mode::Appointment => {
            matches!(from, S::AcceptedOnSite | S::CarriedBack | S::Submitted)
        }
    };
    (withdraw, reject)
}

/// The states reachable in one step from `from` in `mode`.
pub fn next_states(mode: Mode, from: RequestState) -> Vec<RequestState> {
    let mut next = forward(mode, from).to_vec();
    let (withdraw, reject) = may_stop(mode, from);
    if reject {
        next.push(S::Rejected);
    }
    if withdraw {
        next.push(S::Withdrawn);
    }
    next
}

/// Whether `from → to` is a legal step in `mode`.
pub fn is_legal(mode: Mode, from: RequestState, to: RequestState) -> bool {
    next_states(mode, from).contains(&to)
}

/// Whether `to` lies ahead of `from` on the mode's forward path.
fn is_ahead(mode: Mode, from: RequestState, to: RequestState) -> bool {
    let mut frontier = vec![from];
    let mut seen = Vec::new();
    while let Some(state) = frontier.pop() {
        for &next in forward(mode, state) {
            if next == to {
                return true;
            }
            if !seen.contains(&next) {
                seen.push(next);
                frontier.push(next);
            }
        }
    }
    false
}

/// A requested state change with what it must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The state the sender saw.
    pub from: RequestState,
    /// The state it moves to.
    pub to: RequestState,
    /// Reason, required for rejection and withdrawal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SHA-256 of the recipient's signature or thumbprint image, required for delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_signature: Option<String>,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The step is not in the mode's state machine.
    #[error("cannot go from {from:?} to {to:?} for a {mode:?} request")]
    Illegal {
        /// Request mode.
        mode: Mode,
        /// From.
        from: RequestState,
        /// To.
        to: RequestState,
    },
    /// Rejection and withdrawal need a reason.
    #[error("a reason is required to move a request to {0:?}")]
    ReasonRequired(RequestState),
    /// Delivery needs the recipient's signature or thumbprint.
    #[error("delivery needs the recipient's signature or thumbprint")]
    SignatureRequired,
    /// The request's current state is not the one the sender saw.
    #[error("the request is {current:?}, not {expected:?}")]
    StaleState {
        /// The state the request is in.
        current: RequestState,
        /// The state the sender saw.
        expected: RequestState,
    },
}

impl TransitionError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            TransitionError::Illegal { .. } => Code::TransitionIllegal,
            TransitionError::ReasonRequired(_) => Code::TransitionReasonRequired,
            TransitionError::SignatureRequired => Code::TransitionSignatureRequired,
            TransitionError::StaleState { .. } => Code::TransitionStale,
        }
    }
}

impl Transition {
    /// Check the step and its evidence (legality, reason, signature), not the current state.
    pub fn validate(&self, mode: Mode) -> Result<(), TransitionError> {
        if !is_legal(mode, self.from, self.to) {
            return Err(TransitionError::Illegal { mode, from: self.from, to: self.to });
        }
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|r| r.trim().is_empty());
        if matches!(self.to, S::Rejected | S::Withdrawn) && blank(&self.reason) {
            return Err(TransitionError::ReasonRequired(self.to));
        }
        if self.to == S::Delivered && blank(&self.recipient_signature) {
            return Err(TransitionError::SignatureRequired);
        }
        Ok(())
    }

    /// Apply to a request in `current`, strictly: the sender must have seen the current state.
    pub fn apply(&self, mode: Mode, current: RequestState) -> Result<RequestState, TransitionError> {
        self.validate(mode)?;
        if current != self.from {
            return Err(TransitionError::StaleState { current, expected: self.from });
        }
        Ok(self.to)
    }
}

/// What [`merge`] decides for an incoming transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Move the request to this state.
    Apply {
        /// New state.
        to: RequestState,
    },
    /// The request is already in the target state; record the event as a duplicate.
    AlreadyThere,
    /// Keep the event as a conflict; the request stays where it is.
    Conflict {
        /// Why.
        reason: ConflictReason,
    },
}

/// Why an incoming transition became a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// The request already reached a terminal state, which wins.
    TerminalWins,
    /// The step is illegal or lacks its reason or signature.
    Impossible,
    /// The sender was behind: the request has moved past the target state.
    Stale,
}

/// The rule for concurrent transitions from the tablet and the station desk, applied in the
/// server's commit order:
/// 1. the target state is the current one → already there (duplicate);
/// 2. the request is terminal → conflict: terminal wins;
/// 3. the step is not legal (or lacks reason or signature) → conflict: impossible;
/// 4. the step leads to a terminal state → apply (terminal wins, even if the sender was behind);
/// 5. the sender saw the current state, or the target lies ahead of it → apply;
/// 6. otherwise the target lies behind the current state → conflict: stale.
pub fn merge(mode: Mode, current: RequestState, incoming: &Transition) -> MergeOutcome {
    let conflict = |reason| MergeOutcome::Conflict { reason };
    if incoming.to == current {
        return MergeOutcome::AlreadyThere;
    }
    if current.is_terminal() {
        return conflict(ConflictReason::TerminalWins);
    }
    if incoming.validate(mode).is_err() {
        return conflict(ConflictReason::Impossible);
    }
    if incoming.to.is_terminal() && is_reachable_stop(mode, current, incoming.to) {
        return MergeOutcome::Apply { to: incoming.to };
    }
    if incoming.from == current || is_ahead(mode, current, incoming.to) {
        return MergeOutcome::Apply { to: incoming.to };
    }
    conflict(ConflictReason::Stale)
}

/// A terminal target wins if it can still be reached from the current state: withdrawal and
/// rejection only where they are allowed, closing only along the forward path.
fn is_reachable_stop(mode: Mode, current: RequestState, to: RequestState) -> bool {
    let (withdraw, reject) = may_stop(mode, current);
    match to {
        S::Withdrawn => withdraw,
        S::Rejected => reject,
        _ => is_ahead(mode, current, to),
    }
}

/// Why a materials checklist is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistError {
    /// Required items not ticked.
    #[error("materials missing: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// Ticked items that the service does not list.
    #[error("materials not in the checklist of this service: {}", .0.join(", "))]
    Unknown(Vec<String>),
}

impl ChecklistError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            ChecklistError::Missing(_) => Code::MaterialsMissing,
            ChecklistError::Unknown(_) => Code::MaterialsUnknown,
        }
    }
}

/// Check the ticked materials: every unconditional item must be ticked; conditional items are
/// ticked when their case applies; nothing outside the checklist.
pub fn check_materials(service: &Service, ticked: &[String]) -> Result<(), ChecklistError> {
    let unknown: Vec<String> =
        ticked.iter().filter(|t| !service.materials.iter().any(|m| &m.code == *t)).cloned().collect();
    if !unknown.is_empty() {
        return Err(ChecklistError::Unknown(unknown));
    }
    let missing: Vec<String> = service
        .materials
        .iter()
        .filter(|m| m.condition.is_none() && !ticked.contains(&m.code))
        .map(|m| m.code.clone())
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(ChecklistError::Missing(missing)) }
}

/// Whether a request may be handled in `mode` for this service.
pub fn mode_allowed(service: &Service, mode: Mode) -> bool {
    service.modes.contains(&mode)
}

/// A service request as the tablet records it at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device that recorded it.
    pub device_id: String,
    /// Officer who accepted it.
    pub officer_id: String,
    /// Service code.
    pub service: String,
    /// Handling mode chosen at the door.
    pub mode: Mode,
    /// Household of the applicant, when in the register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<String>,
    /// Applicant: a person id of the register, or the name given.
    pub applicant: String,
    /// Materials ticked on the checklist.
    pub materials: Vec<String>,
    /// Fee quoted with waivers.
    pub fee: FeeQuote,
    /// Current state.
    pub state: RequestState,
    /// When it was accepted (device clock).
    pub accepted_at: DateTime<Utc>,
    /// Photos or document images taken at the door: the SHA-256 (hex) of each, whose bytes sync
    /// on the blob queue (at most [`MAX_ATTACHMENTS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// The most images one request carries.
pub const MAX_ATTACHMENTS: usize = 4;

impl ServiceRequest {
    /// Whether the attachments are at most [`MAX_ATTACHMENTS`] SHA-256 hashes (64 lower-case hex).
    pub fn attachments_ok(&self) -> bool {
        self.attachments.len() <= MAX_ATTACHMENTS && self.attachments.iter().all(|h| crate::canonical::is_sha256_hex(h))
    }
}

/// Why a request cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The service is not handled that way.
    #[error("service {service} cannot be handled as {mode:?}")]
    ModeNotAllowed {
        /// Service code.
        service: String,
        /// Mode asked for.
        mode: Mode,
    },
    /// The checklist is incomplete.
    #[error(transparent)]
    Materials(#[from] ChecklistError),
    /// The fee cannot be quoted.
    #[error(transparent)]
    Fee(#[from] FeeError),
}

impl AcceptError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            AcceptError::ModeNotAllowed { .. } => Code::ModeNotAllowed,
            AcceptError::Materials(e) => e.code(),
            AcceptError::Fee(e) => e.code(),
        }
    }
}

/// What the officer enters to accept a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance<'a> {
    /// The service.
    pub service: &'a Service,
    /// Mode; the service's usual mode when `None`.
    pub mode: Option<Mode>,
    /// Ticked materials.
    pub materials: &'a [String],
    /// The applicant's special groups (for waivers).
    pub groups: &'a [SpecialGroup],
    /// Fee item, for services with several.
    pub fee_option: Option<&'a str>,
}

/// Check an acceptance: mode allowed, checklist complete, fee quotable. Returns the mode, the fee and
/// the state the request starts in.
pub fn accept(a: &Acceptance<'_>) -> Result<(Mode, FeeQuote, RequestState), AcceptError> {
    let mode = a.mode.unwrap_or_else(|| a.service.primary_mode());
    if !mode_allowed(a.service, mode) {
        return Err(AcceptError::ModeNotAllowed { service: a.service.code.clone(), mode });
    }
    check_materials(a.service, a.materials)?;
    let fee = a.service.quote(a.fee_option, a.groups)?;
    Ok((mode, fee, initial_state(mode)))
}

/// Whether a request closed on time: on or before its typical processing time after acceptance
/// (按时办结率). Dates are China dates.
pub fn closed_on_time(
    service: &Service,
    accepted_on: NaiveDate,
    closed_on: NaiveDate,
    calendar: &WorkCalendar,
) -> bool {
    closed_on <= service.typical.due_from(accepted_on, calendar)
}
