//! Disputes: the projection of dispute events into `disputes`,
//! `dispute_parties`, `proposals`, `proposal_acceptances` and `deadline_misses`,
//! and loading and listing them back as [`DisputeRecord`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::core::ladder::{self, Actor, Dispute, Event, Proposal, ProposalStatus, Role, Status};
use crate::core::ledger::Entry;
use crate::store::db::DbConn;
use crate::store::error::StoreError;
use crate::store::schema::{
    deadline_misses, dispute_parties, disputes, proposal_acceptances, proposals,
};

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
            // One multi-row insert, however many parties.
            let rows: Vec<_> = parties
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        dispute_parties::dispute_id.eq(id),
                        dispute_parties::agency_id.eq(p),
                        dispute_parties::position.eq(i as i32),
                    )
                })
                .collect();
            let insert = diesel::insert_into(dispute_parties::table).values(rows);
            match conn {
                DbConn::Pg(c) => insert.execute(c)?,
                DbConn::Sqlite(c) => insert.execute(c)?,
            };
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
            // One statement: the new rung and when it was entered together.
            diesel::update(disputes::table.find(id))
                .set((
                    disputes::status.eq(Status::Open.as_str()),
                    disputes::rung.eq(to.as_str()),
                    disputes::updated_at.eq(at),
                    disputes::rung_entered_at.eq(at),
                ))
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

/// A `disputes` row, in the table's column order.
#[derive(Debug, Clone, Queryable)]
pub struct DisputeRow {
    pub id: String,
    pub policy: String,
    pub status: String,
    pub rung: String,
    pub raised_by_sub: String,
    pub raised_by_agency: Option<String>,
    pub urgent: bool,
    pub complex: bool,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub raised_seq: i64,
    pub rung_entered_at: NaiveDateTime,
    pub whistleblowing: bool,
}

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
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
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
    type PRow = (String, String, String, String, String, NaiveDateTime, i64);
    let prows = prq.load::<PRow>(conn)?;
    let mut accepted: HashMap<String, BTreeSet<String>> = HashMap::new();
    // No proposals, no acceptances: one round trip fewer.
    if !prows.is_empty() {
        for (p, a) in aq.load::<(String, String)>(conn)? {
            accepted.entry(p).or_default().insert(a);
        }
    }
    let mut props: HashMap<String, Vec<(Proposal, ProposalMeta)>> = HashMap::new();
    for (d, pid, prung, pstatus, by, at, seq) in prows {
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
            let DisputeRow {
                id,
                policy,
                status,
                rung,
                raised_by_sub: sub,
                raised_by_agency: agency,
                urgent,
                complex,
                opened_at,
                updated_at,
                raised_seq,
                rung_entered_at,
                whistleblowing,
            } = row;
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

/// Dispute `id` as a record, in one statement ([`load_dispute_text`]).
pub fn load_dispute(conn: &mut DbConn, id: &str) -> Result<Option<DisputeRecord>, StoreError> {
    Ok(load_dispute_text(conn, id)?.map(|d| d.record))
}

/// A dispute's record with the free text its views may show: the payload of
/// its `raised` entry and of each proposal's entry (`None` once erased).
#[derive(Debug, Clone)]
pub struct DisputeText {
    pub record: DisputeRecord,
    pub raised: Option<serde_json::Value>,
    /// In `record.state.proposals` order.
    pub proposal_payloads: Vec<Option<serde_json::Value>>,
}

/// Dispute `id` with its parties, proposals, acceptances, missed deadlines
/// and payloads in ONE statement (one round trip, one snapshot): the child
/// rows come back as JSON arrays aggregated per dispute (SQLite's
/// `json_group_array`, PostgreSQL's `json_agg`).
pub fn load_dispute_text(conn: &mut DbConn, id: &str) -> Result<Option<DisputeText>, StoreError> {
    use diesel::sql_types::Text;
    let row: Option<OneRow> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(ONE_SQLITE)
            .bind::<Text, _>(id)
            .get_result(c)
            .optional()?,
        DbConn::Pg(c) => diesel::sql_query(ONE_PG)
            .bind::<Text, _>(id)
            .get_result(c)
            .optional()?,
    };
    row.map(OneRow::into_text).transpose()
}

const ONE_SQLITE: &str = "SELECT d.id, d.policy, d.status, d.rung, d.raised_by_sub, \
 d.raised_by_agency, d.urgent, d.complex, d.opened_at, d.updated_at, d.raised_seq, \
 d.rung_entered_at, d.whistleblowing, \
 (SELECT json_group_array(x.agency_id ORDER BY x.position) FROM dispute_parties x \
   WHERE x.dispute_id = d.id) AS parties, \
 (SELECT json_group_array(json_array(p.id, p.rung, p.status, p.proposed_by, p.proposed_at, p.seq, \
   json((SELECT json_group_array(a.acceptor) FROM proposal_acceptances a WHERE a.proposal_id = p.id)), \
   (SELECT l.payload FROM ledger_payloads l WHERE l.seq = p.seq)) ORDER BY p.seq) \
   FROM proposals p WHERE p.dispute_id = d.id) AS proposals, \
 (SELECT json_group_array(json_array(m.rung, m.due_at)) FROM deadline_misses m \
   WHERE m.dispute_id = d.id) AS misses, \
 (SELECT l.payload FROM ledger_payloads l WHERE l.seq = d.raised_seq) AS raised_payload \
 FROM disputes d WHERE d.id = ?";

const ONE_PG: &str = "SELECT d.id, d.policy, d.status, d.rung, d.raised_by_sub, \
 d.raised_by_agency, d.urgent, d.complex, d.opened_at, d.updated_at, d.raised_seq, \
 d.rung_entered_at, d.whistleblowing, \
 COALESCE((SELECT json_agg(x.agency_id ORDER BY x.position) FROM dispute_parties x \
   WHERE x.dispute_id = d.id), '[]')::text AS parties, \
 COALESCE((SELECT json_agg(json_build_array(p.id, p.rung, p.status, p.proposed_by, p.proposed_at, p.seq, \
   COALESCE((SELECT json_agg(a.acceptor) FROM proposal_acceptances a WHERE a.proposal_id = p.id), '[]'), \
   (SELECT l.payload FROM ledger_payloads l WHERE l.seq = p.seq)) ORDER BY p.seq) \
   FROM proposals p WHERE p.dispute_id = d.id), '[]')::text AS proposals, \
 COALESCE((SELECT json_agg(json_build_array(m.rung, m.due_at)) FROM deadline_misses m \
   WHERE m.dispute_id = d.id), '[]')::text AS misses, \
 (SELECT l.payload FROM ledger_payloads l WHERE l.seq = d.raised_seq) AS raised_payload \
 FROM disputes d WHERE d.id = $1";

/// What [`ONE_SQLITE`] and [`ONE_PG`] answer: a `disputes` row and its child
/// rows as JSON arrays.
#[derive(QueryableByName)]
struct OneRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    policy: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    rung: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    raised_by_sub: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    raised_by_agency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    urgent: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    complex: bool,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    opened_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    raised_seq: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    rung_entered_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    whistleblowing: bool,
    #[diesel(sql_type = diesel::sql_types::Text)]
    parties: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    proposals: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    misses: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    raised_payload: Option<String>,
}

/// A proposal as [`ONE_SQLITE`]/[`ONE_PG`] aggregate it: id, rung, status,
/// proposed_by, proposed_at, seq, acceptors, payload.
type ProposalJson = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Vec<String>,
    Option<String>,
);

/// A time as a JSON aggregate spells it: SQLite's stored text
/// (`2026-12-01 17:33:51.5`) or PostgreSQL's `timestamp` (`2026-12-01T17:33:51.5`).
fn json_time(s: &str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(&s.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| StoreError::Internal(format!("a stored time '{s}': {e}")))
}

fn json_rows<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Internal(format!("aggregated {what}: {e}")))
}

/// A stored payload as `payload_of` reads it: `None` once erased (or unreadable).
fn payload(p: Option<String>) -> Option<serde_json::Value> {
    p.and_then(|s| serde_json::from_str(&s).ok())
}

impl OneRow {
    fn into_text(self) -> Result<DisputeText, StoreError> {
        let parties: Vec<String> = json_rows("parties", &self.parties)?;
        let proposals: Vec<ProposalJson> = json_rows("proposals", &self.proposals)?;
        let misses: Vec<(String, String)> = json_rows("missed deadlines", &self.misses)?;
        let mut missed = BTreeMap::new();
        for (r, due) in misses {
            missed.insert(
                parse(&r)?,
                crate::core::deadline::format_due(&json_time(&due)?),
            );
        }
        let mut props = Vec::with_capacity(proposals.len());
        let mut proposal_meta = Vec::with_capacity(proposals.len());
        let mut proposal_payloads = Vec::with_capacity(proposals.len());
        for (pid, prung, pstatus, by, at, seq, acceptors, text) in proposals {
            props.push(Proposal {
                id: pid,
                rung: parse(&prung)?,
                proposed_by: by,
                status: parse(&pstatus)?,
                accepted_by: acceptors.into_iter().collect(),
            });
            proposal_meta.push((json_time(&at)?, seq));
            proposal_payloads.push(payload(text));
        }
        Ok(DisputeText {
            record: DisputeRecord {
                state: Dispute {
                    id: self.id,
                    policy: self.policy,
                    status: parse(&self.status)?,
                    rung: parse(&self.rung)?,
                    raised_by: Actor {
                        sub: self.raised_by_sub,
                        role: Role::Agency,
                        agency: self.raised_by_agency,
                        partner: None,
                    },
                    parties,
                    urgent: self.urgent,
                    complex: self.complex,
                    whistleblowing: self.whistleblowing,
                    proposals: props,
                    missed,
                },
                opened_at: self.opened_at,
                updated_at: self.updated_at,
                raised_seq: self.raised_seq,
                rung_entered_at: self.rung_entered_at,
                proposal_meta,
            },
            raised: payload(self.raised_payload),
            proposal_payloads,
        })
    }
}

/// The payloads of the entries `seqs` (`None` where erased or unreadable),
/// in one statement: what a page of disputes shows.
pub fn payloads_of(
    conn: &mut DbConn,
    seqs: &[i64],
) -> Result<HashMap<i64, Option<serde_json::Value>>, StoreError> {
    use crate::store::schema::ledger_payloads;
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Option<String>)> = ledger_payloads::table
        .filter(ledger_payloads::seq.eq_any(seqs))
        .select((ledger_payloads::seq, ledger_payloads::payload))
        .load(conn)?;
    Ok(rows.into_iter().map(|(s, p)| (s, payload(p))).collect())
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
    /// Keyset paging, newest first: only disputes raised before this `raised_seq`.
    pub before: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
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
    if let Some(before) = f.before {
        q = q.filter(disputes::raised_seq.lt(before));
    }
    // `raised_seq` is unique and grows with time: a stable keyset, newest first.
    let q = q.order(disputes::raised_seq.desc());
    let rows: Vec<DisputeRow> = match &f.keep {
        None => q.limit(f.limit).load(conn)?,
        // Judge the matching rows in order until the page is full.
        Some(keep) => {
            let mut kept = Vec::new();
            for row in q.load::<DisputeRow>(conn)? {
                let open = (
                    row.id.clone(),
                    row.policy.clone(),
                    row.status.clone(),
                    row.rung.clone(),
                    row.urgent,
                    row.rung_entered_at,
                );
                if keep(open)? {
                    kept.push(row);
                    if i64::try_from(kept.len()).unwrap_or(i64::MAX) >= f.limit {
                        break;
                    }
                }
            }
            kept.into_iter()
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
