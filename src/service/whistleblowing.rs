//! Whistleblowing (seed 5.2): a member of staff raises a concern under a keyed
//! pseudonym. The ledger, the tables and every response show
//! `wb-<hex of the first 16 bytes of HMAC-SHA256(key, sub)>` as the raiser's
//! `sub` ([`WhistleKey`], pure, in [`crate::core::whistleblowing`]); the real
//! `sub` is kept only in `whistleblower_identities`
//! ([`crate::store::whistleblowers`]), which only the `scrutineer` can read
//! (`GET /v1/admin/whistleblowing/{pseudonym}`, by `http::authz`'s table).
//! Nothing logs the real `sub` of a whistleblower (see `http::state::loggable_sub`).

use std::path::Path;

use chrono::NaiveDateTime;

use crate::core::ladder::Actor;
use crate::service::error::ServiceError;
use crate::service::keys;
use crate::store::db::{read_tx, DbConn};
use crate::store::whistleblowers;

pub use crate::core::whistleblowing::{WhistleKey, WITHHELD};
pub use crate::store::whistleblowers::IdentityRow;

impl WhistleKey {
    /// A fresh random 32-byte key.
    pub fn generate() -> Result<Self, String> {
        Ok(WhistleKey::from_bytes(&keys::random_32()?))
    }

    /// Load the hex key at `path`, or create one there (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        keys::load_or_create(path, WhistleKey::from_hex, || {
            Self::generate().map(|k| {
                let text = k.to_hex();
                (k, text)
            })
        })
        .map_err(|e| format!("whistleblowing key {e}"))
    }
}

/// Keep who raised a whistleblowing dispute (call in the `raised` entry's
/// transaction). One row per person: a second concern reuses it.
pub fn record_identity(
    conn: &mut DbConn,
    pseudonym: &str,
    actor: &Actor,
    at: NaiveDateTime,
) -> Result<(), ServiceError> {
    if !whistleblowers::exists(conn, pseudonym)? {
        whistleblowers::insert(conn, pseudonym, &actor.sub, &actor.agency, at)?;
    }
    Ok(())
}

/// Whether this pseudonym belongs to someone who raised a whistleblowing concern.
pub fn is_whistleblower(conn: &mut DbConn, pseudonym: &str) -> Result<bool, ServiceError> {
    Ok(whistleblowers::exists(conn, pseudonym)?)
}

/// The identity behind a pseudonym, if anyone raised a concern under it.
pub fn identity(conn: &mut DbConn, pseudonym: &str) -> Result<Option<IdentityRow>, ServiceError> {
    read_tx(conn, |conn| {
        whistleblowers::find(conn, pseudonym).map_err(ServiceError::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whistleblowing-key");
        let a = WhistleKey::load_or_create(&path).unwrap();
        let b = WhistleKey::load_or_create(&path).unwrap();
        assert_eq!(a.pseudonym("x"), b.pseudonym("x"));
        std::fs::write(&path, "abcd").unwrap();
        assert!(WhistleKey::load_or_create(&path).is_err());
    }
}
