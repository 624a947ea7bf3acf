//! Whistleblowing pseudonyms (seed 5.2), pure: `wb-<hex of the first 16 bytes
//! of HMAC-SHA256(key, sub)>` stands for the raiser's `sub` in the ledger, the
//! tables and every response. Where the key comes from (a file) and where the
//! real `sub` is kept are `service::whistleblowing`'s.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::ladder::{Actor, Dispute};

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
    /// The fewest key bytes accepted.
    pub const MIN_LEN: usize = 32;

    /// A key from raw bytes (tests use a fixed one, to know the pseudonyms).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        WhistleKey(bytes.to_vec())
    }

    /// The key as hex, the way its key file holds it.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// A key from its key file's text: hex of at least [`Self::MIN_LEN`] bytes.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s).map_err(|e| e.to_string())?;
        if bytes.len() < Self::MIN_LEN {
            return Err("must hold at least 32 bytes, hex-encoded".into());
        }
        Ok(WhistleKey(bytes))
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
}
