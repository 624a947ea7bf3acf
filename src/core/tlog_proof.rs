//! C2SP `tlog-proof` files: one entry's offline proof of inclusion. Pure: no I/O.
//!
//! [c2sp.org/tlog-proof] (v1):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 opaque data>          (optional)
//! index <decimal, no leading zeros>
//! <base64 hash>                       (zero or more: the RFC 6962 inclusion proof)
//!
//! <the checkpoint note, verbatim, with its signatures and cosignatures>
//! ```
//!
//! The ledger's files carry the entry itself in `extra`: its canonical bytes
//! (`core::ledger::Entry::canonical_bytes`), whose RFC 9162 leaf hash is the
//! entry's `entry_hash`. The specification says `extra` is not authenticated;
//! here it is checked rather than trusted: its leaf hash must be included at
//! `index` in the checkpoint, and its `seq` must be `index`. The checkpoint is
//! checked against a `tlog-policy` ([`crate::core::tlog_policy::Policy`]),
//! and, stricter than signed-note asks of a note reader, every signature
//! line in the file must be by a key the policy lists: a proof file is a
//! sealed artefact, so a line changed into an unknown key's is refused
//! instead of ignored.
//! Parsing is strict: canonical base64, one form per file, so any changed byte
//! either fails to parse or fails to verify.
//!
//! [c2sp.org/tlog-proof]: https://c2sp.org/tlog-proof

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::core::ledger::{leaf_hash, Hash};
use crate::core::merkle::verify_inclusion;
use crate::core::note::Note;
use crate::core::tlog_policy::{Accepted, Policy};

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The file extension the specification recommends.
pub const EXTENSION: &str = "tlog-proof";
/// The media type the service answers with.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// A parsed proof file, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

/// A proof file that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub index: u64,
    /// The entry's canonical bytes (from `extra`).
    pub entry: Vec<u8>,
    pub accepted: Accepted,
}

impl ProofFile {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| format!("a proof file starts with the line {HEADER}"))?;
        let next_line = |rest: &mut &str| -> Result<String, String> {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or("the proof file ends in the middle of a line")?;
            *rest = tail;
            Ok(line.to_string())
        };
        let mut line = next_line(&mut rest)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let bytes = B64
                .decode(b64)
                .map_err(|_| "the extra line is not canonical base64")?;
            if B64.encode(&bytes) != b64 {
                return Err("the extra line is not canonical base64".into());
            }
            extra = Some(bytes);
            line = next_line(&mut rest)?;
        }
        let index = line
            .strip_prefix("index ")
            .filter(|d| {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && (*d == "0" || !d.starts_with('0'))
            })
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or("the index line must be `index` and a decimal without leading zeros")?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            let bytes = B64
                .decode(&line)
                .map_err(|_| format!("proof line {} is not base64", proof.len() + 1))?;
            let h: Hash = bytes
                .as_slice()
                .try_into()
                .map_err(|_| format!("proof line {} is not a 32-byte hash", proof.len() + 1))?;
            if B64.encode(h) != line {
                return Err(format!(
                    "proof line {} is not canonical base64",
                    proof.len() + 1
                ));
            }
            if proof.len() >= 64 {
                return Err("an inclusion proof has at most 64 hashes".into());
            }
            proof.push(h);
        }
        Ok(ProofFile {
            extra,
            index,
            proof,
            checkpoint: rest.to_string(),
        })
    }

    /// Verifies the file under `policy` (see the module comment).
    pub fn verify(&self, policy: &Policy) -> Result<Verified, String> {
        let accepted = policy.verify(&self.checkpoint)?;
        let note = Note::parse(&self.checkpoint).map_err(|e| e.to_string())?;
        if let Some(sig) = note.signatures().iter().find(|s| !policy.knows(s)) {
            return Err(format!(
                "the checkpoint carries a signature by {}+{:08x}, a key the policy does not list",
                sig.name(),
                sig.key_id()
            ));
        }
        let entry = self
            .extra
            .clone()
            .ok_or("the proof file carries no entry (no extra line)")?;
        let cp = &accepted.checkpoint;
        verify_inclusion(
            &leaf_hash(&entry),
            self.index,
            cp.size(),
            &self.proof,
            cp.root_hash(),
        )
        .map_err(|e| {
            format!(
                "the entry is not included at index {} in the checkpoint of size {}: {e}",
                self.index,
                cp.size()
            )
        })?;
        let seq = serde_json::from_slice::<serde_json::Value>(&entry)
            .ok()
            .and_then(|v| v.get("seq").and_then(|s| s.as_u64()));
        if seq != Some(self.index) {
            return Err(format!(
                "the entry in the proof file is not the entry at index {}",
                self.index
            ));
        }
        Ok(Verified {
            index: self.index,
            entry,
            accepted,
        })
    }
}

/// Parses and verifies a proof file's text.
pub fn verify_text(text: &str, policy: &Policy) -> Result<Verified, String> {
    ProofFile::parse(text)?.verify(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::checkpoint::{Checkpoint, Cosigner};
    use crate::core::merkle::{inclusion_proof, MemTree};
    use crate::core::note::Signer;
    use crate::core::pq::MlDsaSigner;

    fn entry(seq: u64) -> Vec<u8> {
        format!("{{\"event\":\"x\",\"seq\":{seq}}}").into_bytes()
    }

    /// A tree of 7 entries, a dual-signed checkpoint cosigned by one witness,
    /// the policy that trusts them, and the proof file for entry 5.
    fn fixture() -> (String, Policy) {
        let mut tree = MemTree::new();
        for i in 0..7 {
            tree.push(leaf_hash(&entry(i)));
        }
        let root = crate::core::merkle::root(&mut tree, 7).unwrap();
        let proof = inclusion_proof(&mut tree, 5, 7).unwrap();
        let log = Signer::from_seed("example.org/log", &[1; 32]).unwrap();
        let pq = MlDsaSigner::from_seed("example.org/log", &[2; 32]).unwrap();
        let w = Cosigner::from_seed("w.example", &[3; 32]).unwrap();
        let cp = Checkpoint::new("example.org/log", 7, root).unwrap();
        let mut n = Note::new(&cp.to_string()).unwrap();
        n.sign(&log).unwrap();
        n.push(pq.sign_checkpoint(&cp.head(), 0).unwrap()).unwrap();
        n.push(w.cosign(&cp, 1_700_000_000).unwrap().to_note_signature())
            .unwrap();
        let file = ProofFile {
            extra: Some(entry(5)),
            index: 5,
            proof,
            checkpoint: n.to_string(),
        };
        let policy = Policy::parse(&format!(
            "log {}\nlog {}\nwitness w {}\nquorum w\n",
            log.verifier_key(),
            pq.verifier_key(),
            w.verifier_key()
        ))
        .unwrap();
        (file.to_text(), policy)
    }

    #[test]
    fn round_trips_and_verifies() {
        let (text, policy) = fixture();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        let parsed = ProofFile::parse(&text).unwrap();
        assert_eq!(parsed.to_text(), text);
        let v = verify_text(&text, &policy).unwrap();
        assert_eq!(v.index, 5);
        assert_eq!(v.entry, entry(5));
        assert_eq!(v.accepted.witnesses, vec!["w"]);
    }

    #[test]
    fn every_changed_byte_fails() {
        let (text, policy) = fixture();
        let bytes = text.as_bytes();
        // Every byte up to the end of the checkpoint's first signature line,
        // and a sample of the long ML-DSA-44 line and the cosignature.
        let sig_start = text.find("\n\n\u{2014}").unwrap();
        let first_sig_end = sig_start + 2 + text[sig_start + 2..].find('\n').unwrap();
        let positions: Vec<usize> = (0..=first_sig_end)
            .chain((first_sig_end + 1..bytes.len()).step_by(7))
            .collect();
        for at in positions {
            for flip in [0x01u8, 0x20] {
                let mut b = bytes.to_vec();
                b[at] ^= flip;
                let Ok(t) = String::from_utf8(b) else {
                    continue;
                };
                assert!(
                    verify_text(&t, &policy).is_err(),
                    "flipping bit {flip:#x} of byte {at} ({:?}) still verifies",
                    bytes[at] as char
                );
            }
        }
    }

    #[test]
    fn wrong_index_or_missing_entry_fails() {
        let (text, policy) = fixture();
        let mut f = ProofFile::parse(&text).unwrap();
        f.extra = Some(entry(4));
        assert!(f.verify(&policy).is_err());
        f.extra = None;
        assert!(f.verify(&policy).is_err());
        assert!(ProofFile::parse(&text.replace("index 5", "index 05")).is_err());
    }
}
