//! Signed notes as the C2SP specification defines them, and the key machinery
//! shared with [`crate::core::checkpoint`]. Pure: no actix, no diesel, no I/O.
//!
//! - [c2sp.org/signed-note] (v1.0.0): a note is a text ending in a newline, a
//!   blank line, then one or more lines `— <key name> base64(key ID || signature)`.
//!   The Ed25519 signature type (`0x01`) is here; ML-DSA-44 (`0x06`) is in
//!   [`crate::core::pq`].
//!
//! Key strings follow Go's `golang.org/x/mod/sumdb/note`: a verifier key is
//! `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>` and a signer key
//! is `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>`.
//!
//! Choices where the specification leaves room:
//! - at most [`MAX_SIGNATURES`] signature lines (signed-note §Format asks for at
//!   least 16; Go's implementation stops at 100);
//! - a signature from a known key that fails to verify rejects the whole note
//!   (signed-note §Signatures allows it);
//! - Ed25519 verification is `verify_strict` (RFC 8032 with small-order keys and
//!   non-canonical encodings refused), which every honest signer passes;
//! - base64 must be canonical: padded, no stray bits (RFC 4648 §4).
//!
//! [c2sp.org/signed-note]: https://c2sp.org/signed-note@v1.0.0

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The 32-bit key ID that starts every signature (signed-note §Signatures).
pub type KeyId = u32;

/// The most signature lines a note may carry; more is [`NoteError::TooManySignatures`].
pub const MAX_SIGNATURES: usize = 100;

/// Signature type of plain Ed25519 note signatures (signed-note §Signature types).
const ALG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 witness cosignatures (tlog-cosignature §Format).
pub(crate) const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Em dash (U+2014) and a space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// What is wrong with a key name or a key string.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidName(String),
    #[error("malformed key string")]
    Malformed,
    #[error("key string is not valid base64")]
    Base64,
    #[error("key type 0x{found:02x} where 0x{expected:02x} was expected")]
    WrongKeyType { expected: u8, found: u8 },
    #[error("key material is {0} bytes, expected 32")]
    KeyLength(usize),
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    #[error("key ID in the key string does not match the key")]
    KeyIdMismatch,
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// What is wrong with a checkpoint text (tlog-checkpoint §Note text). It is
/// re-exported as `checkpoint::CheckpointError`; it is defined here because
/// [`NoteError::Checkpoint`] wraps it and this module must not import `checkpoint`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("checkpoint text must end in a newline")]
    MissingNewline,
    #[error("checkpoint text needs an origin, a tree size and a root hash line")]
    TooFewLines,
    #[error("checkpoint line {0} is empty")]
    EmptyLine(usize),
    #[error("checkpoint line {0} contains a control character")]
    ControlCharacter(usize),
    #[error("tree size must be decimal, without leading zeros, and fit in 64 bits")]
    InvalidSize,
    #[error("root hash must be the base64 of 32 bytes")]
    InvalidRootHash,
}

/// Why a note could not be built, parsed or verified.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    #[error("note text must end in a newline")]
    TextMissingNewline,
    #[error("note contains a control character at byte {0}")]
    ControlCharacter(usize),
    #[error("note has no signature lines after a blank line")]
    MissingSignatures,
    #[error("note must end in a newline after its last signature line")]
    SignaturesMissingNewline,
    #[error("line {0} is not a signature line \"— <name> <base64>\"")]
    MalformedSignatureLine(usize),
    #[error("line {line}: invalid key name {name:?}")]
    InvalidName { line: usize, name: String },
    #[error("line {0}: signature is not valid base64")]
    Base64(usize),
    #[error("line {0}: signature is shorter than a key ID and one byte")]
    SignatureTooShort(usize),
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("no signers given")]
    NoSigners,
    #[error("no signature from a known key (unknown signer)")]
    UnknownSigner,
    #[error("ambiguous key {name}+{key_id:08x}: several verifiers with different keys share it")]
    AmbiguousKey { name: String, key_id: KeyId },
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature { name: String, key_id: KeyId },
    #[error("signature by {name}+{key_id:08x} is not a cosignature/v1 (8-byte timestamp and 64-byte signature)")]
    MalformedCosignature { name: String, key_id: KeyId },
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    InvalidTimestamp(u64),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

// ---------------------------------------------------------------------------
// Names, key IDs and key strings (signed-note §Format, §Signatures)

/// signed-note §Format: key names "MUST be non-empty and MUST NOT contain any
/// Unicode spaces or plus (U+002B) characters". Control characters are refused
/// too, since a note may not contain them.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c < ' ')
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian (signed-note
/// §Signatures; tlog-cosignature §Format for type 0x04).
fn key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([alg])
        .chain_update(public_key)
        .finalize();
    KeyId::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn format_key_string(alg: u8, name: &str, key_id: KeyId, key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(alg);
    raw.extend_from_slice(key);
    format!("{name}+{key_id:08x}+{}", B64.encode(raw))
}

/// Splits `<name>+<8 hex>+<base64(alg || 32 bytes)>`. The base64 may itself
/// contain '+', which names may not, so only the first two '+' separate.
fn parse_key_string(alg: u8, s: &str) -> Result<(&str, KeyId, [u8; 32]), KeyError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::Malformed);
    };
    check_name(name)?;
    // Canonical lowercase only (Go writes `%08x`), so each key has one string.
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(KeyError::Malformed);
    }
    let key_id = KeyId::from_str_radix(id_hex, 16).map_err(|_| KeyError::Malformed)?;
    let raw = B64.decode(key_b64).map_err(|_| KeyError::Base64)?;
    let (&found, key) = raw.split_first().ok_or(KeyError::Malformed)?;
    if found != alg {
        return Err(KeyError::WrongKeyType {
            expected: alg,
            found,
        });
    }
    let key: [u8; 32] = key.try_into().map_err(|_| KeyError::KeyLength(key.len()))?;
    Ok((name, key_id, key))
}

/// An Ed25519 private key with its name and key ID for one signature type.
#[derive(Clone)]
pub(crate) struct KeyPair {
    alg: u8,
    pub(crate) name: String,
    pub(crate) key_id: KeyId,
    key: SigningKey,
}

impl KeyPair {
    pub(crate) fn from_seed(alg: u8, name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, alg, key.verifying_key().as_bytes());
        Ok(Self {
            alg,
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    pub(crate) fn generate(alg: u8, name: &str) -> Result<Self, KeyError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(alg, name, &seed)
    }

    pub(crate) fn from_key_string(alg: u8, skey: &str) -> Result<Self, KeyError> {
        let rest = skey
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(KeyError::Malformed)?;
        let (name, key_id, seed) = parse_key_string(alg, rest)?;
        let pair = Self::from_seed(alg, name, &seed)?;
        if pair.key_id != key_id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(pair)
    }

    pub(crate) fn key_string(&self) -> String {
        let key = format_key_string(self.alg, &self.name, self.key_id, &self.key.to_bytes());
        format!("{SIGNER_KEY_PREFIX}{key}")
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey {
            alg: self.alg,
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        write!(
            f,
            "{}+{:08x} (type 0x{:02x}, private)",
            self.name, self.key_id, self.alg
        )
    }
}

/// An Ed25519 public key with its name and key ID for one signature type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicKey {
    alg: u8,
    pub(crate) name: String,
    pub(crate) key_id: KeyId,
    pub(crate) key: VerifyingKey,
}

impl PublicKey {
    pub(crate) fn new(alg: u8, name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| KeyError::InvalidPublicKey)?;
        let key_id = key_id(name, alg, public_key);
        Ok(Self {
            alg,
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    pub(crate) fn from_key_string(alg: u8, vkey: &str) -> Result<Self, KeyError> {
        let (name, key_id, public_key) = parse_key_string(alg, vkey)?;
        let key = Self::new(alg, name, &public_key)?;
        if key.key_id != key_id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(key)
    }

    pub(crate) fn key_string(&self) -> String {
        format_key_string(self.alg, &self.name, self.key_id, self.key.as_bytes())
    }

    pub(crate) fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.key.verify_strict(msg, &sig).is_ok())
    }
}

/// The verifier types, by their public key.
pub(crate) trait HasKey {
    fn key(&self) -> &PublicKey;
}

/// The one key among `keys` with this name and key ID, if any. Identical
/// duplicates are harmless; different keys sharing both would be ambiguous.
pub(crate) fn find_key<'a, T: HasKey>(
    keys: &'a [T],
    name: &str,
    key_id: KeyId,
) -> Result<Option<&'a T>, NoteError> {
    let mut found: Option<&T> = None;
    for key in keys {
        let k = key.key();
        if k.name != name || k.key_id != key_id {
            continue;
        }
        match found {
            Some(f) if f.key().key != k.key => {
                return Err(NoteError::AmbiguousKey {
                    name: name.to_owned(),
                    key_id,
                });
            }
            _ => found = Some(key),
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------
// Note signers and verifiers (signed-note §Ed25519 signatures)

/// An Ed25519 note signer (signature type 0x01).
#[derive(Clone, Debug)]
pub struct Signer(KeyPair);

impl Signer {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        KeyPair::generate(ALG_ED25519, name).map(Self)
    }

    /// The key whose RFC 8032 private key is `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        KeyPair::from_seed(ALG_ED25519, name, seed).map(Self)
    }

    /// Parses `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>`; the key ID
    /// must match the key.
    pub fn from_key_string(skey: &str) -> Result<Self, KeyError> {
        KeyPair::from_key_string(ALG_ED25519, skey).map(Self)
    }

    /// The signer key string. It holds the private key: keep it secret.
    pub fn key_string(&self) -> String {
        self.0.key_string()
    }

    /// The verifier key string `<name>+<key ID>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        self.0.public().key_string()
    }

    pub fn verifier(&self) -> Verifier {
        Verifier(self.0.public())
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }
}

/// An Ed25519 note verifier (signature type 0x01).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier(PublicKey);

impl HasKey for Verifier {
    fn key(&self) -> &PublicKey {
        &self.0
    }
}

impl Verifier {
    /// Parses `<name>+<key ID>+<base64(0x01 || public key)>`; the key ID must match.
    pub fn from_key_string(vkey: &str) -> Result<Self, KeyError> {
        PublicKey::from_key_string(ALG_ED25519, vkey).map(Self)
    }

    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
        PublicKey::new(ALG_ED25519, name, public_key).map(Self)
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

    /// Whether `sig` is this key's (same name and key ID) and verifies over `text`.
    pub fn verify_signature(&self, text: &str, sig: &NoteSignature) -> bool {
        sig.name == self.0.name
            && sig.key_id == self.0.key_id
            && self.0.verify(text.as_bytes(), &sig.signature)
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }
}

// ---------------------------------------------------------------------------
// Notes (signed-note §Format)

/// One signature line of a note, verified or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub(crate) name: String,
    pub(crate) key_id: KeyId,
    pub(crate) signature: Vec<u8>,
}

impl NoteSignature {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line `— <name> base64(key ID || signature)\n`.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// Parses one signature line, with or without its final newline.
    pub fn from_line(line: &str) -> Result<Self, NoteError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        check_controls(line)?;
        if line.contains('\n') {
            return Err(NoteError::MalformedSignatureLine(1));
        }
        parse_signature_line(line, 1)
    }
}

/// Parses `— <name> <base64>` (no newline); `line_no` only labels errors.
fn parse_signature_line(line: &str, line_no: usize) -> Result<NoteSignature, NoteError> {
    let (name, b64) = line
        .strip_prefix(SIG_PREFIX)
        .and_then(|rest| rest.split_once(' '))
        .ok_or(NoteError::MalformedSignatureLine(line_no))?;
    if !is_valid_name(name) {
        return Err(NoteError::InvalidName {
            line: line_no,
            name: name.to_owned(),
        });
    }
    let raw = B64.decode(b64).map_err(|_| NoteError::Base64(line_no))?;
    if raw.len() < 5 {
        return Err(NoteError::SignatureTooShort(line_no));
    }
    let (id, signature) = raw.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: KeyId::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}

/// signed-note §Format: no ASCII control characters other than newline.
fn check_controls(s: &str) -> Result<(), NoteError> {
    match s.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(at) => Err(NoteError::ControlCharacter(at)),
        None => Ok(()),
    }
}

/// A parsed note: its text and its signature lines, none of them verified yet.
/// `Display` writes the note back out (a note is only valid once signed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub(crate) text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note. The text must end in a newline and hold no control
    /// characters but newlines.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::TextMissingNewline);
        }
        check_controls(text)?;
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Splits a signed note into text and signature lines, strictly per
    /// signed-note §Format: the text ends at the last blank line, and every
    /// line after it is a signature line ending in a newline.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        check_controls(note)?;
        let split = note.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, block) = (&note[..=split], &note[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::SignaturesMissingNewline)?;
        // No "\n\n" follows the split, so every line in the block is non-empty.
        let lines: Vec<&str> = block.split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let first_line_no = text.matches('\n').count() + 2;
        let signatures = lines
            .iter()
            .enumerate()
            .map(|(i, line)| parse_signature_line(line, first_line_no + i))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature by `signer`, replacing any earlier one by the same key.
    pub fn sign(&mut self, signer: &Signer) -> Result<(), NoteError> {
        let signature = signer.0.sign(self.text.as_bytes()).to_vec();
        self.push(NoteSignature {
            name: signer.0.name.clone(),
            key_id: signer.0.key_id,
            signature,
        })
    }

    pub(crate) fn push(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        self.signatures
            .retain(|s| s.name != sig.name || s.key_id != sig.key_id);
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(sig);
        Ok(())
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            f.write_str(&sig.to_line())?;
        }
        Ok(())
    }
}

/// Signs `text` (which must end in a newline) with every signer and returns
/// the signed note.
pub fn sign_note(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    let mut note = Note::new(text)?;
    for signer in signers {
        note.sign(signer)?;
    }
    Ok(note.to_string())
}

/// A note whose text may be trusted: at least one signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    pub text: String,
    /// Signatures by known keys, all verified; one per key.
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys not among the verifiers, ignored (signed-note
    /// §Signatures); identical lines appear once.
    pub unverified: Vec<NoteSignature>,
}

/// Parses `note` and checks its signatures against `verifiers`
/// (signed-note §Signatures): lines from unknown keys are set aside, every
/// line from a known key must verify, and at least one must.
pub fn open_note(note: &str, verifiers: &[Verifier]) -> Result<VerifiedNote, NoteError> {
    let note = Note::parse(note)?;
    let mut verified: Vec<NoteSignature> = Vec::new();
    let mut unverified: Vec<NoteSignature> = Vec::new();
    for sig in note.signatures {
        match find_key(verifiers, &sig.name, sig.key_id)? {
            None => {
                if !unverified.contains(&sig) {
                    unverified.push(sig);
                }
            }
            Some(key) => {
                if !key.0.verify(note.text.as_bytes(), &sig.signature) {
                    return Err(NoteError::InvalidSignature {
                        name: sig.name,
                        key_id: sig.key_id,
                    });
                }
                if !verified
                    .iter()
                    .any(|v| v.name == sig.name && v.key_id == sig.key_id)
                {
                    verified.push(sig);
                }
            }
        }
    }
    if verified.is_empty() {
        return Err(NoteError::UnknownSigner);
    }
    Ok(VerifiedNote {
        text: note.text,
        verified,
        unverified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- Vectors from Go's golang.org/x/mod/sumdb/note tests:
    // repository golang/mod, path sumdb/note/note_test.go.
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> Verifier {
        Verifier::from_key_string(PETER_VKEY).expect("Go's PeterNeumann vkey")
    }

    fn enoch() -> Verifier {
        Verifier::from_key_string(ENOCH_VKEY).expect("Go's EnochRoot vkey")
    }

    fn go_note(sigs: &[&str]) -> String {
        format!("{GO_TEXT}\n{}", sigs.concat())
    }

    #[test]
    fn go_signer_key_reproduces_verifier_key_and_signature() {
        let signer = Signer::from_key_string(PETER_SKEY).expect("Go's signer key");
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.key_string(), PETER_SKEY);
        assert_eq!(signer.verifier_key(), PETER_VKEY);
        assert_eq!(signer.verifier(), peter());
        // note_test.go TestSign: Ed25519 is deterministic, so byte for byte.
        assert_eq!(
            sign_note(GO_TEXT, &[&signer]).as_deref(),
            Ok(go_note(&[PETER_SIG]).as_str())
        );
    }

    #[test]
    fn go_open_vectors() {
        let note = go_note(&[PETER_SIG, ENOCH_SIG]);
        let peter_sig = NoteSignature::from_line(PETER_SIG).unwrap();
        let enoch_sig = NoteSignature::from_line(ENOCH_SIG).unwrap();
        assert_eq!(peter_sig.key_id(), 0xc74f20a3);
        assert_eq!(enoch_sig.key_id(), 0xaf0cfe78);

        let one = open_note(&note, &[peter()]).unwrap();
        assert_eq!(one.text, GO_TEXT);
        assert_eq!(one.verified, vec![peter_sig.clone()]);
        assert_eq!(one.unverified, vec![enoch_sig.clone()]);

        let both = open_note(&note, &[peter(), enoch()]).unwrap();
        assert_eq!(both.verified, vec![peter_sig.clone(), enoch_sig.clone()]);
        assert!(both.unverified.is_empty());

        assert_eq!(open_note(&note, &[]), Err(NoteError::UnknownSigner));

        // Repeated lines: one verified entry per key, identical unknown lines once.
        let tampered_enoch = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let noisy = go_note(&[PETER_SIG, PETER_SIG, ENOCH_SIG, ENOCH_SIG, &tampered_enoch]);
        let opened = open_note(&noisy, &[peter()]).unwrap();
        assert_eq!(opened.verified, vec![peter_sig]);
        assert_eq!(opened.unverified.len(), 2);
        assert_eq!(opened.unverified[0], enoch_sig);
    }

    #[test]
    fn go_invalid_signature_and_unknown_keys() {
        let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open_note(&go_note(&[&bad]), &[peter()]),
            Err(NoteError::InvalidSignature {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3
            })
        );
        // Another name, or another key ID, is an unknown signer, not an error of the key.
        let misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
        assert_eq!(
            open_note(&go_note(&[&misnamed]), &[peter()]),
            Err(NoteError::UnknownSigner)
        );
        let wrong_id = PETER_SIG.replace("x08g", "xxxx");
        assert_eq!(
            open_note(&go_note(&[&wrong_id]), &[peter()]),
            Err(NoteError::UnknownSigner)
        );
    }

    #[test]
    fn go_malformed_notes() {
        let with_sig = go_note(&[PETER_SIG]);
        let cases: Vec<(String, NoteError)> = vec![
            (GO_TEXT.to_owned(), NoteError::MissingSignatures),
            (format!("{GO_TEXT}\n"), NoteError::MissingSignatures),
            (with_sig[..with_sig.len() - 1].to_owned(), NoteError::SignaturesMissingNewline),
            (format!("\x01{with_sig}"), NoteError::ControlCharacter(0)),
            (format!("{with_sig}Unexpected line.\n"), NoteError::MalformedSignatureLine(5)),
            (
                go_note(&["\u{2014} a+b x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"]),
                NoteError::InvalidName { line: 4, name: "a+b".into() },
            ),
            (go_note(&["\u{2014} PeterNeumann x08go/ZJ!\n"]), NoteError::Base64(4)),
            (go_note(&["\u{2014} PeterNeumann x08go/Z=\n"]), NoteError::Base64(4)),
            (go_note(&["\u{2014} PeterNeumann x08g\n"]), NoteError::SignatureTooShort(4)),
            (go_note(&["- PeterNeumann x08go/ZJ\n"]), NoteError::MalformedSignatureLine(4)),
            (go_note(&[&PETER_SIG.repeat(101)]), NoteError::TooManySignatures),
        ];
        for (note, want) in cases {
            assert_eq!(open_note(&note, &[peter()]), Err(want.clone()), "{note:?}");
            assert_eq!(Note::parse(&note), Err(want), "{note:?}");
        }
        // The limit itself is fine.
        assert!(open_note(&go_note(&[&PETER_SIG.repeat(100)]), &[peter()]).is_ok());
    }

    #[test]
    fn go_mangled_key_strings_are_refused() {
        // note_test.go TestNewVerifier / TestNewSigner: every proper substring
        // and every single-byte increment must fail.
        for key in [PETER_VKEY, PETER_SKEY] {
            let parse = |s: &str| {
                if key == PETER_VKEY {
                    Verifier::from_key_string(s).err()
                } else {
                    Signer::from_key_string(s).err()
                }
            };
            let b = key.as_bytes();
            for i in 0..b.len() {
                for j in i + 1..=b.len() {
                    if (i, j) != (0, b.len()) {
                        let s = std::str::from_utf8(&b[i..j]).unwrap();
                        assert!(parse(s).is_some(), "accepted {s:?}");
                    }
                }
                let mut m = b.to_vec();
                m[i] += 1;
                let s = std::str::from_utf8(&m).unwrap();
                assert!(parse(s).is_some(), "accepted {s:?}");
            }
        }
        // Wrong key length and unknown type, each with an adjusted key ID (note_test.go).
        assert_eq!(
            Verifier::from_key_string(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            // "EY==" has stray bits, which canonical base64 refuses before the length.
            Err(KeyError::Base64)
        );
        assert_eq!(
            Verifier::from_key_string(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(KeyError::WrongKeyType {
                expected: 0x01,
                found: 0x65
            })
        );
    }

    #[test]
    fn c2sp_signed_note_example_parses() {
        // Repository C2SP/C2SP, path signed-note.md: the text has its own blank
        // line; only the last one separates the signatures.
        let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let parsed = Note::parse(note).unwrap();
        assert_eq!(
            parsed.text(),
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
        );
        assert_eq!(parsed.signatures().len(), 1);
        assert_eq!(parsed.signatures()[0].name(), "quasimodo.example/salvatore");
        assert_eq!(parsed.signatures()[0].key_id(), 0x367ba04b);
        assert_eq!(parsed.signatures()[0].signature().len(), 64);
        assert_eq!(parsed.to_string(), note);
        assert_eq!(open_note(note, &[peter()]), Err(NoteError::UnknownSigner));
    }

    #[test]
    fn sign_and_open_round_trip() {
        let a = Signer::generate("a.example/log").unwrap();
        let b = Signer::generate("b.example/log").unwrap();
        let text = "hello\n\nworld\n";
        let note = sign_note(text, &[&a, &b]).unwrap();
        let opened = open_note(&note, &[a.verifier(), b.verifier()]).unwrap();
        assert_eq!(opened.text, text);
        assert_eq!(opened.verified.len(), 2);

        // Key strings round-trip.
        let again = Signer::from_key_string(&a.key_string()).unwrap();
        assert_eq!(again.verifier_key(), a.verifier_key());
        assert_eq!(
            Verifier::from_key_string(&a.verifier_key()).unwrap(),
            a.verifier()
        );
        // Debug never shows the private key.
        let seed_b64 = a.key_string().splitn(5, '+').nth(4).unwrap().to_owned();
        assert!(!format!("{a:?}").contains(&seed_b64));

        // Signing twice with one key keeps one line.
        assert_eq!(
            Note::parse(&sign_note(text, &[&a, &a]).unwrap())
                .unwrap()
                .signatures()
                .len(),
            1
        );
        assert_eq!(
            sign_note("no newline", &[&a]),
            Err(NoteError::TextMissingNewline)
        );
        assert_eq!(
            sign_note("bell\x07\n", &[&a]),
            Err(NoteError::ControlCharacter(4))
        );
        assert_eq!(sign_note(text, &[]), Err(NoteError::NoSigners));
    }

    #[test]
    fn tampering_fails() {
        let signer = Signer::generate("log.example").unwrap();
        let text = "origin\n42\nsome text\n";
        let note = sign_note(text, &[&signer]).unwrap();
        let v = [signer.verifier()];

        // Any change to any byte of the text.
        for i in 0..text.len() {
            let mut bytes = note.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(open_note(&tampered, &v).is_err(), "byte {i} of the text");
        }

        // Any bit of the signature bytes; any byte of the key ID.
        let sig = Note::parse(&note).unwrap().signatures()[0].clone();
        for i in 0..sig.signature().len() {
            let mut s = sig.clone();
            s.signature[i] ^= 0x01;
            let tampered = format!("{text}\n{}", s.to_line());
            assert_eq!(
                open_note(&tampered, &v),
                Err(NoteError::InvalidSignature {
                    name: "log.example".into(),
                    key_id: signer.key_id()
                })
            );
        }
        for i in 0..4 {
            let mut s = sig.clone();
            s.key_id ^= 1 << (8 * i);
            let tampered = format!("{text}\n{}", s.to_line());
            assert_eq!(open_note(&tampered, &v), Err(NoteError::UnknownSigner));
        }

        // Another key under the same name has another key ID: unknown signer.
        let impostor = Signer::generate("log.example").unwrap();
        assert_eq!(
            open_note(&note, &[impostor.verifier()]),
            Err(NoteError::UnknownSigner)
        );
        // Two different keys sharing name and key ID would be ambiguous; the
        // derived ID makes that unreachable with honest keys, so forge the pair.
        let mut forged = impostor.verifier();
        forged.0.key_id = signer.key_id();
        assert!(matches!(
            open_note(&note, &[signer.verifier(), forged]),
            Err(NoteError::AmbiguousKey { .. })
        ));

        // Any change to the verifier key string is refused.
        let vkey = signer.verifier_key();
        for i in 0..vkey.len() {
            let mut bytes = vkey.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let mangled = String::from_utf8(bytes).unwrap();
            assert!(
                Verifier::from_key_string(&mangled).is_err(),
                "vkey byte {i}"
            );
        }
    }

    // --- Mutation testing (docs/testing.md): rules the vectors above leave open.

    #[test]
    fn key_names_are_checked_rule_by_rule() {
        for good in ["PeterNeumann", "a", "log.example/2026", "caf\u{e9}"] {
            assert!(is_valid_name(good), "{good:?}");
        }
        // Each breaks one rule: empty, '+', a space, a tab, another Unicode
        // space, a control character that is not whitespace.
        for bad in ["", "a+b", "a b", "a\tb", "a\u{2003}b", "a\u{7}b", "\u{1}"] {
            assert!(!is_valid_name(bad), "{bad:?}");
            assert_eq!(
                Signer::from_seed(bad, &[7; 32]).err(),
                Some(KeyError::InvalidName(bad.to_owned())),
                "{bad:?}"
            );
            assert_eq!(
                Verifier::from_public_key(bad, &peter().public_key()).err(),
                Some(KeyError::InvalidName(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn key_ids_are_lowercase_hex_only() {
        let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert_eq!(Verifier::from_key_string(&upper), Err(KeyError::Malformed));
        let skey_upper = PETER_SKEY.replace("c74f20a3", "C74F20A3");
        assert_eq!(
            Signer::from_key_string(&skey_upper).err(),
            Some(KeyError::Malformed)
        );
    }

    #[test]
    fn a_signer_prints_its_name_and_key_id_only() {
        let signer = Signer::from_key_string(PETER_SKEY).unwrap();
        assert_eq!(
            format!("{signer:?}"),
            "Signer(PeterNeumann+c74f20a3 (type 0x01, private))"
        );
    }

    #[test]
    fn a_verifier_answers_for_its_own_key() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.key_string(), PETER_VKEY);
        let again = Verifier::from_public_key("PeterNeumann", &v.public_key()).unwrap();
        assert_eq!(again, v);

        let sig = NoteSignature::from_line(PETER_SIG).unwrap();
        assert!(v.verify_signature(GO_TEXT, &sig));
        assert!(!v.verify_signature("another text\n", &sig));
        assert!(!enoch().verify_signature(GO_TEXT, &sig));
        // Peter's signature bytes under another name, or another key ID: not his.
        let renamed = NoteSignature {
            name: "EnochRoot".into(),
            ..sig.clone()
        };
        assert!(!v.verify_signature(GO_TEXT, &renamed));
        let other_id = NoteSignature {
            key_id: sig.key_id ^ 1,
            ..sig.clone()
        };
        assert!(!v.verify_signature(GO_TEXT, &other_id));
    }

    #[test]
    fn identical_verifiers_are_not_ambiguous() {
        let note = go_note(&[PETER_SIG]);
        let opened = open_note(&note, &[peter(), peter()]).unwrap();
        assert_eq!(opened.verified.len(), 1);
    }

    #[test]
    fn a_signature_is_a_key_id_and_at_least_one_byte() {
        let line = |raw: &[u8]| format!("\u{2014} PeterNeumann {}\n", B64.encode(raw));
        assert_eq!(
            NoteSignature::from_line(&line(&[1, 2, 3, 4])),
            Err(NoteError::SignatureTooShort(1))
        );
        let five = NoteSignature::from_line(&line(&[1, 2, 3, 4, 5])).unwrap();
        assert_eq!(five.key_id(), 0x01020304);
        assert_eq!(five.signature(), &[5]);
    }

    #[test]
    fn errors_name_the_signature_line_whatever_the_text_length() {
        // Text lines 1 to n, the blank line n + 1, signatures from n + 2.
        for text in ["one\n", "one\ntwo\n", "one\ntwo\nthree\n"] {
            let n = text.matches('\n').count();
            let note = format!("{text}\n{PETER_SIG}not a signature\n");
            assert_eq!(
                Note::parse(&note),
                Err(NoteError::MalformedSignatureLine(n + 3)),
                "{text:?}"
            );
            let first_bad = format!("{text}\nnot a signature\n");
            assert_eq!(
                Note::parse(&first_bad),
                Err(NoteError::MalformedSignatureLine(n + 2)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn keys_that_share_a_name_sign_and_verify_apart() {
        let a = Signer::from_seed("log.example", &[1; 32]).unwrap();
        let b = Signer::from_seed("log.example", &[2; 32]).unwrap();
        assert_ne!(a.key_id(), b.key_id());
        let text = "origin\n";
        let note = sign_note(text, &[&a, &b]).unwrap();
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(parsed.signatures().len(), 2, "{note}");
        let opened = open_note(&note, &[a.verifier(), b.verifier()]).unwrap();
        assert_eq!(opened.verified.len(), 2);
        assert_eq!(opened.verified[0].key_id(), a.key_id());
        assert_eq!(opened.verified[1].key_id(), b.key_id());
    }
}
