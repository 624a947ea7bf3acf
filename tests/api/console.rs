//! The console over HTTP (no browser): one-time sign-in links (single use,
//! 10 minutes from the row's `created_at`), the session cookie's flags, the
//! form token (a POST without it is 403 and writes nothing), the API's 404 for
//! non-parties, a forged action refused. The browser journeys are in
//! `console_browser.rs`.

use escalation_ledger::app::Settings;
use escalation_ledger::core::ladder::{Actor, Role};
use escalation_ledger::http::console::ConsoleConfig;
use escalation_ledger::service::console::{digest, issue_link};
use escalation_ledger::store::console::set_link_created_at;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "cafcass";

fn agency_lead(sub: &str, agency: &str) -> Actor {
    Actor {
        sub: sub.into(),
        role: Role::Agency,
        agency: Some(agency.into()),
        partner: None,
    }
}

/// A client that shows redirects rather than following them.
fn nofollow() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(60))
        .finish()
}

fn link(app: &TestApp, who: &Actor) -> String {
    issue_link(&mut app.conn(), who).expect("link")
}

/// POST a form; the status, the `Location` and `Set-Cookie` headers, the body.
pub(crate) async fn form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, String, Vec<String>, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let mut req = nofollow()
        .post(format!("{}{path}", app.base))
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", format!("console_session={c}")));
    }
    let mut res = req.send_body(body).await.expect("request");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let text = String::from_utf8_lossy(&res.body().await.expect("body")).to_string();
    (res.status().as_u16(), location, cookies, text)
}

pub(crate) async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let mut req = nofollow().get(format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", format!("console_session={c}")));
    }
    let mut res = req.send().await.expect("request");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(&res.body().await.expect("body")).to_string();
    (res.status().as_u16(), location, text)
}

/// The session cookie's value from a `Set-Cookie` list.
fn session_of(cookies: &[String]) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix("console_session="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"))
        .to_string()
}

/// Sign `who` in through a fresh link: the session cookie's value.
pub(crate) async fn signed_in(app: &TestApp, who: &Actor) -> String {
    let token = link(app, who);
    let (s, to, cookies, body) = form(app, "/console/sign-in", None, &[("token", &token)]).await;
    assert_eq!((s, to.as_str()), (303, "/console/"), "{body}");
    session_of(&cookies)
}

/// The form token a page carries.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no form token in the page:\n{html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

async fn a_link_signs_in_once_within_ten_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let lead = agency_lead("lead@kingston", A);

    let token = link(&app, &lead);
    let (s, to, cookies, _) = form(&app, "/console/sign-in", None, &[("token", &token)]).await;
    assert_eq!((s, to.as_str()), (303, "/console/"));
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "Secure over plain http: {cookie}"
    );
    // The stored row is a hash: the token itself is nowhere in the database.
    let session = session_of(&cookies);
    let (s, _, home) = page(&app, "/console/", Some(&session)).await;
    assert_eq!(s, 200);
    assert!(home.contains("lead@kingston"), "{home}");

    // Used once: refused after.
    let (s, _, again, body) = form(&app, "/console/sign-in", None, &[("token", &token)]).await;
    assert_eq!(s, 403, "{body}");
    assert!(again.is_empty(), "a used link set a cookie: {again:?}");
    assert!(body.contains("cannot be used"), "{body}");

    // Expiry counts from the row's created_at: 11 minutes old is refused,
    // 9 minutes old still signs in.
    let now = chrono::Utc::now().naive_utc();
    let old = link(&app, &lead);
    let moved = set_link_created_at(
        &mut app.conn(),
        &digest(&old),
        now - chrono::Duration::minutes(11),
    );
    assert_eq!(moved.expect("update"), 1);
    let (s, _, _, _) = form(&app, "/console/sign-in", None, &[("token", &old)]).await;
    assert_eq!(s, 403);
    let fresh = link(&app, &lead);
    set_link_created_at(
        &mut app.conn(),
        &digest(&fresh),
        now - chrono::Duration::minutes(9),
    )
    .expect("update");
    let (s, _, _, _) = form(&app, "/console/sign-in", None, &[("token", &fresh)]).await;
    assert_eq!(s, 303);
    // A made-up token is refused the same way.
    let (s, _, _, _) = form(&app, "/console/sign-in", None, &[("token", "nope")]).await;
    assert_eq!(s, 403);

    // Signing out ends the session: its cookie no longer opens a page.
    let csrf = csrf_of(&home);
    let (s, _, cleared, _) = form(
        &app,
        "/console/sign-out",
        Some(&session),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 303);
    assert!(
        cleared.iter().any(|c| c.starts_with("console_session=;")),
        "{cleared:?}"
    );
    let (s, to, _) = page(&app, "/console/", Some(&session)).await;
    assert_eq!(s, 303);
    assert!(to.starts_with("/console/sign-in"), "{to}");
}

both_backends!(a_link_signs_in_once_within_ten_minutes);

async fn the_cookie_is_secure_when_served_over_https(backend: Backend) {
    let settings = Settings {
        console: ConsoleConfig {
            public_base_url: "https://ladder.example.org".into(),
            ..ConsoleConfig::default()
        },
        ..Settings::default()
    };
    let app = TestApp::spawn_with_settings(backend, settings).await;
    let token = link(&app, &agency_lead("lead@kingston", A));
    let (s, _, cookies, _) = form(&app, "/console/sign-in", None, &[("token", &token)]).await;
    assert_eq!(s, 303);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .expect("cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

both_backends!(the_cookie_is_secure_when_served_over_https);

async fn a_form_without_its_token_is_403_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = signed_in(&app, &agency_lead("lead@kingston", A)).await;
    let (s, _, new) = page(&app, "/console/disputes/new", Some(&session)).await;
    assert_eq!(s, 200, "{new}");
    let csrf = csrf_of(&new);
    let before = app.size().await;
    let fields = |token: &'static str| {
        vec![
            ("parties", B),
            ("summary", "who leads the strategy meeting"),
            ("csrf", token),
        ]
    };
    for token in ["", "0000"] {
        let mut f = fields(token);
        if token.is_empty() {
            f.pop();
        }
        let (s, _, _, body) = form(&app, "/console/disputes", Some(&session), &f).await;
        assert_eq!(s, 403, "{body}");
    }
    // Without a session at all, the form is refused the same way.
    let (s, _, _, _) = form(&app, "/console/disputes", None, &fields("0000")).await;
    assert_eq!(s, 403);
    // Another session's token does not do either.
    let other = signed_in(&app, &agency_lead("other@kingston", A)).await;
    let (_, _, other_page) = page(&app, "/console/disputes/new", Some(&other)).await;
    let other_csrf = csrf_of(&other_page);
    assert_ne!(other_csrf, csrf);
    let (s, _, _, _) = form(
        &app,
        "/console/disputes",
        Some(&session),
        &[("parties", B), ("summary", "s"), ("csrf", &other_csrf)],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        app.size().await,
        before,
        "a refused form wrote to the ledger"
    );

    // With its own token the same form raises the dispute.
    let (s, to, _, body) = form(
        &app,
        "/console/disputes",
        Some(&session),
        &[("parties", B), ("summary", "who leads"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert!(
        to.starts_with("/console/disputes/") && to.ends_with("?done=raised"),
        "{to}"
    );
    assert_eq!(app.size().await, before + 1);
    let (s, _, shown) = page(&app, &to, Some(&session)).await;
    assert_eq!(s, 200);
    assert!(shown.contains("The dispute has been raised."), "{shown}");
    assert!(shown.contains("who leads"), "{shown}");

    // A form missing what it needs: the GOV.UK error pattern, nothing written.
    let (s, _, _, body) = form(
        &app,
        "/console/disputes",
        Some(&session),
        &[("summary", ""), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("There is a problem"), "{body}");
    assert!(body.contains("id=\"summary-error\""), "{body}");
    assert!(body.contains("href=\"#parties\""), "{body}");
    assert_eq!(app.size().await, before + 1);
}

both_backends!(a_form_without_its_token_is_403_and_writes_nothing);

async fn non_parties_get_the_same_404_and_forged_actions_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let outsider = signed_in(&app, &agency_lead("lead@cafcass", C)).await;
    let (s, _, hidden) = page(&app, &format!("/console/disputes/{id}"), Some(&outsider)).await;
    assert_eq!(s, 404);
    let (s, _, missing) = page(
        &app,
        "/console/disputes/00000000-0000-4000-8000-000000000000",
        Some(&outsider),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(
        hidden, missing,
        "a hidden dispute answers unlike a missing one"
    );
    assert!(hidden.contains("no such dispute"), "{hidden}");

    // The party sees it, with the actions its rung allows it.
    let lead = signed_in(&app, &agency_lead("lead@kingston", A)).await;
    let (s, _, shown) = page(&app, &format!("/console/disputes/{id}"), Some(&lead)).await;
    assert_eq!(s, 200, "{shown}");
    assert!(shown.contains("Escalate the dispute"), "{shown}");
    let csrf = csrf_of(&shown);

    // The outsider, with a valid form token of their own, posts an escalation: 404, nothing written.
    let (_, _, outsider_home) = page(&app, "/console/", Some(&outsider)).await;
    let outsider_csrf = csrf_of(&outsider_home);
    let before = app.size().await;
    let (s, _, _, body) = form(
        &app,
        &format!("/console/disputes/{id}/escalate"),
        Some(&outsider),
        &[("reason", "forged"), ("csrf", &outsider_csrf)],
    )
    .await;
    assert_eq!(s, 404, "{body}");

    // The party escalates to the SLG rung, where only the SLG proposes: the
    // page shows the party no propose form, and a forged one is refused by
    // the rung's rules (403), nothing written.
    let (s, to, _, body) = form(
        &app,
        &format!("/console/disputes/{id}/escalate"),
        Some(&lead),
        &[("reason", "no agreement"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(app.size().await, before + 1);
    let (_, _, shown) = page(&app, &to, Some(&lead)).await;
    assert!(shown.contains("The dispute has been escalated."), "{shown}");
    assert!(!shown.contains("Propose a resolution"), "{shown}");
    let (s, _, _, body) = form(
        &app,
        &format!("/console/disputes/{id}/proposals"),
        Some(&lead),
        &[("resolution", "forged"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(app.size().await, before + 1, "a forged action wrote");

    // The SLG sees the propose form there.
    let slg = signed_in(
        &app,
        &Actor {
            sub: "chair@slg".into(),
            role: Role::Slg,
            agency: None,
            partner: None,
        },
    )
    .await;
    let (_, _, shown) = page(&app, &format!("/console/disputes/{id}"), Some(&slg)).await;
    assert!(shown.contains("Propose a resolution"), "{shown}");
    let (_, _, home) = page(&app, "/console/", Some(&slg)).await;
    assert!(
        home.contains("Disputes where you may propose a resolution"),
        "{home}"
    );
    assert!(home.contains(&id[..8]), "{home}");
    // The API agrees the dispute is on the SLG rung.
    let (s, v) = app
        .get(&app.role(Role::Slg), &format!("/v1/disputes/{id}"))
        .await;
    assert_eq!((s, v["rung"].clone()), (200, json!("slg")));
}

both_backends!(non_parties_get_the_same_404_and_forged_actions_are_refused);

async fn pages_need_a_session_and_the_root_is_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, to, _) = page(&app, "/", None).await;
    assert_eq!((s, to.as_str()), (303, "/console/"));
    let (s, to, _) = page(&app, "/console/disputes", None).await;
    assert_eq!(s, 303);
    assert_eq!(to, "/console/sign-in?next=%2Fconsole%2Fdisputes");
    // Open without a session: the sign-in page, the statement, the stylesheet.
    for path in [
        "/console/sign-in",
        "/console/accessibility",
        "/console/style.css",
    ] {
        let (s, _, _) = page(&app, path, None).await;
        assert_eq!(s, 200, "{path}");
    }
    // A session cookie that is not one: sent to sign in.
    let (s, _, _) = page(&app, "/console/", Some("made-up")).await;
    assert_eq!(s, 303);
    // The raising form is an agency's (the table's `dispute.raise` row): 403 for the SLG.
    let slg = signed_in(
        &app,
        &Actor {
            sub: "chair@slg".into(),
            role: Role::Slg,
            agency: None,
            partner: None,
        },
    )
    .await;
    let (s, _, body) = page(&app, "/console/disputes/new", Some(&slg)).await;
    assert_eq!(s, 403, "{body}");
    let (_, _, home) = page(&app, "/console/", Some(&slg)).await;
    assert!(!home.contains("Raise a dispute"), "{home}");
}

both_backends!(pages_need_a_session_and_the_root_is_the_console);

/// The console's access matrix: every console route decided by a row of the
/// table × every kind of caller, each cell one real request whose answer must
/// be what the deciding row says (read straight from the row, as in
/// `authz_matrix.rs`): allowed (a page, a redirect after the form, or a
/// refusal of the form or by the rung's rules), hidden (the 404 of a missing
/// dispute, byte for byte) or denied (403, "Access denied").
async fn console_routes_follow_the_access_table(backend: Backend) {
    use escalation_ledger::core::ladder::Partner;
    use escalation_ledger::http::authz::{
        deciding_row, Rule, Scope, CONSOLE_ROUTES, DISPUTE_READERS,
    };

    let app = TestApp::spawn_with_settings(
        backend,
        Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await;
    let who = |sub: &str, role: Role, agency: Option<&str>, partner: Option<Partner>| Actor {
        sub: sub.into(),
        role,
        agency: agency.map(str::to_string),
        partner,
    };
    let callers = [
        who("party@kingston", Role::Agency, Some(A), None),
        who("outsider@cafcass", Role::Agency, Some(C), None),
        who("chair@slg", Role::Slg, None, None),
        who(
            "police@partners",
            Role::StatutoryPartner,
            None,
            Some(Partner::Police),
        ),
        who("chief@la", Role::ChiefOfficer, None, Some(Partner::La)),
        who("team@partnership", Role::PartnershipAdmin, None, None),
        who("scrutineer@krscp", Role::Scrutineer, None, None),
        who("auditor@audit", Role::Auditor, None, None),
    ];
    let mut sessions = Vec::new();
    for c in &callers {
        let s = signed_in(&app, c).await;
        let (status, _, home) = page(&app, "/console/", Some(&s)).await;
        assert_eq!(status, 200, "{home}");
        sessions.push((s, csrf_of(&home)));
    }
    let (_, _, missing) = page(
        &app,
        "/console/disputes/00000000-0000-4000-8000-000000000000",
        Some(&sessions[2].0),
    )
    .await;
    let title = |html: &str| {
        html.split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .unwrap_or_default()
            .to_string()
    };
    // What the partnership team's pages name: an agency to rename and retire,
    // a webhook, a dispute raised before `wt-2023` is activated (to move onto
    // it) and a ledger entry to erase.
    let team = app.role(Role::PartnershipAdmin);
    let (s, v) = app
        .post(
            &team,
            "/v1/agencies",
            json!({"id": "matrix-school", "name": "Matrix School", "kind": "education"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, hook) = app
        .post(
            &team,
            "/v1/admin/webhooks",
            json!({"target": {"agency": A}, "url": "http://127.0.0.1:9/matrix"}),
        )
        .await;
    assert_eq!(s, 201, "{hook}");
    let hook = hook["id"].as_str().expect("webhook id").to_string();
    let earlier = app.raise(&[A, B], false).await;
    let (_, history) = app
        .get(&team, &format!("/v1/disputes/{earlier}/history"))
        .await;
    let erasable = history["items"][0]["seq"].to_string();
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut succeeded = std::collections::BTreeSet::new();
    for route in CONSOLE_ROUTES {
        let Some(row) = deciding_row(route) else {
            continue;
        };
        // Their own matrix, with mediations, reviews and recommendations to
        // act on, is console_scrutiny.rs's.
        if crate::console_scrutiny::covers(route.path) {
            continue;
        }
        for (c, (session, csrf)) in callers.iter().zip(&sessions) {
            // A fresh dispute between A and B, with B's open proposal (none
            // for the propose route, so that a first proposal can succeed).
            let id = app.raise(&[A, B], false).await;
            let mut pid = String::from("none");
            if route.id != "console.propose" {
                let (s, v) = app
                    .post(
                        &app.agency(B),
                        &format!("/v1/disputes/{id}/proposals"),
                        json!({"resolution": "joint visit"}),
                    )
                    .await;
                assert_eq!(s, 201, "{v}");
                pid = v["id"].as_str().expect("pid").to_string();
            }
            let path = route
                .path
                .replace("{id}", &id)
                .replace("{pid}", &pid)
                .replace("{agency}", "matrix-school")
                .replace("{version}", "wt-2023")
                .replace("{webhook}", &hook)
                // The ledger browser's entry page: the first entry.
                .replace("{seq}", "0");
            let holds = |rule: Rule| match rule {
                Rule::Deny => false,
                Rule::Allow => true,
                Rule::Party => c.role == Role::Agency && c.agency.as_deref() == Some(A),
                // The matrix disputes sit below the chief officers' rung.
                Rule::ChiefOfficerRung => false,
            };
            let rule = row.roles.rule(c.role);
            let expected = match row.scope {
                Scope::Dispute if !holds(DISPUTE_READERS.rule(c.role)) => "hidden",
                _ if holds(rule) => "allowed",
                _ => "denied",
            };
            let (status, body) = match route.method {
                escalation_ledger::http::authz::Method::Get => {
                    let (s, _, b) = page(&app, &path, Some(session)).await;
                    (s, b)
                }
                _ => {
                    let other = if c.agency.as_deref() == Some(A) { B } else { A };
                    let fields: Vec<(&str, &str)> = vec![
                        ("csrf", csrf),
                        ("parties", other),
                        ("summary", "matrix"),
                        ("resolution", "matrix"),
                        ("reason", "matrix"),
                        ("reject_reason", "matrix"),
                        ("withdraw_reason", "matrix"),
                        // The partnership team's forms.
                        ("id", "matrix-added"),
                        ("name", "Matrix School"),
                        ("kind", "education"),
                        ("version", "wt-2023"),
                        ("policy", "wt-2023"),
                        ("dispute", &earlier),
                        ("target", "role:slg"),
                        ("addresses", "matrix@example.org"),
                        ("seq", &erasable),
                    ];
                    let (s, _, _, b) = form(&app, &path, Some(session), &fields).await;
                    (s, b)
                }
            };
            cells += 1;
            if expected == "allowed" && matches!(status, 200 | 303) {
                succeeded.insert(route.id);
            }
            let t = title(&body);
            let fine = match expected {
                "allowed" => {
                    matches!(status, 200 | 303 | 400 | 409 | 422)
                        || (status == 403 && t.starts_with("Not allowed by the rules"))
                }
                "hidden" => status == 404 && body == missing,
                _ => status == 403 && t.starts_with("Access denied"),
            };
            if !fine {
                failures.push(format!(
                    "{} {path} as {} ({}): expected {expected}, got {status} {t}",
                    route.id, c.sub, c.role
                ));
            }
        }
    }
    assert!(cells >= 80, "only {cells} cells");
    // Every route has a cell that did what it is for.
    for r in CONSOLE_ROUTES
        .iter()
        .filter(|r| r.decided_by.is_some() && !crate::console_scrutiny::covers(r.path))
    {
        if !succeeded.contains(r.id) {
            failures.push(format!("{}: no allowed cell succeeded", r.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree with the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(app.verify().ok, "the matrix left a ledger that verifies");
}

both_backends!(console_routes_follow_the_access_table);

/// A session ends when unused for the idle timeout (30 minutes) and, however
/// busy, at its absolute lifetime (12 hours): both counted from the row's times.
async fn sessions_time_out_idle_and_absolute(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let idle = signed_in(&app, &agency_lead("idle@kingston", A)).await;
    let busy = signed_in(&app, &agency_lead("busy@kingston", A)).await;
    let fresh = signed_in(&app, &agency_lead("fresh@kingston", A)).await;
    for s in [&idle, &busy, &fresh] {
        assert_eq!(page(&app, "/console/", Some(s)).await.0, 200);
    }
    let age = |column: &str, minutes: i64, session: &str| {
        let h = digest(session);
        app.sql(
            &format!("UPDATE console_sessions SET {column} = datetime('now', '-{minutes} minutes') WHERE id_hash = '{h}'"),
            &format!("UPDATE console_sessions SET {column} = (now() AT TIME ZONE 'utc') - interval '{minutes} minutes' WHERE id_hash = '{h}'"),
        )
        .expect("age the session");
    };
    age("last_seen_at", 31, &idle);
    age("created_at", 12 * 60 + 1, &busy);
    // 29 minutes unused is still within the idle timeout.
    age("last_seen_at", 29, &fresh);
    for s in [&idle, &busy] {
        let (status, to, _) = page(&app, "/console/", Some(s)).await;
        assert_eq!(status, 303);
        assert!(to.starts_with("/console/sign-in"), "{to}");
    }
    assert_eq!(page(&app, "/console/", Some(&fresh)).await.0, 200);
    // The timed-out rows are gone, not just refused.
    let mut c = app.conn();
    for s in [&idle, &busy] {
        let row = escalation_ledger::store::console::session(&mut c, &digest(s)).expect("query");
        assert!(row.is_none(), "a timed-out session is still stored");
    }
}

both_backends!(sessions_time_out_idle_and_absolute);

/// actix mounts exactly the console routes the table lists, each method on its path.
#[actix_web::test]
async fn the_console_mounts_exactly_its_table() {
    use actix_web::{test, web, App, HttpResponse};
    use escalation_ledger::http::authz::{Method, CONSOLE_ROUTES};
    let app = test::init_service(
        App::new()
            .configure(escalation_ledger::http::console::routes)
            .default_service(web::to(|| async { HttpResponse::ImATeapot().finish() })),
    )
    .await;
    let methods = [Method::Get, Method::Post, Method::Patch, Method::Delete];
    for r in CONSOLE_ROUTES {
        let concrete = r.path.replace("{id}", "d1").replace("{pid}", "p1");
        for m in methods {
            let req = test::TestRequest::default()
                .method(m.as_str().parse().unwrap())
                .uri(&concrete)
                .to_request();
            let status = test::call_service(&app, req).await.status().as_u16();
            let listed = CONSOLE_ROUTES
                .iter()
                .any(|x| x.method == m && x.path == r.path);
            // Mounted: answered by a handler (without app data, an error of its
            // own); not mounted for this method: 405 from the resource.
            if listed {
                assert!(
                    !matches!(status, 404 | 405 | 418),
                    "{} {concrete}: {status}",
                    m.as_str()
                );
            } else {
                assert!(
                    matches!(status, 405 | 418),
                    "{} {concrete} is mounted: {status}",
                    m.as_str()
                );
            }
        }
    }
}

// ---- where a link lands, and the sign-in tables swept (issue 11) ----

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

/// The token of a sign-in URL.
fn token_of(url: &str) -> String {
    url.trim()
        .split_once("token=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("no token in {url:?}"))
}

async fn console_link_next_lands_on_its_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let page_path = format!("/console/disputes/{id}");

    // The command itself, as a partnership team member would run it.
    let url = app.db.url.clone();
    let next = page_path.clone();
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["console-link", "--database-url", &url])
            .args(["--sub", "lead@kingston", "--role", "agency", "--agency", A])
            .args(["--next", &next])
            .output()
            .expect("console-link")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = token_of(&stdout);
    // The destination is bound to the row: a `next` in the form does not move it.
    let (s, to, cookies, body) = form(
        &app,
        "/console/sign-in",
        None,
        &[("token", &token), ("next", "/console/disputes")],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, page_path.as_str()), "{body}");
    let session = session_of(&cookies);
    let (s, _, html) = page(&app, &page_path, Some(&session)).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains(&id[..8]), "{html}");

    // Anything but a console path is refused when the link is made, and no row is written.
    let before = escalation_ledger::store::console::counts(&mut app.conn())
        .expect("counts")
        .links;
    let lead = agency_lead("lead@kingston", A);
    for bad in [
        "https://evil.example/console/",
        "//evil.example/console/",
        "/console//evil.example",
        "/v1/disputes",
        "/console/../v1/disputes",
        "/console/disputes\\evil",
        "/console/dis putes",
        "console/disputes",
        "/consolefoo",
    ] {
        let e =
            escalation_ledger::service::console::issue_link_to(&mut app.conn(), &lead, Some(bad))
                .expect_err(bad);
        assert!(e.to_string().contains("--next"), "{bad}: {e}");
    }
    let url = app.db.url.clone();
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["console-link", "--database-url", &url])
            .args([
                "--sub",
                "s",
                "--role",
                "auditor",
                "--next",
                "https://evil.example/",
            ])
            .output()
            .expect("console-link")
    })
    .await
    .expect("join");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--next"));
    let after = escalation_ledger::store::console::counts(&mut app.conn())
        .expect("counts")
        .links;
    assert_eq!(after, before, "a refused link left a row");

    // At use, a destination that is not a console page is ignored: a row
    // changed behind the service's back, and a form's `next` off-site.
    let token = escalation_ledger::service::console::issue_link_to(
        &mut app.conn(),
        &lead,
        Some("/console/disputes"),
    )
    .expect("link");
    let h = digest(&token);
    app.sql(
        &format!(
            "UPDATE console_links SET next = 'https://evil.example/' WHERE token_hash = '{h}'"
        ),
        &format!(
            "UPDATE console_links SET next = 'https://evil.example/' WHERE token_hash = '{h}'"
        ),
    )
    .expect("tamper");
    let (s, to, _, _) = form(&app, "/console/sign-in", None, &[("token", &token)]).await;
    assert_eq!((s, to.as_str()), (303, "/console/"));
    let token = link(&app, &lead);
    let (s, to, _, _) = form(
        &app,
        "/console/sign-in",
        None,
        &[("token", &token), ("next", "https://evil.example/")],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/console/"));
}

async fn an_email_link_lands_on_its_page_after_link_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    // What an email links to (service::email): the dispute's console page.
    let page_path = format!("/console/disputes/{id}");
    let (s, to, _) = page(&app, &page_path, None).await;
    assert_eq!(s, 303);
    assert!(to.starts_with("/console/sign-in?next="), "{to}");
    // The sign-in page (here with a link's token) carries `next` into its form.
    let token = link(&app, &agency_lead("lead@kingston", A));
    let (s, _, html) = page(&app, &format!("{to}&token={token}"), None).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!("name=\"next\" value=\"{page_path}\"")),
        "{html}"
    );
    let (s, to, cookies, _) = form(
        &app,
        "/console/sign-in",
        None,
        &[("token", &token), ("next", &page_path)],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, page_path.as_str()));
    let (s, _, html) = page(&app, &page_path, Some(&session_of(&cookies))).await;
    assert_eq!(s, 200, "{html}");
}

async fn every_sign_in_sweeps_expired_links_flows_and_sessions(backend: Backend) {
    use escalation_ledger::store::console::counts;
    let app = TestApp::spawn(backend).await;
    let lead = agency_lead("lead@kingston", A);
    // Two sessions that have timed out (idle; absolute) and one alive, and a
    // link used and one never used, both past 10 minutes.
    let idle = signed_in(&app, &lead).await;
    let old = signed_in(&app, &lead).await;
    let alive = signed_in(&app, &lead).await;
    let stale = link(&app, &lead);
    let set = |table: &str, column: &str, key: &str, hash: &str, minutes: i64| {
        app.sql(
            &format!("UPDATE {table} SET {column} = datetime('now', '-{minutes} minutes') WHERE {key} = '{hash}'"),
            &format!("UPDATE {table} SET {column} = (now() AT TIME ZONE 'utc') - interval '{minutes} minutes' WHERE {key} = '{hash}'"),
        )
        .expect("age a row");
    };
    set(
        "console_sessions",
        "last_seen_at",
        "id_hash",
        &digest(&idle),
        31,
    );
    set(
        "console_sessions",
        "created_at",
        "id_hash",
        &digest(&old),
        12 * 60 + 1,
    );
    // An OpenID Connect flow nobody finished (made before the links age:
    // starting a flow sweeps expired links too).
    let flow = escalation_ledger::service::console::Flow {
        state: "s".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        next: None,
    };
    escalation_ledger::service::console::begin_flow(&mut app.conn(), &flow).expect("flow");
    app.sql(
        "UPDATE console_links SET created_at = datetime('now', '-11 minutes')",
        "UPDATE console_links SET created_at = (now() AT TIME ZONE 'utc') - interval '11 minutes'",
    )
    .expect("age the links");
    app.sql(
        "UPDATE console_oidc_flows SET created_at = datetime('now', '-11 minutes')",
        "UPDATE console_oidc_flows SET created_at = (now() AT TIME ZONE 'utc') - interval '11 minutes'",
    )
    .expect("age the flow");
    let c = counts(&mut app.conn()).expect("counts");
    assert_eq!((c.links, c.sessions, c.flows), (4, 3, 1), "{c:?}");

    // The next sign-in sweeps: only its own link and session, and the live one, are left.
    let fresh = signed_in(&app, &lead).await;
    let c = counts(&mut app.conn()).expect("counts");
    assert_eq!((c.links, c.sessions, c.flows), (1, 2, 0), "{c:?}");
    assert_eq!(page(&app, "/console/", Some(&alive)).await.0, 200);
    assert_eq!(page(&app, "/console/", Some(&fresh)).await.0, 200);
    // The swept link is refused like any unknown one.
    let (s, _, _, _) = form(&app, "/console/sign-in", None, &[("token", &stale)]).await;
    assert_eq!(s, 403);

    // Making a link sweeps expired links too, without waiting for a sign-in.
    app.sql(
        "UPDATE console_links SET created_at = datetime('now', '-11 minutes')",
        "UPDATE console_links SET created_at = (now() AT TIME ZONE 'utc') - interval '11 minutes'",
    )
    .expect("age the links");
    let _ = link(&app, &lead);
    assert_eq!(counts(&mut app.conn()).expect("counts").links, 1);
}

both_backends!(
    console_link_next_lands_on_its_page,
    an_email_link_lands_on_its_page_after_link_sign_in,
    every_sign_in_sweeps_expired_links_flows_and_sessions,
);
