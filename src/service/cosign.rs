//! The log's side of witnessing: the registry of partner witnesses (each
//! registration a `witness_registered` ledger entry) and the cosignatures they
//! send back, checked against the stored signed checkpoints.
//!
//! A cosignature is not a ledger entry: it changes no dispute, and the line is
//! its own proof (anyone with the witness's key and the checkpoint can check it,
//! and `verify` does). The table is append-only all the same.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::core::checkpoint::Checkpoint;
use crate::core::event::LedgerEvent;
use crate::core::ladder::Actor;
use crate::core::ledger::NewEntry;
use crate::core::note::{self, Note, NoteSignature};
use crate::core::tlog_policy::WitnessKey;
use crate::service::error::ServiceError;
use crate::store::checkpoints;
use crate::store::db::DbConn;
use crate::store::ledger as store;
use crate::store::witnesses::{self, CosignatureRow, WitnessRow};

/// A registered witness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Witness {
    pub name: String,
    /// Its verifier key (`name+keyid+base64`): C2SP `cosignature/v1`
    /// Ed25519 (type 0x04) or ML-DSA-44 (type 0x06, `subtree/v1`).
    pub key: String,
    /// The ledger entry that registered it.
    pub registered_seq: i64,
    /// Its C2SP tlog-witness submission prefix: the log POSTs
    /// `<url>/add-checkpoint` after signing a checkpoint. Null: pull only.
    pub url: Option<String>,
}

impl From<WitnessRow> for Witness {
    fn from(r: WitnessRow) -> Self {
        Witness {
            name: r.name,
            key: r.key,
            registered_seq: r.registered_seq,
            url: r.url,
        }
    }
}

/// A stored cosignature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StoredCosignature {
    pub size: i64,
    pub witness: String,
    /// POSIX seconds at which the witness cosigned.
    pub timestamp: i64,
    /// The signature line, as it is appended to the checkpoint note.
    pub line: String,
}

impl From<CosignatureRow> for StoredCosignature {
    fn from(r: CosignatureRow) -> Self {
        StoredCosignature {
            size: r.size,
            witness: r.witness,
            timestamp: r.timestamp,
            line: r.line,
        }
    }
}

/// Parse a witness verifier key string (Ed25519 `cosignature/v1`, type 0x04,
/// or ML-DSA-44, type 0x06) and check it is named `name`; a bad key is 422.
pub fn parse_key(name: &str, key: &str) -> Result<WitnessKey, ServiceError> {
    let v = WitnessKey::from_key_string(key.trim()).map_err(|e| {
        ServiceError::Unprocessable(format!(
            "key is not a witness verifier key string (cosignature/v1 Ed25519 or ML-DSA-44): {e}"
        ))
    })?;
    if v.name() != name {
        return Err(ServiceError::Unprocessable(format!(
            "the key is named '{}', not '{name}'",
            v.name()
        )));
    }
    Ok(v)
}

/// Check a witness's submission prefix: an absolute `http` or `https` URL
/// with a host and no user information, query or fragment. Returned without a
/// trailing `/` (the log appends `/add-checkpoint`); a bad URL is 422.
pub fn parse_url(raw: &str) -> Result<String, ServiceError> {
    let bad = |why: &str| ServiceError::Unprocessable(format!("url: {why}"));
    let u = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("no user information allowed"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

/// Register a witness: a ledger entry and its row. `url` (already checked by
/// [`parse_url`]) is where it takes pushes. Call inside a write transaction.
pub fn register(
    conn: &mut DbConn,
    actor: &Actor,
    verifier: &WitnessKey,
    url: Option<&str>,
) -> Result<Witness, ServiceError> {
    let name = verifier.name().to_string();
    let key = verifier.key_string();
    if witnesses::name_or_key_taken(conn, &name, &key)? {
        return Err(ServiceError::Conflict(format!(
            "a witness named '{name}' or with this key is already registered"
        )));
    }
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: None,
            event: LedgerEvent::WitnessRegistered.as_str().into(),
            actor: actor.clone(),
            facts: match url {
                Some(url) => json!({ "name": name, "key": key, "url": url }),
                None => json!({ "name": name, "key": key }),
            },
            payload: json!({}),
        },
    )?;
    let w = Witness {
        name,
        key,
        registered_seq: entry.seq,
        url: url.map(str::to_string),
    };
    witnesses::insert_witness(
        conn,
        &WitnessRow {
            name: w.name.clone(),
            key: w.key.clone(),
            registered_seq: w.registered_seq,
            url: w.url.clone(),
        },
    )?;
    Ok(w)
}

/// Every registered witness, by name.
pub fn list(conn: &mut DbConn) -> Result<Vec<Witness>, ServiceError> {
    Ok(witnesses::list(conn)?
        .into_iter()
        .map(Witness::from)
        .collect())
}

/// Up to `limit` witnesses named after `after`, by name.
pub fn page(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Witness>, ServiceError> {
    Ok(witnesses::page(conn, after, limit)?
        .into_iter()
        .map(Witness::from)
        .collect())
}

/// The witness named `name`.
pub fn get(conn: &mut DbConn, name: &str) -> Result<Witness, ServiceError> {
    witnesses::find(conn, name)?
        .map(Witness::from)
        .ok_or_else(|| ServiceError::NotFound(format!("no witness '{name}'")))
}

/// The checkpoint text of the stored signed checkpoint of `size`, if any.
fn checkpoint_at(conn: &mut DbConn, size: i64) -> Result<Option<Checkpoint>, ServiceError> {
    let stored = checkpoints::note_at(conn, size)?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let parsed = Note::parse(&stored)
        .map_err(|e| ServiceError::Internal(format!("stored checkpoint {size}: {e}")))?;
    let cp = Checkpoint::parse(parsed.text())
        .map_err(|e| ServiceError::Internal(format!("stored checkpoint {size}: {e}")))?;
    Ok(Some(cp))
}

/// Check `line` against the witness it names and the signed checkpoint of
/// `size`, and store it. `Ok(true)` when stored, `Ok(false)` when this exact
/// cosignature was already there. Call inside a write transaction.
pub fn add(
    conn: &mut DbConn,
    size: i64,
    line: &str,
) -> Result<(bool, StoredCosignature), ServiceError> {
    let sig = NoteSignature::from_line(line)
        .map_err(|e| ServiceError::Unprocessable(format!("not a cosignature line: {e}")))?;
    let checkpoint = checkpoint_at(conn, size)?
        .ok_or_else(|| ServiceError::NotFound(format!("no signed checkpoint of size {size}")))?;
    let witness = witnesses::find(conn, sig.name())?;
    let witness = witness.ok_or_else(|| {
        ServiceError::Unprocessable(format!("no registered witness named '{}'", sig.name()))
    })?;
    let verifier = WitnessKey::from_key_string(&witness.key).map_err(|e| {
        ServiceError::Internal(format!("stored key of witness {}: {e}", witness.name))
    })?;
    let (sig, timestamp) = verifier
        .verify_line(&checkpoint, line)
        .map_err(|e| match e {
            note::NoteError::UnknownSigner => ServiceError::Unprocessable(format!(
                "the cosignature's key ID is not the registered key of witness '{}'",
                witness.name
            )),
            other => ServiceError::Unprocessable(format!(
                "the cosignature does not verify over the checkpoint of size {size}: {other}"
            )),
        })?;
    let stored = StoredCosignature {
        size,
        witness: witness.name,
        timestamp: i64::try_from(timestamp)
            .map_err(|_| ServiceError::Unprocessable("timestamp out of range".into()))?,
        line: sig.to_line(),
    };
    let existing = witnesses::cosignature_line(conn, size, &stored.witness)?;
    match existing {
        Some(l) if l == stored.line => return Ok((false, stored)),
        Some(_) => {
            return Err(ServiceError::Conflict(format!(
                "witness '{}' has already cosigned the checkpoint of size {size} with another line",
                stored.witness
            )))
        }
        None => {}
    }
    witnesses::insert_cosignature(
        conn,
        &CosignatureRow {
            size: stored.size,
            witness: stored.witness.clone(),
            timestamp: stored.timestamp,
            line: stored.line.clone(),
        },
    )?;
    tracing::info!(size, witness = %stored.witness, "cosignature stored");
    Ok((true, stored))
}

/// The stored cosignatures of the checkpoint of `size`, by witness name.
pub fn for_size(conn: &mut DbConn, size: i64) -> Result<Vec<StoredCosignature>, ServiceError> {
    Ok(witnesses::cosignatures_of(conn, size)?
        .into_iter()
        .map(StoredCosignature::from)
        .collect())
}

/// The registered verifier keys of the witnesses that cosigned the checkpoint
/// of `size` (each line was checked against that key when stored), for the
/// quorum decision.
pub fn cosigned_keys(conn: &mut DbConn, size: i64) -> Result<Vec<String>, ServiceError> {
    let mut keys = Vec::new();
    for c in for_size(conn, size)? {
        let w = witnesses::find(conn, &c.witness)?.ok_or_else(|| {
            ServiceError::Internal(format!(
                "a cosignature by unregistered witness {}",
                c.witness
            ))
        })?;
        keys.push(w.key);
    }
    Ok(keys)
}

/// `note` (the signed checkpoint of `size`) with the cosignatures gathered so far.
pub fn with_cosignatures(conn: &mut DbConn, size: i64, note: &str) -> Result<String, ServiceError> {
    let lines = for_size(conn, size)?;
    if lines.is_empty() {
        return Ok(note.to_string());
    }
    let mut parsed = Note::parse(note)
        .map_err(|e| ServiceError::Internal(format!("stored checkpoint {size}: {e}")))?;
    for c in &lines {
        let sig = NoteSignature::from_line(&c.line)
            .map_err(|e| ServiceError::Internal(format!("a stored cosignature: {e}")))?;
        parsed
            .push(sig)
            .map_err(|e| ServiceError::Internal(format!("appending cosignatures: {e}")))?;
    }
    Ok(parsed.to_string())
}

/// A `witness_registered` entry's facts, as `verify` replays them.
pub fn replay(facts: &serde_json::Value, seq: i64) -> Result<Witness, String> {
    let field = |k: &str| {
        facts
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("witness_registered without a '{k}'"))
    };
    let (name, key) = (field("name")?, field("key")?);
    let v = parse_key(&name, &key).map_err(|e| e.to_string())?;
    if v.key_string() != key {
        return Err("witness_registered with a non-canonical key string".into());
    }
    let url = match facts.get("url") {
        None => None,
        Some(u) => {
            let u = u
                .as_str()
                .ok_or("witness_registered with a non-string url")?;
            if parse_url(u).map_err(|e| e.to_string())? != u {
                return Err("witness_registered with a non-canonical url".into());
            }
            Some(u.to_string())
        }
    };
    Ok(Witness {
        name,
        key,
        registered_seq: seq,
        url,
    })
}

/// For `verify`: the `witnesses` table must equal the registrations replayed
/// from the ledger, and every stored cosignature must verify against its
/// witness's key and its signed checkpoint. `Some(problem)` if not.
pub fn check(conn: &mut DbConn, replayed: &[Witness]) -> Result<Option<String>, ServiceError> {
    let stored = list(conn)?;
    let mut expected = replayed.to_vec();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    if stored != expected {
        return Ok(Some(
            "the witnesses table differs from the registrations in the ledger".into(),
        ));
    }
    for row in witnesses::all_cosignatures(conn)? {
        let CosignatureRow {
            size,
            witness: name,
            timestamp,
            line,
        } = row;
        let bad = |why: String| {
            Ok(Some(format!(
                "the cosignature of {name} on size {size} {why}"
            )))
        };
        let Some(w) = stored.iter().find(|w| w.name == name) else {
            return bad("names no registered witness".into());
        };
        let Some(cp) = checkpoint_at(conn, size)? else {
            return bad("has no signed checkpoint".into());
        };
        let ok = WitnessKey::from_key_string(&w.key)
            .and_then(|v| v.verify_line(&cp, &line).map_err(|e| e.to_string()));
        match ok {
            Err(e) => return bad(format!("does not verify: {e}")),
            Ok((sig, ts)) if ts as i64 != timestamp || sig.name() != name => {
                return bad("disagrees with its own line".into())
            }
            Ok(_) => {}
        }
    }
    Ok(None)
}
