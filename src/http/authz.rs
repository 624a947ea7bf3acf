//! Authorisation: one table decides who may call which route.
//!
//! [`ROUTES`] has one row per route the service mounts: the method, the path
//! template, a stable id, and a [`Rule`] for each role. [`authorize`] is the one
//! place a request's access is decided. A route missing from the table, and a
//! role a row does not allow, are refused: deny by default.
//!
//! Handlers get their caller only through the two extractors at the end of
//! this module, which apply the table: [`Allowed`] for routes decided by role
//! alone, [`ForDispute`] for routes about one dispute, whose actor is handed
//! over only once [`ForDispute::check`] has seen the dispute. No handler checks
//! a role itself.
//!
//! Refusals keep existence from leaking: a caller who may not see the dispute
//! a route names gets the same 404 as for a dispute that does not exist; a
//! caller who sees it but may not use the route, or who may not use a route
//! that names no dispute, gets a 403 (`access-denied`).
//!
//! What a caller may do *on a rung* (propose, accept, escalate, withdraw) is not
//! decided here: the table lets a caller reach a dispute's action routes, and
//! `ladder::decide` then applies the rung's rules from the ladder `Policy`
//! (a refusal there is a 403 `forbidden`).
//!
//! This module names no rung: whether a chief officer may see a dispute is a
//! fact the caller computes ([`DisputeFacts::chief_officer_may_see`],
//! `handlers::disputes::dispute_facts`).

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::core::ladder::{Actor, Role};
use crate::http::error::AppError;

/// One role's access to one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Refused: the default.
    Deny,
    /// Allowed.
    Allow,
    /// An agency user whose agency is a party to the dispute.
    Party,
    /// The dispute has reached the rung from which chief officers see disputes.
    ChiefOfficerRung,
}

/// What a route's decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No token needed: health checks and the OpenAPI document.
    Public,
    /// The caller's role alone; only `Allow` and `Deny` mean anything here.
    Role,
    /// The caller and one dispute (named in the path, or for a review request
    /// in the body): callers who do not see the dispute get a 404.
    Dispute,
}

/// The HTTP methods the service routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// `GET`, `POST`, `PATCH` or `DELETE` (any case); anything else is not routed.
    pub fn parse(s: &str) -> Option<Method> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }
}

/// A [`Rule`] per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub agency: Rule,
    pub slg: Rule,
    pub statutory_partner: Rule,
    pub chief_officer: Rule,
    pub scrutineer: Rule,
    pub partnership_admin: Rule,
    pub auditor: Rule,
}

impl Roles {
    pub const fn rule(&self, role: Role) -> Rule {
        match role {
            Role::Agency => self.agency,
            Role::Slg => self.slg,
            Role::StatutoryPartner => self.statutory_partner,
            Role::ChiefOfficer => self.chief_officer,
            Role::Scrutineer => self.scrutineer,
            Role::PartnershipAdmin => self.partnership_admin,
            Role::Auditor => self.auditor,
        }
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct Route {
    /// Stable id, for logs and tests.
    pub id: &'static str,
    pub method: Method,
    /// The path template as mounted (and as in the OpenAPI document).
    pub path: &'static str,
    pub scope: Scope,
    pub roles: Roles,
}

/// What the table needs to know about the dispute a request is about.
#[derive(Debug, Clone, Copy)]
pub struct DisputeFacts<'a> {
    /// Registry ids of the party agencies.
    pub parties: &'a [String],
    /// The dispute has reached the rung from which chief officers see it.
    /// Computed in one place: `handlers::disputes::dispute_facts`.
    pub chief_officer_may_see: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not see the dispute: answered as if it did not exist (404).
    /// The reason goes to the log only.
    NotVisible(String),
    /// The caller may not use this route (403).
    Forbidden(String),
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotVisible(reason) => AppError::Hidden(reason),
            Refusal::Forbidden(reason) => AppError::Denied(reason),
        }
    }
}

use Rule::{Allow, ChiefOfficerRung, Deny, Party};

/// Nobody: the base every row starts from.
pub const NOBODY: Roles = Roles {
    agency: Deny,
    slg: Deny,
    statutory_partner: Deny,
    chief_officer: Deny,
    scrutineer: Deny,
    partnership_admin: Deny,
    auditor: Deny,
};

/// Every authenticated caller.
pub const EVERYONE: Roles = Roles {
    agency: Allow,
    slg: Allow,
    statutory_partner: Allow,
    chief_officer: Allow,
    scrutineer: Allow,
    partnership_admin: Allow,
    auditor: Allow,
};

/// Who sees a dispute (its view, its history, its place in the list): the
/// party agencies' users; the chief officers once it reached their rung;
/// `slg`, `statutory_partner`, `scrutineer`, `partnership_admin` all. Anyone
/// else gets a 404, the `auditor` too: it reads the ledger instead (hashes,
/// events, actors, times; no free text, [`TEXT_READERS`]).
pub const DISPUTE_READERS: Roles = Roles {
    agency: Party,
    chief_officer: ChiefOfficerRung,
    auditor: Deny,
    ..EVERYONE
};

/// Who may reach a dispute's ladder actions: its readers but the auditor.
/// Which of them may act on the dispute's rung is `ladder::decide`'s call.
const LADDER_ACTORS: Roles = Roles {
    auditor: Deny,
    ..DISPUTE_READERS
};

/// The whole ledger spans every dispute, so only those who see every dispute
/// read it: not agency users, nor chief officers (who see only the disputes
/// that reached their rung).
const LEDGER_READERS: Roles = Roles {
    agency: Deny,
    chief_officer: Deny,
    ..EVERYONE
};

/// Who reads free text (summaries, resolutions, reasons) and `child_ref`.
pub const TEXT_READERS: Roles = Roles {
    auditor: Deny,
    ..EVERYONE
};

/// The annual report's figures (seed 9.1): the SLG publishes them, the
/// partners and the scrutineer check them, an auditor reproduces them. Not
/// agency users or chief officers, whose view is narrower than every dispute.
const REPORT_READERS: Roles = Roles {
    partnership_admin: Allow,
    slg: Allow,
    scrutineer: Allow,
    statutory_partner: Allow,
    auditor: Allow,
    ..NOBODY
};

/// `GET /metrics` behind a role: the auditor, whose token a Prometheus
/// scraper holds (it already reads the whole ledger, without free text).
const METRICS_READERS: Roles = Roles {
    auditor: Allow,
    ..NOBODY
};

/// Agency users: they raise disputes between their agency and others.
const AGENCY_USERS: Roles = Roles {
    agency: Allow,
    ..NOBODY
};

/// A party agency's user (the ladder narrows it to the raising agency), or
/// `partnership_admin`.
const WITHDRAWERS: Roles = Roles {
    agency: Party,
    partnership_admin: Allow,
    ..NOBODY
};

/// A party agency's user, or `partnership_admin` on behalf of a child or family.
const REVIEW_REQUESTERS: Roles = Roles {
    agency: Party,
    partnership_admin: Allow,
    ..NOBODY
};

const ADMIN: Roles = Roles {
    partnership_admin: Allow,
    ..NOBODY
};

const SCRUTINEER: Roles = Roles {
    scrutineer: Allow,
    ..NOBODY
};

const SLG: Roles = Roles {
    slg: Allow,
    ..NOBODY
};

/// `partnership_admin` requests, a different `scrutineer` approves.
const REDACTORS: Roles = Roles {
    partnership_admin: Allow,
    scrutineer: Allow,
    ..NOBODY
};

const REDACTION_READERS: Roles = Roles {
    auditor: Allow,
    ..REDACTORS
};

/// Mediations and reviews are read by the scrutineer and `partnership_admin`.
const SCRUTINY_READERS: Roles = Roles {
    partnership_admin: Allow,
    scrutineer: Allow,
    ..NOBODY
};

/// Recommendations are to the SLG, which reads them too.
const RECOMMENDATION_READERS: Roles = Roles {
    slg: Allow,
    ..SCRUTINY_READERS
};

const fn row(
    id: &'static str,
    method: Method,
    path: &'static str,
    scope: Scope,
    roles: Roles,
) -> Route {
    Route {
        id,
        method,
        path,
        scope,
        roles,
    }
}

use Method::{Delete, Get, Patch, Post};
use Scope::{Dispute, Public};
const ROLE: Scope = Scope::Role;

/// Every route the service mounts, and who may use it.
#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    // ---- operations: no token ----
    row("health",                  Get,    "/healthz",                                  Public,  EVERYONE),
    row("ready",                   Get,    "/readyz",                                   Public,  EVERYONE),
    row("openapi",                 Get,    "/openapi.json",                             Public,  EVERYONE),
    // Prometheus figures (counts, no dispute ids or text): the auditor's token
    // a scraper holds. `METRICS_BIND` serves the same, open, on its own listener.
    row("metrics",                 Get,    "/metrics",                                  ROLE,    METRICS_READERS),
    // What each problem `type` means and what to do: whoever got the problem.
    row("problem.page",            Get,    "/problems/{name}",                          Public,  EVERYONE),
    // ---- registry and disputes ----
    row("agencies.list",           Get,    "/v1/agencies",                              ROLE,    EVERYONE),
    row("agency.read",             Get,    "/v1/agencies/{id}",                         ROLE,    EVERYONE),
    // The registry belongs to the partnership: its administration changes it.
    row("agency.create",           Post,   "/v1/agencies",                              ROLE,    ADMIN),
    row("agency.update",           Patch,  "/v1/agencies/{id}",                         ROLE,    ADMIN),
    row("agency.retire",           Post,   "/v1/agencies/{id}/retire",                  ROLE,    ADMIN),
    row("dispute.raise",           Post,   "/v1/disputes",                              ROLE,    AGENCY_USERS),
    // Everyone may list; the list holds only the disputes they see (`list_scope`).
    row("dispute.list",            Get,    "/v1/disputes",                              ROLE,    EVERYONE),
    row("dispute.read",            Get,    "/v1/disputes/{id}",                         Dispute, DISPUTE_READERS),
    row("dispute.history",         Get,    "/v1/disputes/{id}/history",                 Dispute, DISPUTE_READERS),
    row("dispute.proof",           Get,    "/v1/disputes/{id}/proof",                   Dispute, DISPUTE_READERS),
    // Then `ladder::decide` applies the rung's rules.
    row("dispute.propose",         Post,   "/v1/disputes/{id}/proposals",               Dispute, LADDER_ACTORS),
    row("dispute.proposal",        Get,    "/v1/disputes/{id}/proposals/{pid}",         Dispute, DISPUTE_READERS),
    row("dispute.accept",          Post,   "/v1/disputes/{id}/proposals/{pid}/accept",  Dispute, LADDER_ACTORS),
    row("dispute.reject",          Post,   "/v1/disputes/{id}/proposals/{pid}/reject",  Dispute, LADDER_ACTORS),
    row("dispute.escalate",        Post,   "/v1/disputes/{id}/escalate",                Dispute, LADDER_ACTORS),
    row("dispute.withdraw",        Post,   "/v1/disputes/{id}/withdraw",                Dispute, WITHDRAWERS),
    // Onto the active ladder policy: `partnership_admin` only, explicitly.
    row("dispute.migrate",         Post,   "/v1/disputes/{id}/migrate",                 Dispute, ADMIN),
    // ---- the ledger ----
    row("ledger.head",             Get,    "/v1/ledger/head",                           ROLE,    LEDGER_READERS),
    row("ledger.entries",          Get,    "/v1/ledger/entries",                        ROLE,    LEDGER_READERS),
    row("ledger.verify",           Get,    "/v1/ledger/verify",                         ROLE,    LEDGER_READERS),
    row("ledger.export",           Get,    "/v1/ledger/export",                         ROLE,    LEDGER_READERS),
    // Hashes, signatures and keys: anyone may check the log.
    row("ledger.inclusion",        Get,    "/v1/ledger/proofs/inclusion",               ROLE,    EVERYONE),
    row("ledger.consistency",      Get,    "/v1/ledger/proofs/consistency",             ROLE,    EVERYONE),
    row("ledger.checkpoint",       Get,    "/v1/ledger/checkpoint",                     ROLE,    EVERYONE),
    row("ledger.witnessed",        Get,    "/v1/ledger/checkpoint/witnessed",           ROLE,    EVERYONE),
    row("ledger.keys",             Get,    "/v1/ledger/keys",                           ROLE,    EVERYONE),
    row("witness.list",            Get,    "/v1/ledger/witnesses",                      ROLE,    EVERYONE),
    row("witness.read",            Get,    "/v1/ledger/witnesses/{name}",               ROLE,    EVERYONE),
    // A cosignature is stored only if it verifies under a registered witness's key.
    row("witness.cosign",          Post,   "/v1/ledger/cosignatures",                   ROLE,    EVERYONE),
    row("witness.cosignature",     Get,    "/v1/ledger/cosignatures/{size}/{witness}",  ROLE,    EVERYONE),
    row("witness.register",        Post,   "/v1/admin/witnesses",                       ROLE,    ADMIN),
    row("redaction.redact",        Post,   "/v1/admin/ledger/entries/{seq}/redact",     ROLE,    REDACTORS),
    row("redaction.list",          Get,    "/v1/admin/ledger/redactions",               ROLE,    REDACTION_READERS),
    // ---- notifications ----
    row("webhook.register",        Post,   "/v1/admin/webhooks",                        ROLE,    ADMIN),
    row("webhook.list",            Get,    "/v1/admin/webhooks",                        ROLE,    ADMIN),
    row("webhook.read",            Get,    "/v1/admin/webhooks/{id}",                   ROLE,    ADMIN),
    row("webhook.deactivate",      Delete, "/v1/admin/webhooks/{id}",                   ROLE,    ADMIN),
    row("webhook.deliveries",      Get,    "/v1/admin/webhooks/{id}/deliveries",        ROLE,    ADMIN),
    // Staff addresses are personal data: the partnership team only.
    row("email.recipients_set",    Post,   "/v1/admin/email/recipients",                ROLE,    ADMIN),
    row("email.recipients",        Get,    "/v1/admin/email/recipients",                ROLE,    ADMIN),
    row("email.deliveries",        Get,    "/v1/admin/email/deliveries",                ROLE,    ADMIN),
    // ---- whistleblowing ----
    row("whistleblowing.identity", Get,    "/v1/admin/whistleblowing/{pseudonym}",      ROLE,    SCRUTINEER),
    // ---- the scrutineer's work ----
    row("mediation.open",          Post,   "/v1/admin/mediations",                      ROLE,    SCRUTINEER),
    row("mediation.list",          Get,    "/v1/admin/mediations",                      ROLE,    SCRUTINY_READERS),
    row("mediation.read",          Get,    "/v1/admin/mediations/{id}",                 ROLE,    SCRUTINY_READERS),
    row("mediation.session",       Post,   "/v1/admin/mediations/{id}/sessions",        ROLE,    SCRUTINEER),
    row("mediation.session_read",  Get,    "/v1/admin/mediations/{id}/sessions/{session}", ROLE, SCRUTINY_READERS),
    row("mediation.close",         Post,   "/v1/admin/mediations/{id}/close",           ROLE,    SCRUTINEER),
    // The dispute is the one the body names.
    row("review.request",          Post,   "/v1/admin/reviews",                         Dispute, REVIEW_REQUESTERS),
    row("review.list",             Get,    "/v1/admin/reviews",                         ROLE,    SCRUTINY_READERS),
    row("review.read",             Get,    "/v1/admin/reviews/{id}",                    ROLE,    SCRUTINY_READERS),
    row("review.accept",           Post,   "/v1/admin/reviews/{id}/accept",             ROLE,    SCRUTINEER),
    row("review.decline",          Post,   "/v1/admin/reviews/{id}/decline",            ROLE,    SCRUTINEER),
    row("review.findings",         Post,   "/v1/admin/reviews/{id}/findings",           ROLE,    SCRUTINEER),
    row("recommendation.issue",    Post,   "/v1/admin/recommendations",                 ROLE,    SCRUTINEER),
    row("recommendation.list",     Get,    "/v1/admin/recommendations",                 ROLE,    RECOMMENDATION_READERS),
    row("recommendation.read",     Get,    "/v1/admin/recommendations/{id}",            ROLE,    RECOMMENDATION_READERS),
    row("recommendation.respond",  Post,   "/v1/admin/recommendations/{id}/response",   ROLE,    SLG),
    // ---- ladder policies: anyone may read the rules in force ----
    row("policy.list",             Get,    "/v1/policies",                              ROLE,    EVERYONE),
    row("policy.read",             Get,    "/v1/policies/{version}",                    ROLE,    EVERYONE),
    row("policy.activate",         Post,   "/v1/policies",                              ROLE,    ADMIN),
    // ---- the annual report: figures, no free text ----
    row("report.escalations",      Get,    "/v1/reports/escalations",                   ROLE,    REPORT_READERS),
    // ---- C2SP tlog-tiles: hashes and canonical entries, what the auditor sees ----
    row("tlog.checkpoint",         Get,    "/tlog/checkpoint",                          Public,  EVERYONE),
    row("tlog.entries",            Get,    "/tlog/tile/entries/{index}",                Public,  EVERYONE),
    row("tlog.tile",               Get,    "/tlog/tile/{level}/{index}",                Public,  EVERYONE),
];

/// The row for `method` on the path template `path`, if there is one.
pub fn route(method: Method, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The methods [`ROUTES`] lists for a concrete request path (`/v1/disputes/7`
/// matches the template `/v1/disputes/{id}`), in table order, without
/// repeats; empty when no row's template matches. What a `405`'s `Allow`
/// header says.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    use std::sync::OnceLock;
    static TEMPLATES: OnceLock<Vec<(actix_web::dev::ResourceDef, Method)>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        ROUTES
            .iter()
            .map(|r| (actix_web::dev::ResourceDef::new(r.path), r.method))
            .collect()
    });
    let mut allow = Vec::new();
    for (def, method) in templates {
        if def.is_match(path) && !allow.contains(&method.as_str()) {
            allow.push(method.as_str());
        }
    }
    allow
}

/// The row with this id, if there is one.
pub fn by_id(id: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.id == id)
}

fn holds(rule: Rule, caller: &Actor, facts: &DisputeFacts) -> bool {
    match rule {
        Deny => false,
        Allow => true,
        Party => {
            caller.role == Role::Agency
                && caller
                    .agency
                    .as_ref()
                    .is_some_and(|a| facts.parties.contains(a))
        }
        ChiefOfficerRung => facts.chief_officer_may_see,
    }
}

fn why_hidden(rule: Rule, caller: &Actor) -> String {
    match rule {
        Party => format!(
            "agency {} is not a party to the dispute",
            caller.agency.as_deref().unwrap_or("(none)")
        ),
        ChiefOfficerRung => "the dispute has not reached the chief officers' rung".into(),
        _ => format!("{} does not see disputes", caller.role),
    }
}

fn forbidden(route: &Route, caller: &Actor) -> Refusal {
    Refusal::Forbidden(format!(
        "{} may not use {} {}",
        caller.role,
        route.method.as_str(),
        route.path
    ))
}

/// Decide one request: `Ok` or why not. `facts` describe the dispute of a
/// [`Scope::Dispute`] route and are required for one (without them it is
/// refused); other routes ignore them.
pub fn authorize(
    route: &Route,
    caller: &Actor,
    facts: Option<&DisputeFacts>,
) -> Result<(), Refusal> {
    let rule = route.roles.rule(caller.role);
    match route.scope {
        Scope::Public => Ok(()),
        Scope::Role if rule == Allow => Ok(()),
        Scope::Role => Err(forbidden(route, caller)),
        Scope::Dispute => {
            let Some(facts) = facts else {
                return Err(Refusal::Forbidden(format!(
                    "{} {} is decided on its dispute, which was not given",
                    route.method.as_str(),
                    route.path
                )));
            };
            let sight = DISPUTE_READERS.rule(caller.role);
            if !holds(sight, caller, facts) {
                return Err(Refusal::NotVisible(why_hidden(sight, caller)));
            }
            if holds(rule, caller, facts) {
                Ok(())
            } else {
                Err(forbidden(route, caller))
            }
        }
    }
}

/// Whether `caller` reads free text and `child_ref` ([`TEXT_READERS`]).
pub fn reads_free_text(caller: &Actor) -> bool {
    TEXT_READERS.rule(caller.role) == Allow
}

/// Which disputes a list shows `caller`: [`DISPUTE_READERS`] as a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    All,
    /// Those this agency is a party to.
    PartyOf(String),
    /// Those that reached the chief officers' rung.
    ChiefOfficerRung,
    Nothing,
}

pub fn list_scope(caller: &Actor) -> ListScope {
    match DISPUTE_READERS.rule(caller.role) {
        Allow => ListScope::All,
        Party => match (&caller.role, &caller.agency) {
            (Role::Agency, Some(a)) => ListScope::PartyOf(a.clone()),
            _ => ListScope::Nothing,
        },
        ChiefOfficerRung => ListScope::ChiefOfficerRung,
        Deny => ListScope::Nothing,
    }
}

// ---- the extractors that apply the table ----

/// The route a refused request was for, for the refusal log (`app::log_refusals`).
#[derive(Debug, Clone, Copy)]
pub struct RouteId(pub &'static str);

/// The table's row for the route actix matched.
fn matched(req: &HttpRequest) -> Result<&'static Route, AppError> {
    let method = Method::parse(req.method().as_str());
    let pattern = req.match_pattern();
    let found = match (method, pattern.as_deref()) {
        (Some(m), Some(p)) => route(m, p),
        _ => None,
    };
    let r = found.ok_or_else(|| {
        AppError::Denied(format!(
            "{} {} is not in the access table",
            req.method(),
            pattern.as_deref().unwrap_or(req.path())
        ))
    })?;
    req.extensions_mut().insert(RouteId(r.id));
    Ok(r)
}

/// The caller of a route decided by role alone, once the table has allowed it.
#[derive(Debug, Clone)]
pub struct Allowed(pub Actor);

impl FromRequest for Allowed {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = crate::http::auth::authenticate(req);
        let route = matched(req);
        Box::pin(async move {
            let actor = authenticated.await?;
            let route = route?;
            authorize(route, &actor, None)?;
            Ok(Allowed(actor))
        })
    }
}

/// The caller of a route about one dispute ([`Scope::Dispute`]). Authenticated,
/// but not yet allowed: the handler loads the dispute and [`ForDispute::check`]
/// decides, handing over the actor only if the table allows it.
#[derive(Debug, Clone)]
pub struct ForDispute {
    actor: Actor,
    route: &'static Route,
}

impl ForDispute {
    /// Decide on the loaded dispute; the actor, or the refusal (404 when the
    /// caller does not see the dispute, else 403).
    pub fn check(self, facts: &DisputeFacts) -> Result<Actor, AppError> {
        authorize(self.route, &self.actor, Some(facts))?;
        Ok(self.actor)
    }
}

impl FromRequest for ForDispute {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = crate::http::auth::authenticate(req);
        let route = matched(req);
        Box::pin(async move {
            let actor = authenticated.await?;
            Ok(ForDispute {
                actor,
                route: route?,
            })
        })
    }
}

// ---- the console: each page and form decided by a row above ----

/// A console page or form (`/console/...`: HTML, signed in by a session
/// cookie). The console has no access rule of its own: `decided_by` names the
/// row of [`ROUTES`] whose rule decides it (the API route doing the same
/// thing), applied by [`authorize`] exactly as for the API; `None` for the
/// pages anyone may open (signing in, the accessibility statement, the
/// stylesheet), where the caller may not yet be anyone.
#[derive(Debug)]
pub struct ConsoleRoute {
    pub id: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub decided_by: Option<&'static str>,
}

const fn page(
    id: &'static str,
    method: Method,
    path: &'static str,
    decided_by: Option<&'static str>,
) -> ConsoleRoute {
    ConsoleRoute {
        id,
        method,
        path,
        decided_by,
    }
}

/// Every console route, and the API row that decides it.
#[rustfmt::skip]
pub static CONSOLE_ROUTES: &[ConsoleRoute] = &[
    page("console.root",          Get,  "/",                                              None),
    page("console.style",         Get,  "/console/style.css",                             None),
    page("console.accessibility", Get,  "/console/accessibility",                         None),
    page("console.sign_in",       Get,  "/console/sign-in",                               None),
    page("console.sign_in_use",   Post, "/console/sign-in",                               None),
    // Needs a session and its form token, but no role.
    page("console.sign_out",      Post, "/console/sign-out",                              None),
    page("console.oidc_start",    Get,  "/console/oidc/start",                            None),
    page("console.oidc_callback", Get,  "/console/oidc/callback",                         None),
    page("console.home",          Get,  "/console",                                       Some("dispute.list")),
    page("console.disputes",      Get,  "/console/disputes",                              Some("dispute.list")),
    page("console.raise_form",    Get,  "/console/disputes/new",                          Some("dispute.raise")),
    page("console.raise",         Post, "/console/disputes",                              Some("dispute.raise")),
    page("console.dispute",       Get,  "/console/disputes/{id}",                         Some("dispute.read")),
    page("console.propose",       Post, "/console/disputes/{id}/proposals",               Some("dispute.propose")),
    page("console.accept",        Post, "/console/disputes/{id}/proposals/{pid}/accept",  Some("dispute.accept")),
    page("console.reject",        Post, "/console/disputes/{id}/proposals/{pid}/reject",  Some("dispute.reject")),
    page("console.escalate",      Post, "/console/disputes/{id}/escalate",                Some("dispute.escalate")),
    page("console.withdraw",      Post, "/console/disputes/{id}/withdraw",                Some("dispute.withdraw")),
    // The auditor's pages and the figures (`console::auditor`).
    page("console.ledger",        Get,  "/console/ledger",                                Some("ledger.entries")),
    page("console.ledger_entry",  Get,  "/console/ledger/entries/{seq}",                  Some("ledger.entries")),
    page("console.checkpoint",    Get,  "/console/ledger/checkpoint",                     Some("ledger.witnessed")),
    page("console.verify",        Get,  "/console/ledger/verify",                         Some("ledger.verify")),
    page("console.verify_start",  Post, "/console/ledger/verify",                         Some("ledger.verify")),
    page("console.export",        Get,  "/console/ledger/export",                         Some("ledger.export")),
    page("console.report",        Get,  "/console/reports/escalations",                   Some("report.escalations")),
    page("console.proof",         Get,  "/console/disputes/{id}/proof",                   Some("dispute.proof")),
    // ---- the partnership team's pages (`console::admin`) ----
    page("console.admin.registry",        Get,  "/console/admin/registry",                    Some("agencies.list")),
    page("console.admin.agency_add",      Post, "/console/admin/registry",                    Some("agency.create")),
    page("console.admin.agency",          Get,  "/console/admin/registry/{agency}",           Some("agency.read")),
    page("console.admin.agency_rename",   Post, "/console/admin/registry/{agency}/rename",    Some("agency.update")),
    page("console.admin.agency_retire",   Post, "/console/admin/registry/{agency}/retire",    Some("agency.retire")),
    page("console.admin.policies",        Get,  "/console/admin/policies",                    Some("policy.list")),
    page("console.admin.policy_activate", Post, "/console/admin/policies",                    Some("policy.activate")),
    page("console.admin.policy",          Get,  "/console/admin/policies/{version}",          Some("policy.read")),
    // Decided on the dispute the form names, as the API's row is.
    page("console.admin.migrate",         Post, "/console/admin/migrate",                     Some("dispute.migrate")),
    page("console.admin.webhooks",        Get,  "/console/admin/webhooks",                    Some("webhook.list")),
    page("console.admin.webhook",         Get,  "/console/admin/webhooks/{webhook}",          Some("webhook.deliveries")),
    page("console.admin.email",           Get,  "/console/admin/email",                       Some("email.recipients")),
    page("console.admin.email_set",       Post, "/console/admin/email",                       Some("email.recipients_set")),
    page("console.admin.redactions",      Get,  "/console/admin/redactions",                  Some("redaction.list")),
    page("console.admin.redact",          Post, "/console/admin/redactions",                  Some("redaction.redact")),
    page("console.admin.witnesses",       Get,  "/console/admin/witnesses",                   Some("witness.list")),
    // The scrutineer's workspace and the SLG's recommendations (console::scrutiny).
    page("console.scrutiny",               Get,  "/console/scrutiny",                           Some("mediation.list")),
    page("console.mediation_form",         Get,  "/console/scrutiny/mediations/new",            Some("mediation.open")),
    page("console.mediation_open",         Post, "/console/scrutiny/mediations",                Some("mediation.open")),
    page("console.mediation",              Get,  "/console/scrutiny/mediations/{id}",           Some("mediation.read")),
    page("console.mediation_session",      Post, "/console/scrutiny/mediations/{id}/sessions",  Some("mediation.session")),
    page("console.mediation_close",        Post, "/console/scrutiny/mediations/{id}/close",     Some("mediation.close")),
    page("console.review",                 Get,  "/console/scrutiny/reviews/{id}",              Some("review.read")),
    page("console.review_accept",          Post, "/console/scrutiny/reviews/{id}/accept",       Some("review.accept")),
    page("console.review_decline",         Post, "/console/scrutiny/reviews/{id}/decline",      Some("review.decline")),
    page("console.review_findings",        Post, "/console/scrutiny/reviews/{id}/findings",     Some("review.findings")),
    page("console.whistleblowing",         Get,  "/console/scrutiny/whistleblowing",            Some("whistleblowing.identity")),
    page("console.recommendations",        Get,  "/console/recommendations",                    Some("recommendation.list")),
    page("console.recommendation_form",    Get,  "/console/recommendations/new",                Some("recommendation.issue")),
    page("console.recommendation_issue",   Post, "/console/recommendations",                    Some("recommendation.issue")),
    page("console.recommendation",         Get,  "/console/recommendations/{id}",               Some("recommendation.read")),
    page("console.recommendation_respond", Post, "/console/recommendations/{id}/response",      Some("recommendation.respond")),
];

/// The console row for `method` on the path template `path`, if there is one.
pub fn console_route(method: Method, path: &str) -> Option<&'static ConsoleRoute> {
    CONSOLE_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
}

/// The API row that decides console row `c` (`None` for an open page).
pub fn deciding_row(c: &ConsoleRoute) -> Option<&'static Route> {
    c.decided_by.and_then(by_id)
}

/// Whether `caller` may use API route `id` on a dispute with these facts
/// (or, for a route decided by role alone, at all): what decides which
/// buttons and links a console page shows.
pub fn may(id: &str, caller: &Actor, facts: Option<&DisputeFacts>) -> bool {
    by_id(id).is_some_and(|r| authorize(r, caller, facts).is_ok())
}

/// Whether API route `id` lets `caller`'s role reach some dispute (its rule
/// is not `Deny`): what decides whether a page offers a form about a dispute
/// the caller names in it (moving a dispute onto the active policy), before
/// the dispute is known. The server decides on the dispute all the same.
pub fn may_on_some_dispute(id: &str, caller: &Actor) -> bool {
    by_id(id).is_some_and(|r| r.roles.rule(caller.role) != Deny)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn actor(role: Role, agency: Option<&str>) -> Actor {
        Actor {
            sub: "s".into(),
            role,
            agency: agency.map(str::to_string),
            partner: None,
        }
    }

    const ALL_ROLES: [Role; 7] = [
        Role::Agency,
        Role::Slg,
        Role::StatutoryPartner,
        Role::ChiefOfficer,
        Role::Scrutineer,
        Role::PartnershipAdmin,
        Role::Auditor,
    ];

    #[test]
    fn ids_and_routes_are_unique_and_rules_fit_their_scope() {
        let ids: BTreeSet<_> = ROUTES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), ROUTES.len(), "duplicate route id");
        let keys: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        assert_eq!(keys.len(), ROUTES.len(), "duplicate method and path");
        for r in ROUTES {
            assert_eq!(by_id(r.id).map(|x| x.path), Some(r.path));
            if r.scope != Scope::Dispute {
                for role in ALL_ROLES {
                    assert!(
                        matches!(r.roles.rule(role), Allow | Deny),
                        "{}: a dispute condition on a route without a dispute",
                        r.id
                    );
                }
            }
        }
    }

    #[test]
    fn allowed_methods_come_from_the_table() {
        assert_eq!(allowed_methods("/v1/disputes"), vec!["POST", "GET"]);
        assert_eq!(allowed_methods("/v1/disputes/abc"), vec!["GET"]);
        assert_eq!(
            allowed_methods("/v1/admin/webhooks/abc"),
            vec!["GET", "DELETE"]
        );
        assert_eq!(
            allowed_methods("/v1/disputes/abc/proposals/p1/accept"),
            vec!["POST"]
        );
        assert!(allowed_methods("/v1/nope").is_empty());
        assert!(allowed_methods("/v1/disputes/abc/nope").is_empty());
        // Every row's own path (its template, taken literally) is matched.
        for r in ROUTES {
            assert!(
                allowed_methods(r.path).contains(&r.method.as_str()),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn unknown_routes_are_not_in_the_table() {
        assert!(route(Method::Get, "/v1/nope").is_none());
        assert!(route(Method::Delete, "/v1/disputes").is_none());
        assert!(route(Method::Get, "/v1/disputes/{id}").is_some());
    }

    #[test]
    fn a_dispute_route_is_404_to_those_who_do_not_see_it_and_403_to_those_who_do() {
        let read = by_id("dispute.read").unwrap();
        let withdraw = by_id("dispute.withdraw").unwrap();
        let parties = vec!["a".to_string(), "b".to_string()];
        let low = DisputeFacts {
            parties: &parties,
            chief_officer_may_see: false,
        };
        let high = DisputeFacts {
            chief_officer_may_see: true,
            ..low
        };
        let party = actor(Role::Agency, Some("a"));
        let other = actor(Role::Agency, Some("c"));
        let chief = actor(Role::ChiefOfficer, None);
        let slg = actor(Role::Slg, None);
        assert_eq!(authorize(read, &party, Some(&low)), Ok(()));
        assert!(matches!(
            authorize(read, &other, Some(&low)),
            Err(Refusal::NotVisible(_))
        ));
        assert!(matches!(
            authorize(read, &chief, Some(&low)),
            Err(Refusal::NotVisible(_))
        ));
        assert_eq!(authorize(read, &chief, Some(&high)), Ok(()));
        assert_eq!(authorize(withdraw, &party, Some(&low)), Ok(()));
        assert!(matches!(
            authorize(withdraw, &other, Some(&low)),
            Err(Refusal::NotVisible(_))
        ));
        assert!(matches!(
            authorize(withdraw, &slg, Some(&low)),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            authorize(withdraw, &chief, Some(&low)),
            Err(Refusal::NotVisible(_))
        ));
        assert!(matches!(
            authorize(withdraw, &chief, Some(&high)),
            Err(Refusal::Forbidden(_))
        ));
        // Without the dispute, a dispute route is refused.
        assert!(matches!(
            authorize(read, &slg, None),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn role_routes_allow_only_whom_the_row_names() {
        let webhooks = by_id("webhook.list").unwrap();
        for role in ALL_ROLES {
            let got = authorize(webhooks, &actor(role, Some("a")), None);
            assert_eq!(got.is_ok(), role == Role::PartnershipAdmin, "{role}");
        }
        let health = by_id("health").unwrap();
        assert_eq!(authorize(health, &actor(Role::Auditor, None), None), Ok(()));
    }

    #[test]
    fn lists_and_text_follow_the_readers() {
        assert_eq!(
            list_scope(&actor(Role::Agency, Some("a"))),
            ListScope::PartyOf("a".into())
        );
        assert_eq!(
            list_scope(&actor(Role::ChiefOfficer, None)),
            ListScope::ChiefOfficerRung
        );
        assert_eq!(list_scope(&actor(Role::Auditor, None)), ListScope::Nothing);
        assert!(!reads_free_text(&actor(Role::Auditor, None)));
        assert!(reads_free_text(&actor(Role::Slg, None)));
    }

    #[test]
    fn every_console_route_is_decided_by_a_row_of_the_table() {
        for c in CONSOLE_ROUTES {
            if let Some(id) = c.decided_by {
                assert!(by_id(id).is_some(), "{}: no row {id}", c.id);
            }
            assert!(c.path == "/" || c.path.starts_with("/console"), "{}", c.id);
        }
        let ids: BTreeSet<_> = CONSOLE_ROUTES.iter().map(|r| r.id).collect();
        assert_eq!(
            ids.len(),
            CONSOLE_ROUTES.len(),
            "duplicate console route id"
        );
    }
}
