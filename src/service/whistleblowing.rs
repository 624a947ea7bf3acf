//! Whistleblowing (seed 5.2): a member of staff raises a concern under a keyed
//! pseudonym. The ledger, the tables and every response show
//! `wb-<hex of the first 16 bytes of HMAC-SHA256(key, sub)>` as the raiser's
//! `sub`; the real `sub` is kept only in `whistleblower_identities`, which only
//! the `scrutineer` can read (`GET /v1/admin/whistleblowing/{pseudonym}`, by
//! [`crate::http::authz`]'s table).
//! Nothing logs the real `sub` of a whistleblower (see `http::whistleblowing::loggable_sub`).

use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::ladder::{Actor, Dispute};
use crate::service::error::ServiceError;
use crate::store::db::{read_tx, DbConn};
use crate::store::schema::whistleblower_identities as wi;

/// What the logs show instead of a whistleblower's `sub`.
pub const WITHHELD: &str = "[withheld]";

/// The secret key the pseudonyms are derived with. Its `Debug` hides the bytes.
#[derive(Clone)]
pub struct WhistleKey(Vec<u8>);

impl std::fmt::Debug for WhistleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WhistleKey(..)")
    }
}

impl WhistleKey {
    /// A key from raw bytes (tests use a fixed one, to know the pseudonyms).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        WhistleKey(bytes.to_vec())
    }

    /// A fresh random 32-byte key.
    pub fn generate() -> Result<Self, String> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| format!("no randomness for a key: {e}"))?;
        Ok(WhistleKey(k.to_vec()))
    }

    /// Load the hex key at `path`, or create one there (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        let what =
            |e: &dyn std::fmt::Display| format!("whistleblowing key {}: {e}", path.display());
        match std::fs::read_to_string(path) {
            Ok(s) => {
                let bytes = hex::decode(s.trim()).map_err(|e| what(&e))?;
                if bytes.len() < 32 {
                    return Err(what(&"must hold at least 32 bytes, hex-encoded"));
                }
                Ok(WhistleKey(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                crate::http::auth::write_secret_file(path, hex::encode(&key.0).as_bytes())
                    .map_err(|e| what(&e))?;
                Ok(key)
            }
            Err(e) => Err(what(&e)),
        }
    }

    /// `wb-` + hex of the first 16 bytes of HMAC-SHA256(key, sub).
    pub fn pseudonym(&self, sub: &str) -> String {
        // HMAC takes a key of any length; this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return "wb-".into();
        };
        mac.update(sub.as_bytes());
        let out = mac.finalize().into_bytes();
        format!("wb-{}", hex::encode(&out[..16]))
    }

    /// The actor as recorded for a whistleblowing raise: the pseudonym as `sub`.
    pub fn masked(&self, actor: &Actor) -> Actor {
        Actor {
            sub: self.pseudonym(&actor.sub),
            ..actor.clone()
        }
    }

    /// The actor as recorded for a command on `d`: the raiser of a whistleblowing
    /// dispute keeps acting under the pseudonym; anyone else is unchanged.
    pub fn mask_for(&self, d: &Dispute, actor: Actor) -> Actor {
        if d.whistleblowing && self.pseudonym(&actor.sub) == d.raised_by.sub {
            self.masked(&actor)
        } else {
            actor
        }
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
    let known: i64 = wi::table
        .filter(wi::pseudonym.eq(pseudonym))
        .count()
        .get_result(conn)?;
    if known == 0 {
        diesel::insert_into(wi::table)
            .values((
                wi::pseudonym.eq(pseudonym),
                wi::sub.eq(&actor.sub),
                wi::agency.eq(&actor.agency),
                wi::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether this pseudonym belongs to someone who raised a whistleblowing concern.
pub fn is_whistleblower(conn: &mut DbConn, pseudonym: &str) -> Result<bool, ServiceError> {
    let n: i64 = wi::table
        .filter(wi::pseudonym.eq(pseudonym))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A `whistleblower_identities` row: who is behind a pseudonym.
#[derive(Debug, Queryable)]
pub struct IdentityRow {
    pub pseudonym: String,
    pub sub: String,
    pub agency: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The identity behind a pseudonym, if anyone raised a concern under it.
pub fn identity(conn: &mut DbConn, pseudonym: &str) -> Result<Option<IdentityRow>, ServiceError> {
    read_tx(conn, |conn| {
        wi::table
            .find(pseudonym)
            .select((wi::pseudonym, wi::sub, wi::agency, wi::created_at))
            .first::<IdentityRow>(conn)
            .optional()
            .map_err(ServiceError::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let k = WhistleKey::from_bytes(&[7u8; 32]);
        let p = k.pseudonym("alice@kingston");
        assert_eq!(p.len(), 3 + 32);
        assert!(p.starts_with("wb-"));
        assert_eq!(p, k.pseudonym("alice@kingston"));
        assert_ne!(p, k.pseudonym("bob@kingston"));
        assert_ne!(
            p,
            WhistleKey::from_bytes(&[8u8; 32]).pseudonym("alice@kingston")
        );
    }

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
