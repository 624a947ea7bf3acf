//! Every route, registered once: [`routes`] mounts each handler with
//! `utoipa-actix-web`, so the handler's `#[utoipa::path]` supplies both its
//! route and its entry in the OpenAPI document ([`ApiDoc`], built from the
//! same registration). Who may call each route is [`crate::http::authz::ROUTES`].

use std::sync::OnceLock;

use actix_web::{web, App, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt as _;

use crate::http::error::AppError;
use crate::http::handlers::{
    agencies, disputes, email, health, ledger, metrics, policies, problems, proofs, redactions,
    reports, scrutiny, tlog, webhooks, whistleblowing, witnesses,
};

/// Largest accepted JSON body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Mount every route (and `/openapi.json`, which is not in the document).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .route("/openapi.json", web::get().to(openapi_json))
        // Behind a role; `METRICS_BIND` serves it open on a listener of its own.
        .service(metrics::metrics_for_role)
        .service(problems::problem_page)
        // ---- registry and disputes ----
        .service(agencies::list_agencies)
        .service(agencies::create_agency)
        .service(agencies::read_agency)
        .service(agencies::update_agency)
        .service(agencies::retire_agency)
        .service(disputes::raise_dispute)
        .service(disputes::list_disputes)
        .service(disputes::get_dispute)
        .service(disputes::propose)
        .service(disputes::get_proposal)
        .service(disputes::accept)
        .service(disputes::reject)
        .service(disputes::escalate)
        .service(disputes::withdraw)
        .service(disputes::migrate_dispute)
        .service(disputes::history)
        .service(proofs::dispute_proof)
        // ---- the ledger ----
        .service(ledger::ledger_head)
        .service(ledger::ledger_entries)
        .service(ledger::ledger_verify)
        .service(ledger::ledger_export)
        .service(proofs::inclusion_proof)
        .service(proofs::consistency_proof)
        .service(witnesses::get_checkpoint)
        .service(witnesses::ledger_keys)
        .service(witnesses::register_witness)
        .service(witnesses::list_witnesses)
        .service(witnesses::get_witness)
        .service(witnesses::post_cosignature)
        .service(witnesses::get_cosignature)
        .service(witnesses::checkpoint_witnessed)
        .service(redactions::redact_entry)
        .service(redactions::list_redactions)
        // ---- notifications ----
        .service(webhooks::register_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::deactivate_webhook)
        .service(webhooks::webhook_deliveries)
        .service(email::set_email_recipients)
        .service(email::list_email_recipients)
        .service(email::email_deliveries)
        // ---- whistleblowing ----
        .service(whistleblowing::get_whistleblower)
        // ---- the scrutineer's work ----
        .service(scrutiny::open_mediation)
        .service(scrutiny::list_mediations)
        .service(scrutiny::get_mediation)
        .service(scrutiny::record_session)
        .service(scrutiny::get_session)
        .service(scrutiny::close_mediation)
        .service(scrutiny::request_review)
        .service(scrutiny::list_reviews)
        .service(scrutiny::get_review)
        .service(scrutiny::accept_review)
        .service(scrutiny::decline_review)
        .service(scrutiny::record_findings)
        .service(scrutiny::issue_recommendation)
        .service(scrutiny::list_recommendations)
        .service(scrutiny::get_recommendation)
        .service(scrutiny::respond)
        // ---- ladder policies ----
        .service(policies::list_policies)
        .service(policies::activate_policy)
        .service(policies::get_policy)
        // ---- the annual report ----
        .service(reports::escalations_report)
        // ---- C2SP tlog-tiles, no token (entries before the hash tiles: both match tile/entries/...) ----
        .service(tlog::tlog_checkpoint)
        .service(tlog::entry_bundle)
        .service(tlog::hash_tile);
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The API's default service, for every request no route took: a
/// problem+json 405 with `Allow` when the access table has the path under
/// other methods ([`crate::http::authz::allowed_methods`]), else a 404.
pub async fn unrouted(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let allow = crate::http::authz::allowed_methods(req.path());
    if !allow.is_empty() {
        return Err(AppError::MethodNotAllowed {
            method: req.method().to_string(),
            path: req.path().to_string(),
            allow,
        });
    }
    not_found(req).await
}

/// A problem+json 404 for every path no route matches (the default service
/// of listeners that serve none of the API, such as `/metrics`).
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

/// What the document says besides its paths (and the schemas they use).
#[derive(OpenApi)]
#[openapi(
    info(title = "escalation-ledger", description = "The KRSCP escalation ladder for disagreements between safeguarding agencies, with a hash-chained ledger."),
    modifiers(&BearerAuth)
)]
struct Base;

/// The OpenAPI document: [`Base`] and what [`routes`] registers, completed by
/// [`crate::http::openapi::Contract`].
pub struct ApiDoc;

impl ApiDoc {
    pub fn openapi() -> utoipa::openapi::OpenApi {
        static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
        DOC.get_or_init(|| {
            let (_, mut doc) = App::new()
                .into_utoipa_app()
                .openapi(Base::openapi())
                .configure(routes)
                .split_for_parts();
            // Errors, limits and servers, over every operation at once.
            utoipa::Modify::modify(&crate::http::openapi::Contract, &mut doc);
            doc
        })
        .clone()
    }

    /// The document as committed in `openapi/openapi.json`.
    pub fn openapi_pretty() -> String {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
