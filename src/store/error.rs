//! `StoreError`: what can go wrong below the service layer, classified once
//! here so that no caller reads diesel's or the pool's errors itself.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key constraint refused the write.
    #[error("{0}")]
    Constraint(String),
    /// The database is busy or out of connections: the caller may try again.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: a broken query, stored data that no longer reads as what
    /// was written, a lost blocking task.
    #[error("{0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
                info,
            ) => StoreError::Constraint(info.message().to_string()),
            DieselError::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                StoreError::Unavailable("the database is busy; try again".into())
            }
            _ => StoreError::Internal(e.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection available");
        StoreError::Unavailable("no database connection available; try again".into())
    }
}
