//! Reads and writes over the portable schema. Every state change goes through
//! [`record`], which appends the ledger entry and updates the projection in the
//! caller's transaction (see [`crate::store::db::write_tx`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::core::ladder::{self, Actor, Dispute, Event, Proposal, ProposalStatus, Role, Status};
use crate::core::ledger::{self, Entry, Hash, NewEntry};
use crate::core::registry::Agency;
use crate::store::db::DbConn;
use crate::store::error::StoreError;
use crate::store::schema::{
    agencies, deadline_misses, dispute_parties, disputes, ledger_entries, ledger_payloads,
    proposal_acceptances, proposals,
};

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
    append_at(conn, new, ledger::ledger_time(Utc::now()))
}

/// [`append`] at a given time (the service's `record_at`, for tests).
#[doc(hidden)]
pub fn append_at(conn: &mut DbConn, new: NewEntry, at: NaiveDateTime) -> Result<Entry, StoreError> {
    let entry = append_chain_only_at(conn, new, at)?;
    crate::store::tree::add_leaf(conn, entry.seq, &entry.entry_hash)?;
    Ok(entry)
}

/// [`append`] without the Merkle tree: only for measuring the tree's cost
/// (`treebench`). A ledger written with it has no tree until `tree::catch_up`.
#[doc(hidden)]
pub fn append_chain_only(conn: &mut DbConn, new: NewEntry) -> Result<Entry, StoreError> {
    append_chain_only_at(conn, new, ledger::ledger_time(Utc::now()))
}

fn append_chain_only_at(
    conn: &mut DbConn,
    new: NewEntry,
    at: NaiveDateTime,
) -> Result<Entry, StoreError> {
    let head = match head(conn)? {
        Some((seq, h)) => Some((
            seq,
            hash32(&h, seq, "entry_hash").map_err(StoreError::Internal)?,
        )),
        None => None,
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
    Ok(sealed.entry)
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

pub fn payload_of(conn: &mut DbConn, seq: i64) -> QueryResult<Option<Value>> {
    let p: Option<Option<String>> = ledger_payloads::table
        .find(seq)
        .select(ledger_payloads::payload)
        .first(conn)
        .optional()?;
    Ok(p.flatten().and_then(|s| serde_json::from_str(&s).ok()))
}

// ---- the agency registry ----

pub fn list_agencies(conn: &mut DbConn) -> Result<Vec<Agency>, StoreError> {
    let rows: Vec<(String, String, String, Option<String>)> =
        agencies::table.order(agencies::id.asc()).load(conn)?;
    rows.into_iter()
        .map(|(id, name, kind, p)| {
            Ok(Agency {
                id,
                name,
                kind,
                statutory_partner: p
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(StoreError::Internal)?,
            })
        })
        .collect()
}

/// The registry is seeded by the system actor.
pub fn system_actor() -> Actor {
    Actor {
        sub: "system".into(),
        role: Role::PartnershipAdmin,
        agency: None,
        partner: None,
    }
}

/// Seed the registry once, as one ledger entry. Call inside a write transaction.
pub fn seed_registry(conn: &mut DbConn, seed: &[Agency]) -> Result<bool, StoreError> {
    let present: i64 = agencies::table.count().get_result(conn)?;
    if present > 0 {
        return Ok(false);
    }
    append(
        conn,
        NewEntry {
            dispute_id: None,
            event: "registry_seeded".into(),
            actor: system_actor(),
            facts: serde_json::json!({ "agencies": seed }),
            payload: serde_json::json!({}),
        },
    )?;
    insert_agencies(conn, seed)?;
    Ok(true)
}

fn insert_agencies(conn: &mut DbConn, list: &[Agency]) -> QueryResult<()> {
    for a in list {
        diesel::insert_into(agencies::table)
            .values((
                agencies::id.eq(&a.id),
                agencies::name.eq(&a.name),
                agencies::kind.eq(&a.kind),
                agencies::statutory_partner.eq(a.statutory_partner.map(|p| p.as_str())),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Which of these ids are not in the registry.
pub fn unknown_agencies(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<String>> {
    let known: BTreeSet<String> = agencies::table
        .filter(agencies::id.eq_any(ids))
        .select(agencies::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .filter(|i| !known.contains(*i))
        .cloned()
        .collect())
}

// ---- disputes ----

/// A dispute event's ledger facts: the event's fields without its tag.
pub fn facts_of(event: &Event) -> Value {
    let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("event");
    }
    v
}

/// Read a dispute event back from an entry's `event` and `facts`.
pub fn event_of(entry: &Entry) -> Result<Event, String> {
    let mut v = entry.facts.clone();
    match &mut v {
        Value::Object(m) => {
            m.insert("event".into(), Value::String(entry.event.clone()));
        }
        _ => return Err("facts are not an object".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("unreadable '{}' facts: {e}", entry.event))
}

fn set_proposal_status(
    conn: &mut DbConn,
    dispute_id: &str,
    only: Option<&str>,
    from: ProposalStatus,
    to: ProposalStatus,
) -> QueryResult<usize> {
    let mut q = diesel::update(proposals::table)
        .filter(proposals::dispute_id.eq(dispute_id))
        .filter(proposals::status.eq(from.as_str()))
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(proposals::id.eq(id));
    }
    q.set(proposals::status.eq(to.as_str())).execute(conn)
}

/// Update the projection tables for one dispute event, in the caller's transaction.
pub fn project(
    conn: &mut DbConn,
    id: &str,
    actor: &Actor,
    event: &Event,
    entry: &Entry,
) -> Result<(), StoreError> {
    let at = entry.recorded_at;
    let set_dispute = |conn: &mut DbConn, status: Status, rung: Option<ladder::Rung>| {
        let q = diesel::update(disputes::table.find(id));
        match rung {
            Some(r) => q
                .set((
                    disputes::status.eq(status.as_str()),
                    disputes::rung.eq(r.as_str()),
                    disputes::updated_at.eq(at),
                ))
                .execute(conn),
            None => q
                .set((
                    disputes::status.eq(status.as_str()),
                    disputes::updated_at.eq(at),
                ))
                .execute(conn),
        }
    };
    match event {
        Event::Raised {
            policy,
            rung,
            parties,
            urgent,
            complex,
            whistleblowing,
        } => {
            diesel::insert_into(disputes::table)
                .values((
                    disputes::id.eq(id),
                    disputes::policy.eq(policy),
                    disputes::status.eq(Status::Open.as_str()),
                    disputes::rung.eq(rung.as_str()),
                    disputes::raised_by_sub.eq(&actor.sub),
                    disputes::raised_by_agency.eq(&actor.agency),
                    disputes::urgent.eq(urgent),
                    disputes::complex.eq(complex),
                    disputes::opened_at.eq(at),
                    disputes::updated_at.eq(at),
                    disputes::raised_seq.eq(entry.seq),
                    disputes::rung_entered_at.eq(at),
                    disputes::whistleblowing.eq(whistleblowing),
                ))
                .execute(conn)?;
            for (i, p) in parties.iter().enumerate() {
                diesel::insert_into(dispute_parties::table)
                    .values((
                        dispute_parties::dispute_id.eq(id),
                        dispute_parties::agency_id.eq(p),
                        dispute_parties::position.eq(i as i32),
                    ))
                    .execute(conn)?;
            }
        }
        Event::ProposalMade { proposal_id, rung } => {
            diesel::insert_into(proposals::table)
                .values((
                    proposals::id.eq(proposal_id),
                    proposals::dispute_id.eq(id),
                    proposals::rung.eq(rung.as_str()),
                    proposals::status.eq(ProposalStatus::Open.as_str()),
                    proposals::proposed_by.eq(&actor.sub),
                    proposals::proposed_at.eq(at),
                    proposals::seq.eq(entry.seq),
                ))
                .execute(conn)?;
            diesel::update(disputes::table.find(id))
                .set(disputes::updated_at.eq(at))
                .execute(conn)?;
        }
        Event::ProposalAccepted {
            proposal_id,
            acceptor,
        } => {
            diesel::insert_into(proposal_acceptances::table)
                .values((
                    proposal_acceptances::proposal_id.eq(proposal_id),
                    proposal_acceptances::acceptor.eq(acceptor),
                    proposal_acceptances::seq.eq(entry.seq),
                ))
                .execute(conn)?;
        }
        Event::ProposalRejected { proposal_id } => {
            set_proposal_status(
                conn,
                id,
                Some(proposal_id),
                ProposalStatus::Open,
                ProposalStatus::Rejected,
            )?;
            set_dispute(conn, Status::Open, None)?;
        }
        Event::Escalated { to, .. } => {
            set_proposal_status(conn, id, None, ProposalStatus::Open, ProposalStatus::Lapsed)?;
            set_dispute(conn, Status::Open, Some(*to))?;
            diesel::update(disputes::table.find(id))
                .set(disputes::rung_entered_at.eq(at))
                .execute(conn)?;
        }
        Event::DeadlineMissed { rung, due_at } => {
            let due = chrono::DateTime::parse_from_rfc3339(due_at)
                .map_err(|e| StoreError::Internal(format!("due_at {due_at}: {e}")))?
                .naive_utc();
            diesel::insert_into(deadline_misses::table)
                .values((
                    deadline_misses::dispute_id.eq(id),
                    deadline_misses::rung.eq(rung.as_str()),
                    deadline_misses::due_at.eq(due),
                    deadline_misses::seq.eq(entry.seq),
                ))
                .execute(conn)?;
        }
        Event::Resolved { proposal_id } => {
            set_proposal_status(
                conn,
                id,
                Some(proposal_id),
                ProposalStatus::Open,
                ProposalStatus::Accepted,
            )?;
            set_dispute(conn, Status::Resolved, None)?;
        }
        Event::PolicyMigrated { to, rung, .. } => {
            set_proposal_status(conn, id, None, ProposalStatus::Open, ProposalStatus::Lapsed)?;
            diesel::update(disputes::table.find(id))
                .set((
                    disputes::policy.eq(to),
                    disputes::rung.eq(rung.as_str()),
                    disputes::rung_entered_at.eq(at),
                    disputes::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
        Event::Withdrawn => {
            set_proposal_status(conn, id, None, ProposalStatus::Open, ProposalStatus::Lapsed)?;
            set_dispute(conn, Status::Withdrawn, None)?;
        }
    }
    Ok(())
}

type DisputeRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
    NaiveDateTime,
    NaiveDateTime,
    i64,
    NaiveDateTime,
    bool,
);

/// When a proposal was made, and the `seq` of its entry (where its text is).
pub type ProposalMeta = (NaiveDateTime, i64);

/// A dispute's projected state plus what the API shows besides it.
#[derive(Debug, Clone)]
pub struct DisputeRecord {
    pub state: Dispute,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub raised_seq: i64,
    /// When the dispute entered the rung it is on (deadlines count from here).
    pub rung_entered_at: NaiveDateTime,
    /// (proposal id, proposed_at, seq) for each proposal, in `state.proposals` order.
    pub proposal_meta: Vec<ProposalMeta>,
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, StoreError> {
    s.parse().map_err(StoreError::Internal)
}

/// Build full records for `rows`, loading parties, proposals and acceptances in
/// three queries: for just these disputes, or (`whole`) from the whole tables,
/// which `verify` uses to stay clear of bind-parameter limits.
fn assemble(
    conn: &mut DbConn,
    rows: Vec<DisputeRow>,
    whole: bool,
) -> Result<Vec<DisputeRecord>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let mut pq = dispute_parties::table
        .select((dispute_parties::dispute_id, dispute_parties::agency_id))
        .order((dispute_parties::dispute_id, dispute_parties::position.asc()))
        .into_boxed();
    let mut prq = proposals::table
        .select((
            proposals::dispute_id,
            proposals::id,
            proposals::rung,
            proposals::status,
            proposals::proposed_by,
            proposals::proposed_at,
            proposals::seq,
        ))
        .order(proposals::seq.asc())
        .into_boxed();
    let mut mq = deadline_misses::table
        .select((
            deadline_misses::dispute_id,
            deadline_misses::rung,
            deadline_misses::due_at,
        ))
        .into_boxed();
    let mut aq = proposal_acceptances::table
        .inner_join(proposals::table)
        .select((
            proposal_acceptances::proposal_id,
            proposal_acceptances::acceptor,
        ))
        .into_boxed();
    if !whole {
        pq = pq.filter(dispute_parties::dispute_id.eq_any(ids.clone()));
        prq = prq.filter(proposals::dispute_id.eq_any(ids.clone()));
        mq = mq.filter(deadline_misses::dispute_id.eq_any(ids.clone()));
        aq = aq.filter(proposals::dispute_id.eq_any(ids));
    }
    let mut missed: HashMap<String, BTreeMap<ladder::Rung, String>> = HashMap::new();
    for (d, r, due) in mq.load::<(String, String, NaiveDateTime)>(conn)? {
        missed
            .entry(d)
            .or_default()
            .insert(parse(&r)?, crate::core::deadline::format_due(&due));
    }
    let mut parties: HashMap<String, Vec<String>> = HashMap::new();
    for (d, a) in pq.load::<(String, String)>(conn)? {
        parties.entry(d).or_default().push(a);
    }
    let mut accepted: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (p, a) in aq.load::<(String, String)>(conn)? {
        accepted.entry(p).or_default().insert(a);
    }
    type PRow = (String, String, String, String, String, NaiveDateTime, i64);
    let mut props: HashMap<String, Vec<(Proposal, ProposalMeta)>> = HashMap::new();
    for (d, pid, prung, pstatus, by, at, seq) in prq.load::<PRow>(conn)? {
        let accepted_by = accepted.remove(&pid).unwrap_or_default();
        let p = Proposal {
            id: pid,
            rung: parse(&prung)?,
            proposed_by: by,
            status: parse(&pstatus)?,
            accepted_by,
        };
        props.entry(d).or_default().push((p, (at, seq)));
    }
    rows.into_iter()
        .map(|row| {
            let (
                id,
                policy,
                status,
                rung,
                sub,
                agency,
                urgent,
                complex,
                opened_at,
                updated_at,
                raised_seq,
                rung_entered_at,
                whistleblowing,
            ) = row;
            let missed_here = missed.remove(&id).unwrap_or_default();
            let (proposals, proposal_meta) =
                props.remove(&id).unwrap_or_default().into_iter().unzip();
            Ok(DisputeRecord {
                state: Dispute {
                    parties: parties.remove(&id).unwrap_or_default(),
                    id,
                    policy,
                    status: parse(&status)?,
                    rung: parse(&rung)?,
                    raised_by: Actor {
                        sub,
                        role: Role::Agency,
                        agency,
                        partner: None,
                    },
                    urgent,
                    complex,
                    whistleblowing,
                    proposals,
                    missed: missed_here,
                },
                opened_at,
                updated_at,
                raised_seq,
                rung_entered_at,
                proposal_meta,
            })
        })
        .collect()
}

pub fn load_dispute(conn: &mut DbConn, id: &str) -> Result<Option<DisputeRecord>, StoreError> {
    let row: Option<DisputeRow> = disputes::table.find(id).first(conn).optional()?;
    Ok(assemble(conn, row.into_iter().collect(), false)?.pop())
}

/// A row filter the database cannot apply: called with each matching row's
/// (id, policy, status, rung, urgent, rung_entered_at).
pub type Keep = std::sync::Arc<dyn Fn(OpenRow) -> Result<bool, StoreError> + Send + Sync>;

/// The deadline facts of a `disputes` row: id, policy, status, rung, urgent, rung_entered_at.
pub type OpenRow = (String, String, String, String, bool, NaiveDateTime);

/// Filters for the dispute list.
#[derive(Default, Clone)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub rung: Option<ladder::Rung>,
    pub agency: Option<String>,
    /// Only disputes this agency is a party to (the caller's own, for agency users).
    pub visible_to_agency: Option<String>,
    /// Only disputes on these rungs of these policies (for chief officers).
    pub only_rungs: Option<Vec<(String, Vec<ladder::Rung>)>>,
    /// Only disputes this judges to keep (working days are not SQL: the
    /// service's overdue filter); paging applies after it.
    pub keep: Option<Keep>,
    pub limit: i64,
    pub offset: i64,
}

pub fn list_disputes(conn: &mut DbConn, f: &ListFilter) -> Result<Vec<DisputeRecord>, StoreError> {
    let mut q = disputes::table.into_boxed();
    if let Some(s) = f.status {
        q = q.filter(disputes::status.eq(s.as_str()));
    }
    if let Some(r) = f.rung {
        q = q.filter(disputes::rung.eq(r.as_str()));
    }
    if let Some(only) = &f.only_rungs {
        // Deny by default: no (policy, rung) pair, no rows.
        let mut any: Box<
            dyn BoxableExpression<disputes::table, _, SqlType = diesel::sql_types::Bool>,
        > = Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0"));
        for (policy, rungs) in only {
            let names: Vec<&str> = rungs.iter().map(|r| r.as_str()).collect();
            any = Box::new(
                any.or(disputes::policy
                    .eq(policy.clone())
                    .and(disputes::rung.eq_any(names))),
            );
        }
        q = q.filter(any);
    }
    for a in [&f.agency, &f.visible_to_agency].into_iter().flatten() {
        q = q.filter(
            disputes::id.eq_any(
                dispute_parties::table
                    .filter(dispute_parties::agency_id.eq(a.clone()))
                    .select(dispute_parties::dispute_id),
            ),
        );
    }
    let q = q.order((disputes::opened_at.desc(), disputes::id.asc()));
    let rows: Vec<DisputeRow> = match &f.keep {
        None => q.limit(f.limit).offset(f.offset).load(conn)?,
        // Judge every matching row, then page.
        Some(keep) => {
            let mut kept = Vec::new();
            for row in q.load::<DisputeRow>(conn)? {
                let open = (
                    row.0.clone(),
                    row.1.clone(),
                    row.2.clone(),
                    row.3.clone(),
                    row.6,
                    row.11,
                );
                if keep(open)? {
                    kept.push(row);
                }
            }
            kept.into_iter()
                .skip(usize::try_from(f.offset).unwrap_or(0))
                .take(usize::try_from(f.limit).unwrap_or(0))
                .collect()
        }
    };
    assemble(conn, rows, false)
}

/// Every dispute, for `verify` to compare with its replay.
pub fn all_disputes(conn: &mut DbConn) -> Result<Vec<DisputeRecord>, StoreError> {
    let rows: Vec<DisputeRow> = disputes::table.order(disputes::id.asc()).load(conn)?;
    assemble(conn, rows, true)
}
