//! The scrutineer's workspace and the SLG's recommendations in the console,
//! over HTTP (no browser): each page needs the role its API row names, forms
//! validate in the GOV.UK error pattern and write nothing when refused, a
//! forged POST by a wrong role is 403 and writes nothing, a missing
//! mediation, review or recommendation is the API's 404. The browser run is
//! `console_scrutiny_browser.rs`.

use escalation_ledger::core::ladder::{Actor, Partner, Role};
use escalation_ledger::http::authz::{deciding_row, Method, Rule, CONSOLE_ROUTES};
use serde_json::{json, Value};

use crate::both_backends;
use crate::console::{csrf_of, form, page, signed_in};
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "sw-london-icb";
const MISSING: &str = "00000000-0000-4000-8000-000000000000";

/// The console routes this file's matrix covers (console.rs's matrix skips them).
pub fn covers(path: &str) -> bool {
    path.starts_with("/console/scrutiny") || path.starts_with("/console/recommendations")
}

fn who(sub: &str, role: Role) -> Actor {
    Actor {
        sub: sub.into(),
        role,
        agency: None,
        partner: None,
    }
}

fn scrutineer() -> Actor {
    who("scrutineer@krscp", Role::Scrutineer)
}

fn slg() -> Actor {
    who("chair@slg", Role::Slg)
}

/// Raise a dispute between A and B and walk it up to the `scrutineer` rung.
async fn at_scrutineer_rung(app: &TestApp) -> String {
    let id = app.raise(&[A, B], false).await;
    let path = format!("/v1/disputes/{id}/escalate");
    for token in [
        app.agency(A),
        app.role(Role::Slg),
        app.partner(Role::StatutoryPartner, Partner::Police),
    ] {
        let (s, v) = app
            .post(&token, &path, json!({"reason": "no agreement"}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    id
}

/// A signed-in session and its form token.
async fn session(app: &TestApp, actor: &Actor) -> (String, String) {
    let s = signed_in(app, actor).await;
    let (status, _, home) = page(app, "/console/", Some(&s)).await;
    assert_eq!(status, 200, "{home}");
    let csrf = csrf_of(&home);
    (s, csrf)
}

/// The apps' clock starts here (Wednesday 10 June 2026, 11:00 in London), so
/// no form's date depends on the day the suite runs on, or crosses midnight.
const NOW: &str = "2026-06-10T10:00:00Z";

/// Today on that clock.
fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 10).expect("a date")
}

fn date_fields(name: &str, d: chrono::NaiveDate) -> Vec<(String, String)> {
    use chrono::Datelike;
    vec![
        (format!("{name}-day"), d.day().to_string()),
        (format!("{name}-month"), d.month().to_string()),
        (format!("{name}-year"), d.year().to_string()),
    ]
}

async fn post(
    app: &TestApp,
    path: &str,
    s: &(String, String),
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf", &s.1));
    let (status, to, _, body) = form(app, path, Some(&s.0), &all).await;
    (status, to, body)
}

async fn post_owned(
    app: &TestApp,
    path: &str,
    s: &(String, String),
    fields: &[(String, String)],
) -> (u16, String, String) {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(app, path, s, &f).await
}

/// The scrutineer's mediation from open to outcome: the dispute on the
/// scrutineer's rung is listed, its mediation opened (after a form with
/// errors), a session recorded (after a bad date), the outcome refused until
/// the rung has a proposal, then recorded; the ledger verifies.
async fn the_scrutineers_mediation_from_open_to_outcome(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let id = at_scrutineer_rung(&app).await;
    let sc = session(&app, &scrutineer()).await;

    let (s, _, ws) = page(&app, "/console/scrutiny", Some(&sc.0)).await;
    assert_eq!(s, 200, "{ws}");
    let open_link = format!("/console/scrutiny/mediations/new?dispute={id}");
    assert!(ws.contains(&open_link), "{ws}");
    assert!(ws.contains("href=\"/console/scrutiny\""), "nav link: {ws}");
    let (s, _, new) = page(&app, &open_link, Some(&sc.0)).await;
    assert_eq!(s, 200, "{new}");
    // The dispute and its parties are filled in.
    assert!(
        new.contains(&format!("<option value=\"{id}\" selected>")),
        "{new}"
    );
    assert!(new.contains(&format!("value=\"{A}\" checked")), "{new}");

    // Errors: one agency, no topic. Nothing written.
    let before = app.size().await;
    let (s, _, body) = post(
        &app,
        "/console/scrutiny/mediations",
        &sc,
        &[("dispute", &id), ("agencies", A), ("topic", " ")],
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("There is a problem"), "{body}");
    assert!(body.contains("href=\"#agencies\""), "{body}");
    assert!(body.contains("id=\"topic-error\""), "{body}");
    assert!(body.contains("<title>Error: "), "{body}");
    assert_eq!(app.size().await, before);

    let (s, to, body) = post(
        &app,
        "/console/scrutiny/mediations",
        &sc,
        &[
            ("dispute", &id),
            ("agencies", A),
            ("agencies", B),
            ("topic", "Threshold for a strategy meeting"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert!(to.ends_with("?done=opened"), "{to}");
    assert_eq!(app.size().await, before + 1);
    let mediation = to
        .trim_start_matches("/console/scrutiny/mediations/")
        .trim_end_matches("?done=opened")
        .to_string();
    let (s, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert_eq!(s, 200, "{shown}");
    assert!(shown.contains("The mediation has been opened."), "{shown}");
    assert!(
        shown.contains("Threshold for a strategy meeting"),
        "{shown}"
    );
    assert!(shown.contains("the ladder’s mediation"), "{shown}");
    // A second ladder mediation of the same dispute: the API's 409, shown on the form.
    let (s, _, body) = post(
        &app,
        "/console/scrutiny/mediations",
        &sc,
        &[
            ("dispute", &id),
            ("agencies", A),
            ("agencies", B),
            ("topic", "again"),
        ],
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("id=\"dispute-error\""), "{body}");
    assert_eq!(app.size().await, before + 1);

    // A session: a date that is not one, then one in the future, then right.
    let sessions = format!("/console/scrutiny/mediations/{mediation}/sessions");
    let mut fields = vec![
        ("date-day".to_string(), "31".to_string()),
        ("date-month".to_string(), "11".to_string()),
        ("date-year".to_string(), "2026".to_string()),
        ("attendees".to_string(), "scrutineer".to_string()),
        ("attendees".to_string(), A.to_string()),
        ("notes".to_string(), "Positions set out".to_string()),
    ];
    let (s, _, body) = post_owned(&app, &sessions, &sc, &fields).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("href=\"#date\""), "{body}");
    assert!(
        body.contains("Positions set out"),
        "what was typed is kept: {body}"
    );
    let tomorrow = today() + chrono::Days::new(1);
    fields.splice(0..3, date_fields("date", tomorrow));
    let (s, _, body) = post_owned(&app, &sessions, &sc, &fields).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("must not be in the future"), "{body}");
    let (s, _, body) = post(&app, &sessions, &sc, &[("notes", "x")]).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("href=\"#attendees\""), "{body}");
    assert_eq!(app.size().await, before + 1);
    fields.splice(0..3, date_fields("date", today()));
    let (s, to, body) = post_owned(&app, &sessions, &sc, &fields).await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(app.size().await, before + 2);
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(shown.contains("The session has been recorded."), "{shown}");
    assert!(shown.contains("Positions set out"), "{shown}");

    // The outcome: empty, then before the rung has a proposal (409), nothing written.
    let close = format!("/console/scrutiny/mediations/{mediation}/close");
    let (s, _, body) = post(&app, &close, &sc, &[("outcome", "")]).await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body.contains("Enter the outcome of the mediation"),
        "{body}"
    );
    let (s, _, body) = post(&app, &close, &sc, &[("outcome", "Joint visit")]).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("id=\"outcome-error\""), "{body}");
    assert_eq!(app.size().await, before + 2);
    // The scrutineer proposes on the dispute's page, then records the outcome.
    let (s, _, body) = post(
        &app,
        &format!("/console/disputes/{id}/proposals"),
        &sc,
        &[("resolution", "Joint visit within five working days")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (s, to, body) = post(
        &app,
        &close,
        &sc,
        &[("outcome", "Joint visit within five working days")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(app.size().await, before + 4);
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(
        shown.contains("The mediation’s outcome has been recorded."),
        "{shown}"
    );
    assert!(!shown.contains("Record a session"), "{shown}");
    // The API agrees.
    let (s, v) = app
        .get(
            &app.role(Role::Scrutineer),
            &format!("/v1/admin/mediations/{mediation}"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "closed");
    assert_eq!(v["outcome"], "Joint visit within five working days");
    assert_eq!(
        v["sessions"][0]["attendees"][1],
        json!({"role": "agency", "agency": A})
    );
    let report = app.verify();
    assert!(report.ok, "{report:?}");
}

both_backends!(the_scrutineers_mediation_from_open_to_outcome);

/// Reviews: accepted (after an empty reason) then findings; another declined.
async fn reviews_are_accepted_or_declined_then_findings_recorded(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let id = app.raise(&[A, B], false).await;
    let mut reviews = Vec::new();
    for concern in ["The rung took too long", "A second concern"] {
        let (s, v) = app
            .post(
                &app.agency(A),
                "/v1/admin/reviews",
                json!({"dispute_id": id, "concern": concern}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        reviews.push(v["id"].as_str().expect("id").to_string());
    }
    let sc = session(&app, &scrutineer()).await;
    let (s, _, ws) = page(&app, "/console/scrutiny", Some(&sc.0)).await;
    assert_eq!(s, 200);
    assert!(
        ws.contains(&format!("/console/scrutiny/reviews/{}", reviews[0])),
        "{ws}"
    );
    let path = format!("/console/scrutiny/reviews/{}", reviews[0]);
    let (s, _, shown) = page(&app, &path, Some(&sc.0)).await;
    assert_eq!(s, 200, "{shown}");
    assert!(shown.contains("The rung took too long"), "{shown}");
    assert!(shown.contains("Accept the review"), "{shown}");
    assert!(!shown.contains("Record the findings"), "{shown}");

    let before = app.size().await;
    let (s, _, body) = post(&app, &format!("{path}/accept"), &sc, &[("reason", "")]).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("Enter why you accept the review"), "{body}");
    // Findings before acceptance: the API's 409, nothing written.
    let (s, _, body) = post(&app, &format!("{path}/findings"), &sc, &[("findings", "f")]).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(app.size().await, before);
    let (s, to, body) = post(
        &app,
        &format!("{path}/accept"),
        &sc,
        &[("reason", "Within the scrutineer's remit")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(shown.contains("You have accepted the review."), "{shown}");
    assert!(shown.contains("Record the findings"), "{shown}");
    let (s, _, body) = post(&app, &format!("{path}/findings"), &sc, &[("findings", " ")]).await;
    assert_eq!(s, 422, "{body}");
    let (s, to, body) = post(
        &app,
        &format!("{path}/findings"),
        &sc,
        &[("findings", "The deadline was missed twice")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(
        shown.contains("The review’s findings have been recorded."),
        "{shown}"
    );
    assert!(shown.contains("The deadline was missed twice"), "{shown}");
    assert!(shown.contains("Findings recorded"), "{shown}");

    let other = format!("/console/scrutiny/reviews/{}", reviews[1]);
    let (s, to, body) = post(
        &app,
        &format!("{other}/decline"),
        &sc,
        &[("reason", "Already reviewed")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(shown.contains("You have declined the review."), "{shown}");
    assert_eq!(app.size().await, before + 3);
    let (_, v) = app
        .get(
            &app.role(Role::Scrutineer),
            &format!("/v1/admin/reviews/{}", reviews[0]),
        )
        .await;
    assert_eq!(v["status"], "closed");
    assert_eq!(v["findings"], "The deadline was missed twice");
    let (_, v) = app
        .get(
            &app.role(Role::Scrutineer),
            &format!("/v1/admin/reviews/{}", reviews[1]),
        )
        .await;
    assert_eq!(v["status"], "declined");
    assert!(app.verify().ok);
}

both_backends!(reviews_are_accepted_or_declined_then_findings_recorded);

/// The board (overdue, open, responded, with London dates and working days
/// left), the scrutineer's issuing form, and the SLG's response from its home.
async fn the_slg_responds_to_recommendations_on_the_board(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let overdue = app
        .issue_recommendation_back_then(
            20,
            5,
            json!({"text": "Review thresholds", "theme": "Thresholds"}),
        )
        .await;
    let sc = session(&app, &scrutineer()).await;
    let (s, _, new) = page(&app, "/console/recommendations/new", Some(&sc.0)).await;
    assert_eq!(s, 200, "{new}");

    // Errors: neither a dispute nor a theme, no text, no date. Nothing written.
    let before = app.size().await;
    let (s, _, body) = post(&app, "/console/recommendations", &sc, &[("text", "")]).await;
    assert_eq!(s, 422, "{body}");
    for id in ["#dispute", "#text", "#due"] {
        assert!(body.contains(&format!("href=\"{id}\"")), "{id}: {body}");
    }
    let mut fields = vec![
        ("theme".to_string(), "Information sharing".to_string()),
        (
            "text".to_string(),
            "Agree a protocol for sharing".to_string(),
        ),
    ];
    fields.extend(date_fields("due", today() - chrono::Days::new(1)));
    let (s, _, body) = post_owned(&app, "/console/recommendations", &sc, &fields).await;
    assert_eq!(s, 422, "a due date in the past: {body}");
    assert!(body.contains("id=\"due-error\""), "{body}");
    assert_eq!(app.size().await, before);
    fields.truncate(2);
    let due = today() + chrono::Days::new(14);
    fields.extend(date_fields("due", due));
    let (s, to, body) = post_owned(&app, "/console/recommendations", &sc, &fields).await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(app.size().await, before + 1);
    let open = to
        .trim_start_matches("/console/recommendations/")
        .trim_end_matches("?done=issued")
        .to_string();
    let (_, _, shown) = page(&app, &to, Some(&sc.0)).await;
    assert!(
        shown.contains("The recommendation has been issued to the SLG."),
        "{shown}"
    );
    assert!(shown.contains("working days left"), "{shown}");
    assert!(
        shown.contains(&due.format("%-d %B %Y").to_string()),
        "{shown}"
    );
    // The scrutineer may not respond: no form.
    assert!(!shown.contains("Record the SLG’s response"), "{shown}");

    let (s, _, board) = page(&app, "/console/recommendations", Some(&sc.0)).await;
    assert_eq!(s, 200, "{board}");
    assert!(board.contains("Overdue (1)"), "{board}");
    assert!(board.contains("Open (1)"), "{board}");
    assert!(board.contains("Responded (0)"), "{board}");
    assert!(board.contains("overdue by"), "{board}");

    // The SLG's home lists both, soonest due first.
    let chair = session(&app, &slg()).await;
    let (_, _, home) = page(&app, "/console/", Some(&chair.0)).await;
    assert!(
        home.contains("Recommendations waiting for your response"),
        "{home}"
    );
    let (first, second) = (
        home.find(&format!("/console/recommendations/{overdue}")),
        home.find(&format!("/console/recommendations/{open}")),
    );
    assert!(
        first.is_some() && second.is_some() && first < second,
        "{home}"
    );
    let path = format!("/console/recommendations/{open}");
    let (_, _, shown) = page(&app, &path, Some(&chair.0)).await;
    assert!(shown.contains("Record the SLG’s response"), "{shown}");

    let respond = format!("{path}/response");
    for (fields, field) in [
        (vec![("actions", "x")], "accepted"),
        (vec![("accepted", "yes")], "actions"),
        (
            vec![("accepted", "yes"), ("actions", "a"), ("reasons", "r")],
            "reasons",
        ),
        (vec![("accepted", "no")], "reasons"),
    ] {
        let (s, _, body) = post(&app, &respond, &chair, &fields).await;
        assert_eq!(s, 422, "{fields:?}: {body}");
        assert!(
            body.contains(&format!("href=\"#{field}\"")),
            "{fields:?}: {body}"
        );
    }
    assert_eq!(app.size().await, before + 1);
    let (s, to, body) = post(
        &app,
        &respond,
        &chair,
        &[("accepted", "yes"), ("actions", "A protocol by March")],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(app.size().await, before + 2);
    let (_, _, shown) = page(&app, &to, Some(&chair.0)).await;
    assert!(
        shown.contains("Your response has been recorded."),
        "{shown}"
    );
    assert!(shown.contains("A protocol by March"), "{shown}");
    assert!(!shown.contains("Record the SLG’s response"), "{shown}");
    // Once only: a second response is the API's 409, shown on the page.
    let (s, _, body) = post(
        &app,
        &respond,
        &chair,
        &[("accepted", "no"), ("reasons", "changed our mind")],
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(app.size().await, before + 2);
    let (_, _, board) = page(&app, "/console/recommendations", Some(&chair.0)).await;
    assert!(board.contains("Responded (1)"), "{board}");
    let (_, v) = app
        .get(
            &app.role(Role::Slg),
            &format!("/v1/admin/recommendations/{open}"),
        )
        .await;
    assert_eq!(v["status"], "responded");
    assert_eq!(v["response"]["actions"], "A protocol by March");
    assert!(app.verify().ok);
}

both_backends!(the_slg_responds_to_recommendations_on_the_board);

/// Whistleblowing identities: the scrutineer looks a pseudonym up; nobody
/// else reaches the page (not even the partnership team, who read mediations).
async fn only_the_scrutineer_sees_a_whistleblowers_identity(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let raiser = app.token("whistle@kingston", Role::Agency, Some(A), None);
    let (s, v) = app
        .post(
            &raiser,
            "/v1/disputes",
            json!({"parties": [A, B], "summary": "Concern about practice", "whistleblowing": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pseudonym = v["raised_by"]["sub"]
        .as_str()
        .expect("pseudonym")
        .to_string();
    let sc = session(&app, &scrutineer()).await;
    let (s, _, shown) = page(
        &app,
        &format!("/console/scrutiny/whistleblowing?pseudonym={pseudonym}"),
        Some(&sc.0),
    )
    .await;
    assert_eq!(s, 200, "{shown}");
    assert!(shown.contains("whistle@kingston"), "{shown}");
    let (s, _, shown) = page(
        &app,
        "/console/scrutiny/whistleblowing?pseudonym=wb-nobody",
        Some(&sc.0),
    )
    .await;
    assert_eq!(s, 404, "{shown}");
    assert!(shown.contains("href=\"#pseudonym\""), "{shown}");
    let (s, _, shown) = page(
        &app,
        "/console/scrutiny/whistleblowing?pseudonym=",
        Some(&sc.0),
    )
    .await;
    assert_eq!(s, 422, "{shown}");
    for other in [slg(), who("team@partnership", Role::PartnershipAdmin)] {
        let o = session(&app, &other).await;
        let (s, _, body) = page(
            &app,
            &format!("/console/scrutiny/whistleblowing?pseudonym={pseudonym}"),
            Some(&o.0),
        )
        .await;
        assert_eq!(s, 403, "{}: {body}", other.sub);
        assert!(!body.contains("whistle@kingston"), "{body}");
    }
    // The partnership team's workspace has no look-up link.
    let team = session(&app, &who("team@partnership", Role::PartnershipAdmin)).await;
    let (s, _, ws) = page(&app, "/console/scrutiny", Some(&team.0)).await;
    assert_eq!(s, 200, "{ws}");
    assert!(!ws.contains("/console/scrutiny/whistleblowing"), "{ws}");
    assert!(!ws.contains("Open a mediation"), "{ws}");
}

both_backends!(only_the_scrutineer_sees_a_whistleblowers_identity);

/// What a matrix cell acts on (fresh for an allowed POST, so it can succeed).
#[derive(Clone)]
struct Fixture {
    mediation: String,
    requested_review: String,
    accepted_review: String,
    recommendation: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let sc = app.role(Role::Scrutineer);
    // A mediation outside the ladder with one session: it can be closed.
    let (s, m) = app
        .post(
            &sc,
            "/v1/admin/mediations",
            json!({"agencies": [A, C], "topic": "matrix"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mediation = m["id"].as_str().expect("id").to_string();
    let (s, v) = app
        .post(
            &sc,
            &format!("/v1/admin/mediations/{mediation}/sessions"),
            json!({"date": today().to_string(), "attendees": [{"role": "scrutineer"}], "notes": "n"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = app.raise(&[A, B], false).await;
    let review = || {
        let app = &app;
        let id = id.clone();
        async move {
            let (s, v) = app
                .post(
                    &app.agency(A),
                    "/v1/admin/reviews",
                    json!({"dispute_id": id, "concern": "matrix"}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            v["id"].as_str().expect("id").to_string()
        }
    };
    let requested_review = review().await;
    let accepted_review = review().await;
    let (s, v) = app
        .post(
            &sc,
            &format!("/v1/admin/reviews/{accepted_review}/accept"),
            json!({"reason": "matrix"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &sc,
            "/v1/admin/recommendations",
            json!({"text": "matrix", "theme": "matrix", "response_due": (today() + chrono::Days::new(7)).to_string()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    Fixture {
        mediation,
        requested_review,
        accepted_review,
        recommendation: v["id"].as_str().expect("id").to_string(),
    }
}

/// Every route of this workspace × every kind of caller, one real request
/// each, answered as its deciding API row says: allowed (a page, a redirect
/// after the form, or the form's own refusal) or denied (403 "Access denied",
/// and for a POST nothing written). Every route has an allowed cell that did
/// what it is for.
async fn the_workspace_follows_the_access_table(backend: Backend) {
    let app = TestApp::spawn_at_with_settings(
        backend,
        NOW,
        escalation_ledger::app::Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Default::default()
        },
    )
    .await;
    let callers = [
        Actor {
            agency: Some(A.into()),
            ..who("party@kingston", Role::Agency)
        },
        slg(),
        Actor {
            partner: Some(Partner::Police),
            ..who("police@partners", Role::StatutoryPartner)
        },
        Actor {
            partner: Some(Partner::La),
            ..who("chief@la", Role::ChiefOfficer)
        },
        who("team@partnership", Role::PartnershipAdmin),
        scrutineer(),
        who("auditor@audit", Role::Auditor),
    ];
    let mut sessions = Vec::new();
    for c in &callers {
        sessions.push(session(&app, c).await);
    }
    let routes: Vec<_> = CONSOLE_ROUTES.iter().filter(|r| covers(r.path)).collect();
    assert_eq!(routes.len(), 16, "a route added without a cell here");
    let title = |html: &str| {
        html.split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .unwrap_or_default()
            .to_string()
    };
    let mut failures = Vec::new();
    let mut succeeded = std::collections::BTreeSet::new();
    let today = today();
    let shared = fixture(&app).await;
    for route in &routes {
        let row = deciding_row(route).expect("every scrutiny route has a deciding row");
        for (c, s) in callers.iter().zip(&sessions) {
            let allowed = matches!(row.roles.rule(c.role), Rule::Allow);
            let f = if allowed && route.method == Method::Post {
                fixture(&app).await
            } else {
                shared.clone()
            };
            let id = match route.id {
                "console.mediation" | "console.mediation_session" | "console.mediation_close" => {
                    f.mediation.clone()
                }
                "console.review" | "console.review_accept" | "console.review_decline" => {
                    f.requested_review.clone()
                }
                "console.review_findings" => f.accepted_review.clone(),
                _ => f.recommendation.clone(),
            };
            let path = route.path.replace("{id}", &id);
            let before = app.size().await;
            let (status, body) = match route.method {
                Method::Get => {
                    let (st, _, b) = page(&app, &path, Some(&s.0)).await;
                    (st, b)
                }
                _ => {
                    let mut fields: Vec<(String, String)> = [
                        ("agencies", A),
                        ("agencies", C),
                        ("topic", "matrix"),
                        ("attendees", "scrutineer"),
                        ("notes", "matrix"),
                        ("outcome", "matrix"),
                        ("reason", "matrix"),
                        ("findings", "matrix"),
                        ("theme", "matrix"),
                        ("text", "matrix"),
                        ("accepted", "yes"),
                        ("actions", "matrix"),
                    ]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                    fields.extend(date_fields("date", today));
                    fields.extend(date_fields("due", today + chrono::Days::new(3)));
                    let (st, _, b) = post_owned(&app, &path, s, &fields).await;
                    (st, b)
                }
            };
            let wrote = app.size().await != before;
            let t = title(&body);
            let fine = if allowed {
                matches!(status, 200 | 303)
            } else {
                status == 403 && t.starts_with("Access denied") && !wrote
            };
            if allowed && fine {
                succeeded.insert(route.id);
            }
            if !fine {
                failures.push(format!(
                    "{} {path} as {} ({}): expected {}, got {status} {t} (wrote: {wrote})",
                    route.id,
                    c.sub,
                    c.role,
                    if allowed { "allowed" } else { "denied" }
                ));
            }
        }
    }
    for r in &routes {
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
    assert!(app.verify().ok);
}

both_backends!(the_workspace_follows_the_access_table);

/// A forged POST by a wrong role (the SLG recording a session, an agency lead
/// responding, the scrutineer responding for the SLG) is 403 and writes
/// nothing; a form without its token is 403; a missing mediation, review or
/// recommendation is the API's 404, and the same for the page as for its form.
async fn forged_posts_are_refused_and_missing_things_are_404(backend: Backend) {
    let app = TestApp::spawn_at(backend, NOW).await;
    let f = fixture(&app).await;
    let sc = session(&app, &scrutineer()).await;
    let chair = session(&app, &slg()).await;
    let lead = session(
        &app,
        &Actor {
            agency: Some(A.into()),
            ..who("lead@kingston", Role::Agency)
        },
    )
    .await;
    let before = app.size().await;
    let mut session_fields = vec![
        ("attendees".to_string(), "scrutineer".to_string()),
        ("notes".to_string(), "forged".to_string()),
    ];
    session_fields.extend(date_fields("date", today()));
    let sessions = format!("/console/scrutiny/mediations/{}/sessions", f.mediation);
    let (s, _, body) = post_owned(&app, &sessions, &chair, &session_fields).await;
    assert_eq!(s, 403, "{body}");
    let respond = format!("/console/recommendations/{}/response", f.recommendation);
    for who in [&lead, &sc] {
        let (s, _, body) = post(
            &app,
            &respond,
            who,
            &[("accepted", "yes"), ("actions", "forged")],
        )
        .await;
        assert_eq!(s, 403, "{body}");
    }
    // Without the form token, even the scrutineer's own form is refused.
    let (s, _, _, _) = form(
        &app,
        &sessions,
        Some(&sc.0),
        &[
            ("attendees", "scrutineer"),
            ("notes", "n"),
            ("csrf", "0000"),
        ],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(app.size().await, before, "a refused form wrote");

    for (console, api) in [
        ("/console/scrutiny/mediations/", "/v1/admin/mediations/"),
        ("/console/scrutiny/reviews/", "/v1/admin/reviews/"),
        ("/console/recommendations/", "/v1/admin/recommendations/"),
    ] {
        let (s, v): (u16, Value) = app
            .get(&app.role(Role::Scrutineer), &format!("{api}{MISSING}"))
            .await;
        assert_eq!(s, 404, "{v}");
        let (s, _, body) = page(&app, &format!("{console}{MISSING}"), Some(&sc.0)).await;
        assert_eq!(s, 404, "{console}: {body}");
    }
    let (s, _, body) = post(
        &app,
        &format!("/console/scrutiny/mediations/{MISSING}/close"),
        &sc,
        &[("outcome", "o")],
    )
    .await;
    assert_eq!(s, 404, "{body}");
    let (s, _, body) = post(
        &app,
        &format!("/console/recommendations/{MISSING}/response"),
        &chair,
        &[("accepted", "no"), ("reasons", "r")],
    )
    .await;
    assert_eq!(s, 404, "{body}");
    // Opening a mediation of a dispute that does not exist: the form, its error, 404.
    let (s, _, body) = post(
        &app,
        "/console/scrutiny/mediations",
        &sc,
        &[
            ("dispute", MISSING),
            ("agencies", A),
            ("agencies", B),
            ("topic", "t"),
        ],
    )
    .await;
    assert_eq!(s, 404, "{body}");
    assert!(body.contains("href=\"#dispute\""), "{body}");
    assert_eq!(app.size().await, before);
}

both_backends!(forged_posts_are_refused_and_missing_things_are_404);
