//! The scrutiny projection tables (`mediations`, `mediation_agencies`,
//! `mediation_sessions`, `reviews`, `recommendations`): their rows and queries.
//! Free text is never here: it lives in the entries' payloads.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::core::scrutiny::MediationStatus;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{
    mediation_agencies, mediation_sessions, mediations, recommendations, reviews,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = mediations)]
pub struct MediationRow {
    pub id: String,
    pub dispute_id: Option<String>,
    pub ladder: bool,
    pub status: String,
    pub opened_seq: i64,
    pub opened_at: NaiveDateTime,
    pub closed_seq: Option<i64>,
    pub outcome_proposal_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable, Insertable)]
#[diesel(table_name = mediation_agencies)]
pub struct MediationAgencyRow {
    pub mediation_id: String,
    pub position: i32,
    pub agency_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = mediation_sessions)]
pub struct SessionRow {
    pub seq: i64,
    pub mediation_id: String,
    pub held_on: String,
    pub attendees: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub id: String,
    pub dispute_id: String,
    pub status: String,
    pub on_behalf: bool,
    pub requested_by_role: String,
    pub requested_by_agency: Option<String>,
    pub requested_seq: i64,
    pub requested_at: NaiveDateTime,
    pub decided_seq: Option<i64>,
    pub findings_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = recommendations)]
pub struct RecommendationRow {
    pub id: String,
    pub dispute_id: Option<String>,
    pub response_due: String,
    pub issued_seq: i64,
    pub issued_at: NaiveDateTime,
    pub response_seq: Option<i64>,
    pub accepted: Option<bool>,
}

// ---- mediations ----

pub fn find_mediation(conn: &mut DbConn, id: &str) -> StoreResult<Option<MediationRow>> {
    Ok(mediations::table
        .find(id)
        .first::<MediationRow>(conn)
        .optional()?)
}

/// How many open ladder mediations dispute `dispute_id` has.
pub fn open_ladder_mediations(conn: &mut DbConn, dispute_id: &str) -> StoreResult<i64> {
    Ok(mediations::table
        .filter(mediations::dispute_id.eq(dispute_id))
        .filter(mediations::ladder.eq(true))
        .filter(mediations::status.eq(MediationStatus::Open.as_str()))
        .count()
        .get_result(conn)?)
}

/// A new mediation and its agencies.
pub fn insert_mediation(
    conn: &mut DbConn,
    row: &MediationRow,
    agencies: &[MediationAgencyRow],
) -> StoreResult<()> {
    diesel::insert_into(mediations::table)
        .values(row)
        .execute(conn)?;
    // One row at a time: the MultiConnection has no portable batch insert.
    for a in agencies {
        diesel::insert_into(mediation_agencies::table)
            .values(a)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_session(conn: &mut DbConn, row: &SessionRow) -> StoreResult<()> {
    diesel::insert_into(mediation_sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many sessions mediation `id` has had.
pub fn session_count(conn: &mut DbConn, id: &str) -> StoreResult<i64> {
    Ok(mediation_sessions::table
        .filter(mediation_sessions::mediation_id.eq(id))
        .count()
        .get_result(conn)?)
}

/// Mark mediation `id` closed by entry `closed_seq`.
pub fn close_mediation(
    conn: &mut DbConn,
    id: &str,
    closed_seq: i64,
    outcome_proposal_id: Option<String>,
) -> StoreResult<()> {
    diesel::update(mediations::table.find(id))
        .set((
            mediations::status.eq(MediationStatus::Closed.as_str()),
            mediations::closed_seq.eq(Some(closed_seq)),
            mediations::outcome_proposal_id.eq(outcome_proposal_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which rows of a table keyed by a `seq` to load: every one (for `verify`),
/// one by id, or a keyset page (after a `seq`, at most `limit`, oldest first).
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    All,
    One(&'a str),
    Page { after: Option<i64>, limit: i64 },
}

/// One mediation or a page of them (by `opened_seq`) with their agencies
/// (sorted) and sessions (by seq).
pub fn load_mediations(
    conn: &mut DbConn,
    pick: Pick<'_>,
) -> StoreResult<(Vec<MediationRow>, Vec<MediationAgencyRow>, Vec<SessionRow>)> {
    let mut mq = mediations::table
        .order(mediations::opened_seq.asc())
        .into_boxed();
    let mut aq = mediation_agencies::table.into_boxed();
    let mut sq = mediation_sessions::table
        .order(mediation_sessions::seq.asc())
        .into_boxed();
    let rows: Vec<MediationRow> = match pick {
        // No id list: clear of bind-parameter limits however many there are.
        Pick::All => mq.load(conn)?,
        Pick::One(id) => {
            aq = aq.filter(mediation_agencies::mediation_id.eq(id.to_string()));
            sq = sq.filter(mediation_sessions::mediation_id.eq(id.to_string()));
            mq.filter(mediations::id.eq(id.to_string())).load(conn)?
        }
        Pick::Page { after, limit } => {
            if let Some(after) = after {
                mq = mq.filter(mediations::opened_seq.gt(after));
            }
            let rows: Vec<MediationRow> = mq.limit(limit).load(conn)?;
            // At most a page of ids (201).
            let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
            aq = aq.filter(mediation_agencies::mediation_id.eq_any(ids.clone()));
            sq = sq.filter(mediation_sessions::mediation_id.eq_any(ids));
            rows
        }
    };
    let mut agencies: Vec<MediationAgencyRow> = aq.load(conn)?;
    agencies.sort();
    let sessions: Vec<SessionRow> = sq.load(conn)?;
    Ok((rows, agencies, sessions))
}

// ---- reviews ----

pub fn insert_review(conn: &mut DbConn, row: &ReviewRow) -> StoreResult<()> {
    diesel::insert_into(reviews::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_review(conn: &mut DbConn, id: &str) -> StoreResult<Option<ReviewRow>> {
    Ok(reviews::table
        .find(id)
        .first::<ReviewRow>(conn)
        .optional()?)
}

/// Store a review's status and the seqs of its steps.
pub fn update_review(conn: &mut DbConn, row: &ReviewRow) -> StoreResult<()> {
    diesel::update(reviews::table.find(&row.id))
        .set((
            reviews::status.eq(&row.status),
            reviews::decided_seq.eq(row.decided_seq),
            reviews::findings_seq.eq(row.findings_seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// One review, or a page of them by `requested_seq`.
pub fn load_reviews(conn: &mut DbConn, pick: Pick<'_>) -> StoreResult<Vec<ReviewRow>> {
    let mut q = reviews::table
        .order(reviews::requested_seq.asc())
        .into_boxed();
    match pick {
        Pick::All => {}
        Pick::One(id) => q = q.filter(reviews::id.eq(id.to_string())),
        Pick::Page { after, limit } => {
            if let Some(after) = after {
                q = q.filter(reviews::requested_seq.gt(after));
            }
            q = q.limit(limit);
        }
    }
    Ok(q.load(conn)?)
}

// ---- recommendations ----

pub fn insert_recommendation(conn: &mut DbConn, row: &RecommendationRow) -> StoreResult<()> {
    diesel::insert_into(recommendations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_recommendation(conn: &mut DbConn, id: &str) -> StoreResult<Option<RecommendationRow>> {
    Ok(recommendations::table
        .find(id)
        .first::<RecommendationRow>(conn)
        .optional()?)
}

/// Record the SLG's response (entry `seq`) to recommendation `id`.
pub fn set_response(conn: &mut DbConn, id: &str, seq: i64, accepted: bool) -> StoreResult<()> {
    diesel::update(recommendations::table.find(id))
        .set((
            recommendations::response_seq.eq(Some(seq)),
            recommendations::accepted.eq(Some(accepted)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Where a recommendation stands, as SQL can tell on `today` (`YYYY-MM-DD`):
/// responded, or due on or after today, or past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    Responded,
    DueFrom(&'a str),
    OverdueOn(&'a str),
}

/// One recommendation, or a page of them by `issued_seq`, only those
/// `standing` where given.
pub fn load_recommendations(
    conn: &mut DbConn,
    pick: Pick<'_>,
    standing: Option<Standing<'_>>,
) -> StoreResult<Vec<RecommendationRow>> {
    let mut q = recommendations::table
        .order(recommendations::issued_seq.asc())
        .into_boxed();
    // `response_due` is `YYYY-MM-DD`: text order is date order.
    match standing {
        None => {}
        Some(Standing::Responded) => q = q.filter(recommendations::response_seq.is_not_null()),
        Some(Standing::DueFrom(today)) => {
            q = q
                .filter(recommendations::response_seq.is_null())
                .filter(recommendations::response_due.ge(today.to_string()))
        }
        Some(Standing::OverdueOn(today)) => {
            q = q
                .filter(recommendations::response_seq.is_null())
                .filter(recommendations::response_due.lt(today.to_string()))
        }
    }
    match pick {
        Pick::All => {}
        Pick::One(id) => q = q.filter(recommendations::id.eq(id.to_string())),
        Pick::Page { after, limit } => {
            if let Some(after) = after {
                q = q.filter(recommendations::issued_seq.gt(after));
            }
            q = q.limit(limit);
        }
    }
    Ok(q.load(conn)?)
}
