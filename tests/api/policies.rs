//! Versioned ladder policies: documents served with their hashes, activation as
//! a ledger entry, open disputes keeping their rules, explicit migration.

use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::core::policy;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const KRSCP: &str = "krscp-2024-02";
const WT: &str = "wt-2023";

async fn activate(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.post(token, "/v1/policies", body).await
}

async fn escalate(app: &TestApp, token: &str, id: &str) -> (u16, Value) {
    app.post(
        token,
        &format!("/v1/disputes/{id}/escalate"),
        json!({"reason": "stuck"}),
    )
    .await
}

/// Both shipped documents are served byte for byte with their SHA-256; the
/// first start activated KRSCP in the ledger.
async fn documents_are_served_with_their_hashes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tok = app.role(Role::Auditor);
    let (s, list) = app.get(&tok, "/v1/policies").await;
    assert_eq!(s, 200, "{list}");
    let list = list["items"].as_array().expect("a list").clone();
    let by = |v: &str| list.iter().find(|p| p["version"] == v).cloned().unwrap();
    assert_eq!(by(KRSCP)["active"], true);
    assert_eq!(by(KRSCP)["activations"][0]["seq"], 1);
    assert_eq!(by(WT)["active"], false);
    assert_eq!(by(WT)["activations"], json!([]));
    assert_eq!(by(WT)["rungs"][4], "lead_safeguarding_partners");

    for (v, text) in policy::SHIPPED {
        let (s, doc) = app.get(&tok, &format!("/v1/policies/{v}")).await;
        assert_eq!(s, 200, "{doc}");
        assert_eq!(doc["document"], text);
        assert_eq!(doc["sha256"], policy::sha256_hex(text));
    }
    // Computed outside the code: `sha256sum assets/policies/*.toml`.
    let vectors = [
        (
            KRSCP,
            "317e41a40ac12a7557be3499749fb2dfd8028b00856f5e6a165134c10c442453",
        ),
        (
            WT,
            "eee3785d278cf350a1adfdaad4397f1b9ddae2d2b44a8e1e5daee09554316133",
        ),
    ];
    assert_eq!(policy::SHIPPED.len(), vectors.len());
    for (v, want) in vectors {
        assert_eq!(by(v)["sha256"], want, "{v} in the list");
        let (_, doc) = app.get(&tok, &format!("/v1/policies/{v}")).await;
        assert_eq!(doc["sha256"], want, "{v}");
    }
    let (_, entries) = app.get(&tok, "/v1/ledger/entries?from=1&limit=1").await;
    let entries = &entries["items"];
    assert_eq!(entries[0]["event"], "policy_activated");
    assert_eq!(entries[0]["facts"]["sha256"], vectors[0].1);
    assert_eq!(
        entries[0]["facts"],
        json!({"version": KRSCP, "sha256": by(KRSCP)["sha256"]})
    );
    let (s, v) = app.get(&tok, "/v1/policies/krscp-1999").await;
    assert_eq!(s, 404, "{v}");
    let (s, _) = app.get("not-a-token", "/v1/policies").await;
    assert_eq!(s, 401);
}

/// Refused activations write nothing: the wrong role, an invalid document
/// (the error names its line), both or neither source, an unknown shipped
/// version, the active one again, a changed text under a stored version.
async fn refused_activations_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let before = app.size().await;
    let chief = app.partner(Role::ChiefOfficer, Partner::La);
    for tok in [
        app.role(Role::Scrutineer),
        app.role(Role::Slg),
        app.role(Role::Auditor),
        chief,
    ] {
        let (s, v) = activate(&app, &tok, json!({"version": WT})).await;
        assert_eq!(s, 403, "{v}");
    }
    let (s, v) = activate(&app, &app.agency("cafcass"), json!({"version": WT})).await;
    assert_eq!(s, 403, "{v}");

    let bad = policy::shipped_text(WT)
        .unwrap()
        .replace("version = \"wt-2023\"", "version = \"wt-2023-b\"")
        .replace(
            "complex_rung = \"partnership_executive\"",
            "complex_rung = \"the_board\"",
        );
    let line = bad.lines().position(|l| l.contains("the_board")).unwrap() + 1;
    let (s, v) = activate(&app, &admin, json!({ "document": bad })).await;
    assert_eq!(s, 422, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("line {line}")), "{detail}");
    assert!(detail.contains("'the_board' is not a rung"), "{detail}");
    let (s, v) = activate(&app, &admin, json!({"document": "version = "})).await;
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("line 1"), "{v}");

    for body in [
        json!({}),
        json!({"version": WT, "document": "x"}),
        json!({"version": WT, "document": null}),
        json!({"version": null}),
    ] {
        let (s, v) = activate(&app, &admin, body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
    }
    let (s, v) = activate(&app, &admin, json!({"version": "krscp-1999"})).await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = activate(&app, &admin, json!({"version": KRSCP})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = activate(&app, &admin, json!({"versions": WT})).await;
    assert_eq!(s, 400, "{v}");
    let changed = format!("{}\n# edited\n", policy::shipped_text(KRSCP).unwrap());
    let (s, v) = activate(&app, &admin, json!({ "document": changed })).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("new version"), "{v}");

    assert_eq!(app.size().await, before, "refusals wrote to the ledger");
    assert!(app.verify().ok);
}

/// The issue's done-means: switching to Working Together 2023 leaves open
/// disputes on their old rules; new ones follow the new ladder.
async fn a_new_policy_leaves_open_disputes_on_their_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let old = app.raise(&["kingston-council", "cafcass"], false).await;

    let (s, doc) = activate(&app, &admin, json!({"version": WT})).await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["active"], true);
    assert_eq!(
        doc["sha256"],
        policy::sha256_hex(policy::shipped_text(WT).unwrap())
    );
    let seq = doc["activations"][0]["seq"].as_i64().unwrap();
    let (_, e) = app
        .get(&admin, &format!("/v1/ledger/entries?from={seq}&limit=1"))
        .await;
    let e = &e["items"];
    assert_eq!(e[0]["event"], "policy_activated");
    assert_eq!(e[0]["actor"]["role"], "partnership_admin");
    assert_eq!(e[0]["facts"]["sha256"], doc["sha256"]);

    // The old dispute climbs the KRSCP ladder still.
    let k = app.agency("kingston-council");
    let (s, d) = escalate(&app, &k, &old).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["policy"].as_str(), d["rung"].as_str()),
        (Some(KRSCP), Some("slg"))
    );
    let (s, d) = escalate(&app, &app.role(Role::Slg), &old).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["rung"], "statutory_partners");

    // A new complex dispute enters the WT 2023 ladder where it says.
    let new = app.raise(&["kingston-council", "cafcass"], true).await;
    let (_, d) = app.get(&k, &format!("/v1/disputes/{new}")).await;
    assert_eq!(
        (d["policy"].as_str(), d["rung"].as_str()),
        (Some(WT), Some("partnership_executive"))
    );
    assert!(d["due_at"].is_string(), "{d}");
    let (s, d) = escalate(&app, &app.role(Role::Slg), &new).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["rung"], "delegated_safeguarding_partners");
    // Filters know both ladders' rungs; a rung of neither is refused.
    let tok = app.role(Role::Scrutineer);
    let (s, v) = app
        .get(&tok, "/v1/disputes?rung=delegated_safeguarding_partners")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (s, _) = app.get(&tok, "/v1/disputes?rung=the_board").await;
    assert_eq!(s, 400);

    let (_, list) = app.get(&tok, "/v1/policies").await;
    let active: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["active"] == true)
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(active, [WT]);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// Only partnership_admin moves an open dispute onto the active policy; the
/// move is a ledger entry, open proposals lapse, and verify replays it.
async fn partnership_admin_migrates_explicitly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let k = app.agency("kingston-council");
    escalate(&app, &k, &id).await;
    let (s, _) = app
        .post(
            &app.role(Role::Slg),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "meet again"}),
        )
        .await;
    assert_eq!(s, 201);
    let path = format!("/v1/disputes/{id}/migrate");
    let body =
        |rung: Option<&str>| json!({"policy": WT, "rung": rung, "reason": "new arrangements"});

    // Not yet active: refused.
    let before = app.size().await;
    let (s, v) = app
        .post(&admin, &path, body(Some("partnership_executive")))
        .await;
    assert_eq!(s, 409, "{v}");
    activate(&app, &admin, json!({"version": WT})).await;
    let before_refusals = app.size().await;
    assert_eq!(before_refusals, before + 1);
    for tok in [k.clone(), app.role(Role::Slg), app.role(Role::Scrutineer)] {
        let (s, v) = app
            .post(&tok, &path, body(Some("partnership_executive")))
            .await;
        assert_eq!(s, 403, "{v}");
    }
    let (s, v) = app
        .post(&app.agency("sw-london-icb"), &path, body(None))
        .await;
    assert_eq!(s, 404, "a non-party agency does not see it: {v}");
    // KRSCP's `slg` is not a WT 2023 rung: the rung must be named.
    let (s, v) = app.post(&admin, &path, body(None)).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("partnership_executive"),
        "{v}"
    );
    let (s, v) = app.post(&admin, &path, body(Some("the_board"))).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .post(
            &admin,
            &path,
            json!({"policy": WT, "rung": "partnership_executive", "reason": " "}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .post(
            &admin,
            &path,
            json!({"policy": KRSCP, "rung": "slg", "reason": "r"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(app.size().await, before_refusals, "refusals wrote nothing");

    let (s, d) = app
        .post(&admin, &path, body(Some("partnership_executive")))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["policy"], WT);
    assert_eq!(d["rung"], "partnership_executive");
    assert!(d["open_proposal"].is_null(), "{d}");
    assert_eq!(d["proposals"][0]["status"], "lapsed");
    let (_, hist) = app.get(&admin, &format!("/v1/disputes/{id}/history")).await;
    let last = hist["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "policy_migrated");
    assert_eq!(
        last["facts"],
        json!({"from": KRSCP, "to": WT, "rung": "partnership_executive"})
    );
    assert_eq!(last["payload"]["reason"], "new arrangements");
    let (s, v) = app
        .post(&admin, &path, body(Some("partnership_executive")))
        .await;
    assert_eq!(s, 409, "migrated twice: {v}");

    // It now follows WT 2023: DSPs, not KRSCP's statutory_partners, come next.
    let (s, d) = escalate(&app, &app.role(Role::Slg), &id).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["rung"], "delegated_safeguarding_partners");
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// A partnership's own document: activated from its text, its rules apply,
/// including who among chief officers sees what.
async fn an_uploaded_document_sets_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    // A unique version: parsed policies are cached per process by version.
    let version = format!("local-{}", uuid::Uuid::new_v4().simple());
    let text = policy::shipped_text(KRSCP)
        .unwrap()
        .replace(
            &format!("version = \"{KRSCP}\""),
            &format!("version = \"{version}\""),
        )
        .replace(
            "chief_officers_from = \"chief_executives\"",
            "chief_officers_from = \"slg\"",
        );
    let (s, doc) = activate(&app, &admin, json!({ "document": text })).await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["document"], text.as_str());
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let chief = app.partner(Role::ChiefOfficer, Partner::Police);
    let (s, _) = app.get(&chief, &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 404, "below slg: hidden from chief officers");
    let (s, v) = app.get(&chief, "/v1/disputes").await;
    assert_eq!((s, v["items"].as_array().map(Vec::len)), (200, Some(0)));
    escalate(&app, &app.agency("kingston-council"), &id).await;
    let (s, d) = app.get(&chief, &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["policy"], version.as_str());
    let (s, v) = app.get(&chief, "/v1/disputes").await;
    assert_eq!((s, v["items"].as_array().map(Vec::len)), (200, Some(1)));

    // Tampering with the stored document is caught.
    let sql =
        format!("UPDATE policies SET document = document || '# x' WHERE version = '{version}'");
    app.sql(&sql, &sql).unwrap();
    let r = app.verify();
    assert!(!r.ok);
    assert!(r.problem.unwrap().contains("does not hash"));
}

/// The WT 2023 agencies' rung escalates on its own when its target passes:
/// the sweeper records the miss and the escalation by the policy's rule, and
/// a KRSCP dispute missing the same deadline stays where it is.
async fn a_policy_rule_escalates_on_its_own(backend: Backend) {
    use escalation_ledger::{service::deadline, service::policy_store};
    let app = TestApp::spawn(backend).await;
    // Friday before the summer bank holiday: due Monday 7 September, 17:00.
    let krscp = app
        .raise_at(
            &["kingston-council", "cafcass"],
            false,
            false,
            "2026-08-28 10:00:00",
        )
        .await;
    let (s, _) = activate(
        &app,
        &app.role(Role::PartnershipAdmin),
        json!({"version": WT}),
    )
    .await;
    assert_eq!(s, 201);
    let wt = app
        .raise_at(
            &["richmond-council", "cafcass"],
            false,
            false,
            "2026-08-28 10:00:00",
        )
        .await;
    let pool = app.pool.clone();
    let swept = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        let policies = policy_store::all(&mut conn).expect("policies");
        let now = chrono::DateTime::parse_from_rfc3339("2026-09-07T17:00:01Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        deadline::sweep(&mut conn, &policies, 0, now).expect("sweep")
    })
    .await
    .expect("join");
    assert_eq!((swept.missed, swept.escalated), (2, 1), "{swept:?}");
    let admin = app.role(Role::PartnershipAdmin);
    let (_, d) = app.get(&admin, &format!("/v1/disputes/{wt}")).await;
    assert_eq!(
        (d["policy"].as_str(), d["rung"].as_str()),
        (Some(WT), Some("partnership_executive"))
    );
    let (_, hist) = app.get(&admin, &format!("/v1/disputes/{wt}/history")).await;
    let last = hist["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "escalated");
    assert_eq!(
        last["facts"],
        json!({"from": "agencies", "to": "partnership_executive", "rule": "auto_escalate_on_deadline"})
    );
    let (_, d) = app.get(&admin, &format!("/v1/disputes/{krscp}")).await;
    assert_eq!(
        (d["rung"].as_str(), d["overdue"].as_bool()),
        (Some("agencies"), Some(true))
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// `policy check` names the line of a bad document; `policy show` prints a
/// shipped one.
#[test]
fn the_cli_checks_documents() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, shown) = run(&["policy", "show", WT]);
    assert_eq!(code, 0);
    assert_eq!(shown, policy::shipped_text(WT).unwrap());
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &shown).unwrap();
    let (code, out) = run(&["policy", "check", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&policy::sha256_hex(&shown)), "{out}");
    assert!(out.contains("agencies -> partnership_executive"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        shown.replace("propose = [\"slg\"]", "propose = [\"mayor\"]"),
    )
    .unwrap();
    let (code, out) = run(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let line = shown
        .lines()
        .position(|l| l == "propose = [\"slg\"]")
        .unwrap()
        + 1;
    assert!(out.contains(&format!("line {line}, column")), "{out}");
    assert!(out.contains("'mayor'"), "{out}");
    let (code, _) = run(&["policy", "check", "/nonexistent.toml"]);
    assert_eq!(code, 2);
}

/// WT-2023 due times worked out by hand, not with the code's calendar, from
/// the README's rules: working days are Monday to Friday except the bank
/// holidays of England and Wales, working hours 09:00 to 17:00; a target of N
/// working days ends at 17:00 on the Nth working day after entry; all of it in
/// London time (`Europe/London`), so 17:00 in summer time is 16:00 UTC.
async fn wt_2023_due_times_are_the_hand_computed_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, doc) = activate(
        &app,
        &app.role(Role::PartnershipAdmin),
        json!({"version": WT}),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    let k = app.agency("kingston-council");
    for (at, urgent, want, why) in [
        (
            "2026-06-01 10:00:00",
            false,
            "2026-06-08T16:00:00Z",
            "Mon in BST: Jun 2, 3, 4, 5, 8, at 17:00 BST = 16:00 UTC",
        ),
        (
            "2026-10-22 10:00:00",
            false,
            "2026-10-29T17:00:00Z",
            "Thu over the clock change of Oct 25: Oct 23, 26, 27, 28, 29, at 17:00 GMT",
        ),
        (
            "2026-12-24 10:30:00",
            false,
            "2027-01-05T17:00:00Z",
            "Christmas Eve: Dec 25 and 28 (Boxing Day's substitute) and Jan 1 are holidays: Dec 29, 30, 31, Jan 4, 5",
        ),
        (
            "2026-12-24 15:00:00",
            true,
            "2026-12-29T15:00:00Z",
            "urgent, 8 working hours: 2 on Dec 24 (15:00-17:00), then 6 on Dec 29",
        ),
        (
            "2026-07-01 16:30:00",
            true,
            "2026-07-02T16:00:00Z",
            "urgent, raised at 16:30 UTC = 17:30 BST, after the close: 8 hours on Jul 2, to 17:00 BST",
        ),
    ] {
        let id = app
            .raise_at(&["kingston-council", "cafcass"], urgent, false, at)
            .await;
        let (s, d) = app.get(&k, &format!("/v1/disputes/{id}")).await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(
            (d["policy"].as_str(), d["rung"].as_str()),
            (Some(WT), Some("agencies")),
            "{d}"
        );
        assert_eq!(d["due_at"], want, "{why}: {d}");
    }
    assert!(app.verify().ok);
}

both_backends!(
    documents_are_served_with_their_hashes,
    refused_activations_write_nothing,
    a_new_policy_leaves_open_disputes_on_their_rules,
    wt_2023_due_times_are_the_hand_computed_ones,
    partnership_admin_migrates_explicitly,
    an_uploaded_document_sets_the_rules,
    a_policy_rule_escalates_on_its_own,
);
