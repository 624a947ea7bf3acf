//! The partnership team's console pages under `/console/admin/`: the registry
//! (add, rename, retire), ladder policies (read, activate, move a dispute),
//! webhooks and their deliveries, who gets email, redactions (request,
//! approve) and the witnesses with the latest checkpoint's cosignatures.
//!
//! Each handler takes its caller from the console's extractors (the row of
//! `authz::CONSOLE_ROUTES`, decided by the API row doing the same thing),
//! calls the same service function as that API handler, ledger writes
//! through the sequencer ([`write`]) as the API does, and renders
//! [`super::admin_pages`]. Which forms a page carries is [`Caller::may`] of
//! the API row the form posts to; the server refuses a forged one all the
//! same. A form that succeeds answers 303 to its page with a banner; one that
//! fails shows the page again with the GOV.UK error pattern, and writes nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::core::registry::{Agency, AgencyKind};
use crate::core::target::Target;
use crate::http::authz;
use crate::http::console::admin_pages::{
    self as view, AgencyForms, Frame, Latest, PolicyForms, RedactionForm, RegistryForms,
};
use crate::http::console::handlers::see_other;
use crate::http::console::pages::FormError;
use crate::http::console::{html, Caller, ConsoleError, Posted};
use crate::http::error::AppError;
use crate::http::state::{run, write, AppState};
use crate::service::disputes::{self, Migration};
use crate::service::error::NO_SUCH_DISPUTE;
use crate::service::redaction::{self, Step};
use crate::service::{email, ledger, policies, policy_store, registry, webhooks};

type Answer = Result<HttpResponse, ConsoleError>;

/// The admin pages, with the API row that decides each (its sub-navigation).
const SECTIONS: [(&str, &str, &str); 6] = [
    ("/console/admin/registry", "Registry", "agencies.list"),
    ("/console/admin/policies", "Policies", "policy.list"),
    ("/console/admin/webhooks", "Webhooks", "webhook.list"),
    ("/console/admin/email", "Email", "email.recipients"),
    ("/console/admin/redactions", "Redactions", "redaction.list"),
    ("/console/admin/witnesses", "Witnesses", "witness.list"),
];

/// Enough for the registry, the policies and the lists a page shows whole.
const ALL: i64 = 1000;

/// What a failed form brings back to its page: the errors, the status, and
/// what was typed (never the form token).
#[derive(Default)]
struct Failure {
    status: Option<StatusCode>,
    errors: Vec<FormError>,
    typed: Vec<(String, String)>,
}

impl Failure {
    fn new(posted: &Posted, status: StatusCode, errors: Vec<FormError>) -> Self {
        Failure {
            status: Some(status),
            errors,
            typed: posted
                .fields
                .iter()
                .filter(|(k, _)| k != "csrf")
                .cloned()
                .collect(),
        }
    }

    fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn done_words(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => "The agency has been added to the registry.",
        "renamed" => "The agency has been changed.",
        "retired" => "The agency has been retired.",
        "activated" => "The policy has been activated. New disputes follow it.",
        "migrated" => "The dispute has been moved onto the active policy.",
        "email" => "The address list has been saved.",
        "requested" => "The erasure has been requested. A scrutineer must approve it.",
        "approved" => "The erasure has been approved: the payload is erased.",
        _ => return None,
    })
}

fn frame<'a>(
    caller: &'a Caller,
    nav: &'a crate::http::console::pages::Nav,
    done: Option<&str>,
    f: &'a Failure,
) -> Frame<'a> {
    Frame {
        nav,
        sections: SECTIONS
            .iter()
            .filter(|(_, _, row)| caller.may(row))
            .map(|(path, words, _)| (*path, *words))
            .collect(),
        done: if f.errors.is_empty() {
            done_words(done)
        } else {
            None
        },
        errors: &f.errors,
        typed: &f.typed,
    }
}

/// A service's refusal of what was typed into `field`, as that field's error
/// with the refusal's status; anything else (the access table's refusal,
/// storage trouble) is the console's error page.
fn refused(e: AppError, field: &'static str) -> Result<(StatusCode, FormError), ConsoleError> {
    match e {
        AppError::Hidden(_) => Ok((
            StatusCode::NOT_FOUND,
            FormError::new(field, NO_SUCH_DISPUTE),
        )),
        e @ (AppError::BadRequest(_)
        | AppError::Unprocessable(_)
        | AppError::Conflict(_)
        | AppError::Forbidden(_)
        | AppError::NotFound(_)) => Ok((e.status_code(), FormError::new(field, &e.to_string()))),
        e => Err(e.into()),
    }
}

async fn agencies(state: &AppState) -> Result<Vec<Agency>, ConsoleError> {
    Ok(run(&state.pool, |conn| registry::agencies(conn, None, ALL)).await?)
}

// ---- the registry ----

async fn registry_page(
    state: &AppState,
    caller: &Caller,
    done: Option<&str>,
    f: Failure,
) -> Answer {
    let list = agencies(state).await?;
    let n = caller.nav();
    let forms = RegistryForms {
        add: caller.may("agency.create"),
    };
    let body = view::registry(&frame(caller, &n, done, &f), &list, &forms);
    Ok(html(f.status(), body))
}

/// `GET /console/admin/registry` (`agencies.list`).
pub async fn registry(state: web::Data<AppState>, caller: Caller, q: web::Query<Done>) -> Answer {
    registry_page(&state, &caller, q.done.as_deref(), Failure::default()).await
}

fn kind_of(posted: &Posted) -> Result<AgencyKind, FormError> {
    AgencyKind::parse(posted.field("kind"))
        .ok_or_else(|| FormError::new("kind", "Choose the agency’s kind"))
}

/// `POST /console/admin/registry` (`agency.create`): `registry::register`,
/// as `POST /v1/agencies`.
pub async fn add_agency(state: web::Data<AppState>, posted: Posted) -> Answer {
    let id = posted.field("id").trim().to_string();
    let name = posted.field("name").to_string();
    let mut errors = Vec::new();
    if id.is_empty() {
        errors.push(FormError::new("id", "Enter the agency’s id"));
    }
    if name.trim().is_empty() {
        errors.push(FormError::new("name", "Enter the agency’s name"));
    }
    let kind = kind_of(&posted).map_err(|e| errors.push(e)).ok();
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        let f = Failure::new(&posted, StatusCode::UNPROCESSABLE_ENTITY, errors);
        return registry_page(&state, &posted.caller, None, f).await;
    };
    let actor = posted.caller.actor.clone();
    let new = registry::NewAgency { id, name, kind };
    match write(&state, move |conn| registry::register(conn, &actor, new)).await {
        Ok((a, seq)) => {
            tracing::info!(agency = %a.id, seq, "agency registered in the console");
            Ok(see_other("/console/admin/registry?done=added"))
        }
        Err(e) => {
            let field = if e.to_string().starts_with("name") {
                "name"
            } else {
                "id"
            };
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            registry_page(&state, &posted.caller, None, f).await
        }
    }
}

async fn agency_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    done: Option<&str>,
    f: Failure,
) -> Answer {
    let a = run(&state.pool, move |conn| registry::agency(conn, &id)).await?;
    let n = caller.nav();
    let live = a.retired_at.is_none();
    let forms = AgencyForms {
        rename: live && caller.may("agency.update"),
        retire: live && a.statutory_partner.is_none() && caller.may("agency.retire"),
    };
    let body = view::agency(&frame(caller, &n, done, &f), &a, &forms);
    Ok(html(f.status(), body))
}

/// `GET /console/admin/registry/{id}` (`agency.read`).
pub async fn agency(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<Done>,
) -> Answer {
    agency_page(
        &state,
        &caller,
        id.into_inner(),
        q.done.as_deref(),
        Failure::default(),
    )
    .await
}

/// `POST /console/admin/registry/{id}/rename` (`agency.update`):
/// `registry::update`, as `PATCH /v1/agencies/{id}` with both fields.
pub async fn rename_agency(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    let id = id.into_inner();
    let name = posted.field("name").to_string();
    let mut errors = Vec::new();
    if name.trim().is_empty() {
        errors.push(FormError::new("name", "Enter the agency’s name"));
    }
    let kind = kind_of(&posted).map_err(|e| errors.push(e)).ok();
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        let f = Failure::new(&posted, StatusCode::UNPROCESSABLE_ENTITY, errors);
        return agency_page(&state, &posted.caller, id, None, f).await;
    };
    let actor = posted.caller.actor.clone();
    let target = id.clone();
    let done = write(&state, move |conn| {
        registry::update(conn, &actor, &target, Some(name), Some(kind))
    })
    .await;
    match done {
        Ok((a, seq)) => {
            tracing::info!(agency = %a.id, seq, "agency updated in the console");
            Ok(see_other(&format!(
                "/console/admin/registry/{}?done=renamed",
                a.id
            )))
        }
        Err(e @ AppError::NotFound(_)) => Err(e.into()),
        Err(e) => {
            let field = if e.to_string().contains("kind") {
                "kind"
            } else {
                "name"
            };
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            agency_page(&state, &posted.caller, id, None, f).await
        }
    }
}

/// `POST /console/admin/registry/{id}/retire` (`agency.retire`):
/// `registry::retire`, as `POST /v1/agencies/{id}/retire`.
pub async fn retire_agency(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    let id = id.into_inner();
    let actor = posted.caller.actor.clone();
    let target = id.clone();
    match write(&state, move |conn| registry::retire(conn, &actor, &target)).await {
        Ok((a, seq)) => {
            tracing::info!(agency = %a.id, seq, "agency retired in the console");
            Ok(see_other(&format!(
                "/console/admin/registry/{}?done=retired",
                a.id
            )))
        }
        Err(e @ AppError::NotFound(_)) => Err(e.into()),
        Err(e) => {
            let (status, err) = refused(e, "retire")?;
            let f = Failure::new(&posted, status, vec![err]);
            agency_page(&state, &posted.caller, id, None, f).await
        }
    }
}

// ---- policies ----

async fn policies_page(
    state: &AppState,
    caller: &Caller,
    done: Option<&str>,
    f: Failure,
) -> Answer {
    let list = run(&state.pool, |conn| policies::summaries(conn, None, ALL)).await?;
    let migrate = authz::may_on_some_dispute("dispute.migrate", &caller.actor);
    let active = if migrate {
        Some(run(&state.pool, policy_store::active_version).await?)
    } else {
        None
    };
    let rungs = list
        .iter()
        .find(|p| p.active)
        .map(|p| p.rungs.clone())
        .unwrap_or_default();
    let n = caller.nav();
    let forms = PolicyForms {
        activate: caller.may("policy.activate"),
        migrate,
        active,
        rungs,
    };
    let body = view::policies(&frame(caller, &n, done, &f), &list, &forms);
    Ok(html(f.status(), body))
}

/// `GET /console/admin/policies` (`policy.list`).
pub async fn policies(state: web::Data<AppState>, caller: Caller, q: web::Query<Done>) -> Answer {
    policies_page(&state, &caller, q.done.as_deref(), Failure::default()).await
}

/// `GET /console/admin/policies/{version}` (`policy.read`).
pub async fn policy(
    state: web::Data<AppState>,
    caller: Caller,
    version: web::Path<String>,
) -> Answer {
    let version = version.into_inner();
    let doc = run(&state.pool, move |conn| policies::document(conn, &version)).await?;
    let n = caller.nav();
    let f = Failure::default();
    let body = view::policy(&frame(&caller, &n, None, &f), &doc);
    Ok(html(StatusCode::OK, body))
}

/// `POST /console/admin/policies` (`policy.activate`): `policies::activate`,
/// as `POST /v1/policies`, with a held policy's `version` or a new `document`.
pub async fn activate_policy(state: web::Data<AppState>, posted: Posted) -> Answer {
    let from_document = posted.fields.iter().any(|(k, _)| k == "document");
    let (field, version, document) = if from_document {
        ("document", None, Some(posted.field("document").to_string()))
    } else {
        ("version", Some(posted.field("version").to_string()), None)
    };
    let given = version.as_deref().or(document.as_deref()).unwrap_or("");
    if given.trim().is_empty() {
        let message = if from_document {
            "Paste the policy document"
        } else {
            "Choose a policy to activate"
        };
        let f = Failure::new(
            &posted,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FormError::new(field, message)],
        );
        return policies_page(&state, &posted.caller, None, f).await;
    }
    let actor = posted.caller.actor.clone();
    let done = write(&state, move |conn| {
        policies::activate(conn, &actor, version.as_deref(), document.as_deref())
    })
    .await;
    match done {
        Ok((seq, doc)) => {
            tracing::info!(version = %doc.summary.version, seq, "policy activated in the console");
            Ok(see_other("/console/admin/policies?done=activated"))
        }
        Err(e) => {
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            policies_page(&state, &posted.caller, None, f).await
        }
    }
}

/// `POST /console/admin/migrate` (`dispute.migrate`, decided on the
/// dispute the form names): `disputes::migrate`, as `POST /v1/disputes/{id}/migrate`.
pub async fn migrate(state: web::Data<AppState>, posted: Posted) -> Answer {
    let id = posted.field("dispute").trim().to_string();
    let reason = posted.field("reason").to_string();
    let mut errors = Vec::new();
    if id.is_empty() {
        errors.push(FormError::new("dispute", "Enter the dispute’s id"));
    }
    if reason.trim().is_empty() {
        errors.push(FormError::new("reason", "Enter why the dispute is moving"));
    }
    if !errors.is_empty() {
        let f = Failure::new(&posted, StatusCode::UNPROCESSABLE_ENTITY, errors);
        return policies_page(&state, &posted.caller, None, f).await;
    }
    let rung = Some(posted.field("rung").trim().to_string()).filter(|r| !r.is_empty());
    let to = Migration {
        policy: posted.field("policy").to_string(),
        rung,
        reason,
    };
    let admit = posted.caller.admit();
    let target = id.clone();
    let done = write(&state, move |conn| {
        disputes::migrate(conn, &target, to, admit)
    })
    .await;
    match done {
        Ok(_) => {
            tracing::info!(dispute = %id, "dispute migrated in the console");
            Ok(see_other(&format!("/console/disputes/{id}")))
        }
        // A dispute that is not there, or that the caller may not see: the
        // console's 404, byte for byte the same for both (as the API's).
        Err(e @ (AppError::Denied(_) | AppError::NotFound(_) | AppError::Hidden(_))) => {
            Err(e.into())
        }
        Err(e) => {
            let message = e.to_string();
            let field = if message.contains("rung") {
                "rung"
            } else if message.contains("reason") {
                "reason"
            } else {
                "dispute"
            };
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            policies_page(&state, &posted.caller, None, f).await
        }
    }
}

// ---- webhooks ----

/// `GET /console/admin/webhooks` (`webhook.list`).
pub async fn webhooks(state: web::Data<AppState>, caller: Caller) -> Answer {
    let list = run(&state.pool, |conn| webhooks::list(conn, None, ALL)).await?;
    let all = agencies(&state).await?;
    let n = caller.nav();
    let f = Failure::default();
    let body = view::webhooks(&frame(&caller, &n, None, &f), &list, &all);
    Ok(html(StatusCode::OK, body))
}

/// `GET /console/admin/webhooks/{id}` (`webhook.deliveries`): the endpoint
/// and its latest deliveries.
pub async fn webhook(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    let (w, deliveries) = run(&state.pool, move |conn| {
        let w = webhooks::get(conn, &id)?;
        let d = webhooks::deliveries(conn, &id, None, ALL)?;
        Ok::<_, crate::service::error::ServiceError>((w, d))
    })
    .await?;
    let all = agencies(&state).await?;
    let n = caller.nav();
    let f = Failure::default();
    let body = view::webhook(&frame(&caller, &n, None, &f), &w, &deliveries, &all);
    Ok(html(StatusCode::OK, body))
}

// ---- email ----

async fn email_page(state: &AppState, caller: &Caller, done: Option<&str>, f: Failure) -> Answer {
    let lists = run(&state.pool, email::recipients).await?;
    let all = agencies(state).await?;
    let n = caller.nav();
    let may_set = caller.may("email.recipients_set");
    let body = view::email(&frame(caller, &n, done, &f), &lists, &all, may_set);
    Ok(html(f.status(), body))
}

/// `GET /console/admin/email` (`email.recipients`).
pub async fn email(state: web::Data<AppState>, caller: Caller, q: web::Query<Done>) -> Answer {
    email_page(&state, &caller, q.done.as_deref(), Failure::default()).await
}

/// `POST /console/admin/email` (`email.recipients_set`):
/// `email::set_recipients`, as `POST /v1/admin/email/recipients`.
pub async fn set_email(state: web::Data<AppState>, posted: Posted) -> Answer {
    let target = posted
        .field("target")
        .split_once(':')
        .and_then(|(k, v)| Target::from_columns(k, v).ok());
    let Some(target) = target else {
        let f = Failure::new(
            &posted,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FormError::new("target", "Choose an agency or a role")],
        );
        return email_page(&state, &posted.caller, None, f).await;
    };
    let addresses: Vec<String> = posted
        .field("addresses")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let actor = posted.caller.actor.clone();
    let done = write(&state, move |conn| {
        email::set_recipients(conn, &actor, target, &addresses)
    })
    .await;
    match done {
        Ok(r) => {
            tracing::info!(
                seq = r.seq,
                count = r.addresses.len(),
                "email recipients set in the console"
            );
            Ok(see_other("/console/admin/email?done=email"))
        }
        Err(e) => {
            let field = if e.to_string().contains("agency") {
                "target"
            } else {
                "addresses"
            };
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            email_page(&state, &posted.caller, None, f).await
        }
    }
}

// ---- redactions ----

async fn redactions_page(
    state: &AppState,
    caller: &Caller,
    done: Option<&str>,
    f: Failure,
) -> Answer {
    let list = run(&state.pool, |conn| ledger::redactions(conn, None, ALL)).await?;
    let form = if !caller.may("redaction.redact") {
        RedactionForm::None
    } else {
        match redaction::step_for(&caller.actor) {
            Ok(Step::Request) => RedactionForm::Request,
            Ok(Step::Approve) => RedactionForm::Approve,
            Err(_) => RedactionForm::None,
        }
    };
    let n = caller.nav();
    let body = view::redactions(&frame(caller, &n, done, &f), &list, form);
    Ok(html(f.status(), body))
}

/// `GET /console/admin/redactions` (`redaction.list`).
pub async fn redactions(state: web::Data<AppState>, caller: Caller, q: web::Query<Done>) -> Answer {
    redactions_page(&state, &caller, q.done.as_deref(), Failure::default()).await
}

/// `POST /console/admin/redactions` (`redaction.redact`): `ledger::redact`,
/// as `POST /v1/admin/ledger/entries/{seq}/redact`: a partnership_admin's
/// request (with a reason) or a scrutineer's approval.
pub async fn redact(state: web::Data<AppState>, posted: Posted) -> Answer {
    let step = redaction::step_for(&posted.caller.actor).map_err(AppError::from)?;
    let (seq_field, reason_field) = match step {
        Step::Request => ("seq", "reason"),
        Step::Approve => ("approve", "approve"),
    };
    let mut errors = Vec::new();
    let seq = posted.field("seq").trim().parse::<i64>().ok();
    if seq.is_none() {
        errors.push(FormError::new(
            seq_field,
            "Enter the ledger entry’s number, like 42",
        ));
    }
    let reason = Some(posted.field("reason").to_string()).filter(|r| !r.trim().is_empty());
    if step == Step::Request && reason.is_none() {
        errors.push(FormError::new(
            reason_field,
            "Enter why the payload must be erased",
        ));
    }
    let Some(seq) = seq.filter(|_| errors.is_empty()) else {
        let f = Failure::new(&posted, StatusCode::UNPROCESSABLE_ENTITY, errors);
        return redactions_page(&state, &posted.caller, None, f).await;
    };
    let actor = posted.caller.actor.clone();
    let done = write(&state, move |conn| {
        ledger::redact(conn, &actor, seq, reason.as_deref())
    })
    .await;
    match done {
        Ok((step, row)) => {
            tracing::info!(seq = row.target_seq, step = ?step, "redaction in the console");
            let done = match step {
                Step::Request => "requested",
                Step::Approve => "approved",
            };
            Ok(see_other(&format!("/console/admin/redactions?done={done}")))
        }
        Err(e) => {
            let field = if e.to_string().contains("reason") {
                reason_field
            } else {
                seq_field
            };
            let (status, err) = refused(e, field)?;
            let f = Failure::new(&posted, status, vec![err]);
            redactions_page(&state, &posted.caller, None, f).await
        }
    }
}

// ---- witnesses ----

/// `GET /console/admin/witnesses` (`witness.list`): the witnesses and the
/// cosignatures of the newest signed checkpoint (`ledger::witnessed_with_keys`, as
/// `GET /v1/ledger/checkpoint/witnessed`).
pub async fn witnesses(state: web::Data<AppState>, caller: Caller) -> Answer {
    let list = run(&state.pool, |conn| ledger::witnesses(conn, None, ALL)).await?;
    let latest = run(&state.pool, |conn| {
        match ledger::witnessed_with_keys(conn) {
            Ok((size, names, keys)) => {
                let mut cosignatures = Vec::with_capacity(names.len());
                for name in names {
                    cosignatures.push(ledger::cosignature(conn, size, &name)?);
                }
                Ok(Some((size, cosignatures, keys)))
            }
            Err(crate::service::error::ServiceError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await?;
    let latest = latest.map(|(size, cosignatures, keys)| Latest {
        size,
        quorum: state.witness_quorum.min_cosignatures(),
        met: state.witness_quorum.met_by(&keys),
        cosignatures,
    });
    let n = caller.nav();
    let f = Failure::default();
    let body = view::witnesses(&frame(&caller, &n, None, &f), &list, latest.as_ref());
    Ok(html(StatusCode::OK, body))
}

/// Mount the admin pages (called from [`super::routes`]).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/admin/registry", web::get().to(registry))
        .route("/console/admin/registry", web::post().to(add_agency))
        .route("/console/admin/registry/{agency}", web::get().to(agency))
        .route(
            "/console/admin/registry/{agency}/rename",
            web::post().to(rename_agency),
        )
        .route(
            "/console/admin/registry/{agency}/retire",
            web::post().to(retire_agency),
        )
        .route("/console/admin/policies", web::get().to(policies))
        .route("/console/admin/policies", web::post().to(activate_policy))
        .route("/console/admin/migrate", web::post().to(migrate))
        .route("/console/admin/policies/{version}", web::get().to(policy))
        .route("/console/admin/webhooks", web::get().to(webhooks))
        .route("/console/admin/webhooks/{webhook}", web::get().to(webhook))
        .route("/console/admin/email", web::get().to(email))
        .route("/console/admin/email", web::post().to(set_email))
        .route("/console/admin/redactions", web::get().to(redactions))
        .route("/console/admin/redactions", web::post().to(redact))
        .route("/console/admin/witnesses", web::get().to(witnesses));
}
