//! One error shape for every use case: a stable `code` the UI switches on, and a message.

use beibao_core::activity::ActivityError;
use beibao_core::mediation::agreement::FieldIssue;
use beibao_core::mediation::eligibility::BlockReason;
use beibao_core::service_request::{AcceptError, TransitionError};
use beibao_core::visit::VisitError;
use beibao_store::StoreError;

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
        code: &'static str,
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
}

impl FieldError {
    /// Stable error code.
    pub fn code(&self) -> &str {
        match self {
            FieldError::Store(e) => e.code(),
            FieldError::Visit(e) => e.code(),
            FieldError::Accept(e) => e.code(),
            FieldError::Transition(e) => e.code(),
            FieldError::Activity(e) => e.code(),
            FieldError::MediationBlocked(_) => "mediation_blocked",
            FieldError::Incomplete(_) => "agreement_incomplete",
            FieldError::Invalid { code, .. } => code,
            FieldError::NotFound { .. } => "not_found",
            FieldError::Sync(e) => e.code(),
        }
    }

    pub(crate) fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError::Invalid { code, field: field.into(), message: message.into() }
    }

    pub(crate) fn not_found(kind: &'static str, id: impl ToString) -> Self {
        FieldError::NotFound { kind, id: id.to_string() }
    }
}
