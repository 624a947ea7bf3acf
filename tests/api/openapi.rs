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
