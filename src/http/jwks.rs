//! Production identity: JWTs signed with RS256, ES256 or EdDSA (RSA, P-256/P-384
//! and Ed25519 keys), checked against a JWKS read from a file (`JWKS_FILE`) or
//! fetched from an issuer's `jwks_uri` (`JWKS_URL`). Keys are chosen by `kid`;
//! the set is re-read every `JWKS_REFRESH` and, rate-limited, whenever a token
//! names a `kid` the verifier does not hold, so a key rotates without a restart.
//!
//! A verified token becomes an [`Actor`] through a [`ClaimsMap`] (`CLAIMS_MAP`),
//! so a provider (Entra ID app roles or groups, Keycloak, ...) need not mint our
//! claim names. See the README's "Production identity" section.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::core::ladder::{Actor, Partner, Role};

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;
/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "{}", p.display()),
            JwksSource::Url(u) => f.write_str(u),
        }
    }
}

/// Everything the JWKS verifier needs.
#[derive(Debug, Clone)]
pub struct JwksConfig {
    pub source: JwksSource,
    /// Accepted `iss` values (at least one).
    pub issuers: Vec<String>,
    /// Accepted `aud` values (at least one).
    pub audiences: Vec<String>,
    /// Re-read the set this often in the background; zero turns it off.
    pub refresh: Duration,
    /// At most one re-read per this long for tokens with an unknown `kid`.
    pub min_refetch: Duration,
    pub claims: ClaimsMap,
}

/// One usable verification key and the one algorithm it verifies.
struct Key {
    alg: Algorithm,
    key: DecodingKey,
}

type KeyRing = HashMap<String, Arc<Key>>;

struct Inner {
    cfg: JwksConfig,
    keys: RwLock<Arc<KeyRing>>,
    /// When an unknown `kid` last made us re-read the set; also serialises those re-reads.
    refetch: futures_util::lock::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

/// Why a token was refused, and its `sub` when that is known to be authentic.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: String,
    pub sub: Option<String>,
}

impl Refusal {
    pub fn new(reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
            sub: None,
        }
    }
}

/// Checks asymmetric JWTs against a JWKS. Cheap to clone; clones share the keys.
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Inner>,
}

impl JwksVerifier {
    /// Load the set once (fail if it holds no usable key) and, if `cfg.refresh`
    /// is non-zero, re-read it in the background. Call inside the actix system.
    pub async fn start(cfg: JwksConfig) -> Result<Self, String> {
        if cfg.issuers.is_empty() {
            return Err("JWT_ISSUER is required with a JWKS".into());
        }
        if cfg.audiences.is_empty() {
            return Err("JWT_AUDIENCE is required with a JWKS".into());
        }
        let v = JwksVerifier {
            inner: Arc::new(Inner {
                cfg,
                keys: RwLock::new(Arc::new(KeyRing::new())),
                refetch: futures_util::lock::Mutex::new(None),
                fetches: AtomicU64::new(0),
            }),
        };
        let n = v.reload().await?;
        tracing::info!(source = %v.inner.cfg.source, keys = n, "JWKS loaded");
        if !v.inner.cfg.refresh.is_zero() {
            v.spawn_refresher();
        }
        Ok(v)
    }

    /// How many times the set has been read (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The `kid`s currently held, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut k: Vec<String> = self.ring().keys().cloned().collect();
        k.sort();
        k
    }

    fn ring(&self) -> Arc<KeyRing> {
        match self.inner.keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Read the set now and replace the keys held; returns how many are usable.
    /// On failure the keys held so far stay in use.
    pub async fn reload(&self) -> Result<usize, String> {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let bytes = fetch(&self.inner.cfg.source).await?;
        let ring = parse_jwks(&bytes)?;
        let n = ring.len();
        let ring = Arc::new(ring);
        match self.inner.keys.write() {
            Ok(mut g) => *g = ring,
            Err(p) => *p.into_inner() = ring,
        }
        Ok(n)
    }

    fn spawn_refresher(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.cfg.refresh;
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let v = JwksVerifier { inner };
                match v.reload().await {
                    Ok(n) => tracing::debug!(keys = n, "JWKS refreshed"),
                    Err(e) => {
                        tracing::warn!(source = %v.inner.cfg.source, error = %e, "JWKS refresh failed; keeping the keys held")
                    }
                }
            }
        });
    }

    /// The key for `kid`, re-reading the set once (rate-limited) if it is unknown.
    async fn key_for(&self, kid: &str) -> Option<Arc<Key>> {
        if let Some(k) = self.ring().get(kid) {
            return Some(k.clone());
        }
        let mut last = self.inner.refetch.lock().await;
        // Another request may have re-read the set while we waited.
        if let Some(k) = self.ring().get(kid) {
            return Some(k.clone());
        }
        if let Some(t) = *last {
            if t.elapsed() < self.inner.cfg.min_refetch {
                return None;
            }
        }
        *last = Some(Instant::now());
        match self.reload().await {
            Ok(n) => tracing::info!(keys = n, kid = ?kid, "JWKS re-read for an unknown kid"),
            Err(e) => tracing::warn!(error = %e, "JWKS re-read failed; keeping the keys held"),
        }
        self.ring().get(kid).cloned()
    }

    /// Verify `token` and map its claims to an actor.
    pub async fn check(&self, token: &str) -> Result<Actor, Refusal> {
        let header = read_header(token)?;
        refuse_crit(token)?;
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| Refusal::new("the token header has no kid"))?;
        let Some(key) = self.key_for(&kid).await else {
            // Never the kid in full: it is the caller's text, of any length.
            tracing::info!(kid = %kid_prefix(&kid), "token names a kid the key set does not hold");
            return Err(Refusal::new("the token's kid is not in the key set"));
        };
        if header.alg != key.alg {
            return Err(Refusal::new(format!(
                "the token's alg {:?} does not match key {kid:?}, which verifies {:?} only",
                header.alg, key.alg
            )));
        }
        let cfg = &self.inner.cfg;
        let mut v = Validation::new(key.alg);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&cfg.issuers);
        v.set_audience(&cfg.audiences);
        v.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let claims = match jsonwebtoken::decode::<Value>(token, &key.key, &v) {
            Ok(data) => data.claims,
            Err(e) => {
                let (reason, signed) = describe(e.kind());
                // Past the signature check the payload is authentic: name its sub.
                let sub = if signed { unverified_sub(token) } else { None };
                return Err(Refusal { reason, sub });
            }
        };
        cfg.claims.actor(&claims)
    }
}

/// The header, refusing `alg: none` and anything but an asymmetric algorithm.
fn read_header(token: &str) -> Result<jsonwebtoken::Header, Refusal> {
    let first = token.split('.').next().unwrap_or_default();
    let raw: Value = B64URL
        .decode(first)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Refusal::new("the token header is not base64url JSON"))?;
    match raw.get("alg").and_then(Value::as_str) {
        None => return Err(Refusal::new("the token header has no alg")),
        Some(a) if a.eq_ignore_ascii_case("none") => {
            return Err(Refusal::new("alg none is refused"))
        }
        Some(a) if a.starts_with("HS") => {
            return Err(Refusal::new(format!(
                "{a} tokens are refused: only asymmetric keys are configured"
            )))
        }
        Some(_) => {}
    }
    jsonwebtoken::decode_header(token)
        .map_err(|e| Refusal::new(format!("unreadable token header: {}", describe(e.kind()).0)))
}

/// At most the first 8 characters of an unknown `kid`, escaped, for the log.
fn kid_prefix(kid: &str) -> String {
    let head: String = kid.chars().take(8).collect();
    let more = if kid.chars().count() > 8 { "..." } else { "" };
    format!("{}{more}", crate::core::input::escape_controls(&head))
}

/// Refuse a token whose protected header has a `crit` member: this service
/// implements no JWS extension, so any extension named critical is one it
/// does not understand (RFC 7515 section 4.1.11).
pub fn refuse_crit(token: &str) -> Result<(), Refusal> {
    let first = token.split('.').next().unwrap_or_default();
    let raw: Option<Value> = B64URL
        .decode(first)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match raw.as_ref().and_then(|h| h.get("crit")) {
        None => Ok(()),
        Some(_) => Err(Refusal::new(
            "the token header names critical extensions (crit) this service does not implement",
        )),
    }
}

/// A reason for the refusal, and whether the signature had been verified.
/// Plain words, never the library's enum names.
pub fn describe(kind: &ErrorKind) -> (String, bool) {
    match kind {
        ErrorKind::ExpiredSignature => ("the token has expired".into(), true),
        ErrorKind::ImmatureSignature => ("the token is not valid yet (nbf)".into(), true),
        ErrorKind::InvalidIssuer => ("the token's iss is not the configured issuer".into(), true),
        ErrorKind::InvalidAudience => (
            "the token's aud is not the configured audience".into(),
            true,
        ),
        ErrorKind::MissingRequiredClaim(c) => (format!("the token has no {c} claim"), true),
        ErrorKind::InvalidSignature => ("the token's signature does not verify".into(), false),
        ErrorKind::InvalidAlgorithm => ("the token's alg does not match its key".into(), false),
        ErrorKind::InvalidToken => (
            "the token is not a JWS in compact form (header.payload.signature)".into(),
            false,
        ),
        ErrorKind::Base64(_) => ("the token is not base64url".into(), false),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => (
            "the token's header or claims do not have the expected shape".into(),
            false,
        ),
        ErrorKind::InvalidAlgorithmName => ("the token names an unknown alg".into(), false),
        _ => ("the token could not be verified".into(), false),
    }
}

fn unverified_sub(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let v: Value = serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()?;
    v.get("sub")?.as_str().map(str::to_string)
}

async fn fetch(source: &JwksSource) -> Result<Vec<u8>, String> {
    match source {
        JwksSource::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("JWKS {}: {e}", path.display()))?;
            if bytes.len() > MAX_JWKS_BYTES {
                return Err(format!("JWKS {} is larger than 1 MiB", path.display()));
            }
            Ok(bytes)
        }
        JwksSource::Url(url) => {
            let client = awc::Client::builder()
                .timeout(Duration::from_secs(10))
                .finish();
            let mut res = client
                .get(url.as_str())
                .insert_header(("Accept", "application/json"))
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            if !res.status().is_success() {
                return Err(format!("GET {url}: HTTP {}", res.status()));
            }
            let body = res
                .body()
                .limit(MAX_JWKS_BYTES)
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            Ok(body.to_vec())
        }
    }
}

/// The usable signing keys of a JWKS document, by `kid`. Keys that are not for
/// signatures, are symmetric (`oct`), lack a `kid` or name an algorithm their
/// type can't do are skipped with a warning; a set with no usable key is an error.
fn parse_jwks(bytes: &[u8]) -> Result<KeyRing, String> {
    #[derive(Deserialize)]
    struct Raw {
        keys: Vec<Value>,
    }
    let raw: Raw =
        serde_json::from_slice(bytes).map_err(|e| format!("the JWKS is not a key set: {e}"))?;
    let mut ring = KeyRing::new();
    for v in raw.keys {
        let kid = v.get("kid").and_then(Value::as_str).map(str::to_string);
        match serde_json::from_value::<Jwk>(v)
            .map_err(|e| e.to_string())
            .and_then(|jwk| key_from_jwk(&jwk))
        {
            Ok((kid, key)) => {
                ring.insert(kid, Arc::new(key));
            }
            Err(why) => tracing::warn!(kid = ?kid, reason = %why, "JWKS key skipped"),
        }
    }
    if ring.is_empty() {
        return Err("the JWKS holds no usable signing key".into());
    }
    Ok(ring)
}

fn key_from_jwk(jwk: &Jwk) -> Result<(String, Key), String> {
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or("the key has no kid")?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Err("the key is not for signatures".into());
    }
    // The algorithms each key type can verify; the first is the default when the
    // key names none (Entra ID's keys carry no "alg").
    let allowed: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            ref c => return Err(format!("curve {c:?} is not supported")),
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            ref c => return Err(format!("curve {c:?} is not supported")),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are not accepted from a JWKS".into())
        }
    };
    let alg = match jwk.common.key_algorithm {
        None => allowed[0],
        Some(ka) => {
            let alg: Algorithm = ka
                .to_string()
                .parse()
                .map_err(|_| format!("alg {ka} is not a signature algorithm"))?;
            if !allowed.contains(&alg) {
                return Err(format!("alg {ka} does not fit the key's type"));
            }
            alg
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok((kid, Key { alg, key }))
}

/// How a verified token's claims become an actor (`CLAIMS_MAP`, TOML or JSON).
///
/// With no `map`, the values of `roles_claim` are read as our role names. With a
/// `map`, each value is looked up there and values not in it are ignored. A rule
/// may fix the agency or partner; otherwise they come from `agency_claim` and
/// `partner_claim`. A token must map to exactly one actor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsMap {
    /// The claim holding the role(s): a string or an array of strings, e.g.
    /// `roles` (Entra ID app roles) or `groups` (group object ids).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    #[serde(default = "default_agency_claim")]
    pub agency_claim: String,
    #[serde(default = "default_partner_claim")]
    pub partner_claim: String,
    /// Provider value -> our role (and optionally a fixed agency or partner).
    #[serde(default)]
    pub map: BTreeMap<String, RoleRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    pub role: Role,
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub partner: Option<Partner>,
}

fn default_roles_claim() -> String {
    "role".into()
}
fn default_agency_claim() -> String {
    "agency".into()
}
fn default_partner_claim() -> String {
    "partner".into()
}

impl Default for ClaimsMap {
    /// Our own claim names: `role`, `agency`, `partner`.
    fn default() -> Self {
        ClaimsMap {
            roles_claim: default_roles_claim(),
            agency_claim: default_agency_claim(),
            partner_claim: default_partner_claim(),
            map: BTreeMap::new(),
        }
    }
}

fn is_partner_role(r: Role) -> bool {
    matches!(r, Role::StatutoryPartner | Role::ChiefOfficer)
}

impl ClaimsMap {
    /// Read a mapping file: JSON if it ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("CLAIMS_MAP {}: {e}", path.display()))?;
        let map: ClaimsMap = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        }
        .map_err(|e| format!("CLAIMS_MAP {}: {e}", path.display()))?;
        map.validate()
            .map_err(|e| format!("CLAIMS_MAP {}: {e}", path.display()))?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), String> {
        for (value, rule) in &self.map {
            if rule.agency.is_some() && rule.role != Role::Agency {
                return Err(format!(
                    "{value:?}: only the agency role takes an agency, not {}",
                    rule.role
                ));
            }
            if rule.partner.is_some() && !is_partner_role(rule.role) {
                return Err(format!(
                    "{value:?}: only statutory_partner and chief_officer take a partner, not {}",
                    rule.role
                ));
            }
        }
        Ok(())
    }

    /// The actor a verified token's claims name, or why there is none.
    pub fn actor(&self, claims: &Value) -> Result<Actor, Refusal> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Refusal::new("the token has no sub"))?
            .to_string();
        let refuse = |reason: String| Refusal {
            reason,
            sub: Some(sub.clone()),
        };
        let values = strings(claim(claims, &self.roles_claim));
        let claim_agency = claim(claims, &self.agency_claim)
            .and_then(Value::as_str)
            .map(str::to_string);
        let claim_partner = claim(claims, &self.partner_claim).and_then(Value::as_str);
        let mut actors: Vec<(Role, Option<String>, Option<Partner>)> = Vec::new();
        for value in &values {
            let (role, agency, partner) = if self.map.is_empty() {
                match value.parse::<Role>() {
                    Ok(r) => (r, None, None),
                    Err(_) => continue,
                }
            } else {
                match self.map.get(value.as_str()) {
                    Some(rule) => (rule.role, rule.agency.clone(), rule.partner),
                    None => continue,
                }
            };
            let agency = match role {
                Role::Agency => match agency.or_else(|| claim_agency.clone()) {
                    Some(a) if !a.trim().is_empty() => Some(a),
                    _ => {
                        return Err(refuse(format!(
                            "{value:?} maps to the agency role but neither the mapping nor the {:?} claim names an agency",
                            self.agency_claim
                        )))
                    }
                },
                _ => None,
            };
            let partner = if is_partner_role(role) {
                match partner {
                    Some(p) => Some(p),
                    None => match claim_partner.map(str::parse::<Partner>) {
                        Some(Ok(p)) => Some(p),
                        Some(Err(e)) => {
                            return Err(refuse(format!(
                                "{value:?} maps to {role}: the {:?} claim: {e}",
                                self.partner_claim
                            )))
                        }
                        None => {
                            return Err(refuse(format!(
                                "{value:?} maps to {role} but neither the mapping nor the {:?} claim names a partner",
                                self.partner_claim
                            )))
                        }
                    },
                }
            } else {
                None
            };
            let actor = (role, agency, partner);
            if !actors.contains(&actor) {
                actors.push(actor);
            }
        }
        let mut it = actors.into_iter();
        match (it.next(), it.next()) {
            (None, _) => Err(refuse(format!(
                "the token's {:?} claim maps to no role",
                self.roles_claim
            ))),
            (Some((role, agency, partner)), None) => Ok(Actor {
                sub: sub.clone(),
                role,
                agency,
                partner,
            }),
            (Some(a), Some(b)) => Err(refuse(format!(
                "the token's {:?} claim maps to more than one role ({} and {}); a caller acts in one role",
                self.roles_claim,
                describe_actor(&a),
                describe_actor(&b)
            ))),
        }
    }
}

fn describe_actor((role, agency, partner): &(Role, Option<String>, Option<Partner>)) -> String {
    match (agency, partner) {
        (Some(a), _) => format!("{role} of {a}"),
        (_, Some(p)) => format!("{role} for {p}"),
        _ => role.to_string(),
    }
}

/// A claim by exact name, else by a dotted path (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut cur = claims;
    for part in name.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTRA: &str = include_str!("../../deploy/claims-map.entra.example.toml");

    #[test]
    fn the_committed_entra_example_parses_and_maps_app_roles() {
        let map: ClaimsMap = toml::from_str(ENTRA).expect("example parses");
        map.validate().expect("example is valid");
        let a = map
            .actor(&json!({"sub": "u1", "roles": ["Escalation.Agency.Kingston"]}))
            .expect("maps");
        assert_eq!(a.role, Role::Agency);
        assert_eq!(a.agency.as_deref(), Some("kingston-council"));
        let a = map
            .actor(&json!({"sub": "u2", "roles": "Escalation.Partner.Police"}))
            .expect("maps");
        assert_eq!(
            (a.role, a.partner),
            (Role::StatutoryPartner, Some(Partner::Police))
        );
    }

    #[test]
    fn no_role_many_roles_and_missing_agency_are_refused_with_a_reason() {
        let map: ClaimsMap = toml::from_str(
            r#"
            roles_claim = "groups"
            agency_claim = "ext.agency"
            [map.g1]
            role = "agency"
            [map.g2]
            role = "auditor"
            [map.g3]
            role = "chief_officer"
            "#,
        )
        .expect("parses");
        let r = map
            .actor(&json!({"sub": "u", "groups": ["x"]}))
            .unwrap_err();
        assert!(r.reason.contains("maps to no role"), "{}", r.reason);
        assert_eq!(r.sub.as_deref(), Some("u"));
        let r = map.actor(&json!({"sub": "u", "groups": ["g2", "g3"], "partner": "la"}));
        assert!(r.unwrap_err().reason.contains("more than one role"));
        let r = map
            .actor(&json!({"sub": "u", "groups": ["g1"]}))
            .unwrap_err();
        assert!(r.reason.contains("names an agency"), "{}", r.reason);
        let r = map
            .actor(&json!({"sub": "u", "groups": ["g3"]}))
            .unwrap_err();
        assert!(r.reason.contains("names a partner"), "{}", r.reason);
        let a = map
            .actor(&json!({"sub": "u", "groups": ["g1", "x"], "ext": {"agency": "cafcass"}}))
            .expect("agency from a dotted claim");
        assert_eq!(a.agency.as_deref(), Some("cafcass"));
        assert!(map.actor(&json!({"groups": ["g2"]})).is_err(), "no sub");
    }

    #[test]
    fn a_rule_giving_an_agency_to_a_non_agency_role_is_a_config_error() {
        let map: ClaimsMap =
            toml::from_str("[map.x]\nrole = \"auditor\"\nagency = \"cafcass\"\n").expect("parses");
        assert!(map.validate().is_err());
        assert!(toml::from_str::<ClaimsMap>("[map.x]\nrole = \"janitor\"\n").is_err());
    }

    #[test]
    fn oct_keys_and_ill_fitting_algs_are_skipped() {
        let set = json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0", "alg": "HS256"},
            {"kty": "OKP", "kid": "e", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "alg": "RS256"},
            {"kty": "OKP", "kid": "ok", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}
        ]});
        let ring = parse_jwks(set.to_string().as_bytes()).expect("one usable key");
        assert_eq!(ring.keys().collect::<Vec<_>>(), vec!["ok"]);
        assert_eq!(ring["ok"].alg, Algorithm::EdDSA);
        assert!(parse_jwks(br#"{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}"#).is_err());
    }
}
