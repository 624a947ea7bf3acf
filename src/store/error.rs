//! `StoreError`: what can go wrong below the service layer, classified once
//! here so that no caller reads diesel's or the pool's errors itself.
//!
//! A fault that is not the client's doing (the database busy, restarting,
//! unreachable, out of space, read-only, or its file unreadable) is
//! [`StoreError::Unavailable`], which the HTTP edge answers 503 with
//! `Retry-After`; nothing was committed, and the client may try again.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key constraint refused the write.
    #[error("{0}")]
    Constraint(String),
    /// The database is busy, unreachable, full, read-only or damaged, or
    /// there is no connection to be had: the caller may try again.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: a broken query, stored data that no longer reads as what
    /// was written, a lost blocking task.
    #[error("{0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a client is told about a storage fault (the cause goes to the log).
pub const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

/// The database's own words for faults that are not the client's doing, on
/// either backend (PostgreSQL's messages for SQLSTATE classes 08, 53, 57P and
/// 58 and for a read-only standby; SQLite's for `SQLITE_BUSY`, `SQLITE_LOCKED`,
/// `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_CORRUPT`, `SQLITE_READONLY`,
/// `SQLITE_CANTOPEN`, `SQLITE_NOTADB`). diesel gives no SQLSTATE, so the
/// message decides; matched in lower case.
const FAULTS: &[&str] = &[
    // SQLite
    "database is locked",
    "database is busy",
    "database table is locked",
    "database or disk is full",
    "disk i/o error",
    "database disk image is malformed",
    "file is not a database",
    "attempt to write a readonly database",
    "unable to open database file",
    // PostgreSQL
    "terminating connection",
    "server closed the connection",
    "connection to server",
    "no connection to the server",
    "could not connect",
    "connection refused",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "canceling statement due to conflict with recovery",
    "cannot execute",
    "could not extend file",
    "could not write",
    "could not read",
    "no space left on device",
    "out of memory",
    "too many connections",
    "remaining connection slots are reserved",
    "broken pipe",
    "connection reset",
    "ssl connection has been closed",
    "lost synchronization with server",
];

/// Whether `message` (a database error's) names a storage fault.
pub fn is_fault(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    FAULTS.iter().any(|f| {
        // "cannot execute INSERT in a read-only transaction" only, not every "cannot execute".
        if *f == "cannot execute" {
            m.contains(f) && m.contains("read-only transaction")
        } else {
            m.contains(f)
        }
    })
}

fn unavailable(cause: &dyn std::fmt::Display) -> StoreError {
    tracing::warn!(error = %cause, "storage fault");
    StoreError::Unavailable(UNAVAILABLE.into())
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
                ref info,
            ) => StoreError::Constraint(info.message().to_string()),
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ReadOnlyTransaction
                | DatabaseErrorKind::SerializationFailure,
                _,
            ) => unavailable(&e),
            DieselError::DatabaseError(_, ref info) if is_fault(info.message()) => unavailable(&e),
            // The connection died inside a transaction: it is dropped from the
            // pool (`db::Manager::has_broken`); a fresh one will do.
            DieselError::BrokenTransactionManager => unavailable(&e),
            // The commit failed and so did the rollback: the commit's error decides.
            DieselError::RollbackErrorOnCommit { commit_error, .. } => {
                StoreError::from(*commit_error)
            }
            DieselError::RollbackTransaction => StoreError::Internal(e.to_string()),
            _ => StoreError::Internal(e.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection available");
        StoreError::Unavailable("no database connection available; try again shortly".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, m: &'static str) -> StoreError {
        DieselError::DatabaseError(kind, Box::new(Info(m))).into()
    }

    #[test]
    fn faults_that_are_not_the_clients_are_unavailable() {
        use DatabaseErrorKind::Unknown;
        for m in [
            "database or disk is full",
            "disk I/O error",
            "database disk image is malformed",
            "attempt to write a readonly database",
            "database is locked",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly\n\tThis probably means...",
            "the database system is shutting down",
            "the database system is starting up",
            "cannot execute INSERT in a read-only transaction",
            "could not extend file \"base/16384/16385\": No space left on device",
        ] {
            assert!(matches!(db(Unknown, m), StoreError::Unavailable(_)), "{m}");
        }
        assert!(matches!(
            db(DatabaseErrorKind::ClosedConnection, "x"),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(DieselError::BrokenTransactionManager),
            StoreError::Unavailable(_)
        ));
        let on_commit = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(DieselError::BrokenTransactionManager),
            commit_error: Box::new(DieselError::DatabaseError(
                Unknown,
                Box::new(Info("database or disk is full")),
            )),
        };
        assert!(matches!(
            StoreError::from(on_commit),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn the_clients_and_the_codes_faults_are_not() {
        use DatabaseErrorKind::Unknown;
        assert!(matches!(
            db(
                DatabaseErrorKind::UniqueViolation,
                "UNIQUE constraint failed"
            ),
            StoreError::Constraint(_)
        ));
        for m in [
            "syntax error at or near \"SELEC\"",
            "no such table: disputes",
            "cannot execute UPDATE on ledger_entries",
        ] {
            assert!(matches!(db(Unknown, m), StoreError::Internal(_)), "{m}");
        }
        assert!(matches!(
            StoreError::from(DieselError::NotFound),
            StoreError::NotFound
        ));
    }
}
