//! Hostile input gets a 4xx (issue 10, section 4): control characters in
//! every identifier, path segment, query value and body field; bidirectional
//! overrides in free text; crafted tokens; bodies that never finish; log
//! injection; scrutiny dates and attendees.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use base64::Engine as _;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::Keys;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, LoggedServe, TestApp, TestDb, SECRET};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "sw-london-icb";

/// The apps' clock starts here (Wednesday 10 June 2026, 11:00 in London), so
/// no date below depends on the day the test runs.
const NOW: &str = "2026-06-10T10:00:00Z";
/// Today in London at `NOW`.
const TODAY: &str = "2026-06-10";
/// A response date after `NOW`: recommendations are not due in the past.
const DUE: &str = "2026-07-31";

async fn send(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let url = format!("{}{path}", app.base);
    let req = match method {
        "GET" => app.client.get(url),
        "DELETE" => app.client.delete(url),
        _ => app.client.post(url),
    }
    .bearer_auth(token);
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("request");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        ct,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// NUL and other control characters in every identifier, path segment, query
/// value and body field: 400 problem+json, nothing written, on both backends
/// (PostgreSQL answered 500 to a NUL before).
async fn control_characters_are_refused_everywhere(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let id = app.raise(&[A, B], false).await;
    let sc = app.token("scrutineer-1", Role::Scrutineer, None, None);
    let admin = app.token("admin-1", Role::PartnershipAdmin, None, None);
    let auditor = app.role(Role::Auditor);
    let (s, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": [A, B], "topic": "t"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_str().unwrap().to_string();
    // A good date, so only the control character can be the fault.
    let today = TODAY;
    let before = app.size().await;
    let a = app.agency(A);
    let sessions = format!("/v1/admin/mediations/{mid}/sessions");
    let cases: Vec<(&str, String, &str, Option<Value>)> = vec![
        ("GET", auditor.clone(), "/v1/disputes/%00", None),
        ("GET", a.clone(), "/v1/disputes/%00", None),
        ("GET", auditor.clone(), "/v1/disputes/%00/history", None),
        ("GET", a.clone(), "/v1/disputes/a%0Ab", None),
        ("GET", auditor.clone(), "/v1/disputes?agency=%00", None),
        ("GET", auditor.clone(), "/v1/disputes?agency=x%0D%0Ay", None),
        ("GET", auditor.clone(), "/v1/disputes?a%0AFORGED=1", None),
        ("GET", auditor.clone(), "/v1/policies/%00", None),
        ("GET", sc.clone(), "/v1/admin/mediations/%00", None),
        (
            "GET",
            admin.clone(),
            "/v1/admin/webhooks/%00/deliveries",
            None,
        ),
        ("DELETE", admin.clone(), "/v1/admin/webhooks/%00", None),
        (
            "GET",
            auditor.clone(),
            "/v1/disputes?agency=x%E2%80%AEy",
            None,
        ),
        (
            "POST",
            a.clone(),
            "/v1/disputes",
            Some(json!({"parties": [A, "cafcass\u{0}"], "summary": "s"})),
        ),
        (
            "POST",
            a.clone(),
            "/v1/disputes",
            Some(json!({"parties": [A, "caf\ncass"], "summary": "s"})),
        ),
        (
            "POST",
            a.clone(),
            "/v1/disputes",
            Some(json!({"parties": [A, "cafcass"], "summary": "nul\u{0}inside"})),
        ),
        (
            "POST",
            a.clone(),
            "/v1/disputes",
            Some(json!({"parties": [A, "cafcass"], "summary": "\u{1b}[2Jcleared"})),
        ),
        (
            "POST",
            a.clone(),
            "/v1/disputes",
            Some(json!({"parties": [A, "cafcass"], "summary": "s", "a\u{0}": 1})),
        ),
        (
            "POST",
            a.clone(),
            "/v1/admin/reviews",
            Some(json!({"dispute_id": format!("{id}\u{0}"), "concern": "c"})),
        ),
        (
            "POST",
            admin.clone(),
            "/v1/admin/webhooks",
            Some(json!({"target": {"agency": "x\u{0}"}, "url": "https://hooks.example/x"})),
        ),
        (
            "POST",
            admin.clone(),
            "/v1/admin/webhooks",
            Some(json!({"target": {"agency": A}, "url": "https://hooks.example/\u{0}"})),
        ),
        (
            "POST",
            admin.clone(),
            "/v1/policies",
            Some(json!({"document": "version = \"x\u{0}\""})),
        ),
        (
            "POST",
            sc.clone(),
            "/v1/admin/mediations",
            Some(json!({"agencies": [A, "x\u{0}"], "topic": "t"})),
        ),
        (
            "POST",
            sc.clone(),
            &sessions,
            Some(
                json!({"date": today, "attendees": [{"role": "agency", "agency": "a\u{0}"}], "notes": "n"}),
            ),
        ),
        (
            "POST",
            sc.clone(),
            &sessions,
            Some(json!({"date": today, "attendees": [{"role": "scrutineer"}], "notes": "n\u{0}"})),
        ),
        (
            "POST",
            sc.clone(),
            "/v1/admin/recommendations",
            Some(json!({"text": "t", "theme": "x", "response_due": format!("{DUE}\u{0}")})),
        ),
    ];
    for (method, token, path, body) in cases {
        let (s, ct, v) = send(&app, method, &token, path, body.clone()).await;
        assert_eq!(s, 400, "{method} {path} {body:?}: {v}");
        assert_eq!(ct, "application/problem+json", "{method} {path}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains('\0') && !detail.contains('\n'),
            "{detail:?}"
        );
    }
    assert_eq!(app.size().await, before, "nothing written");
    // Bidirectional overrides and isolates in free text.
    for bad in ["pay\u{202E}gnp.exe", "x\u{2066}y\u{2069}"] {
        let (s, _, v) = send(
            &app,
            "POST",
            &a,
            "/v1/disputes",
            Some(json!({"parties": [A, "cafcass"], "summary": bad})),
        )
        .await;
        assert_eq!(s, 400, "{bad:?}: {v}");
    }
    assert_eq!(app.size().await, before, "nothing written");
    // Free text keeps its newlines and tabs.
    let (s, _, v) = send(
        &app,
        "POST",
        &a,
        "/v1/disputes",
        Some(json!({"parties": [A, "cafcass"], "summary": "line one\n\tline two"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(app.verify().ok);
}

fn mint(header: &Header, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

async fn status_with_auth(app: &TestApp, authorization: &str) -> (u16, Value) {
    let mut res = app
        .client
        .get(format!("{}/v1/agencies", app.base))
        .insert_header(("authorization", authorization))
        .send()
        .await
        .expect("request");
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Tokens: `crit`, `nbf`, an over-long lifetime, the scheme's case, and no
/// library enum names in the answer.
async fn crafted_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Token times (`exp`, `nbf`) are checked against the system clock, not
    // the domain's (`core::clock`), so these stay on the real one.
    let now = chrono::Utc::now().timestamp();
    let claims = |extra: Value| {
        let mut c = json!({"sub": "auditor-1", "role": "auditor", "exp": now + 3600});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                c[k] = v;
            }
        }
        c
    };
    let hs = Header::new(Algorithm::HS256);
    let good = mint(&hs, &claims(json!({})));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (s, v) = status_with_auth(&app, &format!("{scheme} {good}")).await;
        assert_eq!(s, 200, "{scheme}: {v}");
    }
    // crit naming an extension we do not implement (RFC 7515 4.1.11).
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let head = b64.encode(br#"{"alg":"HS256","typ":"JWT","crit":["exp-ext"],"exp-ext":1}"#);
    let body = b64.encode(serde_json::to_vec(&claims(json!({}))).unwrap());
    let signing = format!("{head}.{body}");
    let sig = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(signing.as_bytes());
        b64.encode(mac.finalize().into_bytes())
    };
    let crit = format!("{signing}.{sig}");
    let not_yet = mint(&hs, &claims(json!({"nbf": now + 600})));
    let for_a_year = mint(&hs, &claims(json!({"exp": now + 365 * 24 * 3600})));
    let wrong_key = jsonwebtoken::encode(
        &hs,
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-another-secret-another-secret"),
    )
    .unwrap();
    for (what, token, needle) in [
        ("crit", crit.as_str(), "crit"),
        ("nbf in the future", not_yet.as_str(), "nbf"),
        (
            "exp a year ahead",
            for_a_year.as_str(),
            "TOKEN_MAX_LIFETIME",
        ),
        ("wrong key", wrong_key.as_str(), "signature"),
        ("garbage", "a.b.c", "token"),
    ] {
        let (s, v) = status_with_auth(&app, &format!("Bearer {token}")).await;
        assert_eq!(s, 401, "{what}: {v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{what}: {detail}");
        for name in [
            "InvalidSignature",
            "InvalidToken",
            "ImmatureSignature",
            "Base64",
            "Json(",
        ] {
            assert!(!detail.contains(name), "{what}: {detail}");
        }
    }
    // A shorter configured maximum refuses what the default accepts.
    let strict = Keys::from_secret(SECRET.as_bytes()).with_max_lifetime(Duration::from_secs(600));
    assert!(strict.check(&good).is_err());
    assert!(Keys::from_secret(SECRET.as_bytes()).check(&good).is_ok());
}

/// A body that never completes gets 408 within the body read timeout, and its
/// connection is closed; the server still answers others.
async fn a_slow_body_times_out(backend: Backend) {
    let app = TestApp::spawn_with_settings(
        backend,
        escalation_ledger::app::Settings {
            body_read_timeout: Duration::from_millis(800),
            ..Default::default()
        },
    )
    .await;
    let token = app.agency(A);
    let addr = app.base.trim_start_matches("http://").to_string();
    let held: Vec<_> = (0..5)
        .map(|_| {
            let (addr, token) = (addr.clone(), token.clone());
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(&addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let started = Instant::now();
                write!(
                    s,
                    "POST /v1/disputes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                     Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"parties\""
                )
                .unwrap();
                s.flush().unwrap();
                let mut got = Vec::new();
                // Read to the end: the server must close the connection.
                let r = s.read_to_end(&mut got);
                (
                    r.is_ok(),
                    started.elapsed(),
                    String::from_utf8_lossy(&got).into_owned(),
                )
            })
        })
        .collect();
    for h in held {
        let (closed, took, text) = actix_web::rt::task::spawn_blocking(move || h.join().unwrap())
            .await
            .unwrap();
        assert!(closed, "the connection was not closed within 10 s: {text}");
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("application/problem+json"), "{text}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
    let (s, v) = app.get(&token, "/v1/agencies").await;
    assert_eq!(s, 200, "{v}");
}

/// A newline in a query key or value, a JSON key or a path cannot forge a line
/// in the text log.
async fn log_lines_cannot_be_forged(backend: Backend) {
    // The real binary, for its text log, on the real clock: it sends no dates,
    // and token lifetimes are real time anyway.
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let served = LoggedServe::start(&db.url, dir.path(), "info").await;
    let client = crate::helpers::client();
    let keys = Keys::from_secret(SECRET.as_bytes());
    let token = keys
        .mint(&escalation_ledger::http::auth::Claims {
            sub: "auditor-1".into(),
            role: Role::Auditor,
            agency: None,
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap();
    let agency = keys
        .mint(&escalation_ledger::http::auth::Claims {
            sub: "user@kingston-council".into(),
            role: Role::Agency,
            agency: Some(A.into()),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap();
    let forge = "%0A2026-12-01T00:00:00.000000Z%20%20INFO%20FORGED%20line";
    for path in [
        format!("/v1/disputes?{forge}=1"),
        format!("/v1/disputes?agency={forge}"),
        format!("/v1/disputes?limit=x{forge}"),
        format!("/v1/disputes/{forge}"),
    ] {
        let res = client
            .get(format!("{}{path}", served.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let res = client
        .post(format!("{}/v1/disputes", served.base))
        .bearer_auth(&agency)
        .insert_header(("content-type", "application/json"))
        .send_body(
            "{\"parties\": [\"kingston-council\", \"cafcass\"], \"summary\": \"s\", \
             \"x\\n2026-12-01T00:00:00.000000Z  INFO FORGED line\": 1}",
        )
        .await
        .expect("request");
    assert!(res.status().is_client_error(), "{}", res.status());
    // A value that is logged as it is (the unknown-field message once was): no raw newline.
    let res = client
        .get(format!("{}/v1/ledger/entries?from=1%0AFORGED", served.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_client_error(), "{}", res.status());
    let log = served.stop();
    assert!(log.contains("request"), "the log was captured: {log}");
    for line in log.lines() {
        assert!(
            !line.contains("FORGED")
                || !line.trim_start().starts_with("2026-12-01T00:00:00.000000Z"),
            "a forged line: {line}\n--- log ---\n{log}"
        );
        assert!(!line.starts_with("FORGED"), "{line}");
    }
}

/// Mediation sessions are dated between the opening and today, by the
/// mediation's agencies; a recommendation's response is not due in the past.
async fn scrutiny_dates_and_attendees_are_held(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let sc = app.token("scrutineer-1", Role::Scrutineer, None, None);
    let (s, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": [A, B], "topic": "t"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_str().unwrap().to_string();
    // The mediation opened today, at `NOW`.
    assert_eq!(app.today().to_string(), TODAY);
    let (yesterday, tomorrow) = ("2026-06-09", "2026-06-11");
    let before = app.size().await;
    let sessions = format!("/v1/admin/mediations/{mid}/sessions");
    let who = |agency: &str| json!([{"role": "scrutineer"}, {"role": "agency", "agency": agency}]);
    for (what, body) in [
        (
            "before the mediation opened",
            json!({"date": yesterday, "attendees": who(A), "notes": "n"}),
        ),
        (
            "in the future",
            json!({"date": tomorrow, "attendees": who(A), "notes": "n"}),
        ),
        (
            "an attendee from outside",
            json!({"date": TODAY, "attendees": who(C), "notes": "n"}),
        ),
    ] {
        let (s, v) = app.post(&sc, &sessions, body).await;
        assert_eq!(s, 422, "{what}: {v}");
    }
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "t", "theme": "x", "response_due": yesterday}),
        )
        .await;
    assert_eq!(s, 422, "due in the past: {v}");
    assert_eq!(app.size().await, before, "nothing written");
    let (s, v) = app
        .post(
            &sc,
            &sessions,
            json!({"date": TODAY, "attendees": who(B), "notes": "n"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "t", "theme": "x", "response_due": TODAY}),
        )
        .await;
    assert_eq!(s, 201, "due today: {v}");
    assert!(app.verify().ok);
}

both_backends!(
    control_characters_are_refused_everywhere,
    crafted_tokens_are_refused,
    a_slow_body_times_out,
    log_lines_cannot_be_forged,
    scrutiny_dates_and_attendees_are_held,
);
