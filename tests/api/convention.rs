//! One API convention (issue 10, section 2): creating answers 201 with a
//! `Location` that reads back the same thing; an action answers with the `seq`
//! of the entry it wrote; every list is a keyset page `{items, next}` with the
//! same `limit` and `cursor`, and the same 400 for a bad one.

use std::collections::BTreeSet;

use escalation_ledger::app::Settings;
use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::{Partner, Role};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "cafcass";
const C: &str = "richmond-council";

/// The apps' clock starts here (Wednesday 10 June 2026, 11:00 in London), so
/// no date below depends on the day the test runs.
const NOW: &str = "2026-06-10T10:00:00Z";
/// Today in London at `NOW`: the day mediation sessions are held.
const TODAY: &str = "2026-06-10";
/// A response date after `NOW`: recommendations are not due in the past.
const DUE: &str = "2026-07-31";

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_at_with_settings(
        backend,
        NOW,
        Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await
}

/// The `seq` of the newest ledger entry.
async fn newest(app: &TestApp) -> i64 {
    app.size().await - 1
}

/// A create answers 201 with a `Location`, and GET there answers 200 with the
/// same `key` (`id`, or a witness's `name`, a policy's `version`, a session's
/// `seq`); the body's `seq`, where it has one, is the newest entry's.
async fn created(
    app: &TestApp,
    token: &str,
    reader: &str,
    path: &str,
    body: Value,
    key: &str,
) -> Value {
    let (s, location, v) = app.post_created(token, path, body).await;
    let location = location.unwrap_or_default();
    assert_eq!(s, 201, "{path}: {v}");
    assert!(location.starts_with('/'), "{path}: Location {location:?}");
    let (s, again) = app.get(reader, &location).await;
    assert_eq!(s, 200, "GET {location}: {again}");
    assert!(!v[key].is_null(), "{path}: no {key} in {v}");
    assert_eq!(again[key], v[key], "GET {location} is another thing");
    if let Some(seq) = v.get("seq") {
        assert_eq!(seq.as_i64(), Some(newest(app).await), "{path}: {v}");
    }
    v
}

async fn creates_answer_201_location_and_the_thing(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let sc = app.role(Role::Scrutineer);

    let d = created(
        &app,
        &app.agency(A),
        &admin,
        "/v1/disputes",
        json!({"parties": [A, B], "summary": "s"}),
        "id",
    )
    .await;
    let id = d["id"].as_str().expect("id").to_string();
    let p = created(
        &app,
        &app.agency(A),
        &app.agency(B),
        &format!("/v1/disputes/{id}/proposals"),
        json!({"resolution": "meet"}),
        "id",
    )
    .await;
    assert_eq!(p["status"], "open");
    assert_eq!(p["seq"].as_i64(), Some(newest(&app).await), "{p}");
    let m = created(
        &app,
        &sc,
        &admin,
        "/v1/admin/mediations",
        json!({"agencies": [A, C], "topic": "t"}),
        "id",
    )
    .await;
    assert_eq!(m["seq"], m["opened_seq"]);
    let mid = m["id"].as_str().expect("id");
    let session = created(
        &app,
        &sc,
        &admin,
        &format!("/v1/admin/mediations/{mid}/sessions"),
        json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"}),
        "seq",
    )
    .await;
    assert_eq!(session["date"], TODAY);
    created(
        &app,
        &app.agency(B),
        &sc,
        "/v1/admin/reviews",
        json!({"dispute_id": id, "concern": "c"}),
        "id",
    )
    .await;
    created(
        &app,
        &sc,
        &app.role(Role::Slg),
        "/v1/admin/recommendations",
        json!({"text": "t", "theme": "x", "response_due": DUE}),
        "id",
    )
    .await;
    let w = created(
        &app,
        &admin,
        &admin,
        "/v1/admin/webhooks",
        json!({"target": {"agency": A}, "url": "http://127.0.0.1:9/hook"}),
        "id",
    )
    .await;
    assert!(w["secret"].is_string(), "the secret, this once: {w}");
    let (_, again) = app
        .get(
            &admin,
            &format!("/v1/admin/webhooks/{}", w["id"].as_str().unwrap()),
        )
        .await;
    assert!(
        again.get("secret").is_none(),
        "the secret is never shown again: {again}"
    );
    let cosigner = Cosigner::generate("conv-witness").expect("key");
    let wit = created(
        &app,
        &admin,
        &app.agency(A),
        "/v1/admin/witnesses",
        json!({"name": "conv-witness", "key": cosigner.verifier_key()}),
        "name",
    )
    .await;
    assert_eq!(wit["registered_seq"].as_i64(), Some(newest(&app).await));
    assert_eq!(wit["seq"], wit["registered_seq"], "{wit}");
    // A cosignature is created too: 201, and its Location reads it back.
    let (s, note) = app.get_text(&admin, "/v1/ledger/checkpoint").await;
    assert_eq!(s, 200, "{note}");
    let body = note.split_once("\n\n").expect("a signed note").0;
    let cp = Checkpoint::parse(&format!("{body}\n")).expect("checkpoint");
    let line = cosigner
        .cosign(&cp, 1_800_000_000)
        .expect("cosign")
        .to_line();
    let c = created(
        &app,
        &sc,
        &admin,
        "/v1/ledger/cosignatures",
        json!({"size": cp.size(), "cosignature": line}),
        "line",
    )
    .await;
    assert_eq!(c["witness"], "conv-witness", "{c}");
    let pol = created(
        &app,
        &admin,
        &app.role(Role::Auditor),
        "/v1/policies",
        json!({"version": "wt-2023"}),
        "version",
    )
    .await;
    assert!(pol["seq"].is_i64(), "the activation's seq: {pol}");

    // The new reads keep to the access table and answer 404 for what is not there.
    let pid = p["id"].as_str().unwrap();
    let proposal = format!("/v1/disputes/{id}/proposals/{pid}");
    assert_eq!(app.get(&app.agency(C), &proposal).await.0, 404);
    let (s, v) = app
        .get(&admin, &format!("/v1/disputes/{id}/proposals/nope"))
        .await;
    assert_eq!((s, v["status"].as_u64()), (404, Some(404)), "{v}");
    for (path, who) in [
        (format!("/v1/admin/mediations/{mid}/sessions/1"), &admin),
        ("/v1/admin/reviews/nope".to_string(), &admin),
        ("/v1/admin/recommendations/nope".to_string(), &admin),
        ("/v1/admin/webhooks/wh_nope".to_string(), &admin),
        ("/v1/ledger/witnesses/nobody".to_string(), &admin),
    ] {
        assert_eq!(app.get(who, &path).await.0, 404, "{path}");
    }
    assert!(app.verify().ok);
}

/// POST an action; it answers `want` with the `seq` of the entry it wrote:
/// the newest.
async fn acted(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let before = newest(app).await;
    let (s, v) = app.post(token, path, body).await;
    assert_eq!(s, 200, "{path}: {v}");
    let seq = v["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: no seq in {v}"));
    assert!(seq > before, "{path}: seq {seq} was not written now");
    assert_eq!(seq, newest(app).await, "{path}: {v}");
    v
}

async fn actions_answer_with_the_seq_they_wrote(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let sc = app.role(Role::Scrutineer);
    let slg = app.role(Role::Slg);

    let id = app.raise(&[A, B], false).await;
    let propose = format!("/v1/disputes/{id}/proposals");
    let (_, p) = app
        .post(&app.agency(A), &propose, json!({"resolution": "r"}))
        .await;
    let pid = p["id"].as_str().expect("pid");
    let v = acted(
        &app,
        &app.agency(B),
        &format!("/v1/disputes/{id}/proposals/{pid}/reject"),
        json!({"reason": "no"}),
    )
    .await;
    assert_eq!(v["proposals"][0]["status"], "rejected");
    let v = acted(
        &app,
        &app.agency(B),
        &format!("/v1/disputes/{id}/escalate"),
        json!({"reason": "stuck"}),
    )
    .await;
    assert_eq!(v["rung"], "slg");
    // Accepting by the last party writes two entries (accepted, resolved): the later one.
    let (_, p) = app.post(&slg, &propose, json!({"resolution": "r2"})).await;
    let accept = format!(
        "/v1/disputes/{id}/proposals/{}/accept",
        p["id"].as_str().unwrap()
    );
    acted(&app, &app.agency(A), &accept, json!({})).await;
    let v = acted(&app, &app.agency(B), &accept, json!({})).await;
    assert_eq!(v["status"], "resolved");
    let (_, last) = app
        .get(&admin, &format!("/v1/ledger/entries?from={}", v["seq"]))
        .await;
    assert_eq!(last["items"][0]["event"], "resolved", "{last}");
    // A GET says nothing of entries it did not write.
    let (_, read) = app.get(&admin, &format!("/v1/disputes/{id}")).await;
    assert!(read.get("seq").is_none(), "{read}");

    let w = app.raise(&[A, C], false).await;
    let withdrawn = acted(
        &app,
        &app.agency(A),
        &format!("/v1/disputes/{w}/withdraw"),
        json!({"reason": "duplicate"}),
    )
    .await;
    let moved = app.raise(&[A, C], false).await;
    let (s, v) = app
        .post(&admin, "/v1/policies", json!({"version": "wt-2023"}))
        .await;
    assert_eq!(s, 201, "{v}");
    acted(
        &app,
        &admin,
        &format!("/v1/disputes/{moved}/migrate"),
        json!({"policy": "wt-2023", "reason": "new arrangements"}),
    )
    .await;

    let (_, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": [A, C], "topic": "t"}),
        )
        .await;
    let mid = m["id"].as_str().expect("mediation");
    let (s, v) = app
        .post(
            &sc,
            &format!("/v1/admin/mediations/{mid}/sessions"),
            json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let v = acted(
        &app,
        &sc,
        &format!("/v1/admin/mediations/{mid}/close"),
        json!({"outcome": "agreed"}),
    )
    .await;
    assert_eq!(v["seq"], v["closed_seq"]);

    let review = |who: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let (s, r) = app
                .post(
                    &who,
                    "/v1/admin/reviews",
                    json!({"dispute_id": id, "concern": "c"}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r["id"].as_str().expect("review").to_string()
        }
    };
    let r1 = review(app.agency(A)).await;
    let r2 = review(app.agency(B)).await;
    let v = acted(
        &app,
        &sc,
        &format!("/v1/admin/reviews/{r1}/accept"),
        json!({"reason": "in scope"}),
    )
    .await;
    assert_eq!(v["seq"], v["decided_seq"]);
    let v = acted(
        &app,
        &sc,
        &format!("/v1/admin/reviews/{r1}/findings"),
        json!({"findings": "late"}),
    )
    .await;
    assert_eq!(v["seq"], v["findings_seq"]);
    acted(
        &app,
        &sc,
        &format!("/v1/admin/reviews/{r2}/decline"),
        json!({"reason": "elsewhere"}),
    )
    .await;

    let (_, rec) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "t", "theme": "x", "response_due": DUE}),
        )
        .await;
    let v = acted(
        &app,
        &slg,
        &format!(
            "/v1/admin/recommendations/{}/response",
            rec["id"].as_str().unwrap()
        ),
        json!({"accepted": false, "reasons": "no budget"}),
    )
    .await;
    assert_eq!(v["seq"], v["response"]["seq"]);

    let (_, hook) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"role": "slg"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let hook = hook["id"].as_str().expect("webhook");
    let before = newest(&app).await;
    let mut res = app
        .client
        .delete(format!("{}/v1/admin/webhooks/{hook}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 200);
    let v: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(v["seq"].as_i64(), Some(before + 1), "{v}");
    assert_eq!(v["seq"], v["deactivated_seq"]);

    // A redaction's two steps: each answers the entry it wrote, not its target.
    let target = format!("/v1/admin/ledger/entries/{}/redact", withdrawn["seq"]);
    let v = acted(&app, &admin, &target, json!({"reason": "erasure"})).await;
    assert_eq!(v["seq"], v["requested_seq"]);
    let v = acted(&app, &sc, &target, json!({})).await;
    assert_eq!(v["seq"], v["approved_seq"]);
    assert_ne!(v["seq"], v["target_seq"]);
    assert!(app.verify().ok);
}

/// Walk `path` page by page with `limit`, as `token`: every item, in order.
async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let first = format!("{path}{sep}limit={limit}");
    let mut url = first.clone();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let (s, v) = app.get(token, &url).await;
        assert_eq!(s, 200, "{url}: {v}");
        let page = v["items"].as_array().expect("items");
        assert!(page.len() <= limit, "{url}: {} items", page.len());
        pages += 1;
        match v["next"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), limit, "{url}: a short page before the last");
                items.extend(page.iter().cloned());
                url = format!("{first}&cursor={c}");
            }
            None => {
                items.extend(page.iter().cloned());
                break;
            }
        }
    }
    assert!(pages > 1, "{path}: one page only; the walk proves nothing");
    items
}

fn keys(items: &[Value], key: &str) -> Vec<String> {
    items.iter().map(|i| i[key].to_string()).collect()
}

/// Walk `path` with a small `limit` and hold it to the one big page: the
/// same items in the same order, none twice.
async fn pages_match_the_whole(app: &TestApp, token: &str, path: &str, key: &str, limit: usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (s, whole) = app.get(token, &format!("{path}{sep}limit=200")).await;
    assert_eq!(s, 200, "{path}: {whole}");
    assert!(whole["next"].is_null(), "{path}: more than 200");
    let whole = keys(whole["items"].as_array().expect("items"), key);
    assert!(whole.len() > limit, "{path}: only {} items", whole.len());
    let walked = keys(&walk(app, token, path, limit).await, key);
    let distinct: BTreeSet<&String> = walked.iter().collect();
    assert_eq!(
        distinct.len(),
        walked.len(),
        "{path}: an item twice: {walked:?}"
    );
    assert_eq!(walked, whole, "{path}: paging lost or reordered items");
}

async fn every_list_pages_without_duplicates_or_gaps(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let sc = app.role(Role::Scrutineer);
    // Registered first, so every raise below is a delivery of it.
    let mut hooks = Vec::new();
    for n in 0..3 {
        let (s, v) = app
            .post(
                &admin,
                "/v1/admin/webhooks",
                json!({"target": {"agency": A}, "url": format!("http://127.0.0.1:9/h{n}")}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        hooks.push(v["id"].as_str().unwrap().to_string());
    }
    let mut disputes = Vec::new();
    for n in 0..5 {
        let other = if n % 2 == 0 { B } else { C };
        disputes.push(app.raise(&[A, other], false).await);
    }
    let id = &disputes[0];
    for who in [app.agency(A), app.role(Role::Slg)] {
        let (s, v) = app
            .post(
                &who,
                &format!("/v1/disputes/{id}/escalate"),
                json!({"reason": "r"}),
            )
            .await;
        assert!(s == 200 || s == 403, "{v}");
    }
    for (n, dispute) in disputes.iter().enumerate().take(3) {
        let (s, v) = app
            .post(
                &sc,
                "/v1/admin/mediations",
                json!({"agencies": [A, C], "topic": "t"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = app
            .post(
                &app.agency(A),
                "/v1/admin/reviews",
                json!({"dispute_id": dispute, "concern": "c"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = app
            .post(
                &sc,
                "/v1/admin/recommendations",
                json!({"text": "t", "theme": "x", "response_due": DUE}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let name = format!("w{n}");
        let key = Cosigner::generate(&name).expect("key").verifier_key();
        let (s, v) = app
            .post(
                &admin,
                "/v1/admin/witnesses",
                json!({"name": name, "key": key}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }

    let auditor = app.role(Role::Auditor);
    pages_match_the_whole(&app, &admin, "/v1/disputes", "id", 2).await;
    pages_match_the_whole(&app, &admin, "/v1/disputes?status=open", "id", 2).await;
    pages_match_the_whole(
        &app,
        &admin,
        &format!("/v1/disputes/{id}/history"),
        "seq",
        1,
    )
    .await;
    pages_match_the_whole(&app, &auditor, "/v1/ledger/entries", "seq", 7).await;
    pages_match_the_whole(&app, &auditor, "/v1/ledger/entries?from=3", "seq", 4).await;
    pages_match_the_whole(&app, &admin, "/v1/admin/mediations", "id", 2).await;
    pages_match_the_whole(&app, &admin, "/v1/admin/reviews", "id", 2).await;
    pages_match_the_whole(&app, &admin, "/v1/admin/recommendations", "id", 2).await;
    pages_match_the_whole(
        &app,
        &admin,
        "/v1/admin/recommendations?status=open",
        "id",
        2,
    )
    .await;
    pages_match_the_whole(&app, &admin, "/v1/admin/webhooks", "id", 2).await;
    let deliveries = format!("/v1/admin/webhooks/{}/deliveries", hooks[0]);
    pages_match_the_whole(&app, &admin, &deliveries, "seq", 2).await;
    pages_match_the_whole(&app, &auditor, "/v1/ledger/witnesses", "name", 2).await;
    pages_match_the_whole(&app, &auditor, "/v1/policies", "version", 1).await;
    pages_match_the_whole(&app, &auditor, "/v1/agencies", "id", 7).await;

    // The access filter holds across pages: C's user sees C's disputes only.
    let c_user = app.agency(C);
    pages_match_the_whole(&app, &c_user, "/v1/disputes", "id", 1).await;
    let mine = walk(&app, &c_user, "/v1/disputes", 1).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine
        .iter()
        .all(|d| d["parties"].as_array().unwrap().contains(&json!(C))));
    // A chief officer sees none of these (none reached their rung): an empty page.
    let chief = app.partner(Role::ChiefOfficer, Partner::Icb);
    let (_, v) = app.get(&chief, "/v1/disputes?limit=1").await;
    assert_eq!(
        (v["items"].clone(), v["next"].clone()),
        (json!([]), Value::Null)
    );

    // Stable under writes: a dispute raised mid-walk shifts no page (OFFSET
    // would show the second page's first dispute twice).
    let (_, first) = app.get(&admin, "/v1/disputes?limit=2").await;
    let next = first["next"].as_str().expect("a second page").to_string();
    app.raise(&[A, B], false).await;
    let mut seen = keys(first["items"].as_array().unwrap(), "id");
    let mut url = format!("/v1/disputes?limit=2&cursor={next}");
    loop {
        let (_, v) = app.get(&admin, &url).await;
        seen.extend(keys(v["items"].as_array().unwrap(), "id"));
        match v["next"].as_str() {
            Some(c) => url = format!("/v1/disputes?limit=2&cursor={c}"),
            None => break,
        }
    }
    let before: Vec<String> = disputes
        .iter()
        .rev()
        .map(|d| json!(d).to_string())
        .collect();
    assert_eq!(
        seen, before,
        "newest first, each once, the newcomer not mid-list"
    );
}

/// Every list, as a caller who may read it.
fn lists(hook: &str, dispute: &str) -> Vec<(String, Role)> {
    vec![
        ("/v1/disputes".into(), Role::PartnershipAdmin),
        (
            format!("/v1/disputes/{dispute}/history"),
            Role::PartnershipAdmin,
        ),
        ("/v1/ledger/entries".into(), Role::Auditor),
        ("/v1/admin/mediations".into(), Role::Scrutineer),
        ("/v1/admin/reviews".into(), Role::Scrutineer),
        ("/v1/admin/recommendations".into(), Role::Slg),
        ("/v1/admin/webhooks".into(), Role::PartnershipAdmin),
        (
            format!("/v1/admin/webhooks/{hook}/deliveries"),
            Role::PartnershipAdmin,
        ),
        ("/v1/ledger/witnesses".into(), Role::Auditor),
        ("/v1/policies".into(), Role::Auditor),
        ("/v1/agencies".into(), Role::Auditor),
        ("/v1/admin/ledger/redactions".into(), Role::Auditor),
    ]
}

async fn bad_paging_is_400_on_every_list(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let (_, hook) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"role": "slg"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let hook = hook["id"].as_str().expect("webhook").to_string();
    let dispute = app.raise(&[A, B], false).await;
    // Real cursors, each used on a list it is not from.
    let cursor = |path: &'static str| {
        let app = &app;
        async move {
            let (_, page) = app.get(&app.role(Role::Auditor), path).await;
            page["next"].as_str().expect("a cursor").to_string()
        }
    };
    let agencies = cursor("/v1/agencies?limit=1").await;
    let entries = cursor("/v1/ledger/entries?limit=1").await;
    let size = app.size().await;
    for (path, role) in lists(&hook, &dispute) {
        let token = app.role(role);
        let (s, v) = app.get(&token, &format!("{path}?limit=1")).await;
        assert_eq!(s, 200, "{path}: {v}");
        assert!(
            v["items"].is_array() && v.get("next").is_some(),
            "{path}: {v}"
        );
        let foreign = if path == "/v1/agencies" {
            &entries
        } else {
            &agencies
        };
        for bad in [
            "limit=0".to_string(),
            "limit=201".into(),
            "limit=x".into(),
            "limit=-1".into(),
            "cursor=not-a-cursor".into(),
            "cursor=".into(),
            format!("cursor={foreign}"),
        ] {
            let url = format!("{path}?{bad}");
            let mut res = app
                .client
                .get(format!("{}{url}", app.base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("request");
            let status = res.status().as_u16();
            let kind = res
                .headers()
                .get("content-type")
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let v: Value =
                serde_json::from_slice(&res.body().await.unwrap()).unwrap_or(Value::Null);
            assert_eq!(status, 400, "{url}: {v}");
            assert_eq!(kind, "application/problem+json", "{url}");
            assert_eq!(v["status"], 400, "{url}: {v}");
        }
    }
    assert_eq!(app.size().await, size, "a refused list wrote nothing");
}

both_backends!(
    creates_answer_201_location_and_the_thing,
    actions_answer_with_the_seq_they_wrote,
    every_list_pages_without_duplicates_or_gaps,
    bad_paging_is_400_on_every_list
);
