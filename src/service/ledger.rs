//! Reading the ledger and its tree: the head, entries, proofs, the signed
//! checkpoint and how well it is witnessed; registering witnesses, storing
//! their cosignatures, erasing a payload, and streaming the export. Each use
//! case opens its own transaction.

use serde_json::Value;

use crate::core::ladder::Actor;
use crate::service::bundle::{self, Header, Payloads};
use crate::service::checkpoint::{self, LogKey};
use crate::service::cosign::{self, StoredCosignature, Witness};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::push::{self, PushStatus};
use crate::service::redaction::{self, Redaction, Step};
use crate::service::scrutiny::text;
use crate::store::db::{read_tx, write_tx, DbConn, Pool};
use crate::store::ledger::{self as store, StoredEntry};
use crate::store::tree::{self, Proof};

/// The ledger's size and newest entry hash (`None` while empty).
pub fn head(conn: &mut DbConn) -> ServiceResult<(i64, Option<Vec<u8>>)> {
    Ok(match store::head(conn)? {
        Some((seq, hash)) => (seq + 1, Some(hash)),
        None => (0, None),
    })
}

/// Whether the database answers.
pub fn ready(conn: &mut DbConn) -> ServiceResult<()> {
    store::head(conn)
        .map(|_| ())
        .map_err(|e| ServiceError::Unavailable(format!("database: {e}")))
}

/// Up to `limit` entries from `from` (default 0), or after `after` (a
/// cursor's `seq`, which wins), oldest first.
pub fn entries(
    conn: &mut DbConn,
    from: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<StoredEntry>> {
    if from.is_some_and(|f| f < 0) {
        return Err(ServiceError::BadRequest("from must not be negative".into()));
    }
    let start = match after {
        Some(s) => s.saturating_add(1),
        None => from.unwrap_or(0),
    };
    Ok(store::entries(conn, None, start, limit)?)
}

/// Tree sizes a proof may name: at least `min`, at most the stored tree.
fn check_size(what: &str, v: i64, min: i64, leaves: i64) -> ServiceResult<u64> {
    if v < min || v > leaves {
        return Err(ServiceError::BadRequest(format!(
            "{what} must be between {min} and the ledger size {leaves}"
        )));
    }
    Ok(v as u64)
}

/// The RFC 9162 inclusion proof of entry `seq` in the tree of `size` (default:
/// the whole ledger); the checked seq and size and the proof.
pub fn inclusion(
    conn: &mut DbConn,
    seq: i64,
    size: Option<i64>,
) -> ServiceResult<(u64, u64, Proof)> {
    read_tx(conn, |conn| {
        let leaves = tree::leaves(conn)?;
        let size = check_size("size", size.unwrap_or(leaves), 1, leaves)?;
        let seq = check_size("seq", seq, 0, size as i64 - 1)?;
        let p = tree::inclusion(conn, seq, size)?;
        Ok((seq, size, p))
    })
}

/// The RFC 9162 consistency proof between sizes `from` and `to` (default: the
/// whole ledger); the checked sizes and the proof.
pub fn consistency(
    conn: &mut DbConn,
    from: i64,
    to: Option<i64>,
) -> ServiceResult<(u64, u64, Proof)> {
    read_tx(conn, |conn| {
        let leaves = tree::leaves(conn)?;
        let to = check_size("to", to.unwrap_or(leaves), 1, leaves)?;
        let from = check_size("from", from, 1, to as i64)?;
        let p = tree::consistency(conn, from, to)?;
        Ok((from, to, p))
    })
}

/// Sign (or reuse) the checkpoint of the whole ledger; the note with the
/// witness cosignatures gathered so far.
pub fn checkpoint_note(conn: &mut DbConn, key: &LogKey) -> ServiceResult<String> {
    write_tx(conn, |conn| {
        let signed = checkpoint::sign_current(conn, key)?;
        cosign::with_cosignatures(conn, signed.size, &signed.note)
    })
}

/// The newest signed checkpoint's size and the witnesses that cosigned it.
/// Also the registered keys of those witnesses, for a tlog-policy quorum.
pub fn witnessed_with_keys(conn: &mut DbConn) -> ServiceResult<(i64, Vec<String>, Vec<String>)> {
    read_tx(conn, |conn| {
        let newest = checkpoint::newest(conn)?
            .ok_or_else(|| ServiceError::NotFound("no checkpoint has been signed yet".into()))?;
        let names = cosign::for_size(conn, newest.size)?
            .into_iter()
            .map(|c| c.witness)
            .collect::<Vec<_>>();
        let keys = cosign::cosigned_keys(conn, newest.size)?;
        Ok((newest.size, names, keys))
    })
}

/// The registered witnesses.
pub fn witnesses(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> ServiceResult<Vec<(Witness, Option<PushStatus>)>> {
    read_tx(conn, |conn| {
        let page = cosign::page(conn, after, limit)?;
        let mut out = Vec::with_capacity(page.len());
        for w in page {
            let s = push::status(conn, &w.name)?;
            out.push((w, s));
        }
        Ok(out)
    })
}

/// The witness named `name`, with what it last answered to a push.
pub fn witness(conn: &mut DbConn, name: &str) -> ServiceResult<(Witness, Option<PushStatus>)> {
    read_tx(conn, |conn| {
        let w = cosign::get(conn, name)?;
        let s = push::status(conn, &w.name)?;
        Ok((w, s))
    })
}

/// Register witness `name` with its `cosignature/v1` verifier key and, if it
/// takes tlog-witness pushes, its submission `url`.
pub fn register_witness(
    conn: &mut DbConn,
    actor: &Actor,
    name: &str,
    key: &str,
    url: Option<&str>,
) -> ServiceResult<Witness> {
    let verifier = cosign::parse_key(name, key)?;
    let url = url.map(cosign::parse_url).transpose()?;
    write_tx(conn, |conn| {
        cosign::register(conn, actor, &verifier, url.as_deref())
    })
}

/// Check and store a witness's cosignature line of the checkpoint of `size`;
/// `true` when newly stored.
pub fn cosign(
    conn: &mut DbConn,
    size: i64,
    line: &str,
) -> ServiceResult<(bool, StoredCosignature)> {
    write_tx(conn, |conn| cosign::add(conn, size, line))
}

/// The cosignature `witness` stored for the checkpoint of `size`.
pub fn cosignature(
    conn: &mut DbConn,
    size: i64,
    witness: &str,
) -> ServiceResult<StoredCosignature> {
    read_tx(conn, |conn| cosign::for_size(conn, size))?
        .into_iter()
        .find(|c| c.witness == witness)
        .ok_or_else(|| {
            ServiceError::NotFound(format!("no cosignature by {witness:?} of size {size}"))
        })
}

/// A redaction step on entry `target` by `actor`: a partnership_admin's
/// request (a reason required), or a scrutineer's approval (reason optional).
pub fn redact(
    conn: &mut DbConn,
    actor: &Actor,
    target: i64,
    reason: Option<&str>,
) -> ServiceResult<(Step, Redaction)> {
    let step = redaction::step_for(actor)?;
    let payload = match (step, reason) {
        (Step::Request, r) => serde_json::json!({ "reason": text("reason", r.unwrap_or(""))? }),
        (Step::Approve, Some(r)) => serde_json::json!({ "reason": text("reason", r)? }),
        (Step::Approve, None) => Value::Object(Default::default()),
    };
    let row = write_tx(conn, |conn| {
        redaction::redact(conn, actor, step, target, payload)
    })?;
    Ok((step, row))
}

/// A page of redactions, pending or done: targets after `after`, at most `fetch`.
pub fn redactions(
    conn: &mut DbConn,
    after: Option<i64>,
    fetch: i64,
) -> ServiceResult<Vec<Redaction>> {
    redaction::page(conn, after, fetch)
}

/// The export's header (the checkpoint signed first).
pub fn begin_export(conn: &mut DbConn, key: &LogKey, payloads: Payloads) -> ServiceResult<Header> {
    bundle::begin_export(conn, key, payloads)
}

/// Stream the export's entries `0..size` to `sink` in batches, on a connection
/// of its own (call on a blocking thread); `sink` returns `false` to stop.
pub fn export_entries(
    pool: &Pool,
    size: u64,
    payloads: Payloads,
    sink: impl FnMut(Vec<u8>) -> bool,
) -> ServiceResult<u64> {
    let mut conn = crate::store::db::checkout(pool)?;
    bundle::export_entries(&mut conn, size, payloads, sink)
}
