//! The auditor's console pages over HTTP (no browser), on both backends: who
//! may reach them (the access table's rows), the ledger browser paging
//! through every entry with no gap and no free text, the background
//! verification reaching "ok" and naming a forged row, the export download
//! auditing clean, the proof download equal to the API's, and the report's
//! charts (SVG that parses as XML) with tables equal to the API's figures.

use escalation_ledger::core::ladder::{Actor, Partner, Role};
use escalation_ledger::service::bundle::{self, AuditOptions, Outcome};
use serde_json::{json, Value};

use crate::both_backends;
use crate::console::{csrf_of, signed_in};
use crate::helpers::{Backend, TestApp};

const A: &str = "kingston-council";
const B: &str = "metropolitan-police";

fn who(sub: &str, role: Role, agency: Option<&str>) -> Actor {
    Actor {
        sub: sub.into(),
        role,
        agency: agency.map(str::to_string),
        // A chief officer speaks for one statutory partner.
        partner: (role == Role::ChiefOfficer).then_some(Partner::La),
    }
}

fn nofollow() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(120))
        .finish()
}

/// A GET's status, headers (lower-case names) and body.
async fn get(app: &TestApp, path: &str, session: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut res = nofollow()
        .get(format!("{}{path}", app.base))
        .insert_header(("cookie", format!("console_session={session}")))
        .send()
        .await
        .expect("request");
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let body = res.body().limit(64 << 20).await.expect("body").to_vec();
    (res.status().as_u16(), headers, body)
}

async fn page(app: &TestApp, path: &str, session: &str) -> (u16, String) {
    let (s, _, b) = get(app, path, session).await;
    (s, String::from_utf8(b).expect("utf-8"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// POST a form: status, `Location`, body.
async fn form(app: &TestApp, path: &str, session: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let res = nofollow()
        .post(format!("{}{path}", app.base))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("cookie", format!("console_session={session}")))
        .send_body(body)
        .await
        .expect("request");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (res.status().as_u16(), location)
}

fn title(html: &str) -> String {
    html.split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default()
        .to_string()
}

/// The access table decides: the ledger's pages for those who see every
/// dispute (not agency users nor chief officers), the figures for the
/// report's readers, and a dispute's proof for its readers only (others get
/// the 404 of a missing dispute).
async fn the_auditor_pages_follow_the_access_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let cases = [
        (who("a@kingston", Role::Agency, Some(A)), false, false),
        (who("chief@la", Role::ChiefOfficer, None), false, false),
        (who("chair@slg", Role::Slg, None), true, true),
        (
            who("team@partnership", Role::PartnershipAdmin, None),
            true,
            true,
        ),
        (who("auditor@audit", Role::Auditor, None), true, true),
        (who("scrutineer@krscp", Role::Scrutineer, None), true, true),
    ];
    for (actor, ledger, report) in &cases {
        let s = signed_in(&app, actor).await;
        for path in [
            "/console/ledger",
            "/console/ledger/entries/0",
            "/console/ledger/verify",
            "/console/ledger/export",
        ] {
            let (status, body) = page(&app, path, &s).await;
            if *ledger {
                assert_eq!(status, 200, "{} {path}: {}", actor.role, title(&body));
            } else {
                assert_eq!(status, 403, "{} {path}", actor.role);
                assert!(title(&body).starts_with("Access denied"), "{body}");
            }
        }
        let (status, body) = page(&app, "/console/reports/escalations", &s).await;
        assert_eq!(status, if *report { 200 } else { 403 }, "{}", title(&body));
        // The home page's header links only to what the caller may use.
        let (_, home) = page(&app, "/console/", &s).await;
        assert_eq!(home.contains("href=\"/console/ledger\""), *ledger);
        assert_eq!(
            home.contains("href=\"/console/reports/escalations\""),
            *report
        );
        // A forged POST without the form token starts nothing.
        let (status, _) = form(&app, "/console/ledger/verify", &s, &[]).await;
        assert_eq!(status, 403);
    }
    // A dispute's proof: a party gets it; an agency that is not a party, and
    // the auditor (who reads the ledger, not disputes), get the missing 404.
    let missing = "/console/disputes/00000000-0000-4000-8000-000000000000/proof";
    let party = signed_in(&app, &who("a@kingston", Role::Agency, Some(A))).await;
    assert_eq!(
        page(&app, &format!("/console/disputes/{id}/proof"), &party)
            .await
            .0,
        200
    );
    let (_, absent) = page(&app, missing, &party).await;
    for outsider in [
        who("c@cafcass", Role::Agency, Some("cafcass")),
        who("auditor@audit", Role::Auditor, None),
    ] {
        let s = signed_in(&app, &outsider).await;
        let (status, body) = page(&app, &format!("/console/disputes/{id}/proof"), &s).await;
        assert_eq!(status, 404, "{}", outsider.role);
        let (_, theirs) = page(&app, missing, &s).await;
        assert_eq!(body, theirs, "a hidden dispute answers as a missing one");
        assert_eq!(theirs.len(), absent.len());
    }
}

both_backends!(the_auditor_pages_follow_the_access_table);

/// Every `/console/ledger/entries/N` link on a page, in order.
fn entry_links(html: &str) -> Vec<i64> {
    html.split("href=\"/console/ledger/entries/")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")?;
    let rest = &html[at + "rel=\"next\" href=\"".len()..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// The browser walks every entry in pages of 50, by `seq`, with no gap and no
/// repeat, and neither the pages nor an entry's page carry any free text.
async fn the_ledger_browser_pages_through_everything_without_free_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    const SECRET_SUMMARY: &str = "Quokka-summary-8841 about a named child";
    const SECRET_RESOLUTION: &str = "Quokka-resolution-8841";
    let (s, v) = app
        .post(
            &app.agency(A),
            "/v1/disputes",
            json!({"parties": [A, B], "summary": SECRET_SUMMARY, "child_ref": "KR-QUOKKA-1"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = app
        .post(
            &app.agency(A),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": SECRET_RESOLUTION}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // More than two pages of 50.
    while app.size().await <= 105 {
        app.raise(&["richmond-council", "cafcass"], false).await;
    }
    let size = app.size().await;
    let s = signed_in(&app, &who("auditor@audit", Role::Auditor, None)).await;
    let mut seen = Vec::new();
    let mut path = "/console/ledger".to_string();
    let mut pages = 0;
    loop {
        let (status, html) = page(&app, &path, &s).await;
        assert_eq!(status, 200, "{path}");
        for secret in [SECRET_SUMMARY, SECRET_RESOLUTION, "KR-QUOKKA-1", "Quokka"] {
            assert!(!html.contains(secret), "{path} shows free text");
        }
        let links = entry_links(&html);
        assert!(links.len() <= 50, "{path}: {} entries", links.len());
        seen.extend(links);
        pages += 1;
        match next_link(&html) {
            Some(n) => path = n,
            None => break,
        }
    }
    assert_eq!(seen, (0..size).collect::<Vec<_>>(), "gaps or repeats");
    assert!(pages >= 3, "{pages} pages");
    // The dispute's entries' own pages: hashes and the proof, no text.
    let sign = app.checkpoint_note().await;
    assert!(!sign.is_empty());
    let mut checked = 0;
    for seq in 0..size {
        let (status, html) = page(&app, &format!("/console/ledger/entries/{seq}"), &s).await;
        assert_eq!(status, 200);
        if html.contains(&id) {
            assert!(!html.contains("Quokka"), "entry {seq} shows free text");
            assert!(html.contains("Verified"), "entry {seq}: {html}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "the raise and the proposal: {checked}");
    // A seq past the end, and one that is not a number: the console's 404 page.
    for bad in [format!("{size}"), "x".to_string()] {
        let (status, html) = page(&app, &format!("/console/ledger/entries/{bad}"), &s).await;
        assert_eq!(status, 404, "{bad}");
        assert!(html.contains("<h1"), "{html}");
    }
    let (status, html) = page(&app, "/console/ledger?after=-1", &s).await;
    assert_eq!(status, 400, "{html}");
}

both_backends!(the_ledger_browser_pages_through_everything_without_free_text);

/// Start the verification and follow its page until it says it is done: each
/// GET is held by the server until the job moves (at most a second), and the
/// loop ends on the page's own signal (no refresh), within a generous bound.
async fn verify_to_the_end(app: &TestApp, session: &str) -> String {
    let (_, html) = page(app, "/console/ledger/verify", session).await;
    let (status, to) = form(
        app,
        "/console/ledger/verify",
        session,
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/console/ledger/verify"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let (status, html) = page(app, "/console/ledger/verify", session).await;
        assert_eq!(status, 200);
        assert!(html.contains("<progress"), "{html}");
        if !html.contains("http-equiv=\"refresh\"") {
            assert!(html.contains("value=\"100\""), "{html}");
            return html;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the verification did not finish"
        );
    }
}

/// The background verification reaches its end and says the ledger is good;
/// after a payload is altered in the database, it names that entry.
async fn the_verification_job_says_ok_and_names_a_forged_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let (s, v) = app
        .post(
            &app.agency(A),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "joint visit"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let forged = v["seq"].as_i64().expect("seq");
    app.raise(&["richmond-council", "cafcass"], false).await;
    let size = app.size().await;
    let s = signed_in(&app, &who("auditor@audit", Role::Auditor, None)).await;

    let html = verify_to_the_end(&app, &s).await;
    assert!(html.contains("The ledger verifies"), "{html}");
    assert!(
        html.contains(&format!("All {size} entries are good")),
        "{html}"
    );

    let sql = format!(
        r#"UPDATE ledger_payloads SET payload = '{{"resolution":"something else"}}' WHERE seq = {forged}"#
    );
    app.sql(&sql, &sql).expect("forge");
    let html = verify_to_the_end(&app, &s).await;
    assert!(html.contains("The ledger does not verify"), "{html}");
    assert!(
        html.contains(&format!(
            "href=\"/console/ledger/entries/{forged}\">entry {forged}</a>"
        )),
        "{html}"
    );
    assert!(html.contains("payload"), "{html}");
}

both_backends!(the_verification_job_says_ok_and_names_a_forged_row);

/// The console's download is the API's export (bar its export time), with the
/// same content type, and it audits clean against the log's key.
async fn the_export_download_audits_clean(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    app.post(
        &app.agency(A),
        &format!("/v1/disputes/{id}/escalate"),
        json!({"reason": "no agreement"}),
    )
    .await;
    app.raise(&["richmond-council", "cafcass"], false).await;
    let s = signed_in(&app, &who("auditor@audit", Role::Auditor, None)).await;
    let (status, headers, body) = get(&app, "/console/ledger/export", &s).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/x-ndjson")
    );
    assert!(
        header(&headers, "content-disposition").is_some_and(|d| d.starts_with("attachment")),
        "{headers:?}"
    );
    let text = String::from_utf8(body).expect("utf-8");
    let report = bundle::audit_lines(
        text.lines().map(|l| Ok(l.to_string())),
        AuditOptions {
            log_key: Some(app.log.verifier_key()),
            ..Default::default()
        },
        |_, _| {},
    );
    assert_eq!(report.outcome, Outcome::Intact, "{report:?}");
    assert_eq!(report.entries as i64, app.size().await);
    let (s_api, api) = app
        .get_text(&app.role(Role::Auditor), "/v1/ledger/export")
        .await;
    assert_eq!(s_api, 200);
    // Entry lines are identical; the headers differ only in `exported_at`.
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        api.lines().skip(1).collect::<Vec<_>>()
    );
    let strip = |t: &str| {
        let mut h: Value = serde_json::from_str(t.lines().next().expect("header")).expect("json");
        h["exported_at"] = Value::Null;
        h
    };
    assert_eq!(strip(&text), strip(&api));
    // Payloads are withheld from the auditor, as by the API.
    assert!(!text.contains("no agreement"));
}

both_backends!(the_export_download_audits_clean);

/// A resolved dispute's outcome statement links to its proof file, which is
/// the API's, byte for byte and header for header.
async fn the_proof_download_equals_the_apis(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&[A, B], false).await;
    let (s, v) = app
        .post(
            &app.agency(A),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "joint visit"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["id"].as_str().expect("pid").to_string();
    for party in [B, A] {
        let (_, d) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
        if d["status"] == "resolved" {
            break;
        }
        let (s, v) = app
            .post(
                &app.agency(party),
                &format!("/v1/disputes/{id}/proposals/{pid}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, d) = app.get(&app.agency(A), &format!("/v1/disputes/{id}")).await;
    assert_eq!(d["status"], "resolved", "{d}");

    let s = signed_in(&app, &who("a@kingston", Role::Agency, Some(A))).await;
    let (status, html) = page(&app, &format!("/console/disputes/{id}"), &s).await;
    assert_eq!(status, 200);
    let link = format!("href=\"/console/disputes/{id}/proof\"");
    let outcome = html
        .split("id=\"outcome-title\"")
        .nth(1)
        .and_then(|o| o.split("</section>").next())
        .expect("an outcome statement");
    assert!(outcome.contains(&link), "{outcome}");

    let mut res = app
        .client
        .get(format!("{}/v1/disputes/{id}/proof", app.base))
        .bearer_auth(app.agency(A))
        .send()
        .await
        .expect("api proof");
    assert_eq!(res.status().as_u16(), 200);
    let api_body = res.body().await.expect("body").to_vec();
    let api_headers: Vec<(String, String)> = [
        "content-type",
        "x-proof-seq",
        "x-proof-size",
        "x-proof-cosigned",
        "content-disposition",
    ]
    .iter()
    .map(|h| {
        (
            h.to_string(),
            res.headers()
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
        )
    })
    .collect();
    let (status, headers, body) = get(&app, &format!("/console/disputes/{id}/proof"), &s).await;
    assert_eq!(status, 200);
    assert_eq!(body, api_body, "the same proof file");
    for (name, value) in &api_headers {
        assert!(!value.is_empty(), "the API sent no {name}");
        assert_eq!(header(&headers, name), Some(value.as_str()), "{name}");
    }
    assert!(String::from_utf8_lossy(&body).starts_with("c2sp.org/tlog-proof@v1"));
}

both_backends!(the_proof_download_equals_the_apis);

/// Every `<svg>…</svg>` and `<table…>…</table>` of a page.
fn elements<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(open) {
        let from = &rest[at..];
        let Some(end) = from.find(close) else { break };
        out.push(&from[..end + close.len()]);
        rest = &from[end + close.len()..];
    }
    out
}

/// The figures page: each chart is SVG that parses as XML, with a title and
/// a description; each table cell's number is the API's figure at its JSON
/// pointer; a bad period gets the error pattern and computes nothing.
async fn the_charts_and_tables_equal_the_apis_figures(backend: Backend) {
    // The app's clock starts on Wednesday 10 June 2026, 11:00 in London, so
    // the period below holds the raises whatever day the test runs on.
    let app = TestApp::spawn_at(backend, "2026-06-10T10:00:00Z").await;
    let first = app.raise(&[A, B], false).await;
    app.post(
        &app.agency(A),
        &format!("/v1/disputes/{first}/escalate"),
        json!({"reason": "stuck"}),
    )
    .await;
    app.raise(&[A, B], true).await;
    app.raise(&["richmond-council", "cafcass"], false).await;
    let (from, to) = ("2026-05-11", "2026-06-11");
    let s = signed_in(&app, &who("chair@slg", Role::Slg, None)).await;
    let (status, html) = page(
        &app,
        &format!("/console/reports/escalations?from={from}&to={to}"),
        &s,
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let (s_api, figures) = app
        .get(
            &app.role(Role::Slg),
            &format!("/v1/reports/escalations?from={from}&to={to}"),
        )
        .await;
    assert_eq!(s_api, 200, "{figures}");
    assert_eq!(figures["raised"], 3, "{figures}");

    let svgs = elements(&html, "<svg", "</svg>");
    assert!(svgs.len() >= 3, "{} charts", svgs.len());
    for svg in &svgs {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        for part in ["title", "desc"] {
            let node = root.children().find(|n| n.has_tag_name(part));
            assert!(
                node.and_then(|n| n.text()).is_some_and(|t| !t.is_empty()),
                "no {part} in {svg}"
            );
        }
    }
    assert!(!html.contains("<script"));
    let mut cells = 0;
    for table in elements(&html, "<table", "</table>") {
        let doc = roxmltree::Document::parse(table).unwrap_or_else(|e| panic!("{e}: {table}"));
        for td in doc.descendants().filter(|n| n.has_tag_name("td")) {
            let Some(pointer) = td.attribute("data-pointer") else {
                continue;
            };
            let shown = td.text().unwrap_or_default();
            let expected = match figures.pointer(pointer) {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Null) => "withheld".to_string(),
                None => "None".to_string(),
                Some(other) => panic!("{pointer}: {other}"),
            };
            // The other figures' table says "None" where the report has no number.
            let expected = if expected == "withheld" && table.contains("id=\"other-figures\"") {
                "None".to_string()
            } else {
                expected
            };
            assert_eq!(shown, expected, "{pointer}");
            cells += 1;
        }
    }
    assert!(cells >= 20, "{cells} cells");
    // The charted maps are there in full: every key the API counts.
    for (section, chart) in [
        ("by_entry_rung", "entry-rung-table"),
        ("escalations", "escalations-table"),
    ] {
        let keys = figures[section].as_object().expect(section);
        assert!(!keys.is_empty(), "{section}");
        for k in keys.keys() {
            let cell = format!("data-pointer=\"/{section}/{}\"", k.replace('>', "&gt;"));
            let table = html.split(&format!("id=\"{chart}\"")).nth(1).expect(chart);
            assert!(table.contains(&cell), "{cell} missing");
        }
    }

    // Bad periods: the error summary and the field's message; nothing signed.
    let size = app.size().await;
    for (query, field, words) in [
        (
            "from=2026-13-01&to=2026-12-31",
            "from",
            "must be a real date",
        ),
        ("from=2026-05-01&to=2026-04-01", "to", "same as or after"),
        ("from=&to=2026-04-01", "from", "Enter the first day"),
    ] {
        let (status, html) = page(&app, &format!("/console/reports/escalations?{query}"), &s).await;
        assert_eq!(status, 400, "{query}");
        assert!(title(&html).starts_with("Error:"), "{query}");
        assert!(html.contains("There is a problem"), "{query}");
        assert!(html.contains(&format!("href=\"#{field}\"")), "{query}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{query}");
        assert!(html.contains(words), "{query}: {html}");
        assert!(!html.contains("<svg"), "{query}");
    }
    assert_eq!(app.size().await, size);
}

both_backends!(the_charts_and_tables_equal_the_apis_figures);
