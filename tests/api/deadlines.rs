//! Deadlines: `due_at` and `overdue` on a dispute, the `overdue` filter, and
//! the sweeper's `deadline_missed` entries (once per dispute and rung, even
//! when two sweeps race) and automatic escalation.
//!
//! Time is driven by hand: a test raises a dispute with its `raised` entry
//! recorded at a chosen instant (`TestApp::raise_at`; the ledger and the
//! projection agree, as `verify` checks) and calls the library's sweep with
//! its own `now`. Warnings ahead of a deadline are in `notify.rs`.

use chrono::{DateTime, Utc};
use escalation_ledger::core::ladder::{Policy, Role};
use escalation_ledger::service::deadline::{self, Swept};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc 3339")
        .with_timezone(&Utc)
}

/// Raise a dispute between A and B that entered its rung at `at` (UTC).
async fn raise(app: &TestApp, urgent: bool, at: &str) -> String {
    app.raise_at(&[A, B], urgent, false, at).await
}

async fn dispute(app: &TestApp, id: &str) -> Value {
    let (s, v) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn events(app: &TestApp, id: &str, event: &str) -> Vec<Value> {
    let (s, v) = app
        .get(&app.agency(A), &format!("/v1/disputes/{id}/history"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event"] == event)
        .cloned()
        .collect()
}

async fn sweep(app: &TestApp, policies: Vec<Policy>, now: &str) -> Swept {
    let pool = app.pool.clone();
    let now = utc(now);
    actix_web::rt::task::spawn_blocking(move || {
        // Warnings off here: `notify.rs` tests them.
        let policies: Vec<std::sync::Arc<Policy>> = policies.into_iter().map(Into::into).collect();
        deadline::sweep(&mut pool.get().expect("conn"), &policies, 0, now).expect("sweep")
    })
    .await
    .expect("join")
}

/// Raised on Friday 28 August 2026, before the summer bank holiday: due five
/// working days later at 17:00; missed once, even with two sweeps at once.
async fn friday_before_a_bank_holiday(backend: Backend) {
    // The app's clock reads Tuesday 8 September 2026, the morning after.
    let app = TestApp::spawn_at(backend, "2026-09-08T09:00:00Z").await;
    let id = raise(&app, false, "2026-08-28 10:30:00").await;
    let v = dispute(&app, &id).await;
    // Tue 1, Wed 2, Thu 3, Fri 4, Mon 7 September (Mon 31 August is a
    // holiday), at 17:00 BST = 16:00 UTC.
    assert_eq!(v["due_at"], "2026-09-07T16:00:00Z", "{v}");
    assert_eq!(v["overdue"], true, "the app's clock is past its due time");

    let krscp = || vec![Policy::krscp()];
    let s = sweep(&app, krscp(), "2026-09-07T16:00:00Z").await;
    assert_eq!(s.missed, 0, "not yet past due");
    assert!(events(&app, &id, "deadline_missed").await.is_empty());

    // Two sweeps at the same instant on the same database.
    let total: usize = app
        .sweep_twice_at_once(0, "2026-09-07T16:00:01Z")
        .await
        .iter()
        .map(|s| s.missed)
        .sum();
    assert_eq!(total, 1, "one miss between the two sweeps");
    assert_eq!(sweep(&app, krscp(), "2026-12-01T00:00:00Z").await.missed, 0);

    let missed = events(&app, &id, "deadline_missed").await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(
        missed[0]["facts"],
        json!({"rung": "agencies", "due_at": "2026-09-07T16:00:00Z"})
    );
    assert_eq!(missed[0]["actor"]["sub"], "system:deadline-sweeper");
    let v = dispute(&app, &id).await;
    assert_eq!(v["rung"], "agencies", "KRSCP never escalates by itself");
    assert_eq!(v["status"], "open");
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // The projection row is checked against the replay.
    app.sql("DELETE FROM deadline_misses", "DELETE FROM deadline_misses")
        .expect("tamper");
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.mismatched_dispute.as_deref(), Some(id.as_str()), "{r:?}");
}

/// An urgent dispute is due in working hours: raised at 15:00 UTC = 16:00 BST
/// on Friday, 1 hour that day, then 7 on Tuesday from 09:00 BST: 16:00 BST,
/// which is 15:00 UTC.
async fn urgent_dispute_due_in_working_hours(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = raise(&app, true, "2026-08-28 15:00:00").await;
    let v = dispute(&app, &id).await;
    assert_eq!(v["urgent"], true);
    assert_eq!(v["due_at"], "2026-09-01T15:00:00Z", "{v}");
    let s = sweep(&app, vec![Policy::krscp()], "2026-09-01T15:00:01Z").await;
    assert_eq!(s.missed, 1);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// `?overdue=true|false` splits the list; closed disputes are never overdue.
/// "Overdue" is against the app's clock, Wednesday 10 June 2026 at 11:00 in
/// London, not the day the test runs (on which all three are long due).
async fn overdue_filter(backend: Backend) {
    let app = TestApp::spawn_at(backend, "2026-06-10T10:00:00Z").await;
    let late = raise(&app, false, "2026-06-01 09:00:00").await;
    let early = raise(&app, false, "2026-06-09 09:00:00").await;
    let closed = raise(&app, false, "2026-06-01 09:00:00").await;
    // Raised Tue 9 June: Wed 10, Thu 11, Fri 12, Mon 15, Tue 16, 17:00 BST.
    assert_eq!(
        dispute(&app, &early).await["due_at"],
        "2026-06-16T16:00:00Z"
    );
    assert_eq!(dispute(&app, &early).await["overdue"], false);
    let (s, v) = app
        .post(
            &app.agency(A),
            &format!("/v1/disputes/{closed}/withdraw"),
            json!({"reason": "settled"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["due_at"].is_null());
    assert_eq!(v["overdue"], false);

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|d| d["id"].as_str().expect("id").to_string())
            .collect()
    };
    let admin = app.role(Role::PartnershipAdmin);
    let (s, v) = app.get(&admin, "/v1/disputes?overdue=true").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), vec![late]);
    assert_eq!(v["items"][0]["overdue"], true);
    // Tue 2, Wed 3, Thu 4, Fri 5, Mon 8 June, 17:00 BST.
    assert_eq!(v["items"][0]["due_at"], "2026-06-08T16:00:00Z");
    let (s, v) = app.get(&admin, "/v1/disputes?overdue=false").await;
    assert_eq!(s, 200, "{v}");
    let mut got = ids(&v);
    got.sort();
    let mut want = vec![early.clone(), closed.clone()];
    want.sort();
    assert_eq!(got, want);
    // Paging applies after the filter.
    let (_, v) = app.get(&admin, "/v1/disputes?overdue=false&limit=1").await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    let next = v["next"].as_str().expect("a second page");
    let (_, v) = app
        .get(
            &admin,
            &format!("/v1/disputes?overdue=false&limit=1&cursor={next}"),
        )
        .await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert!(v["next"].is_null());
    let (s, v) = app.get(&admin, "/v1/disputes?overdue=maybe").await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        app.get(&app.agency(A), "/v1/disputes?overdue=true").await.0,
        200
    );
}

/// A policy with `auto_escalate` on the first rung: the sweeper records the
/// miss and escalates in the same transaction, and `verify` accepts it.
async fn auto_escalation_by_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = raise(&app, false, "2026-08-28 10:30:00").await;
    let mut auto = Policy::krscp();
    auto.rungs[0].auto_escalate = true;
    let s = sweep(&app, vec![auto.clone()], "2026-09-08T09:00:00Z").await;
    assert_eq!((s.missed, s.escalated), (1, 1));
    let v = dispute(&app, &id).await;
    assert_eq!(v["rung"], "slg");
    let up = events(&app, &id, "escalated").await;
    assert_eq!(up.len(), 1);
    assert_eq!(
        up[0]["facts"],
        json!({"from": "agencies", "to": "slg", "rule": "auto_escalate_on_deadline"})
    );
    assert_eq!(up[0]["actor"]["sub"], "system:deadline-sweeper");
    // The new rung's clock started at the escalation: nothing more to do now.
    let s = sweep(&app, vec![auto], "2026-09-08T09:00:00Z").await;
    assert_eq!((s.missed, s.escalated), (0, 0));
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // A person's escalation carries no rule.
    let (s, v) = app
        .post(
            &app.role(Role::Slg),
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "stuck"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let up = events(&app, &id, "escalated").await;
    assert_eq!(
        up[1]["facts"],
        json!({"from": "slg", "to": "statutory_partners"})
    );
    assert!(app.verify().ok);
}

both_backends!(
    friday_before_a_bank_holiday,
    urgent_dispute_due_in_working_hours,
    overdue_filter,
    auto_escalation_by_policy
);
