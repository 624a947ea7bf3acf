//! `/v1/disputes`: raising a dispute, reading one, a page of them and a
//! dispute's history, the ladder actions (propose, accept, reject, escalate,
//! withdraw) and migrating a dispute onto the active policy. The rules and the
//! transactions are [`crate::service::disputes`]'s; who may reach a dispute is
//! [`crate::http::authz`]'s, applied by [`admit`] on the dispute as loaded.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::core::ladder::{Actor, Dispute, Policy, Status};
use crate::http::authz::{self, Allowed, DisputeFacts, ForDispute, ListScope};
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Cursor, Limit, Page, PageQuery, Paging};
use crate::http::state::{run, write, AppState};
use crate::http::views::{dispute_view, entry_page, DisputeView, EntryView, ProposalView};
use crate::service::disputes::{self, Action, DisputeRead, Migration, NewDispute, Visible};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseDispute {
    /// Registry ids of the agencies in dispute; the raiser's agency must be one.
    pub parties: Vec<String>,
    /// What the disagreement is about. Free text: erasable, never logged.
    pub summary: String,
    /// A pseudonymous case reference (letters, digits, `-_/.`, at least one digit;
    /// never a name or date of birth).
    #[serde(default)]
    pub child_ref: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    /// Raise straight to the SLG as a complex disagreement.
    #[serde(default)]
    pub complex: bool,
    /// Raise as whistleblowing: the ledger and every response show a keyed
    /// pseudonym (`wb-...`) instead of the raiser's `sub`.
    #[serde(default)]
    pub whistleblowing: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    pub resolution: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {}

/// Move an open dispute onto the active policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateBody {
    /// The policy to move onto; it must be the active one (`GET /v1/policies`).
    pub policy: String,
    /// Its rung to continue on; by default the rung of the same name.
    #[serde(default)]
    pub rung: Option<String>,
    /// Why. Free text: erasable, never in the tables.
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<Status>,
    /// A rung of any policy here (`GET /v1/policies`).
    pub rung: Option<String>,
    /// Only disputes this agency is a party to.
    pub agency: Option<String>,
    /// `true`: only open disputes past their rung's `due_at`; `false`: all others.
    pub overdue: Option<bool>,
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<Limit>,
    /// The `next` of the page before; absent for the first page.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

/// What the access table ([`crate::http::authz`]) needs to know about a dispute.
/// Chief officers see disputes on or above their policy's `chief_officers_from`
/// rung (`chief_executives` in KRSCP): the one place that says so, with
/// [`Policy::chief_officer_rungs`] for the list filter.
pub fn dispute_facts<'a>(d: &'a Dispute, policy: &Policy) -> DisputeFacts<'a> {
    DisputeFacts {
        parties: &d.parties,
        chief_officer_may_see: policy.chief_officers_see(d.rung),
    }
}

/// `caller`'s admission to a dispute, for the service to apply to the dispute
/// it loads: the actor, or a 404 (no such dispute, or one the caller may not
/// see) or 403.
pub fn admit(caller: ForDispute) -> impl FnOnce(&Dispute, &Policy) -> Result<Actor, AppError> {
    move |d, policy| caller.check(&dispute_facts(d, policy))
}

/// The dispute as `actor` sees it ([`authz::TEXT_READERS`] read its free text).
fn render(actor: &Actor, read: DisputeRead) -> DisputeView {
    dispute_view(read, authz::reads_free_text(actor))
}

#[utoipa::path(tag = "disputes", security(("bearer" = [])),
    request_body = RaiseDispute,
    responses((status = 201, body = DisputeView, headers(("Location" = String))),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/disputes")]
pub async fn raise_dispute(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RaiseDispute>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let new = NewDispute {
        parties: b.parties,
        summary: b.summary,
        child_ref: b.child_ref,
        urgent: b.urgent,
        complex: b.complex,
        whistleblowing: b.whistleblowing,
    };
    let with_text = authz::reads_free_text(&actor);
    let key = state.whistleblowing_key.clone();
    let read = write(&state, move |conn| disputes::raise(conn, &key, &actor, new)).await?;
    let view = dispute_view(read, with_text);
    tracing::info!(dispute = %view.id, rung = %view.rung, "dispute raised");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/disputes/{}", view.id)))
        .json(view))
}

#[utoipa::path(tag = "disputes", security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, body = DisputeView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/disputes/{id}")]
pub async fn get_dispute(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (actor, read) = run(&state.pool, move |conn| {
        disputes::get(conn, &id, admit(caller))
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&actor, read)))
}

#[utoipa::path(tag = "disputes", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "The disputes the caller sees, newest first", body = Page<DisputeView>),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/disputes")]
pub async fn list_disputes(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let paging = Paging::new("disputes", q.limit, q.cursor);
    // The list holds the disputes the caller sees (`authz::DISPUTE_READERS`);
    // the cursor only says where in it to go on.
    let visible = match authz::list_scope(&actor) {
        ListScope::All => Visible::All,
        ListScope::PartyOf(a) => Visible::PartyOf(a),
        ListScope::ChiefOfficerRung => Visible::ChiefOfficerRungs,
        ListScope::Nothing => Visible::Nothing,
    };
    let query = disputes::ListQuery {
        status: q.status,
        rung: q.rung,
        agency: q.agency,
        overdue: q.overdue,
        before: paging.after_seq()?,
        limit: paging.fetch(),
    };
    let rows = run(&state.pool, move |conn| {
        disputes::list(conn, visible, query)
    })
    .await?;
    let page = paging.page(rows, |r| r.record.raised_seq);
    Ok(HttpResponse::Ok().json(page.map(|r| render(&actor, r))))
}

/// Apply one ladder action to a dispute: the dispute after it, with the `seq`
/// of the entry the action wrote.
async fn act(
    state: &AppState,
    caller: ForDispute,
    id: String,
    action: Action,
) -> Result<DisputeView, AppError> {
    let key = state.whistleblowing_key.clone();
    let (actor, read) = write(state, move |conn| {
        disputes::act(conn, &key, &id, action, admit(caller))
    })
    .await?;
    Ok(render(&actor, read))
}

/// Proposal `pid` of the dispute as rendered, or a 404.
fn proposal_of(view: DisputeView, pid: &str) -> Result<ProposalView, AppError> {
    view.proposals
        .into_iter()
        .find(|p| p.id == pid)
        .ok_or_else(|| AppError::NotFound("no such proposal".into()))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), request_body = ProposeBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 201, description = "The new proposal; `seq` is its `proposed` entry", body = ProposalView, headers(("Location" = String))),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/disputes/{id}/proposals")]
pub async fn propose(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ProposeBody>,
) -> Result<HttpResponse, AppError> {
    let resolution = body.into_inner().resolution;
    let id = id.into_inner();
    let view = act(&state, caller, id.clone(), Action::Propose { resolution }).await?;
    // The proposal this request made is the dispute's newest (proposals are
    // in `seq` order and the request held the write lock); the request may
    // also have written more (a proposal on the last rung resolves at once).
    let proposal = view
        .proposals
        .into_iter()
        .max_by_key(|p| p.seq)
        .ok_or_else(|| AppError::Internal("the new proposal is not in the dispute".into()))?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/disputes/{id}/proposals/{}", proposal.id),
        ))
        .json(proposal))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id"), ("pid" = String, Path, description = "Proposal id")),
    responses((status = 200, body = ProposalView), (status = 401, body = Problem),
              (status = 404, description = "No such dispute (or not one the caller sees), or no such proposal of it", body = Problem)))]
#[get("/v1/disputes/{id}/proposals/{pid}")]
pub async fn get_proposal(
    state: web::Data<AppState>,
    caller: ForDispute,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, pid) = path.into_inner();
    let (actor, read) = run(&state.pool, move |conn| {
        disputes::get(conn, &id, admit(caller))
    })
    .await?;
    Ok(HttpResponse::Ok().json(proposal_of(render(&actor, read), &pid)?))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id"), ("pid" = String, Path, description = "Proposal id")),
    responses((status = 200, description = "The dispute after the action; `seq` is the (last) entry it wrote", body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/v1/disputes/{id}/proposals/{pid}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    caller: ForDispute,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, proposal_id) = path.into_inner();
    let view = act(&state, caller, id, Action::Accept { proposal_id }).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), request_body = MigrateBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute on its new policy (open proposals lapse, the rung's clock restarts); `seq` is the entry written", body = DisputeView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/disputes/{id}/migrate")]
pub async fn migrate_dispute(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<MigrateBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let to = Migration {
        policy: b.policy,
        rung: b.rung,
        reason: b.reason,
    };
    let id = id.into_inner();
    let (actor, read) = write(&state, move |conn| {
        disputes::migrate(conn, &id, to, admit(caller))
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&actor, read)))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id"), ("pid" = String, Path, description = "Proposal id")),
    responses((status = 200, description = "The dispute after the action; `seq` is the (last) entry it wrote", body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/disputes/{id}/proposals/{pid}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: ForDispute,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    let (id, proposal_id) = path.into_inner();
    let reason = body.into_inner().reason;
    let action = Action::Reject {
        proposal_id,
        reason,
    };
    Ok(HttpResponse::Ok().json(act(&state, caller, id, action).await?))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute after the action; `seq` is the (last) entry it wrote", body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/disputes/{id}/escalate")]
pub async fn escalate(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    let reason = body.into_inner().reason;
    let action = Action::Escalate { reason };
    Ok(HttpResponse::Ok().json(act(&state, caller, id.into_inner(), action).await?))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute after the action; `seq` is the (last) entry it wrote", body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/disputes/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    let reason = body.into_inner().reason;
    let action = Action::Withdraw { reason };
    Ok(HttpResponse::Ok().json(act(&state, caller, id.into_inner(), action).await?))
}

#[utoipa::path(tag = "disputes",
    security(("bearer" = [])), params(("id" = String, Path, description = "Dispute id"), PageQuery),
    responses((status = 200, description = "The dispute's ledger entries, oldest first", body = Page<EntryView>),
              (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/disputes/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let paging = q.into_inner().paging("history");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let (actor, list) = run(&state.pool, move |conn| {
        disputes::history(conn, &id, after, fetch, admit(caller))
    })
    .await?;
    Ok(HttpResponse::Ok().json(entry_page(&paging, list, authz::reads_free_text(&actor))))
}
