//! What every handler shares: the pool, the log's key, the witness quorum and
//! the whistleblowing key.

use crate::http::error::AppError;
use crate::service::checkpoint::LogKey;
use crate::service::whistleblowing::WhistleKey;
use crate::store::db::{DbConn, Pool};

pub struct AppState {
    pub pool: Pool,
    pub log: LogKey,
    /// How many witness cosignatures make a checkpoint fully witnessed.
    pub witness_quorum: u32,
    /// Derives whistleblowers' pseudonyms ([`crate::service::whistleblowing`]).
    pub whistleblowing_key: WhistleKey,
}

/// [`crate::store::db::run`] for handlers: database work on the blocking pool,
/// answering with the edge's error type.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    crate::store::db::run(pool, move |conn| f(conn).map_err(Into::into)).await
}
