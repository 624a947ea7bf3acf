//! The access matrix, generated from `authz::ROUTES`: every route × every role
//! × party / non-party (and, for chief officers, a dispute below / at their
//! rung), each cell one real request whose status must be what the table says:
//!
//! - allowed: 2xx, or a refusal of the body or the state (400, 409, 422) listed
//!   in `STATE_REFUSALS` with its reason, or on a ladder action the rung's own
//!   refusal (403 `forbidden`, from `ladder::decide`); never 401, 404 or the
//!   table's 403 (`access-denied`).
//!   Every route has at least one cell that succeeds;
//! - refused, dispute not visible: 404, byte for byte the answer for a dispute
//!   that does not exist;
//! - refused, otherwise: 403 `access-denied`.
//!
//! It also checks that the table covers every route the service mounts (the
//! OpenAPI document's paths plus `/openapi.json`), and that every route asks for
//! a token unless the table says it is public. One app per backend.

use std::collections::{BTreeMap, BTreeSet};

use escalation_ledger::app::Settings;
use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::core::note::{self, Verifier};
use escalation_ledger::http::authz::{Method, Route, Rule, Scope, DISPUTE_READERS, ROUTES};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "cafcass";

/// The app's clock starts here (Wednesday 10 June 2026, 11:00 in London), so
/// no date below depends on the day the test runs.
const NOW: &str = "2026-06-10T10:00:00Z";
/// Today in London at `NOW`: the day mediation sessions are held.
const TODAY: &str = "2026-06-10";
/// A response date after `NOW`: recommendations are not due in the past.
const DUE: &str = "2026-07-31";

/// Routes the service mounts that the OpenAPI document does not list.
const NOT_IN_OPENAPI: &[(Method, &str)] = &[(Method::Get, "/openapi.json")];

/// One kind of caller in the matrix.
struct Who {
    name: &'static str,
    role: Role,
    agency: Option<&'static str>,
    partner: Option<Partner>,
    /// Acts on the dispute at the chief officers' rung (else the one below it).
    high: bool,
}

const fn who(name: &'static str, role: Role) -> Who {
    Who {
        name,
        role,
        agency: None,
        partner: None,
        high: false,
    }
}

/// Every role; the agency as a party (A) and not (C); the chief officer on a
/// dispute below their rung and on one at it. The partnership_admin comes
/// before the scrutineer, so a redaction is requested before it is approved.
const CALLERS: [Who; 9] = [
    Who {
        agency: Some(A),
        ..who("party agency", Role::Agency)
    },
    Who {
        agency: Some(C),
        ..who("non-party agency", Role::Agency)
    },
    who("slg", Role::Slg),
    Who {
        partner: Some(Partner::Police),
        ..who("statutory_partner", Role::StatutoryPartner)
    },
    Who {
        partner: Some(Partner::La),
        ..who(
            "chief_officer, dispute below their rung",
            Role::ChiefOfficer,
        )
    },
    Who {
        partner: Some(Partner::La),
        high: true,
        ..who("chief_officer, dispute at their rung", Role::ChiefOfficer)
    },
    who("partnership_admin", Role::PartnershipAdmin),
    who("scrutineer", Role::Scrutineer),
    who("auditor", Role::Auditor),
];

/// The allowed cells that answer a refusal of the state (409) rather than
/// success, each for a reason the matrix's order makes: the cells of a route
/// share one pair of disputes, so the first caller's act changes what the
/// later callers find. Any other 400, 409 or 422 from an allowed cell fails
/// the matrix (it could be a wrong row the body or the state happens to hide).
/// Route id, caller, status, `detail`.
const STATE_REFUSALS: &[(&str, &str, u16, &str)] = &[
    // The party agency rejected the open proposal first; it stays rejected.
    ("dispute.reject", "slg", 409, "the proposal is rejected"),
    (
        "dispute.reject",
        "statutory_partner",
        409,
        "the proposal is rejected",
    ),
    (
        "dispute.reject",
        "partnership_admin",
        409,
        "the proposal is rejected",
    ),
    (
        "dispute.reject",
        "scrutineer",
        409,
        "the proposal is rejected",
    ),
    // The party agency withdrew the dispute first.
    (
        "dispute.withdraw",
        "partnership_admin",
        409,
        "the dispute is withdrawn",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Hidden,
    Denied,
}

/// The table's verdict for one cell, read straight from the row. The matrix
/// disputes are between A and B; `high` is the one at the chief officers' rung.
fn expect(route: &Route, w: &Who) -> Expect {
    let holds = |rule: Rule| match rule {
        Rule::Deny => false,
        Rule::Allow => true,
        Rule::Party => w.role == Role::Agency && matches!(w.agency, Some(A) | Some(B)),
        Rule::ChiefOfficerRung => w.high,
    };
    let rule = route.roles.rule(w.role);
    match route.scope {
        Scope::Public => Expect::Allowed,
        Scope::Role if rule == Rule::Allow => Expect::Allowed,
        Scope::Role => Expect::Denied,
        Scope::Dispute if !holds(DISPUTE_READERS.rule(w.role)) => Expect::Hidden,
        Scope::Dispute if holds(rule) => Expect::Allowed,
        Scope::Dispute => Expect::Denied,
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let m = match method {
        Method::Get => awc::http::Method::GET,
        Method::Post => awc::http::Method::POST,
        Method::Patch => awc::http::Method::PATCH,
        Method::Delete => awc::http::Method::DELETE,
    };
    let mut req = app.client.request(m, format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut res = match body {
        Some(b) => req.send_json(b).await,
        None => req.send().await,
    }
    .expect("request");
    let bytes = res.body().limit(64 << 20).await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn ok(s: u16, v: &Value) -> &Value {
    assert!((200..300).contains(&s), "fixture step failed: {s} {v}");
    v
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// The things the routes' path parameters name.
struct Fixture {
    mediation: String,
    /// A session of `mediation`: its `seq`.
    session: i64,
    review: String,
    /// A second review, to decline (the first is accepted).
    review_to_decline: String,
    recommendation: String,
    webhook: String,
    /// An agency the partnership added, to read, rename and retire.
    agency: String,
    pseudonym: String,
    /// An entry whose payload may be redacted.
    seq: i64,
    /// A cosignature line from a registered witness over a signed checkpoint.
    cosignature: Value,
    unknown_dispute: Value,
}

/// Disputes between A and B, fresh for each dispute route: one on the
/// `agencies` rung, one at the chief officers' rung, each with an open
/// proposal (except for the propose route, so that a first proposal succeeds).
struct Disputes {
    low: String,
    low_pid: String,
    high: String,
    high_pid: String,
}

async fn disputes(app: &TestApp, with_proposals: bool) -> Disputes {
    let propose = |id: &str| format!("/v1/disputes/{id}/proposals");
    let low = app.raise(&[A, B], false).await;
    let high = app.raise(&[A, B], true).await;
    let why = json!({"reason": "no agreement"});
    for token in [
        app.role(Role::Slg),
        app.partner(Role::StatutoryPartner, Partner::La),
        app.partner(Role::StatutoryPartner, Partner::La),
    ] {
        let (s, v) = app
            .post(
                &token,
                &format!("/v1/disputes/{high}/escalate"),
                why.clone(),
            )
            .await;
        ok(s, &v);
    }
    let (mut low_pid, mut high_pid) = (String::new(), String::new());
    if with_proposals {
        let body = json!({"resolution": "joint visit"});
        let (s, v) = app.post(&app.agency(B), &propose(&low), body.clone()).await;
        low_pid = ok(s, &v)["id"].as_str().expect("pid").to_string();
        let chief = app.partner(Role::ChiefOfficer, Partner::Icb);
        let (s, v) = app.post(&chief, &propose(&high), body).await;
        assert_eq!(ok(s, &v)["rung"], "chief_executives");
        high_pid = v["id"].as_str().expect("pid").to_string();
    }
    Disputes {
        low,
        low_pid,
        high,
        high_pid,
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.token("fixture-admin", Role::PartnershipAdmin, None, None);
    let sc = app.token("fixture-scrutineer", Role::Scrutineer, None, None);
    let d = app.raise(&[A, B], false).await;
    let (s, v) = app
        .get(&app.role(Role::Slg), &format!("/v1/disputes/{d}/history"))
        .await;
    let seq = ok(s, &v)["items"][0]["seq"].as_i64().expect("seq");
    let (s, v) = app
        .post(
            &app.agency(A),
            "/v1/disputes",
            json!({"parties": [A, B], "summary": "concern", "whistleblowing": true}),
        )
        .await;
    let pseudonym = ok(s, &v)["raised_by"]["sub"]
        .as_str()
        .expect("pseudonym")
        .to_string();
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": [A, B], "topic": "t"}),
        )
        .await;
    let mediation = id_of(ok(s, &v));
    let (s, v) = app
        .post(
            &sc,
            &format!("/v1/admin/mediations/{mediation}/sessions"),
            json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"}),
        )
        .await;
    let session = ok(s, &v)["seq"].as_i64().expect("session seq");
    let (s, v) = app
        .post(
            &app.agency(A),
            "/v1/admin/reviews",
            json!({"dispute_id": d, "concern": "c"}),
        )
        .await;
    let review = id_of(ok(s, &v));
    let (s, v) = app
        .post(
            &app.agency(B),
            "/v1/admin/reviews",
            json!({"dispute_id": d, "concern": "c"}),
        )
        .await;
    let review_to_decline = id_of(ok(s, &v));
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "t", "theme": "x", "response_due": DUE}),
        )
        .await;
    let recommendation = id_of(ok(s, &v));
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"role": "slg"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let webhook = id_of(ok(s, &v));
    let (s, v) = app
        .post(
            &admin,
            "/v1/agencies",
            json!({"id": "matrix-school", "name": "Matrix School", "kind": "education"}),
        )
        .await;
    let agency = id_of(ok(s, &v));

    // A witness, and its cosignature of a signed checkpoint.
    let witness = Cosigner::generate("matrix-witness").expect("key");
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/witnesses",
            json!({"name": "matrix-witness", "key": witness.verifier_key()}),
        )
        .await;
    ok(s, &v);
    let signed = app.checkpoint_note().await;
    let (_, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    let log = Verifier::from_key_string(keys["log"].as_str().expect("log key")).expect("key");
    let text = note::open_note(&signed, &[log]).expect("opens").text;
    let checkpoint = Checkpoint::parse(&text).expect("checkpoint");
    let line = witness.cosign(&checkpoint, 1).expect("cosign").to_line();
    let cosignature = json!({"size": checkpoint.size(), "cosignature": line});
    // Stored once here, so that reading it back is allowed to succeed.
    let (s, v) = app
        .post(&admin, "/v1/ledger/cosignatures", cosignature.clone())
        .await;
    assert_eq!(s, 201, "{v}");

    let (s, unknown_dispute) = app
        .get(
            &app.role(Role::Slg),
            "/v1/disputes/00000000-0000-4000-8000-000000000000",
        )
        .await;
    assert_eq!(s, 404);
    Fixture {
        mediation,
        session,
        review,
        review_to_decline,
        recommendation,
        webhook,
        agency,
        pseudonym,
        seq,
        cosignature,
        unknown_dispute,
    }
}

/// The request one cell sends: its path and body. `n` makes names unique.
fn request(
    route: &Route,
    w: &Who,
    f: &Fixture,
    d: Option<&Disputes>,
    n: usize,
) -> (String, Option<Value>) {
    let (dispute, pid) = match d {
        Some(d) if w.high => (d.high.as_str(), d.high_pid.as_str()),
        Some(d) => (d.low.as_str(), d.low_pid.as_str()),
        None => ("", ""),
    };
    let family = route.id.split('.').next().unwrap_or_default();
    let id = match family {
        _ if route.id == "review.decline" => &f.review_to_decline,
        "dispute" => dispute,
        "mediation" => &f.mediation,
        "review" => &f.review,
        "recommendation" => &f.recommendation,
        "webhook" => &f.webhook,
        "agency" => &f.agency,
        _ => "",
    };
    let path = route
        .path
        .replace("{id}", id)
        .replace("{pid}", pid)
        .replace("{seq}", &f.seq.to_string())
        .replace("{session}", &f.session.to_string())
        .replace("/problems/{name}", "/problems/not-found")
        .replace("{name}", "matrix-witness")
        .replace("{size}", &f.cosignature["size"].to_string())
        .replace("{witness}", "matrix-witness")
        .replace("{pseudonym}", &f.pseudonym)
        // The tlog-tiles routes: the first leaf's level-0 tile and entry bundle.
        .replace("{level}", "0")
        .replace("{index}", "000.p/1")
        .replace(
            "{version}",
            escalation_ledger::core::policy::DEFAULT_VERSION,
        );
    let reason = json!({"reason": "matrix"});
    let (query, body) = match route.id {
        "ledger.inclusion" => ("?seq=0", None),
        "ledger.consistency" => ("?from=1", None),
        "report.escalations" => ("?from=2026-01-01&to=2026-12-31", None),
        "dispute.raise" => (
            "",
            Some(json!({"parties": [w.agency.unwrap_or(A), B], "summary": "matrix"})),
        ),
        "dispute.propose" => ("", Some(json!({"resolution": "matrix"}))),
        "agency.create" => (
            "",
            Some(json!({"id": format!("matrix-{n}"), "name": "Matrix", "kind": "childcare"})),
        ),
        "agency.update" => ("", Some(json!({"name": format!("Matrix School {n}")}))),
        "dispute.accept" => ("", Some(json!({}))),
        "dispute.reject" | "dispute.escalate" | "dispute.withdraw" | "redaction.redact" => {
            ("", Some(reason))
        }
        "witness.cosign" => ("", Some(f.cosignature.clone())),
        "witness.register" => {
            let name = format!("matrix-{n}");
            let key = Cosigner::generate(&name).expect("key").verifier_key();
            ("", Some(json!({"name": name, "key": key})))
        }
        "webhook.register" => (
            "",
            Some(json!({"target": {"agency": A}, "url": "https://hooks.example/x"})),
        ),
        "email.recipients_set" => (
            "",
            Some(json!({"target": {"agency": A}, "addresses": ["matrix@example.org"]})),
        ),
        "mediation.open" => ("", Some(json!({"agencies": [A, C], "topic": "matrix"}))),
        "mediation.session" => (
            "",
            Some(json!({"date": TODAY, "attendees": [{"role": "scrutineer"}], "notes": "n"})),
        ),
        "mediation.close" => ("", Some(json!({"outcome": "matrix"}))),
        "review.request" => (
            "",
            Some(
                json!({"dispute_id": dispute, "concern": "matrix", "on_behalf_of_child_or_family": true}),
            ),
        ),
        "review.accept" | "review.decline" => ("", Some(reason)),
        "review.findings" => ("", Some(json!({"findings": "matrix"}))),
        "recommendation.issue" => (
            "",
            Some(json!({"text": "matrix", "theme": "matrix", "response_due": DUE})),
        ),
        "recommendation.respond" => ("", Some(json!({"accepted": false, "reasons": "matrix"}))),
        // A copy of the default ladder under a new version: the fixture's rungs hold.
        "policy.activate" => ("", Some(json!({ "document": policy_copy() }))),
        _ if route.method == Method::Post => ("", Some(json!({}))),
        _ => ("", None),
    };
    (format!("{path}{query}"), body)
}

/// The default ladder under a fresh version (parsed policies are cached per
/// process by version, so each copy gets its own).
fn policy_copy() -> String {
    use escalation_ledger::core::policy::{shipped_text, DEFAULT_VERSION};
    let text = shipped_text(DEFAULT_VERSION).expect("shipped");
    text.replacen(
        &format!("version = \"{DEFAULT_VERSION}\""),
        &format!("version = \"matrix-{}\"", uuid::Uuid::new_v4().simple()),
        1,
    )
}

/// Every route the table lists is the set the service mounts.
#[test]
fn the_table_covers_every_route() {
    let doc: Value =
        serde_json::from_str(&escalation_ledger::http::routes::ApiDoc::openapi_pretty()).unwrap();
    let mut mounted: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in item.as_object().expect("path item").keys() {
            let method = Method::parse(m).unwrap_or_else(|| panic!("unrouted method {m}"));
            mounted.insert((method.as_str().into(), path.clone()));
        }
    }
    for (m, p) in NOT_IN_OPENAPI {
        mounted.insert((m.as_str().into(), p.to_string()));
    }
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().into(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = mounted.difference(&table).collect();
    let extra: Vec<_> = table.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in authz::ROUTES: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "rows for routes the service does not mount: {extra:?}"
    );
}

async fn matrix(backend: Backend) {
    let app = TestApp::spawn_at_with_settings(
        backend,
        NOW,
        Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await;
    let f = fixture(&app).await;
    let tokens: Vec<String> = CALLERS
        .iter()
        .enumerate()
        .map(|(i, w)| app.token(&format!("matrix-{i}"), w.role, w.agency, w.partner))
        .collect();

    // The table says what the issue says about who sees a dispute.
    let read = ROUTES
        .iter()
        .find(|r| r.id == "dispute.read")
        .expect("dispute.read");
    let sees: Vec<(&str, Expect)> = CALLERS.iter().map(|w| (w.name, expect(read, w))).collect();
    use Expect::{Allowed, Hidden};
    assert_eq!(
        sees.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
        [Allowed, Hidden, Allowed, Allowed, Hidden, Allowed, Allowed, Allowed, Hidden],
        "{sees:?}"
    );

    let mut failures = Vec::new();
    let mut state_refusals = BTreeSet::new();
    let mut succeeded: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n = 0;
    for route in ROUTES {
        let d = match route.scope {
            Scope::Dispute => Some(disputes(&app, route.id != "dispute.propose").await),
            _ => None,
        };
        // A dispute moves only onto the active policy: activate one first.
        let migrate_to = if route.id == "dispute.migrate" {
            let admin = app.role(Role::PartnershipAdmin);
            let (s, v) = app
                .post(&admin, "/v1/policies", json!({ "document": policy_copy() }))
                .await;
            ok(s, &v)["version"].as_str().expect("version").to_string()
        } else {
            String::new()
        };
        let request = |route: &Route, w: &Who, n: usize| {
            let (path, body) = request(route, w, &f, d.as_ref(), n);
            match route.id {
                "dispute.migrate" => (
                    path,
                    Some(json!({"policy": migrate_to, "reason": "matrix"})),
                ),
                _ => (path, body),
            }
        };
        // Without a token: only the public routes answer.
        let (path, body) = request(route, &CALLERS[0], n);
        let (s, v) = send(&app, route.method, &path, None, body.as_ref()).await;
        let want = if route.scope == Scope::Public {
            200
        } else {
            401
        };
        if s != want {
            failures.push(format!("{} {path} without a token: {s} {v}", route.id));
        }
        let mut allowed_cells = 0;
        for (w, token) in CALLERS.iter().zip(&tokens) {
            n += 1;
            let (path, body) = request(route, w, n);
            let (s, v) = send(&app, route.method, &path, Some(token), body.as_ref()).await;
            let kind = v["type"].as_str().unwrap_or_default();
            let expected = expect(route, w);
            let fine = match expected {
                Expect::Allowed => {
                    allowed_cells += 1;
                    if (200..300).contains(&s) {
                        *succeeded.entry(route.id).or_default() += 1;
                    }
                    // A rung's rule (`ladder::decide`) may refuse a ladder action.
                    let ladder = route.scope == Scope::Dispute && route.id != "review.request";
                    // A refusal of the body or the state only where listed.
                    let listed = matches!(s, 400 | 409 | 422)
                        && STATE_REFUSALS.contains(&(
                            route.id,
                            w.name,
                            s,
                            v["detail"].as_str().unwrap_or_default(),
                        ));
                    if listed {
                        state_refusals.insert((route.id, w.name));
                    }
                    (200..300).contains(&s)
                        || listed
                        || (ladder && s == 403 && kind.ends_with("/forbidden"))
                }
                Expect::Hidden => s == 404 && v == f.unknown_dispute,
                Expect::Denied => s == 403 && kind.ends_with("/access-denied"),
            };
            if !fine {
                failures.push(format!(
                    "{} {} {path} as {}: expected {expected:?}, got {s} {v}",
                    route.id,
                    route.method.as_str(),
                    w.name
                ));
            }
        }
        if allowed_cells > 0 && !succeeded.contains_key(route.id) {
            failures.push(format!("{}: no allowed cell succeeded", route.id));
        }
    }
    // Every listed exception was seen: the list holds no stale cell.
    let unseen: Vec<_> = STATE_REFUSALS
        .iter()
        .filter(|(r, w, _, _)| !state_refusals.contains(&(*r, *w)))
        .collect();
    assert!(unseen.is_empty(), "listed, never answered: {unseen:?}");
    assert!(
        failures.is_empty(),
        "{} cells disagree with the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(app.verify().ok, "the matrix left a ledger that verifies");
}

both_backends!(matrix);

/// Refusals by the table are logged at warn with `sub`, `role`, route, route id
/// and reason; a hidden dispute's log line says why, its answer does not; no
/// line holds the token.
async fn refusals_are_logged(backend: Backend) {
    use crate::helpers::{client, LoggedServe, TestDb, SECRET};
    use escalation_ledger::http::auth::{Claims, Keys};

    // The real binary, for its log, on the real clock: it sends no dates, and
    // token lifetimes (`exp`) are real time anyway.
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let served = LoggedServe::start(&db.url, dir.path(), "info").await;
    let base = served.base.clone();
    let keys = Keys::from_secret(SECRET.as_bytes());
    let mint = |sub: &str, role: Role, agency: Option<&str>| {
        keys.mint(&Claims {
            sub: sub.into(),
            role,
            agency: agency.map(str::to_string),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap()
    };
    let c = client();
    let raiser = mint("raiser@kingston", Role::Agency, Some(A));
    let mut res = c
        .post(format!("{base}/v1/disputes"))
        .bearer_auth(&raiser)
        .send_json(&json!({"parties": [A, B], "summary": "s"}))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let outsider = mint("outsider@cafcass", Role::Agency, Some(C));
    let mut res = c
        .get(format!("{base}/v1/disputes/{id}"))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["detail"], "no such dispute", "{answer}");

    let auditor = mint("eve@audit", Role::Auditor, None);
    let mut res = c
        .get(format!("{base}/v1/admin/webhooks"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["type"], "/problems/access-denied");

    let log = strip_ansi(&served.stop());
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains("request refused") && l.contains(needle))
            .unwrap_or_else(|| panic!("no refusal line with {needle}:\n{log}"))
            .to_string()
    };
    let hidden = line("outsider@cafcass");
    for part in [
        "role=agency",
        &format!("/v1/disputes/{id}"),
        "route_id=dispute.read",
        "is not a party",
    ] {
        assert!(hidden.contains(part), "{part} missing: {hidden}");
    }
    let denied = line("eve@audit");
    for part in [
        "role=auditor",
        "/v1/admin/webhooks",
        "route_id=webhook.list",
    ] {
        assert!(denied.contains(part), "{part} missing: {denied}");
    }
    for token in [&raiser, &outsider, &auditor] {
        assert!(!log.contains(token.as_str()), "a token reached the log");
    }
}

both_backends!(refusals_are_logged);

/// The log without its terminal colours.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
