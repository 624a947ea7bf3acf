//! The scrutineer's admin endpoints: mediation, independent review and formal
//! recommendations to the SLG, each action a ledger entry that `verify` replays.

use escalation_ledger::core::ladder::{Partner, Role};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "sw-london-icb";

/// The apps' clock starts here (Wednesday 10 June 2026, 11:00 in London), so
/// no expectation depends on the date the suite runs on.
const NOW: &str = "2026-06-10T10:00:00Z";
/// Today on that clock.
const TODAY: &str = "2026-06-10";
/// A response date ahead of that clock, and behind the real one: with the
/// system clock it would be refused as past, and listed as overdue.
const DUE: &str = "2026-07-31";

fn scrutineer(app: &TestApp) -> String {
    app.token("scrutineer-1", Role::Scrutineer, None, None)
}

fn admin(app: &TestApp) -> String {
    app.token("admin-1", Role::PartnershipAdmin, None, None)
}

/// Raise a dispute between A and B and walk it up to the `scrutineer` rung.
async fn at_scrutineer_rung(app: &TestApp) -> String {
    let id = app.raise(&[A, B], false).await;
    let path = format!("/v1/disputes/{id}/escalate");
    let why = json!({"reason": "no agreement"});
    for token in [
        app.agency(A),
        app.role(Role::Slg),
        app.partner(Role::StatutoryPartner, Partner::Police),
    ] {
        let (s, v) = app.post(&token, &path, why.clone()).await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, v) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    assert_eq!(v["rung"], "scrutineer");
    id
}

/// A dispute at the `scrutineer` rung and a mediation opened on it between A
/// and B: their ids.
async fn a_mediation(app: &TestApp) -> (String, String) {
    let id = at_scrutineer_rung(app).await;
    let (s, m) = app
        .post(
            &scrutineer(app),
            "/v1/admin/mediations",
            json!({"dispute_id": id, "agencies": [A, B], "topic": "t"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_str().expect("a mediation id").to_string();
    (id, mid)
}

/// The event and facts of the newest entry.
async fn last_entry(app: &TestApp) -> Value {
    let size = app.size().await;
    let (s, v) = app
        .get(
            &app.role(Role::Scrutineer),
            &format!("/v1/ledger/entries?from={}&limit=1", size - 1),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"][0].clone()
}

/// A scrutineer's day, end to end, then `verify`.
async fn a_scrutineers_day(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let sc = scrutineer(&app);
    let id = at_scrutineer_rung(&app).await;

    // The ladder's mediation: open, two sessions, the outcome as the rung's proposal, close.
    let (s, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"dispute_id": id, "agencies": [A, B, C], "topic": "Threshold for a strategy meeting"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["ladder"], true);
    assert_eq!(m["status"], "open");
    assert_eq!(m["topic"], "Threshold for a strategy meeting");
    let mid = m["id"].as_str().unwrap().to_string();
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "mediation_opened");
    assert_eq!(e["dispute_id"], id.as_str());
    assert_eq!(
        e["facts"],
        json!({"mediation_id": mid, "ladder": true, "agencies": [A, B, C]})
    );
    assert_eq!(app.today().to_string(), TODAY);
    for (date, notes) in [
        (TODAY, "Positions set out"),
        (TODAY, "Agreed a joint visit"),
    ] {
        let (s, v) = app
            .post(
                &sc,
                &format!("/v1/admin/mediations/{mid}/sessions"),
                json!({"date": date, "attendees": [
                    {"role": "scrutineer"},
                    {"role": "statutory_partner", "agency": A},
                    {"role": "statutory_partner", "agency": B}], "notes": notes}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "mediation_session_recorded");
    assert_eq!(e["facts"]["date"], TODAY);
    assert_eq!(e["payload"], json!({"notes": "Agreed a joint visit"}));
    let close = format!("/v1/admin/mediations/{mid}/close");
    let outcome = json!({"outcome": "Joint visit within five working days"});
    let before = app.size().await;
    let (s, v) = app.post(&sc, &close, outcome.clone()).await;
    assert_eq!(s, 409, "no proposal on the rung yet: {v}");
    assert_eq!(app.size().await, before);
    let (s, v) = app
        .post(
            &sc,
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "Joint visit within five working days"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["id"].as_str().unwrap().to_string();
    let (s, v) = app.post(&sc, &close, outcome.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "closed");
    assert_eq!(v["outcome_proposal_id"], pid.as_str());
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(v["sessions"][1]["notes"], "Agreed a joint visit");
    assert_eq!(v["outcome"], "Joint visit within five working days");
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "mediation_closed");
    assert_eq!(e["facts"], json!({"mediation_id": mid, "proposal_id": pid}));

    // A mediation outside the ladder, between two agencies, with no dispute.
    let (s, m2) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": ["richmond-council", "kingston-hospital"], "topic": "Discharge planning"}),
        )
        .await;
    assert_eq!(s, 201, "{m2}");
    assert_eq!(m2["ladder"], false);
    assert!(m2["dispute_id"].is_null());
    let (s, list) = app.get(&admin(&app), "/v1/admin/mediations").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (s, one) = app
        .get(&admin(&app), &format!("/v1/admin/mediations/{mid}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(one["id"], mid.as_str());

    // A review requested by a party agency, accepted, findings recorded.
    let (s, r) = app
        .post(
            &app.agency(B),
            "/v1/admin/reviews",
            json!({"dispute_id": id, "concern": "The escalation took too long"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["status"], "requested");
    assert_eq!(r["requested_by"], json!({"role": "agency", "agency": B}));
    let rid = r["id"].as_str().unwrap().to_string();
    let (s, r) = app
        .post(
            &sc,
            &format!("/v1/admin/reviews/{rid}/accept"),
            json!({"reason": "Within scope"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "accepted");
    let (s, r) = app
        .post(
            &sc,
            &format!("/v1/admin/reviews/{rid}/findings"),
            json!({"findings": "Escalation timescales were not met"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "closed");
    assert_eq!(r["findings"], "Escalation timescales were not met");
    assert_eq!(r["decision_reason"], "Within scope");
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "review_findings_recorded");
    assert_eq!(e["dispute_id"], id.as_str());
    assert_eq!(e["facts"], json!({"review_id": rid}));

    // One requested by partnership_admin on behalf of a family, declined.
    let (s, r) = app
        .post(
            &admin(&app),
            "/v1/admin/reviews",
            json!({"dispute_id": id, "concern": "The family's view was not heard", "on_behalf_of_child_or_family": true}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let rid2 = r["id"].as_str().unwrap().to_string();
    let (s, r) = app
        .post(
            &sc,
            &format!("/v1/admin/reviews/{rid2}/decline"),
            json!({"reason": "Being handled by the complaints process"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "declined");
    assert_eq!(r["on_behalf_of_child_or_family"], true);
    let (s, list) = app.get(&sc, "/v1/admin/reviews").await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // A recommendation past its due date is overdue until the SLG responds.
    // Issued 30 days ago, due 10 days ago (a due date in the past is refused now).
    let recid = app
        .issue_recommendation_back_then(
            30,
            20,
            json!({"text": "Publish escalation timescales", "theme": "Timeliness"}),
        )
        .await;
    let (s, v) = app.get(&sc, "/v1/admin/recommendations").await;
    assert_eq!(s, 200, "{v}");
    let rec = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == recid.as_str())
        .cloned()
        .unwrap();
    assert_eq!(rec["status"], "overdue");
    assert_eq!(rec["theme"], "Timeliness");
    let (s, rec2) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "Review this case's chronology", "dispute_id": id, "response_due": DUE}),
        )
        .await;
    assert_eq!(s, 201, "{rec2}");
    assert_eq!(rec2["status"], "open");
    let slg = app.role(Role::Slg);
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, v) = app
        .get(&slg, "/v1/admin/recommendations?status=overdue")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), vec![recid.clone()]);
    let (s, v) = app
        .post(
            &slg,
            &format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": true, "actions": "Timescales on the website by March"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "responded");
    assert_eq!(
        v["response"]["actions"],
        "Timescales on the website by March"
    );
    let (_, v) = app
        .get(&slg, "/v1/admin/recommendations?status=overdue")
        .await;
    assert_eq!(v["items"], json!([]));
    let (_, v) = app
        .get(&admin(&app), "/v1/admin/recommendations?status=responded")
        .await;
    assert_eq!(ids(&v), vec![recid.clone()]);
    let (_, v) = app.get(&sc, "/v1/admin/recommendations?status=open").await;
    assert_eq!(ids(&v), vec![rec2["id"].as_str().unwrap().to_string()]);
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "recommendation_response_recorded");
    assert_eq!(
        e["facts"],
        json!({"recommendation_id": recid, "accepted": true})
    );

    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// Each refusal class answers with its status and writes nothing.
async fn refusals_write_nothing(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let sc = scrutineer(&app);
    let slg = app.role(Role::Slg);
    let low = app.raise(&[A, B], false).await; // on the agencies rung
    let id = at_scrutineer_rung(&app).await;
    let (s, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"dispute_id": id, "agencies": [A, B], "topic": "t"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_str().unwrap().to_string();
    let (s, r) = app
        .post(
            &app.agency(A),
            "/v1/admin/reviews",
            json!({"dispute_id": id, "concern": "c"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    let (s, rec) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "t", "theme": "x", "response_due": DUE}),
        )
        .await;
    assert_eq!(s, 201, "{rec}");
    let recid = rec["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &slg,
            &format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": false, "reasons": "Not now"}),
        )
        .await;
    assert_eq!(s, 200);

    let session = json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"});
    let cases: Vec<(String, String, Value, u16)> = vec![
        // 403: wrong role
        (
            app.agency(A),
            "/v1/admin/mediations".into(),
            json!({"agencies": [A, B], "topic": "t"}),
            403,
        ),
        (
            slg.clone(),
            format!("/v1/admin/mediations/{mid}/sessions"),
            session.clone(),
            403,
        ),
        (
            admin(&app),
            format!("/v1/admin/mediations/{mid}/close"),
            json!({"outcome": "o"}),
            403,
        ),
        (
            slg.clone(),
            "/v1/admin/reviews".into(),
            json!({"dispute_id": id, "concern": "c"}),
            403,
        ),
        (
            admin(&app),
            format!("/v1/admin/reviews/{rid}/accept"),
            json!({"reason": "r"}),
            403,
        ),
        (
            slg.clone(),
            "/v1/admin/recommendations".into(),
            json!({"text": "t", "theme": "x", "response_due": DUE}),
            403,
        ),
        (
            sc.clone(),
            format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": false, "reasons": "r"}),
            403,
        ),
        // 404: unknown
        (
            sc.clone(),
            "/v1/admin/mediations".into(),
            json!({"dispute_id": "nope", "agencies": [A, B], "topic": "t"}),
            404,
        ),
        (
            sc.clone(),
            "/v1/admin/mediations/nope/sessions".into(),
            session.clone(),
            404,
        ),
        (
            sc.clone(),
            "/v1/admin/mediations/nope/close".into(),
            json!({"outcome": "o"}),
            404,
        ),
        (
            app.agency(C),
            "/v1/admin/reviews".into(),
            json!({"dispute_id": id, "concern": "c"}),
            404,
        ),
        (
            sc.clone(),
            "/v1/admin/reviews/nope/decline".into(),
            json!({"reason": "r"}),
            404,
        ),
        (
            sc.clone(),
            "/v1/admin/recommendations".into(),
            json!({"text": "t", "dispute_id": "nope", "response_due": DUE}),
            404,
        ),
        (
            slg.clone(),
            "/v1/admin/recommendations/nope/response".into(),
            json!({"accepted": false, "reasons": "r"}),
            404,
        ),
        // 409: wrong order
        (
            sc.clone(),
            "/v1/admin/mediations".into(),
            json!({"dispute_id": id, "agencies": [A, B], "topic": "again"}),
            409,
        ),
        (
            sc.clone(),
            format!("/v1/admin/mediations/{mid}/close"),
            json!({"outcome": "o"}),
            409,
        ),
        (
            sc.clone(),
            format!("/v1/admin/reviews/{rid}/findings"),
            json!({"findings": "f"}),
            409,
        ),
        (
            slg.clone(),
            format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": true, "actions": "a"}),
            409,
        ),
        // 422: bad input
        (
            sc.clone(),
            "/v1/admin/mediations".into(),
            json!({"agencies": [A], "topic": "t"}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/mediations".into(),
            json!({"agencies": [A, "no-such-agency"], "topic": "t"}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/mediations".into(),
            json!({"agencies": [A, B], "topic": "  "}),
            422,
        ),
        (
            sc.clone(),
            format!("/v1/admin/mediations/{mid}/sessions"),
            json!({"date": "2026-13-01", "attendees": [{"role": "scrutineer"}], "notes": "n"}),
            422,
        ),
        (
            sc.clone(),
            format!("/v1/admin/mediations/{mid}/sessions"),
            json!({"date": TODAY, "attendees": [], "notes": "n"}),
            422,
        ),
        (
            sc.clone(),
            format!("/v1/admin/mediations/{mid}/sessions"),
            // Tomorrow on the app's clock: a session not yet held.
            json!({"date": "2026-06-11", "attendees": [{"role": "scrutineer"}], "notes": "n"}),
            422,
        ),
        (
            admin(&app),
            "/v1/admin/reviews".into(),
            json!({"dispute_id": id, "concern": "c"}),
            422,
        ),
        (
            sc.clone(),
            format!("/v1/admin/reviews/{rid}/accept"),
            json!({"reason": ""}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/recommendations".into(),
            json!({"text": "t", "response_due": DUE}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/recommendations".into(),
            json!({"text": "t", "theme": "x", "dispute_id": id, "response_due": DUE}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/recommendations".into(),
            json!({"text": "t", "theme": "x", "response_due": "31/07/2026"}),
            422,
        ),
        (
            sc.clone(),
            "/v1/admin/recommendations".into(),
            // Yesterday on the app's clock: a due date in the past.
            json!({"text": "t", "theme": "x", "response_due": "2026-06-09"}),
            422,
        ),
        (
            slg.clone(),
            format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": true}),
            422,
        ),
        (
            slg.clone(),
            format!("/v1/admin/recommendations/{recid}/response"),
            json!({"accepted": false, "actions": "a"}),
            422,
        ),
    ];
    let size = app.size().await;
    for (token, path, body, want) in cases {
        let (s, v) = app.post(&token, &path, body.clone()).await;
        assert_eq!(s, want, "{path} {body}: {v}");
        assert_eq!(
            v["type"].as_str().map(|t| t.contains("/problems/")),
            Some(true),
            "{v}"
        );
        assert_eq!(app.size().await, size, "{path} {body} wrote an entry");
    }
    // A mediation of a dispute below the rung is outside the ladder; beyond it, refused.
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"dispute_id": low, "agencies": [A, B], "topic": "early help"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["ladder"], false);
    // Reads: wrong roles are refused.
    for path in ["/v1/admin/mediations", "/v1/admin/reviews"] {
        assert_eq!(app.get(&slg, path).await.0, 403, "{path}");
    }
    assert_eq!(
        app.get(&app.agency(A), "/v1/admin/recommendations").await.0,
        403
    );
    assert_eq!(
        app.get(&sc, "/v1/admin/recommendations?status=late")
            .await
            .0,
        400
    );
    assert_eq!(app.get(&sc, "/v1/admin/mediations/nope").await.0, 404);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// Altering a row of a scrutiny table makes `verify` fail and say which table.
async fn tampered_scrutiny_rows_fail_verify(backend: Backend) {
    let tampers = [
        (
            "UPDATE mediations SET status = 'closed', closed_seq = opened_seq",
            "mediations",
        ),
        (
            "UPDATE mediation_agencies SET agency_id = 'cafcass' WHERE position = 0",
            "mediation_agencies",
        ),
        (
            "UPDATE mediation_sessions SET held_on = '2025-01-01'",
            "mediation_sessions",
        ),
        ("UPDATE reviews SET status = 'closed'", "reviews"),
        (
            "UPDATE recommendations SET response_due = '2026-08-01'",
            "recommendations",
        ),
        ("DELETE FROM recommendations", "recommendations"),
    ];
    for (sql, table) in tampers {
        let app = TestApp::spawn_at(backend, NOW).await;
        let sc = scrutineer(&app);
        let (id, mid) = a_mediation(&app).await;
        let (s, _) = app
            .post(
                &sc,
                &format!("/v1/admin/mediations/{mid}/sessions"),
                json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"}),
            )
            .await;
        assert_eq!(s, 201);
        let (s, _) = app
            .post(
                &app.agency(A),
                "/v1/admin/reviews",
                json!({"dispute_id": id, "concern": "c"}),
            )
            .await;
        assert_eq!(s, 201);
        let (s, _) = app
            .post(
                &sc,
                "/v1/admin/recommendations",
                json!({"text": "t", "theme": "x", "response_due": DUE}),
            )
            .await;
        assert_eq!(s, 201);
        assert!(app.verify().ok);
        app.sql(sql, sql).unwrap();
        let r = app.verify();
        assert!(!r.ok, "{sql}");
        let problem = r.problem.unwrap_or_default();
        assert!(
            problem.contains(&format!("the {table} table differs")),
            "{sql}: {problem}"
        );
    }
}

/// A mediation opened at 23:30 UTC on 10 June 2026 opened on 11 June in London
/// (00:30 BST), so a session dated the 10th is before it and is refused, and
/// the 11th is both its first day and "today". Taking the opening's UTC date
/// accepted the 10th.
async fn a_session_is_dated_in_london(backend: Backend) {
    let app = TestApp::spawn_at(backend, "2026-06-10T23:30:00Z").await;
    assert_eq!(app.today().to_string(), "2026-06-11");
    let sc = scrutineer(&app);
    let (_, mid) = a_mediation(&app).await;
    let sessions = format!("/v1/admin/mediations/{mid}/sessions");
    let attendees = json!([{"role": "scrutineer"}]);
    let before = app.size().await;
    let (s, v) = app
        .post(
            &sc,
            &sessions,
            json!({"date": "2026-06-10", "attendees": attendees, "notes": "n"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["detail"], "date must not be before the mediation opened (2026-06-11)",
        "{v}"
    );
    assert_eq!(app.size().await, before, "a refused session writes nothing");
    let (s, v) = app
        .post(
            &sc,
            &sessions,
            json!({"date": "2026-06-11", "attendees": attendees, "notes": "n"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(app.size().await, before + 1);
}

both_backends!(
    a_scrutineers_day,
    a_session_is_dated_in_london,
    refusals_write_nothing,
    tampered_scrutiny_rows_fail_verify,
);
