use escalation_ledger::core::ladder::{Partner, Role, ALL_PARTNERS};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "cafcass";

async fn escalate(app: &TestApp, token: &str, id: &str) -> (u16, serde_json::Value) {
    app.post(
        token,
        &format!("/v1/disputes/{id}/escalate"),
        json!({"reason": "no agreement"}),
    )
    .await
}

async fn propose(app: &TestApp, token: &str, id: &str) -> (u16, serde_json::Value) {
    app.post(
        token,
        &format!("/v1/disputes/{id}/proposals"),
        json!({"resolution": "joint visit"}),
    )
    .await
}

/// The id of the proposal a propose answered with.
fn pid(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("the new proposal").to_string()
}

/// From `agencies` to `secretary_of_state`, one rung at a time, with a refusal on every rung.
async fn full_walk(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let (s, v) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["rung"], "agencies");
    assert_eq!(v["status"], "open");
    assert_eq!(v["policy"], "krscp-2024-02");
    assert_eq!(v["raised_by"]["agency"], A);
    assert_eq!(v["child_ref"], "KR-2026-0001");

    // agencies: a party proposes, the other rejects; the dispute stays on its rung.
    let (s, v) = propose(&app, &app.agency(A), &id).await;
    assert_eq!(s, 201, "{v}");
    let p = pid(&v);
    let (s, _) = propose(&app, &app.agency(B), &id).await;
    assert_eq!(s, 409, "one open proposal at a time");
    let (s, v) = app
        .post(
            &app.agency(B),
            &format!("/v1/disputes/{id}/proposals/{p}/reject"),
            json!({"reason": "not safe"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "agencies");
    assert_eq!(v["proposals"][0]["status"], "rejected");
    assert!(v["open_proposal"].is_null());
    // Only the parties' agency users escalate from `agencies`.
    assert_eq!(escalate(&app, &app.role(Role::Slg), &id).await.0, 403);
    assert_eq!(
        escalate(&app, &app.agency(C), &id).await.0,
        404,
        "non-party sees nothing"
    );
    let (s, v) = escalate(&app, &app.agency(B), &id).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "slg");

    // slg: only the SLG proposes; the parties accept; an agency may escalate.
    assert_eq!(propose(&app, &app.agency(A), &id).await.0, 403);
    let (s, v) = propose(&app, &app.role(Role::Slg), &id).await;
    assert_eq!(s, 201, "{v}");
    let p = pid(&v);
    let accept = format!("/v1/disputes/{id}/proposals/{p}/accept");
    assert_eq!(
        app.post(&app.role(Role::Slg), &accept, json!({})).await.0,
        403
    );
    assert_eq!(app.post(&app.agency(A), &accept, json!({})).await.0, 200);
    assert_eq!(
        app.post(&app.agency(A), &accept, json!({})).await.0,
        409,
        "accepting twice"
    );
    let (s, v) = escalate(&app, &app.role(Role::Slg), &id).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "statutory_partners");
    assert_eq!(v["proposals"][1]["status"], "lapsed");
    assert_eq!(
        app.post(&app.agency(B), &accept, json!({})).await.0,
        409,
        "a lapsed proposal"
    );

    // statutory_partners: primacy; parties cannot act, one partner may escalate.
    assert_eq!(escalate(&app, &app.agency(A), &id).await.0, 403);
    assert_eq!(propose(&app, &app.role(Role::Slg), &id).await.0, 403);
    let (s, v) = escalate(
        &app,
        &app.partner(Role::StatutoryPartner, Partner::Police),
        &id,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "scrutineer");

    // scrutineer: the mediated outcome; a chief officer may not escalate yet.
    assert_eq!(
        propose(&app, &app.partner(Role::StatutoryPartner, Partner::La), &id)
            .await
            .0,
        403
    );
    // Below `chief_executives` a chief officer does not see the dispute at all.
    assert_eq!(
        escalate(&app, &app.partner(Role::ChiefOfficer, Partner::La), &id)
            .await
            .0,
        404
    );
    let (s, _) = propose(&app, &app.role(Role::Scrutineer), &id).await;
    assert_eq!(s, 201);
    let (s, v) = escalate(&app, &app.role(Role::Scrutineer), &id).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "chief_executives");

    // chief_executives: chief officers propose, all three accept... but here they escalate.
    assert_eq!(propose(&app, &app.role(Role::Scrutineer), &id).await.0, 403);
    let (s, v) = escalate(
        &app,
        &app.partner(Role::StatutoryPartner, Partner::Icb),
        &id,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rung"], "secretary_of_state");

    // secretary_of_state: the top; partnership_admin records the decision.
    assert_eq!(
        escalate(&app, &app.role(Role::PartnershipAdmin), &id)
            .await
            .0,
        409
    );
    assert_eq!(propose(&app, &app.role(Role::Scrutineer), &id).await.0, 403);
    let (s, v) = propose(&app, &app.role(Role::PartnershipAdmin), &id).await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = app
        .get(
            &app.role(Role::PartnershipAdmin),
            &format!("/v1/disputes/{id}"),
        )
        .await;
    assert_eq!(v["status"], "resolved");

    // Closed: every action is a conflict.
    assert_eq!(
        propose(&app, &app.role(Role::PartnershipAdmin), &id)
            .await
            .0,
        409
    );
    let (s, _) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            &format!("/v1/disputes/{id}/withdraw"),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(s, 409);

    let (s, h) = app
        .get(&app.agency(A), &format!("/v1/disputes/{id}/history"))
        .await;
    assert_eq!(s, 200);
    let events: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "raised",
            "proposal_made",
            "proposal_rejected",
            "escalated",
            "proposal_made",
            "proposal_accepted",
            "escalated",
            "escalated",
            "proposal_made",
            "escalated",
            "escalated",
            "proposal_made",
            "resolved"
        ]
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// The partners decide without the parties' consent; the chief officers too.
async fn partners_and_chief_officers_resolve(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B, C], false).await;
    let (_, v) = app.get(&app.agency(C), &format!("/v1/disputes/{id}")).await;
    assert_eq!(v["rung"], "slg", "three parties start at the SLG");
    assert_eq!(escalate(&app, &app.agency(C), &id).await.0, 200);
    let (_, v) = propose(
        &app,
        &app.partner(Role::StatutoryPartner, Partner::Icb),
        &id,
    )
    .await;
    let p = pid(&v);
    let accept = format!("/v1/disputes/{id}/proposals/{p}/accept");
    assert_eq!(app.post(&app.agency(A), &accept, json!({})).await.0, 403);
    assert_eq!(
        app.post(
            &app.partner(Role::ChiefOfficer, Partner::La),
            &accept,
            json!({})
        )
        .await
        .0,
        404,
        "not visible to a chief officer below chief_executives"
    );
    let mut last = serde_json::Value::Null;
    for p in ALL_PARTNERS {
        let (s, v) = app
            .post(&app.partner(Role::StatutoryPartner, p), &accept, json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
        last = v;
    }
    assert_eq!(last["status"], "resolved");
    assert_eq!(
        last["proposals"][0]["accepted_by"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let id = app.raise(&[A, B], true).await;
    let (_, v) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    assert_eq!(v["rung"], "slg", "complex disputes start at the SLG");
    for who in [
        app.role(Role::Slg),
        app.partner(Role::StatutoryPartner, Partner::La),
        app.partner(Role::StatutoryPartner, Partner::La),
    ] {
        assert_eq!(escalate(&app, &who, &id).await.0, 200);
    }
    let (s, v) = propose(&app, &app.partner(Role::ChiefOfficer, Partner::Police), &id).await;
    assert_eq!(s, 201, "{v}");
    let accept = format!("/v1/disputes/{id}/proposals/{}/accept", pid(&v));
    assert_eq!(
        app.post(
            &app.partner(Role::StatutoryPartner, Partner::La),
            &accept,
            json!({})
        )
        .await
        .0,
        403
    );
    for p in ALL_PARTNERS {
        assert_eq!(
            app.post(&app.partner(Role::ChiefOfficer, p), &accept, json!({}))
                .await
                .0,
            200
        );
    }
    let (_, v) = app
        .get(&app.role(Role::Slg), &format!("/v1/disputes/{id}"))
        .await;
    assert_eq!(v["status"], "resolved");
    assert!(app.verify().ok);
}

/// Two agencies settle it themselves; withdrawal rules; visibility and listing.
async fn agencies_resolve_withdraw_and_list(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let (_, v) = propose(&app, &app.agency(B), &id).await;
    let accept = format!("/v1/disputes/{id}/proposals/{}/accept", pid(&v));
    assert_eq!(app.post(&app.agency(C), &accept, json!({})).await.0, 404);
    // The auditor does not see disputes, so it cannot act on one either.
    assert_eq!(
        app.post(&app.role(Role::Auditor), &accept, json!({}))
            .await
            .0,
        404
    );
    assert_eq!(app.post(&app.agency(A), &accept, json!({})).await.0, 200);
    let (s, v) = app.post(&app.agency(B), &accept, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["proposals"][0]["resolution"], "joint visit");

    let w = app.raise(&[A, C], false).await;
    let withdraw = format!("/v1/disputes/{w}/withdraw");
    assert_eq!(
        app.post(&app.agency(C), &withdraw, json!({"reason": "x"}))
            .await
            .0,
        403,
        "only the raiser"
    );
    assert_eq!(
        app.post(&app.role(Role::Slg), &withdraw, json!({"reason": "x"}))
            .await
            .0,
        403
    );
    let (s, v) = app
        .post(
            &app.agency(A),
            &withdraw,
            json!({"reason": "settled by phone"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "withdrawn");
    let w2 = app.raise(&[B, C], false).await;
    let (s, _) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            &format!("/v1/disputes/{w2}/withdraw"),
            json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(s, 200);

    // Listing: an agency sees only its own; filters; pagination.
    let (s, v) = app.get(&app.agency(C), "/v1/disputes").await;
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = app
        .get(&app.role(Role::Slg), "/v1/disputes?status=withdrawn")
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = app
        .get(
            &app.role(Role::Slg),
            &format!("/v1/disputes?agency={B}&status=resolved"),
        )
        .await;
    assert_eq!(v["items"][0]["id"], id.as_str());
    let (_, v) = app
        .get(&app.role(Role::Slg), "/v1/disputes?rung=agencies&limit=2")
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let next = v["next"].as_str().expect("a next page");
    let (_, v) = app
        .get(
            &app.role(Role::Slg),
            &format!("/v1/disputes?rung=agencies&limit=2&cursor={next}"),
        )
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert!(v["next"].is_null());
    assert_eq!(
        app.get(&app.agency(C), &format!("/v1/disputes/{id}"))
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&app.agency(C), &format!("/v1/disputes/{id}/history"))
            .await
            .0,
        404
    );
    // The auditor reads the ledger, not disputes: a 404, and an empty list.
    let auditor = app.role(Role::Auditor);
    let (s, _) = app.get(&auditor, &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 404);
    let (s, v) = app.get(&auditor, "/v1/disputes").await;
    assert_eq!((s, v["items"].as_array().map(Vec::len)), (200, Some(0)));
    assert!(app.verify().ok);
}

/// A chief officer sees only disputes that reached or passed `chief_executives`.
async fn chief_officers_see_only_disputes_that_reached_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let low = app.raise(&[A, B], true).await;
    let high = app.raise(&[A, C], true).await;
    for who in [
        app.role(Role::Slg),
        app.partner(Role::StatutoryPartner, Partner::La),
        app.partner(Role::StatutoryPartner, Partner::La),
    ] {
        assert_eq!(escalate(&app, &who, &high).await.0, 200);
    }
    let chief = app.partner(Role::ChiefOfficer, Partner::Icb);
    assert_eq!(app.get(&chief, &format!("/v1/disputes/{low}")).await.0, 404);
    assert_eq!(
        app.get(&chief, &format!("/v1/disputes/{low}/history"))
            .await
            .0,
        404
    );
    let (s, v) = app.get(&chief, &format!("/v1/disputes/{high}")).await;
    assert_eq!((s, v["rung"].as_str()), (200, Some("chief_executives")));
    let (_, list) = app.get(&chief, "/v1/disputes").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [high.as_str()]);
    let (_, all) = app.get(&app.role(Role::Slg), "/v1/disputes").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

both_backends!(chief_officers_see_only_disputes_that_reached_them);

both_backends!(
    full_walk,
    partners_and_chief_officers_resolve,
    agencies_resolve_withdraw_and_list
);
