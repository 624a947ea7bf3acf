//! The console's handlers: each parses, takes its caller from the console's
//! extractors (the access table applied), calls the same service function
//! as the API handler doing the same thing, and renders a page. A form that
//! succeeds answers 303 to the page that shows what it did.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::core::ladder::{Actor, Status};
use crate::http::authz::{self, ListScope};
use crate::http::console::pages::{self, FormError, Home, Listed};
use crate::http::console::{
    html, session_cookie, Caller, ConsoleConfig, ConsoleError, Posted, COOKIE,
};
use crate::http::error::AppError;
use crate::http::handlers::disputes::dispute_facts;
use crate::http::state::{run, AppState};
use crate::service::console as service;
use crate::service::disputes::{self, Action, NewDispute, Visible};

type Answer = Result<HttpResponse, ConsoleError>;

pub(super) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// `GET /`: the console.
pub async fn root() -> HttpResponse {
    see_other("/console/")
}

pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(pages::STYLE)
}

pub async fn accessibility(req: HttpRequest) -> HttpResponse {
    let signed_in = req.cookie(COOKIE).is_some();
    html(StatusCode::OK, pages::accessibility(signed_in))
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    token: Option<String>,
    next: Option<String>,
}

/// Where to go after signing in: a console page, never another site
/// (`service::console::local_next`); anything else is ignored.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(service::local_next)
        .unwrap_or("/console/")
        .to_string()
}

/// `GET /console/sign-in`: with a link's token, a button that uses it (so a
/// mail scanner fetching the link does not use it up); without, how to get
/// one, and "Sign in with your organisation" when OpenID Connect is set up.
/// `next` (where an unsigned visit to a console page came from) is carried on.
pub async fn sign_in_page(
    config: web::Data<ConsoleConfig>,
    q: web::Query<SignInQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let next = safe_next(q.next.as_deref());
    let oidc = config.oidc.as_ref().map(|_| "/console/oidc/start");
    html(
        StatusCode::OK,
        pages::sign_in(q.token.as_deref(), &next, oidc),
    )
}

/// `POST /console/sign-in`: use the link's token once; a session cookie, and
/// off to the page the link was made for (`console-link --next`), else the
/// form's `next`, else the home page.
pub async fn sign_in(
    state: web::Data<AppState>,
    config: web::Data<ConsoleConfig>,
    form: web::Form<Vec<(String, String)>>,
) -> Answer {
    let fields = form.into_inner();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let token = get("token");
    let asked = get("next");
    let limits = config.timeouts;
    let made = run(&state.pool, move |conn| {
        service::redeem(conn, &token, limits)
    })
    .await?;
    let Some(session) = made else {
        tracing::warn!("console sign-in refused: the link is unknown, used or expired");
        return Ok(html(
            StatusCode::FORBIDDEN,
            pages::problem(
                "This sign-in link cannot be used",
                "A sign-in link works once, for 10 minutes. This one has been used, has \
                 expired, or is not one this service made. Ask for a new link.",
            ),
        ));
    };
    tracing::info!(role = %session.actor.role, "console session started");
    let next = match &session.next {
        Some(bound) => bound.clone(),
        None => safe_next(Some(&asked)),
    };
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(&config, &session.id))
        .insert_header((header::LOCATION, next))
        .finish())
}

/// `POST /console/sign-out`: the session row is deleted and the cookie cleared.
pub async fn sign_out(
    state: web::Data<AppState>,
    config: web::Data<ConsoleConfig>,
    posted: Posted,
) -> Answer {
    let id = posted.caller.session_id().to_string();
    run(&state.pool, move |conn| service::sign_out(conn, &id)).await?;
    let mut gone = session_cookie(&config, "");
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, "/console/sign-in?signed_out=1"))
        .finish())
}

fn visible(actor: &Actor) -> Visible {
    match authz::list_scope(actor) {
        ListScope::All => Visible::All,
        ListScope::PartyOf(a) => Visible::PartyOf(a),
        ListScope::ChiefOfficerRung => Visible::ChiefOfficerRungs,
        ListScope::Nothing => Visible::Nothing,
    }
}

/// The disputes the caller sees, each with what they may do on it.
async fn listed(
    state: &AppState,
    caller: &Caller,
    q: disputes::ListQuery,
) -> Result<Vec<Listed>, ConsoleError> {
    let scope = visible(&caller.actor);
    let rows = run(&state.pool, move |conn| service::listed(conn, scope, q)).await?;
    let key = &state.whistleblowing_key;
    Ok(rows
        .into_iter()
        .map(|l| {
            let d = &l.read.record.state;
            let facts = dispute_facts(d, &l.policy);
            let mut options = service::options(&l.policy, d, &caller.actor, key);
            // The table first, then the rung's rules.
            if !authz::may("dispute.escalate", &caller.actor, Some(&facts)) {
                options.escalate = false;
            }
            if !authz::may("dispute.accept", &caller.actor, Some(&facts)) {
                options.accept = None;
            }
            if !authz::may("dispute.propose", &caller.actor, Some(&facts)) {
                options.propose = false;
            }
            Listed {
                rungs: l.policy.rung_names(),
                read: l.read,
                options,
            }
        })
        .collect())
}

/// `GET /console/`: what needs the caller's action.
pub async fn home(state: web::Data<AppState>, caller: Caller) -> Answer {
    let q = disputes::ListQuery {
        status: Some(Status::Open),
        limit: 200,
        ..Default::default()
    };
    let items = listed(&state, &caller, q).await?;
    let home = Home {
        now: chrono::Utc::now().naive_utc(),
        calendar: crate::service::deadline::calendar(),
        items,
        recommendations: crate::http::console::scrutiny::waiting_for_response(&state, &caller)
            .await?,
    };
    Ok(html(StatusCode::OK, pages::home(&caller.nav(), &home)))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListFilter {
    status: Option<String>,
    agency: Option<String>,
    overdue: Option<String>,
}

/// `GET /console/disputes`: the disputes the caller sees, filtered.
pub async fn disputes(
    state: web::Data<AppState>,
    caller: Caller,
    f: web::Query<ListFilter>,
) -> Answer {
    let f = f.into_inner();
    let status = match f.status.as_deref() {
        None | Some("") | Some("any") => None,
        Some(s) => Some(
            s.parse::<Status>()
                .map_err(|e| AppError::BadRequest(format!("status: {e}")))?,
        ),
    };
    let agency = f.agency.clone().filter(|a| !a.is_empty());
    let overdue = f
        .overdue
        .as_deref()
        .is_some_and(|v| !v.is_empty())
        .then_some(true);
    let q = disputes::ListQuery {
        status,
        agency: agency.clone(),
        overdue,
        limit: 200,
        ..Default::default()
    };
    let items = listed(&state, &caller, q).await?;
    let agencies = run(&state.pool, |conn| {
        crate::service::registry::agencies(conn, None, 1000)
    })
    .await?;
    let filter = pages::Filter {
        status: f.status.unwrap_or_default(),
        agency: agency.unwrap_or_default(),
        overdue: overdue.is_some(),
    };
    Ok(html(
        StatusCode::OK,
        pages::disputes(&caller.nav(), &items, &agencies, &filter),
    ))
}

/// The raising form, with what was typed and its errors.
async fn raise_page(
    state: &AppState,
    caller: &Caller,
    form: pages::RaiseForm,
    errors: Vec<FormError>,
) -> Answer {
    let agencies = run(&state.pool, |conn| {
        crate::service::registry::agencies(conn, None, 1000)
    })
    .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(
        status,
        pages::raise(&caller.nav(), &agencies, &form, &errors),
    ))
}

/// `GET /console/disputes/new`.
pub async fn raise_form(state: web::Data<AppState>, caller: Caller) -> Answer {
    raise_page(&state, &caller, pages::RaiseForm::default(), Vec::new()).await
}

/// `POST /console/disputes`: raise a dispute (`service::disputes::raise`,
/// as `POST /v1/disputes`).
pub async fn raise(state: web::Data<AppState>, posted: Posted) -> Answer {
    let caller = posted.caller.clone();
    let form = pages::RaiseForm {
        parties: posted.all("parties"),
        summary: posted.field("summary").to_string(),
        child_ref: posted.field("child_ref").to_string(),
        urgent: posted.ticked("urgent"),
        complex: posted.ticked("complex"),
        whistleblowing: posted.ticked("whistleblowing"),
    };
    let mut errors = Vec::new();
    let others: Vec<String> = form
        .parties
        .iter()
        .filter(|p| Some(p.as_str()) != caller.actor.agency.as_deref())
        .cloned()
        .collect();
    if others.is_empty() {
        errors.push(FormError::new(
            "parties",
            "Select the agency or agencies you disagree with",
        ));
    }
    if form.summary.trim().is_empty() {
        errors.push(FormError::new(
            "summary",
            "Enter what the disagreement is about",
        ));
    }
    if !errors.is_empty() {
        return raise_page(&state, &caller, form, errors).await;
    }
    let mut parties: Vec<String> = caller.actor.agency.iter().cloned().collect();
    parties.extend(others);
    let new = NewDispute {
        parties,
        summary: form.summary.clone(),
        child_ref: Some(form.child_ref.clone()).filter(|c| !c.trim().is_empty()),
        urgent: form.urgent,
        complex: form.complex,
        whistleblowing: form.whistleblowing,
    };
    let key = state.whistleblowing_key.clone();
    let actor = caller.actor.clone();
    let done = run(&state.pool, move |conn| {
        disputes::raise(conn, &key, &actor, new)
    })
    .await;
    match done {
        Ok(read) => {
            let id = read.record.state.id;
            tracing::info!(dispute = %id, "dispute raised in the console");
            Ok(see_other(&format!("/console/disputes/{id}?done=raised")))
        }
        Err(AppError::BadRequest(m) | AppError::Unprocessable(m)) => {
            let field = if m.contains("child_ref") {
                "child_ref"
            } else if m.contains("summary") {
                "summary"
            } else {
                "parties"
            };
            raise_page(&state, &caller, form, vec![FormError::new(field, &m)]).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The dispute page, with a form's errors (and status) when one failed.
async fn dispute_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    done: Option<String>,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let log = state.log.signer.verifier();
    let admit = caller.admit();
    let (actor, page) = run(&state.pool, move |conn| {
        service::dispute_page(conn, &id, &log, admit)
    })
    .await?;
    let d = &page.read.record.state;
    let facts = dispute_facts(d, &page.policy);
    let may = |route: &str| authz::may(route, &actor, Some(&facts));
    let mut options = service::options(&page.policy, d, &actor, &state.whistleblowing_key);
    options.propose &= may("dispute.propose");
    options.escalate &= may("dispute.escalate");
    options.withdraw &= may("dispute.withdraw");
    if !may("dispute.accept") {
        options.accept = None;
    }
    if !may("dispute.reject") {
        options.reject = None;
    }
    let view = pages::DisputePage {
        page: &page,
        options,
        with_text: authz::reads_free_text(&actor),
        now: chrono::Utc::now().naive_utc(),
        calendar: crate::service::deadline::calendar(),
        done,
        errors,
    };
    Ok(html(status, pages::dispute(&caller.nav(), &view)))
}

/// `GET /console/disputes/{id}`: what email links point at.
pub async fn dispute(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Answer {
    let done = q.into_inner().done;
    dispute_page(
        &state,
        &caller,
        id.into_inner(),
        done,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// Apply one ladder action (`service::disputes::act`, as the API's action
/// routes do); on a refusal of the text, the page again with the error.
async fn act(
    state: web::Data<AppState>,
    posted: Posted,
    id: String,
    action: Action,
    field: &'static str,
    done: &'static str,
) -> Answer {
    let caller = posted.caller;
    let key = state.whistleblowing_key.clone();
    let admit = caller.admit();
    let target = id.clone();
    let result = run(&state.pool, move |conn| {
        disputes::act(conn, &key, &target, action, admit)
    })
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/console/disputes/{id}?done={done}"))),
        Err(e @ (AppError::BadRequest(_) | AppError::Unprocessable(_))) => {
            let status = actix_web::ResponseError::status_code(&e);
            let errors = vec![FormError::new(field, &e.to_string())];
            dispute_page(&state, &caller, id, None, errors, status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The typed text of a form's field, or the page with its error.
fn required(posted: &Posted, field: &'static str, message: &str) -> Result<String, FormError> {
    let v = posted.field(field);
    if v.trim().is_empty() {
        Err(FormError::new(field, message))
    } else {
        Ok(v.to_string())
    }
}

async fn missing(state: &AppState, posted: &Posted, id: String, e: FormError) -> Answer {
    dispute_page(
        state,
        &posted.caller,
        id,
        None,
        vec![e],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub async fn propose(state: web::Data<AppState>, posted: Posted, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    match required(&posted, "resolution", "Enter the resolution you propose") {
        Ok(resolution) => {
            let action = Action::Propose { resolution };
            act(state, posted, id, action, "resolution", "proposed").await
        }
        Err(e) => missing(&state, &posted, id, e).await,
    }
}

pub async fn accept(
    state: web::Data<AppState>,
    posted: Posted,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, proposal_id) = path.into_inner();
    act(
        state,
        posted,
        id,
        Action::Accept { proposal_id },
        "accept",
        "accepted",
    )
    .await
}

pub async fn reject(
    state: web::Data<AppState>,
    posted: Posted,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, proposal_id) = path.into_inner();
    match required(
        &posted,
        "reject_reason",
        "Enter why you reject the proposal",
    ) {
        Ok(reason) => {
            let action = Action::Reject {
                proposal_id,
                reason,
            };
            act(state, posted, id, action, "reject_reason", "rejected").await
        }
        Err(e) => missing(&state, &posted, id, e).await,
    }
}

pub async fn escalate(state: web::Data<AppState>, posted: Posted, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    match required(
        &posted,
        "reason",
        "Enter why you are escalating the dispute",
    ) {
        Ok(reason) => {
            let action = Action::Escalate { reason };
            act(state, posted, id, action, "reason", "escalated").await
        }
        Err(e) => missing(&state, &posted, id, e).await,
    }
}

pub async fn withdraw(state: web::Data<AppState>, posted: Posted, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    match required(
        &posted,
        "withdraw_reason",
        "Enter why you are withdrawing the dispute",
    ) {
        Ok(reason) => {
            let action = Action::Withdraw { reason };
            act(state, posted, id, action, "withdraw_reason", "withdrawn").await
        }
        Err(e) => missing(&state, &posted, id, e).await,
    }
}
