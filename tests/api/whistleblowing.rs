//! Whistleblowing (seed 5.2): a concern raised under a keyed pseudonym. Only the
//! scrutineer learns who raised it; no response and no log line shows the sub.

use std::process::Command;

use escalation_ledger::app::Settings;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::http::authz::{Method, ROUTES};
use escalation_ledger::service::whistleblowing::WhistleKey;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, LoggedServe, TestApp, TestDb, SECRET};

const A: &str = "kingston-council";
const B: &str = "cafcass";
const SUB: &str = "alice.whistle@kingston";
const KEY: [u8; 32] = [0x5a; 32];

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with_settings(
        backend,
        Settings {
            whistleblowing_key: WhistleKey::from_bytes(&KEY),
            ..Settings::default()
        },
    )
    .await
}

/// Raise as whistleblowing, walk the ladder, and look at everything every role sees.
async fn the_raiser_is_only_a_pseudonym(backend: Backend) {
    let app = spawn(backend).await;
    let raiser = app.token(SUB, Role::Agency, Some(A), None);
    let pseudonym = WhistleKey::from_bytes(&KEY).pseudonym(SUB);
    assert!(pseudonym.starts_with("wb-") && pseudonym.len() == 35);
    // Computed outside the code: python3 -c 'import hmac,hashlib;
    // print("wb-"+hmac.new(bytes([0x5a]*32),b"alice.whistle@kingston",hashlib.sha256).hexdigest()[:32])'
    assert_eq!(pseudonym, "wb-30e99dfe92e8f1e751a0a500f58715b5");

    let (s, v) = app
        .post(
            &raiser,
            "/v1/disputes",
            json!({"parties": [A, B], "summary": "Concern about practice", "whistleblowing": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["raised_by"]["sub"], pseudonym.as_str());
    assert_eq!(v["raised_by"]["agency"], A);
    assert_eq!(v["whistleblowing"], true);
    assert!(!v.to_string().contains(SUB));

    // An ordinary dispute is not marked, and its facts carry no flag.
    let plain = app.raise(&[A, B], false).await;
    let (_, v) = app
        .get(&app.agency(A), &format!("/v1/disputes/{plain}"))
        .await;
    assert_eq!(v["whistleblowing"], false);

    // The ladder as usual; the raiser keeps acting under the pseudonym.
    let (s, v) = app
        .post(
            &raiser,
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "no agreement"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "slg");
    let (s, v) = app
        .post(
            &app.role(Role::Slg),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "joint review"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let p = v["id"].as_str().unwrap().to_string();
    for tok in [&raiser, &app.agency(B)] {
        let (s, v) = app
            .post(
                tok,
                &format!("/v1/disputes/{id}/proposals/{p}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, v) = app.get(&raiser, &format!("/v1/disputes/{id}")).await;
    assert_eq!(v["status"], "resolved", "{v}");

    let readers = [
        ("raiser", raiser.clone()),
        ("party", app.agency(B)),
        ("slg", app.role(Role::Slg)),
        ("partnership_admin", app.role(Role::PartnershipAdmin)),
        ("scrutineer", app.role(Role::Scrutineer)),
    ];
    for (who, tok) in &readers {
        let (s, body) = app.get_text(tok, &format!("/v1/disputes/{id}")).await;
        assert_eq!(s, 200, "{who}: {body}");
        assert!(!body.contains(SUB), "{who} sees the sub in the view");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["raised_by"]["sub"], pseudonym.as_str(), "{who}");
        assert_eq!(v["whistleblowing"], true, "{who}");

        let (s, body) = app
            .get_text(tok, &format!("/v1/disputes/{id}/history"))
            .await;
        assert_eq!(s, 200, "{who}: {body}");
        assert!(!body.contains(SUB), "{who} sees the sub in the history");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["next"].is_null(), "{who}: the history fits one page");
        let entries = v["items"].as_array().cloned().unwrap_or_default();
        let raised = entries
            .iter()
            .find(|e| e["event"] == "raised")
            .unwrap_or_else(|| panic!("{who}: no raised entry in {v}"));
        assert_eq!(raised["actor"]["sub"], pseudonym.as_str(), "{who}");
        assert_eq!(raised["facts"]["whistleblowing"], true, "{who}: {raised}");

        let (s, body) = app.get_text(tok, "/v1/disputes").await;
        assert_eq!(s, 200, "{who}: {body}");
        assert!(!body.contains(SUB), "{who} sees the sub in the list");

        if *who != "raiser" && *who != "party" {
            let (s, body) = app.get_text(tok, "/v1/ledger/entries").await;
            assert_eq!(s, 200, "{who}: {body}");
            assert!(!body.contains(SUB), "{who} sees the sub in the ledger");
            assert!(body.contains(&pseudonym), "{who}");
        }
        let (s, body) = app.get_text(tok, "/v1/ledger/export").await;
        if *who == "raiser" || *who == "party" {
            assert_eq!(s, 403, "agencies do not export the ledger: {body}");
        } else {
            assert_eq!(s, 200, "{who}: {body}");
            assert!(!body.contains(SUB), "{who} sees the sub in the export");
            assert!(body.contains(&pseudonym), "{who}");
        }
    }
    // The plain dispute's raised facts have no whistleblowing key at all.
    let (_, body) = app
        .get_text(&app.role(Role::Auditor), "/v1/ledger/entries")
        .await;
    let entries: Value = serde_json::from_str(&body).unwrap();
    let plain_raised = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["dispute_id"] == plain.as_str() && e["event"] == "raised")
        .unwrap();
    assert!(plain_raised["facts"].get("whistleblowing").is_none());

    // Only the scrutineer learns who it was.
    let path = format!("/v1/admin/whistleblowing/{pseudonym}");
    let (s, v) = app.get(&app.role(Role::Scrutineer), &path).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sub"], SUB);
    assert_eq!(v["agency"], A);
    assert_eq!(v["pseudonym"], pseudonym.as_str());
    for (who, tok) in readers.iter().filter(|(w, _)| *w != "scrutineer") {
        let (s, body) = app.get_text(tok, &path).await;
        assert_eq!(s, 403, "{who}: {body}");
        assert!(!body.contains(SUB));
    }
    let (s, _) = app
        .get(
            &app.role(Role::Scrutineer),
            "/v1/admin/whistleblowing/wb-00000000000000000000000000000000",
        )
        .await;
    assert_eq!(s, 404);

    // A second concern by the same person reuses the identity record.
    let (s, v) = app
        .post(
            &raiser,
            "/v1/disputes",
            json!({"parties": [A, B], "summary": "Another concern", "whistleblowing": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["raised_by"]["sub"], pseudonym.as_str());

    let report = app.verify();
    assert!(report.ok, "{report:?}");
}

/// The raiser may still withdraw their concern, under the pseudonym.
async fn the_raiser_may_withdraw(backend: Backend) {
    let app = spawn(backend).await;
    let raiser = app.token(SUB, Role::Agency, Some(A), None);
    let (s, v) = app
        .post(
            &raiser,
            "/v1/disputes",
            json!({"parties": [A, B], "summary": "Concern", "whistleblowing": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &app.agency(B),
            &format!("/v1/disputes/{id}/withdraw"),
            json!({"reason": "not ours"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .post(
            &raiser,
            &format!("/v1/disputes/{id}/withdraw"),
            json!({"reason": "resolved informally"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "withdrawn");
    let (_, body) = app
        .get_text(&app.role(Role::Auditor), "/v1/ledger/entries")
        .await;
    assert!(!body.contains(SUB), "{body}");
    assert!(app.verify().ok);
}

/// The real binary: the raiser's sub never reaches the service log, even when
/// their own requests are refused.
async fn the_sub_never_reaches_the_log(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let served = LoggedServe::start(&db.url, dir.path(), "debug").await;
    let base = served.base.clone();
    let keys = Keys::from_secret(SECRET.as_bytes());
    let mint = |sub: &str, exp: i64| {
        keys.mint(&Claims {
            sub: sub.into(),
            role: Role::Agency,
            agency: Some(A.into()),
            partner: None,
            exp,
        })
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let raiser = mint(SUB, now + 3600);
    let c = client();
    let mut res = c
        .post(format!("{base}/v1/disputes"))
        .bearer_auth(&raiser)
        .send_json(&json!({"parties": [A, B], "summary": "s", "whistleblowing": true}))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let v: Value = res.json().await.unwrap();
    let pseudonym = v["raised_by"]["sub"].as_str().unwrap().to_string();
    // Refusals with the raiser's own token: 403, 404 and an expired token.
    let res = c
        .get(format!("{base}/v1/ledger/entries"))
        .bearer_auth(&raiser)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = c
        .get(format!("{base}/v1/admin/whistleblowing/{pseudonym}"))
        .bearer_auth(&raiser)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = c
        .get(format!("{base}/v1/disputes/no-such-dispute"))
        .bearer_auth(&raiser)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = c
        .get(format!("{base}/v1/agencies"))
        .bearer_auth(mint(SUB, now - 3600))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Someone else's refusal still names them.
    let res = c
        .get(format!("{base}/v1/ledger/entries"))
        .bearer_auth(mint("nosy@kingston", now + 3600))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let log = served.stop();
    assert!(log.contains("request refused"), "{log}");
    assert!(log.contains("[withheld]"), "{log}");
    assert!(log.contains("nosy@kingston"), "{log}");
    assert!(!log.contains(SUB), "the whistleblower's sub leaked:\n{log}");
    assert!(dir.path().join("whistleblowing-key").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["verify", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Every write route, as the raiser of a whistleblowing concern: every entry
/// they write about it records the pseudonym, whatever the route (review
/// requests included), and no response, ledger read, export or log line
/// carries their real `sub`. Walks `authz::ROUTES`, so a route added later is
/// walked too.
async fn every_write_as_the_raiser_records_the_pseudonym(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let served = LoggedServe::start(&db.url, dir.path(), "debug").await;
    let base = served.base.clone();
    let keys = Keys::from_secret(SECRET.as_bytes());
    let exp = chrono::Utc::now().timestamp() + 3600;
    let mint = |sub: &str, role: Role, agency: Option<&str>| {
        keys.mint(&Claims {
            sub: sub.into(),
            role,
            agency: agency.map(String::from),
            partner: None,
            exp,
        })
        .unwrap()
    };
    let raiser = mint(SUB, Role::Agency, Some(A));
    let c = client();
    let mut bodies: Vec<(String, String)> = Vec::new();
    let send = |method: &'static str, path: String, body: Value, token: String| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            let req = match method {
                "DELETE" => c.delete(format!("{base}{path}")),
                "PATCH" => c.patch(format!("{base}{path}")),
                _ => c.post(format!("{base}{path}")),
            };
            let mut res = req.bearer_auth(&token).send_json(&body).await.unwrap();
            let status = res.status().as_u16();
            let text = String::from_utf8_lossy(&res.body().await.unwrap()).to_string();
            (status, text)
        }
    };
    let (s, v) = send(
        "POST",
        "/v1/disputes".into(),
        json!({"parties": [A, B], "summary": "Concern", "whistleblowing": true}),
        raiser.clone(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let v: Value = serde_json::from_str(&v).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let pseudonym = v["raised_by"]["sub"].as_str().unwrap().to_string();
    let (s, v) = send(
        "POST",
        format!("/v1/disputes/{id}/proposals"),
        json!({"resolution": "meet"}),
        raiser.clone(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let v: Value = serde_json::from_str(&v).unwrap();
    let pid = v["id"].as_str().unwrap().to_string();

    // The ladder's and the scrutineer's routes first, in an order that lets
    // each succeed; then every other write route the table has.
    let body_for = |route: &str| match route {
        "dispute.propose" => json!({"resolution": "meet again"}),
        "dispute.accept" => json!({}),
        "review.request" => json!({"dispute_id": id, "concern": "c"}),
        _ => json!({"reason": "r"}),
    };
    let order = [
        "review.request",
        "dispute.reject",
        "dispute.escalate",
        "dispute.propose",
        "dispute.withdraw",
    ];
    let mut writes: Vec<&escalation_ledger::http::authz::Route> =
        ROUTES.iter().filter(|r| r.method != Method::Get).collect();
    writes.sort_by_key(|r| order.iter().position(|o| *o == r.id).unwrap_or(order.len()));
    let mut walked = 0;
    for r in writes {
        let path = r
            .path
            .replace("{id}", &id)
            .replace("{pid}", &pid)
            .replace("{seq}", "1")
            .replace("{version}", "krscp-2024-02")
            .replace("{pseudonym}", &pseudonym);
        let (status, text) = send(
            r.method.as_str(),
            path.clone(),
            body_for(r.id),
            raiser.clone(),
        )
        .await;
        bodies.push((format!("{} {path} -> {status}", r.id), text));
        walked += 1;
    }
    assert!(walked >= 20, "only {walked} write routes walked");
    for (what, text) in &bodies {
        assert!(!text.contains(SUB), "{what} answered the real sub: {text}");
    }

    // The ledger: every entry the raiser wrote about the concern is pseudonymous.
    let auditor = mint("auditor@krscp", Role::Auditor, None);
    let res = c
        .get(format!("{base}/v1/ledger/entries?limit=200"))
        .bearer_auth(&auditor)
        .send()
        .await;
    let mut res = res.unwrap();
    let text = String::from_utf8_lossy(&res.body().await.unwrap()).to_string();
    let entries: Value = serde_json::from_str(&text).unwrap();
    assert!(entries["next"].is_null(), "one page holds the whole ledger");
    let entries = entries["items"].as_array().cloned().unwrap_or_default();
    let by_raiser: Vec<&Value> = entries
        .iter()
        .filter(|e| e["dispute_id"] == id.as_str() && e["actor"]["agency"] == A)
        .collect();
    let events: Vec<&str> = by_raiser
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for e in ["raised", "proposal_made", "review_requested", "escalated"] {
        assert!(events.contains(&e), "no {e} by the raiser in {events:?}");
    }
    for e in &by_raiser {
        assert_eq!(e["actor"]["sub"], pseudonym.as_str(), "{}", e["event"]);
    }
    assert!(!text.contains(SUB), "the ledger holds the real sub");
    let admin = mint("admin@krscp", Role::PartnershipAdmin, None);
    for path in [
        "/v1/ledger/export".to_string(),
        format!("/v1/disputes/{id}/history"),
    ] {
        let mut res = c
            .get(format!("{base}{path}"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let text = String::from_utf8_lossy(&res.body().limit(64 << 20).await.unwrap()).to_string();
        assert!(text.contains(&pseudonym), "{path}");
        assert!(!text.contains(SUB), "{path} holds the real sub");
    }
    let log = served.stop();
    assert!(
        log.contains("review_requested") || log.contains("/v1/admin/reviews"),
        "{log}"
    );
    assert!(
        !log.contains(SUB),
        "the whistleblower's sub reached the log:\n{log}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["verify", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

both_backends!(
    the_raiser_is_only_a_pseudonym,
    the_raiser_may_withdraw,
    the_sub_never_reaches_the_log,
    every_write_as_the_raiser_records_the_pseudonym
);
