//! The escalation ladder of seed section 5.2, as a pure state machine.
//!
//! No actix, no diesel: `decide` turns a command into events, `apply` folds an
//! event into a dispute. The HTTP layer calls `decide` and stores the events;
//! `verify` replays stored events through `apply` to rebuild every dispute.
//! The rung rules are data (`Policy`), not code paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::core::event::LedgerEvent;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A rung of a ladder: a name from a policy document (`assets/policies/`).
///
/// Names are interned, so a `Rung` is `Copy` and compares by name. Order
/// between rungs is the policy's ([`Policy::position`]), not this type's `Ord`
/// (alphabetical, for maps only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rung(&'static str);

/// At most this many distinct rung names are interned per process.
const MAX_RUNG_NAMES: usize = 4096;

impl Rung {
    /// A rung from a name known at compile time (tests, shipped documents).
    pub const fn from_static(name: &'static str) -> Rung {
        Rung(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl FromStr for Rung {
    type Err = String;
    /// Any well-formed name (`a-z`, `0-9`, `_`, starting with a letter, at
    /// most 64); whether a policy has the rung is the policy's question.
    fn from_str(s: &str) -> Result<Rung, String> {
        use std::sync::Mutex;
        static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
        let well_formed = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(format!(
                "'{s}' is not a rung name (a-z, 0-9 and '_', starting with a letter, at most 64)"
            ));
        }
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = names.get(s) {
            return Ok(Rung(name));
        }
        if names.len() >= MAX_RUNG_NAMES {
            return Err("too many distinct rung names".into());
        }
        let name: &'static str = Box::leak(s.to_owned().into_boxed_str());
        names.insert(name);
        Ok(Rung(name))
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Rung {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Rung {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Rung {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A rung of the dispute's ladder policy (see /v1/policies), e.g. agencies",
            ))
            .pattern(Some("^[a-z][a-z0-9_]{0,63}$"))
            .into()
    }
}

impl ToSchema for Rung {}

/// A role carried by a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agency,
    Slg,
    StatutoryPartner,
    ChiefOfficer,
    Scrutineer,
    PartnershipAdmin,
    Auditor,
}

/// One of the three statutory safeguarding partners.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Partner {
    La,
    Icb,
    Police,
}

pub const ALL_PARTNERS: [Partner; 3] = [Partner::La, Partner::Icb, Partner::Police];

macro_rules! snake_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} '{other}'", stringify!($ty).to_lowercase())),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

snake_names!(Role {
    Agency => "agency",
    Slg => "slg",
    StatutoryPartner => "statutory_partner",
    ChiefOfficer => "chief_officer",
    Scrutineer => "scrutineer",
    PartnershipAdmin => "partnership_admin",
    Auditor => "auditor",
});
snake_names!(Partner { La => "la", Icb => "icb", Police => "police" });

impl Role {
    /// The role's name after "a" or "an", as messages put it: "an agency",
    /// "a scrutineer", "an slg" (said as letters).
    pub fn with_article(self) -> String {
        let article = match self {
            Role::Agency | Role::Slg | Role::Auditor => "an",
            Role::StatutoryPartner
            | Role::ChiefOfficer
            | Role::Scrutineer
            | Role::PartnershipAdmin => "a",
        };
        format!("{article} {self}")
    }
}

/// Who did something: the claims of the token, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub sub: String,
    pub role: Role,
    pub agency: Option<String>,
    pub partner: Option<Partner>,
}

impl Actor {
    /// The party agency this actor speaks for, if any.
    fn party_of<'a>(&'a self, dispute: &Dispute) -> Option<&'a str> {
        match (&self.role, &self.agency) {
            (Role::Agency, Some(a)) if dispute.parties.iter().any(|p| p == a) => Some(a),
            _ => None,
        }
    }
}

/// Who may do a thing on a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// An `agency` user whose agency is a party to the dispute.
    PartyAgency,
    /// Anyone holding this role.
    Role(Role),
}

/// Whose acceptance resolves a proposal on a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acceptors {
    /// Every party agency, each through one of its `agency` users.
    PartyAgencies,
    /// The `la`, `icb` and `police` holders of this role, all three.
    AllPartners(Role),
    /// Nobody: a proposal resolves the dispute as soon as it is recorded.
    None,
}

/// The rules of one rung.
#[derive(Debug, Clone)]
pub struct RungRule {
    pub rung: Rung,
    pub propose: Vec<Who>,
    pub accept: Acceptors,
    pub escalate: Vec<Who>,
    /// Working days (Monday to Friday, less bank holidays of England and Wales)
    /// the rung has to settle the dispute, counted from when it entered the
    /// rung; due at 17:00 of the last one. 0 = no target.
    pub target_working_days: u32,
    /// For `urgent` disputes: working hours (09:00 to 17:00 on working days)
    /// instead of days. 0 = fall back to `target_working_days`.
    pub urgent_target_working_hours: u32,
    /// When the target passes, the deadline sweeper also escalates the dispute
    /// to the next rung (an `escalated` entry by the system, rule
    /// `auto_escalate_on_deadline`). Never on the top rung.
    pub auto_escalate: bool,
}

/// Where a new dispute enters the ladder.
#[derive(Debug, Clone)]
pub struct EntryRule {
    pub rung: Rung,
    /// A dispute with this many parties or more enters at `many_parties_rung`.
    pub many_parties: usize,
    pub many_parties_rung: Rung,
    /// A dispute raised as complex enters here.
    pub complex_rung: Rung,
}

/// A versioned ladder, as read from a policy document ([`crate::core::policy`]):
/// its rungs in order and who may act on each.
#[derive(Debug, Clone)]
pub struct Policy {
    pub version: String,
    pub title: String,
    pub entry: EntryRule,
    /// The rung the scrutineer's ladder mediation belongs to, if any.
    pub mediation_rung: Option<Rung>,
    /// `chief_officer` users see disputes on this rung and above; none if unset.
    pub chief_officers_from: Option<Rung>,
    /// Lowest first.
    pub rungs: Vec<RungRule>,
}

impl Policy {
    /// The names of the rungs, bottom first.
    pub fn rung_names(&self) -> Vec<&'static str> {
        self.rungs.iter().map(|r| r.rung.as_str()).collect()
    }

    pub fn rule(&self, rung: Rung) -> Option<&RungRule> {
        self.rungs.iter().find(|r| r.rung == rung)
    }

    /// Where `rung` is on this ladder, lowest 0.
    pub fn position(&self, rung: Rung) -> Option<usize> {
        self.rungs.iter().position(|r| r.rung == rung)
    }

    /// The rung directly above `rung`, if any.
    pub fn next(&self, rung: Rung) -> Option<Rung> {
        let i = self.position(rung)?;
        self.rungs.get(i + 1).map(|r| r.rung)
    }

    /// Whether `chief_officer` users see a dispute on `rung`.
    pub fn chief_officers_see(&self, rung: Rung) -> bool {
        match (
            self.chief_officers_from.and_then(|f| self.position(f)),
            self.position(rung),
        ) {
            (Some(from), Some(at)) => at >= from,
            _ => false,
        }
    }

    /// The rungs `chief_officer` users see.
    pub fn chief_officer_rungs(&self) -> Vec<Rung> {
        self.rungs
            .iter()
            .map(|r| r.rung)
            .filter(|r| self.chief_officers_see(*r))
            .collect()
    }

    /// Where a dispute between these parties enters the ladder.
    pub fn entry_rung(&self, party_count: usize, complex: bool) -> Rung {
        if complex {
            self.entry.complex_rung
        } else if party_count >= self.entry.many_parties {
            self.entry.many_parties_rung
        } else {
            self.entry.rung
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Resolved,
    Withdrawn,
}

snake_names!(Status { Open => "open", Resolved => "resolved", Withdrawn => "withdrawn" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Open,
    Accepted,
    Rejected,
    /// The dispute moved up a rung (or was withdrawn) while this was open.
    Lapsed,
}

snake_names!(ProposalStatus {
    Open => "open",
    Accepted => "accepted",
    Rejected => "rejected",
    Lapsed => "lapsed",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: String,
    pub rung: Rung,
    pub proposed_by: String,
    pub status: ProposalStatus,
    /// Acceptor keys (`agency:<id>`, `statutory_partner:la`, ...) that have accepted.
    pub accepted_by: BTreeSet<String>,
}

/// The state of one dispute: what the projection tables hold, minus free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    pub id: String,
    pub policy: String,
    pub status: Status,
    pub rung: Rung,
    pub parties: Vec<String>,
    pub raised_by: Actor,
    pub urgent: bool,
    pub complex: bool,
    /// Raised as whistleblowing: `raised_by.sub` is a pseudonym.
    pub whistleblowing: bool,
    /// Every proposal ever made, oldest first; at most the last one is open.
    pub proposals: Vec<Proposal>,
    /// Rungs whose deadline was missed, with the `due_at` recorded (RFC 3339).
    pub missed: BTreeMap<Rung, String>,
}

impl Dispute {
    pub fn open_proposal(&self) -> Option<&Proposal> {
        self.proposals
            .iter()
            .rev()
            .find(|p| p.status == ProposalStatus::Open)
    }
}

/// What someone asks to do to a dispute. Ids for new things are made by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Propose { proposal_id: String },
    Accept { proposal_id: String },
    Reject { proposal_id: String },
    Escalate,
    Withdraw,
}

/// A state change, as stored in the ledger's `event` and `facts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Raised {
        policy: String,
        rung: Rung,
        parties: Vec<String>,
        urgent: bool,
        complex: bool,
        /// A whistleblowing concern (the raiser is a pseudonym); absent when false,
        /// so other disputes' facts (and hashes) are unchanged.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        whistleblowing: bool,
    },
    ProposalMade {
        proposal_id: String,
        rung: Rung,
    },
    ProposalAccepted {
        proposal_id: String,
        acceptor: String,
    },
    ProposalRejected {
        proposal_id: String,
    },
    Escalated {
        from: Rung,
        to: Rung,
        /// Set only when the system escalated by a policy rule
        /// ([`AUTO_ESCALATE_RULE`]); absent from a person's escalation's facts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// The rung's target passed with the dispute still open on it (recorded
    /// once per dispute and rung, by the deadline sweeper).
    DeadlineMissed {
        rung: Rung,
        /// UTC, RFC 3339, whole seconds.
        due_at: String,
    },
    Resolved {
        proposal_id: String,
    },
    Withdrawn,
    /// `partnership_admin` moved an open dispute onto another policy, on rung
    /// `rung` of it: open proposals lapse and the rung's clock restarts.
    PolicyMigrated {
        from: String,
        to: String,
        rung: Rung,
    },
}

impl Event {
    /// The kind of entry that records it.
    pub fn kind(&self) -> LedgerEvent {
        match self {
            Event::Raised { .. } => LedgerEvent::Raised,
            Event::ProposalMade { .. } => LedgerEvent::ProposalMade,
            Event::ProposalAccepted { .. } => LedgerEvent::ProposalAccepted,
            Event::ProposalRejected { .. } => LedgerEvent::ProposalRejected,
            Event::Escalated { .. } => LedgerEvent::Escalated,
            Event::DeadlineMissed { .. } => LedgerEvent::DeadlineMissed,
            Event::Resolved { .. } => LedgerEvent::Resolved,
            Event::Withdrawn => LedgerEvent::Withdrawn,
            Event::PolicyMigrated { .. } => LedgerEvent::PolicyMigrated,
        }
    }

    /// The entry's `event` name.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// The `rule` of an escalation made by the deadline sweeper.
pub const AUTO_ESCALATE_RULE: &str = "auto_escalate_on_deadline";
/// The `sub` of the system actor that records deadlines.
pub const DEADLINE_SWEEPER: &str = "system:deadline-sweeper";

/// Why the ladder refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

fn allowed(who: &[Who], actor: &Actor, d: &Dispute) -> bool {
    who.iter().any(|w| match w {
        Who::PartyAgency => actor.party_of(d).is_some(),
        Who::Role(r) => *r == actor.role,
    })
}

/// The acceptor key under which `actor` accepts on this rung, if they may.
fn acceptor_key(rule: &RungRule, actor: &Actor, d: &Dispute) -> Option<String> {
    match rule.accept {
        Acceptors::PartyAgencies => actor.party_of(d).map(|a| format!("agency:{a}")),
        Acceptors::AllPartners(role) if actor.role == role => actor
            .partner
            .map(|p| format!("{}:{}", role.as_str(), p.as_str())),
        _ => None,
    }
}

fn required_acceptors(rule: &RungRule, d: &Dispute) -> BTreeSet<String> {
    match rule.accept {
        Acceptors::PartyAgencies => d.parties.iter().map(|a| format!("agency:{a}")).collect(),
        Acceptors::AllPartners(role) => ALL_PARTNERS
            .iter()
            .map(|p| format!("{}:{}", role.as_str(), p.as_str()))
            .collect(),
        Acceptors::None => BTreeSet::new(),
    }
}

/// Who is due to act next on a dispute, by the rules of its current rung: with
/// a proposal open, those who may accept (or reject) it; otherwise those who
/// may propose; and those who may escalate. Nobody once the dispute is closed.
/// Used to address notifications; order is the rule's, without repeats.
pub fn due_to_act(policy: &Policy, d: &Dispute) -> Vec<Who> {
    let mut out: Vec<Who> = Vec::new();
    if d.status != Status::Open {
        return out;
    }
    let Some(rule) = policy.rule(d.rung) else {
        return out;
    };
    let mut push = |w: Who| {
        if !out.contains(&w) {
            out.push(w);
        }
    };
    if d.open_proposal().is_some() {
        match rule.accept {
            Acceptors::PartyAgencies => push(Who::PartyAgency),
            Acceptors::AllPartners(role) => push(Who::Role(role)),
            Acceptors::None => {}
        }
    } else {
        rule.propose.iter().copied().for_each(&mut push);
    }
    rule.escalate.iter().copied().for_each(&mut push);
    out
}

/// Check a new dispute and produce its `Raised` event; `whistleblowing` marks
/// a whistleblowing concern (its raiser is then recorded under a pseudonym).
pub fn raise(
    policy: &Policy,
    actor: &Actor,
    parties: &[String],
    urgent: bool,
    complex: bool,
    whistleblowing: bool,
) -> Result<Event, LadderError> {
    if actor.role != Role::Agency {
        return Err(LadderError::Forbidden(
            "only an agency user may raise a dispute".into(),
        ));
    }
    if parties.len() < 2 {
        return Err(LadderError::Invalid(
            "a dispute needs at least two party agencies".into(),
        ));
    }
    let distinct: BTreeSet<&String> = parties.iter().collect();
    if distinct.len() != parties.len() {
        return Err(LadderError::Invalid("a party is listed twice".into()));
    }
    match &actor.agency {
        Some(a) if parties.contains(a) => {}
        _ => {
            return Err(LadderError::Invalid(
                "the raiser's agency must be one of the parties".into(),
            ))
        }
    }
    Ok(Event::Raised {
        policy: policy.version.to_string(),
        rung: policy.entry_rung(parties.len(), complex),
        parties: parties.to_vec(),
        urgent,
        complex,
        whistleblowing,
    })
}

/// Decide what a command does to an open dispute: the events to record, or a refusal.
pub fn decide(
    policy: &Policy,
    d: &Dispute,
    actor: &Actor,
    cmd: &Command,
) -> Result<Vec<Event>, LadderError> {
    if d.status != Status::Open {
        return Err(LadderError::Conflict(format!(
            "the dispute is {}",
            d.status
        )));
    }
    let rule = policy
        .rule(d.rung)
        .ok_or_else(|| LadderError::Conflict(format!("policy has no rung {}", d.rung)))?;
    let forbid = |what: &str| {
        Err(LadderError::Forbidden(format!(
            "{} may not {what} at the {} rung",
            actor.role.with_article(),
            d.rung
        )))
    };
    match cmd {
        Command::Propose { proposal_id } => {
            if !allowed(&rule.propose, actor, d) {
                return forbid("propose");
            }
            if d.open_proposal().is_some() {
                return Err(LadderError::Conflict(
                    "a proposal is already open; accept or reject it first".into(),
                ));
            }
            let made = Event::ProposalMade {
                proposal_id: proposal_id.clone(),
                rung: d.rung,
            };
            if rule.accept == Acceptors::None {
                let resolved = Event::Resolved {
                    proposal_id: proposal_id.clone(),
                };
                return Ok(vec![made, resolved]);
            }
            Ok(vec![made])
        }
        Command::Accept { proposal_id } | Command::Reject { proposal_id } => {
            let p = d
                .proposals
                .iter()
                .find(|p| &p.id == proposal_id)
                .ok_or_else(|| LadderError::NotFound("no such proposal".into()))?;
            if p.status != ProposalStatus::Open {
                return Err(LadderError::Conflict(format!(
                    "the proposal is {}",
                    p.status
                )));
            }
            let Some(key) = acceptor_key(rule, actor, d) else {
                return forbid(if matches!(cmd, Command::Accept { .. }) {
                    "accept"
                } else {
                    "reject"
                });
            };
            if let Command::Reject { .. } = cmd {
                return Ok(vec![Event::ProposalRejected {
                    proposal_id: proposal_id.clone(),
                }]);
            }
            if p.accepted_by.contains(&key) {
                return Err(LadderError::Conflict(format!("{key} has already accepted")));
            }
            let mut events = vec![Event::ProposalAccepted {
                proposal_id: proposal_id.clone(),
                acceptor: key.clone(),
            }];
            let mut now = p.accepted_by.clone();
            now.insert(key);
            if required_acceptors(rule, d).is_subset(&now) {
                events.push(Event::Resolved {
                    proposal_id: proposal_id.clone(),
                });
            }
            Ok(events)
        }
        Command::Escalate => {
            let Some(to) = policy.next(d.rung) else {
                return Err(LadderError::Conflict(format!(
                    "{} is the top of the ladder",
                    d.rung
                )));
            };
            if !allowed(&rule.escalate, actor, d) {
                return forbid("escalate");
            }
            Ok(vec![Event::Escalated {
                from: d.rung,
                to,
                rule: None,
            }])
        }
        Command::Withdraw => {
            let raiser = actor.role == Role::Agency && actor.agency == d.raised_by.agency;
            if !(raiser || actor.role == Role::PartnershipAdmin) {
                return Err(LadderError::Forbidden(
                    "only the raising agency or partnership_admin may withdraw".into(),
                ));
            }
            Ok(vec![Event::Withdrawn])
        }
    }
}

/// Move an open dispute onto policy `to`, on its rung named `rung` (by
/// default the rung of the same name as now, if `to` has one). Only
/// `partnership_admin` migrates.
pub fn migrate(
    to: &Policy,
    d: &Dispute,
    actor: &Actor,
    rung: Option<&str>,
) -> Result<Event, LadderError> {
    if actor.role != Role::PartnershipAdmin {
        return Err(LadderError::Forbidden(
            "only partnership_admin may migrate a dispute to another policy".into(),
        ));
    }
    if d.status != Status::Open {
        return Err(LadderError::Conflict(format!(
            "the dispute is {}",
            d.status
        )));
    }
    if d.policy == to.version {
        return Err(LadderError::Conflict(format!(
            "the dispute already follows policy {}",
            to.version
        )));
    }
    let name = rung.unwrap_or(d.rung.as_str());
    let Some(rung) = to.rungs.iter().map(|r| r.rung).find(|r| r.as_str() == name) else {
        return Err(LadderError::Invalid(format!(
            "policy {} has no rung '{name}'; name one of: {}",
            to.version,
            to.rung_names().join(", ")
        )));
    };
    Ok(Event::PolicyMigrated {
        from: d.policy.clone(),
        to: to.version.clone(),
        rung,
    })
}

/// Fold one event into a dispute. `Raised` creates it; use [`start`] for that.
pub fn apply(d: &mut Dispute, actor: &Actor, event: &Event) -> Result<(), String> {
    let lapse = |d: &mut Dispute| {
        for p in d.proposals.iter_mut() {
            if p.status == ProposalStatus::Open {
                p.status = ProposalStatus::Lapsed;
            }
        }
    };
    let find = |d: &mut Dispute, id: &str| -> Result<usize, String> {
        d.proposals
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| format!("unknown proposal {id}"))
    };
    match event {
        Event::Raised { .. } => return Err("dispute raised twice".into()),
        Event::ProposalMade { proposal_id, rung } => d.proposals.push(Proposal {
            id: proposal_id.clone(),
            rung: *rung,
            proposed_by: actor.sub.clone(),
            status: ProposalStatus::Open,
            accepted_by: BTreeSet::new(),
        }),
        Event::ProposalAccepted {
            proposal_id,
            acceptor,
        } => {
            let i = find(d, proposal_id)?;
            d.proposals[i].accepted_by.insert(acceptor.clone());
        }
        Event::ProposalRejected { proposal_id } => {
            let i = find(d, proposal_id)?;
            d.proposals[i].status = ProposalStatus::Rejected;
        }
        Event::Escalated { from, to, rule } => {
            if let Some(rule) = rule {
                // Only the sweeper escalates by rule, and only after recording
                // the missed deadline of the rung it leaves.
                if rule != AUTO_ESCALATE_RULE || actor.sub != DEADLINE_SWEEPER {
                    return Err(format!("escalation by unknown rule '{rule}'"));
                }
                if d.status != Status::Open || *from != d.rung || !d.missed.contains_key(from) {
                    return Err(format!(
                        "automatic escalation from {from} without a missed deadline there"
                    ));
                }
            }
            lapse(d);
            d.rung = *to;
        }
        Event::DeadlineMissed { rung, due_at } => {
            if actor.sub != DEADLINE_SWEEPER {
                return Err("a deadline recorded by someone other than the sweeper".into());
            }
            if d.status != Status::Open || *rung != d.rung {
                return Err(format!(
                    "deadline missed on {rung}, but the dispute is {} on {}",
                    d.status, d.rung
                ));
            }
            if d.missed.insert(*rung, due_at.clone()).is_some() {
                return Err(format!("deadline on {rung} recorded as missed twice"));
            }
        }
        Event::Resolved { proposal_id } => {
            let i = find(d, proposal_id)?;
            d.proposals[i].status = ProposalStatus::Accepted;
            d.status = Status::Resolved;
        }
        Event::Withdrawn => {
            lapse(d);
            d.status = Status::Withdrawn;
        }
        Event::PolicyMigrated { from, to, rung } => {
            if actor.role != Role::PartnershipAdmin {
                return Err("a policy migration by someone other than partnership_admin".into());
            }
            if d.status != Status::Open || *from != d.policy {
                return Err(format!(
                    "migration from policy {from}, but the dispute is {} under {}",
                    d.status, d.policy
                ));
            }
            lapse(d);
            d.policy = to.clone();
            d.rung = *rung;
        }
    }
    Ok(())
}

/// The dispute a `Raised` event creates.
pub fn start(id: &str, actor: &Actor, event: &Event) -> Result<Dispute, String> {
    let Event::Raised {
        policy,
        rung,
        parties,
        urgent,
        complex,
        whistleblowing,
    } = event
    else {
        return Err(format!("dispute {id} does not begin with 'raised'"));
    };
    Ok(Dispute {
        id: id.to_string(),
        policy: policy.clone(),
        status: Status::Open,
        rung: *rung,
        parties: parties.clone(),
        raised_by: actor.clone(),
        urgent: *urgent,
        complex: *complex,
        whistleblowing: *whistleblowing,
        proposals: Vec::new(),
        missed: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each rule of a rung name on its own (cargo-mutants found `&&` turned
    /// into `||` survived): length 1 to 64, a lower-case first letter, then
    /// only `a-z`, `0-9`, `_`; the same name interned once.
    #[test]
    fn rung_names_are_checked_rule_by_rule() {
        for good in ["a", "slg", "chief_officers_2", &"a".repeat(64)] {
            let r: Rung = good.parse().unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(r.as_str(), good);
        }
        for bad in [
            "",
            &"a".repeat(65),
            "1slg",
            "_slg",
            "Slg",
            "sLg",
            "slg-2",
            "slg 2",
            "sl\u{e9}g",
        ] {
            assert!(bad.parse::<Rung>().is_err(), "{bad:?} was accepted");
        }
        let (a, b): (Rung, Rung) = ("twice".parse().unwrap(), "twice".parse().unwrap());
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "interned once");
    }

    fn agency(a: &str) -> Actor {
        Actor {
            sub: format!("u-{a}"),
            role: Role::Agency,
            agency: Some(a.into()),
            partner: None,
        }
    }
    fn role(r: Role, p: Option<Partner>) -> Actor {
        Actor {
            sub: format!("{r}-{p:?}"),
            role: r,
            agency: None,
            partner: p,
        }
    }

    #[test]
    fn roles_take_the_right_article() {
        assert_eq!(Role::Agency.with_article(), "an agency");
        assert_eq!(Role::Auditor.with_article(), "an auditor");
        assert_eq!(Role::Slg.with_article(), "an slg");
        assert_eq!(Role::Scrutineer.with_article(), "a scrutineer");
    }

    fn raised(parties: &[&str], complex: bool) -> Dispute {
        let policy = Policy::krscp();
        let parties: Vec<String> = parties.iter().map(|s| s.to_string()).collect();
        let who = agency(&parties[0]);
        let ev = raise(&policy, &who, &parties, false, complex, false).unwrap();
        start("d1", &who, &ev).unwrap()
    }

    fn act(d: &mut Dispute, who: &Actor, cmd: Command) -> Result<(), LadderError> {
        for e in decide(&Policy::krscp(), d, who, &cmd)? {
            apply(d, who, &e).unwrap();
        }
        Ok(())
    }

    #[test]
    fn entry_rung_follows_party_count_and_complexity() {
        assert_eq!(
            raised(&["a", "b"], false).rung,
            Rung::from_static("agencies")
        );
        assert_eq!(raised(&["a", "b"], true).rung, Rung::from_static("slg"));
        assert_eq!(
            raised(&["a", "b", "c"], false).rung,
            Rung::from_static("slg")
        );
    }

    #[test]
    fn two_agencies_resolve_between_themselves() {
        let mut d = raised(&["a", "b"], false);
        let pid = Command::Propose {
            proposal_id: "p1".into(),
        };
        act(&mut d, &agency("a"), pid).unwrap();
        let accept = || Command::Accept {
            proposal_id: "p1".into(),
        };
        act(&mut d, &agency("a"), accept()).unwrap();
        assert_eq!(d.status, Status::Open);
        assert!(matches!(
            act(&mut d, &agency("a"), accept()),
            Err(LadderError::Conflict(_))
        ));
        act(&mut d, &agency("b"), accept()).unwrap();
        assert_eq!(d.status, Status::Resolved);
        assert!(matches!(
            act(&mut d, &agency("a"), Command::Escalate),
            Err(LadderError::Conflict(_))
        ));
    }

    /// Only a party's own users act as that party (cargo-mutants: `party_of`
    /// answering for any agency, or for the agencies that are not parties,
    /// survived): an agency that is not a party may neither propose, accept
    /// nor escalate, a party's proposal is accepted under the party's own
    /// name, and an agency user without an agency speaks for nobody.
    #[test]
    fn only_a_party_acts_as_a_party() {
        let mut d = raised(&["a", "b"], false);
        let propose = |id: &str| Command::Propose {
            proposal_id: id.into(),
        };
        for cmd in [propose("x"), Command::Escalate] {
            assert!(
                matches!(
                    act(&mut d, &agency("c"), cmd.clone()),
                    Err(LadderError::Forbidden(_))
                ),
                "a non-party agency: {cmd:?}"
            );
        }
        let nobody = Actor {
            agency: None,
            ..agency("a")
        };
        assert!(matches!(
            act(&mut d, &nobody, propose("y")),
            Err(LadderError::Forbidden(_))
        ));
        act(&mut d, &agency("a"), propose("p1")).unwrap();
        let accept = || Command::Accept {
            proposal_id: "p1".into(),
        };
        assert!(matches!(
            act(&mut d, &agency("c"), accept()),
            Err(LadderError::Forbidden(_))
        ));
        act(&mut d, &agency("b"), accept()).unwrap();
        assert_eq!(d.status, Status::Open, "a has not accepted yet");
        act(&mut d, &agency("a"), accept()).unwrap();
        assert_eq!(d.status, Status::Resolved);
    }

    /// Chief officers see a dispute from the policy's `chief_officers_from`
    /// rung upwards, never below it, and nothing on a rung the policy lacks
    /// or when it names none (cargo-mutants: every mutant of
    /// `chief_officers_see` survived the core's tests).
    #[test]
    fn chief_officers_see_from_their_rung_up() {
        let p = Policy::krscp();
        let sees = |r: &'static str| p.chief_officers_see(Rung::from_static(r));
        for below in ["agencies", "slg", "statutory_partners", "scrutineer"] {
            assert!(!sees(below), "{below}");
        }
        for above in ["chief_executives", "secretary_of_state"] {
            assert!(sees(above), "{above}");
        }
        assert!(!sees("no_such_rung"));
        assert_eq!(
            p.chief_officer_rungs(),
            [
                Rung::from_static("chief_executives"),
                Rung::from_static("secretary_of_state")
            ]
        );
        let none = Policy {
            chief_officers_from: None,
            ..Policy::krscp()
        };
        assert!(!none.chief_officers_see(Rung::from_static("secretary_of_state")));
    }

    /// An event's name is the `event` field it is stored under (cargo-mutants:
    /// `Event::name` answering "" or "xyzzy" survived).
    #[test]
    fn an_event_is_named_as_stored() {
        let policy = Policy::krscp();
        let parties = vec!["a".to_string(), "b".to_string()];
        let ev = raise(&policy, &agency("a"), &parties, false, false, false).unwrap();
        assert_eq!(ev.name(), "raised");
        let stored = serde_json::to_value(&ev).unwrap();
        assert_eq!(stored["event"], ev.name());
    }

    #[test]
    fn statutory_partners_decide_without_the_parties() {
        let mut d = raised(&["a", "b", "c"], false);
        act(&mut d, &role(Role::Slg, None), Command::Escalate).unwrap();
        assert_eq!(d.rung, Rung::from_static("statutory_partners"));
        let sp = |p| role(Role::StatutoryPartner, Some(p));
        act(
            &mut d,
            &sp(Partner::La),
            Command::Propose {
                proposal_id: "p".into(),
            },
        )
        .unwrap();
        let acc = || Command::Accept {
            proposal_id: "p".into(),
        };
        match act(&mut d, &agency("a"), acc()) {
            Err(LadderError::Forbidden(m)) => assert!(
                m.starts_with("an agency may not accept at the statutory_partners rung"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        for p in ALL_PARTNERS {
            act(&mut d, &sp(p), acc()).unwrap();
        }
        assert_eq!(d.status, Status::Resolved);
    }

    /// Only the rung's partner role accepts for a partner: a token of another
    /// role that names a partner (an SLG member "for" the police) does not.
    #[test]
    fn a_partner_of_another_role_does_not_accept_for_the_partners() {
        let mut d = raised(&["a", "b", "c"], false);
        act(&mut d, &role(Role::Slg, None), Command::Escalate).unwrap();
        let sp = |p| role(Role::StatutoryPartner, Some(p));
        let propose = Command::Propose {
            proposal_id: "p".into(),
        };
        act(&mut d, &sp(Partner::La), propose).unwrap();
        let acc = || Command::Accept {
            proposal_id: "p".into(),
        };
        match act(&mut d, &role(Role::Slg, Some(Partner::Police)), acc()) {
            Err(LadderError::Forbidden(m)) => assert!(
                m.starts_with("an slg may not accept at the statutory_partners rung"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        let open = d.open_proposal().expect("still open");
        assert!(!open.accepted_by.contains("statutory_partner:police"));
    }

    /// Only the raising agency, or partnership_admin, withdraws.
    #[test]
    fn only_the_raiser_or_the_admin_withdraws() {
        let d = raised(&["a", "b"], false);
        let p = Policy::krscp();
        let mut other_agency = agency("b");
        other_agency.sub = "u-a".into();
        let mut slg_of_a = role(Role::Slg, None);
        slg_of_a.agency = Some("a".into());
        for who in [other_agency, slg_of_a, role(Role::Scrutineer, None)] {
            match decide(&p, &d, &who, &Command::Withdraw) {
                Err(LadderError::Forbidden(m)) => assert_eq!(
                    m, "only the raising agency or partnership_admin may withdraw",
                    "{who:?}"
                ),
                other => panic!("{who:?}: {other:?}"),
            }
        }
        for who in [agency("a"), role(Role::PartnershipAdmin, None)] {
            assert_eq!(
                decide(&p, &d, &who, &Command::Withdraw),
                Ok(vec![Event::Withdrawn]),
                "{who:?}"
            );
        }
    }

    /// A migration: by partnership_admin only, of an open dispute, to another
    /// version, onto the rung of the same name or the one named.
    #[test]
    fn migrate_checks_who_what_and_where() {
        let mut d = raised(&["a", "b"], false);
        let mut next = Policy::krscp();
        next.version = "krscp-next".into();
        let admin = role(Role::PartnershipAdmin, None);
        assert!(matches!(
            migrate(&next, &d, &role(Role::Slg, None), None),
            Err(LadderError::Forbidden(_))
        ));
        assert!(matches!(
            migrate(&Policy::krscp(), &d, &admin, None),
            Err(LadderError::Conflict(m)) if m.starts_with("the dispute already follows policy")
        ));
        assert!(matches!(
            migrate(&next, &d, &admin, Some("nowhere")),
            Err(LadderError::Invalid(m)) if m.starts_with("policy krscp-next has no rung 'nowhere'")
        ));
        let event = |rung: &'static str| Event::PolicyMigrated {
            from: Policy::krscp().version,
            to: "krscp-next".into(),
            rung: Rung::from_static(rung),
        };
        assert_eq!(migrate(&next, &d, &admin, None), Ok(event("agencies")));
        assert_eq!(migrate(&next, &d, &admin, Some("slg")), Ok(event("slg")));
        d.status = Status::Withdrawn;
        assert!(matches!(
            migrate(&next, &d, &admin, None),
            Err(LadderError::Conflict(m)) if m == "the dispute is withdrawn"
        ));
    }

    /// Moving up a rung lapses the proposal still open, and only that one.
    #[test]
    fn escalating_lapses_only_the_open_proposal() {
        let mut d = raised(&["a", "b"], false);
        let propose = |id: &str| Command::Propose {
            proposal_id: id.into(),
        };
        act(&mut d, &agency("a"), propose("p1")).unwrap();
        let reject = Command::Reject {
            proposal_id: "p1".into(),
        };
        act(&mut d, &agency("b"), reject).unwrap();
        act(&mut d, &agency("a"), propose("p2")).unwrap();
        act(&mut d, &agency("a"), Command::Escalate).unwrap();
        let status: Vec<_> = d.proposals.iter().map(|p| p.status).collect();
        assert_eq!(status, [ProposalStatus::Rejected, ProposalStatus::Lapsed]);
    }

    /// The sweeper escalates by rule only from the open dispute's own rung,
    /// and only once its deadline there was recorded as missed.
    #[test]
    fn an_automatic_escalation_needs_the_missed_deadline_of_its_rung() {
        let sweeper = Actor {
            sub: DEADLINE_SWEEPER.into(),
            role: Role::PartnershipAdmin,
            agency: None,
            partner: None,
        };
        let up = |from: &'static str| Event::Escalated {
            from: Rung::from_static(from),
            to: Rung::from_static("slg"),
            rule: Some(AUTO_ESCALATE_RULE.into()),
        };
        let missed = Event::DeadlineMissed {
            rung: Rung::from_static("agencies"),
            due_at: "2026-06-17T16:00:00Z".into(),
        };
        let d = raised(&["a", "b"], false);
        let refused = |d: &Dispute, e: &Event| {
            let err = apply(&mut d.clone(), &sweeper, e).expect_err("refused");
            assert!(err.starts_with("automatic escalation from"), "{err}");
        };
        refused(&d, &up("agencies"));
        let mut late = d.clone();
        apply(&mut late, &sweeper, &missed).unwrap();
        refused(&late, &up("slg"));
        let mut closed = late.clone();
        closed.status = Status::Withdrawn;
        refused(&closed, &up("agencies"));
        // With the deadline missed, still only the sweeper, and only by its rule.
        let by_rule = |who: &Actor, rule: &str| {
            let e = Event::Escalated {
                from: Rung::from_static("agencies"),
                to: Rung::from_static("slg"),
                rule: Some(rule.into()),
            };
            apply(&mut late.clone(), who, &e)
        };
        let unknown = Err("escalation by unknown rule 'by_feel'".to_string());
        assert_eq!(by_rule(&sweeper, "by_feel"), unknown);
        let mut impostor = sweeper.clone();
        impostor.sub = "admin-1".into();
        assert_eq!(
            by_rule(&impostor, AUTO_ESCALATE_RULE),
            Err(format!("escalation by unknown rule '{AUTO_ESCALATE_RULE}'"))
        );
        apply(&mut late, &sweeper, &up("agencies")).unwrap();
        assert_eq!(late.rung, Rung::from_static("slg"));
    }

    /// The replay holds a missed deadline to the sweeper, the open dispute's
    /// own rung and once; a migration to partnership_admin, an open dispute
    /// and the policy it follows.
    #[test]
    fn replay_refuses_deadlines_and_migrations_that_could_not_happen() {
        let sweeper = Actor {
            sub: DEADLINE_SWEEPER.into(),
            role: Role::PartnershipAdmin,
            agency: None,
            partner: None,
        };
        let missed = |rung: &'static str| Event::DeadlineMissed {
            rung: Rung::from_static(rung),
            due_at: "2026-06-17T16:00:00Z".into(),
        };
        let d = raised(&["a", "b"], false);
        let mut closed = d.clone();
        closed.status = Status::Withdrawn;
        let on = |d: &Dispute, who: &Actor, e: &Event| apply(&mut d.clone(), who, e);
        assert_eq!(
            on(&d, &role(Role::PartnershipAdmin, None), &missed("agencies")),
            Err("a deadline recorded by someone other than the sweeper".into())
        );
        assert_eq!(
            on(&d, &sweeper, &missed("slg")),
            Err("deadline missed on slg, but the dispute is open on agencies".into())
        );
        assert_eq!(
            on(&closed, &sweeper, &missed("agencies")),
            Err("deadline missed on agencies, but the dispute is withdrawn on agencies".into())
        );
        let mut late = d.clone();
        apply(&mut late, &sweeper, &missed("agencies")).unwrap();
        assert_eq!(
            late.missed
                .get(&Rung::from_static("agencies"))
                .map(String::as_str),
            Some("2026-06-17T16:00:00Z")
        );
        assert_eq!(
            on(&late, &sweeper, &missed("agencies")),
            Err("deadline on agencies recorded as missed twice".into())
        );

        let admin = role(Role::PartnershipAdmin, None);
        let to = |from: &str| Event::PolicyMigrated {
            from: from.into(),
            to: "krscp-next".into(),
            rung: Rung::from_static("slg"),
        };
        let krscp = Policy::krscp().version;
        assert_eq!(
            on(&d, &role(Role::Slg, None), &to(&krscp)),
            Err("a policy migration by someone other than partnership_admin".into())
        );
        assert!(on(&d, &admin, &to("elsewhere"))
            .is_err_and(|m| m.starts_with("migration from policy elsewhere, but")));
        assert!(on(&closed, &admin, &to(&krscp))
            .is_err_and(|m| m.contains("but the dispute is withdrawn under")));
        let mut moved = d.clone();
        act(
            &mut moved,
            &agency("a"),
            Command::Propose {
                proposal_id: "p".into(),
            },
        )
        .unwrap();
        apply(&mut moved, &admin, &to(&krscp)).unwrap();
        assert_eq!(
            (moved.policy.as_str(), moved.rung),
            ("krscp-next", Rung::from_static("slg"))
        );
        assert_eq!(moved.proposals[0].status, ProposalStatus::Lapsed);
    }

    #[test]
    fn secretary_of_state_decision_resolves_at_once_and_nobody_escalates_past_it() {
        let mut d = raised(&["a", "b"], true);
        let steps = [
            role(Role::Slg, None),
            role(Role::StatutoryPartner, Some(Partner::Icb)),
            role(Role::Scrutineer, None),
            role(Role::ChiefOfficer, Some(Partner::Police)),
        ];
        for who in &steps {
            act(&mut d, who, Command::Escalate).unwrap();
        }
        assert_eq!(d.rung, Rung::from_static("secretary_of_state"));
        let admin = role(Role::PartnershipAdmin, None);
        assert!(matches!(
            act(&mut d, &admin, Command::Escalate),
            Err(LadderError::Conflict(_))
        ));
        act(
            &mut d,
            &admin,
            Command::Propose {
                proposal_id: "sos".into(),
            },
        )
        .unwrap();
        assert_eq!(d.status, Status::Resolved);
    }

    #[test]
    fn due_to_act_follows_the_rung_and_the_open_proposal() {
        let p = Policy::krscp();
        let mut d = raised(&["a", "b"], false);
        assert_eq!(due_to_act(&p, &d), vec![Who::PartyAgency]);
        act(&mut d, &agency("a"), Command::Escalate).unwrap();
        assert_eq!(d.rung, Rung::from_static("slg"));
        assert_eq!(
            due_to_act(&p, &d),
            vec![Who::Role(Role::Slg), Who::PartyAgency]
        );
        let propose = Command::Propose {
            proposal_id: "p".into(),
        };
        act(&mut d, &role(Role::Slg, None), propose).unwrap();
        assert_eq!(
            due_to_act(&p, &d),
            vec![Who::PartyAgency, Who::Role(Role::Slg)]
        );
        act(&mut d, &role(Role::Slg, None), Command::Escalate).unwrap();
        assert_eq!(due_to_act(&p, &d), vec![Who::Role(Role::StatutoryPartner)]);
        act(&mut d, &agency("a"), Command::Withdraw).unwrap();
        assert!(due_to_act(&p, &d).is_empty());
    }

    #[test]
    fn raise_refuses_bad_party_lists() {
        let p = Policy::krscp();
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = agency("a");
        assert!(raise(&p, &a, &v(&["a"]), false, false, false).is_err());
        assert!(raise(&p, &a, &v(&["a", "a"]), false, false, false).is_err());
        assert!(raise(&p, &a, &v(&["b", "c"]), false, false, false).is_err());
        assert!(raise(
            &p,
            &role(Role::Slg, None),
            &v(&["a", "b"]),
            false,
            false,
            false
        )
        .is_err());
    }

    fn any_actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            prop_oneof![Just("a"), Just("b"), Just("c"), Just("x")].prop_map(agency),
            Just(role(Role::Slg, None)),
            prop_oneof![Just(Partner::La), Just(Partner::Icb), Just(Partner::Police)]
                .prop_flat_map(|p| prop_oneof![
                    Just(role(Role::StatutoryPartner, Some(p))),
                    Just(role(Role::ChiefOfficer, Some(p)))
                ]),
            Just(role(Role::Scrutineer, None)),
            Just(role(Role::PartnershipAdmin, None)),
            Just(role(Role::Auditor, None)),
        ]
    }

    fn any_command() -> impl Strategy<Value = u8> {
        0u8..6
    }

    proptest! {
        /// Whatever is tried, the ladder is climbed one rung at a time, and a
        /// closed dispute takes no further event.
        #[test]
        fn random_actions_never_skip_a_rung_or_touch_a_closed_dispute(
            three in any::<bool>(),
            steps in proptest::collection::vec((any_actor(), any_command()), 0..80),
        ) {
            let policy = Policy::krscp();
            let mut d = if three { raised(&["a", "b", "c"], false) } else { raised(&["a", "b"], false) };
            let mut n = 0;
            for (who, c) in steps {
                n += 1;
                let last = d.proposals.last().map(|p| p.id.clone()).unwrap_or_default();
                let cmd = match c {
                    0 => Command::Propose { proposal_id: format!("p{n}") },
                    1 | 2 => Command::Accept { proposal_id: last },
                    3 => Command::Reject { proposal_id: last },
                    4 => Command::Escalate,
                    _ => Command::Withdraw,
                };
                let before = d.clone();
                // `decide` takes `&d`: a refusal cannot change it, so only an
                // accepted command has anything to check (an accepted command
                // on a closed dispute fails the first assertion).
                if let Ok(events) = decide(&policy, &d, &who, &cmd) {
                    prop_assert_eq!(before.status, Status::Open);
                    for e in &events {
                        apply(&mut d, &who, e).unwrap();
                    }
                    if d.rung != before.rung {
                        prop_assert_eq!(Some(d.rung), policy.next(before.rung));
                    }
                    prop_assert!(d.proposals.iter().filter(|p| p.status == ProposalStatus::Open).count() <= 1);
                }
            }
        }
    }
}
