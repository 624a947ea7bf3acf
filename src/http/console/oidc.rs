//! The console's production sign-in: the OpenID Connect authorisation code
//! flow with PKCE (S256), against the issuer the API's tokens come from, with
//! roles read through the same claims map as the API ([`ClaimsMap::actor`]).
//!
//! - `GET /console/oidc/start?next=…`: discovery, then a redirect to the
//!   issuer's authorisation endpoint with a fresh `state`, `nonce` and PKCE
//!   challenge. The three secrets (and `next`) are kept server-side
//!   (`console_oidc_flows`) under the hash of a random flow id, which the
//!   browser holds in a short-lived HttpOnly, SameSite=Lax cookie scoped to
//!   `/console/oidc`: a callback URL replayed into another browser finds no flow.
//! - `GET /console/oidc/callback?code=…&state=…`: the flow is taken once
//!   (deleted), `state` compared, the code exchanged with the PKCE verifier,
//!   the ID token checked (signature against the issuer's JWKS, `iss`, `aud`
//!   = the client id, `exp`, `nonce`), its claims mapped to an [`Actor`], and
//!   a session started exactly as a sign-in link starts one
//!   ([`service::sign_in_verified`]).
//!
//! Every refusal is a console error page with a 4xx status (502 when the
//! issuer cannot be reached or answers nonsense) and starts no session.
//! The `openidconnect` crate does the protocol; its HTTP goes through awc
//! ([`send`]), redirects not followed.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};
use serde::Deserialize;

use crate::core::ladder::Actor;
use crate::http::console::{html, pages, session_cookie, ConsoleConfig};
use crate::http::jwks::ClaimsMap;
use crate::http::state::{run, AppState};
use crate::service::console::{self as service, Flow};

/// The cookie holding the id of the browser's sign-in in progress.
pub const FLOW_COOKIE: &str = "console_oidc";
/// Where the issuer sends the browser back, under `PUBLIC_BASE_URL`.
pub const CALLBACK_PATH: &str = "/console/oidc/callback";
/// The largest answer read from the issuer.
const MAX_ANSWER: usize = 1 << 20;
/// How long one request to the issuer may take.
const ISSUER_TIMEOUT: Duration = Duration::from_secs(10);

/// The console's OpenID Connect client (`OIDC_CLIENT_ID` and friends).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer (`OIDC_ISSUER`, by default the first `JWT_ISSUER`); its
    /// discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (Entra ID's "Web" platform); PKCE is used either way.
    pub client_secret: Option<String>,
    /// Scopes beyond `openid` (`OIDC_SCOPES`).
    pub scopes: Vec<String>,
    /// The API's claims map (`CLAIMS_MAP`): the ID token's claims become an actor through it.
    pub claims: ClaimsMap,
}

/// Why an OpenID Connect sign-in did not happen: a page, never a 500.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Refused {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Refused {
            status,
            title,
            detail: detail.into(),
        }
    }

    /// The sign-in itself was not acceptable (state, code, ID token, role).
    fn sign_in(detail: impl Into<String>) -> Self {
        Refused::new(StatusCode::FORBIDDEN, "You could not be signed in", detail)
    }

    /// The issuer could not be reached or gave an answer we cannot use.
    fn issuer(detail: impl Into<String>) -> Self {
        Refused::new(
            StatusCode::BAD_GATEWAY,
            "Your organisation's sign-in service did not answer",
            detail,
        )
    }

    fn page(&self, config: &ConsoleConfig) -> HttpResponse {
        tracing::warn!(status = self.status.as_u16(), reason = %self.detail, "console OpenID Connect sign-in refused");
        let mut res = html(
            self.status,
            pages::problem(
                self.title,
                &format!(
                    "{} Nothing was recorded. Go to the sign-in page and try again.",
                    self.detail
                ),
            ),
        );
        // The flow is over either way.
        let _ = res.add_cookie(&flow_cookie(config, ""));
        res
    }
}

/// The error of [`send`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// One HTTP exchange for `openidconnect`, through awc (rustls); redirects
/// are not followed and answers are read up to 1 MiB.
pub async fn send(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(ISSUER_TIMEOUT)
        .finish();
    let url = req.uri().to_string();
    let method = awc::http::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|e| HttpError(format!("{url}: {e}")))?;
    let mut out = client.request(method.clone(), url.as_str());
    for (name, value) in req.headers() {
        out = out.append_header((name.as_str(), value.as_bytes()));
    }
    let mut res = out
        .send_body(req.into_body())
        .await
        .map_err(|e| HttpError(format!("{method} {url}: {e}")))?;
    let body = res
        .body()
        .limit(MAX_ANSWER)
        .await
        .map_err(|e| HttpError(format!("{method} {url}: {e}")))?;
    let mut answer = openidconnect::http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        answer = answer.header(name.as_str(), value.as_bytes());
    }
    answer
        .body(body.to_vec())
        .map_err(|e| HttpError(format!("{method} {url}: {e}")))
}

/// The client as discovery configures it.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Discover the issuer (its endpoints and signing keys, fetched each time,
/// so a rotated key is seen at once) and build the client.
async fn client(cfg: &OidcConfig, console: &ConsoleConfig) -> Result<Client, Refused> {
    let issuer = IssuerUrl::new(cfg.issuer.clone())
        .map_err(|e| Refused::issuer(format!("OIDC_ISSUER is not a URL: {e}.")))?;
    let redirect = RedirectUrl::new(redirect_url(console))
        .map_err(|e| Refused::issuer(format!("PUBLIC_BASE_URL does not make a URL: {e}.")))?;
    let meta = CoreProviderMetadata::discover_async(issuer, &send)
        .await
        .map_err(|e| Refused::issuer(format!("Discovery failed: {}.", chain(&e))))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        cfg.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect))
}

/// An error and its causes, in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Where the issuer sends the browser back.
pub fn redirect_url(console: &ConsoleConfig) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        console.public_base_url.trim_end_matches('/')
    )
}

/// The flow cookie: HttpOnly, SameSite=Lax (sent on the issuer's top-level
/// redirect back), Secure over https, for the sign-in's own paths, for as
/// long as a flow lives. An empty value clears it.
fn flow_cookie(config: &ConsoleConfig, id: &str) -> Cookie<'static> {
    let mut c = Cookie::build(FLOW_COOKIE, id.to_string())
        .path("/console/oidc")
        .http_only(true)
        .secure(config.secure_cookie())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            service::FLOW_LIFETIME.num_seconds(),
        ))
        .finish();
    if id.is_empty() {
        c.make_removal();
    }
    c
}

fn configured(config: &ConsoleConfig) -> Result<&OidcConfig, Refused> {
    config.oidc.as_ref().ok_or_else(|| {
        Refused::new(
            StatusCode::NOT_FOUND,
            "Sign-in with your organisation is not set up",
            "This service signs people in with links only (OIDC_CLIENT_ID is not set).",
        )
    })
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /console/oidc/start`: off to the issuer.
pub async fn start(
    state: web::Data<AppState>,
    config: web::Data<ConsoleConfig>,
    q: web::Query<StartQuery>,
) -> HttpResponse {
    match begin(&state, &config, q.into_inner().next).await {
        Ok(res) => res,
        Err(r) => r.page(&config),
    }
}

async fn begin(
    state: &AppState,
    config: &ConsoleConfig,
    next: Option<String>,
) -> Result<HttpResponse, Refused> {
    let cfg = configured(config)?;
    let client = client(cfg, config).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in &cfg.scopes {
        request = request.add_scope(Scope::new(s.clone()));
    }
    let (to, csrf, nonce) = request.url();
    let flow = Flow {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        // A page that is not the console's is ignored, as on a link.
        next: next.filter(|n| service::local_next(n).is_some()),
    };
    let id = run(&state.pool, move |conn| service::begin_flow(conn, &flow))
        .await
        .map_err(|e| {
            Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not available just now",
                format!("The sign-in could not be started ({e})."),
            )
        })?;
    Ok(HttpResponse::SeeOther()
        .cookie(flow_cookie(config, &id))
        .insert_header((header::LOCATION, to.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/oidc/callback`: back from the issuer.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    config: web::Data<ConsoleConfig>,
    q: web::Query<CallbackQuery>,
) -> HttpResponse {
    let flow_id = req.cookie(FLOW_COOKIE).map(|c| c.value().to_string());
    match finish(&state, &config, flow_id, q.into_inner()).await {
        Ok(res) => res,
        Err(r) => r.page(&config),
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

/// Printable, bounded text from the issuer or the URL, for a page or the log.
fn shown(s: &str) -> String {
    let head: String = s.chars().take(200).collect();
    crate::core::input::escape_controls(&head)
}

async fn finish(
    state: &AppState,
    config: &ConsoleConfig,
    flow_id: Option<String>,
    q: CallbackQuery,
) -> Result<HttpResponse, Refused> {
    let cfg = configured(config)?;
    let expired = || {
        Refused::new(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "A sign-in must be finished in the browser that started it, within 10 minutes, once.",
        )
    };
    let Some(flow_id) = flow_id.filter(|f| !f.is_empty()) else {
        return Err(expired());
    };
    let taken = run(&state.pool, move |conn| service::take_flow(conn, &flow_id))
        .await
        .map_err(|e| {
            Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not available just now",
                format!("The sign-in could not be checked ({e})."),
            )
        })?;
    let Some(flow) = taken else {
        return Err(expired());
    };
    if !same(q.state.as_deref().unwrap_or_default(), &flow.state) {
        return Err(Refused::sign_in(
            "The answer from your organisation's sign-in service does not belong to this sign-in (state).",
        ));
    }
    if let Some(err) = &q.error {
        let why = q.error_description.as_deref().unwrap_or_default();
        return Err(Refused::sign_in(format!(
            "Your organisation's sign-in service refused: {} {}",
            shown(err),
            shown(why)
        )));
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Refused::sign_in("The answer carries no authorisation code."))?;
    let client = client(cfg, config).await?;
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Refused::issuer(format!("The issuer names no token endpoint: {e}.")))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()));
    let tokens = exchange.request_async(&send).await.map_err(|e| {
        Refused::sign_in(format!(
            "The authorisation code was not accepted: {}.",
            shown(&chain(&e))
        ))
    })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| Refused::sign_in("The issuer gave no ID token."))?;
    id_token
        .claims(&client.id_token_verifier(), &Nonce::new(flow.nonce.clone()))
        .map_err(|e| {
            Refused::sign_in(format!(
                "The ID token was not accepted: {}.",
                shown(&chain(&e))
            ))
        })?;
    // Verified above: its payload is authentic. The claims map reads the raw
    // claims, as it does for an API token.
    let claims = payload(&id_token.to_string())
        .ok_or_else(|| Refused::sign_in("The ID token's claims cannot be read."))?;
    let actor: Actor = cfg.claims.actor(&claims).map_err(|r| {
        Refused::sign_in(format!(
            "Your account has no role in this service ({}). Ask your partnership team.",
            shown(&r.reason)
        ))
    })?;
    let limits = config.timeouts;
    let next = flow.next.clone();
    let who = actor.clone();
    let session = run(&state.pool, move |conn| {
        service::sign_in_verified(conn, &who, next, limits)
    })
    .await
    .map_err(|e| match e {
        crate::http::error::AppError::BadRequest(m)
        | crate::http::error::AppError::Unprocessable(m)
        | crate::http::error::AppError::NotFound(m) => {
            Refused::sign_in(format!("Your account cannot be used here: {}.", shown(&m)))
        }
        other => Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is not available just now",
            format!("The session could not be started ({other})."),
        ),
    })?;
    tracing::info!(role = %session.actor.role, "console session started (OpenID Connect)");
    let to = session.next.clone().unwrap_or_else(|| "/console/".into());
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(config, &session.id))
        .cookie(flow_cookie(config, ""))
        .insert_header((header::LOCATION, to))
        .finish())
}

/// The claims of a compact JWS, unverified (the caller has verified it).
fn payload(jws: &str) -> Option<serde_json::Value> {
    let part = jws.split('.').nth(1)?;
    serde_json::from_slice(&B64URL.decode(part).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_of_a_jws_is_read_and_nonsense_is_none() {
        let claims = B64URL.encode(br#"{"sub":"u","roles":["a"]}"#);
        let v = payload(&format!("h.{claims}.s")).unwrap();
        assert_eq!(v["sub"], "u");
        assert!(payload("no-dots").is_none());
        assert!(payload("h.!!!.s").is_none());
    }

    #[test]
    fn the_callback_is_under_the_public_address() {
        let c = ConsoleConfig {
            public_base_url: "https://ladder.example.org/".into(),
            ..ConsoleConfig::default()
        };
        assert_eq!(
            redirect_url(&c),
            "https://ladder.example.org/console/oidc/callback"
        );
    }
}
