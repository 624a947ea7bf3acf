//! Rate limiting per token subject and per client address: a token bucket per
//! key (pure, clock passed in) and the actix middleware that applies both.
//!
//! Each limit is "N requests per minute": a bucket holds at most N tokens and
//! refills at N per 60 s, so a client may burst N requests and then keeps to
//! the average. Buckets idle long enough to be full again carry no state and
//! are pruned once a minute, so memory holds only the keys seen in the last
//! minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::http::error::AppError;

/// How often idle buckets are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per key, `per_minute` requests per minute.
#[derive(Debug)]
pub struct Limiter {
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    buckets: HashMap<String, Bucket>,
    last_prune: Option<Instant>,
}

impl Limiter {
    /// `None` for 0: the limit is off.
    pub fn per_minute(n: u32) -> Option<Limiter> {
        (n > 0).then(|| Limiter {
            capacity: f64::from(n),
            rate: f64::from(n) / 60.0,
            buckets: HashMap::new(),
            last_prune: None,
        })
    }

    /// Take one token for `key` at `now`; if there is none, how long until there is.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.prune(now);
        let (capacity, rate) = (self.capacity, self.rate);
        let refill = |b: &Bucket| {
            let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
            (b.tokens + elapsed * rate).min(capacity)
        };
        let tokens = self.buckets.get(key).map_or(capacity, refill);
        if tokens >= 1.0 {
            let bucket = Bucket {
                tokens: tokens - 1.0,
                updated: now,
            };
            self.buckets.insert(key.to_string(), bucket);
            Ok(())
        } else {
            if let Some(b) = self.buckets.get_mut(key) {
                *b = Bucket {
                    tokens,
                    updated: now,
                };
            }
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }

    /// Give back the token `check` took for `key` (capped at the capacity).
    pub fn refund(&mut self, key: &str) {
        if let Some(b) = self.buckets.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.capacity);
        }
    }

    /// Keys currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Once per [`PRUNE_EVERY`], drop the buckets that have refilled: a full
    /// bucket behaves exactly like a missing one.
    fn prune(&mut self, now: Instant) {
        let due = self
            .last_prune
            .is_none_or(|t| now.saturating_duration_since(t) >= PRUNE_EVERY);
        if !due {
            return;
        }
        self.last_prune = Some(now);
        let (capacity, rate) = (self.capacity, self.rate);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
            b.tokens + elapsed * rate < capacity
        });
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Subject,
    Address,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Refused::Subject => "subject",
            Refused::Address => "address",
        }
    }
}

/// Both limits, shared by every worker (stored as app data).
#[derive(Debug)]
pub struct RateLimits {
    subject: Option<Mutex<Limiter>>,
    address: Option<Mutex<Limiter>>,
    trust_forwarded_for: bool,
}

impl RateLimits {
    pub fn new(per_subject: u32, per_address: u32, trust_forwarded_for: bool) -> Self {
        RateLimits {
            subject: Limiter::per_minute(per_subject).map(Mutex::new),
            address: Limiter::per_minute(per_address).map(Mutex::new),
            trust_forwarded_for,
        }
    }

    /// The address limit first, so requests it refuses (e.g. with forged
    /// `sub`s) never create subject buckets.
    pub fn check(
        &self,
        address: Option<&str>,
        subject: Option<&str>,
        now: Instant,
    ) -> Result<(), (Refused, Duration)> {
        let take = |limiter: &Option<Mutex<Limiter>>, key: Option<&str>, which| match (limiter, key)
        {
            (Some(l), Some(key)) => l
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .check(key, now)
                .map_err(|wait| (which, wait)),
            _ => Ok(()),
        };
        take(&self.address, address, Refused::Address)?;
        take(&self.subject, subject, Refused::Subject)
    }

    /// Undo the subject's share of a request whose token turned out invalid.
    pub fn refund_subject(&self, subject: &str) {
        if let Some(l) = &self.subject {
            l.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .refund(subject);
        }
    }
}

/// The `sub` claim of the bearer token, decoded WITHOUT checking the signature.
///
/// It is only a bucket key, so the token is not verified twice: `auth::authenticate`
/// (behind the `authz` extractors) verifies it once and refuses a bad one with 401. A client forging
/// `sub`s only spreads its own requests over more buckets, and the per-address
/// limit (checked first) still applies. A forged `sub` naming someone else would
/// drain their bucket, so a request answered 401 gives its subject token back
/// ([`RateLimits::refund_subject`]).
fn unverified_sub(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct Sub {
        sub: String,
    }
    let sub = serde_json::from_slice::<Sub>(&bytes).ok()?.sub;
    (!sub.is_empty()).then_some(sub)
}

/// The client address: the TCP peer's IP, or with `TRUST_FORWARDED_FOR` the
/// first `Forwarded`/`X-Forwarded-For` address (only safe behind a proxy that
/// overwrites those headers).
fn client_address(req: &ServiceRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        if let Some(a) = req.connection_info().realip_remote_addr() {
            return Some(a.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The middleware: 429 problem+json with `Retry-After` when a limit is spent.
/// `/healthz` and `/readyz` are exempt.
pub async fn middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let exempt = matches!(req.path(), "/healthz" | "/readyz");
    let limits = (!exempt)
        .then(|| req.app_data::<web::Data<RateLimits>>().cloned())
        .flatten();
    let subject = limits
        .as_ref()
        .and_then(|l| l.subject.as_ref())
        .and_then(|_| unverified_sub(&req));
    if let Some(limits) = &limits {
        let address = client_address(&req, limits.trust_forwarded_for);
        let checked = limits.check(address.as_deref(), subject.as_deref(), Instant::now());
        if let Err((which, wait)) = checked {
            let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            // Never the token (nor the unverified sub): the route and the limiter.
            tracing::warn!(
                route = %req.path(),
                limiter = which.as_str(),
                retry_after_secs,
                "rate limit exceeded"
            );
            let err = AppError::TooManyRequests { retry_after_secs };
            return Ok(req.error_response(err).map_into_right_body());
        }
    }
    let res = next.call(req).await?;
    if res.status() == StatusCode::UNAUTHORIZED {
        if let (Some(limits), Some(sub)) = (limits, subject) {
            limits.refund_subject(&sub);
        }
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: f64) -> Duration {
        Duration::from_secs_f64(n)
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert!(Limiter::per_minute(0).is_none());
        let limits = RateLimits::new(0, 0, false);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(limits.check(Some("1.2.3.4"), Some("s"), t0).is_ok());
        }
    }

    #[test]
    fn a_burst_of_n_then_refused_until_a_token_refills() {
        let mut l = Limiter::per_minute(3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check("a", t0), Ok(()));
        }
        let wait = l.check("a", t0).unwrap_err();
        assert_eq!(wait, secs(20.0), "3 a minute: one token every 20 s");
        let wait = l.check("a", t0 + secs(5.0)).unwrap_err();
        assert!((wait.as_secs_f64() - 15.0).abs() < 1e-6, "{wait:?}");
        assert_eq!(l.check("a", t0 + secs(20.0)), Ok(()));
        assert!(l.check("a", t0 + secs(20.0)).is_err());
        // Other keys have their own buckets.
        assert_eq!(l.check("b", t0), Ok(()));
    }

    #[test]
    fn refills_to_capacity_and_no_further() {
        let mut l = Limiter::per_minute(2).unwrap();
        let t0 = Instant::now();
        assert_eq!(l.check("a", t0), Ok(()));
        let later = t0 + secs(3600.0);
        assert_eq!(l.check("a", later), Ok(()));
        assert_eq!(l.check("a", later), Ok(()));
        assert!(
            l.check("a", later).is_err(),
            "an hour idle is still a burst of 2"
        );
    }

    #[test]
    fn a_refund_gives_one_token_back_up_to_the_capacity() {
        let mut l = Limiter::per_minute(1).unwrap();
        let t0 = Instant::now();
        assert_eq!(l.check("a", t0), Ok(()));
        assert!(l.check("a", t0).is_err());
        l.refund("a");
        assert_eq!(l.check("a", t0), Ok(()));
        l.refund("a");
        l.refund("a");
        assert_eq!(l.check("a", t0), Ok(()));
        assert!(
            l.check("a", t0).is_err(),
            "refunds never exceed the capacity"
        );
        l.refund("unknown");
        assert_eq!(l.len(), 1, "refunding an unknown key creates nothing");
    }

    #[test]
    fn idle_buckets_are_pruned_so_memory_stays_bounded() {
        let mut l = Limiter::per_minute(60).unwrap();
        let t0 = Instant::now();
        for i in 0..1000 {
            l.check(&format!("k{i}"), t0).unwrap();
        }
        assert_eq!(l.len(), 1000);
        l.check("busy", t0 + secs(30.0)).unwrap();
        assert_eq!(l.len(), 1001, "no prune within the minute");
        // A minute on: the 1000 have refilled (1 token a second) and go.
        l.check("busy", t0 + secs(61.0)).unwrap();
        assert_eq!(l.len(), 1, "only the bucket just used remains");
    }

    #[test]
    fn the_address_limit_is_checked_first_and_spares_subject_buckets() {
        let limits = RateLimits::new(100, 2, false);
        let t0 = Instant::now();
        assert!(limits.check(Some("ip"), Some("alice"), t0).is_ok());
        assert!(limits.check(Some("ip"), Some("bob"), t0).is_ok());
        assert_eq!(
            limits.check(Some("ip"), Some("carol"), t0).unwrap_err().0,
            Refused::Address
        );
        let subjects = limits.subject.as_ref().unwrap().lock().unwrap();
        assert_eq!(subjects.len(), 2, "carol got no bucket");
    }

    #[test]
    fn the_subject_limit_refuses_a_subject_across_addresses() {
        let limits = RateLimits::new(1, 100, false);
        let t0 = Instant::now();
        assert!(limits.check(Some("a"), Some("alice"), t0).is_ok());
        assert_eq!(
            limits.check(Some("b"), Some("alice"), t0).unwrap_err().0,
            Refused::Subject
        );
        assert!(limits.check(Some("b"), Some("bob"), t0).is_ok());
        assert!(
            limits.check(Some("b"), None, t0).is_ok(),
            "no token: address only"
        );
    }
}
