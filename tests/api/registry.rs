//! The registry belongs to the partnership (issue 10 §7): `partnership_admin`
//! adds a particular school or provider, renames one, changes its kind and
//! retires one, each a ledger entry that `verify` replays. A retired agency
//! stays in the disputes that name it; new disputes cannot name it.

use escalation_ledger::core::ladder::{Actor, Partner, Role};
use escalation_ledger::core::ledger::NewEntry;
use escalation_ledger::store::db::write_tx;
use escalation_ledger::store::error::StoreError;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const SCHOOL: &str = "st-marys-primary";

/// POST an agency: status, `Location` header, body.
async fn create(app: &TestApp, token: &str, body: Value) -> (u16, Option<String>, Value) {
    app.post_created(token, "/v1/agencies", body).await
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> (u16, Value) {
    app.patch(token, &format!("/v1/agencies/{id}"), body).await
}

async fn entry(app: &TestApp, seq: i64) -> Value {
    let (s, v) = app
        .get(
            &app.role(Role::Auditor),
            &format!("/v1/ledger/entries?from={seq}&limit=1"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let items = v.get("items").unwrap_or(&v);
    items[0].clone()
}

async fn the_partnership_adds_renames_and_retires_an_agency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);

    // Add a particular school.
    let (s, location, v) = create(
        &app,
        &admin,
        json!({"id": SCHOOL, "name": "St Mary's C of E Primary School", "kind": "education"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(location.as_deref(), Some("/v1/agencies/st-marys-primary"));
    assert_eq!(v["id"], SCHOOL);
    assert_eq!(v["kind"], "education");
    assert_eq!(v["retired_at"], Value::Null);
    assert_eq!(v["statutory_partner"], Value::Null);
    let created_seq = v["seq"].as_i64().expect("seq");
    let (s, got) = app.get(&app.agency("cafcass"), &location.unwrap()).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["id"], SCHOOL);
    assert_eq!(got["name"], "St Mary's C of E Primary School");
    // The entry holds the id and kind; the name is in the (erasable) payload.
    let e = entry(&app, created_seq).await;
    assert_eq!(e["event"], "agency_registered", "{e}");
    assert_eq!(e["facts"], json!({"agency": SCHOOL, "kind": "education"}));
    let (_, list) = app.get(&admin, "/v1/agencies").await;
    let listed = list.get("items").unwrap_or(&list);
    assert!(listed
        .as_array()
        .expect("list")
        .iter()
        .any(|a| a["id"] == SCHOOL));

    // The seed's agencies have kinds; education and childcare are their own.
    let (_, early) = app.get(&admin, "/v1/agencies/early-years-providers").await;
    assert_eq!(early["kind"], "childcare");
    let (_, police) = app.get(&admin, "/v1/agencies/metropolitan-police").await;
    assert_eq!(
        (
            police["kind"].as_str(),
            police["statutory_partner"].as_str()
        ),
        (Some("police"), Some("police"))
    );

    // Refusals write nothing.
    let size = app.size().await;
    for (body, want) in [
        (
            json!({"id": SCHOOL, "name": "Again", "kind": "education"}),
            409,
        ),
        (
            json!({"id": "Bad Id", "name": "n", "kind": "education"}),
            400,
        ),
        (json!({"id": "x", "name": "n", "kind": "education"}), 400),
        (
            json!({"id": "nul\u{0}school", "name": "n", "kind": "education"}),
            400,
        ),
        (
            json!({"id": "-school-", "name": "n", "kind": "education"}),
            400,
        ),
        (
            json!({"id": "new-school", "name": "n", "kind": "school"}),
            400,
        ),
        (
            json!({"id": "new-school", "name": " ", "kind": "education"}),
            400,
        ),
        (
            json!({"id": "new-school", "name": "a\nb", "kind": "education"}),
            400,
        ),
        (
            json!({"id": "new-school", "name": "n", "kind": "education", "x": 1}),
            400,
        ),
        (json!({"id": "new-school", "kind": "education"}), 400),
    ] {
        let (s, _, v) = create(&app, &admin, body.clone()).await;
        assert_eq!(s, want, "{body}: {v}");
        assert_eq!(v["status"], want, "problem+json: {v}");
    }
    assert_eq!(app.get(&admin, "/v1/agencies/no-such-agency").await.0, 404);
    assert_eq!(app.get(&admin, "/v1/agencies/BAD%00").await.0, 400);
    assert_eq!(app.size().await, size, "nothing written");

    // Only partnership_admin changes the registry.
    for role in [
        Role::Agency,
        Role::Slg,
        Role::StatutoryPartner,
        Role::ChiefOfficer,
        Role::Scrutineer,
        Role::Auditor,
    ] {
        let token = match role {
            Role::Agency => app.agency("kingston-council"),
            Role::StatutoryPartner | Role::ChiefOfficer => app.partner(role, Partner::La),
            _ => app.role(role),
        };
        let (s, _, v) = create(
            &app,
            &token,
            json!({"id": "by-anyone", "name": "n", "kind": "other"}),
        )
        .await;
        assert_eq!(s, 403, "{role:?}: {v}");
        assert_eq!(
            patch(&app, &token, SCHOOL, json!({"name": "n"})).await.0,
            403,
            "{role:?}"
        );
        let (s, _) = app
            .post(&token, &format!("/v1/agencies/{SCHOOL}/retire"), json!({}))
            .await;
        assert_eq!(s, 403, "{role:?}");
    }
    assert_eq!(app.size().await, size, "nothing written");

    // Rename, then change its kind.
    let (s, v) = patch(&app, &admin, SCHOOL, json!({"name": "St Mary's Primary"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["kind"].as_str()),
        (Some("St Mary's Primary"), Some("education"))
    );
    let renamed_seq = v["seq"].as_i64().expect("seq");
    assert!(renamed_seq > created_seq);
    assert_eq!(entry(&app, renamed_seq).await["event"], "agency_updated");
    let (s, v) = patch(&app, &admin, SCHOOL, json!({"kind": "childcare"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["kind"].as_str()),
        (Some("St Mary's Primary"), Some("childcare"))
    );
    let size = app.size().await;
    assert_eq!(patch(&app, &admin, SCHOOL, json!({})).await.0, 400);
    // A member is absent or a value, never null (null is not of its type).
    for body in [
        json!({"name": null}),
        json!({"kind": "education", "name": null}),
    ] {
        assert_eq!(
            patch(&app, &admin, SCHOOL, body.clone()).await.0,
            400,
            "{body}"
        );
    }
    assert_eq!(
        patch(&app, &admin, SCHOOL, json!({"kind": "school"}))
            .await
            .0,
        400
    );
    assert_eq!(
        patch(&app, &admin, "no-such-agency", json!({"name": "n"}))
            .await
            .0,
        404
    );
    // A statutory partner keeps its kind and is never retired.
    assert_eq!(
        patch(
            &app,
            &admin,
            "kingston-council",
            json!({"kind": "education"})
        )
        .await
        .0,
        422
    );
    let (s, v) = app
        .post(&admin, "/v1/agencies/kingston-council/retire", json!({}))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(app.size().await, size, "nothing written");

    // A dispute naming the school, before it is retired.
    let old = app.raise(&["kingston-council", SCHOOL], false).await;

    let (s, v) = app
        .post(&admin, &format!("/v1/agencies/{SCHOOL}/retire"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["retired_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    let retired_seq = v["seq"].as_i64().expect("seq");
    assert_eq!(
        entry(&app, retired_seq).await["facts"],
        json!({"agency": SCHOOL})
    );
    let (_, got) = app.get(&admin, &format!("/v1/agencies/{SCHOOL}")).await;
    assert_eq!(got["retired_at"], v["retired_at"]);

    // Retired: not retired again, not changed, not named by anything new.
    let size = app.size().await;
    let (s, v) = app
        .post(&admin, &format!("/v1/agencies/{SCHOOL}/retire"), json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(
        patch(&app, &admin, SCHOOL, json!({"name": "n"})).await.0,
        409
    );
    let (s, _, _) = create(
        &app,
        &admin,
        json!({"id": SCHOOL, "name": "n", "kind": "education"}),
    )
    .await;
    assert_eq!(s, 409, "an id is never reused");
    let (s, v) = app
        .post(
            &app.agency("kingston-council"),
            "/v1/disputes",
            json!({"parties": ["kingston-council", SCHOOL], "summary": "new"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("retired") && d.contains(SCHOOL)),
        "{v}"
    );
    assert_eq!(app.size().await, size, "nothing written");

    // The old dispute keeps its party and goes on.
    let k = app.agency("kingston-council");
    let (s, d) = app.get(&k, &format!("/v1/disputes/{old}")).await;
    assert_eq!(s, 200, "{d}");
    assert!(
        d["parties"]
            .as_array()
            .expect("parties")
            .iter()
            .any(|p| p == SCHOOL),
        "{d}"
    );
    let (s, v) = app
        .post(
            &k,
            &format!("/v1/disputes/{old}/proposals"),
            json!({"resolution": "r"}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {v}");

    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // The table is held to the ledger: un-retiring by hand is caught.
    app.sql(
        "UPDATE agencies SET retired_at = NULL WHERE id = 'st-marys-primary'",
        "UPDATE agencies SET retired_at = NULL WHERE id = 'st-marys-primary'",
    )
    .expect("tamper");
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    assert!(
        r.problem
            .as_deref()
            .is_some_and(|p| p.contains("st-marys-primary") && p.contains("retired_at")),
        "{r:?}"
    );
}

fn admin() -> Actor {
    Actor {
        sub: "admin@krscp".into(),
        role: Role::PartnershipAdmin,
        agency: None,
        partner: None,
    }
}

/// Append an entry the service would never write, through the real append.
fn forge(
    app: &TestApp,
    dispute: Option<&str>,
    actor: Actor,
    event: &str,
    facts: Value,
    payload: Value,
) -> i64 {
    let mut conn = app.conn();
    write_tx(&mut conn, |c| -> Result<_, StoreError> {
        escalation_ledger::store::ledger::append(
            c,
            NewEntry {
                dispute_id: dispute.map(str::to_string),
                event: event.into(),
                actor,
                facts,
                payload,
            },
        )
    })
    .expect("forge an entry")
    .seq
}

fn refused_at(app: &TestApp, seq: i64, why: &str) {
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(seq)), "{r:?}");
    let problem = r.problem.clone().unwrap_or_default();
    assert!(problem.contains(why), "expected '{why}': {r:?}");
}

async fn a_forged_agency_entry_is_named(backend: Backend) {
    let kingston = Actor {
        sub: "user@kingston-council".into(),
        role: Role::Agency,
        agency: Some("kingston-council".into()),
        partner: None,
    };
    let named = json!({"name": "Forged School"});
    // Each forgery on a fresh ledger, so that it is the first bad entry. The
    // rules one by one (a reused id, a bad id or kind, an unknown agency) are
    // `core::registry`'s unit tests; the replay applies the same functions.
    for (actor, event, facts, payload, why) in [
        (
            kingston.clone(),
            "agency_registered",
            json!({"agency": "forged-school", "kind": "education"}),
            named.clone(),
            "someone other than partnership_admin",
        ),
        (
            admin(),
            "agency_retired",
            json!({"agency": "metropolitan-police"}),
            json!({}),
            "statutory partner",
        ),
    ] {
        let app = TestApp::spawn(backend).await;
        assert!(app.verify().ok);
        let seq = forge(&app, None, actor, event, facts, payload);
        refused_at(&app, seq, why);
    }

    // A retirement written straight into the table, with no entry.
    let app = TestApp::spawn(backend).await;
    app.sql(
        "UPDATE agencies SET retired_at = '2026-12-01 12:00:00' WHERE id = 'cafcass'",
        "UPDATE agencies SET retired_at = '2026-12-01 12:00:00' WHERE id = 'cafcass'",
    )
    .expect("tamper");
    let r = app.verify();
    assert!(
        !r.ok
            && r.problem
                .as_deref()
                .is_some_and(|p| p.contains("agencies table")),
        "{r:?}"
    );

    // A dispute raised naming an agency after it was retired.
    let app = TestApp::spawn(backend).await;
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/agencies/cafcass/retire",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(app.verify().ok);
    let seq = forge(
        &app,
        Some("00000000-0000-4000-8000-000000000001"),
        kingston,
        "raised",
        json!({"policy": "krscp-2024-02", "rung": "agencies", "parties": ["kingston-council", "cafcass"],
               "urgent": false, "complex": false}),
        json!({"summary": "s"}),
    );
    refused_at(&app, seq, "retired agencies cannot be named");
}

both_backends!(the_partnership_adds_renames_and_retires_an_agency);
both_backends!(a_forged_agency_entry_is_named);
