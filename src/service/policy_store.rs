//! Ladder policies in the database, and their activation in the ledger.
//!
//! A document is stored once under its version (with the SHA-256 of its exact
//! text) and never changes. Activating one is a `policy_activated` ledger entry
//! whose facts carry the version and the hash; the active policy is the one
//! activated last, and new disputes are raised under it. A dispute keeps its
//! version until `partnership_admin` migrates it (`policy_migrated`).
//! Parsed policies are cached per process by version.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Policy};
use crate::core::ledger::{Entry, NewEntry};
use crate::core::policy::{self, DEFAULT_VERSION};
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger as store;
use crate::store::policies as rows;

type Cache = BTreeMap<String, (String, Arc<Policy>)>;
static CACHE: RwLock<Cache> = RwLock::new(BTreeMap::new());

fn cached(version: &str, sha: Option<&str>) -> Option<Arc<Policy>> {
    let cache = CACHE.read().unwrap_or_else(|e| e.into_inner());
    cache
        .get(version)
        .filter(|(s, _)| sha.is_none_or(|sha| s == sha))
        .map(|(_, p)| p.clone())
}

fn remember(sha: String, p: Arc<Policy>) {
    let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
    cache.insert(p.version.clone(), (sha, p));
}

/// The policy stored under `version`, if any (a shipped one even before it
/// is first stored).
pub fn get(conn: &mut DbConn, version: &str) -> Result<Option<Arc<Policy>>, ServiceError> {
    if let Some(p) = cached(version, None) {
        return Ok(Some(p));
    }
    let Some(row) = rows::get(conn, version)? else {
        return Ok(policy::shipped(version));
    };
    let p = Arc::new(policy::parse(&row.document).map_err(|e| {
        ServiceError::Internal(format!("stored policy {version} no longer parses: {e}"))
    })?);
    remember(row.sha256, p.clone());
    Ok(Some(p))
}

/// The policy a dispute follows; a conflict if the service does not hold it.
pub fn of(conn: &mut DbConn, version: &str) -> Result<Arc<Policy>, ServiceError> {
    get(conn, version)?.ok_or_else(|| {
        ServiceError::Conflict(format!(
            "the dispute follows policy {version}, which this service does not hold"
        ))
    })
}

/// The version activated last (the shipped default before any activation).
pub fn active_version(conn: &mut DbConn) -> Result<String, ServiceError> {
    Ok(rows::latest_activation(conn)?.unwrap_or_else(|| DEFAULT_VERSION.to_string()))
}

/// The policy new disputes are raised under.
pub fn active(conn: &mut DbConn) -> Result<Arc<Policy>, ServiceError> {
    let v = active_version(conn)?;
    of(conn, &v)
}

/// Every policy a dispute here can follow: the stored ones and the default.
pub fn all(conn: &mut DbConn) -> Result<Vec<Arc<Policy>>, ServiceError> {
    let mut versions = rows::versions(conn)?;
    if !versions.iter().any(|v| v == DEFAULT_VERSION) {
        versions.push(DEFAULT_VERSION.to_string());
    }
    let mut out = Vec::with_capacity(versions.len());
    for v in versions {
        out.extend(get(conn, &v)?);
    }
    Ok(out)
}

/// What to activate: a shipped document by version, or a document's text.
pub enum Source<'a> {
    Shipped(&'a str),
    Document(&'a str),
}

/// Activate a policy: store its document (once per version), then append the
/// `policy_activated` entry. Call inside a write transaction.
pub fn activate(
    conn: &mut DbConn,
    actor: &Actor,
    source: Source<'_>,
) -> Result<(Entry, Arc<Policy>), ServiceError> {
    let text = match source {
        Source::Shipped(v) => policy::shipped_text(v).ok_or_else(|| {
            ServiceError::NotFound(format!(
                "no shipped policy '{v}'; the shipped ones are {}",
                policy::SHIPPED.map(|(v, _)| v).join(", ")
            ))
        })?,
        Source::Document(t) => t,
    };
    let parsed = policy::parse(text)
        .map_err(|e| ServiceError::Unprocessable(format!("policy document, {e}")))?;
    let sha = policy::sha256_hex(text);
    let version = parsed.version.clone();
    let stored = rows::get(conn, &version)?.map(|r| r.sha256);
    match stored {
        Some(s) if s != sha => {
            return Err(ServiceError::Conflict(format!(
                "version {version} is already stored with another text (sha256 {s}); \
                 a changed document needs a new version"
            )))
        }
        Some(_) => {}
        None => rows::insert(conn, &version, &sha, text)?,
    }
    let current = rows::latest_activation(conn)?;
    if current.as_deref() == Some(version.as_str()) {
        return Err(ServiceError::Conflict(format!(
            "policy {version} is already the active one"
        )));
    }
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: None,
            event: LedgerEvent::PolicyActivated.as_str().into(),
            actor: actor.clone(),
            facts: json!({ "version": version, "sha256": sha }),
            payload: json!({}),
        },
    )?;
    rows::record_activation(conn, entry.seq, &version, entry.recorded_at)?;
    let parsed = Arc::new(parsed);
    remember(sha, parsed.clone());
    Ok((entry, parsed))
}

/// On a ledger with no activation yet, activate the shipped default, as the
/// system. Call inside a write transaction.
pub fn activate_default(conn: &mut DbConn) -> Result<bool, ServiceError> {
    if rows::latest_activation(conn)?.is_some() {
        return Ok(false);
    }
    activate(
        conn,
        &crate::store::agencies::system_actor(),
        Source::Shipped(DEFAULT_VERSION),
    )?;
    Ok(true)
}

/// One policy as `GET /v1/policies` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicySummary {
    pub version: String,
    pub title: String,
    /// Hex SHA-256 of the document's exact text.
    pub sha256: String,
    /// New disputes are raised under this one.
    pub active: bool,
    /// The ledger entries that activated it, oldest first (none: shipped, never activated).
    pub activations: Vec<Activation>,
    /// The rungs, lowest first.
    pub rungs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activation {
    pub seq: i64,
    pub activated_at: chrono::DateTime<chrono::Utc>,
}

/// A policy document as served: the exact text whose hash activation recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyDocument {
    #[serde(flatten)]
    pub summary: PolicySummary,
    /// The TOML document, byte for byte.
    pub document: String,
}

/// Every stored policy, then every shipped one not stored yet.
pub fn list(conn: &mut DbConn) -> Result<Vec<PolicyDocument>, ServiceError> {
    documents(conn, None)
}

/// The policy of this version, stored or shipped, if there is one.
pub fn document(conn: &mut DbConn, version: &str) -> Result<Option<PolicyDocument>, ServiceError> {
    Ok(documents(conn, Some(version))?.pop())
}

/// [`list`], or only the policy of version `only`.
fn documents(conn: &mut DbConn, only: Option<&str>) -> Result<Vec<PolicyDocument>, ServiceError> {
    let mut docs: Vec<(String, String, String)> = rows::list(conn, only)?
        .into_iter()
        .map(|r| (r.version, r.sha256, r.document))
        .collect();
    let acts: Vec<(i64, String, NaiveDateTime)> = rows::activations(conn)?
        .into_iter()
        .map(|a| (a.seq, a.version, a.activated_at))
        .collect();
    let active = acts
        .last()
        .map_or(DEFAULT_VERSION, |(_, v, _)| v.as_str())
        .to_string();
    for (v, text) in policy::SHIPPED {
        if only.is_none_or(|o| o == v) && !docs.iter().any(|(d, _, _)| d == v) {
            docs.push((v.to_string(), policy::sha256_hex(text), text.to_string()));
        }
    }
    docs.into_iter()
        .map(|(version, sha256, document)| {
            let p = get(conn, &version)?.ok_or_else(ServiceError::not_found)?;
            Ok(PolicyDocument {
                summary: PolicySummary {
                    active: version == active,
                    activations: acts
                        .iter()
                        .filter(|(_, v, _)| *v == version)
                        .map(|(seq, _, at)| Activation {
                            seq: *seq,
                            activated_at: at.and_utc(),
                        })
                        .collect(),
                    title: p.title.clone(),
                    rungs: p.rung_names().into_iter().map(String::from).collect(),
                    version,
                    sha256,
                },
                document,
            })
        })
        .collect()
}

/// What `verify` rebuilds from `policy_activated` entries, beside the
/// policies stored in the database.
#[derive(Debug, Default)]
pub struct Replay {
    /// version -> sha256, as first activated.
    docs: BTreeMap<String, String>,
    /// (seq, version), in ledger order.
    activations: Vec<(i64, String)>,
    /// Every policy a dispute here can follow, parsed, by version.
    parsed: BTreeMap<String, Arc<Policy>>,
}

impl Replay {
    /// An empty replay that knows the policies stored in the database.
    pub fn new(conn: &mut DbConn) -> Result<Self, ServiceError> {
        Ok(Replay {
            parsed: all(conn)?
                .into_iter()
                .map(|p| (p.version.clone(), p))
                .collect(),
            ..Replay::default()
        })
    }

    /// The stored policy of this version.
    pub fn policy(&self, version: &str) -> Option<&Policy> {
        self.parsed.get(version).map(|p| p.as_ref())
    }

    pub fn apply(&mut self, e: &Entry) -> Result<(), String> {
        let field = |k: &str| {
            e.facts
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("policy_activated without {k}"))
        };
        let (version, sha) = (field("version")?, field("sha256")?);
        if e.actor.role != crate::core::ladder::Role::PartnershipAdmin {
            return Err("policy_activated by someone other than partnership_admin".into());
        }
        if self.docs.entry(version.clone()).or_insert(sha.clone()) != &sha {
            return Err(format!(
                "policy {version} activated again with another document hash"
            ));
        }
        if self.activations.last().map(|(_, v)| v) == Some(&version) {
            return Err(format!("policy {version} activated while already active"));
        }
        self.activations.push((e.seq, version));
        Ok(())
    }

    /// The version in force now (the default before any activation).
    pub fn active(&self) -> &str {
        self.activations
            .last()
            .map_or(DEFAULT_VERSION, |(_, v)| v.as_str())
    }

    /// Whether a dispute may be migrated onto `rung` of `version`: that
    /// policy has been activated and has the rung.
    pub fn may_migrate_to(&self, version: &str, rung: crate::core::ladder::Rung) -> bool {
        self.docs.contains_key(version)
            && self.policy(version).is_some_and(|p| p.rule(rung).is_some())
    }

    /// The tables against the replay: every stored document hashes to what
    /// its activation recorded, and the activations match one for one.
    pub fn table_mismatch(&self, conn: &mut DbConn) -> Result<Option<String>, ServiceError> {
        let docs = rows::list(conn, None)?;
        let stored: BTreeMap<&str, &str> = docs
            .iter()
            .map(|r| (r.version.as_str(), r.sha256.as_str()))
            .collect();
        let expected: BTreeMap<&str, &str> = self
            .docs
            .iter()
            .map(|(v, s)| (v.as_str(), s.as_str()))
            .collect();
        if stored != expected {
            return Ok(Some(
                "the policies table differs from the policies activated in the ledger".into(),
            ));
        }
        for r in &docs {
            let v = &r.version;
            if policy::sha256_hex(&r.document) != r.sha256 {
                return Ok(Some(format!(
                    "the stored document of policy {v} does not hash to the sha256 its activation recorded"
                )));
            }
        }
        let acts: Vec<(i64, String)> = rows::activations(conn)?
            .into_iter()
            .map(|a| (a.seq, a.version))
            .collect();
        if acts != self.activations {
            return Ok(Some(
                "the policy_activations table differs from the ledger".into(),
            ));
        }
        Ok(None)
    }
}
