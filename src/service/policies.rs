//! Ladder policies as use cases, one transaction each: listing them, reading
//! one document, activating one. Storage and the ledger entry are
//! [`crate::service::policy_store`]'s.

use crate::core::ladder::Actor;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::policy_store::{self, PolicyDocument, PolicySummary, Source};
use crate::store::db::{read_tx, write_tx, DbConn};

/// Every policy the service holds, the active one marked.
pub fn summaries(conn: &mut DbConn) -> ServiceResult<Vec<PolicySummary>> {
    let list = read_tx(conn, policy_store::list)?;
    Ok(list.into_iter().map(|d| d.summary).collect())
}

/// Policy `version`'s document, byte for byte, with its hash.
pub fn document(conn: &mut DbConn, version: &str) -> ServiceResult<PolicyDocument> {
    read_tx(conn, |conn| {
        policy_store::document(conn, version)?
            .ok_or_else(|| ServiceError::NotFound(format!("no policy '{version}'")))
    })
}

/// Activate a shipped policy (`version`) or a new `document`: exactly one.
pub fn activate(
    conn: &mut DbConn,
    actor: &Actor,
    version: Option<&str>,
    document: Option<&str>,
) -> ServiceResult<PolicyDocument> {
    write_tx(conn, |conn| {
        let source = match (version, document) {
            (Some(v), None) => Source::Shipped(v),
            (None, Some(d)) => Source::Document(d),
            _ => {
                return Err(ServiceError::BadRequest(
                    "give either 'version' (a shipped policy) or 'document', not both".into(),
                ))
            }
        };
        let (_, p) = policy_store::activate(conn, actor, source)?;
        policy_store::document(conn, &p.version)?
            .ok_or_else(|| ServiceError::Internal("activated policy vanished".into()))
    })
}
