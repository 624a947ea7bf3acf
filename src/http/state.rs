//! What every handler shares: the pool, the log's key, the witness quorum and
//! the whistleblowing key, the report's suppression threshold.

use crate::http::error::AppError;
use crate::service::checkpoint::LogKey;
use crate::service::sequencer::Sequencer;
use crate::service::whistleblowing::{self, WhistleKey};
use crate::store::db::{DbConn, Pool};

pub struct AppState {
    pub pool: Pool,
    /// Every ledger write goes through it ([`write`]): one transaction per batch.
    pub seq: Sequencer,
    pub log: LogKey,
    /// What makes a checkpoint fully witnessed: a count of cosignatures, or
    /// a tlog-policy's quorum.
    pub witness_quorum: crate::core::tlog_policy::WitnessQuorum,
    /// Derives whistleblowers' pseudonyms ([`crate::service::whistleblowing`]).
    pub whistleblowing_key: WhistleKey,
    /// Public reports suppress counts from 1 to this minus one.
    pub report_suppress_below: u64,
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

/// A ledger write for handlers: `f` runs in the sequencer's next batch
/// ([`crate::service::sequencer`]), and is answered only once that batch has
/// committed; a batch that fails is answered 503.
pub async fn write<T, E, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    state
        .seq
        .submit(move |conn| f(conn).map_err(Into::into))
        .await
}

/// The `sub` to put in a log line: [`whistleblowing::WITHHELD`] for anyone who has raised a
/// whistleblowing concern (or when that cannot be checked), else the `sub`.
/// Never the pseudonym, so no log line ties the two together.
pub async fn loggable_sub(state: Option<&AppState>, sub: &str) -> String {
    let Some(state) = state else {
        return whistleblowing::WITHHELD.into();
    };
    let pseudonym = state.whistleblowing_key.pseudonym(sub);
    match run(&state.pool, move |conn| {
        whistleblowing::is_whistleblower(conn, &pseudonym)
    })
    .await
    {
        Ok(false) => sub.to_string(),
        _ => whistleblowing::WITHHELD.into(),
    }
}
