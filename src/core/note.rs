//! Signed notes, transparency-log checkpoints and witness cosignatures, as the
//! C2SP specifications define them. Pure: no actix, no diesel, no I/O.
//!
//! - [c2sp.org/signed-note] (v1.0.0): a note is a text ending in a newline, a
//!   blank line, then one or more lines `— <key name> base64(key ID || signature)`.
//!   Only the Ed25519 signature type (`0x01`) is implemented.
//! - [c2sp.org/tlog-checkpoint] (v1.0.0): the note text of a log's tree head,
//!   `<origin>\n<tree size>\n<base64 root hash>\n` plus optional extension lines.
//! - [c2sp.org/tlog-cosignature]: the Ed25519 `cosignature/v1` type (`0x04`), a
//!   witness's timestamped signature over a checkpoint. ML-DSA-44 is not implemented.
//!
//! Key strings follow Go's `golang.org/x/mod/sumdb/note`: a verifier key is
//! `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>` and a signer key
//! is `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>`.
//!
//! Choices where the specifications leave room:
//! - at most [`MAX_SIGNATURES`] signature lines (signed-note §Format asks for at
//!   least 16; Go's implementation stops at 100);
//! - a signature from a known key that fails to verify rejects the whole note
//!   (signed-note §Signatures allows it);
//! - Ed25519 verification is `verify_strict` (RFC 8032 with small-order keys and
//!   non-canonical encodings refused), which every honest signer passes;
//! - base64 must be canonical: padded, no stray bits (RFC 4648 §4).
//!
//! [c2sp.org/signed-note]: https://c2sp.org/signed-note@v1.0.0
//! [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint@v1.0.0
//! [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::core::ledger::Hash;

/// The 32-bit key ID that starts every signature (signed-note §Signatures).
pub type KeyId = u32;

/// The most signature lines a note may carry; more is [`NoteError::TooManySignatures`].
pub const MAX_SIGNATURES: usize = 100;

/// Signature type of plain Ed25519 note signatures (signed-note §Signature types).
const ALG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 witness cosignatures (tlog-cosignature §Format).
const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Em dash (U+2014) and a space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// tlog-cosignature §Format: a timestamp "MUST NOT exceed 2^63 - 1".
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

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

/// What is wrong with a checkpoint text (tlog-checkpoint §Note text).
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
struct KeyPair {
    alg: u8,
    name: String,
    key_id: KeyId,
    key: SigningKey,
}

impl KeyPair {
    fn from_seed(alg: u8, name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
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

    fn generate(alg: u8, name: &str) -> Result<Self, KeyError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(alg, name, &seed)
    }

    fn from_key_string(alg: u8, skey: &str) -> Result<Self, KeyError> {
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

    fn key_string(&self) -> String {
        let key = format_key_string(self.alg, &self.name, self.key_id, &self.key.to_bytes());
        format!("{SIGNER_KEY_PREFIX}{key}")
    }

    fn public(&self) -> PublicKey {
        PublicKey {
            alg: self.alg,
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    fn sign(&self, msg: &[u8]) -> [u8; 64] {
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
struct PublicKey {
    alg: u8,
    name: String,
    key_id: KeyId,
    key: VerifyingKey,
}

impl PublicKey {
    fn new(alg: u8, name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
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

    fn from_key_string(alg: u8, vkey: &str) -> Result<Self, KeyError> {
        let (name, key_id, public_key) = parse_key_string(alg, vkey)?;
        let key = Self::new(alg, name, &public_key)?;
        if key.key_id != key_id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(key)
    }

    fn key_string(&self) -> String {
        format_key_string(self.alg, &self.name, self.key_id, self.key.as_bytes())
    }

    fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.key.verify_strict(msg, &sig).is_ok())
    }
}

/// The verifier types, by their public key.
trait HasKey {
    fn key(&self) -> &PublicKey;
}

/// The one key among `keys` with this name and key ID, if any. Identical
/// duplicates are harmless; different keys sharing both would be ambiguous.
fn find_key<'a, T: HasKey>(
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

    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }
}

// ---------------------------------------------------------------------------
// Notes (signed-note §Format)

/// One signature line of a note, verified or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: KeyId,
    signature: Vec<u8>,
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
    text: String,
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

    fn push(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
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

    // --- Vectors from C2SP: repository C2SP/C2SP, path tlog-checkpoint.md
    // (the example note) and tlog-cosignature.md (the witness line and the
    // example signed message).
    const SPEC_CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const SPEC_LOG_SIG: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    const SPEC_WITNESS_SIG: &str = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

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
}
