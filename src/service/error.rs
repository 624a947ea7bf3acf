//! `ServiceError`: why a use case refused or failed. The HTTP edge
//! (`http::error::AppError`) is the only place that turns it into a status.

use crate::core::input::InvalidInput;
use crate::core::ladder::LadderError;
use crate::core::merkle::ProofError;
use crate::store::error::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The input is well formed but not acceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// Refused by the rules of the domain (a rung's, a redaction's).
    #[error("{0}")]
    Forbidden(String),
    /// The caller's role takes no part in this step.
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the state it would change.
    #[error("{0}")]
    Conflict(String),
    /// Storage is busy or unreachable: try again.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged with its cause, never shown.
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// What a dispute the caller may not see, and one that does not exist, both say.
pub const NO_SUCH_DISPUTE: &str = "no such dispute";

impl ServiceError {
    pub fn not_found() -> Self {
        ServiceError::NotFound(NO_SUCH_DISPUTE.into())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("not found".into()),
            StoreError::Constraint(m) => ServiceError::Conflict(m),
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Internal(m) => ServiceError::Internal(m),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<LadderError> for ServiceError {
    fn from(e: LadderError) -> Self {
        match e {
            LadderError::Forbidden(m) => ServiceError::Forbidden(m),
            LadderError::Conflict(m) => ServiceError::Conflict(m),
            LadderError::NotFound(m) => ServiceError::NotFound(m),
            LadderError::Invalid(m) => ServiceError::Unprocessable(m),
        }
    }
}

impl From<ProofError<diesel::result::Error>> for ServiceError {
    fn from(e: ProofError<diesel::result::Error>) -> Self {
        match e {
            ProofError::Store(diesel::result::Error::NotFound) => {
                ServiceError::Internal("a Merkle tree node is missing from the store".into())
            }
            ProofError::Store(other) => other.into(),
            ProofError::IndexOutOfRange { .. } | ProofError::SizesOutOfOrder { .. } => {
                ServiceError::BadRequest(e.to_string())
            }
            ProofError::NotASubtree { .. } => ServiceError::Internal(e.to_string()),
        }
    }
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        ServiceError::Unprocessable(e.0)
    }
}
