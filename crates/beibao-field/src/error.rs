//! One error shape for every use case: a stable `code` the UI switches on, and a message.

use beibao_core::activity::ActivityError;
use beibao_core::code::Code;
use beibao_core::mediation::agreement::FieldIssue;
use beibao_core::mediation::eligibility::BlockReason;
use beibao_core::service_request::{AcceptError, TransitionError};
use beibao_core::visit::VisitError;
use beibao_store::StoreError;
use serde::Serialize;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// The store refused (PIN, lockout, storage).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A visit record is invalid.
    #[error(transparent)]
    Visit(#[from] VisitError),
    /// A service request cannot be accepted.
    #[error(transparent)]
    Accept(#[from] AcceptError),
    /// A transition is refused.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A publicity session, hazard or rating is invalid.
    #[error(transparent)]
    Activity(#[from] ActivityError),
    /// Mediation is not allowed, with every reason.
    #[error("mediation is not allowed: {}", .0.iter().map(|r| r.message().en).collect::<Vec<_>>().join("; "))]
    MediationBlocked(Vec<BlockReason>),
    /// Fields of an agreement are missing or wrong.
    #[error("the agreement is incomplete: {}", .0.iter().map(|i| format!("{} ({})", i.field, i.code)).collect::<Vec<_>>().join(", "))]
    Incomplete(Vec<FieldIssue>),
    /// An input is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Stable code.
        code: Code,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Sync failed (link, server refusal, revoked device…).
    #[error(transparent)]
    Sync(#[from] beibao_sync::SyncError),
    /// A record was not found.
    #[error("{kind} `{id}` not found")]
    NotFound {
        /// Record kind.
        kind: &'static str,
        /// Id.
        id: String,
    },
    /// The session locked while the work ran (a sync stops cleanly).
    #[error("the tablet locked; unlock it to go on")]
    Locked,
}

/// The one error shape the UI receives: the code it switches on and translates, the message for
/// the log, and what a form needs to mark its fields (every missing agreement field, every reason a
/// mediation is blocked, the field an input error is about).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Problem {
    /// Stable code.
    pub code: Code,
    /// What is wrong, in English, for the log.
    pub message: String,
    /// The field an input error is about.
    pub field: Option<String>,
    /// With `agreement_incomplete`: every missing or wrong field (else empty).
    pub issues: Vec<FieldIssue>,
    /// With `mediation_blocked`: every reason (else empty).
    pub reasons: Vec<BlockReason>,
    /// With `wrong_pin`: wrong PINs left before the store locks.
    pub attempts_left: Option<u32>,
    /// With `locked_out`: when the next PIN is accepted.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&FieldError> for Problem {
    fn from(e: &FieldError) -> Problem {
        Problem {
            code: e.code(),
            message: e.to_string(),
            field: match e {
                FieldError::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            },
            issues: match e {
                FieldError::Incomplete(issues) => issues.clone(),
                _ => vec![],
            },
            reasons: match e {
                FieldError::MediationBlocked(reasons) => reasons.clone(),
                _ => vec![],
            },
            attempts_left: match e {
                FieldError::Store(StoreError::WrongPin { attempts_left }) => Some(*attempts_left),
                _ => None,
            },
            until: match e {
                FieldError::Store(StoreError::LockedOut { until }) => Some(*until),
                _ => None,
            },
        }
    }
}

/// A use case's error crosses to the UI (a Tauri command's `Err`) as a [`Problem`].
impl Serialize for FieldError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Problem::from(self).serialize(s)
    }
}

impl FieldError {
    /// Stable error code.
    pub fn code(&self) -> Code {
        match self {
            FieldError::Store(e) => e.code(),
            FieldError::Visit(e) => e.code(),
            FieldError::Accept(e) => e.code(),
            FieldError::Transition(e) => e.code(),
            FieldError::Activity(e) => e.code(),
            FieldError::MediationBlocked(_) => Code::MediationBlocked,
            FieldError::Incomplete(_) => Code::AgreementIncomplete,
            FieldError::Invalid { code, .. } => *code,
            FieldError::NotFound { .. } => Code::NotFound,
            FieldError::Sync(e) => e.code(),
            FieldError::Locked => Code::Locked,
        }
    }

    pub(crate) fn invalid(code: Code, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError::Invalid { code, field: field.into(), message: message.into() }
    }

    pub(crate) fn not_found(kind: &'static str, id: impl ToString) -> Self {
        FieldError::NotFound { kind, id: id.to_string() }
    }
}
