//! Notifications: webhook endpoints (one per agency or per role), an outbox
//! written in the ledger entry's transaction, and a background sender that
//! delivers it by the Standard Webhooks conventions.
//!
//! * Registering or deactivating an endpoint is a ledger entry
//!   (`webhook_registered`, `webhook_deactivated`) whose facts hold the id, the
//!   target and the URL's origin only; the full URL and the shared secret live
//!   in `webhooks`, never in the ledger. `verify` rebuilds the table from them.
//! * [`enqueue`] is called by `service::record` for every dispute event, right
//!   after the entry and its projection: one `outbox` row per active endpoint of
//!   a party agency or of a role due to act next ([`ladder::due_to_act`]). It
//!   takes the entry and the dispute and policy the caller holds, so any dispute
//!   event goes through the same path.
//! * `workers::sender::spawn_sender` polls due rows, claims each with a lease (so two
//!   processes never send one row at once), POSTs it, and records the outcome;
//!   failures are retried with exponential backoff and jitter, then `failed`.
//!
//! A body carries ids and the event only, never free text or `child_ref`; the
//! receiver fetches details with its own credentials.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{self, Actor, Dispute, Policy, Role, Who};
use crate::core::ledger::{format_time, Entry, NewEntry};
use crate::service::email;
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger as store;
use crate::store::outbox::{self as queue, Channel, Deliveries, DeliveryRow, DeliveryStatus};
use crate::store::schema::{outbox, webhooks};

/// The Standard Webhooks secret prefix.
pub const SECRET_PREFIX: &str = "whsec_";
const MAX_URL: usize = 2048;

/// Whom an endpoint is for (`core::target`, shared with email lists).
pub use crate::core::target::Target;

/// Deliveries of one endpoint, by status.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// The most recent attempt of any delivery, RFC 3339.
    pub last_attempt_at: Option<String>,
    /// The error of the most recent failed attempt, if the latest attempt failed.
    pub last_error: Option<String>,
}

/// A registered endpoint (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub target: Target,
    pub url: String,
    pub active: bool,
    pub registered_seq: i64,
    pub deactivated_seq: Option<i64>,
    pub created_at: String,
    pub deliveries: DeliveryCounts,
    /// On the answer to a request that wrote to the ledger (deactivating):
    /// the `seq` of the entry it wrote. Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// A new endpoint, with its secret: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Registered {
    pub id: String,
    pub target: Target,
    pub url: String,
    pub registered_seq: i64,
    /// The `seq` of the entry this registration wrote (`registered_seq`).
    pub seq: i64,
    /// The Standard Webhooks signing secret, `whsec_` + base64.
    pub secret: String,
}

/// One delivery: a ledger entry for one endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` header, the same on every attempt.
    pub id: String,
    pub seq: i64,
    pub event: String,
    /// `pending`, `delivered` or `failed` (attempts exhausted).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

/// The secret's bytes: the given base64 (with or without `whsec_`), 24 to 64
/// bytes as the spec asks, or 32 fresh random bytes.
pub fn parse_secret(given: Option<&str>) -> Result<Vec<u8>, ServiceError> {
    let Some(s) = given else {
        let mut raw = vec![0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| ServiceError::Internal(format!("random: {e}")))?;
        return Ok(raw);
    };
    let s = s.trim();
    let b = s.strip_prefix(SECRET_PREFIX).unwrap_or(s);
    let raw = B64
        .decode(b)
        .map_err(|_| ServiceError::Unprocessable("secret is not base64".into()))?;
    if !(24..=64).contains(&raw.len()) {
        return Err(ServiceError::Unprocessable(format!(
            "secret is {} bytes; give 24 to 64",
            raw.len()
        )));
    }
    Ok(raw)
}

/// Check an endpoint URL (`http://` or `https://` with a host) and return its
/// origin (`scheme://host[:port]`), the only part the ledger records.
pub fn origin_of(url: &str) -> Result<String, ServiceError> {
    let bad = |why: &str| ServiceError::Unprocessable(format!("url: {why}"));
    if url.len() > MAX_URL {
        return Err(bad("longer than 2048 characters"));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s,
        _ => return Err(bad("use http:// or https://")),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?;
    Ok(match uri.port_u16() {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Register an endpoint: its ledger entry and row. Call inside a write transaction.
pub fn register(
    conn: &mut DbConn,
    actor: &Actor,
    target: Target,
    url: &str,
    secret: &[u8],
) -> Result<Registered, ServiceError> {
    let origin = origin_of(url)?;
    if let Target::Agency(a) = &target {
        crate::service::registry::require_known(conn, std::slice::from_ref(a))?;
    }
    let id = format!("wh_{}", uuid::Uuid::new_v4().simple());
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: None,
            event: LedgerEvent::WebhookRegistered.as_str().into(),
            actor: actor.clone(),
            facts: json!({ "id": id, "target": target, "origin": origin }),
            payload: json!({}),
        },
    )?;
    let (kind, value) = target.columns();
    let secret = B64.encode(secret);
    crate::store::tail::forget_settings(conn);
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(&id),
            webhooks::target_kind.eq(kind),
            webhooks::target.eq(&value),
            webhooks::url.eq(url),
            webhooks::secret.eq(&secret),
            webhooks::active.eq(true),
            webhooks::registered_seq.eq(entry.seq),
            webhooks::created_at.eq(entry.recorded_at),
        ))
        .execute(conn)?;
    Ok(Registered {
        id,
        target,
        url: url.to_string(),
        registered_seq: entry.seq,
        seq: entry.seq,
        secret: format!("{SECRET_PREFIX}{secret}"),
    })
}

/// Deactivate an endpoint: its ledger entry and the flag. Its pending
/// deliveries are no longer sent. Call inside a write transaction.
pub fn deactivate(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Webhook, ServiceError> {
    let active: Option<bool> = webhooks::table
        .find(id)
        .select(webhooks::active)
        .first(conn)
        .optional()?;
    match active {
        None => return Err(ServiceError::NotFound(format!("no webhook {id}"))),
        Some(false) => {
            return Err(ServiceError::Conflict(format!(
                "webhook {id} is already deactivated"
            )))
        }
        Some(true) => {}
    }
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: None,
            event: LedgerEvent::WebhookDeactivated.as_str().into(),
            actor: actor.clone(),
            facts: json!({ "id": id }),
            payload: json!({}),
        },
    )?;
    crate::store::tail::forget_settings(conn);
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::active.eq(false),
            webhooks::deactivated_seq.eq(Some(entry.seq)),
        ))
        .execute(conn)?;
    let w =
        get(conn, id)?.ok_or_else(|| ServiceError::Internal(format!("webhook {id} vanished")))?;
    Ok(Webhook {
        seq: Some(entry.seq),
        ..w
    })
}

type HookRow = (
    String,
    String,
    String,
    String,
    bool,
    i64,
    Option<i64>,
    NaiveDateTime,
);

/// Which endpoints [`hooks`] loads: one by id, or a keyset page by `registered_seq`.
enum Hooks<'a> {
    One(&'a str),
    Page { after: Option<i64>, limit: i64 },
}

fn hooks(conn: &mut DbConn, pick: Hooks<'_>) -> Result<Vec<Webhook>, ServiceError> {
    let mut q = webhooks::table
        .select((
            webhooks::id,
            webhooks::target_kind,
            webhooks::target,
            webhooks::url,
            webhooks::active,
            webhooks::registered_seq,
            webhooks::deactivated_seq,
            webhooks::created_at,
        ))
        .order(webhooks::registered_seq.asc())
        .into_boxed();
    match pick {
        Hooks::One(id) => q = q.filter(webhooks::id.eq(id.to_string())),
        Hooks::Page { after, limit } => {
            if let Some(after) = after {
                q = q.filter(webhooks::registered_seq.gt(after));
            }
            q = q.limit(limit);
        }
    }
    let rows: Vec<HookRow> = q.load(conn)?;
    // The counts of these endpoints only (at most a page of ids).
    let only: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut counts: BTreeMap<String, DeliveryCounts> = BTreeMap::new();
    let mut cq = outbox::table
        .filter(outbox::channel.eq(Channel::Webhook.as_str()))
        .group_by((outbox::webhook_id, outbox::status))
        .select((
            outbox::webhook_id,
            outbox::status,
            diesel::dsl::count_star(),
            diesel::dsl::max(outbox::last_attempt_at),
        ))
        .into_boxed();
    cq = cq.filter(outbox::webhook_id.eq_any(only));
    type CountRow = (Option<String>, String, i64, Option<NaiveDateTime>);
    let mut last: BTreeMap<String, NaiveDateTime> = BTreeMap::new();
    for (w, status, n, at) in cq.load::<CountRow>(conn)? {
        // Webhook rows always name their endpoint (the table's CHECK).
        let Some(w) = w else { continue };
        let c = counts.entry(w.clone()).or_default();
        match status.as_str() {
            s if s == DeliveryStatus::Pending.as_str() => c.pending = n,
            s if s == DeliveryStatus::Delivered.as_str() => c.delivered = n,
            _ => c.failed = n,
        }
        if let Some(at) = at {
            let l = last.entry(w).or_insert(at);
            if at > *l {
                *l = at;
            }
        }
    }
    for (w, at) in &last {
        // The newest attempt of this endpoint, and its error if it failed.
        let err: Option<Option<String>> = outbox::table
            .filter(outbox::webhook_id.eq(w))
            .filter(outbox::last_attempt_at.eq(at))
            .filter(outbox::delivered_at.is_null())
            .select(outbox::last_error)
            .first(conn)
            .optional()?;
        if let Some(c) = counts.get_mut(w) {
            c.last_attempt_at = Some(format_time(at));
            c.last_error = err.flatten();
        }
    }
    rows.into_iter()
        .map(|(id, kind, target, url, active, reg, deact, created)| {
            Ok(Webhook {
                target: Target::from_columns(&kind, &target).map_err(ServiceError::Internal)?,
                deliveries: counts.remove(&id).unwrap_or_default(),
                id,
                url,
                active,
                registered_seq: reg,
                deactivated_seq: deact,
                created_at: format_time(&created),
                seq: None,
            })
        })
        .collect()
}

/// Up to `limit` endpoints registered after entry `after`, oldest first,
/// with their delivery counts.
pub fn list(
    conn: &mut DbConn,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Webhook>, ServiceError> {
    hooks(conn, Hooks::Page { after, limit })
}

/// One endpoint.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Webhook>, ServiceError> {
    Ok(hooks(conn, Hooks::One(id))?.pop())
}

/// Up to `limit` of an endpoint's deliveries after entry `after`, by `seq`
/// (404 if there is no such endpoint).
pub fn deliveries(
    conn: &mut DbConn,
    id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, ServiceError> {
    let exists: i64 = webhooks::table
        .filter(webhooks::id.eq(id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(ServiceError::NotFound(format!("no webhook {id}")));
    }
    let which = Deliveries::Webhook {
        id: id.to_string(),
        after,
    };
    Ok(queue::page(conn, which, limit)?
        .into_iter()
        .map(Delivery::from)
        .collect())
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        Delivery {
            next_attempt_at: (r.status == DeliveryStatus::Pending.as_str())
                .then(|| format_time(&r.next_attempt_at)),
            id: r.id,
            seq: r.seq,
            event: r.event,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            last_attempt_at: r.last_attempt_at.as_ref().map(format_time),
            delivered_at: r.delivered_at.as_ref().map(format_time),
            created_at: format_time(&r.created_at),
        }
    }
}

/// The `webhook-id` of one delivery: stable for the entry and the endpoint.
pub fn delivery_id(seq: i64, webhook_id: &str) -> String {
    format!("msg_{seq}_{webhook_id}")
}

/// Queue notifications of a dispute entry, in its transaction: one row per
/// active endpoint of a party agency or of a role due to act next on `d`, the
/// dispute as the entry left it, under `policy`, the one it then follows. The
/// caller holds both; nothing is reloaded. Returns how many rows were queued.
pub fn enqueue(
    conn: &mut DbConn,
    entry: &Entry,
    d: &Dispute,
    policy: &Policy,
) -> Result<usize, ServiceError> {
    let Some(dispute_id) = &entry.dispute_id else {
        return Ok(0);
    };
    let roles: Vec<Role> = ladder::due_to_act(policy, d)
        .into_iter()
        .filter_map(|w| match w {
            Who::Role(r) => Some(r),
            Who::PartyAgency => None,
        })
        .collect();
    // Email goes to the same people, through the same outbox (its email channel).
    let mails = email::enqueue(conn, entry, dispute_id, &d.parties, &roles)?;
    // Read once per write transaction (`store::tail`): a batch's commands share it.
    let hooks = crate::store::tail::hooks(conn, |c| {
        webhooks::table
            .filter(webhooks::active.eq(true))
            .select((webhooks::id, webhooks::target_kind, webhooks::target))
            .load(c)
    })?;
    if hooks.is_empty() {
        return Ok(mails);
    }
    let mut body = json!({
        "type": entry.event,
        "dispute_id": dispute_id,
        "seq": entry.seq,
        "rung": d.rung,
        "status": d.status,
        "recorded_at": format_time(&entry.recorded_at),
    });
    // The outcome's notice links to the proof file a party keeps with the
    // written statement of the outcome (GET /v1/disputes/{id}/proof).
    if entry.event == crate::core::event::LedgerEvent::Resolved.as_str() {
        if let Some(map) = body.as_object_mut() {
            map.insert(
                "proof".into(),
                serde_json::Value::String(format!("/v1/disputes/{dispute_id}/proof")),
            );
        }
    }
    let body = body.to_string();
    let mut n = 0;
    for (id, kind, target) in hooks {
        let wanted = match kind.as_str() {
            "agency" => d.parties.contains(&target),
            "role" => roles.iter().any(|r| r.as_str() == target),
            _ => false,
        };
        if !wanted {
            continue;
        }
        queue::queue(conn, &delivery_id(entry.seq, &id), &id, entry, &body)?;
        n += 1;
    }
    Ok(n + mails)
}

// ---- signing ----

/// `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

// ---- replay, for verify ----

#[derive(Debug, Clone, PartialEq, Eq)]
struct Replayed {
    target: Target,
    origin: String,
    registered_seq: i64,
    deactivated_seq: Option<i64>,
}

/// The endpoints `verify` rebuilds from `webhook_registered`/`webhook_deactivated`.
#[derive(Debug, Default)]
pub struct Replay {
    hooks: BTreeMap<String, Replayed>,
}

impl Replay {
    pub fn apply(&mut self, e: &Entry) -> Result<(), String> {
        if e.actor.role != Role::PartnershipAdmin {
            return Err(format!(
                "{} by someone other than partnership_admin",
                e.event
            ));
        }
        let id = e
            .facts
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{} without an id", e.event))?
            .to_string();
        match LedgerEvent::parse(&e.event) {
            Some(LedgerEvent::WebhookRegistered) => {
                let target: Target = e
                    .facts
                    .get("target")
                    .cloned()
                    .ok_or("webhook_registered without a target")
                    .and_then(|t| {
                        serde_json::from_value(t).map_err(|_| "webhook_registered: bad target")
                    })?;
                let origin = e
                    .facts
                    .get("origin")
                    .and_then(|v| v.as_str())
                    .ok_or("webhook_registered without an origin")?
                    .to_string();
                if self.hooks.contains_key(&id) {
                    return Err(format!("webhook {id} registered twice"));
                }
                self.hooks.insert(
                    id,
                    Replayed {
                        target,
                        origin,
                        registered_seq: e.seq,
                        deactivated_seq: None,
                    },
                );
                Ok(())
            }
            _ => match self.hooks.get_mut(&id) {
                Some(h) if h.deactivated_seq.is_none() => {
                    h.deactivated_seq = Some(e.seq);
                    Ok(())
                }
                Some(_) => Err(format!("webhook {id} deactivated twice")),
                None => Err(format!("webhook {id} deactivated but never registered")),
            },
        }
    }

    /// How the `webhooks` table differs from the replay, if it does.
    pub fn table_mismatch(&self, conn: &mut DbConn) -> Result<Option<String>, ServiceError> {
        type Row = (String, String, String, String, bool, i64, Option<i64>);
        let rows: Vec<Row> = webhooks::table
            .select((
                webhooks::id,
                webhooks::target_kind,
                webhooks::target,
                webhooks::url,
                webhooks::active,
                webhooks::registered_seq,
                webhooks::deactivated_seq,
            ))
            .load(conn)?;
        if rows.len() != self.hooks.len() {
            return Ok(Some(format!(
                "the webhooks table has {} endpoints, the ledger registers {}",
                rows.len(),
                self.hooks.len()
            )));
        }
        for (id, kind, target, url, active, reg, deact) in rows {
            let Some(h) = self.hooks.get(&id) else {
                return Ok(Some(format!("webhook {id} is not in the ledger")));
            };
            let same = Target::from_columns(&kind, &target).ok().as_ref() == Some(&h.target)
                && origin_of(&url).ok().as_deref() == Some(h.origin.as_str())
                && reg == h.registered_seq
                && deact == h.deactivated_seq
                && active == h.deactivated_seq.is_none();
            if !same {
                return Ok(Some(format!("webhook {id} differs from the ledger")));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = B64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_and_urls_are_checked() {
        assert_eq!(parse_secret(None).unwrap().len(), 32);
        let s = B64.encode([7u8; 32]);
        assert_eq!(parse_secret(Some(&s)).unwrap(), vec![7u8; 32]);
        assert_eq!(
            parse_secret(Some(&format!("whsec_{s}"))).unwrap(),
            vec![7u8; 32]
        );
        assert!(parse_secret(Some("not base64!")).is_err());
        assert!(parse_secret(Some(&B64.encode([1u8; 8]))).is_err());
        assert_eq!(
            origin_of("https://hooks.example.org/x/SECRET?t=1").unwrap(),
            "https://hooks.example.org"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/h").unwrap(),
            "http://127.0.0.1:9000"
        );
        for bad in ["ftp://x/y", "hooks.example.org/x", "", "http://"] {
            assert!(origin_of(bad).is_err(), "{bad}");
        }
    }
}
