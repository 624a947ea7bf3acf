//! `GET /v1/reports/escalations` and `escalation-ledger report`: a scripted
//! year of disputes, checked against an independent Python recomputation
//! (`scripts/report_check.py`, from `GET /v1/ledger/entries` alone), the
//! offline report from an export byte for byte, disclosure control, CSV, and
//! refusals.
//!
//! The apps' clock starts at `NOW` (Wednesday 10 June 2026). Raises are
//! back-dated through the library (`TestApp::raise_at`) across the year before
//! it; every later step (escalations, withdrawals, resolutions, the
//! scrutineer's work, the deadline sweeper) runs at the app's "now", over HTTP
//! or the library's sweep. The period ends the day after `NOW` (London), so
//! "now" is inside it, whatever day the test runs on.

use chrono::{Days, NaiveDate};
use escalation_ledger::core::clock;
use escalation_ledger::core::ladder::{Partner, Policy, Role};
use escalation_ledger::core::ledger::canonical_json;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "cafcass";

/// The apps' clock starts here, 11:00 in London.
const NOW: &str = "2026-06-10T10:00:00Z";
/// Today in London at `NOW`: the day mediation sessions are held.
const TODAY: &str = "2026-06-10";
/// A response date after the period: recommendations not yet answered are
/// awaiting a response at its end, not overdue.
const DUE: &str = "2026-07-31";

/// A London-noon-ish UTC time `days` before `TODAY`, as `raise_at` takes it.
fn days_ago(days: u64) -> String {
    let today: NaiveDate = TODAY.parse().expect("a date");
    format!("{} 11:00:00", today - Days::new(days))
}

struct Period {
    from: String,
    to: String,
}

/// The 365 days up to and including the day after `TODAY`.
fn period() -> Period {
    Period {
        from: "2025-06-11".into(),
        to: "2026-06-11".into(),
    }
}

async fn ok(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (s, v) = app.post(token, path, body.clone()).await;
    assert!((200..300).contains(&s), "{path} {body}: {s} {v}");
    v
}

async fn escalate(app: &TestApp, token: &str, id: &str) {
    ok(
        app,
        token,
        &format!("/v1/disputes/{id}/escalate"),
        json!({"reason": "no agreement"}),
    )
    .await;
}

async fn withdraw(app: &TestApp, token: &str, id: &str) {
    ok(
        app,
        token,
        &format!("/v1/disputes/{id}/withdraw"),
        json!({"reason": "settled locally"}),
    )
    .await;
}

/// Propose as `proposer`, then accept as each of `acceptors` (a 409 for an
/// acceptance already counted is fine); the dispute must end resolved.
async fn resolve(app: &TestApp, proposer: &str, acceptors: &[String], id: &str) {
    let v = ok(
        app,
        proposer,
        &format!("/v1/disputes/{id}/proposals"),
        json!({"resolution": "joint visit"}),
    )
    .await;
    // A proposal on the last rung is accepted as it is made.
    if let (Some(pid), "open") = (v["id"].as_str(), v["status"].as_str().unwrap_or_default()) {
        let accept = format!("/v1/disputes/{id}/proposals/{pid}/accept");
        for t in acceptors {
            let (s, v) = app.post(t, &accept, json!({})).await;
            assert!(s == 200 || s == 409, "{s} {v}");
        }
    }
    let (_, v) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    let (_, w) = app
        .get(
            &app.role(Role::PartnershipAdmin),
            &format!("/v1/disputes/{id}"),
        )
        .await;
    assert!(
        v["status"] == "resolved" || w["status"] == "resolved",
        "{v} {w}"
    );
}

/// The scripted year; returns nothing, the ledger is the record.
async fn scripted_year(app: &TestApp) {
    let la = app.partner(Role::StatutoryPartner, Partner::La);
    let admin = app.role(Role::PartnershipAdmin);
    let sc = app.role(Role::Scrutineer);
    let slg = app.role(Role::Slg);

    // Before the period: not in the cohort, but its deadline is missed in it.
    let _d0 = app.raise_at(&[A, B], false, false, &days_ago(400)).await;
    // Up the whole ladder, reviewed twice at the top, resolved there.
    let d1 = app.raise_at(&[A, B], false, false, &days_ago(300)).await;
    escalate(app, &app.agency(A), &d1).await;
    escalate(app, &app.agency(A), &d1).await;
    for _ in 0..3 {
        escalate(app, &la, &d1).await;
    }
    let r = ok(
        app,
        &app.agency(B),
        "/v1/admin/reviews",
        json!({"dispute_id": d1, "concern": "The escalation took too long"}),
    )
    .await;
    let rid = r["id"].as_str().expect("review id").to_string();
    ok(
        app,
        &sc,
        &format!("/v1/admin/reviews/{rid}/accept"),
        json!({"reason": "Within scope"}),
    )
    .await;
    ok(
        app,
        &sc,
        &format!("/v1/admin/reviews/{rid}/findings"),
        json!({"findings": "Timescales not met"}),
    )
    .await;
    let r = ok(
        app,
        &admin,
        "/v1/admin/reviews",
        json!({"dispute_id": d1, "concern": "The family was not heard", "on_behalf_of_child_or_family": true}),
    )
    .await;
    let rid = r["id"].as_str().expect("review id").to_string();
    ok(
        app,
        &sc,
        &format!("/v1/admin/reviews/{rid}/decline"),
        json!({"reason": "Complaints process"}),
    )
    .await;
    resolve(app, &admin, &[], &d1).await;
    // Complex: enters at slg; withdrawn.
    let d2 = app.raise_at(&[A, B], false, true, &days_ago(250)).await;
    withdraw(app, &app.agency(A), &d2).await;
    // Three parties: enters at slg; resolved there.
    let d3 = app.raise_at(&[A, B, C], false, false, &days_ago(200)).await;
    resolve(
        app,
        &slg,
        &[app.agency(A), app.agency(B), app.agency(C)],
        &d3,
    )
    .await;
    // Left open: the sweeper records their missed deadlines (one urgent).
    app.raise_at(&[A, B], false, false, &days_ago(150)).await;
    app.raise_at(&[A, C], true, false, &days_ago(100)).await;
    // Withdrawn; resolved on the first rung.
    let d6 = app.raise_at(&[B, C], false, false, &days_ago(50)).await;
    withdraw(app, &app.agency(B), &d6).await;
    let d7 = app.raise_at(&[A, B], false, false, &days_ago(10)).await;
    resolve(app, &app.agency(A), &[app.agency(A), app.agency(B)], &d7).await;

    // A mediation outside the ladder.
    let m = ok(
        app,
        &sc,
        "/v1/admin/mediations",
        json!({"agencies": [A, C], "topic": "Discharge planning"}),
    )
    .await;
    let mid = m["id"].as_str().expect("mediation id").to_string();
    ok(
        app,
        &sc,
        &format!("/v1/admin/mediations/{mid}/sessions"),
        json!({"date": TODAY,
               "attendees": [{"role": "agency", "agency": A}, {"role": "agency", "agency": C}],
               "notes": "Met"}),
    )
    .await;
    ok(
        app,
        &sc,
        &format!("/v1/admin/mediations/{mid}/close"),
        json!({"outcome": "Agreed"}),
    )
    .await;

    // Recommendations: overdue, awaiting, accepted, not accepted.
    let rec = |due: String| {
        let sc = sc.clone();
        async move {
            let v = ok(
                app,
                &sc,
                "/v1/admin/recommendations",
                json!({"text": "Publish timescales", "theme": "Timeliness", "response_due": due}),
            )
            .await;
            v["id"].as_str().expect("recommendation id").to_string()
        }
    };
    app.issue_recommendation_back_then(
        40,
        10,
        json!({"text": "Publish timescales", "theme": "Timeliness"}),
    )
    .await;
    rec(DUE.into()).await;
    let yes = rec(DUE.into()).await;
    let no = rec(DUE.into()).await;
    ok(
        app,
        &slg,
        &format!("/v1/admin/recommendations/{yes}/response"),
        json!({"accepted": true, "actions": "Done"}),
    )
    .await;
    ok(
        app,
        &slg,
        &format!("/v1/admin/recommendations/{no}/response"),
        json!({"accepted": false, "reasons": "Not now"}),
    )
    .await;

    // The deadline sweeper, at the app's now and recording on its clock, as
    // the server's would: d0, d4 and d5 are past due on `agencies`.
    let pool = app.pool.clone();
    let app_clock = app.clock;
    let swept = actix_web::rt::task::spawn_blocking(move || {
        let policies = [std::sync::Arc::new(Policy::krscp())];
        clock::scoped(app_clock, || {
            escalation_ledger::service::deadline::sweep(
                &mut pool.get().expect("conn"),
                &policies,
                0,
                app_clock.now(),
            )
        })
        .expect("sweep")
    })
    .await
    .expect("join");
    assert_eq!(swept.missed, 3, "{swept:?}");
}

fn query(p: &Period, audience: &str) -> String {
    format!(
        "/v1/reports/escalations?from={}&to={}&audience={audience}",
        p.from, p.to
    )
}

/// The Python recomputation, as JSON (no `ledger` member).
async fn python(app: &TestApp, p: &Period, audience: &str) -> Value {
    let script = format!("{}/scripts/report_check.py", env!("CARGO_MANIFEST_DIR"));
    let args = [
        script,
        app.base.clone(),
        p.from.clone(),
        p.to.clone(),
        audience.to_string(),
        "5".into(),
    ];
    let token = app.role(Role::Auditor);
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(&args)
            .env("LEDGER_TOKEN", token)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python prints JSON")
}

fn without_ledger(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().expect("object").remove("ledger");
    v
}

/// The offline report on an export of this ledger, as bytes.
async fn offline(app: &TestApp, p: &Period, audience: &str) -> String {
    let (s, bundle) = app
        .get_text(&app.role(Role::Auditor), "/v1/ledger/export")
        .await;
    assert_eq!(s, 200, "{bundle}");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bundle.jsonl"), bundle).expect("write bundle");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .arg("report")
        .arg("--bundle")
        .arg(dir.path())
        .args(["--from", &p.from, "--to", &p.to, "--audience", audience])
        .env_remove("REPORT_SUPPRESS_BELOW")
        .output()
        .expect("run report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn a_year_of_disputes(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    scripted_year(&app).await;
    let p = period();
    let size = app.size().await;

    for who in [
        app.role(Role::PartnershipAdmin),
        app.role(Role::Slg),
        app.role(Role::Scrutineer),
        app.partner(Role::StatutoryPartner, Partner::Icb),
        app.role(Role::Auditor),
    ] {
        let (s, _) = app.get_text(&who, &query(&p, "internal")).await;
        assert_eq!(s, 200);
    }
    let (s, body) = app
        .get_text(&app.role(Role::Slg), &query(&p, "internal"))
        .await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    // RFC 8785 on the wire.
    assert_eq!(canonical_json(&v).expect("canonical"), body);

    // Bound to the checkpoint at the current size, which the report signed.
    assert_eq!(app.size().await, size, "a report appends nothing");
    assert_eq!(v["ledger"]["size"], size);
    assert_eq!(v["ledger"]["checkpoint"], app.checkpoint_note().await);

    // The scripted year, by hand.
    assert_eq!(v["raised"], 7, "{v}");
    assert_eq!(v["by_entry_rung"], json!({"agencies": 5, "slg": 2}));
    assert_eq!(
        v["highest_rung_reached"],
        json!({"agencies": 4, "slg": 2, "secretary_of_state": 1})
    );
    assert_eq!(
        v["outcome"],
        json!({"resolved": {"agencies": 1, "slg": 1, "secretary_of_state": 1}, "withdrawn": 2, "open": 2})
    );
    assert_eq!(v["working_days_to_close"]["count"], 5);
    assert_eq!(v["urgent"], 1);
    assert_eq!(v["whistleblowing"], 0);
    assert_eq!(v["deadline_missed"], json!({"agencies": 3}));
    assert_eq!(v["auto_escalated"], 0, "KRSCP never escalates by itself");
    assert_eq!(
        v["escalations"],
        json!({"agencies->slg": 1, "slg->statutory_partners": 1, "statutory_partners->scrutineer": 1,
               "scrutineer->chief_executives": 1, "chief_executives->secretary_of_state": 1})
    );
    assert_eq!(
        v["reviews"],
        json!({"requested": 2, "accepted": 1, "declined": 1, "findings_recorded": 1})
    );
    assert_eq!(
        v["mediations"],
        json!({"opened": 1, "closed": 1, "outside_ladder": 1})
    );
    let r = &v["recommendations"];
    assert_eq!(
        (
            &r["issued"],
            &r["accepted"],
            &r["not_accepted"],
            &r["awaiting_response"],
            &r["overdue"]
        ),
        (&json!(4), &json!(1), &json!(1), &json!(1), &json!(1)),
        "{r}"
    );
    let list = r["list"].as_array().expect("list");
    assert_eq!(list.len(), 4);
    assert!(list
        .iter()
        .all(|x| x.get("theme").is_none() && x.get("text").is_none()));
    assert_eq!(
        v["policies"].as_array().map(Vec::len),
        Some(1),
        "{}",
        v["policies"]
    );
    assert_eq!(v["policies"][0]["version"], "krscp-2024-02");
    assert_eq!(v["suppressed"], json!([]));
    // No payload text anywhere in the figures.
    for text in [
        "Publish timescales",
        "Timeliness",
        "joint visit",
        "Threshold",
    ] {
        assert!(!body.contains(text), "{text} in {body}");
    }

    // The independent recomputation agrees, for both audiences.
    assert_eq!(python(&app, &p, "internal").await, without_ledger(&v));
    let (s, public) = app
        .get_text(&app.role(Role::Auditor), &query(&p, "public"))
        .await;
    assert_eq!(s, 200, "{public}");
    let pv: Value = serde_json::from_str(&public).expect("json");
    assert_eq!(python(&app, &p, "public").await, without_ledger(&pv));

    // Offline, from an export of the same ledger: the same bytes.
    assert_eq!(offline(&app, &p, "internal").await, body);
    assert_eq!(offline(&app, &p, "public").await, public);
    assert_eq!(app.size().await, size);
}

/// With audience=public, counts 1 to 4 are null and listed; 0 and 5+ stay.
async fn small_counts_are_suppressed(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    scripted_year(&app).await;
    let p = period();
    let (s, v) = app
        .get(&app.role(Role::PartnershipAdmin), &query(&p, "public"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["audience"], "public");
    assert_eq!(v["raised"], 7, "7 is not small");
    assert_eq!(v["by_entry_rung"]["agencies"], 5);
    assert!(v["by_entry_rung"]["slg"].is_null());
    assert!(v["outcome"]["withdrawn"].is_null());
    assert_eq!(v["whistleblowing"], 0, "zero is not suppressed");
    assert_eq!(v["working_days_to_close"]["count"], 5);
    assert!(v["urgent"].is_null());
    assert!(v["recommendations"]["issued"].is_null());
    assert!(
        v["recommendations"]["list"].is_null(),
        "its length would tell"
    );
    let suppressed: Vec<&str> = v["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .map(|s| s.as_str().expect("path"))
        .collect();
    for path in [
        "by_entry_rung.slg",
        "outcome.withdrawn",
        "outcome.resolved.secretary_of_state",
        "escalations.agencies->slg",
        "deadline_missed.agencies",
        "urgent",
        "reviews.requested",
        "recommendations.issued",
        "recommendations.list",
    ] {
        assert!(suppressed.contains(&path), "{path} not in {suppressed:?}");
    }
    assert!(!suppressed.contains(&"raised"));
    let mut sorted = suppressed.clone();
    sorted.sort();
    assert_eq!(sorted, suppressed);
    // Every listed path is null in the document.
    for path in &suppressed {
        let pointer = format!("/{}", path.replace('.', "/"));
        assert!(v.pointer(&pointer).is_some_and(Value::is_null), "{path}");
    }
}

/// CSV on request; refusals for bad input and for roles without a row.
async fn csv_and_refusals(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    app.raise_at(&[A, B], false, false, &days_ago(20)).await;
    let p = period();
    let slg = app.role(Role::Slg);
    let mut res = app
        .client
        .get(format!("{}{}", app.base, query(&p, "internal")))
        .bearer_auth(&slg)
        .insert_header(("Accept", "text/csv"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let csv = String::from_utf8(res.body().await.expect("body").to_vec()).expect("utf-8");
    assert!(csv.contains("section,item,value\r\nraised,,1\r\n"), "{csv}");
    assert!(csv.contains("by_entry_rung,agencies,1\r\n"), "{csv}");
    assert!(
        csv.contains("\r\n\r\nsection,version,sha256,activated_at\r\n")
            || csv.contains("section,activated_at,sha256,version"),
        "{csv}"
    );

    let size = app.size().await;
    // Two readable dates in the wrong order: well formed, but no period.
    let (s, v) = app
        .get(
            &slg,
            &format!("/v1/reports/escalations?from={}&to={}", p.to, p.from),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("is after"),
        "{v}"
    );
    for q in [
        "/v1/reports/escalations?from=2026-02-30&to=2026-03-01".to_string(),
        "/v1/reports/escalations?from=2026-1-1&to=2026-03-01".to_string(),
        format!(
            "/v1/reports/escalations?from={}&to={}&audience=everyone",
            p.from, p.to
        ),
        "/v1/reports/escalations?from=2026-01-01".to_string(),
        format!(
            "/v1/reports/escalations?from={}&to={}&colour=red",
            p.from, p.to
        ),
    ] {
        let mut res = app
            .client
            .get(format!("{}{q}", app.base))
            .bearer_auth(&slg)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 400, "{q}");
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(ct, "application/problem+json", "{q}");
        let _ = res.body().await;
    }
    assert_eq!(app.size().await, size, "nothing written");

    for who in [app.agency(A), app.partner(Role::ChiefOfficer, Partner::La)] {
        let (s, _) = app.get(&who, &query(&p, "internal")).await;
        assert_eq!(s, 403);
    }
    let (s, _) = app.get("not-a-token", &query(&p, "internal")).await;
    assert_eq!(s, 401);
}

both_backends!(
    a_year_of_disputes,
    small_counts_are_suppressed,
    csv_and_refusals
);
