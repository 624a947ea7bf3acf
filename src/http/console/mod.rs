//! The console: server-rendered HTML pages under `/console/` for the people
//! who run the ladder, signed in by a one-time link and a server-side session.
//!
//! - Pages are [`maud`] templates ([`pages`]), compiled into the binary with
//!   the stylesheet (`style.css`, `include_str!`): no script, no CDN.
//! - Who may use a page or form is decided by the access table: each console
//!   route names the API row that decides it (`authz::CONSOLE_ROUTES`), and
//!   the extractors here apply [`authz::authorize`] with that row, as the
//!   API's extractors do. Buttons are shown by [`authz::may`] and the rung's
//!   rules ([`crate::service::console::options`]); the server refuses a forged
//!   one all the same, through the same service call as the API.
//! - Every POST carries the session's form token (`csrf`); without the right
//!   one it is refused with 403 before anything else is read.

pub mod admin;
pub mod admin_pages;
pub mod auditor;
pub mod charts;
pub mod handlers;
pub mod oidc;
pub mod pages;
pub mod scrutiny;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::core::ladder::{Actor, Dispute, Policy};
use crate::http::authz::{self, ConsoleRoute, Method, Route, RouteId};
use crate::http::error::AppError;
use crate::http::handlers::disputes::dispute_facts;
use crate::http::state::{run, AppState};
use crate::service::console::{self as service, Timeouts};

/// The session cookie's name.
pub const COOKIE: &str = "console_session";

/// The console's settings (app data).
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Where people reach the service (`PUBLIC_BASE_URL`): sign-in links and
    /// email links start with it; `https` makes the cookie `Secure`.
    pub public_base_url: String,
    pub timeouts: Timeouts,
    /// Sign-in with the organisation's identity provider, when configured.
    pub oidc: Option<oidc::OidcConfig>,
}

impl ConsoleConfig {
    pub fn secure_cookie(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            public_base_url: "http://127.0.0.1:8080".into(),
            timeouts: Timeouts::default(),
            oidc: None,
        }
    }
}

/// The URL that signs in with `token`.
pub fn sign_in_url(base: &str, token: &str) -> String {
    format!(
        "{}/console/sign-in?token={token}",
        base.trim_end_matches('/')
    )
}

/// Why a console request was not served: rendered as an HTML page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: a page sends the browser to sign in; a form is refused.
    SignIn {
        next: Option<String>,
    },
    /// A form without its session's form token.
    Csrf,
    App(AppError),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignIn { .. } => f.write_str("not signed in"),
            ConsoleError::Csrf => f.write_str("the form token is missing or wrong"),
            ConsoleError::App(e) => write!(f, "{e}"),
        }
    }
}

impl<E: Into<AppError>> From<E> for ConsoleError {
    fn from(e: E) -> Self {
        ConsoleError::App(e.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn { next } => {
                let to = match next {
                    Some(n) => format!("/console/sign-in?next={}", encode(n)),
                    None => "/console/sign-in".into(),
                };
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .finish()
            }
            ConsoleError::Csrf => html(
                StatusCode::FORBIDDEN,
                pages::problem(
                    "This form has expired",
                    "The form was not sent from this console, or your session changed. \
                     Nothing was recorded. Go back, reload the page and try again.",
                ),
            ),
            ConsoleError::App(e) => {
                let status = e.status_code();
                let detail = match e {
                    AppError::Internal(cause) => {
                        tracing::error!(%cause, "internal error");
                        "Something went wrong. The cause is in the service log.".to_string()
                    }
                    // The same answer as for a dispute that does not exist.
                    AppError::Hidden(_) => crate::service::error::NO_SUCH_DISPUTE.to_string(),
                    other => other.to_string(),
                };
                let title = e.problem_type().page().title;
                html(status, pages::problem(title, &detail))
            }
        }
    }
}

/// An HTML answer.
pub fn html(status: StatusCode, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_string())
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The console row for the route actix matched.
fn matched(req: &HttpRequest) -> Result<&'static ConsoleRoute, AppError> {
    let method = Method::parse(req.method().as_str());
    let pattern = req.match_pattern();
    match (method, pattern.as_deref()) {
        (Some(m), Some(p)) => authz::console_route(m, p),
        _ => None,
    }
    .ok_or_else(|| {
        AppError::Denied(format!(
            "{} {} is not in the console's access table",
            req.method(),
            pattern.as_deref().unwrap_or(req.path())
        ))
    })
}

/// A signed-in caller of a console route, once the access table has let them
/// reach it (for a route about one dispute: once [`Caller::admit`] has seen it).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The session's form token, for the forms a page renders.
    pub csrf: String,
    /// The cookie's value, for signing out.
    session: String,
    /// The API row that decides this route (`None` for sign-out).
    row: Option<&'static Route>,
}

impl Caller {
    /// The admission to a dispute, for the service to apply to the dispute it
    /// loads: the row's rule on it (404 if the caller may not see it, else 403).
    pub fn admit(&self) -> impl FnOnce(&Dispute, &Policy) -> Result<Actor, AppError> + Send {
        let row = self.row;
        let actor = self.actor.clone();
        move |d, policy| {
            let row = row.ok_or_else(|| AppError::Internal("no row decides this".into()))?;
            authz::authorize(row, &actor, Some(&dispute_facts(d, policy)))?;
            Ok(actor)
        }
    }

    /// Whether this caller may use API route `id` (decided by role alone).
    pub fn may(&self, id: &str) -> bool {
        authz::may(id, &self.actor, None)
    }

    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// The header's view of this caller, its links shown as the table allows.
    pub fn nav(&self) -> pages::Nav {
        pages::Nav {
            sub: self.actor.sub.clone(),
            role: self.actor.role,
            agency: self.actor.agency.clone(),
            csrf: self.csrf.clone(),
            may_raise: self.may("dispute.raise"),
            may_scrutiny: self.may("mediation.list"),
            may_recommendations: self.may("recommendation.list"),
            may_ledger: self.may("ledger.entries"),
            may_report: self.may("report.escalations"),
            may_admin: self.may("webhook.list"),
        }
    }
}

/// The live session of a request, if any.
async fn session_of(req: &HttpRequest) -> Result<Option<(service::Session, String)>, AppError> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let id = cookie.value().to_string();
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("no app state".into()))?;
    let limits = req
        .app_data::<web::Data<ConsoleConfig>>()
        .map(|c| c.timeouts)
        .unwrap_or_default();
    let key = id.clone();
    let found = run(&state.pool, move |conn| {
        service::session(conn, &key, limits)
    })
    .await?;
    Ok(found.map(|s| (s, id)))
}

async fn caller(req: HttpRequest) -> Result<Caller, ConsoleError> {
    let route = matched(&req)?;
    req.extensions_mut().insert(RouteId(route.id));
    let next = (req.method() == actix_web::http::Method::GET).then(|| req.path().to_string());
    let Some((session, id)) = session_of(&req).await? else {
        return Err(ConsoleError::SignIn { next });
    };
    // For the refusal log (`app::log_refusals`): who was refused.
    req.extensions_mut().insert(session.actor.clone());
    let row = authz::deciding_row(route);
    if let Some(row) = row {
        if row.scope != authz::Scope::Dispute {
            authz::authorize(row, &session.actor, None).map_err(AppError::from)?;
        }
    }
    Ok(Caller {
        actor: session.actor,
        csrf: session.csrf,
        session: id,
        row,
    })
}

impl FromRequest for Caller {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(caller(req.clone()))
    }
}

/// A form posted by a signed-in caller, its form token checked: the caller
/// and the form's fields (repeated names kept, in order).
#[derive(Debug, Clone)]
pub struct Posted {
    pub caller: Caller,
    pub fields: Vec<(String, String)>,
}

impl Posted {
    /// The first value of field `name`, or "".
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of field `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether checkbox `name` is ticked.
    pub fn ticked(&self, name: &str) -> bool {
        !self.field(name).is_empty()
    }
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let route = matched(&req)?;
            req.extensions_mut().insert(RouteId(route.id));
            // A form without a session is refused like a forged one.
            let Some((session, _)) = session_of(&req).await? else {
                return Err(ConsoleError::Csrf);
            };
            let body = body
                .await
                .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
            let fields: Vec<(String, String)> =
                form_urlencoded::parse(&body).into_owned().collect();
            let token = fields
                .iter()
                .find(|(k, _)| k == "csrf")
                .map_or("", |(_, v)| v.as_str());
            if !same(token, &session.csrf) {
                tracing::warn!(
                    route_id = route.id,
                    "console form refused: form token missing or wrong"
                );
                return Err(ConsoleError::Csrf);
            }
            let caller = caller(req).await?;
            Ok(Posted { caller, fields })
        })
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure when the console is
/// served over https, for the console's paths only.
pub fn session_cookie(config: &ConsoleConfig, id: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, id.to_string())
        .path("/console")
        .http_only(true)
        .secure(config.secure_cookie())
        .same_site(SameSite::Lax)
        .finish()
}

/// Mount the console (not part of the OpenAPI document: it serves HTML).
pub fn routes(cfg: &mut web::ServiceConfig) {
    use handlers as h;
    cfg.route("/", web::get().to(h::root))
        .route("/console", web::get().to(h::home))
        .route("/console/style.css", web::get().to(h::style))
        .route("/console/accessibility", web::get().to(h::accessibility))
        .route("/console/sign-in", web::get().to(h::sign_in_page))
        .route("/console/sign-in", web::post().to(h::sign_in))
        .route("/console/sign-out", web::post().to(h::sign_out))
        .route("/console/oidc/start", web::get().to(oidc::start))
        .route("/console/oidc/callback", web::get().to(oidc::callback))
        .route("/console/disputes", web::get().to(h::disputes))
        .route("/console/disputes", web::post().to(h::raise))
        .route("/console/disputes/new", web::get().to(h::raise_form))
        .route("/console/disputes/{id}", web::get().to(h::dispute))
        .route(
            "/console/disputes/{id}/proposals",
            web::post().to(h::propose),
        )
        .route(
            "/console/disputes/{id}/proposals/{pid}/accept",
            web::post().to(h::accept),
        )
        .route(
            "/console/disputes/{id}/proposals/{pid}/reject",
            web::post().to(h::reject),
        )
        .route(
            "/console/disputes/{id}/escalate",
            web::post().to(h::escalate),
        )
        .route(
            "/console/disputes/{id}/withdraw",
            web::post().to(h::withdraw),
        )
        .configure(auditor_routes);
    // The partnership team's pages.
    admin::routes(cfg);
    scrutiny::routes(cfg);
}

/// The auditor's pages and the figures (`auditor`).
fn auditor_routes(cfg: &mut web::ServiceConfig) {
    use auditor as a;
    cfg.route("/console/ledger", web::get().to(a::ledger))
        .route("/console/ledger/entries/{seq}", web::get().to(a::entry))
        .route("/console/ledger/checkpoint", web::get().to(a::checkpoint))
        .route("/console/ledger/verify", web::get().to(a::verify_page))
        .route("/console/ledger/verify", web::post().to(a::verify_start))
        .route("/console/ledger/export", web::get().to(a::export))
        .route("/console/reports/escalations", web::get().to(a::report))
        .route("/console/disputes/{id}/proof", web::get().to(a::proof));
}
