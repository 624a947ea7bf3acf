use escalation_ledger::core::ladder::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";

async fn raw(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut req = app.client.post(format!("{}/v1/disputes", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut res = req
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
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

/// Every class of bad input gets its status, as problem+json, and writes nothing.
async fn bad_inputs_are_refused_and_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tok = app.agency(A);
    let before = app.size().await;
    let good = |f: &dyn Fn(&mut Value)| {
        let mut v = json!({"parties": [A, "cafcass"], "summary": "s"});
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    // (what, token, content type, body, expected status)
    type Case<'a> = (&'a str, Option<String>, &'a str, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some(tok.clone()),
            "application/json",
            b"{\"parties\": [".to_vec(),
            400,
        ),
        (
            "wrong type",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["urgent"] = json!("yes")),
            400,
        ),
        (
            "unknown field",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["child_name"] = json!("Jane")),
            400,
        ),
        (
            "missing field",
            Some(tok.clone()),
            "application/json",
            br#"{"parties": []}"#.to_vec(),
            400,
        ),
        (
            "empty parties",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["parties"] = json!([])),
            422,
        ),
        (
            "unknown agency",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["parties"] = json!([A, "no-such-agency"])),
            422,
        ),
        (
            "party twice",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["parties"] = json!([A, A])),
            422,
        ),
        (
            "raiser not a party",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["parties"] = json!(["cafcass", "probation-service"])),
            422,
        ),
        (
            "empty summary",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["summary"] = json!("  ")),
            422,
        ),
        (
            "a name as child_ref",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["child_ref"] = json!("Jane Smith")),
            422,
        ),
        (
            "oversized body",
            Some(tok.clone()),
            "application/json",
            good(&|v| v["summary"] = json!("x".repeat(100_000))),
            413,
        ),
        (
            "wrong content type",
            Some(tok.clone()),
            "text/plain",
            good(&|_| {}),
            415,
        ),
        ("no token", None, "application/json", good(&|_| {}), 401),
        (
            "bad token",
            Some("not.a.jwt".into()),
            "application/json",
            good(&|_| {}),
            401,
        ),
        (
            "not an agency",
            Some(app.role(Role::Slg)),
            "application/json",
            good(&|_| {}),
            403,
        ),
    ];
    for (name, token, ct, body, want) in cases {
        let (status, content_type, problem) = raw(&app, token.as_deref(), ct, body).await;
        assert_eq!(status, want, "{name}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{name}");
        assert_eq!(problem["status"], want, "{name}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        assert_eq!(app.size().await, before, "{name} wrote to the ledger");
    }

    // An expired token, and actions on bad ids and bad bodies.
    let expired = {
        use escalation_ledger::http::auth::{Claims, Keys};
        Keys::from_secret(crate::helpers::SECRET.as_bytes())
            .mint(&Claims {
                sub: "x".into(),
                role: Role::Slg,
                agency: None,
                partner: None,
                exp: 1_000_000,
            })
            .unwrap()
    };
    assert_eq!(app.get(&expired, "/v1/agencies").await.0, 401);
    let id = app.raise(&[A, "cafcass"], false).await;
    let before = app.size().await;
    let (s, _) = app
        .post(&tok, &format!("/v1/disputes/{id}/escalate"), json!({}))
        .await;
    assert_eq!(s, 400, "reason is required");
    let (s, _) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .post(
            &tok,
            "/v1/disputes/no-such-id/escalate",
            json!({"reason": "r"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/proposals/nope/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(app.get(&tok, "/v1/disputes?limit=0").await.0, 400);
    assert_eq!(app.get(&tok, "/v1/disputes?rung=top").await.0, 400);
    assert_eq!(
        app.get(&app.role(Role::Auditor), "/v1/ledger/entries?from=-1")
            .await
            .0,
        400
    );
    assert_eq!(app.get(&tok, "/v1/ledger/entries").await.0, 403);
    assert_eq!(app.get(&tok, "/v1/nothing-here").await.0, 404);
    assert_eq!(app.size().await, before);
}

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/healthz", "/readyz"] {
        let res = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
    }
    let (s, v) = app.get(&app.agency(A), "/v1/agencies").await;
    assert_eq!(s, 200);
    let list = v["items"].as_array().unwrap();
    assert!(list.len() >= 30);
    let la: Vec<&Value> = list
        .iter()
        .filter(|a| a["statutory_partner"] == "la")
        .collect();
    assert_eq!(la.len(), 2, "Kingston and Richmond councils");
    assert!(list
        .iter()
        .any(|a| a["id"] == "cafcass" && a["statutory_partner"].is_null()));
}

both_backends!(
    bad_inputs_are_refused_and_write_nothing,
    health_and_readiness
);
