//! The partnership team's console pages (`/console/admin/...`) over HTTP, on
//! both backends: who may open each page is what the API answers the same
//! role on the API route that decides it; each form's success writes the
//! entry the API writes (checked through the API afterwards); each form's bad
//! input shows the GOV.UK error pattern and writes nothing; a form without
//! its form token is 403 and writes nothing. The browser run is
//! `console_admin_browser.rs`.

use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::{Actor, Role};
use escalation_ledger::core::note::{self, Verifier};
use escalation_ledger::http::authz::{self, Method};
use serde_json::{json, Value};

use crate::both_backends;
use crate::console::signed_in;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";

fn actor(sub: &str, role: Role, agency: Option<&str>) -> Actor {
    Actor {
        sub: sub.into(),
        role,
        agency: agency.map(str::to_string),
        partner: None,
    }
}

fn admin() -> Actor {
    actor("team@partnership", Role::PartnershipAdmin, None)
}

fn nofollow() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(60))
        .finish()
}

/// POST a form as the session `cookie`: status, `Location`, body.
async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let mut res = nofollow()
        .post(format!("{}{path}", app.base))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("cookie", format!("console_session={cookie}")))
        .send_body(body)
        .await
        .expect("request");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(&res.body().await.expect("body")).to_string();
    (res.status().as_u16(), location, text)
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let mut res = nofollow()
        .get(format!("{}{path}", app.base))
        .insert_header(("cookie", format!("console_session={cookie}")))
        .send()
        .await
        .expect("request");
    let text = String::from_utf8_lossy(&res.body().await.expect("body")).to_string();
    (res.status().as_u16(), text)
}

/// A signed-in page's form token.
async fn csrf(app: &TestApp, cookie: &str) -> String {
    let (s, html) = get(app, "/console/", cookie).await;
    assert_eq!(s, 200, "{html}");
    let at = html.find("name=\"csrf\" value=\"").expect("a form token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("quote")].to_string()
}

/// The newest ledger entry, as the API gives it to an auditor.
async fn last_entry(app: &TestApp) -> Value {
    let size = app.size().await;
    let (s, v) = app
        .get(
            &app.role(Role::Auditor),
            &format!("/v1/ledger/entries?from={}&limit=1", size - 1),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"][0].clone()
}

/// The GOV.UK error pattern: the summary at the top, linked to the field,
/// and the message beside the field.
fn shows_error(html: &str, field: &str) {
    assert!(
        html.contains("There is a problem"),
        "no error summary:\n{html}"
    );
    assert!(
        html.contains(&format!("href=\"#{field}\"")),
        "the summary does not link to #{field}:\n{html}"
    );
    assert!(
        html.contains(&format!("id=\"{field}-error\"")),
        "no inline error for {field}:\n{html}"
    );
    assert!(
        html.contains("<title>Error: "),
        "the title does not say Error:\n{html}"
    );
}

/// The admin pages without a path parameter, with the API path that decides each.
fn admin_pages() -> Vec<(&'static str, &'static str)> {
    authz::CONSOLE_ROUTES
        .iter()
        .filter(|c| c.method == Method::Get && c.path.starts_with("/console/admin/"))
        .filter(|c| !c.path.contains('{'))
        .map(|c| {
            let row = authz::deciding_row(c).expect("decided by an API row");
            (c.path, row.path)
        })
        .collect()
}

async fn each_page_answers_as_its_api_row_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pages = admin_pages();
    assert_eq!(pages.len(), 6, "{pages:?}");
    let who = [
        (actor("lead@kingston", Role::Agency, Some(A)), app.agency(A)),
        (actor("slg-user", Role::Slg, None), app.role(Role::Slg)),
        (
            actor("scrutineer-user", Role::Scrutineer, None),
            app.role(Role::Scrutineer),
        ),
        (
            actor("auditor-user", Role::Auditor, None),
            app.role(Role::Auditor),
        ),
        (admin(), app.role(Role::PartnershipAdmin)),
    ];
    // A checkpoint, so the witnesses' API row answers 200 rather than 404.
    app.checkpoint_note().await;
    for (person, token) in &who {
        let cookie = signed_in(&app, person).await;
        for (page, api) in &pages {
            let (want, body) = app.get_text(token, api).await;
            let (got, html) = get(&app, page, &cookie).await;
            assert_eq!(
                got, want,
                "{} on {page} (API {api}: {body}):\n{html}",
                person.role
            );
            let nav = html.contains("href=\"/console/admin/registry\"");
            if got == 200 && person.role == Role::PartnershipAdmin {
                assert!(nav, "no admin sub-navigation on {page}");
            }
        }
        // The header's link to the team's pages: only for those who may list webhooks.
        let (_, home) = get(&app, "/console/", &cookie).await;
        assert_eq!(
            home.contains(">Partnership team</a>"),
            person.role == Role::PartnershipAdmin,
            "{}",
            person.role
        );
    }
    // The forms are shown only to whom the API row lets use them: an agency
    // lead sees the registry, but no form to add to it.
    let lead = signed_in(&app, &who[0].0).await;
    let (_, html) = get(&app, "/console/admin/registry", &lead).await;
    assert!(html.contains(A), "{html}");
    assert!(!html.contains("Add the agency"), "{html}");
    let team = signed_in(&app, &admin()).await;
    let (_, html) = get(&app, "/console/admin/registry", &team).await;
    assert!(html.contains("Add the agency"), "{html}");
    // A forged add by the agency lead, with a valid form token: 403, nothing written.
    let token = csrf(&app, &lead).await;
    let before = app.size().await;
    let (s, _, _) = post(
        &app,
        "/console/admin/registry",
        &lead,
        &[
            ("csrf", &token),
            ("id", "forged-school"),
            ("name", "Forged"),
            ("kind", "education"),
        ],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(app.size().await, before);
}

both_backends!(each_page_answers_as_its_api_row_does);

async fn registry_forms_write_what_the_api_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let token = csrf(&app, &team).await;

    // Bad input: the error pattern, nothing written.
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/registry",
        &team,
        &[
            ("csrf", &token),
            ("id", ""),
            ("name", "St Mary's Primary"),
            ("kind", ""),
        ],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "id");
    shows_error(&html, "kind");
    assert!(
        html.contains("St Mary&#39;s Primary") || html.contains("St Mary's Primary"),
        "typed name lost:\n{html}"
    );
    let (s, _, html) = post(
        &app,
        "/console/admin/registry",
        &team,
        &[
            ("csrf", &token),
            ("id", "Not An Id"),
            ("name", "X"),
            ("kind", "education"),
        ],
    )
    .await;
    assert_eq!(s, 400, "{html}");
    shows_error(&html, "id");
    let (s, _, html) = post(
        &app,
        "/console/admin/registry",
        &team,
        &[
            ("csrf", &token),
            ("id", A),
            ("name", "Again"),
            ("kind", "education"),
        ],
    )
    .await;
    assert_eq!(s, 409, "{html}");
    shows_error(&html, "id");
    assert_eq!(app.size().await, before, "bad input wrote to the ledger");

    // Add: the agency is in the API's registry, and the entry is the API's.
    let (s, to, html) = post(
        &app,
        "/console/admin/registry",
        &team,
        &[
            ("csrf", &token),
            ("id", "st-marys-primary"),
            ("name", "St Mary's Primary"),
            ("kind", "education"),
        ],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/registry?done=added"),
        "{html}"
    );
    let console_entry = last_entry(&app).await;
    let admin_token = app.role(Role::PartnershipAdmin);
    let (s, v) = app
        .post(
            &admin_token,
            "/v1/agencies",
            json!({"id": "st-johns-primary", "name": "St John's Primary", "kind": "education"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let api_entry = last_entry(&app).await;
    assert_eq!(
        console_entry["event"], api_entry["event"],
        "{console_entry} vs {api_entry}"
    );
    assert_eq!(
        console_entry["facts"],
        json!({"agency": "st-marys-primary", "kind": "education"}),
        "{console_entry}"
    );
    assert_eq!(
        api_entry["facts"],
        json!({"agency": "st-johns-primary", "kind": "education"})
    );
    let (s, v) = app.get(&admin_token, "/v1/agencies/st-marys-primary").await;
    assert_eq!(
        (s, v["name"].as_str()),
        (200, Some("St Mary's Primary")),
        "{v}"
    );
    let (_, html) = get(&app, "/console/admin/registry?done=added", &team).await;
    assert!(
        html.contains("has been added"),
        "no success banner:\n{html}"
    );

    // Rename: bad input first, then the change.
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/registry/st-marys-primary/rename",
        &team,
        &[("csrf", &token), ("name", "  "), ("kind", "education")],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "name");
    assert_eq!(app.size().await, before);
    let (s, to, _) = post(
        &app,
        "/console/admin/registry/st-marys-primary/rename",
        &team,
        &[
            ("csrf", &token),
            ("name", "St Mary's CE Primary"),
            ("kind", "education"),
        ],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/registry/st-marys-primary?done=renamed")
    );
    let e = last_entry(&app).await;
    assert_eq!(
        (e["event"].as_str(), &e["facts"]),
        (
            Some("agency_updated"),
            &json!({"agency": "st-marys-primary", "kind": "education"})
        ),
        "{e}"
    );
    let (_, v) = app.get(&admin_token, "/v1/agencies/st-marys-primary").await;
    assert_eq!(v["name"], "St Mary's CE Primary", "{v}");

    // Retire; a statutory partner offers no retire button, and a forged one is refused.
    let (s, to, _) = post(
        &app,
        "/console/admin/registry/st-marys-primary/retire",
        &team,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/registry/st-marys-primary?done=retired")
    );
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "agency_retired", "{e}");
    let (_, v) = app.get(&admin_token, "/v1/agencies/st-marys-primary").await;
    assert!(v["retired_at"].is_string(), "{v}");
    let (_, html) = get(&app, &format!("/console/admin/registry/{B}"), &team).await;
    assert!(
        !html.contains("/retire\""),
        "a statutory partner offered retiring:\n{html}"
    );
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        &format!("/console/admin/registry/{B}/retire"),
        &team,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "retire");
    // Retiring twice: 409, in the error pattern.
    let (s, _, html) = post(
        &app,
        "/console/admin/registry/st-marys-primary/retire",
        &team,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(s, 409, "{html}");
    shows_error(&html, "retire");
    // An agency that is not there: the 404 page.
    let (s, _, _) = post(
        &app,
        "/console/admin/registry/no-such-agency/retire",
        &team,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(app.size().await, before);
}

both_backends!(registry_forms_write_what_the_api_writes);

async fn policy_forms_activate_and_migrate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let token = csrf(&app, &team).await;
    let admin_token = app.role(Role::PartnershipAdmin);
    let dispute = app.raise(&[A, B], false).await;
    let other = app.raise(&[A, B], false).await;

    let (s, html) = get(&app, "/console/admin/policies", &team).await;
    assert_eq!(s, 200);
    let (_, list) = app.get(&admin_token, "/v1/policies").await;
    for p in list["items"].as_array().expect("policies") {
        assert!(
            html.contains(p["sha256"].as_str().expect("hash")),
            "hash of {} missing",
            p["version"]
        );
    }
    let (s, html) = get(&app, "/console/admin/policies/wt-2023", &team).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("version = &quot;wt-2023&quot;") || html.contains("version = \"wt-2023\""),
        "{html}"
    );
    let (s, _) = get(&app, "/console/admin/policies/no-such", &team).await;
    assert_eq!(s, 404);

    // Bad input writes nothing.
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/policies",
        &team,
        &[("csrf", &token), ("version", "")],
    )
    .await;
    assert_eq!(s, 422);
    shows_error(&html, "version");
    let (s, _, html) = post(
        &app,
        "/console/admin/policies",
        &team,
        &[
            ("csrf", &token),
            ("document", "version = \"x\"\nnot toml ["),
        ],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "document");
    let (s, _, html) = post(
        &app,
        "/console/admin/migrate",
        &team,
        &[
            ("csrf", &token),
            ("policy", "wt-2023"),
            ("dispute", &dispute),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(s, 422);
    shows_error(&html, "reason");
    let (s, _, html) = post(
        &app,
        "/console/admin/migrate",
        &team,
        &[
            ("csrf", &token),
            ("policy", "krscp-2024-02"),
            ("dispute", "no-such-dispute"),
            ("reason", "moving"),
        ],
    )
    .await;
    // A dispute that is not there: the console's 404, the same as for one
    // the caller may not see.
    assert_eq!(s, 404, "{html}");
    assert!(html.contains("no such dispute"), "{html}");
    // Not the active policy yet: 409, in the error pattern.
    let (s, _, html) = post(
        &app,
        "/console/admin/migrate",
        &team,
        &[
            ("csrf", &token),
            ("policy", "wt-2023"),
            ("dispute", &dispute),
            ("reason", "moving"),
        ],
    )
    .await;
    assert_eq!(s, 409, "{html}");
    assert!(html.contains("There is a problem"), "{html}");
    assert_eq!(app.size().await, before);

    // Activate wt-2023: the API's entry, and the API says it is active.
    let (s, to, html) = post(
        &app,
        "/console/admin/policies",
        &team,
        &[("csrf", &token), ("version", "wt-2023")],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/policies?done=activated"),
        "{html}"
    );
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "policy_activated", "{e}");
    let (_, p) = app.get(&admin_token, "/v1/policies/wt-2023").await;
    assert_eq!(p["active"], true, "{p}");
    assert_eq!(e["facts"]["sha256"], p["sha256"], "{e}");

    // Move the dispute onto it.
    let (_, d) = app
        .get(&admin_token, &format!("/v1/disputes/{dispute}"))
        .await;
    let rung = d["rung"].as_str().expect("rung").to_string();
    let (s, to, html) = post(
        &app,
        "/console/admin/migrate",
        &team,
        &[
            ("csrf", &token),
            ("policy", "wt-2023"),
            ("dispute", &dispute),
            ("rung", ""),
            ("reason", "The partnership adopted the new ladder"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{html}");
    assert_eq!(to, format!("/console/disputes/{dispute}"));
    let e = last_entry(&app).await;
    assert_eq!(
        (e["event"].as_str(), e["dispute_id"].as_str()),
        (Some("policy_migrated"), Some(dispute.as_str())),
        "{e}"
    );
    let (_, d) = app
        .get(&admin_token, &format!("/v1/disputes/{dispute}"))
        .await;
    assert_eq!(d["policy"], "wt-2023", "{d}");
    assert_eq!(d["rung"].as_str(), Some(rung.as_str()), "{d}");
    // A rung the active policy does not have: 422 on the rung, nothing written.
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/migrate",
        &team,
        &[
            ("csrf", &token),
            ("policy", "wt-2023"),
            ("dispute", &other),
            ("rung", "the_board"),
            ("reason", "moving"),
        ],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "rung");
    assert_eq!(app.size().await, before);
}

both_backends!(policy_forms_activate_and_migrate);

async fn webhooks_and_their_deliveries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let admin_token = app.role(Role::PartnershipAdmin);
    let (s, html) = get(&app, "/console/admin/webhooks", &team).await;
    assert_eq!(s, 200);
    assert!(html.contains("No webhook is registered"), "{html}");
    let (s, w) = app
        .post(
            &admin_token,
            "/v1/admin/webhooks",
            json!({"target": {"agency": A}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let id = w["id"].as_str().expect("id").to_string();
    app.raise(&[A, B], false).await;
    let (_, html) = get(&app, "/console/admin/webhooks", &team).await;
    assert!(html.contains("http://127.0.0.1:9/hook"), "{html}");
    assert!(
        html.contains(&format!("/console/admin/webhooks/{id}")),
        "{html}"
    );
    let (s, html) = get(&app, &format!("/console/admin/webhooks/{id}"), &team).await;
    assert_eq!(s, 200, "{html}");
    let (_, deliveries) = app
        .get(&admin_token, &format!("/v1/admin/webhooks/{id}/deliveries"))
        .await;
    let items = deliveries["items"].as_array().expect("deliveries");
    assert!(!items.is_empty(), "{deliveries}");
    for d in items {
        assert!(
            html.contains(&format!("<td>{}</td>", d["seq"])),
            "delivery {} missing:\n{html}",
            d["seq"]
        );
        assert!(html.contains(d["event"].as_str().expect("event")), "{html}");
    }
    assert!(html.contains("el-tag"), "no status tag:\n{html}");
    let (s, _) = get(&app, "/console/admin/webhooks/no-such", &team).await;
    assert_eq!(s, 404);
}

both_backends!(webhooks_and_their_deliveries);

async fn email_lists_are_set_as_the_api_sets_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let token = csrf(&app, &team).await;
    let admin_token = app.role(Role::PartnershipAdmin);

    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/email",
        &team,
        &[
            ("csrf", &token),
            ("target", ""),
            ("addresses", "lead@kingston.gov.uk"),
        ],
    )
    .await;
    assert_eq!(s, 422);
    shows_error(&html, "target");
    let (s, _, html) = post(
        &app,
        "/console/admin/email",
        &team,
        &[
            ("csrf", &token),
            ("target", &format!("agency:{A}")),
            ("addresses", "lead@kingston.gov.uk\nnot an address"),
        ],
    )
    .await;
    assert_eq!(s, 422, "{html}");
    shows_error(&html, "addresses");
    assert!(
        html.contains("not an address"),
        "the typed list was lost:\n{html}"
    );
    assert_eq!(app.size().await, before);

    let (s, to, html) = post(
        &app,
        "/console/admin/email",
        &team,
        &[
            ("csrf", &token),
            ("target", &format!("agency:{A}")),
            (
                "addresses",
                "Lead@Kingston.gov.uk\r\n\r\ndeputy@kingston.gov.uk\r\n",
            ),
        ],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/email?done=email"),
        "{html}"
    );
    let console_entry = last_entry(&app).await;
    let (s, v) = app
        .post(
            &admin_token,
            "/v1/admin/email/recipients",
            json!({"target": {"role": "slg"}, "addresses": ["chair@slg.example"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let api_entry = last_entry(&app).await;
    assert_eq!(console_entry["event"], api_entry["event"]);
    assert_eq!(
        console_entry["facts"],
        json!({"target": {"agency": A}}),
        "{console_entry}"
    );
    let (_, lists) = app.get(&admin_token, "/v1/admin/email/recipients").await;
    let kingston = lists["items"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|r| r["target"] == json!({"agency": A}))
        .cloned()
        .expect("kingston's list");
    assert_eq!(
        kingston["addresses"],
        json!(["deputy@kingston.gov.uk", "lead@kingston.gov.uk"]),
        "{kingston}"
    );
    let (_, html) = get(&app, "/console/admin/email?done=email", &team).await;
    assert!(
        html.contains("deputy@kingston.gov.uk") && html.contains("chair@slg.example"),
        "{html}"
    );
    assert!(html.contains("has been saved"), "{html}");
}

both_backends!(email_lists_are_set_as_the_api_sets_them);

async fn redactions_are_requested_and_approved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let token = csrf(&app, &team).await;
    let dispute = app.raise(&[A, B], false).await;
    let (_, history) = app
        .get(
            &app.role(Role::Slg),
            &format!("/v1/disputes/{dispute}/history"),
        )
        .await;
    let seq = history["items"][0]["seq"]
        .as_i64()
        .expect("seq")
        .to_string();

    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/redactions",
        &team,
        &[("csrf", &token), ("seq", &seq), ("reason", "")],
    )
    .await;
    assert_eq!(s, 422);
    shows_error(&html, "reason");
    let (s, _, html) = post(
        &app,
        "/console/admin/redactions",
        &team,
        &[
            ("csrf", &token),
            ("seq", "forty"),
            ("reason", "names a child"),
        ],
    )
    .await;
    assert_eq!(s, 422);
    shows_error(&html, "seq");
    let (s, _, html) = post(
        &app,
        "/console/admin/redactions",
        &team,
        &[
            ("csrf", &token),
            ("seq", "999999"),
            ("reason", "names a child"),
        ],
    )
    .await;
    assert_eq!(s, 404, "{html}");
    shows_error(&html, "seq");
    assert_eq!(app.size().await, before);

    let (s, to, html) = post(
        &app,
        "/console/admin/redactions",
        &team,
        &[
            ("csrf", &token),
            ("seq", &seq),
            ("reason", "The summary names a child"),
        ],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/redactions?done=requested"),
        "{html}"
    );
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "redaction_requested", "{e}");
    let (_, list) = app
        .get(&app.role(Role::Auditor), "/v1/admin/ledger/redactions")
        .await;
    assert_eq!(list["items"][0]["target_seq"].to_string(), seq, "{list}");
    assert!(list["items"][0]["approved_seq"].is_null(), "{list}");

    // The scrutineer sees an approve button and approves.
    let scrutineer = signed_in(
        &app,
        &actor("scrutineer@independent", Role::Scrutineer, None),
    )
    .await;
    let stoken = csrf(&app, &scrutineer).await;
    let (s, html) = get(&app, "/console/admin/redactions", &scrutineer).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!("Approve erasing entry {seq}")),
        "{html}"
    );
    assert!(!html.contains("Request the erasure"), "{html}");
    let (s, to, html) = post(
        &app,
        "/console/admin/redactions",
        &scrutineer,
        &[("csrf", &stoken), ("seq", &seq)],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/console/admin/redactions?done=approved"),
        "{html}"
    );
    let e = last_entry(&app).await;
    assert_eq!(e["event"], "redaction_approved", "{e}");
    let (_, list) = app
        .get(&app.role(Role::Auditor), "/v1/admin/ledger/redactions")
        .await;
    assert!(list["items"][0]["approved_seq"].is_i64(), "{list}");
    // Approving again: 409 in the error pattern, nothing written.
    let before = app.size().await;
    let (s, _, html) = post(
        &app,
        "/console/admin/redactions",
        &scrutineer,
        &[("csrf", &stoken), ("seq", &seq)],
    )
    .await;
    assert_eq!(s, 409, "{html}");
    assert!(html.contains("There is a problem"), "{html}");
    assert_eq!(app.size().await, before);
    assert!(app.verify().ok);
}

both_backends!(redactions_are_requested_and_approved);

async fn witnesses_and_the_latest_cosignatures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let la = Cosigner::generate("la").expect("key");
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/witnesses",
            json!({"name": "la", "key": la.verifier_key()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let note_text = app.checkpoint_note().await;
    let (_, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    let log = Verifier::from_key_string(keys["log"].as_str().expect("log key")).expect("log key");
    let cp = Checkpoint::parse(&note::open_note(&note_text, &[log]).expect("note").text)
        .expect("checkpoint");
    let line = la.cosign(&cp, 1_800_000_000).expect("cosign").to_line();
    let (s, stored) = app
        .post(
            &app.role(Role::Scrutineer),
            "/v1/ledger/cosignatures",
            json!({"size": cp.size(), "cosignature": line}),
        )
        .await;
    assert_eq!(s, 201, "{stored}");
    let (s, html) = get(&app, "/console/admin/witnesses", &team).await;
    assert_eq!(s, 200, "{html}");
    let (_, witnessed) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint/witnessed")
        .await;
    assert!(
        html.contains(&format!("<dd>{}</dd>", witnessed["size"])),
        "size missing:\n{html}"
    );
    assert!(html.contains(&la.verifier_key()), "{html}");
    let sig = stored["line"]
        .as_str()
        .expect("line")
        .split(' ')
        .next_back()
        .expect("base64")
        .to_string();
    assert!(
        html.contains(&sig),
        "the cosignature line is missing:\n{html}"
    );
    assert!(
        html.contains(&format!("1 (at least {} needed)", witnessed["quorum"])),
        "{html}"
    );
}

both_backends!(witnesses_and_the_latest_cosignatures);

async fn a_form_without_its_token_is_refused_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let team = signed_in(&app, &admin()).await;
    let dispute = app.raise(&[A, B], false).await;
    let before = app.size().await;
    let posts: Vec<&str> = authz::CONSOLE_ROUTES
        .iter()
        .filter(|c| c.method == Method::Post && c.path.starts_with("/console/admin/"))
        .map(|c| c.path)
        .collect();
    assert_eq!(posts.len(), 7, "{posts:?}");
    for path in posts {
        let path = path.replace("{agency}", A);
        let fields: [(&str, &str); 7] = [
            ("id", "forged-agency"),
            ("name", "Forged"),
            ("kind", "education"),
            ("version", "wt-2023"),
            ("dispute", &dispute),
            ("reason", "forged"),
            ("target", "role:slg"),
        ];
        for csrf in [None, Some("not-the-token")] {
            let mut all: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = csrf {
                all.push(("csrf", t));
            }
            let (s, _, html) = post(&app, &path, &team, &all).await;
            assert_eq!(s, 403, "{path} with {csrf:?}:\n{html}");
            assert!(html.contains("This form has expired"), "{html}");
        }
    }
    assert_eq!(
        app.size().await,
        before,
        "a forged form wrote to the ledger"
    );
}

both_backends!(a_form_without_its_token_is_refused_and_writes_nothing);
