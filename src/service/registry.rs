//! The agency registry as the use cases see it: listing it, and the one check
//! that every agency a request names is in it.

use crate::core::registry::Agency;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::agencies;
use crate::store::db::DbConn;

/// The agency registry.
pub fn agencies(conn: &mut DbConn) -> ServiceResult<Vec<Agency>> {
    Ok(agencies::list_agencies(conn)?)
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
