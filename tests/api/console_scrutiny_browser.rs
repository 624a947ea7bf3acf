//! The scrutineer's workspace in a real browser: `tests/browser/scrutineer.py`
//! drives Debian's Chromium through chromedriver against the real binary,
//! once with JavaScript on (axe-core, WCAG 2.0/2.1/2.2 A and AA, on every
//! page: 0 violations) and once with it off. Before each run the earlier
//! steps are set up through the API: a dispute walked up to the scrutineer's
//! rung, and a recommendation issued to the SLG. The journey: the scrutineer
//! opens the dispute's mediation, records a session and the outcome; the SLG
//! records its response to the recommendation; a forged session is refused.
//!
//! Fails (never skips) when chromium, chromedriver, selenium or axe-core is
//! missing. `CONSOLE_SCREENSHOTS=docs/console` makes the SQLite run with
//! JavaScript on write the guide's screenshots there.

use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::http::auth::{Claims, Keys};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{browser_journey, served_call, Backend, Served, TestDb, SECRET};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";

fn token(sub: &str, role: Role, agency: Option<&str>, partner: Option<Partner>) -> String {
    Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: sub.into(),
            role,
            agency: agency.map(str::to_string),
            partner,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint")
}

async fn call(base: &str, tok: &str, path: &str, body: Value) -> Value {
    let (s, v) = served_call("POST", format!("{base}{path}"), tok, body).await;
    assert!(matches!(s, 200 | 201), "POST {path}: {s} {v}");
    v
}

/// A dispute between A and B on the scrutineer's rung, and an open
/// recommendation to the SLG: their ids.
async fn set_up(base: &str) -> (String, String) {
    let lead = token("user@kingston", Role::Agency, Some(A), None);
    let v = call(
        base,
        &lead,
        "/v1/disputes",
        json!({"parties": [A, B], "summary": "Threshold for a strategy meeting"}),
    )
    .await;
    let id = v["id"].as_str().expect("id").to_string();
    for tok in [
        lead.clone(),
        token("chair@slg", Role::Slg, None, None),
        token(
            "police@partners",
            Role::StatutoryPartner,
            None,
            Some(Partner::Police),
        ),
    ] {
        let v = call(
            base,
            &tok,
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "no agreement"}),
        )
        .await;
        assert!(v["rung"].is_string(), "{v}");
    }
    // Ten days after the served clock's today (TEST_CLOCK, below).
    let due = "2026-06-20";
    let v = call(
        base,
        &token("scrutineer@krscp", Role::Scrutineer, None, None),
        "/v1/admin/recommendations",
        json!({"text": "Agree a threshold protocol", "dispute_id": id, "response_due": due}),
    )
    .await;
    (id, v["id"].as_str().expect("id").to_string())
}

async fn the_scrutineers_day_in_a_browser(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = db.url.clone();
    let data = dir.path().to_path_buf();
    let served = actix_web::rt::task::spawn_blocking(move || {
        // Wednesday 10 June 2026, 11:00 in London: the forms' dates and "overdue"
        // do not depend on the day the suite runs on.
        let clock = [("TEST_CLOCK", "2026-06-10T10:00:00Z")];
        Served::spawn(&url, &data, "warn", &clock, std::process::Stdio::null())
    })
    .await
    .expect("join");
    for js in [true, false] {
        let (dispute, recommendation) = set_up(&served.base).await;
        let args = [
            "--dispute",
            dispute.as_str(),
            "--recommendation",
            recommendation.as_str(),
        ];
        let stdout =
            browser_journey(&served, &db, dir.path(), "scrutineer.py", &args, js, 20).await;
        assert!(stdout.contains("recommendation responded"), "{stdout}");
        // The API agrees: the mediation closed on the dispute, the response recorded.
        let sc = token("scrutineer@krscp", Role::Scrutineer, None, None);
        let (s, v) = served_call(
            "GET",
            format!("{}/v1/admin/recommendations/{recommendation}", served.base),
            &sc,
            Value::Null,
        )
        .await;
        assert_eq!((s, &v["status"]), (200, &json!("responded")), "{v}");
        let (s, v) = served_call(
            "GET",
            format!("{}/v1/admin/mediations?limit=200", served.base),
            &sc,
            Value::Null,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let closed = v["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["dispute_id"] == dispute.as_str() && m["status"] == "closed");
        assert!(closed, "no closed mediation of {dispute}: {v}");
    }
    drop(served);
}

both_backends!(the_scrutineers_day_in_a_browser);
