//! Bearer tokens. The embedded default (and the tests) use HS256 JWTs carrying
//! `sub`, `role`, `agency`, `partner`, `exp`, checked with one secret ([`Keys`]);
//! production uses asymmetric tokens checked against a JWKS ([`crate::http::jwks`]).
//! [`Authenticator`] is whichever is configured; [`authenticate`] dispatches to it.

use std::path::Path;

use actix_web::{http::header, web, HttpRequest};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::core::ladder::{Actor, Partner, Role};
use crate::http::error::AppError;
use crate::http::jwks::{JwksVerifier, Refusal};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<Partner>,
    pub exp: i64,
}

/// The keys `serve` checks tokens with and `token` mints them with.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The furthest ahead a token's `exp` may be (`TOKEN_MAX_LIFETIME`).
    max_lifetime: std::time::Duration,
}

/// The default [`Keys`] maximum lifetime: 24 hours (`token` mints 8 h by default).
pub const DEFAULT_MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// Refuse tokens whose `exp` is more than `max` ahead.
    pub fn with_max_lifetime(mut self, max: std::time::Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// Check an HS256 token: signature, `exp`, `nbf` if present, no `crit`
    /// extension, and an `exp` at most the maximum lifetime ahead.
    pub fn check(&self, token: &str) -> Result<Actor, String> {
        crate::http::jwks::refuse_crit(token).map_err(|r| r.reason)?;
        let mut v = Validation::new(Algorithm::HS256);
        v.set_required_spec_claims(&["exp", "sub"]);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(|e| crate::http::jwks::describe(e.kind()).0)?;
        let now = chrono::Utc::now().timestamp();
        let max = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        let leeway = LEEWAY_SECS as i64;
        if data.claims.exp.saturating_sub(now) > max.saturating_add(leeway) {
            return Err(format!(
                "the token's exp is more than {} ahead (TOKEN_MAX_LIFETIME)",
                humantime::format_duration(self.max_lifetime)
            ));
        }
        actor_from(data.claims)
    }
}

/// The claims a role needs: an agency user names an agency, partners name a partner.
pub fn actor_from(c: Claims) -> Result<Actor, String> {
    if c.sub.trim().is_empty() {
        return Err("the token has an empty sub".into());
    }
    match c.role {
        Role::Agency if c.agency.is_none() => {
            return Err("an agency token needs an agency claim".into())
        }
        Role::StatutoryPartner | Role::ChiefOfficer if c.partner.is_none() => {
            return Err(format!("a {} token needs a partner claim", c.role))
        }
        _ => {}
    }
    let agency = if c.role == Role::Agency {
        c.agency
    } else {
        None
    };
    let partner = match c.role {
        Role::StatutoryPartner | Role::ChiefOfficer => c.partner,
        _ => None,
    };
    Ok(Actor {
        sub: c.sub,
        role: c.role,
        agency,
        partner,
    })
}

/// Read the token secret from `path`, or create one there (mode 0600) on first start.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::service::keys::load_or_create(
        path,
        |s| {
            if s.len() >= 32 {
                Ok(s.as_bytes().to_vec())
            } else {
                Err("holds fewer than 32 characters")
            }
        },
        || {
            crate::service::keys::random_32().map(|raw| {
                let secret = hex::encode(raw);
                (secret.clone().into_bytes(), secret)
            })
        },
    )
    .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Create `path` (and its folder) holding `bytes`, readable by the owner only.
/// Never overwrites an existing file.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::service::keys::write_secret_file(path, bytes)
}

/// The verifier `serve` checks bearer tokens with (stored as app data).
#[derive(Clone)]
pub enum Authenticator {
    /// HS256 with one shared secret: the embedded default and the tests.
    Secret(Keys),
    /// RS256/ES256/EdDSA against a JWKS, with claims mapped by configuration.
    Jwks(JwksVerifier),
}

impl From<Keys> for Authenticator {
    fn from(keys: Keys) -> Self {
        Authenticator::Secret(keys)
    }
}

impl From<JwksVerifier> for Authenticator {
    fn from(v: JwksVerifier) -> Self {
        Authenticator::Jwks(v)
    }
}

impl Authenticator {
    pub async fn check(&self, token: &str) -> Result<Actor, Refusal> {
        match self {
            Authenticator::Secret(keys) => keys.check(token).map_err(Refusal::new),
            Authenticator::Jwks(v) => v.check(token).await,
        }
    }
}

/// Authenticate a `/v1` request: its bearer token's actor, or a 401. Handlers
/// do not call this: they take their caller from the extractors in
/// [`crate::http::authz`], which authenticate with it and then apply the access table.
pub fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Actor, AppError>> {
    let bearer = bearer(req);
    let route = req.path().to_string();
    let req = req.clone();
    Box::pin(async move {
        let (auth, token) = bearer?;
        match auth.check(&token).await {
            Ok(actor) => {
                // For the refusal log (`app::log_refusals`): who was refused.
                actix_web::HttpMessage::extensions_mut(&req).insert(actor.clone());
                Ok(actor)
            }
            Err(r) => {
                // Never the token itself: the reason, the sub if known, the route.
                // Never a whistleblower's sub (see `whistleblowing::loggable_sub`).
                let sub = match &r.sub {
                    Some(sub) => {
                        let state = req.app_data::<web::Data<crate::http::state::AppState>>();
                        let state = state.map(|s| s.get_ref());
                        Some(crate::http::state::loggable_sub(state, sub).await)
                    }
                    None => None,
                };
                tracing::warn!(route = %route, reason = %r.reason, sub = ?sub, "token refused");
                Err(AppError::Unauthorized(format!(
                    "invalid token: {}",
                    r.reason
                )))
            }
        }
    })
}

fn bearer(req: &HttpRequest) -> Result<(Authenticator, String), AppError> {
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| AppError::Internal("token verification is not configured".into()))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::Unauthorized("an Authorization: Bearer token is required".into())
    })?;
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        AppError::Unauthorized("the Authorization header is not a Bearer token".into())
    })?;
    Ok((auth.get_ref().clone(), token.to_string()))
}

/// The token of an `Authorization` value using the `Bearer` scheme, whose
/// name is case-insensitive (RFC 9110 section 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret(b"unit-secret-unit-secret-unit-secret-0123")
    }

    fn claims(exp_in: i64) -> serde_json::Value {
        serde_json::json!({"sub": "u", "role": "auditor", "exp": chrono::Utc::now().timestamp() + exp_in})
    }

    fn mint(header: &Header, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            header,
            claims,
            &EncodingKey::from_secret(b"unit-secret-unit-secret-unit-secret-0123"),
        )
        .unwrap()
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    #[test]
    fn lifetimes_beyond_the_maximum_and_early_tokens_are_refused() {
        let h = Header::new(Algorithm::HS256);
        assert!(keys().check(&mint(&h, &claims(3600))).is_ok());
        let far = keys().check(&mint(&h, &claims(48 * 3600))).unwrap_err();
        assert!(far.contains("TOKEN_MAX_LIFETIME"), "{far}");
        let k = keys().with_max_lifetime(std::time::Duration::from_secs(60));
        assert!(k.check(&mint(&h, &claims(3600))).is_err());
        let mut early = claims(3600);
        early["nbf"] = serde_json::json!(chrono::Utc::now().timestamp() + 600);
        let e = keys().check(&mint(&h, &early)).unwrap_err();
        assert!(e.contains("nbf"), "{e}");
    }

    #[test]
    fn messages_name_no_internal_enum() {
        let h = Header::new(Algorithm::HS256);
        let t = mint(&h, &claims(3600));
        let other = Keys::from_secret(b"another-secret-another-secret-another-0");
        let e = other.check(&t).unwrap_err();
        assert!(!e.contains("InvalidSignature"), "{e}");
        assert!(e.contains("signature"), "{e}");
        for bad in ["not-a-token", "a.b.c", &t[..t.len() - 3]] {
            let e = keys().check(bad).unwrap_err();
            for name in ["InvalidToken", "Base64", "Json", "InvalidSignature", "Utf8"] {
                assert!(!e.contains(name), "{bad}: {e}");
            }
        }
    }
}
