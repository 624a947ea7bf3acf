//! How `verify` replays the scrutineer's entries: it rebuilds the mediations,
//! reviews and recommendations from the ledger and compares them with the tables.

use crate::core::event::ScrutinyEvent as Event;
use crate::core::ladder::{Dispute, Policy, Role};
use crate::core::ledger::Entry;
use crate::core::registry::Agency;
use crate::core::scrutiny::{self as rules, read_facts, MediationStatus};
use crate::core::scrutiny::{attendees_json, check_agencies, mediation_kind, outcome_proposal};
use crate::core::scrutiny::{
    MediationClosed, MediationOpened, RecommendationIssued, ResponseRecorded, ReviewRequested,
    ReviewStep, SessionRecorded,
};
use crate::service::error::ServiceError;
use crate::service::scrutiny::{
    issued_row, opened_row, parse_date, requested_row, review_step, OPEN,
};
use crate::store::db::DbConn;
use crate::store::ledger::StoredEntry;
use crate::store::scrutiny::{
    self as rows, MediationAgencyRow, MediationRow, RecommendationRow, ReviewRow, SessionRow,
};
use std::collections::BTreeMap;

/// The scrutiny tables as the ledger says they should be, fed every scrutiny
/// entry in order with the disputes and registry replayed so far.
#[derive(Default)]
pub struct Replay {
    mediations: BTreeMap<String, MediationRow>,
    agencies: Vec<MediationAgencyRow>,
    sessions: Vec<SessionRow>,
    /// Sessions per mediation, for the close rule.
    session_count: BTreeMap<String, usize>,
    reviews: BTreeMap<String, ReviewRow>,
    recommendations: BTreeMap<String, RecommendationRow>,
}

fn role_is(e: &Entry, role: Role) -> Result<(), String> {
    if e.actor.role == role {
        Ok(())
    } else {
        Err(format!(
            "'{}' recorded by {}, not {}",
            e.event,
            e.actor.role.with_article(),
            role.with_article()
        ))
    }
}

fn known(registry: &[Agency], ids: &[String]) -> Result<(), String> {
    match ids.iter().find(|i| !registry.iter().any(|a| &a.id == *i)) {
        Some(i) => Err(format!("names agency '{i}', which is not registered")),
        None => Ok(()),
    }
}

fn same_dispute(e: &Entry, expected: &Option<String>) -> Result<(), String> {
    if &e.dispute_id == expected {
        Ok(())
    } else {
        Err(format!(
            "'{}' does not carry the dispute_id of what it acts on",
            e.event
        ))
    }
}

impl Replay {
    /// Replay one scrutiny entry against the disputes and registry replayed
    /// so far, and the policies they follow.
    pub fn apply(
        &mut self,
        s: &StoredEntry,
        disputes: &BTreeMap<String, Dispute>,
        registry: &[Agency],
        policies: &crate::service::policy_store::Replay,
    ) -> Result<(), String> {
        let e = &s.entry;
        let policy = |d: &Dispute| -> Result<&Policy, String> {
            policies
                .policy(&d.policy)
                .ok_or_else(|| format!("dispute {} follows unknown policy {}", d.id, d.policy))
        };
        let dispute_of = |id: &Option<String>| -> Result<Option<&Dispute>, String> {
            match id {
                None => Ok(None),
                Some(d) => disputes
                    .get(d)
                    .map(Some)
                    .ok_or_else(|| format!("'{}' names dispute {d} before it was raised", e.event)),
            }
        };
        let Some(event) = Event::parse(&e.event) else {
            return Err(format!("'{}' is not a scrutiny event", e.event));
        };
        match event {
            Event::MediationOpened => {
                role_is(e, Role::Scrutineer)?;
                let f: MediationOpened = read_facts(e)?;
                check_agencies(&f.agencies).map_err(|x| x.to_string())?;
                known(registry, &f.agencies)?;
                let ladder = match dispute_of(&e.dispute_id)? {
                    None => false,
                    Some(d) => mediation_kind(policy(d)?, d).map_err(|x| x.to_string())?,
                };
                if ladder != f.ladder {
                    return Err(format!(
                        "mediation {} says ladder={}, its dispute makes it {ladder}",
                        f.mediation_id, f.ladder
                    ));
                }
                if ladder
                    && self
                        .mediations
                        .values()
                        .any(|m| m.ladder && m.status == OPEN && m.dispute_id == e.dispute_id)
                {
                    return Err("a second open mediation on a dispute's scrutineer rung".into());
                }
                if self.mediations.contains_key(&f.mediation_id) {
                    return Err(format!("mediation {} opened twice", f.mediation_id));
                }
                let (row, agencies) = opened_row(e, &f);
                self.mediations.insert(row.id.clone(), row);
                self.agencies.extend(agencies);
                Ok(())
            }
            Event::MediationSessionRecorded => {
                role_is(e, Role::Scrutineer)?;
                let f: SessionRecorded = read_facts(e)?;
                parse_date("date", &f.date).map_err(|x| x.to_string())?;
                if f.attendees.is_empty() {
                    return Err("a mediation session with no attendees".into());
                }
                let ids: Vec<String> = f
                    .attendees
                    .iter()
                    .filter_map(|a| a.agency.clone())
                    .collect();
                known(registry, &ids)?;
                let m = self
                    .mediations
                    .get(&f.mediation_id)
                    .ok_or_else(|| format!("a session of unknown mediation {}", f.mediation_id))?;
                same_dispute(e, &m.dispute_id)?;
                if m.status != OPEN {
                    return Err(format!("a session of closed mediation {}", m.id));
                }
                *self.session_count.entry(m.id.clone()).or_default() += 1;
                self.sessions.push(SessionRow {
                    seq: e.seq,
                    mediation_id: f.mediation_id,
                    held_on: f.date,
                    attendees: attendees_json(&f.attendees)?,
                });
                Ok(())
            }
            Event::MediationClosed => {
                role_is(e, Role::Scrutineer)?;
                let f: MediationClosed = read_facts(e)?;
                let m = self
                    .mediations
                    .get(&f.mediation_id)
                    .ok_or_else(|| format!("closing unknown mediation {}", f.mediation_id))?;
                same_dispute(e, &m.dispute_id)?;
                if m.status != OPEN {
                    return Err(format!("mediation {} closed twice", m.id));
                }
                if self.session_count.get(&m.id).copied().unwrap_or(0) == 0 {
                    return Err(format!("mediation {} closed with no session", m.id));
                }
                let expected = match (m.ladder, dispute_of(&m.dispute_id)?) {
                    (true, Some(d)) => Some(
                        outcome_proposal(policy(d)?, d)
                            .map(str::to_string)
                            .ok_or_else(|| {
                                format!(
                                    "ladder mediation {} closed with no scrutineer-rung proposal",
                                    m.id
                                )
                            })?,
                    ),
                    _ => None,
                };
                if expected != f.proposal_id {
                    return Err(format!(
                        "mediation {} closed naming the wrong outcome proposal",
                        m.id
                    ));
                }
                let m = self
                    .mediations
                    .get_mut(&f.mediation_id)
                    .ok_or("mediation vanished")?;
                m.status = MediationStatus::Closed.as_str().into();
                m.closed_seq = Some(e.seq);
                m.outcome_proposal_id = f.proposal_id;
                Ok(())
            }
            Event::ReviewRequested => {
                let f: ReviewRequested = read_facts(e)?;
                let d = dispute_of(&e.dispute_id)?
                    .ok_or("a review_requested entry without a dispute_id")?;
                rules::requester_could(&e.actor, d, f.on_behalf_of_child_or_family)
                    .map_err(|x| format!("review requested by someone who may not: {x}"))?;
                if self.reviews.contains_key(&f.review_id) {
                    return Err(format!("review {} requested twice", f.review_id));
                }
                let row = requested_row(e, &f)?;
                self.reviews.insert(row.id.clone(), row);
                Ok(())
            }
            Event::ReviewAccepted | Event::ReviewDeclined | Event::ReviewFindingsRecorded => {
                role_is(e, Role::Scrutineer)?;
                let f: ReviewStep = read_facts(e)?;
                let r = self
                    .reviews
                    .get_mut(&f.review_id)
                    .ok_or_else(|| format!("'{}' on unknown review {}", e.event, f.review_id))?;
                same_dispute(e, &Some(r.dispute_id.clone()))?;
                review_step(r, event, e.seq).map_err(|x| x.to_string())
            }
            Event::RecommendationIssued => {
                role_is(e, Role::Scrutineer)?;
                let f: RecommendationIssued = read_facts(e)?;
                parse_date("response_due", &f.response_due).map_err(|x| x.to_string())?;
                dispute_of(&e.dispute_id)?;
                if self.recommendations.contains_key(&f.recommendation_id) {
                    return Err(format!(
                        "recommendation {} issued twice",
                        f.recommendation_id
                    ));
                }
                let row = issued_row(e, &f);
                self.recommendations.insert(row.id.clone(), row);
                Ok(())
            }
            Event::RecommendationResponseRecorded => {
                role_is(e, Role::Slg)?;
                let f: ResponseRecorded = read_facts(e)?;
                let r = self
                    .recommendations
                    .get_mut(&f.recommendation_id)
                    .ok_or_else(|| {
                        format!(
                            "a response to unknown recommendation {}",
                            f.recommendation_id
                        )
                    })?;
                same_dispute(e, &r.dispute_id)?;
                if r.response_seq.is_some() {
                    return Err(format!("recommendation {} answered twice", r.id));
                }
                r.response_seq = Some(e.seq);
                r.accepted = Some(f.accepted);
                Ok(())
            }
        }
    }

    /// Where the scrutiny tables differ from the replay, if they do.
    pub fn table_mismatch(&self, conn: &mut DbConn) -> Result<Option<String>, ServiceError> {
        let (mut m, mut a, mut s) = rows::load_mediations(conn, rows::Pick::All)?;
        m.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = first_diff(
            &m,
            &self.mediations.values().cloned().collect::<Vec<_>>(),
            |r| r.id.clone(),
        ) {
            return Ok(Some(format!(
                "the mediations table differs from the ledger at mediation {p}"
            )));
        }
        a.sort();
        let mut ea = self.agencies.clone();
        ea.sort();
        if let Some(p) = first_diff(&a, &ea, |r| r.mediation_id.clone()) {
            return Ok(Some(format!(
                "the mediation_agencies table differs from the ledger at mediation {p}"
            )));
        }
        s.sort_by_key(|r| r.seq);
        if let Some(p) = first_diff(&s, &self.sessions, |r| r.seq.to_string()) {
            return Ok(Some(format!(
                "the mediation_sessions table differs from the ledger at entry {p}"
            )));
        }
        let mut r = rows::load_reviews(conn, rows::Pick::All)?;
        r.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = first_diff(
            &r,
            &self.reviews.values().cloned().collect::<Vec<_>>(),
            |r| r.id.clone(),
        ) {
            return Ok(Some(format!(
                "the reviews table differs from the ledger at review {p}"
            )));
        }
        let mut c = rows::load_recommendations(conn, rows::Pick::All, None)?;
        c.sort_by(|a, b| a.id.cmp(&b.id));
        let ec: Vec<RecommendationRow> = self.recommendations.values().cloned().collect();
        if let Some(p) = first_diff(&c, &ec, |r| r.id.clone()) {
            return Ok(Some(format!(
                "the recommendations table differs from the ledger at recommendation {p}"
            )));
        }
        Ok(None)
    }
}

/// The key of the first row where two lists differ, if they do.
fn first_diff<T: PartialEq>(
    stored: &[T],
    expected: &[T],
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if stored == expected {
        return None;
    }
    stored
        .iter()
        .zip(expected.iter())
        .find(|(a, b)| a != b)
        .map(|(a, _)| key(a))
        .or_else(|| {
            let n = stored.len().min(expected.len());
            stored.get(n).or(expected.get(n)).map(&key)
        })
        .or(Some(String::new()))
}
