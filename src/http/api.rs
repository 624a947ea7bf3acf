//! The HTTP edge: parse, authorise, call the core inside one transaction, render.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, OpenApi, ToSchema};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::core::input;
use crate::core::ladder::{self, Actor, Command, Policy, ProposalStatus, Role, Rung, Status};
use crate::core::ledger::format_time;
use crate::core::registry::Agency;
use crate::http::admin_api;
use crate::http::authz::{self, Allowed, DisputeFacts, ForDispute, ListScope};
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::http::whistleblowing;
use crate::service::checkpoint;
use crate::service::cosign::{self, StoredCosignature, Witness};
use crate::service::error::ServiceError;
use crate::service::notify::{self, Delivery, DeliveryCounts, Registered, Target, Webhook};
use crate::service::redaction::{self, Redacted, Redaction, Step};
use crate::service::scrutiny::{self, text};
use crate::service::verify::{self, VerifyReport};
use crate::service::whistleblowing as wb;
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::disputes::{DisputeRecord, ListFilter};
use crate::store::error::StoreError;
use crate::store::ledger::{self as store, StoredEntry};
use crate::store::tree;
use crate::{http::policy_api, service::policy_store};
use std::sync::Arc;

/// Largest accepted JSON body.
pub const BODY_LIMIT: usize = 64 * 1024;

// ---- request bodies ----

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

// ---- views ----

#[derive(Debug, Serialize, ToSchema)]
pub struct RaisedBy {
    pub sub: String,
    pub agency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: String,
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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputePage {
    pub items: Vec<DisputeView>,
    pub limit: i64,
    pub offset: i64,
    /// The offset of the next page, or null on the last page.
    pub next_offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub seq: i64,
    pub recorded_at: String,
    pub dispute_id: Option<String>,
    pub event: String,
    pub actor: Actor,
    #[schema(value_type = Object)]
    pub facts: Value,
    /// The canonical payload as JSON; null once erased or when withheld from this caller.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    pub payload_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Head {
    pub size: i64,
    /// Hex hash of the newest entry; null while the ledger is empty.
    pub head_hash: Option<String>,
}

/// Who may read free text and `child_ref` ([`authz::TEXT_READERS`]).
fn reads_text(actor: &Actor) -> bool {
    authz::reads_free_text(actor)
}

/// What the access table ([`crate::http::authz`]) needs to know about a dispute.
/// Chief officers see disputes on or above their policy's `chief_officers_from`
/// rung (`chief_executives` in KRSCP): the one place that says so, with
/// [`Policy::chief_officer_rungs`] for the list filter.
pub fn dispute_facts<'a>(d: &'a ladder::Dispute, policy: &Policy) -> DisputeFacts<'a> {
    DisputeFacts {
        parties: &d.parties,
        chief_officer_may_see: policy.chief_officers_see(d.rung),
    }
}

/// Load dispute `id` with the policy it follows, and decide `caller`'s access
/// to it: the actor, or a 404 (no such dispute, or one the caller may not see)
/// or 403.
pub fn load_for(
    conn: &mut DbConn,
    caller: ForDispute,
    id: &str,
) -> Result<(Actor, DisputeRecord, Arc<Policy>), AppError> {
    let rec = crate::store::disputes::load_dispute(conn, id)?.ok_or_else(AppError::not_found)?;
    let policy = policy_store::of(conn, &rec.state.policy)?;
    let actor = caller.check(&dispute_facts(&rec.state, &policy))?;
    Ok((actor, rec, policy))
}

fn text_field(payload: &Option<Value>, key: &str) -> Option<String> {
    payload
        .as_ref()
        .and_then(|p| p.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn view(conn: &mut DbConn, rec: DisputeRecord, actor: &Actor) -> Result<DisputeView, AppError> {
    let with_text = reads_text(actor);
    let raised = if with_text {
        store::payload_of(conn, rec.raised_seq)?
    } else {
        None
    };
    let mut proposals = Vec::with_capacity(rec.state.proposals.len());
    for (p, (at, seq)) in rec.state.proposals.iter().zip(rec.proposal_meta.iter()) {
        let payload = if with_text {
            store::payload_of(conn, *seq)?
        } else {
            None
        };
        proposals.push(ProposalView {
            id: p.id.clone(),
            rung: p.rung,
            status: p.status,
            proposed_by: p.proposed_by.clone(),
            proposed_at: format_time(at),
            resolution: text_field(&payload, "resolution"),
            accepted_by: p.accepted_by.iter().cloned().collect(),
        });
    }
    let open_proposal = proposals
        .iter()
        .position(|p| p.status == ProposalStatus::Open)
        .map(|i| proposals[i].clone_view());
    let open = crate::service::deadline::Open {
        id: rec.state.id.clone(),
        policy: rec.state.policy.clone(),
        status: rec.state.status,
        rung: rec.state.rung,
        urgent: rec.state.urgent,
        rung_entered_at: rec.rung_entered_at,
    };
    let policy = policy_store::of(conn, &rec.state.policy)?;
    let due = crate::service::deadline::due_of(&[policy], &open);
    let overdue = due.is_some_and(|due| chrono::Utc::now().naive_utc() > due);
    let d = rec.state;
    Ok(DisputeView {
        due_at: due.as_ref().map(crate::service::deadline::format_due),
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
        summary: text_field(&raised, "summary"),
        child_ref: text_field(&raised, "child_ref"),
        open_proposal,
        proposals,
    })
}

impl ProposalView {
    fn clone_view(&self) -> Self {
        ProposalView {
            id: self.id.clone(),
            rung: self.rung,
            status: self.status,
            proposed_by: self.proposed_by.clone(),
            proposed_at: self.proposed_at.clone(),
            resolution: self.resolution.clone(),
            accepted_by: self.accepted_by.clone(),
        }
    }
}

fn entry_view(s: StoredEntry, with_payload: bool) -> EntryView {
    let e = s.entry;
    EntryView {
        seq: e.seq,
        recorded_at: format_time(&e.recorded_at),
        dispute_id: e.dispute_id,
        event: e.event,
        actor: e.actor,
        facts: e.facts,
        payload: s
            .payload
            .filter(|_| with_payload)
            .and_then(|p| serde_json::from_str(&p).ok()),
        payload_hash: hex::encode(e.payload_hash),
        prev_hash: hex::encode(e.prev_hash),
        entry_hash: hex::encode(e.entry_hash),
    }
}

// ---- handlers ----

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "The database answers"),
              (status = 503, description = "The database does not answer", body = Problem)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    run(&state.pool, |conn| {
        store::head(conn).map_err(|e| AppError::Unavailable(format!("database: {e}")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

#[utoipa::path(get, path = "/v1/agencies", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = [Agency]), (status = 401, body = Problem)))]
pub async fn list_agencies(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, crate::store::agencies::list_agencies).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/v1/disputes", tag = "disputes", security(("bearer" = [])),
    request_body = RaiseDispute,
    responses((status = 201, body = DisputeView, headers(("Location" = String))),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn raise_dispute(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RaiseDispute>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    // Whistleblowing: record the raiser under the pseudonym; keep who it is aside.
    let real = actor;
    let whistleblower = body.whistleblowing.then(|| real.clone());
    let actor = match &whistleblower {
        Some(real) => state.whistleblowing_key.masked(real),
        None => real.clone(),
    };
    let payload = json!({
        "summary": text("summary", &body.summary)?,
        "child_ref": input::child_ref(body.child_ref.as_deref()).map_err(ServiceError::from)?,
    });
    let id = uuid::Uuid::new_v4().to_string();
    let parties = body.parties;
    let dispute_id = id.clone();
    let (urgent, complex) = (body.urgent, body.complex);
    let view = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            // A new dispute follows the policy active now, for good.
            let policy = policy_store::active(conn)?;
            let mut event = ladder::raise(&policy, &real, &parties, urgent, complex)?;
            if let ladder::Event::Raised { whistleblowing, .. } = &mut event {
                *whistleblowing = whistleblower.is_some();
            }
            let unknown = crate::store::agencies::unknown_agencies(conn, &parties)?;
            if !unknown.is_empty() {
                return Err(AppError::Unprocessable(format!(
                    "unknown agency ids: {}",
                    unknown.join(", ")
                )));
            }
            let entry = crate::service::record::record(conn, &dispute_id, &actor, &event, payload)?;
            if let Some(real) = &whistleblower {
                wb::record_identity(conn, &actor.sub, real, entry.recorded_at)?;
            }
            let rec = crate::store::disputes::load_dispute(conn, &dispute_id)?
                .ok_or_else(|| AppError::Internal("raised dispute vanished".into()))?;
            view(conn, rec, &actor)
        })
    })
    .await?;
    tracing::info!(dispute = %id, rung = %view.rung, "dispute raised");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/disputes/{id}")))
        .json(view))
}

#[utoipa::path(get, path = "/v1/disputes/{id}", tag = "disputes", security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, body = DisputeView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_dispute(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let v = run(&state.pool, move |conn| {
        read_tx(conn, |conn| {
            let (actor, rec, _) = load_for(conn, caller, &id)?;
            view(conn, rec, &actor)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
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
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/v1/disputes", tag = "disputes", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = DisputePage), (status = 400, body = Problem),
              (status = 401, body = Problem)))]
pub async fn list_disputes(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=200).contains(&limit) || offset < 0 {
        return Err(AppError::BadRequest(
            "limit must be 1 to 200 and offset not negative".into(),
        ));
    }
    // The list holds the disputes the caller sees (`authz::DISPUTE_READERS`).
    let scope = authz::list_scope(&actor);
    let q_rung = q.rung;
    let filter = ListFilter {
        status: q.status,
        rung: None,
        agency: q.agency,
        keep: None,
        visible_to_agency: match &scope {
            ListScope::PartyOf(a) => Some(a.clone()),
            _ => None,
        },
        only_rungs: None,
        limit: limit + 1,
        offset,
    };
    let items = run(&state.pool, move |conn| {
        if scope == ListScope::Nothing {
            return Ok(Vec::new());
        }
        read_tx(conn, |conn| {
            let mut filter = filter;
            // Rung names and chief officers' rungs come from the policies.
            let chief = scope == ListScope::ChiefOfficerRung;
            let policies = if q_rung.is_some() || chief {
                policy_store::all(conn)?
            } else {
                Vec::new()
            };
            // Looked up, not parsed: a query never adds a rung name.
            if let Some(name) = &q_rung {
                let rung = policies
                    .iter()
                    .flat_map(|p| p.rungs.iter().map(|r| r.rung))
                    .find(|r| r.as_str() == name);
                filter.rung = Some(rung.ok_or_else(|| {
                    AppError::BadRequest(format!("no policy here has a rung '{name}'"))
                })?);
            }
            if let Some(want) = q.overdue {
                let all = policy_store::all(conn)?;
                let now = chrono::Utc::now().naive_utc();
                filter.keep = Some(std::sync::Arc::new(move |row| {
                    let open = crate::service::deadline::open_from(row)
                        .map_err(|e| StoreError::Internal(e.to_string()))?;
                    Ok(crate::service::deadline::is_overdue(&all, &open, now) == want)
                }));
            }
            if chief {
                let only = policies
                    .iter()
                    .map(|p| (p.version.clone(), p.chief_officer_rungs()))
                    .collect();
                filter.only_rungs = Some(only);
            }
            crate::store::disputes::list_disputes(conn, &filter)?
                .into_iter()
                .map(|r| view(conn, r, &actor))
                .collect::<Result<Vec<_>, _>>()
        })
    })
    .await?;
    let mut items = items;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok(HttpResponse::Ok().json(DisputePage {
        items,
        limit,
        offset,
        next_offset: more.then_some(offset + limit),
    }))
}

/// [`act`] for the commands whose only input is a required `reason`.
async fn act_with_reason(
    state: &AppState,
    caller: ForDispute,
    id: String,
    cmd: Command,
    reason: &str,
) -> Result<HttpResponse, AppError> {
    let reason = text("reason", reason)?;
    act(state, caller, id, cmd, json!({ "reason": reason })).await
}

/// Apply one ladder command to a dispute and answer with the dispute after it.
async fn act(
    state: &AppState,
    caller: ForDispute,
    id: String,
    cmd: Command,
    payload: Value,
) -> Result<HttpResponse, AppError> {
    let key = state.whistleblowing_key.clone();
    let v = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            // A dispute keeps the rules it was raised (or last migrated) under.
            let (actor, rec, rules) = load_for(conn, caller, &id)?;
            // A whistleblower keeps acting under their pseudonym on their concern.
            let actor = key.mask_for(&rec.state, actor);
            let events = ladder::decide(&rules, &rec.state, &actor, &cmd)?;
            for (i, event) in events.iter().enumerate() {
                // The command's free text belongs to its first event only.
                let p = if i == 0 { payload.clone() } else { json!({}) };
                crate::service::record::record(conn, &id, &actor, event, p)?;
            }
            let rec =
                crate::store::disputes::load_dispute(conn, &id)?.ok_or_else(AppError::not_found)?;
            view(conn, rec, &actor)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, path = "/v1/disputes/{id}/proposals", tag = "disputes",
    security(("bearer" = [])), request_body = ProposeBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute with its new open proposal", body = DisputeView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn propose(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ProposeBody>,
) -> Result<HttpResponse, AppError> {
    let resolution = text("resolution", &body.resolution)?;
    let cmd = Command::Propose {
        proposal_id: uuid::Uuid::new_v4().to_string(),
    };
    act(
        &state,
        caller,
        id.into_inner(),
        cmd,
        json!({ "resolution": resolution }),
    )
    .await
}

#[utoipa::path(post, path = "/v1/disputes/{id}/proposals/{pid}/accept", tag = "disputes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id"), ("pid" = String, Path, description = "Proposal id")),
    responses((status = 200, body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept(
    state: web::Data<AppState>,
    caller: ForDispute,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, pid) = path.into_inner();
    act(
        &state,
        caller,
        id,
        Command::Accept { proposal_id: pid },
        json!({}),
    )
    .await
}

#[utoipa::path(post, path = "/v1/disputes/{id}/migrate", tag = "disputes",
    security(("bearer" = [])), request_body = MigrateBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute on its new policy: open proposals lapse, the rung's clock restarts", body = DisputeView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn migrate_dispute(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<MigrateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let reason = text("reason", &body.reason)?;
    let id = id.into_inner();
    let v = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            let (actor, rec, _) = load_for(conn, caller, &id)?;
            let active = policy_store::active(conn)?;
            if body.policy != active.version {
                return Err(AppError::Conflict(format!(
                    "a dispute can move only onto the active policy, {}",
                    active.version
                )));
            }
            let event = ladder::migrate(&active, &rec.state, &actor, body.rung.as_deref())?;
            crate::service::record::record(conn, &id, &actor, &event, json!({ "reason": reason }))?;
            let rec =
                crate::store::disputes::load_dispute(conn, &id)?.ok_or_else(AppError::not_found)?;
            view(conn, rec, &actor)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, path = "/v1/disputes/{id}/proposals/{pid}/reject", tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id"), ("pid" = String, Path, description = "Proposal id")),
    responses((status = 200, body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn reject(
    state: web::Data<AppState>,
    caller: ForDispute,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    let (id, pid) = path.into_inner();
    act_with_reason(
        &state,
        caller,
        id,
        Command::Reject { proposal_id: pid },
        &body.reason,
    )
    .await
}

#[utoipa::path(post, path = "/v1/disputes/{id}/escalate", tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn escalate(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    act_with_reason(
        &state,
        caller,
        id.into_inner(),
        Command::Escalate,
        &body.reason,
    )
    .await
}

#[utoipa::path(post, path = "/v1/disputes/{id}/withdraw", tag = "disputes",
    security(("bearer" = [])), request_body = ReasonBody,
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, body = DisputeView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, AppError> {
    act_with_reason(
        &state,
        caller,
        id.into_inner(),
        Command::Withdraw,
        &body.reason,
    )
    .await
}

#[utoipa::path(get, path = "/v1/disputes/{id}/history", tag = "disputes",
    security(("bearer" = [])), params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The dispute's ledger entries, oldest first", body = [EntryView]),
              (status = 404, body = Problem)))]
pub async fn history(
    state: web::Data<AppState>,
    caller: ForDispute,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (with_text, list) = run(&state.pool, move |conn| -> Result<_, AppError> {
        read_tx(conn, |conn| {
            let (actor, _, _) = load_for(conn, caller, &id)?;
            Ok((
                reads_text(&actor),
                store::entries(conn, Some(&id), 0, i64::MAX)?,
            ))
        })
    })
    .await?;
    let views: Vec<EntryView> = list.into_iter().map(|s| entry_view(s, with_text)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(get, path = "/v1/ledger/head", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = Head), (status = 403, body = Problem)))]
pub async fn ledger_head(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let h = run(&state.pool, store::head).await?;
    Ok(HttpResponse::Ok().json(match h {
        Some((seq, hash)) => Head {
            size: seq + 1,
            head_hash: Some(hex::encode(hash)),
        },
        None => Head {
            size: 0,
            head_hash: None,
        },
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// First `seq` to return; default 0.
    pub from: Option<i64>,
    /// At most this many, 1 to 1000; default 100.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/ledger/entries", tag = "ledger", security(("bearer" = [])),
    params(EntriesQuery),
    responses((status = 200, body = [EntryView]), (status = 400, body = Problem),
              (status = 403, body = Problem)))]
pub async fn ledger_entries(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    q: web::Query<EntriesQuery>,
) -> Result<HttpResponse, AppError> {
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if from < 0 || !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest(
            "from must not be negative and limit must be 1 to 1000".into(),
        ));
    }
    let with_text = reads_text(&actor);
    let list = run(&state.pool, move |conn| {
        store::entries(conn, None, from, limit)
    })
    .await?;
    let views: Vec<EntryView> = list.into_iter().map(|s| entry_view(s, with_text)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(get, path = "/v1/ledger/verify", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = VerifyReport), (status = 403, body = Problem)))]
pub async fn ledger_verify(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let report = run(&state.pool, verify::verify).await?;
    if !report.ok {
        tracing::error!(first_bad_seq = ?report.first_bad_seq, problem = ?report.problem, "ledger verification failed");
    }
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(get, path = "/v1/ledger/export", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "The whole ledger as an audit bundle (JSON Lines: a header with the newest signed checkpoint, then one entry per line, oldest first; see docs/ledger-format.md). Streamed. Payloads are null for auditors.", content_type = "application/x-ndjson", body = String),
              (status = 403, body = Problem),
              (status = 409, description = "The stored tree no longer matches an earlier checkpoint", body = Problem)))]
pub async fn ledger_export(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
) -> Result<HttpResponse, AppError> {
    use crate::service::bundle::{self, Payloads};
    use actix_web::web::Bytes;
    use futures_util::StreamExt as _;

    let payloads = if reads_text(&actor) {
        Payloads::Included
    } else {
        Payloads::Withheld
    };
    let key = state.log.clone();
    let header = run(&state.pool, move |conn| {
        bundle::begin_export(conn, &key, payloads)
    })
    .await?;
    let first = Bytes::from(bundle::header_line(&header)?);
    // Entries come from a blocking task in batches, through a small bounded channel:
    // memory stays at a few batches whatever the ledger's size, and a slow reader
    // slows the database reads down rather than piling up bytes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    let size = header.size;
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        let sent = pool
            .get()
            .map_err(|e| AppError::from(StoreError::from(e)))
            .and_then(|mut conn| {
                bundle::export_entries(&mut conn, size, payloads, |buf| {
                    tx.blocking_send(Ok(Bytes::from(buf))).is_ok()
                })
                .map_err(AppError::from)
            });
        if let Err(e) = sent {
            tracing::error!(error = %e, "ledger export failed mid-stream");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let body = futures_util::stream::once(futures_util::future::ready(Ok(first))).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body))
}

/// Tree sizes a proof may name: at least `min`, at most the stored tree.
fn check_size(what: &str, v: i64, min: i64, leaves: i64) -> Result<u64, AppError> {
    if v < min || v > leaves {
        return Err(AppError::BadRequest(format!(
            "{what} must be between {min} and the ledger size {leaves}"
        )));
    }
    Ok(v as u64)
}

fn b64(h: &[u8]) -> String {
    B64.encode(h)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's `seq` (its leaf index).
    pub seq: i64,
    /// The tree size to prove against; default: the whole ledger.
    pub size: Option<i64>,
}

/// An RFC 9162 inclusion proof (section 2.1.3); hashes in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub seq: i64,
    pub size: i64,
    /// The entry's `entry_hash` (its leaf hash).
    pub leaf_hash: String,
    pub root_hash: String,
    /// The audit path, leaf to root.
    pub proof: Vec<String>,
    /// Distinct stored tree nodes read for this answer (proof and roots), in one query.
    pub node_reads: u64,
}

#[utoipa::path(get, path = "/v1/ledger/proofs/inclusion", tag = "ledger", security(("bearer" = [])),
    params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = Problem)))]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let out = run(&state.pool, move |conn| -> Result<_, AppError> {
        read_tx(conn, |conn| {
            let leaves = tree::leaves(conn)?;
            let size = check_size("size", q.size.unwrap_or(leaves), 1, leaves)?;
            let seq = check_size("seq", q.seq, 0, size as i64 - 1)?;
            let p = tree::inclusion(conn, seq, size)?;
            Ok(InclusionProof {
                seq: seq as i64,
                size: size as i64,
                leaf_hash: b64(&p.hashes.0),
                root_hash: b64(&p.hashes.1),
                proof: p.path.iter().map(|h| b64(h)).collect(),
                node_reads: p.node_reads,
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The earlier tree size, at least 1.
    pub from: i64,
    /// The later tree size; default: the whole ledger.
    pub to: Option<i64>,
}

/// An RFC 9162 consistency proof (section 2.1.4); hashes in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: i64,
    pub to: i64,
    pub from_root: String,
    pub to_root: String,
    pub proof: Vec<String>,
    /// Distinct stored tree nodes read for this answer (proof and roots), in one query.
    pub node_reads: u64,
}

#[utoipa::path(get, path = "/v1/ledger/proofs/consistency", tag = "ledger", security(("bearer" = [])),
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = Problem)))]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let out = run(&state.pool, move |conn| -> Result<_, AppError> {
        read_tx(conn, |conn| {
            let leaves = tree::leaves(conn)?;
            let to = check_size("to", q.to.unwrap_or(leaves), 1, leaves)?;
            let from = check_size("from", q.from, 1, to as i64)?;
            let p = tree::consistency(conn, from, to)?;
            Ok(ConsistencyProof {
                from: from as i64,
                to: to as i64,
                from_root: b64(&p.hashes.0),
                to_root: b64(&p.hashes.1),
                proof: p.path.iter().map(|h| b64(h)).collect(),
                node_reads: p.node_reads,
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/v1/ledger/checkpoint", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "A C2SP tlog-checkpoint in a signed note, covering the whole ledger, with the witness cosignatures gathered so far", content_type = "text/plain", body = String),
              (status = 409, description = "The stored tree no longer matches an earlier checkpoint; nothing is signed", body = Problem)))]
pub async fn get_checkpoint(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let key = state.log.clone();
    let note = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            let signed = checkpoint::sign_current(conn, &key)?;
            cosign::with_cosignatures(conn, signed.size, &signed.note)
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

/// The public keys an auditor needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerKeys {
    /// The checkpoint origin line.
    pub origin: String,
    /// The log's C2SP signed-note verifier key (`name+keyid+base64`).
    pub log: String,
}

#[utoipa::path(get, path = "/v1/ledger/keys", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = LedgerKeys)))]
pub async fn ledger_keys(state: web::Data<AppState>, _caller: Allowed) -> HttpResponse {
    HttpResponse::Ok().json(LedgerKeys {
        origin: state.log.origin.clone(),
        log: state.log.verifier_key(),
    })
}

// ---- witnesses ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWitness {
    /// The witness's name; must be the key's name.
    pub name: String,
    /// Its C2SP `cosignature/v1` verifier key string (`name+keyid+base64`).
    pub key: String,
}

#[utoipa::path(post, path = "/v1/admin/witnesses", tag = "witnesses", security(("bearer" = [])),
    request_body = RegisterWitness,
    responses((status = 201, body = Witness), (status = 403, body = Problem),
              (status = 409, description = "The name or key is already registered", body = Problem),
              (status = 422, description = "Not a cosignature/v1 verifier key, or named otherwise", body = Problem)))]
pub async fn register_witness(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RegisterWitness>,
) -> Result<HttpResponse, AppError> {
    let verifier = cosign::parse_key(&body.name, &body.key)?;
    let w = run(&state.pool, move |conn| {
        write_tx(conn, |conn| cosign::register(conn, &actor, &verifier))
    })
    .await?;
    tracing::info!(witness = %w.name, seq = w.registered_seq, "witness registered");
    Ok(HttpResponse::Created().json(w))
}

#[utoipa::path(get, path = "/v1/ledger/witnesses", tag = "witnesses", security(("bearer" = [])),
    responses((status = 200, body = [Witness]), (status = 401, body = Problem)))]
pub async fn list_witnesses(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, cosign::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureBody {
    /// The size of the signed checkpoint the witness cosigned.
    pub size: i64,
    /// One `cosignature/v1` signature line (`— <witness name> <base64>`).
    pub cosignature: String,
}

#[utoipa::path(post, path = "/v1/ledger/cosignatures", tag = "witnesses", security(("bearer" = [])),
    request_body = CosignatureBody,
    responses((status = 201, description = "Stored", body = StoredCosignature),
              (status = 200, description = "Already stored, unchanged", body = StoredCosignature),
              (status = 404, description = "No signed checkpoint of that size", body = Problem),
              (status = 409, description = "The witness already cosigned that size with another line", body = Problem),
              (status = 422, description = "Unknown witness, or the line does not verify over that checkpoint", body = Problem)))]
pub async fn post_cosignature(
    state: web::Data<AppState>,
    _caller: Allowed,
    body: web::Json<CosignatureBody>,
) -> Result<HttpResponse, AppError> {
    let CosignatureBody { size, cosignature } = body.into_inner();
    let (new, stored) = run(&state.pool, move |conn| {
        write_tx(conn, |conn| cosign::add(conn, size, &cosignature))
    })
    .await?;
    Ok(if new {
        HttpResponse::Created().json(stored)
    } else {
        HttpResponse::Ok().json(stored)
    })
}

/// How well the newest signed checkpoint is witnessed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Witnessed {
    pub size: i64,
    /// Witnesses whose cosignature of this checkpoint is stored, by name.
    pub cosigned_by: Vec<String>,
    /// Cosignatures needed (`WITNESS_QUORUM`).
    pub quorum: u32,
    pub fully_witnessed: bool,
}

#[utoipa::path(get, path = "/v1/ledger/checkpoint/witnessed", tag = "witnesses", security(("bearer" = [])),
    responses((status = 200, body = Witnessed),
              (status = 404, description = "No checkpoint has been signed yet", body = Problem)))]
pub async fn checkpoint_witnessed(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let quorum = state.witness_quorum;
    let (size, cosigned_by) = run(&state.pool, |conn| -> Result<_, AppError> {
        read_tx(conn, |conn| {
            let newest = checkpoint::newest(conn)?
                .ok_or_else(|| AppError::NotFound("no checkpoint has been signed yet".into()))?;
            let names = cosign::for_size(conn, newest.size)?
                .into_iter()
                .map(|c| c.witness)
                .collect::<Vec<_>>();
            Ok((newest.size, names))
        })
    })
    .await?;
    let fully_witnessed = cosigned_by.len() as u64 >= u64::from(quorum);
    Ok(HttpResponse::Ok().json(Witnessed {
        size,
        cosigned_by,
        quorum,
        fully_witnessed,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactBody {
    /// Why the payload is erased. Required to request; optional to approve.
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/admin/ledger/entries/{seq}/redact", tag = "ledger",
    security(("bearer" = [])), request_body = RedactBody,
    params(("seq" = i64, Path, description = "The entry whose payload is to be erased")),
    responses((status = 200, description = "A partnership_admin's request, or a scrutineer's approval (which erases the payload)", body = Redaction),
              (status = 403, description = "Not a partnership_admin or scrutineer, or approving one's own request", body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Already requested or erased; nothing pending to approve", body = Problem),
              (status = 422, body = Problem)))]
pub async fn redact_entry(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    seq: web::Path<i64>,
    body: web::Json<RedactBody>,
) -> Result<HttpResponse, AppError> {
    let step = redaction::step_for(&actor)?;
    let payload = match (step, &body.reason) {
        (Step::Request, r) => json!({ "reason": text("reason", r.as_deref().unwrap_or(""))? }),
        (Step::Approve, Some(r)) => json!({ "reason": text("reason", r)? }),
        (Step::Approve, None) => json!({}),
    };
    let target = seq.into_inner();
    let row = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            redaction::redact(conn, &actor, step, target, payload)
        })
    })
    .await?;
    tracing::info!(seq = target, step = ?step, "redaction");
    Ok(HttpResponse::Ok().json(row))
}

#[utoipa::path(get, path = "/v1/admin/ledger/redactions", tag = "ledger",
    security(("bearer" = [])),
    responses((status = 200, description = "Every redaction, pending or done, by target seq", body = [Redaction]),
              (status = 403, body = Problem)))]
pub async fn list_redactions(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, redaction::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

// ---- notifications ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWebhook {
    /// `{"agency": id}` (told of every step of that agency's disputes) or
    /// `{"role": role}` (told when that role is due to act).
    pub target: Target,
    /// `http://` or `https://`; only its origin goes into the ledger.
    pub url: String,
    /// A Standard Webhooks secret (base64 of 24 to 64 bytes, `whsec_` optional);
    /// generated if absent. Returned once.
    #[serde(default)]
    pub secret: Option<String>,
}

#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "notifications", security(("bearer" = [])),
    request_body = RegisterWebhook,
    responses((status = 201, description = "Registered; the secret is shown this once", body = Registered),
              (status = 403, body = Problem),
              (status = 422, description = "Bad URL or secret, or unknown agency", body = Problem)))]
pub async fn register_webhook(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RegisterWebhook>,
) -> Result<HttpResponse, AppError> {
    let RegisterWebhook {
        target,
        url,
        secret,
    } = body.into_inner();
    notify::origin_of(&url)?;
    let secret = notify::parse_secret(secret.as_deref())?;
    let w = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            notify::register(conn, &actor, target, &url, &secret)
        })
    })
    .await?;
    tracing::info!(webhook = %w.id, seq = w.registered_seq, "webhook registered");
    Ok(HttpResponse::Created().json(w))
}

#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Every endpoint with its delivery status", body = [Webhook]),
              (status = 403, body = Problem)))]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, |conn| read_tx(conn, notify::list)).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "Deactivated; its pending deliveries are not sent", body = Webhook),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already deactivated", body = Problem)))]
pub async fn deactivate_webhook(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = run(&state.pool, move |conn| {
        write_tx(conn, |conn| notify::deactivate(conn, &actor, &id))
    })
    .await?;
    tracing::info!(webhook = %w.id, "webhook deactivated");
    Ok(HttpResponse::Ok().json(w))
}

#[utoipa::path(get, path = "/v1/admin/webhooks/{id}/deliveries", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "Deliveries by seq: status, attempts, last error", body = [Delivery]),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn webhook_deliveries(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let list = run(&state.pool, move |conn| {
        read_tx(conn, |conn| notify::deliveries(conn, &id, 10_000))
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(format!(
        "no route {} {}",
        req.method(),
        req.path()
    )))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "escalation-ledger", description = "The KRSCP escalation ladder for disagreements between safeguarding agencies, with a hash-chained ledger."),
    paths(healthz, readyz, list_agencies, raise_dispute, get_dispute, list_disputes, propose,
          accept, reject, escalate, withdraw, history, ledger_head, ledger_entries, ledger_verify,
          inclusion_proof, consistency_proof, get_checkpoint, ledger_keys,
          register_witness, list_witnesses, post_cosignature, checkpoint_witnessed, redact_entry,
          list_redactions, ledger_export,
          admin_api::open_mediation, admin_api::record_session, admin_api::close_mediation,
          admin_api::list_mediations, admin_api::get_mediation, admin_api::request_review,
          admin_api::accept_review, admin_api::decline_review, admin_api::record_findings,
          admin_api::list_reviews, admin_api::issue_recommendation, admin_api::respond,
          admin_api::list_recommendations, register_webhook, list_webhooks,
          deactivate_webhook, webhook_deliveries, whistleblowing::get_whistleblower,
          migrate_dispute, policy_api::list_policies, policy_api::get_policy,
          policy_api::activate_policy),
    components(schemas(Problem, Agency, RaiseDispute, ProposeBody, ReasonBody, DisputeView,
                       DisputePage, ProposalView, RaisedBy, EntryView, Head, VerifyReport,
                       Actor, Role, ladder::Partner, Rung, Status, ProposalStatus,
                       InclusionProof, ConsistencyProof, LedgerKeys,
                       RegisterWitness, Witness, CosignatureBody, StoredCosignature, Witnessed,
                       RedactBody, Redaction, Redacted,
                       admin_api::OpenMediation, admin_api::SessionBody,
                       admin_api::CloseMediation, admin_api::RequestReview,
                       admin_api::ReviewDecision, admin_api::FindingsBody,
                       admin_api::IssueRecommendation, admin_api::RecommendationResponse,
                       scrutiny::Attendee, scrutiny::MediationView, scrutiny::SessionView,
                       scrutiny::ReviewView, scrutiny::Requester, scrutiny::RecommendationView,
                       scrutiny::ResponseView, scrutiny::RecommendationStatus,
                       RegisterWebhook, Target, Webhook, DeliveryCounts, Registered, Delivery,
                       whistleblowing::Whistleblower, MigrateBody, policy_api::ActivatePolicy,
                       policy_store::PolicySummary, policy_store::PolicyDocument,
                       policy_store::Activation)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Mount every route on an actix `ServiceConfig`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/openapi.json", web::get().to(openapi_json))
        .service(
            web::scope("/v1")
                .route("/agencies", web::get().to(list_agencies))
                .route("/disputes", web::post().to(raise_dispute))
                .route("/disputes", web::get().to(list_disputes))
                .route("/disputes/{id}", web::get().to(get_dispute))
                .route("/disputes/{id}/proposals", web::post().to(propose))
                .route(
                    "/disputes/{id}/proposals/{pid}/accept",
                    web::post().to(accept),
                )
                .route(
                    "/disputes/{id}/proposals/{pid}/reject",
                    web::post().to(reject),
                )
                .route("/disputes/{id}/escalate", web::post().to(escalate))
                .route("/disputes/{id}/withdraw", web::post().to(withdraw))
                .route("/disputes/{id}/migrate", web::post().to(migrate_dispute))
                .route("/disputes/{id}/history", web::get().to(history))
                .route("/ledger/head", web::get().to(ledger_head))
                .route("/ledger/entries", web::get().to(ledger_entries))
                .route("/ledger/verify", web::get().to(ledger_verify))
                .route("/ledger/export", web::get().to(ledger_export))
                .route("/ledger/proofs/inclusion", web::get().to(inclusion_proof))
                .route(
                    "/ledger/proofs/consistency",
                    web::get().to(consistency_proof),
                )
                .route("/ledger/checkpoint", web::get().to(get_checkpoint))
                .route("/ledger/keys", web::get().to(ledger_keys))
                .route("/admin/witnesses", web::post().to(register_witness))
                .route("/ledger/witnesses", web::get().to(list_witnesses))
                .route("/ledger/cosignatures", web::post().to(post_cosignature))
                .route(
                    "/ledger/checkpoint/witnessed",
                    web::get().to(checkpoint_witnessed),
                )
                .route(
                    "/admin/ledger/entries/{seq}/redact",
                    web::post().to(redact_entry),
                )
                .route("/admin/ledger/redactions", web::get().to(list_redactions))
                .route("/admin/webhooks", web::post().to(register_webhook))
                .route("/admin/webhooks", web::get().to(list_webhooks))
                .route("/admin/webhooks/{id}", web::delete().to(deactivate_webhook))
                .route(
                    "/admin/webhooks/{id}/deliveries",
                    web::get().to(webhook_deliveries),
                )
                .route(
                    "/admin/whistleblowing/{pseudonym}",
                    web::get().to(whistleblowing::get_whistleblower),
                )
                .configure(crate::http::admin_api::routes)
                .configure(crate::http::policy_api::routes),
        );
}

impl ApiDoc {
    /// The document as committed in `openapi/openapi.json`.
    pub fn openapi_pretty() -> String {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
