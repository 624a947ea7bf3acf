//! The agency registry as the use cases see it: listing it, and the one check
//! that every agency a request names is in it.

use crate::core::registry::Agency;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::agencies;
use crate::store::db::DbConn;

/// Up to `limit` agencies of the registry with ids after `after`, by id.
/// The registry is a few hundred rows at most, read whole and cut here.
pub fn agencies(conn: &mut DbConn, after: Option<&str>, limit: i64) -> ServiceResult<Vec<Agency>> {
    let mut all = agencies::list_agencies(conn)?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all
        .into_iter()
        .filter(|a| after.is_none_or(|k| a.id.as_str() > k))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

/// Refuse (422) unless every id in `ids` names an agency in the registry.
pub fn require_known(conn: &mut DbConn, ids: &[String]) -> ServiceResult<()> {
    let unknown = agencies::unknown_agencies(conn, ids)?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Unprocessable(format!(
            "unknown agency ids: {}",
            unknown.join(", ")
        )))
    }
}
