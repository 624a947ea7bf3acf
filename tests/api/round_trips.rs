//! Round trips to the database per request, counted (`store::db::statements`):
//! statements are deterministic where timings on a shared machine are not, so
//! a read or an action that grows by a query fails here rather than only in
//! `scripts/bench.sh`. Transaction control, savepoints and the pool's
//! check-out test all count: each is a round trip to PostgreSQL.
//!
//! The bounds are what the code takes today (`docs/benchmarks.md`, "Statements
//! per action"); lowering one when a query goes is welcome, raising one needs
//! a reason.

use serde_json::json;

use escalation_ledger::store::db::statements;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const PARTIES: [&str; 2] = ["kingston-council", "cafcass"];

/// Statements sent so far on the app's database.
fn sent(app: &TestApp) -> u64 {
    statements(&app.db.url).expect("the app's pool counts its statements")
}

/// Run `req` and return what it answered with and how many statements it took.
async fn counted<T>(app: &TestApp, req: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = sent(app);
    let out = req.await;
    (out, sent(app) - before)
}

/// The counts for one dispute with one open proposal, by request.
async fn counts(app: &TestApp) -> Vec<(&'static str, u64)> {
    let tok = app.agency(PARTIES[0]);
    let other = app.agency(PARTIES[1]);
    let raise = json!({"parties": PARTIES, "summary": "Threshold for a strategy meeting", "child_ref": "KR-2026-0001"});
    let ((s, v), raised) = counted(app, app.post(&tok, "/v1/disputes", raise)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let path = format!("/v1/disputes/{id}");
    let propose = json!({"resolution": "A strategy meeting within two working days"});
    let ((s, v), proposed) =
        counted(app, app.post(&tok, &format!("{path}/proposals"), propose)).await;
    assert_eq!(s, 201, "{v}");
    let ((s, v), got) = counted(app, app.get(&other, &path)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["proposals"].as_array().map(Vec::len), Some(1), "{v}");
    let ((s, v), listed) = counted(app, app.get(&tok, "/v1/disputes")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, missing) = counted(app, app.get(&tok, "/v1/disputes/no-such-dispute")).await;
    let escalate = json!({"reason": "No agreement within the target"});
    let ((s, v), escalated) =
        counted(app, app.post(&other, &format!("{path}/escalate"), escalate)).await;
    assert_eq!(s, 200, "{v}");
    // A longer page takes no more statements: no query per dispute.
    for _ in 0..3 {
        app.raise(&PARTIES, false).await;
    }
    let ((s, v), longer) = counted(app, app.get(&tok, "/v1/disputes")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(4), "{v}");
    assert_eq!(
        longer, listed,
        "a page of 4 took {longer}, a page of 1 {listed}"
    );
    vec![
        ("raise", raised),
        ("propose", proposed),
        ("get one dispute", got),
        ("list disputes (agency)", listed),
        ("get a missing dispute", missing),
        ("escalate", escalated),
    ]
}

/// The most statements each request may take.
const BOUNDS: [(&str, u64); 6] = [
    ("raise", 19),
    ("propose", 18),
    // The pool's check-out test and one query: no transaction around it.
    ("get one dispute", 2),
    ("list disputes (agency)", 9),
    ("get a missing dispute", 4),
    ("escalate", 17),
];

async fn statements_per_request_stay_within_bounds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let got = counts(&app).await;
    eprintln!("statements per request ({backend:?}): {got:?}");
    for ((name, n), (bname, bound)) in got.iter().zip(BOUNDS) {
        assert_eq!(*name, bname);
        assert!(n <= &bound, "{name} took {n} statements, more than {bound}");
        assert!(*n > 0, "{name}: the counter saw nothing");
    }
}

both_backends!(statements_per_request_stay_within_bounds);
