//! `/metrics` behind a role (issue 13 §5), the other access mode beside the
//! open `METRICS_BIND` listener (`metrics.rs`): on the service's own listener,
//! only a bearer token the access table allows (`auditor`) gets the figures.

use escalation_ledger::core::ladder::{Partner, Role};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::metrics::parse;

async fn metrics_need_the_auditor_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.raise(&["kingston-council", "richmond-council"], false)
        .await;
    let size = app.size().await;

    // No token: 401 with the challenge, and no figures.
    let mut res = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let body = res.body().await.expect("body");
    assert!(
        !String::from_utf8_lossy(&body).contains("escalation_ledger_entries"),
        "figures leaked without a token"
    );
    // Every role but the auditor: the table's 403.
    for (role, token) in [
        (Role::Slg, app.role(Role::Slg)),
        (
            Role::StatutoryPartner,
            app.partner(Role::StatutoryPartner, Partner::La),
        ),
        (
            Role::ChiefOfficer,
            app.partner(Role::ChiefOfficer, Partner::Icb),
        ),
        (Role::Scrutineer, app.role(Role::Scrutineer)),
        (Role::PartnershipAdmin, app.role(Role::PartnershipAdmin)),
    ] {
        let (s, v) = app.get(&token, "/metrics").await;
        assert_eq!(s, 403, "{role}: {v}");
        assert!(
            v["type"].as_str().unwrap_or("").ends_with("/access-denied"),
            "{role}: {v}"
        );
    }
    let (s, v) = app.get(&app.agency("kingston-council"), "/metrics").await;
    assert_eq!(s, 403, "{v}");

    // The auditor's token: the exposition, parsed, with this ledger's size.
    let mut res = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(app.role(Role::Auditor))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text =
        String::from_utf8(res.body().limit(8 << 20).await.expect("body").to_vec()).expect("utf-8");
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let entries = samples
        .iter()
        .find(|s| s.name == "escalation_ledger_entries")
        .unwrap_or_else(|| panic!("no escalation_ledger_entries in\n{text}"));
    assert_eq!(entries.value, size as f64);
    assert!(
        samples
            .iter()
            .any(|s| s.name == "escalation_ledger_open_disputes"
                && s.labels.get("rung").map(String::as_str) == Some("agencies")
                && s.value >= 1.0),
        "{text}"
    );
}

both_backends!(metrics_need_the_auditor_role);
