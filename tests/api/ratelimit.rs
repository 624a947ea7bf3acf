//! Rate limits per token subject and per client address: 429 problem+json with
//! `Retry-After`, nothing written, health checks exempt.

use escalation_ledger::app::Settings;
use escalation_ledger::core::ladder::Role;
use std::time::Instant;

use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// GET `path` and return the status, `Retry-After`, content type and body.
async fn get_raw(app: &TestApp, token: &str, path: &str) -> (u16, Option<u64>, String, String) {
    let mut res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after").map(|v| v.parse().expect("Retry-After in seconds"));
    let content_type = header("content-type").unwrap_or_default();
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        retry_after,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// Send `request` until it is refused (429) and return how many were let
/// through. A bucket refills one token every 60 / `per_minute` seconds, so on
/// a slow machine a request the test expects refused may pass: each one that
/// does must be paid for by the time elapsed since `since` (the start of the
/// burst), or the limit is not holding.
async fn until_refused<F, Fut>(since: Instant, per_minute: u32, mut request: F) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let period = 60.0 / f64::from(per_minute);
    let mut passed = 0;
    loop {
        match request().await {
            429 => return passed,
            s => {
                assert!(s < 300, "{s}");
                passed += 1;
                let refills = (since.elapsed().as_secs_f64() / period).floor() as usize;
                assert!(
                    passed <= refills,
                    "{passed} let through beyond the burst, {refills} refill(s) in the time taken"
                );
            }
        }
    }
}

/// A subject is refused after its limit, with problem+json and `Retry-After`;
/// another subject and the health checks are not; a refused POST writes nothing.
async fn a_subject_over_its_limit_gets_429_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn_with_settings(
        backend,
        Settings {
            rate_limit_per_subject: 3,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await;
    let alice = app.agency("kingston-council");
    let burst = Instant::now();
    for _ in 0..3 {
        let (s, _, _, body) = get_raw(&app, &alice, "/v1/agencies").await;
        assert_eq!(s, 200, "{body}");
    }
    until_refused(burst, 3, || async {
        get_raw(&app, &alice, "/v1/agencies").await.0
    })
    .await;
    let (s, retry_after, content_type, body) = get_raw(&app, &alice, "/v1/agencies").await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(content_type, "application/problem+json");
    let retry_after = retry_after.expect("a Retry-After header");
    assert!((1..=20).contains(&retry_after), "3 a minute: {retry_after}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem+json");
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["type"], "/problems/too-many-requests");

    // A refused POST writes nothing (the size is read as another subject).
    let before = app.size().await;
    let (s, v) = app
        .post(
            &alice,
            "/v1/disputes",
            json!({"parties": ["kingston-council", "cafcass"], "summary": "Threshold", "complex": false}),
        )
        .await;
    assert_eq!(s, 429, "{v}");
    assert_eq!(app.size().await, before, "a refused POST appends nothing");

    // Another subject has its own bucket; the health checks are exempt.
    let (s, _, _, body) = get_raw(&app, &app.role(Role::Scrutineer), "/v1/agencies").await;
    assert_eq!(s, 200, "{body}");
    for path in ["/healthz", "/readyz"] {
        let (s, _, _, body) = get_raw(&app, &alice, path).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
}

/// A lower address limit refuses a second subject from the same address.
async fn the_address_limit_spans_subjects(backend: Backend) {
    let app = TestApp::spawn_with_settings(
        backend,
        Settings {
            rate_limit_per_subject: 100,
            rate_limit_per_address: 4,
            ..Settings::default()
        },
    )
    .await;
    let alice = app.agency("kingston-council");
    let burst = Instant::now();
    for _ in 0..4 {
        let (s, _, _, body) = get_raw(&app, &alice, "/v1/agencies").await;
        assert_eq!(s, 200, "{body}");
    }
    let bob = app.role(Role::Auditor);
    until_refused(burst, 4, || async {
        get_raw(&app, &bob, "/v1/agencies").await.0
    })
    .await;
    let (s, retry_after, content_type, body) = get_raw(&app, &bob, "/v1/agencies").await;
    assert_eq!(s, 429, "bob shares alice's address: {body}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        retry_after.is_some_and(|r| (1..=15).contains(&r)),
        "{retry_after:?}"
    );
    // Without a token too: the address is what is limited.
    let res = app
        .client
        .get(format!("{}/v1/agencies", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 429);
    let (s, _, _, _) = get_raw(&app, &bob, "/healthz").await;
    assert_eq!(s, 200, "health checks are exempt");
}

/// Requests with a forged token do not use up the subject they name.
async fn forged_tokens_do_not_drain_a_subject(backend: Backend) {
    let app = TestApp::spawn_with_settings(
        backend,
        Settings {
            rate_limit_per_subject: 2,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await;
    let alice = app.agency("kingston-council");
    let mut parts: Vec<&str> = alice.split('.').collect();
    parts[2] = "AAAA";
    let forged = parts.join(".");
    for _ in 0..5 {
        let (s, _, _, body) = get_raw(&app, &forged, "/v1/agencies").await;
        assert_eq!(s, 401, "{body}");
    }
    let burst = Instant::now();
    for _ in 0..2 {
        let (s, _, _, body) = get_raw(&app, &alice, "/v1/agencies").await;
        assert_eq!(s, 200, "{body}");
    }
    until_refused(burst, 2, || async {
        get_raw(&app, &alice, "/v1/agencies").await.0
    })
    .await;
}

/// GET `/v1/agencies` as `token` with `header` set: the status.
async fn get_with(app: &TestApp, token: &str, header: (&str, &str)) -> u16 {
    app.client
        .get(format!("{}/v1/agencies", app.base))
        .bearer_auth(token)
        .insert_header(header)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// README: `TRUST_FORWARDED_FOR` keys the address limit on `Forwarded` /
/// `X-Forwarded-For` instead of the TCP peer. Off, every client behind the
/// one peer shares its bucket whatever the headers say; on, each forwarded
/// address has its own.
async fn trust_forwarded_for_keys_the_address_limit_on_the_header(backend: Backend) {
    for trust in [false, true] {
        let app = TestApp::spawn_with_settings(
            backend,
            Settings {
                rate_limit_per_subject: 0,
                rate_limit_per_address: 2,
                trust_forwarded_for: trust,
                ..Settings::default()
            },
        )
        .await;
        let tok = app.agency("kingston-council");
        let one = ("x-forwarded-for", "203.0.113.1");
        let burst = Instant::now();
        assert_eq!(get_with(&app, &tok, one).await, 200);
        assert_eq!(get_with(&app, &tok, one).await, 200);
        until_refused(burst, 2, || get_with(&app, &tok, one)).await;
        let two = ("x-forwarded-for", "203.0.113.2");
        let three = ("forwarded", "for=203.0.113.3");
        if trust {
            // Buckets of their own: full bursts.
            for h in [two, three] {
                assert_eq!(get_with(&app, &tok, h).await, 200, "{h:?}");
                assert_eq!(get_with(&app, &tok, h).await, 200, "{h:?}");
            }
        } else {
            // The peer's bucket, spent above: nothing beyond its refills.
            for h in [two, three] {
                until_refused(burst, 2, || get_with(&app, &tok, h)).await;
            }
        }
    }
}

both_backends!(
    a_subject_over_its_limit_gets_429_and_writes_nothing,
    the_address_limit_spans_subjects,
    forged_tokens_do_not_drain_a_subject,
    trust_forwarded_for_keys_the_address_limit_on_the_header,
);
