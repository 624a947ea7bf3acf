//! Response types several handlers share, and rendering them from what the
//! service returns: a dispute (raise, read, list, every ladder action) and a
//! ledger entry (a dispute's history, the ledger's entries).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::audit::EntryLine;
use crate::core::ladder::{ProposalStatus, Rung, Status};
use crate::core::ledger::format_time;
use crate::http::paging::{Page, Paging};
use crate::service::deadline::format_due;
use crate::service::disputes::DisputeRead;
use crate::store::ledger::StoredEntry;

#[derive(Debug, Serialize, ToSchema)]
pub struct RaisedBy {
    pub sub: String,
    pub agency: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: String,
    /// The `proposed` entry.
    pub seq: i64,
    pub rung: Rung,
    pub status: ProposalStatus,
    pub proposed_by: String,
    pub proposed_at: String,
    /// Null when erased, or withheld from this caller.
    pub resolution: Option<String>,
    /// Acceptor keys so far: `agency:<id>`, `statutory_partner:<la|icb|police>`, ...
    pub accepted_by: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: String,
    pub status: Status,
    pub rung: Rung,
    pub parties: Vec<String>,
    pub raised_by: RaisedBy,
    pub opened_at: String,
    pub updated_at: String,
    /// The ladder policy version the dispute was raised under.
    pub policy: String,
    pub urgent: bool,
    pub complex: bool,
    /// Raised as whistleblowing: `raised_by.sub` is a pseudonym.
    pub whistleblowing: bool,
    /// Null when erased, or withheld from this caller.
    pub summary: Option<String>,
    pub child_ref: Option<String>,
    pub open_proposal: Option<ProposalView>,
    pub proposals: Vec<ProposalView>,
    /// When the current rung's target falls (UTC, RFC 3339), counted in
    /// working days (urgent: working hours) from when the dispute entered the
    /// rung; null when the dispute is closed or the rung has no target.
    pub due_at: Option<String>,
    /// Open and past `due_at` now.
    pub overdue: bool,
    /// On the answer to a request that wrote to the ledger (raising, a ladder
    /// action, migrating): the `seq` of the (last) entry it wrote. Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// An entry as the API shows it: the bundle's line format, one type for both.
pub type EntryView = EntryLine;

fn text_field(payload: Option<&Value>, key: &str) -> Option<String> {
    payload
        .and_then(|p| p.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A dispute as its caller sees it: free text only `with_text`
/// ([`crate::http::authz::TEXT_READERS`]).
pub fn dispute_view(read: DisputeRead, with_text: bool) -> DisputeView {
    let DisputeRead {
        record: rec,
        raised,
        proposal_payloads,
        due_at,
        overdue,
        written_seq,
    } = read;
    let raised = raised.filter(|_| with_text);
    let proposals: Vec<ProposalView> = rec
        .state
        .proposals
        .iter()
        .zip(rec.proposal_meta.iter())
        .zip(proposal_payloads.iter())
        .map(|((p, (at, seq)), payload)| ProposalView {
            id: p.id.clone(),
            seq: *seq,
            rung: p.rung,
            status: p.status,
            proposed_by: p.proposed_by.clone(),
            proposed_at: format_time(at),
            resolution: text_field(payload.as_ref().filter(|_| with_text), "resolution"),
            accepted_by: p.accepted_by.iter().cloned().collect(),
        })
        .collect();
    let open_proposal = proposals
        .iter()
        .find(|p| p.status == ProposalStatus::Open)
        .cloned();
    let d = rec.state;
    DisputeView {
        due_at: due_at.as_ref().map(format_due),
        overdue,
        id: d.id,
        status: d.status,
        rung: d.rung,
        parties: d.parties,
        raised_by: RaisedBy {
            sub: d.raised_by.sub,
            agency: d.raised_by.agency,
        },
        opened_at: format_time(&rec.opened_at),
        updated_at: format_time(&rec.updated_at),
        policy: d.policy,
        urgent: d.urgent,
        complex: d.complex,
        whistleblowing: d.whistleblowing,
        summary: text_field(raised.as_ref(), "summary"),
        child_ref: text_field(raised.as_ref(), "child_ref"),
        open_proposal,
        proposals,
        seq: written_seq,
    }
}

/// A ledger entry; its payload only `with_payload`.
pub fn entry_view(s: StoredEntry, with_payload: bool) -> EntryView {
    let payload = s
        .payload
        .filter(|_| with_payload)
        .and_then(|p| serde_json::from_str(&p).ok());
    EntryLine::from_entry(s.entry, payload)
}

/// A page of entries, as one caller sees them; cursors carry the `seq`.
pub fn entry_page(paging: &Paging, list: Vec<StoredEntry>, with_payload: bool) -> Page<EntryView> {
    paging
        .page(list, |s| s.entry.seq)
        .map(|s| entry_view(s, with_payload))
}
