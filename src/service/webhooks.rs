//! Webhook endpoints as use cases, one transaction each: registering,
//! listing, deactivating, and an endpoint's deliveries. The rules and the
//! sender are [`crate::service::notify`]'s.

use crate::core::ladder::Actor;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::notify::{self, Delivery, Registered, Target, Webhook};
use crate::store::db::{read_tx, write_tx, DbConn};

/// Register an endpoint for `target` at `url` (only its origin is recorded)
/// with `secret` (generated if absent); the secret is returned this once.
pub fn register(
    conn: &mut DbConn,
    actor: &Actor,
    target: Target,
    url: &str,
    secret: Option<&str>,
) -> ServiceResult<Registered> {
    notify::origin_of(url)?;
    let secret = notify::parse_secret(secret)?;
    write_tx(conn, |conn| {
        notify::register(conn, actor, target, url, &secret)
    })
}

/// Up to `limit` endpoints registered after entry `after`, with their delivery status.
pub fn list(conn: &mut DbConn, after: Option<i64>, limit: i64) -> ServiceResult<Vec<Webhook>> {
    read_tx(conn, |conn| notify::list(conn, after, limit))
}

/// Endpoint `id`.
pub fn get(conn: &mut DbConn, id: &str) -> ServiceResult<Webhook> {
    read_tx(conn, |conn| {
        notify::get(conn, id)?.ok_or_else(|| ServiceError::NotFound(format!("no webhook {id}")))
    })
}

/// Deactivate endpoint `id`: its pending deliveries are not sent.
pub fn deactivate(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<Webhook> {
    write_tx(conn, |conn| notify::deactivate(conn, actor, id))
}

/// Up to `limit` of endpoint `id`'s deliveries after entry `after`, by seq.
pub fn deliveries(
    conn: &mut DbConn,
    id: &str,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<Delivery>> {
    read_tx(conn, |conn| notify::deliveries(conn, id, after, limit))
}
