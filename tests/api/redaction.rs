//! Erasing a payload: a partnership_admin requests, a different scrutineer
//! approves, the payload goes, and every verifier still passes and says so.

use escalation_ledger::core::ladder::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn redact_path(seq: i64) -> String {
    format!("/v1/admin/ledger/entries/{seq}/redact")
}

fn admin(app: &TestApp) -> String {
    app.token("admin-1", Role::PartnershipAdmin, None, None)
}

fn scrutineer(app: &TestApp) -> String {
    app.token("scrutineer-1", Role::Scrutineer, None, None)
}

async fn python_verify(app: &TestApp) -> (bool, String) {
    let out = app
        .python("verify_chain.py", app.role(Role::PartnershipAdmin))
        .await;
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn verify_cli(app: &TestApp) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["verify", "--database-url", &app.db.url])
        .output()
        .expect("run verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn entry(app: &TestApp, seq: i64) -> Value {
    let (s, v) = app
        .get(
            &app.role(Role::Scrutineer),
            &format!("/v1/ledger/entries?from={seq}&limit=1"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"][0].clone()
}

/// Request, approve; the text is gone everywhere, the hashes stay, and
/// `verify`, the CLI and the Python script all pass and name what was erased.
async fn a_payload_is_erased_in_two_steps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await; // seq 2
    let (s, _) = app
        .post(
            &app.agency("kingston-council"),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "Hold a strategy meeting"}),
        )
        .await; // seq 3
    assert_eq!(s, 201);
    let before = entry(&app, 2).await;
    assert_eq!(before["payload"]["child_ref"], "KR-2026-0001");

    // Step 1: the request, its own entry carrying the target's dispute_id.
    let (s, v) = app
        .post(
            &admin(&app),
            &redact_path(2),
            json!({"reason": "Subject access request: erasure"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"target_seq": 2, "seq": 4, "requested_seq": 4, "approved_seq": null})
    );
    let req = entry(&app, 4).await;
    assert_eq!(req["event"], "redaction_requested");
    assert_eq!(req["dispute_id"], id.as_str());
    assert_eq!(req["facts"], json!({"seq": 2}));
    assert_eq!(
        req["payload"],
        json!({"reason": "Subject access request: erasure"})
    );
    // Pending: the text is still there, and listed as pending.
    assert_eq!(entry(&app, 2).await["payload"], before["payload"]);
    let (s, list) = app
        .get(&app.role(Role::Auditor), "/v1/admin/ledger/redactions")
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list,
        json!({"items": [{"target_seq": 2, "seq": 4, "requested_seq": 4, "approved_seq": null}],
               "next": null})
    );
    assert!(app.verify().ok);

    // Step 2: the approval erases the payload in the same transaction.
    let (s, v) = app
        .post(&scrutineer(&app), &redact_path(2), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"target_seq": 2, "seq": 5, "requested_seq": 4, "approved_seq": 5})
    );
    let appr = entry(&app, 5).await;
    assert_eq!(appr["event"], "redaction_approved");
    assert_eq!(appr["dispute_id"], id.as_str());
    assert_eq!(appr["facts"], json!({"seq": 2, "request_seq": 4}));
    assert_eq!(appr["payload"], json!({}));

    let after = entry(&app, 2).await;
    assert!(after["payload"].is_null(), "{after}");
    assert_eq!(after["payload_hash"], before["payload_hash"]);
    assert_eq!(after["entry_hash"], before["entry_hash"]);

    // The proposal's resolution too, with an approval reason.
    let (s, _) = app
        .post(
            &admin(&app),
            &redact_path(3),
            json!({"reason": "named a child"}),
        )
        .await; // seq 6
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &scrutineer(&app),
            &redact_path(3),
            json!({"reason": "agreed"}),
        )
        .await; // seq 7
    assert_eq!(s, 200, "{v}");
    assert_eq!(entry(&app, 7).await["payload"], json!({"reason": "agreed"}));

    // The dispute reads its text from payloads: summary, child_ref, resolution are gone.
    let (s, d) = app
        .get(&app.agency("cafcass"), &format!("/v1/disputes/{id}"))
        .await;
    assert_eq!(s, 200, "{d}");
    assert!(d["summary"].is_null(), "{d}");
    assert!(d["child_ref"].is_null(), "{d}");
    assert!(d["proposals"][0]["resolution"].is_null(), "{d}");
    assert!(d["open_proposal"]["resolution"].is_null(), "{d}");
    assert_eq!(d["parties"], json!(["kingston-council", "cafcass"]));

    let r = app.verify();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.size, 8);
    let redacted = serde_json::to_value(&r.redacted).unwrap();
    assert_eq!(
        redacted,
        json!([{"seq": 2, "redacted_by": 5}, {"seq": 3, "redacted_by": 7}])
    );
    let (s, v) = app.get(&app.role(Role::Auditor), "/v1/ledger/verify").await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["redacted"], redacted);

    let (code, out) = verify_cli(&app);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("the payload of seq 2 was erased by the approved redaction at seq 5"),
        "{out}"
    );
    assert!(out.contains("seq 3 was erased by the approved redaction at seq 7"));

    let (ok, out) = python_verify(&app).await;
    assert!(ok, "{out}");
    assert!(out.contains("chain intact: 8 entries"), "{out}");
    assert!(out.contains("null payloads"), "{out}");
    assert!(out.contains("2 at seq 2-3"), "{out}");

    let (s, list) = app.get(&admin(&app), "/v1/admin/ledger/redactions").await;
    assert_eq!(s, 200);
    assert_eq!(
        list,
        json!({"items": [{"target_seq": 2, "seq": 5, "requested_seq": 4, "approved_seq": 5},
                         {"target_seq": 3, "seq": 7, "requested_seq": 6, "approved_seq": 7}],
               "next": null})
    );
}

/// Every refusal has its status and leaves the ledger as it was.
async fn refusals_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await; // seq 2
    let reason = json!({"reason": "erasure request"});

    async fn refused(app: &TestApp, token: &str, seq: i64, body: Value, status: u16, what: &str) {
        let before = app.size().await;
        let (s, v) = app.post(token, &redact_path(seq), body).await;
        assert_eq!(s, status, "{what}: {v}");
        assert!(v["detail"].is_string(), "{what}: {v}");
        assert_eq!(app.size().await, before, "{what} wrote to the ledger");
    }

    let agency = app.agency("kingston-council");
    for (tok, what) in [
        (agency.clone(), "agency user"),
        (app.role(Role::Slg), "slg"),
        (app.role(Role::Auditor), "auditor"),
        (
            app.partner(
                Role::ChiefOfficer,
                escalation_ledger::core::ladder::Partner::La,
            ),
            "chief officer",
        ),
    ] {
        refused(&app, &tok, 2, reason.clone(), 403, what).await;
    }
    for tok in [agency.clone(), app.role(Role::Slg)] {
        let (s, _) = app.get(&tok, "/v1/admin/ledger/redactions").await;
        assert_eq!(s, 403);
    }
    refused(&app, &admin(&app), 999, reason.clone(), 404, "unknown seq").await;
    refused(&app, &admin(&app), -1, reason.clone(), 404, "negative seq").await;
    refused(
        &app,
        &admin(&app),
        2,
        json!({"reason": "  "}),
        422,
        "blank reason",
    )
    .await;
    refused(&app, &admin(&app), 2, json!({}), 422, "no reason").await;
    refused(
        &app,
        &scrutineer(&app),
        2,
        json!({}),
        409,
        "nothing pending",
    )
    .await;

    // One person holding both roles cannot push an erasure through alone.
    let same_admin = app.token("both-hats", Role::PartnershipAdmin, None, None);
    let same_scrutineer = app.token("both-hats", Role::Scrutineer, None, None);
    let (s, v) = app.post(&same_admin, &redact_path(2), reason.clone()).await;
    assert_eq!(s, 200, "{v}");
    refused(&app, &admin(&app), 2, reason.clone(), 409, "second request").await;
    refused(&app, &same_scrutineer, 2, json!({}), 403, "own request").await;
    refused(
        &app,
        &scrutineer(&app),
        2,
        json!({"reason": ""}),
        422,
        "empty approval reason",
    )
    .await;

    let (s, v) = app
        .post(&scrutineer(&app), &redact_path(2), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    refused(&app, &scrutineer(&app), 2, json!({}), 409, "approved twice").await;
    refused(
        &app,
        &admin(&app),
        2,
        reason.clone(),
        409,
        "request after erasure",
    )
    .await;

    // A payload erased by hand cannot be "requested" either.
    let sql = "UPDATE ledger_payloads SET payload = NULL WHERE seq = 0";
    app.sql(sql, sql).unwrap();
    refused(&app, &admin(&app), 0, reason.clone(), 409, "already null").await;

    let (s, d) = app.get(&agency, &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 200);
    assert!(d["summary"].is_null());
}

/// A payload nulled in the database without the two entries is tampering,
/// even while a request for it is pending.
async fn a_payload_nulled_by_hand_fails_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.raise(&["kingston-council", "cafcass"], false).await; // seq 2
    app.raise(&["richmond-council", "cafcass"], false).await; // seq 3
    let (s, _) = app
        .post(&admin(&app), &redact_path(3), json!({"reason": "r"}))
        .await; // seq 4, pending
    assert_eq!(s, 200);
    assert!(app.verify().ok);
    let sql = "UPDATE ledger_payloads SET payload = NULL WHERE seq = 3";
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.first_bad_seq, Some(3), "{r:?}");
    assert!(
        r.problem
            .as_deref()
            .unwrap_or_default()
            .contains("payload erased without an approved redaction"),
        "{r:?}"
    );
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ledger broken at seq 3"), "{out}");

    // Without any request at all, the earliest such entry is named.
    let sql = "UPDATE ledger_payloads SET payload = NULL WHERE seq = 2";
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(2)), "{r:?}");
}

/// The `redactions` projection must match the ledger's two events.
async fn an_altered_redactions_row_fails_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.raise(&["kingston-council", "cafcass"], false).await; // seq 2
    let (s, _) = app
        .post(&admin(&app), &redact_path(2), json!({"reason": "r"}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(&scrutineer(&app), &redact_path(2), json!({}))
        .await;
    assert_eq!(s, 200);
    assert!(app.verify().ok);
    let sql = "UPDATE redactions SET approved_seq = NULL WHERE seq = 2";
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    assert!(
        r.problem
            .as_deref()
            .unwrap_or_default()
            .contains("redactions table"),
        "{r:?}"
    );
}

both_backends!(
    a_payload_is_erased_in_two_steps,
    refusals_write_nothing,
    a_payload_nulled_by_hand_fails_verify,
    an_altered_redactions_row_fails_verify,
);
