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
    // The registry is common knowledge in the partnership.
    ("GET",    "/v1/agencies",                              "role",    "AAAAAAA"),
    // Only agencies raise disagreements (seed 5.2: a practitioner, via the agency).
    ("POST",   "/v1/disputes",                              "role",    "A......"),
    // Everyone may list; the list is filtered to what they may see.
    ("GET",    "/v1/disputes",                              "role",    "AAAAAAA"),
    // A dispute is seen by its parties, the SLG, statutory partners, the
    // scrutineer and the administration; chief officers once it reached
    // their rung; the auditor reads the ledger (no free text) instead.
    ("GET",    "/v1/disputes/{id}",                         "dispute", "PAACAA."),
    ("GET",    "/v1/disputes/{id}/history",                 "dispute", "PAACAA."),
    // Ladder actions: whoever sees the dispute, but the auditor; the rung's
    // rules (the ladder) then say who acts on which rung.
    ("POST",   "/v1/disputes/{id}/proposals",               "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/proposals/{pid}/accept",  "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/proposals/{pid}/reject",  "dispute", "PAACAA."),
    ("POST",   "/v1/disputes/{id}/escalate",                "dispute", "PAACAA."),
    // The raising agency withdraws; the administration may close it too.
    ("POST",   "/v1/disputes/{id}/withdraw",                "dispute", "P....A."),
    // Moving a dispute to another policy is an administrative act.
    ("POST",   "/v1/disputes/{id}/migrate",                 "dispute", ".....A."),
    // The whole ledger spans every dispute: not agency users, not chief officers.
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
    // A cosignature proves itself (it must verify under a registered key).
    ("POST",   "/v1/ledger/cosignatures",                   "role",    "AAAAAAA"),
    ("POST",   "/v1/admin/witnesses",                       "role",    ".....A."),
    // Erasure: the administration requests, a scrutineer approves; the
    // auditor may see what was erased and why not.
    ("POST",   "/v1/admin/ledger/entries/{seq}/redact",     "role",    "....AA."),
    ("GET",    "/v1/admin/ledger/redactions",               "role",    "....AAA"),
    // Notification endpoints are configured by the administration.
    ("POST",   "/v1/admin/webhooks",                        "role",    ".....A."),
    ("GET",    "/v1/admin/webhooks",                        "role",    ".....A."),
    ("DELETE", "/v1/admin/webhooks/{id}",                   "role",    ".....A."),
    ("GET",    "/v1/admin/webhooks/{id}/deliveries",        "role",    ".....A."),
    // Only the scrutineer learns who a whistleblower is (seed 5.2).
    ("GET",    "/v1/admin/whistleblowing/{pseudonym}",      "role",    "....A.."),
    // The scrutineer mediates (seed 4.3); the administration follows it.
    ("POST",   "/v1/admin/mediations",                      "role",    "....A.."),
    ("GET",    "/v1/admin/mediations",                      "role",    "....AA."),
    ("GET",    "/v1/admin/mediations/{id}",                 "role",    "....AA."),
    ("POST",   "/v1/admin/mediations/{id}/sessions",        "role",    "....A.."),
    ("POST",   "/v1/admin/mediations/{id}/close",           "role",    "....A.."),
    // A party, or the administration for a child or family, asks for an
    // independent review; the scrutineer conducts it.
    ("POST",   "/v1/admin/reviews",                         "dispute", "P....A."),
    ("GET",    "/v1/admin/reviews",                         "role",    "....AA."),
    ("POST",   "/v1/admin/reviews/{id}/accept",             "role",    "....A.."),
    ("POST",   "/v1/admin/reviews/{id}/decline",            "role",    "....A.."),
    ("POST",   "/v1/admin/reviews/{id}/findings",           "role",    "....A.."),
    // Formal recommendations go from the scrutineer to the SLG, which answers.
    ("POST",   "/v1/admin/recommendations",                 "role",    "....A.."),
    ("GET",    "/v1/admin/recommendations",                 "role",    ".A..AA."),
    ("POST",   "/v1/admin/recommendations/{id}/response",   "role",    ".A....."),
    // Anyone may read the ladder rules; the administration activates them.
    ("GET",    "/v1/policies",                              "role",    "AAAAAAA"),
    ("GET",    "/v1/policies/{version}",                    "role",    "AAAAAAA"),
    ("POST",   "/v1/policies",                              "role",    ".....A."),
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
