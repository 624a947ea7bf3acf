//! The injected clock (`core::clock`, the hidden `TEST_CLOCK` setting) and
//! London "today" (issue 10 §6): the real binary started at chosen instants
//! around midnight UTC in British Summer Time, so the test means the same on
//! any day it runs.

use escalation_ledger::core::ladder::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, LoggedServe, TestDb};

const A: &str = "kingston-council";
const B: &str = "cafcass";

fn mint(sub: &str, role: Role, agency: Option<&str>) -> String {
    // Tokens are real time: the injected clock is the ledger's.
    crate::helpers::served_token(sub, role, agency)
}

async fn send(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = client();
    let req = match method {
        "GET" => c.get(format!("{base}{path}")),
        _ => c.post(format!("{base}{path}")),
    }
    .bearer_auth(token);
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("request");
    let status = res.status().as_u16();
    let body = res.body().limit(1 << 20).await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The service started with `TEST_CLOCK` at `at`.
async fn serve_at(db: &TestDb, dir: &std::path::Path, at: &str) -> LoggedServe {
    LoggedServe::start_with(&db.url, dir, "warn", &[("TEST_CLOCK", at)]).await
}

/// 23:30 UTC on Monday 1 June 2026 is 00:30 BST on Tuesday in London. A
/// dispute raised then is recorded at that instant, and its five working days
/// count from Tuesday: due Tuesday 9 June, 17:00 BST (16:00 UTC). Reading UTC
/// as London time would give Monday 8 June.
async fn a_deadline_counts_from_the_london_date(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let served = serve_at(&db, dir.path(), "2026-06-01T23:30:00Z").await;
    let raiser = mint("raiser@kingston", Role::Agency, Some(A));
    let (s, d) = send(
        &served.base,
        &raiser,
        "POST",
        "/v1/disputes",
        Some(json!({"parties": [A, B], "summary": "s"})),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["due_at"], "2026-06-09T16:00:00Z", "{d}");
    let id = d["id"].as_str().expect("id").to_string();
    let (s, h) = send(
        &served.base,
        &raiser,
        "GET",
        &format!("/v1/disputes/{id}/history"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{h}");
    let items = h["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{h}");
    assert_eq!(items[0]["event"], "raised", "{h}");
    // Recorded on the injected clock, which runs on from 23:30:00.
    let at = items[0]["recorded_at"].as_str().expect("recorded_at");
    assert!(at.starts_with("2026-06-01T23:3"), "{at}");
    assert!(
        d["opened_at"]
            .as_str()
            .is_some_and(|o| o.starts_with("2026-06-01T23:3")),
        "{d}"
    );
    // Not overdue: the clock says June 2026, not the day the test runs.
    assert_eq!(d["overdue"], false, "{d}");
    let (s, v) = send(
        &served.base,
        &mint("a", Role::Auditor, None),
        "GET",
        "/v1/ledger/verify",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    served.stop();
}

both_backends!(a_deadline_counts_from_the_london_date);

/// "Today" for recommendations is a London date. At 22:30 UTC on Wednesday 1
/// July 2026 (23:30 BST) a recommendation may be due that day; at 23:30 UTC
/// (00:30 BST on Thursday 2 July) the same day is in the past: a new one is
/// refused, and the first is overdue. Read as UTC, 1 July would still be today
/// at 23:30 and neither would happen.
async fn today_is_a_london_date(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let raiser = mint("raiser@kingston", Role::Agency, Some(A));
    let sc = mint("scrutineer-user", Role::Scrutineer, None);
    let slg = mint("slg-user", Role::Slg, None);

    let served = serve_at(&db, dir.path(), "2026-07-01T22:30:00Z").await;
    let (s, d) = send(
        &served.base,
        &raiser,
        "POST",
        "/v1/disputes",
        Some(json!({"parties": [A, B], "summary": "s"})),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    let id = d["id"].as_str().expect("id").to_string();
    let (s, rec) = send(
        &served.base,
        &sc,
        "POST",
        "/v1/admin/recommendations",
        Some(json!({"text": "Review the chronology", "dispute_id": id, "response_due": "2026-07-01"})),
    )
    .await;
    assert_eq!(s, 201, "{rec}");
    assert_eq!(rec["status"], "open", "{rec}");
    let recid = rec["id"].as_str().expect("id").to_string();
    served.stop();

    let served = serve_at(&db, dir.path(), "2026-07-01T23:30:00Z").await;
    let (s, v) = send(
        &served.base,
        &slg,
        "GET",
        "/v1/admin/recommendations?status=overdue",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ids: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, vec![recid.as_str()], "{v}");
    let (s, p) = send(
        &served.base,
        &sc,
        "POST",
        "/v1/admin/recommendations",
        Some(json!({"text": "Another", "dispute_id": id, "response_due": "2026-07-01"})),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or("")
            .contains("today is 2026-07-02"),
        "{p}"
    );
    let (s, ok) = send(
        &served.base,
        &sc,
        "POST",
        "/v1/admin/recommendations",
        Some(json!({"text": "Another", "dispute_id": id, "response_due": "2026-07-02"})),
    )
    .await;
    assert_eq!(s, 201, "{ok}");
    assert_eq!(ok["status"], "open", "{ok}");
    served.stop();
}

both_backends!(today_is_a_london_date);
