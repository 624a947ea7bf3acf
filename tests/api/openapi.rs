/// The committed OpenAPI document is what the code generates.
/// Regenerate with `cargo run -- openapi > openapi/openapi.json`.
#[test]
fn committed_openapi_matches_the_code() {
    let generated = escalation_ledger::http::routes::ApiDoc::openapi_pretty();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/disputes",
        "/v1/disputes/{id}/proposals/{pid}/accept",
        "/v1/ledger/verify",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

fn doc() -> utoipa::openapi::OpenApi {
    escalation_ledger::http::routes::ApiDoc::openapi()
}

/// A limit or example that names a field the document no longer has fails here.
#[test]
fn every_rule_applies_to_a_field_the_document_has() {
    let mut d = doc();
    assert_eq!(
        escalation_ledger::http::openapi::apply_rules(&mut d),
        Vec::<String>::new()
    );
}

#[test]
fn every_error_is_a_problem_and_authenticated_operations_say_401_and_429() {
    let d = serde_json::to_value(doc()).unwrap();
    let mut seen = 0;
    for (path, item) in d["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    seen += 1;
                    let ok = r.get("$ref").is_some()
                        || (r["content"].as_object().unwrap().keys().collect::<Vec<_>>()
                            == vec!["application/problem+json"]);
                    assert!(ok, "{method} {path} {status}: {r}");
                }
            }
            assert!(responses.contains_key("405"), "{method} {path}");
            if op.get("security").is_some() {
                for s in ["401", "429"] {
                    assert!(responses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415"] {
                    assert!(responses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
        }
    }
    assert!(seen > 100, "{seen}");
    assert_eq!(d["servers"][0]["url"], "/");
}

#[test]
fn limits_are_those_the_server_enforces() {
    let d = serde_json::to_value(doc()).unwrap();
    let summary = &d["components"]["schemas"]["RaiseDispute"]["properties"]["summary"];
    assert_eq!(summary["minLength"], 1);
    assert_eq!(
        summary["maxLength"],
        escalation_ledger::core::input::TEXT_LIMIT
    );
    let parties = &d["components"]["schemas"]["RaiseDispute"]["properties"]["parties"];
    assert_eq!(parties["minItems"], 2);
    // Every list's `limit` is 1 to 200 (issue 10: one list shape), and the
    // document says so on each.
    let mut lists = 0;
    for (path, item) in d["paths"].as_object().unwrap() {
        let params = item["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(limit) = params.iter().find(|p| p["name"] == "limit") {
            lists += 1;
            assert_eq!(limit["schema"]["minimum"], 1, "{path}");
            assert_eq!(limit["schema"]["maximum"], 200, "{path}");
        }
    }
    assert!(lists >= 12, "only {lists} lists take a limit");
    // The limits match the function that enforces them.
    assert!(escalation_ledger::core::input::text(
        "f",
        &"x".repeat(escalation_ledger::core::input::TEXT_LIMIT)
    )
    .is_ok());
    assert!(escalation_ledger::core::input::text(
        "f",
        &"x".repeat(escalation_ledger::core::input::TEXT_LIMIT + 1)
    )
    .is_err());
    assert!(escalation_ledger::core::input::text("f", " \t").is_err());
}

#[actix_web::test]
async fn the_service_serves_its_openapi_document() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let mut res = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let doc: serde_json::Value = res.json().limit(1 << 20).await.unwrap();
    assert_eq!(doc["info"]["title"], "escalation-ledger");
}

async fn send(
    app: &crate::helpers::TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String, String) {
    let mut req = app.client.request(
        awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", app.base),
    );
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = match body {
        Some(b) => req.send_body(b.to_string()),
        None => req.send(),
    }
    .await
    .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (ct, allow) = (header("content-type"), header("allow"));
    let body = res.body().limit(1 << 20).await.unwrap();
    (
        res.status().as_u16(),
        ct,
        allow,
        String::from_utf8_lossy(&body).to_string(),
    )
}

/// A known path asked with a method it does not answer: 405 problem+json with
/// the path's methods in `Allow` (404 before). Unknown paths stay 404.
async fn a_wrong_method_is_405_with_allow(backend: crate::helpers::Backend) {
    use escalation_ledger::core::ladder::Role;
    let app = crate::helpers::TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let bearer = format!("Bearer {admin}");
    let auth = [("authorization", bearer.as_str())];
    let (size_before, _) = app.get(&admin, "/v1/ledger/head").await;
    assert_eq!(size_before, 200);
    // Written out by hand from the routes the README lists.
    for (method, path, allow) in [
        ("PUT", "/v1/disputes", "POST, GET"),
        ("DELETE", "/v1/disputes", "POST, GET"),
        ("PATCH", "/v1/disputes/some-id", "GET"),
        ("DELETE", "/v1/disputes/some-id/escalate", "POST"),
        ("GET", "/v1/disputes/d/proposals/p/accept", "POST"),
        ("POST", "/v1/admin/webhooks/w", "GET, DELETE"),
        ("PUT", "/v1/policies", "GET, POST"),
        ("POST", "/healthz", "GET"),
        ("POST", "/problems/not-found", "GET"),
        ("HEAD", "/v1/ledger/export", "GET"),
    ] {
        let (s, ct, got, body) = send(&app, method, path, &auth, None).await;
        assert_eq!(s, 405, "{method} {path}: {body}");
        assert_eq!(got, allow, "{method} {path}");
        assert_eq!(ct, "application/problem+json", "{method} {path}");
        if method != "HEAD" {
            let p: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(p["type"], "/problems/method-not-allowed", "{body}");
            assert_eq!(p["status"], 405);
            assert!(p["detail"].as_str().unwrap().contains(allow), "{body}");
        }
    }
    // Without a token too: the method is wrong whoever asks.
    let (s, _, allow, _) = send(&app, "PUT", "/v1/ledger/entries", &[], None).await;
    assert_eq!((s, allow.as_str()), (405, "GET"));
    for path in ["/v1/nope", "/v1/disputes/a/b/c", "/problems"] {
        let (s, ct, allow, body) = send(&app, "PUT", path, &auth, None).await;
        assert_eq!(s, 404, "{path}: {body}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(allow, "", "{path}");
    }
    // Nothing was written.
    let (_, head) = app.get(&admin, "/v1/ledger/head").await;
    let (_, again) = app.get(&admin, "/v1/ledger/head").await;
    assert_eq!(head, again);
}

/// Every problem `type` the service can answer names a page it serves: a
/// plain HTML page, or JSON on `Accept: application/json`. An unknown name
/// is a 404 problem.
async fn every_problem_type_resolves(backend: crate::helpers::Backend) {
    use escalation_ledger::http::error::ProblemType;
    let app = crate::helpers::TestApp::spawn(backend).await;
    for t in ProblemType::ALL {
        let page = t.page();
        let (s, ct, _, body) = send(&app, "GET", &t.uri(), &[], None).await;
        assert_eq!(s, 200, "{}: {body}", t.uri());
        assert_eq!(ct, "text/html; charset=utf-8");
        assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
        assert!(body.contains("<html lang=\"en-GB\">"));
        assert!(body.contains(&format!("<h1>{}</h1>", page.title)), "{body}");
        assert!(body.contains("What to do"));
        // No script and nothing fetched from elsewhere.
        for banned in ["<script", "src=", "href=\"http", "<link"] {
            assert!(!body.contains(banned), "{banned} in {}", t.uri());
        }
        let json = [("accept", "application/json")];
        let (s, ct, _, body) = send(&app, "GET", &t.uri(), &json, None).await;
        assert_eq!((s, ct.as_str()), (200, "application/json"), "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], t.uri());
        assert_eq!(v["title"], page.title);
        assert_eq!(v["status"], page.status.as_u16());
        assert_eq!(v["what_to_do"], page.what_to_do);
    }
    let (s, ct, _, body) = send(&app, "GET", "/problems/no-such-thing", &[], None).await;
    assert_eq!(
        (s, ct.as_str()),
        (404, "application/problem+json"),
        "{body}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "/problems/not-found");
}

/// The problems the service really answers carry a `type` whose page exists
/// and has the problem's title; no detail names an internal enum, and a
/// role takes the right article ("an agency", not "a agency").
async fn answered_problems_resolve_and_read_well(backend: crate::helpers::Backend) {
    use escalation_ledger::core::ladder::Role;
    let app = crate::helpers::TestApp::spawn(backend).await;
    let agency = format!("Bearer {}", app.agency("kingston-council"));
    let auditor = format!("Bearer {}", app.role(Role::Auditor));
    let json = ("content-type", "application/json");
    // A complex dispute starts on the SLG's rung, where agencies do not propose.
    let id = app
        .raise(&["kingston-council", "metropolitan-police"], true)
        .await;
    let propose = format!("/v1/disputes/{id}/proposals");
    let big = format!("{{\"summary\": \"{}\"}}", "x".repeat(70_000));
    /// Method, path, headers, body, the status wanted.
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        Option<String>,
        u16,
    );
    let cases: Vec<Case> = vec![
        ("GET", "/v1/disputes".into(), vec![], None, 401),
        (
            "GET",
            "/v1/disputes/nope".into(),
            vec![("authorization", agency.as_str())],
            None,
            404,
        ),
        (
            "GET",
            "/v1/admin/webhooks".into(),
            vec![("authorization", auditor.as_str())],
            None,
            403,
        ),
        (
            "PUT",
            "/v1/disputes".into(),
            vec![("authorization", agency.as_str())],
            None,
            405,
        ),
        (
            "POST",
            "/v1/disputes".into(),
            vec![("authorization", agency.as_str()), json],
            Some("{".into()),
            400,
        ),
        (
            "POST",
            "/v1/disputes".into(),
            vec![
                ("authorization", agency.as_str()),
                ("content-type", "text/plain"),
            ],
            Some("{}".into()),
            415,
        ),
        (
            "POST",
            "/v1/disputes".into(),
            vec![("authorization", agency.as_str()), json],
            Some(big),
            413,
        ),
        (
            "POST",
            "/v1/disputes".into(),
            vec![("authorization", agency.as_str()), json],
            Some(r#"{"parties": ["kingston-council", "nope"], "summary": "s"}"#.into()),
            422,
        ),
        (
            "POST",
            propose.clone(),
            vec![("authorization", agency.as_str()), json],
            Some(r#"{"resolution": "r"}"#.into()),
            403,
        ),
    ];
    for (method, path, headers, body, want) in cases {
        let (s, ct, _, text) = send(&app, method, &path, &headers, body.as_deref()).await;
        assert_eq!(s, want, "{method} {path}: {text}");
        assert_eq!(ct, "application/problem+json", "{method} {path}");
        let p: serde_json::Value = serde_json::from_str(&text).unwrap();
        let kind = p["type"].as_str().unwrap();
        assert!(kind.starts_with("/problems/"), "{text}");
        let accept = [("accept", "application/json")];
        let (ps, _, _, page) = send(&app, "GET", kind, &accept, None).await;
        assert_eq!(ps, 200, "{kind}");
        let page: serde_json::Value = serde_json::from_str(&page).unwrap();
        assert_eq!(page["title"], p["title"], "{kind}");
        assert_eq!(page["status"], p["status"], "{kind}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            !detail.contains(" a agency") && !detail.starts_with("a agency"),
            "{detail}"
        );
        // Debug renderings of internal types look like `Name(` or `Name {`.
        assert!(
            !detail.contains("(\"") && !detail.contains(" { "),
            "{detail}"
        );
    }
    let (_, _, _, text) = send(
        &app,
        "POST",
        &propose,
        &[("authorization", agency.as_str()), json],
        Some(r#"{"resolution": "r"}"#),
    )
    .await;
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["type"], "/problems/forbidden");
    assert_eq!(
        p["detail"], "an agency may not propose at the slg rung",
        "{text}"
    );
}

crate::both_backends!(
    a_wrong_method_is_405_with_allow,
    every_problem_type_resolves,
    answered_problems_resolve_and_read_well,
);

/// The Contract's member counts land on the schemas they name.
#[test]
fn every_property_count_is_on_its_schema() {
    let doc = serde_json::to_value(doc()).unwrap();
    for (name, min, max) in escalation_ledger::http::openapi::PROPERTY_COUNTS {
        let schema = &doc["components"]["schemas"][*name];
        assert_eq!(schema["type"], "object", "{name}");
        assert_eq!(
            schema["minProperties"].as_u64(),
            Some(*min as u64),
            "{name}"
        );
        assert_eq!(
            schema["maxProperties"].as_u64(),
            max.map(|m| m as u64),
            "{name}"
        );
    }
}
