//! Who may do what under the KRSCP policy, written out by hand from the seed
//! (sections 3.5, 4.3, 5.2: the agencies, the SLG, the statutory partners,
//! the chief officers, the independent scrutineer, the partnership's
//! administration) and the issues that added each route, not derived from
//! `authz::ROUTES`. `ROUTES` is held to it cell by cell, so a wrong row fails
//! here even though the generated matrix (`authz_matrix.rs`) would follow it.
//!
//! Columns: agency, slg, statutory_partner, chief_officer, scrutineer,
//! partnership_admin, auditor. `A` allowed, `P` only a party agency's users,
//! `C` chief officers once the dispute reached their rung, `.` refused.
//! `public` rows need no token at all.

use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::authz::{Method, Rule, Scope, ROUTES};

const COLUMNS: [Role; 7] = [
    Role::Agency,
    Role::Slg,
    Role::StatutoryPartner,
    Role::ChiefOfficer,
    Role::Scrutineer,
    Role::PartnershipAdmin,
    Role::Auditor,
];

#[rustfmt::skip]
const TABLE: &[(&str, &str, &str, &str)] = &[
    // method, path, scope, who
    // Operations: load balancers and clients fetch these without a token.
    ("GET",    "/healthz",                                  "public",  "AAAAAAA"),
    ("GET",    "/readyz",                                   "public",  "AAAAAAA"),
    ("GET",    "/openapi.json",                             "public",  "AAAAAAA"),
    // Prometheus figures behind a role (issue 13 §5): the scraper's auditor
    // token; no one else. METRICS_BIND serves them open on its own listener.
    ("GET",    "/metrics",                                  "role",    "......A"),
    // A problem's `type` names a page saying what it means; whoever got the
    // problem may read it, with or without a token (issue 10).
    ("GET",    "/problems/{name}",                          "public",  "AAAAAAA"),
    // The registry is common knowledge in the partnership.
    ("GET",    "/v1/agencies",                              "role",    "AAAAAAA"),
    ("GET",    "/v1/agencies/{id}",                         "role",    "AAAAAAA"),
    // The partnership adds a particular school, renames or retires an agency (issue 10 §7).
    ("POST",   "/v1/agencies",                              "role",    ".....A."),
    ("PATCH",  "/v1/agencies/{id}",                         "role",    ".....A."),
    ("POST",   "/v1/agencies/{id}/retire",                  "role",    ".....A."),
    // Only agencies raise disagreements (seed 5.2: a practitioner, via the agency).
    ("POST",   "/v1/disputes",                              "role",    "A......"),
    // Everyone may list; the list is filtered to what they may see.
    ("GET",    "/v1/disputes",                              "role",    "AAAAAAA"),
    // A dispute is seen by its parties, the SLG, statutory partners, the
    // scrutineer and the administration; chief officers once it reached
    // their rung; the auditor reads the ledger (no free text) instead.
    ("GET",    "/v1/disputes/{id}",                         "dispute", "PAACAA."),
    ("GET",    "/v1/disputes/{id}/history",                 "dispute", "PAACAA."),
    // A dispute's tlog-proof file (issue 14 §3): whoever sees the dispute
    // keeps it with the outcome. The auditor does not see disputes; it checks
    // the same entry through the ledger's own proofs.
    ("GET",    "/v1/disputes/{id}/proof",                   "dispute", "PAACAA."),
    // Ladder actions: whoever sees the dispute, but the auditor; the rung's
    // rules (the ladder) then say who acts on which rung.
    ("POST",   "/v1/disputes/{id}/proposals",               "dispute", "PAACAA."),
    // A proposal is read by whoever reads its dispute (issue 10: every created
    // thing has its own GET).
    ("GET",    "/v1/disputes/{id}/proposals/{pid}",         "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/proposals/{pid}/accept",  "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/proposals/{pid}/reject",  "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/escalate",                "dispute", "PAACAA."),
    // The raising agency withdraws; the administration may close it too.
    ("POST",   "/v1/disputes/{id}/withdraw",                "dispute", "P....A."),
    // Moving a dispute to another policy is an administrative act.
    ("POST",   "/v1/disputes/{id}/migrate",                 "dispute", ".....A."),
    // The whole ledger spans every dispute: not agency users, not chief officers.
    // The annual report's escalation figures (issue 12): the SLG publishes
    // them; the statutory partners, the scrutineer, the administration and the
    // auditor reproduce them. Not agency users, not chief officers.
    ("GET",    "/v1/reports/escalations",                   "role",    ".AA.AAA"),
    ("GET",    "/v1/ledger/head",                           "role",    ".AA.AAA"),
    ("GET",    "/v1/ledger/entries",                        "role",    ".AA.AAA"),
    ("GET",    "/v1/ledger/verify",                         "role",    ".AA.AAA"),
    ("GET",    "/v1/ledger/export",                         "role",    ".AA.AAA"),
    // Hashes, proofs, signatures and keys: anyone may check the log.
    ("GET",    "/v1/ledger/proofs/inclusion",               "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/proofs/consistency",             "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/checkpoint",                     "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/checkpoint/witnessed",           "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/keys",                           "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/witnesses",                      "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/witnesses/{name}",               "role",    "AAAAAAA"),
    // A cosignature proves itself (it must verify under a registered key).
    ("POST",   "/v1/ledger/cosignatures",                   "role",    "AAAAAAA"),
    ("GET",    "/v1/ledger/cosignatures/{size}/{witness}",  "role",    "AAAAAAA"),
    ("POST",   "/v1/admin/witnesses",                       "role",    ".....A."),
    // Erasure: the administration requests, a scrutineer approves; the
    // auditor may see what was erased and why not.
    ("POST",   "/v1/admin/ledger/entries/{seq}/redact",     "role",    "....AA."),
    ("GET",    "/v1/admin/ledger/redactions",               "role",    "....AAA"),
    // Notification endpoints are configured by the administration.
    ("POST",   "/v1/admin/webhooks",                        "role",    ".....A."),
    ("GET",    "/v1/admin/webhooks",                        "role",    ".....A."),
    ("GET",    "/v1/admin/webhooks/{id}",                   "role",    ".....A."),
    ("DELETE", "/v1/admin/webhooks/{id}",                   "role",    ".....A."),
    ("GET",    "/v1/admin/webhooks/{id}/deliveries",        "role",    ".....A."),
    ("POST",   "/v1/admin/email/recipients",                "role",    ".....A."),
    ("GET",    "/v1/admin/email/recipients",                "role",    ".....A."),
    ("GET",    "/v1/admin/email/deliveries",                "role",    ".....A."),
    // Only the scrutineer learns who a whistleblower is (seed 5.2).
    ("GET",    "/v1/admin/whistleblowing/{pseudonym}",      "role",    "....A.."),
    // The scrutineer mediates (seed 4.3); the administration follows it.
    ("POST",   "/v1/admin/mediations",                      "role",    "....A.."),
    ("GET",    "/v1/admin/mediations",                      "role",    "....AA."),
    ("GET",    "/v1/admin/mediations/{id}",                 "role",    "....AA."),
    ("POST",   "/v1/admin/mediations/{id}/sessions",        "role",    "....A.."),
    ("GET",    "/v1/admin/mediations/{id}/sessions/{session}", "role", "....AA."),
    ("POST",   "/v1/admin/mediations/{id}/close",           "role",    "....A.."),
    // A party, or the administration for a child or family, asks for an
    // independent review; the scrutineer conducts it.
    ("POST",   "/v1/admin/reviews",                         "dispute", "P....A."),
    ("GET",    "/v1/admin/reviews",                         "role",    "....AA."),
    ("GET",    "/v1/admin/reviews/{id}",                    "role",    "....AA."),
    ("POST",   "/v1/admin/reviews/{id}/accept",             "role",    "....A.."),
    ("POST",   "/v1/admin/reviews/{id}/decline",            "role",    "....A.."),
    ("POST",   "/v1/admin/reviews/{id}/findings",           "role",    "....A.."),
    // Formal recommendations go from the scrutineer to the SLG, which answers.
    ("POST",   "/v1/admin/recommendations",                 "role",    "....A.."),
    ("GET",    "/v1/admin/recommendations",                 "role",    ".A..AA."),
    ("GET",    "/v1/admin/recommendations/{id}",            "role",    ".A..AA."),
    ("POST",   "/v1/admin/recommendations/{id}/response",   "role",    ".A....."),
    // Anyone may read the ladder rules; the administration activates them.
    ("GET",    "/v1/policies",                              "role",    "AAAAAAA"),
    ("GET",    "/v1/policies/{version}",                    "role",    "AAAAAAA"),
    ("POST",   "/v1/policies",                              "role",    ".....A."),
    // The tlog-tiles read API (issue 14): hashes and entries without payloads,
    // which is what the auditor may see, so no token.
    ("GET",    "/tlog/checkpoint",                          "public",  "AAAAAAA"),
    ("GET",    "/tlog/tile/entries/{index}",                "public",  "AAAAAAA"),
    ("GET",    "/tlog/tile/{level}/{index}",                "public",  "AAAAAAA"),
];

fn cell(rule: Rule) -> char {
    match rule {
        Rule::Allow => 'A',
        Rule::Party => 'P',
        Rule::ChiefOfficerRung => 'C',
        Rule::Deny => '.',
    }
}

fn scope(s: Scope) -> &'static str {
    match s {
        Scope::Public => "public",
        Scope::Role => "role",
        Scope::Dispute => "dispute",
    }
}

#[test]
fn routes_match_the_hand_written_access_table() {
    let mut wrong = Vec::new();
    for (method, path, want_scope, want) in TABLE {
        let m = Method::parse(method).expect("method");
        let Some(row) = ROUTES.iter().find(|r| r.method == m && r.path == *path) else {
            wrong.push(format!("{method} {path}: no row in ROUTES"));
            continue;
        };
        let got: String = COLUMNS.iter().map(|r| cell(row.roles.rule(*r))).collect();
        if scope(row.scope) != *want_scope || got != *want {
            wrong.push(format!(
                "{method} {path} ({}): ROUTES says {} {got}, the table {want_scope} {want}",
                row.id,
                scope(row.scope)
            ));
        }
    }
    for r in ROUTES {
        if !TABLE
            .iter()
            .any(|(m, p, _, _)| Method::parse(m) == Some(r.method) && *p == r.path)
        {
            wrong.push(format!(
                "{} {} ({}): in ROUTES, not in the table",
                r.method.as_str(),
                r.path,
                r.id
            ));
        }
    }
    assert_eq!(ROUTES.len(), TABLE.len(), "{wrong:#?}");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `{name:regex}` segments written as `{name}`.
fn regex_free(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match (seg.starts_with('{'), seg.split_once(':')) {
            (true, Some((name, _))) => format!("{name}}}"),
            _ => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The routes actix itself mounts (its resource map, and which methods each
/// resource answers), not the OpenAPI document: every one has a row in the
/// hand-written table, and every row is mounted.
#[actix_web::test]
async fn actix_mounts_exactly_the_tables_routes() {
    use actix_web::{test, web, App, HttpRequest, HttpResponse};
    use std::collections::BTreeSet;
    use utoipa_actix_web::AppExt as _;

    const DUMP: &str = "/__resource_map__";
    let app = test::init_service(
        App::new()
            .into_utoipa_app()
            .configure(escalation_ledger::http::routes::routes)
            .default_service(web::to(|req: HttpRequest| async move {
                if req.path() == DUMP {
                    HttpResponse::Ok().body(format!("{:?}", req.resource_map()))
                } else {
                    HttpResponse::ImATeapot().finish()
                }
            }))
            .into_app(),
    )
    .await;
    let dump = String::from_utf8(
        test::call_and_read_body(&app, test::TestRequest::get().uri(DUMP).to_request())
            .await
            .to_vec(),
    )
    .expect("utf-8");
    // Every resource's pattern, as actix's Debug of its `ResourceDef` shows it.
    let patterns: BTreeSet<String> = dump
        .split("patterns: Single(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once("\")").map(|(p, _)| p.to_string()))
        .filter(|p| p.starts_with('/'))
        // A tail segment `{index:.+}` is the template `{index}` (as in OpenAPI).
        .map(|p| regex_free(&p))
        .collect();
    assert!(patterns.len() >= 30, "{dump}");
    let mut mounted = BTreeSet::new();
    for p in &patterns {
        let concrete: String = p
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
            let req = test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(&concrete)
                .to_request();
            let res = test::call_service(&app, req).await;
            // The default service (418) answers only what no route took.
            if res.status().as_u16() != 418 {
                mounted.insert((method.to_string(), p.clone()));
            }
        }
    }
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    let unlisted: Vec<_> = mounted.difference(&table).collect();
    let unmounted: Vec<_> = table.difference(&mounted).collect();
    assert!(
        unlisted.is_empty(),
        "mounted, not in the table: {unlisted:?}"
    );
    assert!(
        unmounted.is_empty(),
        "in the table, not mounted: {unmounted:?}"
    );
}
