use futures_util::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const CLIENTS: usize = 32;
const AGENCIES: [&str; 4] = [
    "kingston-council",
    "richmond-council",
    "cafcass",
    "kingston-hospital",
];

/// 32 clients at once, each on its own dispute: every action lands, the chain stays linear.
async fn parallel_clients_on_different_disputes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.size().await;
    let runs = (0..CLIENTS).map(|i| {
        let app = &app;
        async move {
            let a = AGENCIES[i % 4];
            let b = AGENCIES[(i + 1) % 4];
            let id = app.raise(&[a, b], false).await;
            let (s, v) = app
                .post(
                    &app.agency(a),
                    &format!("/v1/disputes/{id}/proposals"),
                    json!({"resolution": "r"}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            let pid = v["id"].as_str().unwrap().to_string();
            for who in [a, b] {
                let (s, v) = app
                    .post(
                        &app.agency(who),
                        &format!("/v1/disputes/{id}/proposals/{pid}/accept"),
                        json!({}),
                    )
                    .await;
                assert_eq!(s, 200, "{v}");
            }
        }
    });
    join_all(runs).await;
    // raised + proposal_made + 2 accepted + resolved per client.
    assert_eq!(app.size().await, before + 5 * CLIENTS as i64);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// 32 clients race on one dispute: exactly one proposal wins, one escalation per rung.
async fn parallel_clients_on_the_same_dispute(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let tok = app.agency("kingston-council");
    let path = format!("/v1/disputes/{id}/proposals");
    let proposals =
        join_all((0..CLIENTS).map(|_| app.post(&tok, &path, json!({"resolution": "mine"})))).await;
    let won = proposals.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(won, 1, "exactly one proposal is opened");
    assert!(proposals.iter().all(|(s, _)| *s == 201 || *s == 409));

    let path = format!("/v1/disputes/{id}/escalate");
    let escalations =
        join_all((0..CLIENTS).map(|_| app.post(&tok, &path, json!({"reason": "stuck"})))).await;
    // A party may escalate from `agencies` and from `slg`, never beyond: two rungs, one each.
    let mut rungs: Vec<&str> = escalations
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v["rung"].as_str().unwrap())
        .collect();
    rungs.sort();
    assert_eq!(rungs, ["slg", "statutory_partners"]);
    assert!(escalations.iter().all(|(s, _)| *s == 200 || *s == 403));
    let (_, v) = app.get(&tok, &format!("/v1/disputes/{id}")).await;
    assert_eq!(v["rung"], "statutory_partners");
    let r = app.verify();
    assert!(r.ok, "{r:?}");
    assert_eq!(
        r.size, 6,
        "registry, policy, raised, proposal, two escalations"
    );
}

both_backends!(
    parallel_clients_on_different_disputes,
    parallel_clients_on_the_same_dispute
);
