//! The ledger's tables: appending an entry after the head (with its payload
//! and its Merkle leaf) and reading entries back. Call inside
//! [`crate::store::db::write_tx`]; `service::record` adds the projection.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::core::ladder::Actor;
use crate::core::ledger::{self, Entry, Hash, NewEntry};
use crate::store::db::DbConn;
use crate::store::error::StoreError;
use crate::store::schema::{disputes, ledger_entries, ledger_payloads, whistleblower_identities};

#[derive(Queryable, Insertable)]
#[diesel(table_name = ledger_entries)]
struct EntryRow {
    seq: i64,
    recorded_at: NaiveDateTime,
    dispute_id: Option<String>,
    event: String,
    actor_sub: String,
    actor_role: String,
    actor_agency: Option<String>,
    actor_partner: Option<String>,
    facts: String,
    payload_hash: Vec<u8>,
    prev_hash: Vec<u8>,
    entry_hash: Vec<u8>,
}

fn hash32(v: &[u8], seq: i64, what: &str) -> Result<Hash, String> {
    v.try_into()
        .map_err(|_| format!("entry {seq}: {what} is {} bytes, not 32", v.len()))
}

impl EntryRow {
    fn from_entry(e: &Entry) -> Self {
        EntryRow {
            seq: e.seq,
            recorded_at: e.recorded_at,
            dispute_id: e.dispute_id.clone(),
            event: e.event.clone(),
            actor_sub: e.actor.sub.clone(),
            actor_role: e.actor.role.as_str().to_string(),
            actor_agency: e.actor.agency.clone(),
            actor_partner: e.actor.partner.map(|p| p.as_str().to_string()),
            facts: ledger::canonical_json(&e.facts).unwrap_or_default(),
            payload_hash: e.payload_hash.to_vec(),
            prev_hash: e.prev_hash.to_vec(),
            entry_hash: e.entry_hash.to_vec(),
        }
    }

    /// Back to an [`Entry`]; a row that cannot be read as one is reported, not hidden.
    fn into_entry(self) -> Result<Entry, String> {
        let seq = self.seq;
        let role = self
            .actor_role
            .parse()
            .map_err(|e| format!("entry {seq}: {e}"))?;
        let partner = self
            .actor_partner
            .map(|p| p.parse())
            .transpose()
            .map_err(|e| format!("entry {seq}: {e}"))?;
        Ok(Entry {
            seq,
            recorded_at: self.recorded_at,
            dispute_id: self.dispute_id,
            event: self.event,
            actor: Actor {
                sub: self.actor_sub,
                role,
                agency: self.actor_agency,
                partner,
            },
            facts: serde_json::from_str(&self.facts)
                .map_err(|e| format!("entry {seq}: facts are not JSON: {e}"))?,
            payload_hash: hash32(&self.payload_hash, seq, "payload_hash")?,
            prev_hash: hash32(&self.prev_hash, seq, "prev_hash")?,
            entry_hash: hash32(&self.entry_hash, seq, "entry_hash")?,
        })
    }
}

/// An entry with its payload (`None` once erased).
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub entry: Entry,
    pub payload: Option<String>,
}

/// The newest entry's `seq` and hash, if the ledger is not empty.
pub fn head(conn: &mut DbConn) -> QueryResult<Option<(i64, Vec<u8>)>> {
    ledger_entries::table
        .select((ledger_entries::seq, ledger_entries::entry_hash))
        .order(ledger_entries::seq.desc())
        .first(conn)
        .optional()
}

/// Append one entry after the current head. Call inside [`crate::store::db::write_tx`].
pub fn append(conn: &mut DbConn, new: NewEntry) -> Result<Entry, StoreError> {
    append_at(conn, new, ledger::ledger_time(crate::core::clock::now()))
}

/// [`append`] at a given time (the service's `record_at`, for tests).
#[doc(hidden)]
pub fn append_at(conn: &mut DbConn, new: NewEntry, at: NaiveDateTime) -> Result<Entry, StoreError> {
    let start = std::time::Instant::now();
    let entry = append_chain_only_at(conn, new, at)?;
    crate::store::tree::add_leaf(conn, entry.seq, &entry.entry_hash)?;
    // `/metrics`: the append's own time, inside its transaction.
    metrics::histogram!(crate::core::metrics::APPEND_DURATION)
        .record(start.elapsed().as_secs_f64());
    Ok(entry)
}

/// [`append`] without the Merkle tree: only for measuring the tree's cost
/// (`treebench`). A ledger written with it has no tree until `tree::catch_up`.
#[doc(hidden)]
pub fn append_chain_only(conn: &mut DbConn, new: NewEntry) -> Result<Entry, StoreError> {
    append_chain_only_at(conn, new, ledger::ledger_time(crate::core::clock::now()))
}

fn append_chain_only_at(
    conn: &mut DbConn,
    mut new: NewEntry,
    at: NaiveDateTime,
) -> Result<Entry, StoreError> {
    new.actor = recorded_actor(conn, new.dispute_id.as_deref(), new.actor)?;
    // The batch's earlier appends left the head in the transaction's tail.
    let head = match crate::store::tail::head(conn) {
        Some(known) => Some(known),
        None => match head(conn)? {
            Some((seq, h)) => Some((
                seq,
                hash32(&h, seq, "entry_hash").map_err(StoreError::Internal)?,
            )),
            None => None,
        },
    };
    let sealed = ledger::seal(new, head, at).map_err(StoreError::Internal)?;
    diesel::insert_into(ledger_entries::table)
        .values(EntryRow::from_entry(&sealed.entry))
        .execute(conn)?;
    diesel::insert_into(ledger_payloads::table)
        .values((
            ledger_payloads::seq.eq(sealed.entry.seq),
            ledger_payloads::payload.eq(Some(sealed.payload)),
        ))
        .execute(conn)?;
    crate::store::tail::set_head(conn, sealed.entry.seq, sealed.entry.entry_hash);
    Ok(sealed.entry)
}

/// Insert an entry exactly as a bundle states it (already sealed, hashes
/// given), with its payload (`None`: erased) and its Merkle leaf: the one
/// write `service::restore` makes to the ledger tables. The caller checks
/// the chain; the primary key on `seq` and the unique `entry_hash` refuse a
/// duplicate. Call inside [`crate::store::db::write_tx`].
pub fn insert_verbatim(
    conn: &mut DbConn,
    entry: &Entry,
    payload: Option<String>,
) -> Result<(), StoreError> {
    diesel::insert_into(ledger_entries::table)
        .values(EntryRow::from_entry(entry))
        .execute(conn)?;
    diesel::insert_into(ledger_payloads::table)
        .values((
            ledger_payloads::seq.eq(entry.seq),
            ledger_payloads::payload.eq(payload),
        ))
        .execute(conn)?;
    crate::store::tail::set_head(conn, entry.seq, entry.entry_hash);
    crate::store::tree::add_leaf(conn, entry.seq, &entry.entry_hash)?;
    Ok(())
}

/// The actor an entry about `dispute_id` records. Whoever raised a
/// whistleblowing dispute is recorded under its pseudonym on every entry they
/// write about it, whatever the route: the actor is inside the hashed entry, so
/// a real `sub` there could never be erased. Decided here, at the one place
/// every entry is appended, from the dispute's row and the identity kept
/// beside it (`whistleblower_identities`), so no route can forget it.
fn recorded_actor(
    conn: &mut DbConn,
    dispute_id: Option<&str>,
    actor: Actor,
) -> Result<Actor, StoreError> {
    let Some(id) = dispute_id else {
        return Ok(actor);
    };
    let raised_by: Option<String> = disputes::table
        .find(id)
        .filter(disputes::whistleblowing.eq(true))
        .select(disputes::raised_by_sub)
        .first(conn)
        .optional()?;
    let Some(pseudonym) = raised_by else {
        return Ok(actor);
    };
    let theirs: i64 = whistleblower_identities::table
        .find(&pseudonym)
        .filter(whistleblower_identities::sub.eq(&actor.sub))
        .count()
        .get_result(conn)?;
    Ok(if theirs > 0 {
        Actor {
            sub: pseudonym,
            ..actor
        }
    } else {
        actor
    })
}

/// An entry row and its payload row (`None` if missing, `Some((seq, None))` once erased).
type EntryWithPayload = (EntryRow, Option<(i64, Option<String>)>);

fn load_entries(
    conn: &mut DbConn,
    dispute: Option<&str>,
    from: i64,
    limit: i64,
) -> QueryResult<Vec<EntryWithPayload>> {
    let mut q = ledger_entries::table
        .left_join(ledger_payloads::table)
        .filter(ledger_entries::seq.ge(from))
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .into_boxed();
    if let Some(d) = dispute {
        q = q.filter(ledger_entries::dispute_id.eq(d));
    }
    q.load(conn)
}

/// Entries from `seq` onwards, each decoded, or its `seq` and why it could not be.
/// `verify` names such an entry; the API treats it as an internal error.
pub fn entries_for_audit(
    conn: &mut DbConn,
    dispute: Option<&str>,
    from: i64,
    limit: i64,
) -> QueryResult<Vec<Result<StoredEntry, (i64, String)>>> {
    Ok(load_entries(conn, dispute, from, limit)?
        .into_iter()
        .map(|(row, payload)| {
            let seq = row.seq;
            row.into_entry()
                .map(|entry| StoredEntry {
                    entry,
                    payload: payload.and_then(|(_, p)| p),
                })
                .map_err(|e| (seq, e))
        })
        .collect())
}

/// Entries `from..from+limit` with their payloads, oldest first.
pub fn entries(
    conn: &mut DbConn,
    dispute: Option<&str>,
    from: i64,
    limit: i64,
) -> Result<Vec<StoredEntry>, StoreError> {
    entries_for_audit(conn, dispute, from, limit)?
        .into_iter()
        .map(|r| r.map_err(|(_, e)| StoreError::Internal(e)))
        .collect()
}

/// The entries of kind `event` that name no dispute, oldest first: the
/// partnership's own setup (few; `ledger_entries_dispute` finds them).
pub fn setup_entries(conn: &mut DbConn, event: &str) -> Result<Vec<Entry>, StoreError> {
    let rows: Vec<EntryRow> = ledger_entries::table
        .filter(ledger_entries::dispute_id.is_null())
        .filter(ledger_entries::event.eq(event))
        .order(ledger_entries::seq.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|r| r.into_entry().map_err(StoreError::Internal))
        .collect()
}

pub fn payload_of(conn: &mut DbConn, seq: i64) -> QueryResult<Option<Value>> {
    let p: Option<Option<String>> = ledger_payloads::table
        .find(seq)
        .select(ledger_payloads::payload)
        .first(conn)
        .optional()?;
    Ok(p.flatten().and_then(|s| serde_json::from_str(&s).ok()))
}
