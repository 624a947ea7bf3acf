//! Transparency-log checkpoints and witness cosignatures, as the C2SP
//! specifications define them, on top of the signed notes of
//! [`crate::core::note`]. Pure: no actix, no diesel, no I/O.
//!
//! - [c2sp.org/tlog-checkpoint] (v1.0.0): the note text of a log's tree head,
//!   `<origin>\n<tree size>\n<base64 root hash>\n` plus optional extension lines.
//! - [c2sp.org/tlog-cosignature]: the Ed25519 `cosignature/v1` type (`0x04`), a
//!   witness's timestamped signature over a checkpoint. The ML-DSA-44 type
//!   (`0x06`, `subtree/v1`) is in [`crate::core::pq`]; [`Checkpoint::head`]
//!   is what it signs, and the log's second (ML-DSA-44) key is recorded
//!   beside its Ed25519 key ([`log_key_facts`], [`LogKeyHistory`]).
//!
//! [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint@v1.0.0
//! [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::core::ledger::Hash;
pub use crate::core::note::CheckpointError;
use crate::core::note::{
    find_key, open_note, HasKey, KeyError, KeyId, KeyPair, Note, NoteError, NoteSignature,
    PublicKey, Verifier, ALG_COSIGNATURE_V1,
};
use crate::core::pq::{MlDsaVerifier, TreeHead};

/// tlog-cosignature §Format: a timestamp "MUST NOT exceed 2^63 - 1".
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

// ---------------------------------------------------------------------------
// Checkpoints (tlog-checkpoint §Note text)

/// A log's tree head: origin, tree size, RFC 6962 root hash and any extension
/// lines. `Display` writes the checkpoint's note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root_hash: Hash,
    extensions: Vec<String>,
}

/// A checkpoint line must be non-empty and free of control characters
/// (including newlines); `n` is its 1-based line number for errors.
fn check_checkpoint_line(line: &str, n: usize) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyLine(n));
    }
    if line.chars().any(|c| c < ' ') {
        return Err(CheckpointError::ControlCharacter(n));
    }
    Ok(())
}

impl Checkpoint {
    /// The origin must be a non-empty line. (The log's signing key name SHOULD
    /// equal it; that is the caller's choice.)
    pub fn new(origin: &str, size: u64, root_hash: Hash) -> Result<Self, CheckpointError> {
        check_checkpoint_line(origin, 1)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions: Vec::new(),
        })
    }

    /// Appends an extension line (non-empty; tlog-checkpoint does not recommend them).
    pub fn with_extension(mut self, line: &str) -> Result<Self, CheckpointError> {
        check_checkpoint_line(line, 4 + self.extensions.len())?;
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// Parses a checkpoint note text (without the blank line and signatures).
    /// Parsing is strict, so formatting the result gives back `text` exactly.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingNewline)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooFewLines);
        };
        let mut checkpoint = Self::new(origin, parse_tree_size(size)?, parse_root_hash(root)?)?;
        for line in lines {
            checkpoint = checkpoint.with_extension(line)?;
        }
        Ok(checkpoint)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root_hash(&self) -> &Hash {
        &self.root_hash
    }

    /// What an ML-DSA-44 signature over this checkpoint covers.
    pub fn head(&self) -> TreeHead<'_> {
        TreeHead {
            origin: &self.origin,
            size: self.size,
            root: &self.root_hash,
            extension_lines: self.extensions.len(),
        }
    }

    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

/// ASCII decimal with no leading zeroes, unless the tree is empty ("0").
fn parse_tree_size(s: &str) -> Result<u64, CheckpointError> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return Err(CheckpointError::InvalidSize);
    }
    s.parse().map_err(|_| CheckpointError::InvalidSize)
}

fn parse_root_hash(s: &str) -> Result<Hash, CheckpointError> {
    let raw = B64
        .decode(s)
        .map_err(|_| CheckpointError::InvalidRootHash)?;
    raw.try_into().map_err(|_| CheckpointError::InvalidRootHash)
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", B64.encode(self.root_hash))?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Witness cosignatures (tlog-cosignature, Ed25519 cosignature/v1)

/// The message a witness signs (tlog-cosignature §Ed25519 signed message):
/// `cosignature/v1\ntime <timestamp>\n` then the whole checkpoint text,
/// extension lines included.
pub fn cosignature_message(checkpoint: &Checkpoint, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint}")
}

/// A witness's cosignature on a checkpoint. On the note it is a signature line
/// whose bytes are key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    name: String,
    key_id: KeyId,
    timestamp: u64,
    signature: [u8; 64],
}

impl Cosignature {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// POSIX seconds at which the witness cosigned.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The note signature line, ending in a newline.
    pub fn to_line(&self) -> String {
        self.to_note_signature().to_line()
    }

    /// Parses a signature line (with or without its newline) as a cosignature.
    /// This checks the framing only; [`CosignatureVerifier::verify`] checks the signature.
    pub fn from_line(line: &str) -> Result<Self, NoteError> {
        Self::from_note_signature(&NoteSignature::from_line(line)?)
    }

    pub fn from_note_signature(sig: &NoteSignature) -> Result<Self, NoteError> {
        let malformed = || NoteError::MalformedCosignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
        };
        let (timestamp, signature) = sig
            .signature
            .split_first_chunk::<8>()
            .ok_or_else(malformed)?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| malformed())?;
        let timestamp = u64::from_be_bytes(*timestamp);
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::InvalidTimestamp(timestamp));
        }
        Ok(Self {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature,
        })
    }

    pub fn to_note_signature(&self) -> NoteSignature {
        let mut signature = Vec::with_capacity(72);
        signature.extend_from_slice(&self.timestamp.to_be_bytes());
        signature.extend_from_slice(&self.signature);
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        }
    }
}

/// A witness's Ed25519 cosigning key (signature type 0x04).
#[derive(Clone, Debug)]
pub struct Cosigner(KeyPair);

impl Cosigner {
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        KeyPair::generate(ALG_COSIGNATURE_V1, name).map(Self)
    }

    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        KeyPair::from_seed(ALG_COSIGNATURE_V1, name, seed).map(Self)
    }

    /// Parses `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 || seed)>`.
    pub fn from_key_string(skey: &str) -> Result<Self, KeyError> {
        KeyPair::from_key_string(ALG_COSIGNATURE_V1, skey).map(Self)
    }

    /// The signer key string. It holds the private key: keep it secret.
    pub fn key_string(&self) -> String {
        self.0.key_string()
    }

    /// The verifier key `<name>+<key ID>+<base64(0x04 || public key)>`
    /// (a "vkey" in tlog-cosignature §Format).
    pub fn verifier_key(&self) -> String {
        self.0.public().key_string()
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(self.0.public())
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// Cosigns `checkpoint` as of `timestamp` (POSIX seconds, at most 2^63 - 1).
    /// A witness must first have checked the log's signature and consistency;
    /// [`cosign_note`] does the former.
    pub fn cosign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<Cosignature, NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::InvalidTimestamp(timestamp));
        }
        let message = cosignature_message(checkpoint, timestamp);
        Ok(Cosignature {
            name: self.0.name.clone(),
            key_id: self.0.key_id,
            timestamp,
            signature: self.0.sign(message.as_bytes()),
        })
    }
}

/// Verifies one witness's cosignatures (signature type 0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier(PublicKey);

impl HasKey for CosignatureVerifier {
    fn key(&self) -> &PublicKey {
        &self.0
    }
}

impl CosignatureVerifier {
    /// Parses `<name>+<key ID>+<base64(0x04 || public key)>`; the key ID must match.
    pub fn from_key_string(vkey: &str) -> Result<Self, KeyError> {
        PublicKey::from_key_string(ALG_COSIGNATURE_V1, vkey).map(Self)
    }

    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
        PublicKey::new(ALG_COSIGNATURE_V1, name, public_key).map(Self)
    }

    pub fn key_string(&self) -> String {
        self.0.key_string()
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }

    /// Checks that this witness made `cosignature` over `checkpoint`. A
    /// cosignature under another name or key ID is [`NoteError::UnknownSigner`].
    pub fn verify(
        &self,
        checkpoint: &Checkpoint,
        cosignature: &Cosignature,
    ) -> Result<(), NoteError> {
        if cosignature.name != self.0.name || cosignature.key_id != self.0.key_id {
            return Err(NoteError::UnknownSigner);
        }
        let message = cosignature_message(checkpoint, cosignature.timestamp);
        if !self.0.verify(message.as_bytes(), &cosignature.signature) {
            return Err(NoteError::InvalidSignature {
                name: cosignature.name.clone(),
                key_id: cosignature.key_id,
            });
        }
        Ok(())
    }

    /// Parses a cosignature line and verifies it against `checkpoint`.
    pub fn verify_line(
        &self,
        checkpoint: &Checkpoint,
        line: &str,
    ) -> Result<Cosignature, NoteError> {
        let cosignature = Cosignature::from_line(line)?;
        self.verify(checkpoint, &cosignature)?;
        Ok(cosignature)
    }
}

/// For a witness: opens a signed checkpoint with the log's verifiers, cosigns
/// it and returns the note with the cosignature line added (replacing any
/// earlier one by the same witness key).
pub fn cosign_note(
    note: &str,
    log: &[Verifier],
    cosigner: &Cosigner,
    timestamp: u64,
) -> Result<String, NoteError> {
    let opened = open_note(note, log)?;
    let checkpoint = Checkpoint::parse(&opened.text)?;
    let cosignature = cosigner.cosign(&checkpoint, timestamp)?;
    append_cosignatures(note, &[cosignature])
}

/// For a log: adds cosignature lines (as returned by witnesses, already checked
/// with [`CosignatureVerifier::verify`]) to a signed checkpoint note. A line
/// from a witness key already on the note replaces the old one.
pub fn append_cosignatures(note: &str, cosignatures: &[Cosignature]) -> Result<String, NoteError> {
    let mut parsed = Note::parse(note)?;
    Checkpoint::parse(&parsed.text)?;
    for cosignature in cosignatures {
        parsed.push(cosignature.to_note_signature())?;
    }
    Ok(parsed.to_string())
}

/// A checkpoint verified under the log's key, with the cosignatures of the
/// known witnesses that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The log's verified signatures.
    pub signatures: Vec<NoteSignature>,
    /// Verified cosignatures, one per witness key (the latest timestamp).
    pub cosignatures: Vec<Cosignature>,
    /// Signatures by keys neither the log's nor a known witness's.
    pub unverified: Vec<NoteSignature>,
}

/// Opens a signed checkpoint: the log's signature must verify as in
/// [`open_note`], the text must be a checkpoint, and every line from a known
/// witness must be a valid cosignature of it. Counting cosignatures against a
/// quorum policy is left to the caller.
pub fn open_checkpoint(
    note: &str,
    log: &[Verifier],
    witnesses: &[CosignatureVerifier],
) -> Result<VerifiedCheckpoint, NoteError> {
    let opened = open_note(note, log)?;
    let checkpoint = Checkpoint::parse(&opened.text)?;
    let mut cosignatures: Vec<Cosignature> = Vec::new();
    let mut unverified = Vec::new();
    for sig in opened.unverified {
        let Some(witness) = find_key(witnesses, &sig.name, sig.key_id)? else {
            unverified.push(sig);
            continue;
        };
        let cosignature = Cosignature::from_note_signature(&sig)?;
        witness.verify(&checkpoint, &cosignature)?;
        match cosignatures
            .iter_mut()
            .find(|c| c.name == sig.name && c.key_id == sig.key_id)
        {
            Some(seen) if seen.timestamp < cosignature.timestamp => *seen = cosignature,
            Some(_) => {}
            None => cosignatures.push(cosignature),
        }
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        signatures: opened.verified,
        cosignatures,
        unverified,
    })
}

// ---------------------------------------------------------------------------
// The log's keys, as the ledger records them (`log_key_recorded` entries)

/// The facts of a `log_key_recorded` entry for `key`: its C2SP verifier key
/// string and key ID (hex), and the key ID it replaces, if any. Nothing about
/// a person.
///
/// With an ML-DSA-44 key beside it (`pq`), its verifier key string is
/// `mldsa44_verifier_key`; entries recorded before the log had one lack the field.
pub fn log_key_facts(
    key: &Verifier,
    replaces: Option<&Verifier>,
    pq: Option<&MlDsaVerifier>,
) -> serde_json::Value {
    let mut facts = serde_json::json!({
        "verifier_key": key.key_string(),
        "key_id": format!("{:08x}", key.key_id()),
        "replaces": replaces.map(|r| format!("{:08x}", r.key_id())),
    });
    if let (Some(pq), Some(map)) = (pq, facts.as_object_mut()) {
        map.insert(
            "mldsa44_verifier_key".into(),
            serde_json::Value::String(pq.key_string()),
        );
    }
    facts
}

/// Every log key a ledger recorded, in `seq` order, and which of them a
/// checkpoint of a given size answers to: the last one recorded below that
/// size. A checkpoint older than the first record (signed before keys were
/// recorded, on a ledger upgraded since) answers to the first key recorded.
#[derive(Debug, Clone, Default)]
pub struct LogKeyHistory {
    keys: Vec<(i64, Verifier)>,
    /// The ML-DSA-44 key recorded with each of `keys`, if any.
    pq: Vec<Option<MlDsaVerifier>>,
}

impl LogKeyHistory {
    /// Replay one `log_key_recorded` entry at `seq` (in `seq` order).
    pub fn record(&mut self, seq: i64, facts: &serde_json::Value) -> Result<(), String> {
        let vkey = facts
            .get("verifier_key")
            .and_then(|v| v.as_str())
            .ok_or("a log_key_recorded entry without a verifier_key")?;
        let key = Verifier::from_key_string(vkey).map_err(|e| {
            format!("a log_key_recorded entry whose key {vkey} is not a verifier key: {e}")
        })?;
        let pq = match facts.get("mldsa44_verifier_key") {
            None => None,
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or("a log_key_recorded entry whose mldsa44_verifier_key is not a string")?;
                Some(MlDsaVerifier::from_key_string(s).map_err(|e| {
                    format!(
                        "a log_key_recorded entry whose ML-DSA-44 key is not a verifier key: {e}"
                    )
                })?)
            }
        };
        if pq.as_ref().is_some_and(|p| p.name() != key.name()) {
            return Err("a log_key_recorded entry whose two keys have different names".into());
        }
        let previous = self.keys.last().map(|(_, k)| k);
        if previous == Some(&key) {
            return Err(format!("log key {vkey} recorded again"));
        }
        if facts != &log_key_facts(&key, previous, pq.as_ref()) {
            return Err(
                "a log_key_recorded entry whose facts are not its key's own \
                        (verifier_key, key_id, and the key_id of the key before it)"
                    .into(),
            );
        }
        if self.keys.last().is_some_and(|(s, _)| *s >= seq) {
            return Err("log keys recorded out of order".into());
        }
        self.keys.push((seq, key));
        self.pq.push(pq);
        Ok(())
    }

    /// The ML-DSA-44 key recorded with the key a checkpoint of `size`
    /// answers to ([`Self::at`]), if that entry recorded one.
    pub fn pq_at(&self, size: u64) -> Option<&MlDsaVerifier> {
        let (seq, _) = self.at(size)?;
        let i = self.keys.iter().position(|(s, _)| *s == seq)?;
        self.pq.get(i)?.as_ref()
    }

    /// The ML-DSA-44 key recorded with the current key, if any.
    pub fn current_pq(&self) -> Option<&MlDsaVerifier> {
        self.pq.last()?.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every recorded key with its entry's `seq`, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = (i64, &Verifier)> {
        self.keys.iter().map(|(s, k)| (*s, k))
    }

    /// The key recorded last, and its entry's `seq`.
    pub fn current(&self) -> Option<(i64, &Verifier)> {
        self.keys.last().map(|(s, k)| (*s, k))
    }

    /// The key a checkpoint of `size` entries must be signed by, and the
    /// `seq` that recorded it; `None` if no key is recorded.
    pub fn at(&self, size: u64) -> Option<(i64, &Verifier)> {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.keys
            .iter()
            .rev()
            .find(|(s, _)| *s < size)
            .or(self.keys.first())
            .map(|(s, k)| (*s, k))
    }

    /// Check a signed checkpoint note said to be of `size` with `root`: it
    /// must be signed by the key in force at that size and state that size
    /// and root. `Err` says what is wrong. With no key recorded there is
    /// nothing to check against: `Ok`.
    pub fn check(&self, size: u64, root: &[u8], note: &str) -> Result<(), String> {
        let Some((seq, key)) = self.at(size) else {
            return Ok(());
        };
        let opened = open_checkpoint(note, std::slice::from_ref(key), &[]).map_err(|e| {
            format!(
                "the checkpoint of size {size} is not signed by the log key recorded at seq {seq} ({}): {e}",
                key.key_string()
            )
        })?;
        let cp = opened.checkpoint;
        if let Some(pq) = self.pq_at(size) {
            let sig = opened
                .unverified
                .iter()
                .find(|s| pq.matches(s))
                .ok_or_else(|| {
                    format!(
                        "the checkpoint of size {size} has no ML-DSA-44 signature by the key recorded at seq {seq}"
                    )
                })?;
            pq.verify_checkpoint(&cp.head(), sig)
                .map_err(|e| format!("the checkpoint of size {size}: ML-DSA-44 signature: {e}"))?;
        }
        if cp.size() != size || cp.root_hash().as_slice() != root {
            return Err(format!(
                "the checkpoint note stored for size {size} signs size {} with another root",
                cp.size()
            ));
        }
        if cp.origin() != key.name() {
            return Err(format!(
                "the checkpoint of size {size} has origin '{}', not the log key's name '{}'",
                cp.origin(),
                key.name()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::note::{sign_note, Signer};

    // --- A vector from Go's golang.org/x/mod/sumdb/note tests:
    // repository golang/mod, path sumdb/note/note_test.go.
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    // --- Vectors from C2SP: repository C2SP/C2SP, path tlog-checkpoint.md
    // (the example note) and tlog-cosignature.md (the witness line and the
    // example signed message).
    const SPEC_CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const SPEC_LOG_SIG: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    const SPEC_WITNESS_SIG: &str = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    #[test]
    fn formats_key_vectors() {
        // Repository transparency-dev/formats, path note/note_cosigv1_test.go
        // (TestCoSigV1NewVerifier). A native 0x04 witness key: its key ID
        // checks the cosignature/v1 key ID rule.
        let remora = CosignatureVerifier::from_key_string(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .unwrap();
        assert_eq!(remora.key_id(), 0xda77ade7);
        assert_eq!(
            remora.key_string(),
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
        );
        // A 0x01 key whose base64 holds a '+'.
        let test_key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
        assert_eq!(
            Verifier::from_key_string(test_key).unwrap().key_id(),
            0x7997405c
        );
        // The two types are not interchangeable.
        assert_eq!(
            CosignatureVerifier::from_key_string(test_key),
            Err(KeyError::WrongKeyType {
                expected: 0x04,
                found: 0x01
            })
        );
        assert_eq!(
            Verifier::from_key_string(
                "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
            ),
            Err(KeyError::WrongKeyType {
                expected: 0x01,
                found: 0x04
            })
        );
        assert_eq!(
            Verifier::from_key_string(&PETER_VKEY.replace("c74f20a3", "C74F20A3")),
            Err(KeyError::Malformed)
        );
        assert_eq!(
            Verifier::from_key_string("bananas.sigstore.dev+12344556"),
            Err(KeyError::Malformed)
        );
        assert_eq!(
            Verifier::from_key_string("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!"),
            Err(KeyError::Base64)
        );
        assert_eq!(
            Verifier::from_key_string("rekor.sigstore.dev+12345678+AwEB"),
            Err(KeyError::WrongKeyType {
                expected: 0x01,
                found: 0x03
            })
        );
        assert_eq!(
            Verifier::from_key_string("rekor.sigstore.dev+NOT_A_NUMBER+AQ=="),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn formats_cosignature_framing_vectors() {
        // Repository transparency-dev/formats, path note/note_cosigv1_test.go
        // (TestCosignatureTimestamp); the blob carries no name, so one is supplied.
        let works = "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
        let c = Cosignature::from_line(&format!("\u{2014} w.example {works}")).unwrap();
        assert_eq!(c.timestamp(), 1727964367);
        assert_eq!(c.key_id(), 0x646846b9);
        let plain = "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=";
        assert_eq!(
            Cosignature::from_line(&format!("\u{2014} w.example {plain}")),
            Err(NoteError::MalformedCosignature {
                name: "w.example".into(),
                key_id: 0x7908d142
            })
        );
        assert_eq!(
            Cosignature::from_line("\u{2014} w.example 5%/$! 2"),
            Err(NoteError::Base64(1))
        );
        assert_eq!(
            NoteSignature::from_line("\u{2014} w.example AAAAAA==\n\u{2014} w.example AAAAAA==\n"),
            Err(NoteError::MalformedSignatureLine(1))
        );
    }

    #[test]
    fn c2sp_checkpoint_and_cosignature_examples() {
        let checkpoint = Checkpoint::parse(SPEC_CHECKPOINT).unwrap();
        assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size(), 20852163);
        assert_eq!(
            hex::encode(checkpoint.root_hash()),
            "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
        );
        assert!(checkpoint.extensions().is_empty());
        assert_eq!(checkpoint.to_string(), SPEC_CHECKPOINT);

        // tlog-cosignature.md §Ed25519 signed message, the example verbatim.
        assert_eq!(
            cosignature_message(&checkpoint, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );

        let note = format!("{SPEC_CHECKPOINT}\n{SPEC_LOG_SIG}{SPEC_WITNESS_SIG}");
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(parsed.signatures()[0].key_id(), 0x033de0ae);
        let witness = Cosignature::from_note_signature(&parsed.signatures()[1]).unwrap();
        assert_eq!(witness.name(), "witness.example.com/w1");
        assert_eq!(witness.key_id(), 0x8d66cf3f);
        assert_eq!(witness.timestamp(), 1679315147);
        assert_eq!(witness.to_line(), SPEC_WITNESS_SIG);
        assert_eq!(parsed.to_string(), note);
    }

    #[test]
    fn bad_names_are_refused() {
        for name in [
            "",
            "a b",
            "a+b",
            "tab\there",
            "nbsp\u{a0}",
            "em\u{2003}space",
            "bell\x07",
        ] {
            assert_eq!(
                Signer::generate(name).err(),
                Some(KeyError::InvalidName(name.into()))
            );
            assert_eq!(
                Cosigner::from_seed(name, &[7; 32]).err(),
                Some(KeyError::InvalidName(name.into()))
            );
        }
        assert!(Signer::generate("example.com/log-1").is_ok());
    }

    #[test]
    fn checkpoint_rules() {
        let root = [0xab; 32];
        let cp = Checkpoint::new("log.example/1", 0, root)
            .unwrap()
            .with_extension("ext one")
            .unwrap()
            .with_extension("ext two")
            .unwrap();
        let text = cp.to_string();
        assert_eq!(
            text,
            format!("log.example/1\n0\n{}\next one\next two\n", B64.encode(root))
        );
        assert_eq!(Checkpoint::parse(&text), Ok(cp));

        let good_root = B64.encode(root);
        let max = format!("o\n{}\n{good_root}\n", u64::MAX);
        assert_eq!(Checkpoint::parse(&max).unwrap().size(), u64::MAX);

        let cases = [
            (
                format!("o\n1\n{good_root}"),
                CheckpointError::MissingNewline,
            ),
            ("o\n1\n".to_owned(), CheckpointError::TooFewLines),
            (format!("\n1\n{good_root}\n"), CheckpointError::EmptyLine(1)),
            (
                format!("o\n1\n{good_root}\n\n"),
                CheckpointError::EmptyLine(4),
            ),
            (
                format!("o\x01\n1\n{good_root}\n"),
                CheckpointError::ControlCharacter(1),
            ),
            (
                format!("o\n01\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n00\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n+1\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n-1\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n 1\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (format!("o\n\n{good_root}\n"), CheckpointError::InvalidSize),
            (
                format!("o\n18446744073709551616\n{good_root}\n"),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n1\n{}\n", B64.encode([1u8; 31])),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{}\n", B64.encode([1u8; 33])),
                CheckpointError::InvalidRootHash,
            ),
            (
                "o\n1\nnot base64!\n".to_owned(),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{}\n", good_root.trim_end_matches('=')),
                CheckpointError::InvalidRootHash,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        assert_eq!(
            Checkpoint::new("", 1, root),
            Err(CheckpointError::EmptyLine(1))
        );
        assert_eq!(
            Checkpoint::new("a\nb", 1, root),
            Err(CheckpointError::ControlCharacter(1))
        );
    }

    #[test]
    fn signed_checkpoint_round_trip() {
        let log = Signer::generate("log.example/escalations").unwrap();
        let cp = Checkpoint::new(log.name(), 7, crate::core::ledger::sha256(b"root"))
            .unwrap()
            .with_extension("kept")
            .unwrap();
        let note = sign_note(&cp.to_string(), &[&log]).unwrap();
        let opened = open_checkpoint(&note, &[log.verifier()], &[]).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(opened.checkpoint.extensions(), ["kept".to_owned()]);
        assert!(opened.cosignatures.is_empty());

        // A signed note whose text is not a checkpoint.
        let not_cp = sign_note("just text\n", &[&log]).unwrap();
        assert_eq!(
            open_checkpoint(&not_cp, &[log.verifier()], &[]),
            Err(NoteError::Checkpoint(CheckpointError::TooFewLines))
        );
    }

    #[test]
    fn cosignature_round_trip() {
        let log = Signer::generate("log.example").unwrap();
        let w1 = Cosigner::generate("witness.example/w1").unwrap();
        let w2 = Cosigner::generate("witness.example/w2").unwrap();
        let cp = Checkpoint::new("log.example", 3, [9; 32]).unwrap();
        let signed = sign_note(&cp.to_string(), &[&log]).unwrap();

        // Key strings: type 0x04 and its own key ID rule.
        let again = Cosigner::from_key_string(&w1.key_string()).unwrap();
        assert_eq!(again.verifier(), w1.verifier());
        assert_eq!(
            CosignatureVerifier::from_key_string(&w1.verifier_key()),
            Ok(w1.verifier())
        );
        let w1_b64 = w1
            .verifier_key()
            .splitn(3, '+')
            .nth(2)
            .map(|b| B64.decode(b).unwrap());
        assert_eq!(w1_b64.map(|raw| raw[0]), Some(0x04));
        assert!(matches!(
            Signer::from_key_string(&w1.key_string()),
            Err(KeyError::WrongKeyType { .. })
        ));

        // A witness cosigns via the note helper, another one by hand.
        let note = cosign_note(&signed, &[log.verifier()], &w1, 1_700_000_000).unwrap();
        let c2 = w2.cosign(&cp, 1_700_000_100).unwrap();
        let line = c2.to_line();
        assert_eq!(w2.verifier().verify_line(&cp, &line), Ok(c2.clone()));
        let note = append_cosignatures(&note, std::slice::from_ref(&c2)).unwrap();

        let opened =
            open_checkpoint(&note, &[log.verifier()], &[w1.verifier(), w2.verifier()]).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(opened.signatures.len(), 1);
        let names: Vec<_> = opened
            .cosignatures
            .iter()
            .map(|c| (c.name(), c.timestamp()))
            .collect();
        assert_eq!(
            names,
            [
                ("witness.example/w1", 1_700_000_000),
                ("witness.example/w2", 1_700_000_100)
            ]
        );
        assert!(opened.unverified.is_empty());

        // Unknown witnesses are ignored; a plain note reader ignores all cosignatures.
        let only_w1 = open_checkpoint(&note, &[log.verifier()], &[w1.verifier()]).unwrap();
        assert_eq!(only_w1.cosignatures.len(), 1);
        assert_eq!(only_w1.unverified.len(), 1);
        assert_eq!(
            open_note(&note, &[log.verifier()])
                .unwrap()
                .unverified
                .len(),
            2
        );
        // Cosignatures alone do not make a note trusted.
        assert_eq!(
            open_checkpoint(&note, &[], &[w1.verifier()]),
            Err(NoteError::UnknownSigner)
        );

        // Re-cosigning replaces the witness's line.
        let renewed = cosign_note(&note, &[log.verifier()], &w1, 1_700_000_200).unwrap();
        assert_eq!(Note::parse(&renewed).unwrap().signatures().len(), 3);
        let reopened = open_checkpoint(&renewed, &[log.verifier()], &[w1.verifier()]).unwrap();
        assert_eq!(reopened.cosignatures[0].timestamp(), 1_700_000_200);

        // Tampered timestamp, checkpoint, extension line or signature: invalid.
        let mut later = c2.clone();
        later.timestamp += 1;
        let invalid = NoteError::InvalidSignature {
            name: c2.name().into(),
            key_id: c2.key_id(),
        };
        assert_eq!(w2.verifier().verify(&cp, &later), Err(invalid.clone()));
        let other_cp = Checkpoint::new("log.example", 4, [9; 32]).unwrap();
        assert_eq!(w2.verifier().verify(&other_cp, &c2), Err(invalid.clone()));
        let extended = cp.clone().with_extension("x").unwrap();
        assert_eq!(w2.verifier().verify(&extended, &c2), Err(invalid.clone()));
        let mut flipped = c2.clone();
        flipped.signature[0] ^= 1;
        assert_eq!(w2.verifier().verify(&cp, &flipped), Err(invalid.clone()));
        let tampered_note = note.replace(&line, &later.to_line());
        assert_eq!(
            open_checkpoint(&tampered_note, &[log.verifier()], &[w2.verifier()]),
            Err(invalid)
        );
        // Someone else's cosignature, or a wrong key ID, is an unknown signer.
        assert_eq!(
            w1.verifier().verify(&cp, &c2),
            Err(NoteError::UnknownSigner)
        );

        // The extension lines are part of the cosigned message.
        let c3 = w2.cosign(&extended, 5).unwrap();
        assert_eq!(w2.verifier().verify(&extended, &c3), Ok(()));
        assert_eq!(
            w2.verifier().verify(&cp, &c3),
            Err(NoteError::InvalidSignature {
                name: c3.name().into(),
                key_id: c3.key_id()
            })
        );

        // Timestamps stop at 2^63 - 1.
        assert!(w1.cosign(&cp, i64::MAX as u64).is_ok());
        assert_eq!(
            w1.cosign(&cp, 1 << 63),
            Err(NoteError::InvalidTimestamp(1 << 63))
        );
        let mut huge = c2.to_note_signature();
        huge.signature[0] = 0x80;
        assert!(matches!(
            Cosignature::from_note_signature(&huge),
            Err(NoteError::InvalidTimestamp(_))
        ));

        // Cosigning needs the log's signature to verify first.
        assert_eq!(
            cosign_note(&signed, &[], &w1, 1),
            Err(NoteError::UnknownSigner)
        );
    }

    #[test]
    fn cosignature_is_deterministic_for_a_fixed_seed() {
        // The same seed as a 0x01 signer and a 0x04 cosigner gives the same
        // Ed25519 key but different key IDs (signed-note §Signature types).
        let seed = [42u8; 32];
        let signer = Signer::from_seed("same.example", &seed).unwrap();
        let cosigner = Cosigner::from_seed("same.example", &seed).unwrap();
        assert_eq!(
            signer.verifier().public_key(),
            cosigner.verifier().0.key.to_bytes()
        );
        assert_ne!(signer.key_id(), cosigner.key_id());
        let cp = Checkpoint::parse(SPEC_CHECKPOINT).unwrap();
        assert_eq!(
            cosigner.cosign(&cp, 1679315147),
            cosigner.cosign(&cp, 1679315147)
        );
    }

    #[test]
    fn a_checkpoint_answers_to_the_key_recorded_below_its_size() {
        let k1 = Signer::generate("log.example").unwrap();
        let k2 = Signer::generate("log.example").unwrap();
        let mut h = LogKeyHistory::default();
        assert!(h.at(5).is_none());
        h.record(2, &log_key_facts(&k1.verifier(), None, None))
            .unwrap();
        // The same key again, facts naming the wrong predecessor, out of order.
        assert!(h
            .record(
                3,
                &log_key_facts(&k1.verifier(), Some(&k1.verifier()), None)
            )
            .is_err());
        assert!(h
            .record(3, &log_key_facts(&k2.verifier(), None, None))
            .is_err());
        assert!(h
            .record(
                1,
                &log_key_facts(&k2.verifier(), Some(&k1.verifier()), None)
            )
            .is_err());
        h.record(
            10,
            &log_key_facts(&k2.verifier(), Some(&k1.verifier()), None),
        )
        .unwrap();
        for (size, seq) in [(0, 2), (2, 2), (3, 2), (10, 2), (11, 10), (99, 10)] {
            assert_eq!(h.at(size).map(|(s, _)| s), Some(seq), "size {size}");
        }
        let root = [7u8; 32];
        let note = |k: &Signer, size: u64| {
            let cp = Checkpoint::new("log.example", size, root).unwrap();
            sign_note(&cp.to_string(), &[k]).unwrap()
        };
        h.check(10, &root, &note(&k1, 10)).unwrap();
        h.check(11, &root, &note(&k2, 11)).unwrap();
        let e = h.check(11, &root, &note(&k1, 11)).unwrap_err();
        assert!(e.contains("recorded at seq 10"), "{e}");
        assert!(h.check(10, &root, &note(&k2, 10)).is_err());
        assert!(h.check(11, &[0u8; 32], &note(&k2, 11)).is_err());
        assert!(h.check(12, &root, &note(&k2, 11)).is_err());
    }
}
