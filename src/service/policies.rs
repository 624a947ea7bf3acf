//! Ladder policies as use cases, one transaction each: listing them, reading
//! one document, activating one. Storage and the ledger entry are
//! [`crate::service::policy_store`]'s.

use crate::core::ladder::Actor;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::policy_store::{self, PolicyDocument, PolicySummary, Source};
use crate::store::db::{read_tx, write_tx, DbConn};

/// Up to `limit` of the policies the service holds (stored or shipped) with
/// versions after `after`, by version, the active one marked. A handful at
/// most, read whole and cut here.
pub fn summaries(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> ServiceResult<Vec<PolicySummary>> {
    let list = read_tx(conn, policy_store::list)?;
    let mut all: Vec<PolicySummary> = list.into_iter().map(|d| d.summary).collect();
    all.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(all
        .into_iter()
        .filter(|p| after.is_none_or(|k| p.version.as_str() > k))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

/// Policy `version`'s document, byte for byte, with its hash.
pub fn document(conn: &mut DbConn, version: &str) -> ServiceResult<PolicyDocument> {
    read_tx(conn, |conn| {
        policy_store::document(conn, version)?
            .ok_or_else(|| ServiceError::NotFound(format!("no policy '{version}'")))
    })
}

/// Activate a shipped policy (`version`) or a new `document`: exactly one.
/// The `seq` of the activation entry, and the document.
pub fn activate(
    conn: &mut DbConn,
    actor: &Actor,
    version: Option<&str>,
    document: Option<&str>,
) -> ServiceResult<(i64, PolicyDocument)> {
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
        let (entry, p) = policy_store::activate(conn, actor, source)?;
        let doc = policy_store::document(conn, &p.version)?
            .ok_or_else(|| ServiceError::Internal("activated policy vanished".into()))?;
        Ok((entry.seq, doc))
    })
}
